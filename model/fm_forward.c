/* Float forward pass. */
#include <math.h>

#include "fmodel.h"

size_t
fm_acts_len(const struct fm_model *m)
{
	return fm_tensor_offset(m, m->n_layers) + 1;
}

size_t
fm_tensor_offset(const struct fm_model *m, uint32_t t)
{
	size_t off = 0;

	if (t > 0)
		off += m->n_features;
	for (uint32_t i = 0; i + 1 < t; i++)
		off += m->layer[i].n_out;
	return off;
}

void
fm_normalise(const struct fm_model *m, const float *features, float *out)
{
	for (uint32_t j = 0; j < m->n_features; j++)
		out[j] = (features[j] - m->mean[j]) / m->std[j];
}

float
fm_forward(const struct fm_model *m, const float *features, float *acts)
{
	float *in = acts;
	float *out = acts + m->n_features;

	fm_normalise(m, features, in);
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *l = &m->layer[i];
		for (uint32_t c = 0; c < l->n_out; c++) {
			const float *w = l->weights + (size_t)c * l->n_in;
			float acc = l->bias[c];
			for (uint32_t j = 0; j < l->n_in; j++)
				acc += w[j] * in[j];
			out[c] = (l->relu && acc < 0.0f) ? 0.0f : acc;
		}
		in = out;
		out += l->n_out;
	}
	return in[0];
}

float
fm_sigmoid(float logit)
{
	if (logit >= 0.0f)
		return 1.0f / (1.0f + expf(-logit));
	float e = expf(logit);
	return e / (1.0f + e);
}
