/* iolatd train: replayed traces in, a float model (and the calibration and
 * test sets that go with it) out. Each trace is labelled by its own
 * inflection point and split by time: the first part of its reads trains
 * (its last tenth held back for early stopping), the rest tests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "dataset.h"
#include "fm_train.h"
#include "label.h"
#include "model_file.h"
#include "trace.h"
#include "trainset.h"

static const char train_usage[] =
	"usage: iolatd train [OPTIONS] --out FLOAT.h5 TRACE...\n"
	"Trains the float model on replayed traces (CSV with latencies).\n"
	"  --hidden W1,W2,...        hidden layer widths (default 128,16)\n"
	"  --epochs N                at most N passes (default 30)\n"
	"  --seed N                  initialisation and shuffling (default 1)\n"
	"  --train-fraction F        first fraction of each trace's reads that\n"
	"                            trains; the rest tests (default 0.5)\n"
	"  --class-weight auto|none|W  loss weight of slow reads (default auto:\n"
	"                            fast/slow ratio of the training reads)\n"
	"  --calibration-records N   records in the calibration set (default 2000)\n"
	"  --quant-noise on|off      train with noise of one int8 input step\n"
	"                            (default off)\n"
	"  --qat-epochs N            then fine-tune N epochs with fake quantization\n"
	"                            and a float/int8 consistency loss (default 10;\n"
	"                            0: none)\n"
	"  --qat-weight W            weight of that consistency loss (default 30)\n"
	"  --out FLOAT.h5            the float model\n"
	"  --calibration-out REP.h5  a calibration set from the training reads,\n"
	"                            Samsung ONE's layout\n"
	"  --test-out TEST.h5        the test reads, compact layout, labelled\n"
	"  -v, --verbose             report on stderr even when not a terminal\n"
	"  -h, --help                this text\n";

struct train_args {
	uint32_t widths[QM_MAX_LAYERS + 1]; /* n_features, hidden..., 1 */
	uint32_t n_layers;
	struct fm_train_options opt;
	double train_fraction;
	double class_weight; /* < 0: auto */
	int quant_noise;
	uint32_t qat_epochs;
	double qat_weight;
	uint32_t calibration_records;
	const char *out, *calibration_out, *test_out;
};

static int
parse_hidden(const char *s, struct train_args *a)
{
	char *copy = strdup(s), *save = NULL;
	uint32_t n = 0;

	if (copy == NULL)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n + 2 > QM_MAX_LAYERS) {
			fprintf(stderr, "iolatd train: --hidden: at most %d hidden layers\n",
				QM_MAX_LAYERS - 1);
			free(copy);
			return -1;
		}
		if (cli_u32("train", "--hidden", tok, 1, QM_MAX_WIDTH, &a->widths[1 + n]) != 0) {
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	a->widths[0] = 8;
	a->widths[1 + n] = 1;
	a->n_layers = n + 1;
	return 0;
}

static int
parse_args(int argc, char **argv, struct train_args *a)
{
	enum { O_HIDDEN = 256, O_EPOCHS, O_SEED, O_FRACTION, O_WEIGHT, O_RECORDS,
	       O_OUT, O_CALIB_OUT, O_TEST_OUT, O_NOISE, O_QAT_EPOCHS, O_QAT_WEIGHT };
	static const struct option options[] = {
		{"hidden", required_argument, NULL, O_HIDDEN},
		{"epochs", required_argument, NULL, O_EPOCHS},
		{"seed", required_argument, NULL, O_SEED},
		{"train-fraction", required_argument, NULL, O_FRACTION},
		{"class-weight", required_argument, NULL, O_WEIGHT},
		{"calibration-records", required_argument, NULL, O_RECORDS},
		{"quant-noise", required_argument, NULL, O_NOISE},
		{"qat-epochs", required_argument, NULL, O_QAT_EPOCHS},
		{"qat-weight", required_argument, NULL, O_QAT_WEIGHT},
		{"out", required_argument, NULL, O_OUT},
		{"calibration-out", required_argument, NULL, O_CALIB_OUT},
		{"test-out", required_argument, NULL, O_TEST_OUT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, rc = 0;

	memset(a, 0, sizeof(*a));
	fm_train_defaults(&a->opt);
	a->train_fraction = 0.5;
	a->class_weight = -1.0;
	a->calibration_records = 2000;
	/* Measured on the shared traces (tests/bench/pipeline_report.sh):
	 * consistency fine-tuning is what brings int8 agreement over 99.5%;
	 * input noise does not help it. */
	a->quant_noise = 0;
	a->qat_epochs = 10;
	a->qat_weight = 30.0;
	parse_hidden("128,16", a);
	while (rc == 0 && (opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case O_HIDDEN:
			rc = parse_hidden(optarg, a);
			break;
		case O_EPOCHS:
			rc = cli_u32("train", "--epochs", optarg, 1, 100000, &a->opt.epochs);
			break;
		case O_SEED:
			rc = cli_u64("train", "--seed", optarg, &a->opt.seed);
			break;
		case O_FRACTION:
			rc = cli_double("train", "--train-fraction", optarg, 0.01, 0.99,
					&a->train_fraction);
			break;
		case O_WEIGHT:
			if (strcmp(optarg, "auto") == 0)
				a->class_weight = -1.0;
			else if (strcmp(optarg, "none") == 0)
				a->class_weight = 1.0;
			else
				rc = cli_double("train", "--class-weight", optarg, 0.001, 1000,
						&a->class_weight);
			break;
		case O_RECORDS:
			rc = cli_u32("train", "--calibration-records", optarg, 1, 10000000,
				     &a->calibration_records);
			break;
		case O_NOISE:
			if (strcmp(optarg, "on") == 0 || strcmp(optarg, "off") == 0)
				a->quant_noise = strcmp(optarg, "on") == 0;
			else {
				fprintf(stderr, "iolatd train: --quant-noise: 'on' or 'off'\n");
				rc = -1;
			}
			break;
		case O_QAT_EPOCHS:
			rc = cli_u32("train", "--qat-epochs", optarg, 0, 100000, &a->qat_epochs);
			break;
		case O_QAT_WEIGHT:
			rc = cli_double("train", "--qat-weight", optarg, 0.0, 1e6, &a->qat_weight);
			break;
		case O_OUT:
			a->out = optarg;
			break;
		case O_CALIB_OUT:
			a->calibration_out = optarg;
			break;
		case O_TEST_OUT:
			a->test_out = optarg;
			break;
		case 'v':
			cli_set_verbose(1);
			break;
		case 'h':
			fputs(train_usage, stdout);
			return 1;
		default:
			rc = -1;
		}
	}
	if (rc != 0)
		return -1;
	if (a->out == NULL || optind == argc) {
		fprintf(stderr, "iolatd train: --out and at least one TRACE are required\n%s",
			train_usage);
		return -1;
	}
	return 0;
}

/* The reads of one trace, labelled, split by time into train, validation
 * (the tail of the training part) and test. */
static int
split_trace(const char *path, const struct train_args *a, struct ds *train,
	    struct ds *val, struct ds *test)
{
	struct trace t;
	struct ds all;
	char err[512];
	uint32_t *lat, threshold;
	size_t n_train, n_fit;
	int rc = -1;

	if (trace_read(path, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd train: %s\n", err);
		return -1;
	}
	lat = trainset_read_latencies(&t);
	threshold = lat ? label_inflection_point(lat, t.n_reads) : 0;
	free(lat);
	if (trainset_from_trace(&t, threshold, &all, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd train: %s: %s\n", path, err);
		trace_free(&t);
		return -1;
	}
	n_train = (size_t)(all.n * a->train_fraction);
	n_fit = n_train - n_train / 10;
	if (n_fit == 0 || n_train == all.n) {
		fprintf(stderr, "iolatd train: %s: %zu reads are too few to split\n", path,
			all.n);
		goto out;
	}
	if (trainset_append_rows(train, &all, 0, n_fit) != 0 ||
	    trainset_append_rows(val, &all, n_fit, n_train) != 0 ||
	    trainset_append_rows(test, &all, n_train, all.n) != 0) {
		fprintf(stderr, "iolatd train: out of memory\n");
		goto out;
	}
	size_t slow = 0;
	for (size_t i = 0; i < all.n; i++)
		slow += all.labels[i];
	cli_report("%s: %zu reads, inflection point %u us (%.1f%% slow); "
		   "%zu train, %zu validation, %zu test",
		   path, all.n, threshold, 100.0 * slow / all.n, n_fit, n_train - n_fit,
		   all.n - n_train);
	rc = 0;
out:
	ds_free(&all);
	trace_free(&t);
	return rc;
}

/* What a progress line says: the phase and its number of epochs. */
struct phase {
	const char *name;
	uint32_t epochs;
};

static void
progress(void *ctx, uint32_t epoch, double train_loss, double val_loss)
{
	const struct phase *p = ctx;

	/* Redrawn in place on a terminal, a line each with --verbose. */
	if (isatty(STDERR_FILENO))
		cli_progress("%s epoch %u/%u: train loss %.4f, validation loss %.4f",
			     p->name, epoch, p->epochs, train_loss, val_loss);
	else
		cli_report("%s epoch %u/%u: train loss %.4f, validation loss %.4f",
			   p->name, epoch, p->epochs, train_loss, val_loss);
}

/* A seeded sample of the training reads: the calibration set. */
static int
sample_calibration(const struct train_args *a, const struct ds *train, struct ds *rep)
{
	size_t n = train->n < a->calibration_records ? train->n : a->calibration_records;
	uint64_t state = a->opt.seed ^ 0x5ca1ab1eULL;
	size_t *idx = malloc(train->n * sizeof(*idx));

	if (idx == NULL || ds_alloc(rep, n, train->n_features, 0) != 0) {
		free(idx);
		fprintf(stderr, "iolatd train: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < train->n; i++)
		idx[i] = i;
	for (size_t i = 0; i < n; i++) { /* partial Fisher-Yates, splitmix64 */
		uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		size_t k = i + z % (train->n - i), t = idx[i];
		idx[i] = idx[k];
		idx[k] = t;
		memcpy(rep->features + i * rep->n_features,
		       train->features + idx[i] * train->n_features,
		       train->n_features * sizeof(float));
	}
	free(idx);
	return 0;
}

/* Quantization-aware fine-tuning: the ranges the int8 model will have
 * (minmax over the calibration set, as calibrate finds them), then a few epochs at a tenth of the
 * learning rate with the consistency loss of fm_train_options. */
static int
finetune_qat(struct train_args *a, struct model *m, const struct ds *train,
	     const struct ds *val, const struct ds *rep)
{
	struct calib_recording rec;
	struct calib_options co;
	struct quant_ranges r;
	struct fm_train_options o = a->opt;
	char err[512];

	calib_defaults(&co);
	co.mode = CALIB_MINMAX;
	if (calib_record(m, rep, &rec, err, sizeof(err)) != 0 ||
	    calib_reduce(&rec, &co, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd train: quantization-aware fine-tuning: %s\n", err);
		calib_recording_free(&rec);
		return -1;
	}
	calib_recording_free(&rec);
	o.finetune = 1;
	o.epochs = a->qat_epochs;
	o.patience = a->qat_epochs; /* the consistency loss is not in val loss */
	o.learning_rate = a->opt.learning_rate / 10.0f;
	o.qat_ranges = &r;
	o.qat_weight = (float)a->qat_weight;
	o.input_noise = NULL;
	struct phase phase = {"quantization-aware", o.epochs};
	o.progress_ctx = &phase;
	if (fm_train(&m->fm, train->features, train->labels, train->n, val->features,
		     val->labels, val->n, &o) != 0) {
		fprintf(stderr, "iolatd train: out of memory\n");
		return -1;
	}
	return 0;
}

static int
train_and_save(struct train_args *a, int argc, char **argv, const struct ds *train,
	       const struct ds *val, const struct ds *rep)
{
	struct model *m = model_new(MODEL_FLOAT32, a->n_layers, a->widths);
	size_t slow = 0;
	char err[512];
	int rc;

	if (m == NULL) {
		fprintf(stderr, "iolatd train: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < train->n; i++)
		slow += train->labels[i];
	if (slow == 0 || slow == train->n) {
		fprintf(stderr, "iolatd train: the training reads are all %s\n",
			slow ? "slow" : "fast");
		model_free(m);
		return -1;
	}
	a->opt.pos_weight = (float)(a->class_weight < 0
					    ? (double)(train->n - slow) / slow
					    : a->class_weight);
	float steps[QM_MAX_FEATURES];
	fm_fit_normalisation(&m->fm, train->features, train->n);
	if (a->quant_noise) {
		fm_input_steps(&m->fm, train->features, train->n, steps);
		a->opt.input_noise = steps;
	}
	struct phase phase = {"training", a->opt.epochs};
	a->opt.progress = progress;
	a->opt.progress_ctx = &phase;
	if (fm_train(&m->fm, train->features, train->labels, train->n, val->features,
		     val->labels, val->n, &a->opt) != 0) {
		fprintf(stderr, "iolatd train: out of memory\n");
		model_free(m);
		return -1;
	}
	int off = snprintf(m->created_by, sizeof(m->created_by),
			   "iolatd %s train --seed %llu, class weight %.3f:", PACKAGE_VERSION,
			   (unsigned long long)a->opt.seed, a->opt.pos_weight);
	for (int i = optind; i < argc && off < (int)sizeof(m->created_by); i++) {
		const char *base = strrchr(argv[i], '/');
		off += snprintf(m->created_by + off, sizeof(m->created_by) - off, " %s",
				base ? base + 1 : argv[i]);
	}
	if (a->qat_epochs > 0 && finetune_qat(a, m, train, val, rep) != 0) {
		model_free(m);
		return -1;
	}
	cli_report("validation loss %.4f (class weight %.3f)",
		   fm_loss(&m->fm, val->features, val->labels, val->n, a->opt.pos_weight),
		   a->opt.pos_weight);
	rc = mf_save(m, a->out, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "iolatd train: %s\n", err);
	model_free(m);
	return rc;
}

int
cmd_train(int argc, char **argv)
{
	struct train_args a;
	struct ds train, val, test, rep;
	char err[512];
	int rc, status = 1;

	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	memset(&train, 0, sizeof(train));
	memset(&val, 0, sizeof(val));
	memset(&test, 0, sizeof(test));
	memset(&rep, 0, sizeof(rep));
	for (int i = optind; i < argc; i++)
		if (split_trace(argv[i], &a, &train, &val, &test) != 0)
			goto out;
	if (train.n == 0 || sample_calibration(&a, &train, &rep) != 0)
		goto out;
	if (train_and_save(&a, argc, argv, &train, &val, &rep) != 0)
		goto out;
	if (a.calibration_out && ds_write(a.calibration_out, &rep, DS_ONE, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd train: %s\n", err);
		goto out;
	}
	if (a.test_out && ds_write(a.test_out, &test, DS_COMPACT, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd train: %s\n", err);
		goto out;
	}
	status = 0;
out:
	ds_free(&train);
	ds_free(&val);
	ds_free(&test);
	ds_free(&rep);
	return status;
}
