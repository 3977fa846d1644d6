/* iolatd compare: the float model against one or more int8 models on a
 * labelled test set: decisions (agreement, accuracy, balanced accuracy,
 * FPR, FNR, ROC-AUC), speed, size, and the error of every layer. With
 * several int8 models (say one per calibration mode) a table puts them
 * side by side. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "evaluate.h"
#include "json.h"
#include "model_file.h"

#define MAX_INT8 8

static const char compare_usage[] =
	"usage: iolatd compare --float FLOAT.h5 --int8 INT8.h5 [--int8 ...] --data TEST.h5 [--json]\n"
	"Runs both models over a labelled test set (compact layout) and reports\n"
	"decision agreement, accuracy, balanced accuracy, FPR, FNR, ROC-AUC,\n"
	"ns per prediction, model bytes, and per-layer differences. Several\n"
	"--int8 models (up to 8) are compared side by side.\n"
	"  --json      one JSON object on stdout\n"
	"  -h, --help  this text\n";

struct result {
	const char *path;
	struct model *q;
	struct eval_scores s;
	struct eval_layer layers[QM_MAX_LAYERS];
	double agreement;
	size_t disagree;
	double ns;
};

/* JSON numbers: NaN and infinities have no JSON form. */
static void
json_num(const char *key, double v, int comma)
{
	if (isfinite(v))
		printf("\"%s\": %.6g%s", key, v, comma ? ", " : "");
	else
		printf("\"%s\": null%s", key, comma ? ", " : "");
}

static void
json_string(const char *s)
{
	size_t n = json_quote(NULL, 0, s);
	char *q = malloc(n + 1);

	if (q == NULL) {
		fprintf(stderr, "iolatd compare: out of memory\n");
		exit(1);
	}
	json_quote(q, n + 1, s);
	fputs(q, stdout);
	free(q);
}

static void
json_model(const struct eval_scores *s, double ns, size_t bytes)
{
	printf("{");
	json_num("accuracy", s->accuracy, 1);
	json_num("balanced_accuracy", s->balanced_accuracy, 1);
	json_num("fpr", s->fpr, 1);
	json_num("fnr", s->fnr, 1);
	json_num("roc_auc", s->roc_auc, 1);
	json_num("ns_per_prediction", ns, 1);
	printf("\"model_bytes\": %zu}", bytes);
}

static void
json_layers(const struct eval_layer *l, uint32_t n)
{
	printf("[");
	for (uint32_t i = 0; i < n; i++) {
		printf("%s{\"layer\": %u, ", i ? ", " : "", i);
		json_num("max_abs_diff", l[i].max_abs_diff, 1);
		json_num("mean_abs_diff", l[i].mean_abs_diff, 1);
		json_num("mse", l[i].mse, 1);
		json_num("sqnr_db", l[i].sqnr_db, 0);
		printf("}");
	}
	printf("]");
}

static void
print_json(const struct model *f, const struct eval_scores *fs, double f_ns,
	   const struct result *r, int n, size_t rows)
{
	printf("{\"n\": %zu, ", rows);
	json_num("agreement", r[0].agreement, 1);
	printf("\"float\": ");
	json_model(fs, f_ns, eval_model_bytes(f));
	printf(", \"int8\": ");
	json_model(&r[0].s, r[0].ns, eval_model_bytes(r[0].q));
	printf(", \"layers\": ");
	json_layers(r[0].layers, f->n_layers);
	printf(", \"models\": [");
	for (int k = 0; k < n; k++) {
		printf("%s{\"file\": ", k ? ", " : "");
		json_string(r[k].path);
		printf(", \"calibration_mode\": ");
		json_string(r[k].q->calibration_mode);
		printf(", ");
		json_num("agreement", r[k].agreement, 1);
		printf("\"int8\": ");
		json_model(&r[k].s, r[k].ns, eval_model_bytes(r[k].q));
		printf(", \"layers\": ");
		json_layers(r[k].layers, f->n_layers);
		printf("}");
	}
	printf("]}\n");
}

static void
print_row(const char *name, double fv, const struct result *r, int n,
	  double (*get)(const struct result *), const char *fmt)
{
	printf("%-20s", name);
	if (isnan(fv))
		printf("%12s", "");
	else
		printf(fmt, fv);
	for (int k = 0; k < n; k++)
		printf(fmt, get(&r[k]));
	printf("\n");
}

#define GETTER(field, expr)                                        \
	static double get_##field(const struct result *r) { return expr; }
GETTER(agreement, r->agreement)
GETTER(accuracy, r->s.accuracy)
GETTER(balanced, r->s.balanced_accuracy)
GETTER(fpr, r->s.fpr)
GETTER(fnr, r->s.fnr)
GETTER(auc, r->s.roc_auc)
GETTER(ns, r->ns)
GETTER(bytes, (double)eval_model_bytes(r->q))
GETTER(logit_sqnr, r->layers[r->q->n_layers - 1].sqnr_db)
#undef GETTER

static void
print_table(const struct model *f, const char *data, const struct eval_scores *fs,
	    double f_ns, const struct result *r, int n, size_t rows, size_t slow)
{
	printf("%s: %zu reads, %.1f%% slow\n\n", data, rows, 100.0 * slow / rows);
	/* int8 columns by number: the files and their modes are listed below */
	printf("%-20s%12s", "", "float32");
	for (int k = 0; k < n; k++)
		printf("    int8 [%d]", k + 1);
	printf("\n");
	print_row("agreement", NAN, r, n, get_agreement, "%12.5f");
	print_row("accuracy", fs->accuracy, r, n, get_accuracy, "%12.4f");
	print_row("balanced_accuracy", fs->balanced_accuracy, r, n, get_balanced, "%12.4f");
	print_row("fpr", fs->fpr, r, n, get_fpr, "%12.4f");
	print_row("fnr", fs->fnr, r, n, get_fnr, "%12.4f");
	print_row("roc_auc", fs->roc_auc, r, n, get_auc, "%12.4f");
	print_row("logit_sqnr_db", NAN, r, n, get_logit_sqnr, "%12.2f");
	print_row("ns_per_prediction", f_ns, r, n, get_ns, "%12.1f");
	print_row("model_bytes", (double)eval_model_bytes(f), r, n, get_bytes, "%12.0f");
	for (int k = 0; k < n; k++) {
		printf("\nint8 [%d] %s (%s): %zu disagreements\n", k + 1, r[k].path,
		       r[k].q->calibration_mode, r[k].disagree);
		printf("%-8s%14s%14s%14s%10s\n", "layer", "max_abs_diff", "mean_abs_diff",
		       "mse", "sqnr_db");
		for (uint32_t i = 0; i < f->n_layers; i++)
			printf("%-8u%14.6f%14.6f%14.6g%10.2f\n", i, r[k].layers[i].max_abs_diff,
			       r[k].layers[i].mean_abs_diff, r[k].layers[i].mse,
			       r[k].layers[i].sqnr_db);
	}
}

static int
run_one(const struct model *f, const struct ds *data, struct result *r,
	uint8_t *fd, float *fp, uint8_t *qd, float *qp)
{
	char err[512];

	if (eval_compare(f, r->q, data, fd, fp, qd, qp, r->layers, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd compare: %s: %s\n", r->path, err);
		return -1;
	}
	eval_scores(qd, qp, data->labels, data->n, &r->s);
	r->disagree = 0;
	for (size_t i = 0; i < data->n; i++)
		r->disagree += fd[i] != qd[i];
	r->agreement = 1.0 - (double)r->disagree / data->n;
	r->ns = eval_ns_per_prediction(r->q, data);
	return 0;
}

int
cmd_compare(int argc, char **argv)
{
	enum { O_FLOAT = 256, O_INT8, O_DATA, O_JSON };
	static const struct option options[] = {
		{"float", required_argument, NULL, O_FLOAT},
		{"int8", required_argument, NULL, O_INT8},
		{"data", required_argument, NULL, O_DATA},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *float_path = NULL, *data_path = NULL;
	struct result r[MAX_INT8];
	int n = 0, json = 0, opt, status = 1;
	struct model *f = NULL;
	struct ds data;
	char err[512];
	uint8_t *fd = NULL, *qd = NULL;
	float *fp = NULL, *qp = NULL;

	memset(r, 0, sizeof(r));
	memset(&data, 0, sizeof(data));
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case O_FLOAT:
			float_path = optarg;
			break;
		case O_INT8:
			if (n == MAX_INT8) {
				fprintf(stderr, "iolatd compare: at most %d --int8 models\n", MAX_INT8);
				return 2;
			}
			r[n++].path = optarg;
			break;
		case O_DATA:
			data_path = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		case 'h':
			fputs(compare_usage, stdout);
			return 0;
		default:
			fputs(compare_usage, stderr);
			return 2;
		}
	}
	if (!float_path || n == 0 || !data_path || optind != argc) {
		fprintf(stderr, "iolatd compare: --float, --int8 and --data are required, "
				"and nothing else\n%s", compare_usage);
		return 2;
	}
	f = mf_load(float_path, err, sizeof(err));
	if (f == NULL) {
		fprintf(stderr, "iolatd compare: %s\n", err);
		goto out;
	}
	for (int k = 0; k < n; k++) {
		r[k].q = mf_load(r[k].path, err, sizeof(err));
		if (r[k].q == NULL) {
			fprintf(stderr, "iolatd compare: %s\n", err);
			goto out;
		}
	}
	if (ds_read(data_path, &data, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "iolatd compare: %s\n", err);
		goto out;
	}
	if (data.labels == NULL) {
		fprintf(stderr, "iolatd compare: %s: no /labels: a test set must be labelled\n",
			data_path);
		goto out;
	}
	fd = malloc(data.n);
	qd = malloc(data.n);
	fp = malloc(data.n * sizeof(float));
	qp = malloc(data.n * sizeof(float));
	if (!fd || !qd || !fp || !qp) {
		fprintf(stderr, "iolatd compare: out of memory\n");
		goto out;
	}
	for (int k = 0; k < n; k++)
		if (run_one(f, &data, &r[k], fd, fp, qd, qp) != 0)
			goto out;
	/* fd/fp hold the float run of the last comparison: the same each time. */
	struct eval_scores fs;
	eval_scores(fd, fp, data.labels, data.n, &fs);
	size_t slow = fs.tp + fs.fn; /* labels are 0 or 1 (ds_read checks) */
	double f_ns = eval_ns_per_prediction(f, &data);
	if (json)
		print_json(f, &fs, f_ns, r, n, data.n);
	else
		print_table(f, data_path, &fs, f_ns, r, n, data.n, slow);
	status = 0;
out:
	free(fd);
	free(qd);
	free(fp);
	free(qp);
	ds_free(&data);
	for (int k = 0; k < n; k++)
		model_free(r[k].q);
	model_free(f);
	return status;
}
