/* Calibration throughput: records per second from a file to ranges
 * (read the dataset, run the float 8-128-16-1 model over every record,
 * record per-record min/max, reduce), for both dataset layouts, in one
 * run. Targets: 1,000,000 records/s from the compact layout, 50,000 from
 * Samsung ONE's. Median of 5 runs each; the files live in $TMPDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "calib.h"
#include "dataset.h"
#include "helpers.h"

/* Median seconds of reading and calibrating path, 5 runs. */
static double
time_calibration(const struct model *f, const char *path, size_t n)
{
	double t[5];
	char err[512];

	for (int k = 0; k < 5; k++) {
		struct ds d;
		struct calib_recording rec;
		struct calib_options o;
		struct quant_ranges r;
		double start = test_now_s();
		if (ds_read(path, &d, NULL, err, sizeof(err)) != 0 ||
		    calib_record(f, &d, &rec, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_calib: %s\n", err);
			exit(1);
		}
		calib_defaults(&o);
		calib_reduce(&rec, &o, &r, err, sizeof(err));
		t[k] = test_now_s() - start;
		if (d.n != n) {
			fprintf(stderr, "bench_calib: read %zu records, wrote %zu\n", d.n, n);
			exit(1);
		}
		calib_recording_free(&rec);
		ds_free(&d);
	}
	return test_median(t, 5);
}

int
main(void)
{
	static const uint32_t widths[4] = {8, 128, 16, 1};
	const size_t n_compact = 500000, n_one = 50000;
	struct model *f = test_random_float_model(3, widths, 1);
	struct ds d;
	char err[512], compact[4200], one[4200];
	uint64_t st = 2;

	test_tmpdir_create();
	snprintf(compact, sizeof(compact), "%s", test_tmp_path("compact.h5"));
	snprintf(one, sizeof(one), "%s", test_tmp_path("one.h5"));
	if (ds_alloc(&d, n_compact, 8, 0) != 0)
		return 1;
	for (size_t r = 0; r < n_compact; r++) {
		int32_t x[8];
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			d.features[r * 8 + j] = (float)x[j];
	}
	if (ds_write(compact, &d, DS_COMPACT, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_calib: %s\n", err);
		return 1;
	}
	d.n = n_one;
	if (ds_write(one, &d, DS_ONE, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_calib: %s\n", err);
		return 1;
	}
	d.n = n_compact;
	ds_free(&d);

	double tc = time_calibration(f, compact, n_compact);
	double to = time_calibration(f, one, n_one);
	printf("calibration of 8-128-16-1 (read + record-minmax + reduce), median of 5\n");
	printf("%-10s %10s %10s %14s %12s\n", "layout", "records", "seconds", "records/s",
	       "target");
	printf("%-10s %10zu %10.3f %14.0f %12s %s\n", "compact", n_compact, tc,
	       n_compact / tc, ">= 1000000", n_compact / tc >= 1e6 ? "met" : "NOT met");
	printf("%-10s %10zu %10.3f %14.0f %12s %s\n", "ONE", n_one, to, n_one / to,
	       ">= 50000", n_one / to >= 5e4 ? "met" : "NOT met");
	test_tmpdir_remove();
	model_free(f);
	return 0;
}
