/* iolatd calibrate: a float model and a representative dataset in, the
 * int8 model out (record-minmax, then quantization). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "calib.h"
#include "calib_bias.h"
#include "cli.h"
#include "commands.h"
#include "model_file.h"

static const char calibrate_usage[] =
	"usage: iolatd calibrate --model FLOAT.h5 --data REP.h5 [OPTIONS] --out INT8.h5\n"
	"Records the activation ranges of the float model over a representative\n"
	"dataset (compact or Samsung ONE layout) and quantizes it to int8.\n"
	"  --mode minmax|moving_average|percentile  range reduction (default\n"
	"                        percentile)\n"
	"  --min-percentile P    percentile mode: of the per-record minima (default 1)\n"
	"  --max-percentile P    percentile mode: of the per-record maxima (default 99)\n"
	"  --per-tensor-input    one input scale for all features (default: one each)\n"
	"  --bias-correction     take each channel's mean rounding error over the\n"
	"                        dataset out of its bias, layer by layer\n"
	"  -v, --verbose         report on stderr even when not a terminal\n"
	"  -h, --help            this text\n";

struct calibrate_args {
	const char *model, *data, *out;
	struct calib_options o;
	int bias_correction;
};

static int
parse_args(int argc, char **argv, struct calibrate_args *a)
{
	enum { O_MODEL = 256, O_DATA, O_OUT, O_MODE, O_MINP, O_MAXP, O_PER_TENSOR,
	       O_BIAS };
	static const struct option options[] = {
		{"model", required_argument, NULL, O_MODEL},
		{"data", required_argument, NULL, O_DATA},
		{"out", required_argument, NULL, O_OUT},
		{"mode", required_argument, NULL, O_MODE},
		{"min-percentile", required_argument, NULL, O_MINP},
		{"max-percentile", required_argument, NULL, O_MAXP},
		{"per-tensor-input", no_argument, NULL, O_PER_TENSOR},
		{"bias-correction", no_argument, NULL, O_BIAS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, rc = 0;
	double p;

	memset(a, 0, sizeof(*a));
	calib_defaults(&a->o); /* percentile 1/99, as Samsung ONE's default */
	while (rc == 0 && (opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case O_MODEL:
			a->model = optarg;
			break;
		case O_DATA:
			a->data = optarg;
			break;
		case O_OUT:
			a->out = optarg;
			break;
		case O_MODE:
			if (calib_mode_parse(optarg, &a->o.mode) != 0) {
				fprintf(stderr, "iolatd calibrate: --mode: '%s' is not minmax, "
						"moving_average or percentile\n", optarg);
				rc = -1;
			}
			break;
		case O_MINP:
			rc = cli_double("calibrate", "--min-percentile", optarg, 0, 100, &p);
			a->o.min_percentile = (float)p;
			break;
		case O_MAXP:
			rc = cli_double("calibrate", "--max-percentile", optarg, 0, 100, &p);
			a->o.max_percentile = (float)p;
			break;
		case O_PER_TENSOR:
			a->o.per_tensor_input = 1;
			break;
		case O_BIAS:
			a->bias_correction = 1;
			break;
		case 'v':
			cli_set_verbose(1);
			break;
		case 'h':
			fputs(calibrate_usage, stdout);
			return 1;
		default:
			rc = -1;
		}
	}
	if (rc != 0)
		return -1;
	if (!a->model || !a->data || !a->out || optind != argc) {
		fprintf(stderr, "iolatd calibrate: --model, --data and --out are required, "
				"and nothing else\n%s", calibrate_usage);
		return -1;
	}
	if (a->o.min_percentile > a->o.max_percentile) {
		fprintf(stderr, "iolatd calibrate: --min-percentile is over --max-percentile\n");
		return -1;
	}
	return 0;
}

int
cmd_calibrate(int argc, char **argv)
{
	struct calibrate_args a;
	struct model *f = NULL, *q = NULL;
	struct calib_recording rec;
	struct quant_ranges r;
	struct ds data;
	char err[512];
	int rc, status = 1;

	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	memset(&data, 0, sizeof(data));
	memset(&rec, 0, sizeof(rec));
	f = mf_load(a.model, err, sizeof(err));
	if (f == NULL) {
		fprintf(stderr, "iolatd calibrate: %s\n", err);
		goto out;
	}
	if (f->kind != MODEL_FLOAT32) {
		fprintf(stderr, "iolatd calibrate: %s: an int8 model; calibrate a float32 one\n",
			a.model);
		goto out;
	}
	if (ds_read(a.data, &data, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd calibrate: %s\n", err);
		goto out;
	}
	cli_progress("recording %zu records", data.n);
	if (calib_record(f, &data, &rec, err, sizeof(err)) != 0 ||
	    calib_reduce(&rec, &a.o, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd calibrate: %s: %s\n", a.data, err);
		goto out;
	}
	char mode[64];
	snprintf(mode, sizeof(mode), "%s%s%s", calib_mode_name(a.o.mode),
		 a.o.per_tensor_input ? "+per-tensor-input" : "",
		 a.bias_correction ? "+bias-correction" : "");
	q = quant_model(f, &r, mode, err, sizeof(err));
	if (q == NULL) {
		fprintf(stderr, "iolatd calibrate: %s: %s\n", a.model, err);
		goto out;
	}
	if (a.bias_correction && calib_bias_correct(f, q, &data, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd calibrate: %s: %s\n", a.data, err);
		goto out;
	}
	for (uint32_t t = 0; t <= f->n_layers; t++)
		cli_report("tensor %u (%s): [%g, %g]", t,
			   t == 0 ? "input" : (t == f->n_layers ? "logit" : "hidden"),
			   r.min[t], r.max[t]);
	if (mf_save(q, a.out, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd calibrate: %s\n", err);
		goto out;
	}
	cli_report("%s: int8, %s ranges over %zu records", a.out,
		   calib_mode_name(a.o.mode), data.n);
	status = 0;
out:
	calib_recording_free(&rec);
	ds_free(&data);
	model_free(q);
	model_free(f);
	return status;
}
