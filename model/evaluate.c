/* Decision scores and float-vs-int8 differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evaluate.h"
#include "fm_packed.h"

static double
ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

void
eval_scores(const uint8_t *decision, const float *probability,
	    const uint8_t *label, size_t n, struct eval_scores *s)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		if (decision[i] && label[i])
			s->tp++;
		else if (decision[i])
			s->fp++;
		else if (label[i])
			s->fn++;
		else
			s->tn++;
	}
	s->accuracy = ratio(s->tp + s->tn, n);
	s->fpr = ratio(s->fp, s->fp + s->tn);
	s->fnr = ratio(s->fn, s->fn + s->tp);
	s->balanced_accuracy = ((1.0 - s->fnr) + (1.0 - s->fpr)) / 2.0;
	s->roc_auc = eval_roc_auc(probability, label, n);
}

struct ranked {
	float p;
	uint8_t label;
};

static int
cmp_ranked(const void *a, const void *b)
{
	float x = ((const struct ranked *)a)->p, y = ((const struct ranked *)b)->p;
	return (x > y) - (x < y);
}

double
eval_roc_auc(const float *probability, const uint8_t *label, size_t n)
{
	struct ranked *r = malloc((n ? n : 1) * sizeof(*r));
	double pos = 0, neg = 0, rank_sum = 0;

	if (r == NULL)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		r[i].p = probability[i];
		r[i].label = label[i];
	}
	qsort(r, n, sizeof(*r), cmp_ranked);
	/* Average ranks over runs of equal probabilities (1-based). */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && r[j].p == r[i].p)
			j++;
		double avg_rank = (i + 1 + j) / 2.0;
		for (size_t k = i; k < j; k++) {
			if (r[k].label) {
				rank_sum += avg_rank;
				pos++;
			} else {
				neg++;
			}
		}
		i = j;
	}
	free(r);
	if (pos == 0 || neg == 0)
		return NAN;
	return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

static void
layer_add(struct eval_layer *l, double f, double q)
{
	double d = fabs(f - q);

	l->max_abs_diff = d > l->max_abs_diff ? d : l->max_abs_diff;
	l->mean_abs_diff += d;
	l->sum_sq_noise += d * d;
	l->sum_sq_signal += f * f;
	l->count++;
}

static void
layer_finish(struct eval_layer *l)
{
	if (l->count == 0)
		return;
	l->mean_abs_diff /= l->count;
	l->mse = l->sum_sq_noise / l->count;
	l->sqnr_db = l->sum_sq_noise > 0 ? 10.0 * log10(l->sum_sq_signal / l->sum_sq_noise)
					 : INFINITY;
}

static int
check_shapes(const struct model *f, const struct model *q, const struct ds *d,
	     char *err, size_t errlen)
{
	if (f->kind != MODEL_FLOAT32 || q->kind != MODEL_INT8) {
		snprintf(err, errlen, "compare needs a float32 and an int8 model");
		return -1;
	}
	if (f->n_layers != q->n_layers || f->n_features != q->n_features) {
		snprintf(err, errlen, "the models differ in shape");
		return -1;
	}
	for (uint32_t i = 0; i < f->n_layers; i++) {
		if (f->fm.layer[i].n_out != q->qm.layer[i].n_out) {
			snprintf(err, errlen, "layer %u: %u outputs in float, %u in int8", i,
				 f->fm.layer[i].n_out, q->qm.layer[i].n_out);
			return -1;
		}
	}
	if (d->n_features != f->n_features) {
		snprintf(err, errlen, "the data has %u features, the models %u",
			 d->n_features, f->n_features);
		return -1;
	}
	return 0;
}

/* Dequantized hidden outputs, and the last layer's int32 logit scaled
 * back to real (input scale times weight scale). */
static void
compare_row(const struct model *q, const struct fm_model *fm, const int32_t *x,
	    const float *acts, struct eval_layer *layers, struct qm_result *r)
{
	int8_t a[QM_MAX_WIDTH], b[QM_MAX_WIDTH];
	uint32_t last = q->n_layers - 1;

	qm_input_eval(&q->qm, x, a);
	for (uint32_t i = 0; i < last; i++) {
		const struct qm_layer *l = &q->qm.layer[i];
		const float *ref = acts + fm_tensor_offset(fm, i + 1);
		qm_dense_eval(l, a, b);
		for (uint32_t c = 0; c < l->n_out; c++) {
			layer_add(&layers[i], ref[c],
				  (double)q->ql[i].output_scale * (b[c] - l->output_zp));
			a[c] = b[c];
		}
	}
	int32_t acc = qm_dense_acc(&q->qm.layer[last], a, 0);
	double real = (double)acc * q->ql[last].input_scale * q->ql[last].weight_scale[0];
	layer_add(&layers[last], acts[fm_acts_len(fm) - 1], real);
	qm_output_eval(&q->qm, acc, r);
}

int
eval_compare(const struct model *f, const struct model *q, const struct ds *data,
	     uint8_t *f_decision, float *f_prob, uint8_t *q_decision,
	     float *q_prob, struct eval_layer *layers, char *err, size_t errlen)
{
	struct fm_packed p;
	float *acts;

	if (check_shapes(f, q, data, err, errlen) != 0)
		return -1;
	acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	if (acts == NULL || fm_pack(&f->fm, &p) != 0) {
		free(acts);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(layers, 0, f->n_layers * sizeof(*layers));
	for (size_t r = 0; r < data->n; r++) {
		const float *row = data->features + r * data->n_features;
		int32_t x[QM_MAX_FEATURES];
		struct qm_result res;
		float logit = fm_forward_packed(&p, row, acts);

		f_decision[r] = logit > 0.0f;
		f_prob[r] = fm_sigmoid(logit);
		for (uint32_t j = 0; j < data->n_features; j++)
			x[j] = (int32_t)row[j]; /* features are integers on the wire */
		compare_row(q, &f->fm, x, acts, layers, &res);
		q_decision[r] = res.decision;
		q_prob[r] = res.score / 256.0f;
	}
	for (uint32_t i = 0; i < f->n_layers; i++)
		layer_finish(&layers[i]);
	fm_packed_free(&p);
	free(acts);
	return 0;
}

size_t
eval_model_bytes(const struct model *m)
{
	size_t bytes = 0;

	for (uint32_t i = 0; i < m->n_layers; i++) {
		size_t in = m->fm.layer[i].n_in, out = m->fm.layer[i].n_out;
		if (m->kind == MODEL_FLOAT32)
			bytes += (in * out + out) * sizeof(float);
		else /* weights, bias, multiplier, shift */
			bytes += in * out + out * 3 * sizeof(int32_t);
	}
	if (m->kind == MODEL_FLOAT32)
		bytes += m->n_features * 2 * sizeof(float);
	else /* mul, add, shift, and the logistic table */
		bytes += m->n_features * (sizeof(int32_t) * 2 + sizeof(int64_t)) + 256;
	return bytes;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
eval_ns_per_prediction(const struct model *m, const struct ds *data)
{
	enum { PASSES = 7, MAX_ROWS = 20000 };
	size_t n = data->n < MAX_ROWS ? data->n : MAX_ROWS;
	double t[PASSES];
	volatile float sink = 0.0f;
	struct fm_packed p;
	float *acts = NULL;
	int32_t *x = malloc((n ? n : 1) * m->n_features * sizeof(int32_t));

	if (x == NULL || n == 0) {
		free(x);
		return NAN;
	}
	for (size_t i = 0; i < n * m->n_features; i++)
		x[i] = (int32_t)data->features[i];
	if (m->kind == MODEL_FLOAT32) {
		acts = malloc(fm_acts_len(&m->fm) * sizeof(float));
		if (acts == NULL || fm_pack(&m->fm, &p) != 0) {
			free(acts);
			free(x);
			return NAN;
		}
	}
	for (int k = 0; k < PASSES; k++) {
		double start = now_ns();
		for (size_t r = 0; r < n; r++) {
			if (m->kind == MODEL_INT8) {
				int8_t scratch[QM_SCRATCH_BYTES];
				struct qm_result res;
				qm_predict(&m->qm, x + r * m->n_features, m->n_features,
					   scratch, &res);
				sink += res.score;
			} else {
				sink += fm_forward_packed(&p, data->features + r * m->n_features,
							  acts);
			}
		}
		t[k] = (now_ns() - start) / n;
	}
	if (m->kind == MODEL_FLOAT32) {
		fm_packed_free(&p);
		free(acts);
	}
	free(x);
	qsort(t, PASSES, sizeof(double), cmp_double);
	return t[PASSES / 2];
}
