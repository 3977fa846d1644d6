/* Fake quantization with TFLite's rounding, mirroring quant.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fm_fakequant.h"

/* real -> int8 grid -> real; *inside is 0 when the value was clamped. */
static float
round_to_grid(float v, float scale, int32_t zp, int *inside)
{
	float q = roundf(v / scale) + (float)zp;

	*inside = q >= -128.0f && q <= 127.0f;
	q = q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q);
	return scale * (q - (float)zp);
}

int
fm_fq_init(struct fm_fq *q, const struct fm_model *m, const struct quant_ranges *r)
{
	memset(q, 0, sizeof(*q));
	for (uint32_t j = 0; j < m->n_features; j++)
		quant_input_params(r, j, &q->in_scale[j], &q->in_zp[j]);
	for (uint32_t i = 0; i + 1 < m->n_layers; i++)
		quant_params(r->min[i + 1], r->max[i + 1], &q->act_scale[i], &q->act_zp[i]);
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		q->wq[i] = malloc((size_t)l->n_in * l->n_out * sizeof(float));
		if (q->wq[i] == NULL) {
			fm_fq_free(q);
			return -1;
		}
	}
	fm_fq_weights(q, m);
	return 0;
}

void
fm_fq_free(struct fm_fq *q)
{
	for (int i = 0; i < QM_MAX_LAYERS; i++)
		free(q->wq[i]);
	memset(q, 0, sizeof(*q));
}

void
fm_fq_weights(struct fm_fq *q, const struct fm_model *m)
{
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		for (uint32_t c = 0; c < l->n_out; c++) {
			const float *w = l->weights + (size_t)c * l->n_in;
			float *wq = q->wq[i] + (size_t)c * l->n_in;
			float amax = 0.0f;
			/* Layer 0 is quantized after folding each input's scale
			 * (quant.c); the others as they are. */
			for (uint32_t j = 0; j < l->n_in; j++)
				amax = fmaxf(amax, fabsf(w[j] * (i == 0 ? q->in_scale[j] : 1.0f)));
			float ws = amax > 0.0f ? amax / 127.0f : 1.0f;
			for (uint32_t j = 0; j < l->n_in; j++) {
				float s = i == 0 ? q->in_scale[j] : 1.0f;
				wq[j] = roundf(w[j] * s / ws) * ws / s;
			}
		}
	}
}

float
fm_fq_forward(const struct fm_fq *q, const struct fm_model *m,
	      const float *features, float *acts, uint8_t *pass)
{
	float *in = acts, *out = acts + m->n_features;
	uint8_t *p = pass + m->n_features;
	int inside;

	fm_normalise(m, features, in);
	for (uint32_t j = 0; j < m->n_features; j++) {
		in[j] = round_to_grid(in[j], q->in_scale[j], q->in_zp[j], &inside);
		pass[j] = 1;
	}
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		int hidden = i + 1 < m->n_layers;
		for (uint32_t c = 0; c < l->n_out; c++) {
			const float *w = q->wq[i] + (size_t)c * l->n_in;
			float acc = l->bias[c];
			for (uint32_t j = 0; j < l->n_in; j++)
				acc += w[j] * in[j];
			int active = !(l->relu && acc <= 0.0f);
			acc = active ? acc : 0.0f;
			inside = 1;
			if (hidden)
				acc = round_to_grid(acc, q->act_scale[i], q->act_zp[i], &inside);
			out[c] = acc;
			p[c] = (uint8_t)(active && inside);
		}
		in = out;
		out += l->n_out;
		p += l->n_out;
	}
	return in[0];
}
