/* Transposed-weight float forward pass. */
#include <stdlib.h>
#include <string.h>

#include "fm_packed.h"

int
fm_pack(const struct fm_model *m, struct fm_packed *p)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		float *wt = malloc((size_t)l->n_in * l->n_out * sizeof(float));
		if (wt == NULL) {
			fm_packed_free(p);
			return -1;
		}
		for (uint32_t c = 0; c < l->n_out; c++)
			for (uint32_t j = 0; j < l->n_in; j++)
				wt[(size_t)j * l->n_out + c] = l->weights[(size_t)c * l->n_in + j];
		p->wt[i] = wt;
	}
	return 0;
}

void
fm_packed_free(struct fm_packed *p)
{
	for (int i = 0; i < FM_MAX_LAYERS; i++)
		free(p->wt[i]);
	memset(p, 0, sizeof(*p));
}

typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));

static v4sf
load4(const float *p)
{
	v4sf v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* As fm_forward: keep all but values below zero (-0.0 and NaN stay). */
static v4sf
relu4(v4sf v)
{
	v4si keep = ~(v < 0.0f);
	return (v4sf)((v4si)v & keep);
}

/* out[c] = bias[c] + sum_j in[j] * w[c][j], j in order, sixteen channels
 * a block in four independent accumulators: the same multiplies and adds,
 * in the same order, as fm_forward, so every lane gives the same bits.
 * Native 16-byte vector types rather than hoping the loop vectorises:
 * GCC's -O2 cost model leaves it scalar. */
static void
dense(const float *restrict wt, const float *restrict bias,
      const float *restrict in, float *restrict out, uint32_t n_in,
      uint32_t n_out, int relu)
{
	uint32_t c = 0;

	for (; c + 16 <= n_out; c += 16) {
		v4sf a0 = load4(bias + c), a1 = load4(bias + c + 4);
		v4sf a2 = load4(bias + c + 8), a3 = load4(bias + c + 12);
		for (uint32_t j = 0; j < n_in; j++) {
			const float *w = wt + (size_t)j * n_out + c;
			float x = in[j];
			a0 += load4(w) * x;
			a1 += load4(w + 4) * x;
			a2 += load4(w + 8) * x;
			a3 += load4(w + 12) * x;
		}
		if (relu) {
			a0 = relu4(a0);
			a1 = relu4(a1);
			a2 = relu4(a2);
			a3 = relu4(a3);
		}
		memcpy(out + c, &a0, sizeof(a0));
		memcpy(out + c + 4, &a1, sizeof(a1));
		memcpy(out + c + 8, &a2, sizeof(a2));
		memcpy(out + c + 12, &a3, sizeof(a3));
	}
	for (; c < n_out; c++) {
		float acc = bias[c];
		for (uint32_t j = 0; j < n_in; j++)
			acc += wt[(size_t)j * n_out + c] * in[j];
		out[c] = (relu && acc < 0.0f) ? 0.0f : acc;
	}
}

float
fm_forward_packed(const struct fm_packed *p, const float *features, float *acts)
{
	const struct fm_model *m = p->m;
	float *in = acts;
	float *out = acts + m->n_features;

	fm_normalise(m, features, in);
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		dense(p->wt[i], l->bias, in, out, l->n_in, l->n_out, l->relu);
		in = out;
		out += l->n_out;
	}
	return in[0];
}
