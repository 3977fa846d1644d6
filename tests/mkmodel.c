/* Writes the test models to files, for the command-line tests and the
 * demo: the trained teacher model (float32) and its int8 quantization.
 * usage: mkmodel FLOAT.h5 INT8.h5 [FEATURES.csv N] */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "model_file.h"
#include "quant.h"

int
main(int argc, char **argv)
{
	char err[512];
	struct quant_ranges r;
	struct model *f, *q;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: mkmodel FLOAT.h5 INT8.h5 [FEATURES.csv N]\n");
		return 2;
	}
	f = test_trained_model();
	test_quant_ranges(f, 5000, 7, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	if (q == NULL || mf_save(f, argv[1], err, sizeof(err)) != 0 ||
	    mf_save(q, argv[2], err, sizeof(err)) != 0) {
		fprintf(stderr, "mkmodel: %s\n", err);
		return 1;
	}
	if (argc == 5) {
		FILE *out = fopen(argv[3], "w");
		uint64_t st = 99;
		long n = atol(argv[4]);
		if (out == NULL) {
			perror(argv[3]);
			return 1;
		}
		for (long i = 0; i < n; i++) {
			int32_t x[8];
			test_random_features(&st, x, 8);
			fprintf(out, "%d,%d,%d,%d,%d,%d,%d,%d\n", x[0], x[1], x[2], x[3],
				x[4], x[5], x[6], x[7]);
		}
		fclose(out);
	}
	model_free(q);
	model_free(f);
	return 0;
}
