/* Float MLP training: backpropagation through dense + ReLU layers, binary
 * cross-entropy with logits, Adam (Kingma & Ba 2015, with Keras' defaults
 * beta1 0.9, beta2 0.999, epsilon 1e-7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fm_fakequant.h"
#include "fm_train.h"

void
fm_train_defaults(struct fm_train_options *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 30;
	o->batch = 64;
	o->learning_rate = 1e-3f;
	o->pos_weight = 1.0f;
	o->patience = 4;
	o->seed = 1;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_uniform(uint64_t *s)
{
	return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

void
fm_fit_normalisation(struct fm_model *m, const float *x, size_t n)
{
	for (uint32_t j = 0; j < m->n_features; j++) {
		double sum = 0, sq = 0;
		for (size_t i = 0; i < n; i++) {
			double v = x[i * m->n_features + j];
			sum += v;
			sq += v * v;
		}
		double mean = n ? sum / n : 0.0;
		double var = n ? sq / n - mean * mean : 0.0;
		m->mean[j] = (float)mean;
		m->std[j] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
	}
}

void
fm_input_steps(const struct fm_model *m, const float *x, size_t n, float *steps)
{
	float lo[QM_MAX_FEATURES] = {0}, hi[QM_MAX_FEATURES] = {0}; /* int8 ranges include 0 */
	float v[QM_MAX_FEATURES];

	for (size_t i = 0; i < n; i++) {
		fm_normalise(m, x + i * m->n_features, v);
		for (uint32_t j = 0; j < m->n_features; j++) {
			lo[j] = v[j] < lo[j] ? v[j] : lo[j];
			hi[j] = v[j] > hi[j] ? v[j] : hi[j];
		}
	}
	for (uint32_t j = 0; j < m->n_features; j++)
		steps[j] = (hi[j] - lo[j]) / 255.0f * m->std[j];
}

/* Numerically stable BCE on a logit z for label y. */
static double
bce(float z, int y, float pos_weight)
{
	double l = fmax(z, 0.0) - (y ? z : 0.0) + log1p(exp(-fabs(z)));
	return y ? pos_weight * l : l;
}

double
fm_loss(const struct fm_model *m, const float *x, const uint8_t *y, size_t n,
	float pos_weight)
{
	float *acts = malloc(fm_acts_len(m) * sizeof(float));
	double sum = 0.0, wsum = 0.0;

	if (acts == NULL)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		float z = fm_forward(m, x + i * m->n_features, acts);
		sum += bce(z, y[i], pos_weight);
		wsum += y[i] ? pos_weight : 1.0;
	}
	free(acts);
	return wsum > 0 ? sum / wsum : 0.0;
}

/* Parameters, gradients and Adam moments share one layout: per layer,
 * weights then bias. */
struct trainer {
	struct fm_model *m;
	size_t n_params;
	float *grad, *m1, *m2, *best;
	float *acts, *delta, *next_delta;
	float noisy[QM_MAX_FEATURES];
	/* Fake-quantization path (qat_ranges set). */
	struct fm_fq fq;
	float *fq_acts;
	uint8_t *fq_pass;
	uint32_t step;
};

static size_t
layer_params(const struct fm_layer *l)
{
	return (size_t)l->n_in * l->n_out + l->n_out;
}

static void
copy_params(struct fm_model *m, float *buf, int to_model)
{
	for (uint32_t i = 0; i < m->n_layers; i++) {
		struct fm_layer *l = &m->layer[i];
		size_t nw = (size_t)l->n_in * l->n_out;
		if (to_model) {
			memcpy(l->weights, buf, nw * sizeof(float));
			memcpy(l->bias, buf + nw, l->n_out * sizeof(float));
		} else {
			memcpy(buf, l->weights, nw * sizeof(float));
			memcpy(buf + nw, l->bias, l->n_out * sizeof(float));
		}
		buf += nw + l->n_out;
	}
}

/* Adds to t->grad the gradient of a loss whose derivative by the logit
 * is delta0, back through one forward pass: acts as fm_forward lays them
 * out, w[i] the weights that pass used, and pass (over acts, or NULL for
 * "ReLU active") whether the gradient flows through each activation.
 * Straight-through: a fake-quantized weight's gradient is its float
 * weight's. */
static void
backward(struct trainer *t, const float *const *w, const float *acts,
	 const uint8_t *pass, float delta0)
{
	struct fm_model *m = t->m;
	size_t goff = t->n_params;

	t->delta[0] = delta0;
	for (uint32_t i = m->n_layers; i-- > 0;) {
		const struct fm_layer *l = &m->layer[i];
		size_t off = fm_tensor_offset(m, i + 1);
		const float *in = acts + fm_tensor_offset(m, i);
		const float *out = acts + off;
		float *gw, *gb;
		goff -= layer_params(l);
		gw = t->grad + goff;
		gb = gw + (size_t)l->n_in * l->n_out;
		for (uint32_t c = 0; c < l->n_out; c++)
			if (pass ? !pass[off + c] : (l->relu && out[c] <= 0.0f))
				t->delta[c] = 0.0f;
		memset(t->next_delta, 0, l->n_in * sizeof(float));
		for (uint32_t c = 0; c < l->n_out; c++) {
			float d = t->delta[c];
			const float *wr = w[i] + (size_t)c * l->n_in;
			float *gr = gw + (size_t)c * l->n_in;
			if (d == 0.0f)
				continue;
			gb[c] += d;
			for (uint32_t j = 0; j < l->n_in; j++) {
				gr[j] += d * in[j];
				t->next_delta[j] += d * wr[j];
			}
		}
		float *tmp = t->delta;
		t->delta = t->next_delta;
		t->next_delta = tmp;
	}
}

/* Adds the gradient of one sample's loss to t->grad; returns the loss. */
static double
backprop(struct trainer *t, const float *x, int y,
	 const struct fm_train_options *o)
{
	struct fm_model *m = t->m;
	const float *w[FM_MAX_LAYERS];
	float z = fm_forward(m, x, t->acts);
	float weight = y ? o->pos_weight : 1.0f;
	double loss = bce(z, y, o->pos_weight);
	float d = weight * (fm_sigmoid(z) - (float)y); /* dBCE/dz */

	for (uint32_t i = 0; i < m->n_layers; i++)
		w[i] = m->layer[i].weights;
	if (o->qat_ranges) {
		const float *wq[FM_MAX_LAYERS];
		float zq = fm_fq_forward(&t->fq, m, x, t->fq_acts, t->fq_pass);
		float dc = 2.0f * o->qat_weight * (zq - z);
		for (uint32_t i = 0; i < m->n_layers; i++)
			wq[i] = t->fq.wq[i];
		loss += o->qat_weight * (double)(zq - z) * (zq - z);
		backward(t, wq, t->fq_acts, t->fq_pass, dc);
		d -= dc; /* the consistency term pulls the float logit too */
	}
	backward(t, w, t->acts, NULL, d);
	return loss;
}

static void
adam_step(struct trainer *t, float lr, uint32_t batch)
{
	const double b1 = 0.9, b2 = 0.999, eps = 1e-7;
	double c1, c2;
	float *p[FM_MAX_LAYERS * 2];
	size_t len[FM_MAX_LAYERS * 2], k = 0, np = 0;

	t->step++;
	c1 = 1.0 - pow(b1, t->step);
	c2 = 1.0 - pow(b2, t->step);
	for (uint32_t i = 0; i < t->m->n_layers; i++) {
		struct fm_layer *l = &t->m->layer[i];
		p[np] = l->weights;
		len[np++] = (size_t)l->n_in * l->n_out;
		p[np] = l->bias;
		len[np++] = l->n_out;
	}
	for (size_t a = 0; a < np; a++) {
		for (size_t b = 0; b < len[a]; b++, k++) {
			double g = t->grad[k] / batch;
			t->m1[k] = (float)(b1 * t->m1[k] + (1 - b1) * g);
			t->m2[k] = (float)(b2 * t->m2[k] + (1 - b2) * g * g);
			p[a][b] -= (float)(lr * (t->m1[k] / c1) / (sqrt(t->m2[k] / c2) + eps));
		}
	}
}

static void
init_weights(struct fm_model *m, uint64_t *rng)
{
	for (uint32_t i = 0; i < m->n_layers; i++) {
		struct fm_layer *l = &m->layer[i];
		double limit = sqrt(6.0 / l->n_in); /* He uniform */
		for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++)
			l->weights[k] = (float)((2.0 * rng_uniform(rng) - 1.0) * limit);
		memset(l->bias, 0, l->n_out * sizeof(float));
	}
}

static void
trainer_free(struct trainer *t)
{
	free(t->grad);
	free(t->m1);
	free(t->m2);
	free(t->best);
	free(t->acts);
	free(t->delta);
	free(t->next_delta);
	free(t->fq_acts);
	free(t->fq_pass);
	fm_fq_free(&t->fq);
}

static int
trainer_init(struct trainer *t, struct fm_model *m, const struct fm_train_options *o)
{
	uint32_t width = m->n_features;

	memset(t, 0, sizeof(*t));
	t->m = m;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		t->n_params += layer_params(&m->layer[i]);
		if (m->layer[i].n_out > width)
			width = m->layer[i].n_out;
	}
	t->grad = calloc(t->n_params, sizeof(float));
	t->m1 = calloc(t->n_params, sizeof(float));
	t->m2 = calloc(t->n_params, sizeof(float));
	t->best = calloc(t->n_params, sizeof(float));
	t->acts = calloc(fm_acts_len(m), sizeof(float));
	t->delta = calloc(width, sizeof(float));
	t->next_delta = calloc(width, sizeof(float));
	if (o->qat_ranges) {
		t->fq_acts = calloc(fm_acts_len(m), sizeof(float));
		t->fq_pass = calloc(fm_acts_len(m), 1);
		if (t->fq_acts == NULL || t->fq_pass == NULL ||
		    fm_fq_init(&t->fq, m, o->qat_ranges) != 0) {
			trainer_free(t);
			return -1;
		}
	}
	if (!t->grad || !t->m1 || !t->m2 || !t->best || !t->acts || !t->delta ||
	    !t->next_delta) {
		trainer_free(t);
		return -1;
	}
	return 0;
}

int
fm_train(struct fm_model *m, const float *x, const uint8_t *y, size_t n,
	 const float *vx, const uint8_t *vy, size_t vn,
	 const struct fm_train_options *o)
{
	struct trainer t;
	uint64_t rng = o->seed;
	size_t *order;
	double best = INFINITY;
	uint32_t since_best = 0;

	if (trainer_init(&t, m, o) != 0)
		return -1;
	order = malloc((n ? n : 1) * sizeof(*order));
	if (order == NULL) {
		trainer_free(&t);
		return -1;
	}
	if (!o->finetune)
		init_weights(m, &rng);
	copy_params(m, t.best, 0);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (uint32_t epoch = 0; epoch < o->epochs; epoch++) {
		double train_loss = 0.0;
		for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
			size_t k = rng_next(&rng) % i, tmp = order[i - 1];
			order[i - 1] = order[k];
			order[k] = tmp;
		}
		for (size_t start = 0; start < n; start += o->batch) {
			size_t end = start + o->batch < n ? start + o->batch : n;
			memset(t.grad, 0, t.n_params * sizeof(float));
			if (o->qat_ranges)
				fm_fq_weights(&t.fq, m);
			for (size_t i = start; i < end; i++) {
				const float *xi = x + order[i] * m->n_features;
				if (o->input_noise) {
					for (uint32_t j = 0; j < m->n_features; j++)
						t.noisy[j] = xi[j] + (float)((rng_uniform(&rng) - 0.5) *
									     o->input_noise[j]);
					xi = t.noisy;
				}
				train_loss += backprop(&t, xi, y[order[i]], o);
			}
			adam_step(&t, o->learning_rate, (uint32_t)(end - start));
		}
		double vl = vn ? fm_loss(m, vx, vy, vn, o->pos_weight) : 0.0;
		if (o->progress)
			o->progress(o->progress_ctx, epoch + 1,
				    n ? train_loss / n : 0.0, vl);
		if (vn == 0 || vl < best) {
			best = vl;
			since_best = 0;
			copy_params(m, t.best, 0);
		} else if (++since_best >= o->patience) {
			break;
		}
	}
	copy_params(m, t.best, 1);
	free(order);
	trainer_free(&t);
	return 0;
}
