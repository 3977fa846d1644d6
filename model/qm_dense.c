/* Fully connected layer, int8 x int8 -> int32 -> int8, per-channel
 * requantization (TFLite's reference FullyConnected, per-channel). */
#include "fixedpoint.h"
#include "qmodel.h"

/* acc_bias already holds -input_zp * sum(w) (qm_prepare), so the
 * accumulator is a plain dot product of raw int8 values. */
int32_t
qm_dense_acc(const struct qm_layer *l, const int8_t *in, uint32_t c)
{
	const int8_t *w = l->weights + (size_t)c * l->n_in;
	int32_t acc = l->acc_bias[c];

	for (uint32_t j = 0; j < l->n_in; j++)
		acc += (int32_t)w[j] * (int32_t)in[j];
	return acc;
}

void
qm_dense_eval(const struct qm_layer *l, const int8_t *in, int8_t *out)
{
	for (uint32_t c = 0; c < l->n_out; c++) {
		int32_t acc = qm_dense_acc(l, in, c);
		int32_t v = qm_mul_by_quantized_multiplier(acc, l->multiplier[c],
							   l->shift[c]);
		/* Add the zero point in 64 bits: v may be near INT32_MAX. */
		int64_t q = (int64_t)v + l->output_zp;
		if (q < l->act_min)
			q = l->act_min;
		if (q > l->act_max)
			q = l->act_max;
		out[c] = (int8_t)q;
	}
}
