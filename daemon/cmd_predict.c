/* iolatd predict: feature vectors in, "decision,probability" out, with a
 * model file and no daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "csv_features.h"
#include "model_file.h"


static const char predict_usage[] =
	"usage: iolatd predict [--model FILE] [CSV]\n"
	"Reads one feature vector a line (the model's n_features integers,\n"
	"comma separated) from CSV or standard input and prints\n"
	"'decision,probability' a line (decision 1 = slow).\n"
	"  -m, --model FILE  model file, float32 or int8 (default " MF_DEFAULT_MODEL ")\n"
	"  -h, --help        this text\n";

static int
predict_stream(const struct model *m, FILE *in, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int32_t features[QM_MAX_FEATURES];
	char err[256];
	int status = 0;

	while (getline(&line, &cap, in) != -1) {
		int decision, rc;
		float probability;

		lineno++;
		rc = csv_parse_features(line, features, m->n_features, err, sizeof(err));
		if (rc == 1)
			continue;
		if (rc < 0) {
			fprintf(stderr, "iolatd predict: %s:%lu: %s\n", name, lineno, err);
			status = 1;
			break;
		}
		if (model_predict(m, features, m->n_features, &decision, &probability) != 0) {
			fprintf(stderr, "iolatd predict: %s:%lu: prediction failed\n", name, lineno);
			status = 1;
			break;
		}
		printf("%d,%.6f\n", decision, probability);
	}
	if (status == 0 && ferror(in)) {
		fprintf(stderr, "iolatd predict: %s: read error\n", name);
		status = 1;
	}
	free(line);
	if (fflush(stdout) != 0) {
		perror("iolatd predict: stdout");
		status = 1;
	}
	return status;
}

int
cmd_predict(int argc, char **argv)
{
	static const struct option options[] = {
		{"model", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model_path = MF_DEFAULT_MODEL;
	char err[512];
	struct model *m;
	FILE *in = stdin;
	const char *in_name = "<stdin>";
	int opt, status;

	while ((opt = getopt_long(argc, argv, "m:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			model_path = optarg;
			break;
		case 'h':
			fputs(predict_usage, stdout);
			return 0;
		default:
			fputs(predict_usage, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "iolatd predict: one CSV file at most\n");
		return 2;
	}
	m = mf_load(model_path, err, sizeof(err));
	if (m == NULL) {
		fprintf(stderr, "iolatd predict: %s\n", err);
		return 1;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		in_name = argv[optind];
		in = fopen(in_name, "r");
		if (in == NULL) {
			fprintf(stderr, "iolatd predict: %s: %m\n", in_name);
			model_free(m);
			return 1;
		}
	}
	status = predict_stream(m, in, in_name);
	if (in != stdin)
		fclose(in);
	model_free(m);
	return status;
}
