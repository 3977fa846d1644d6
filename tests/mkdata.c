/* Writes small datasets for the command-line tests:
 *   mkdata OUT.h5 compact|one N_RECORDS N_FEATURES [nan|unlabelled]
 * Features are test_random_features vectors (the first 8 columns), labels
 * the test teacher's; "nan" writes an unlabelled compact file with a NaN
 * in record 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "dataset.h"
#include "helpers.h"

/* ds_write refuses NaN, as it should: a broken file takes raw HDF5. */
static int
write_raw_compact(const char *path, const struct ds *d)
{
	hsize_t dims[2] = {d->n, d->n_features};
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	hid_t sp = H5Screate_simple(2, dims, NULL);
	hid_t ds = H5Dcreate2(f, "features", H5T_IEEE_F32LE, sp, H5P_DEFAULT,
			      H5P_DEFAULT, H5P_DEFAULT);
	herr_t rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
			     d->features);

	H5Dclose(ds);
	H5Sclose(sp);
	H5Fclose(f);
	return rc < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct ds d;
	char err[512];
	uint64_t st = 11;
	int one, nan_row, labelled;
	long n, nf;

	if (argc < 5) {
		fprintf(stderr, "usage: mkdata OUT.h5 compact|one N_RECORDS N_FEATURES [nan|unlabelled]\n");
		return 2;
	}
	one = strcmp(argv[2], "one") == 0;
	n = atol(argv[3]);
	nf = atol(argv[4]);
	nan_row = argc > 5 && strcmp(argv[5], "nan") == 0;
	labelled = !one && !(argc > 5 && strcmp(argv[5], "unlabelled") == 0);
	if (ds_alloc(&d, (size_t)n, (uint32_t)nf, labelled) != 0)
		return 1;
	for (long r = 0; r < n; r++) {
		int32_t x[QM_MAX_FEATURES];
		test_random_features(&st, x, (uint32_t)nf);
		for (long j = 0; j < nf; j++)
			d.features[r * nf + j] = (float)x[j];
		if (labelled) {
			d.labels[r] = (uint8_t)test_teacher(x);
			d.latency_us[r] = (uint32_t)x[2];
		}
	}
	int status = 0;
	if (nan_row && n > 1) {
		d.features[nf] = NAN;
		status = write_raw_compact(argv[1], &d) == 0 ? 0 : 1;
	} else if (ds_write(argv[1], &d, one ? DS_ONE : DS_COMPACT, err, sizeof(err)) != 0) {
		fprintf(stderr, "mkdata: %s\n", err);
		status = 1;
	}
	ds_free(&d);
	return status;
}
