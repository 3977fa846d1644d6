/* Quantization: weights per output channel (symmetric), activations per
 * tensor (asymmetric), biases in int32 at input_scale * weight_scale,
 * requantization multipliers, and the integer input map. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

void
quant_multiplier(double real, int32_t *multiplier, int32_t *shift)
{
	int exp;
	double q;
	int64_t fixed;

	if (real <= 0.0) {
		*multiplier = 0;
		*shift = 0;
		return;
	}
	q = frexp(real, &exp); /* real = q * 2^exp, q in [0.5, 1) */
	fixed = llround(q * (double)(1LL << 31));
	if (fixed == (1LL << 31)) {
		fixed /= 2;
		exp++;
	}
	if (exp < -31) { /* below any representable value: zero */
		fixed = 0;
		exp = 0;
	}
	if (exp > 30) { /* saturate as TFLite does */
		fixed = INT32_MAX;
		exp = 30;
	}
	*multiplier = (int32_t)fixed;
	*shift = exp;
}

void
quant_params(float min, float max, float *scale, int32_t *zero_point)
{
	double lo = min < 0.0f ? min : 0.0;
	double hi = max > 0.0f ? max : 0.0;
	double s = (hi - lo) / 255.0;
	double zp;

	if (s == 0.0) { /* an all-zero tensor: any scale represents it */
		*scale = 1.0f;
		*zero_point = -128;
		return;
	}
	zp = -128.0 - lo / s;
	zp = zp < -128.0 ? -128.0 : (zp > 127.0 ? 127.0 : zp);
	*scale = (float)s;
	*zero_point = (int32_t)lround(zp);
}

/* q = round(x * k + c) for the normalised-and-quantized input, as
 * (x * mul + add) >> shift with mul < 2^31 and the largest shift that keeps
 * every term in range. */
static int
quant_input_feature(double k, double c, int32_t *mul, int64_t *add,
		    int32_t *shift)
{
	int s = QM_INPUT_SHIFT_MAX;

	while (s > 0 && (k * ldexp(1.0, s) >= 2147483647.0 ||
			 fabs(c) * ldexp(1.0, s) + ldexp(1.0, s - 1) >=
				 (double)QM_INPUT_ADD_MAX))
		s--;
	if (k * ldexp(1.0, s) >= 2147483647.0 ||
	    fabs(c) >= (double)QM_INPUT_ADD_MAX)
		return -1;
	*mul = (int32_t)llround(k * ldexp(1.0, s));
	*add = llround(c * ldexp(1.0, s)) + (s > 0 ? (int64_t)1 << (s - 1) : 0);
	*shift = s;
	return 0;
}

/* Quantizes layer i. w holds its float weights (for layer 0 already
 * multiplied by each feature's input scale); in_zp[j] is input j's zero
 * point, folded into the bias so that the layer's own input_zp is in_zp[0]
 * when all are equal, 0 otherwise. */
static int
quant_layer(struct model *q, const struct fm_layer *fl, const float *fw_all,
	    uint32_t i, float in_scale, const int32_t *in_zp, int shared_zp,
	    float out_scale, int32_t out_zp)
{
	struct qm_layer *l = &q->qm.layer[i];
	int8_t *w = (int8_t *)l->weights;
	int32_t *bias = (int32_t *)l->bias;
	int32_t *mult = (int32_t *)l->multiplier;
	int32_t *shift = (int32_t *)l->shift;

	q->ql[i].input_scale = in_scale;
	q->ql[i].output_scale = out_scale;
	l->input_zp = shared_zp ? in_zp[0] : 0;
	l->output_zp = out_zp;
	l->act_min = fl->relu ? out_zp : -128;
	l->act_max = 127;
	for (uint32_t c = 0; c < fl->n_out; c++) {
		const float *fw = fw_all + (size_t)c * fl->n_in;
		int8_t *wq = w + (size_t)c * fl->n_in;
		float amax = 0.0f;
		int64_t zp_fold = 0;
		for (uint32_t j = 0; j < fl->n_in; j++)
			amax = fmaxf(amax, fabsf(fw[j]));
		double ws = amax > 0.0f ? amax / 127.0 : 1.0;
		q->ql[i].weight_scale[c] = (float)ws;
		for (uint32_t j = 0; j < fl->n_in; j++) {
			long v = lround(fw[j] / ws);
			wq[j] = (int8_t)(v > 127 ? 127 : (v < -127 ? -127 : v));
			if (!shared_zp)
				zp_fold += (int64_t)wq[j] * in_zp[j];
		}
		double bs = (double)in_scale * ws;
		double b = round(fl->bias[c] / bs) - (double)zp_fold;
		if (b > QM_BIAS_MAX || b < -QM_BIAS_MAX)
			return -1;
		bias[c] = (int32_t)b;
		quant_multiplier(bs / out_scale, &mult[c], &shift[c]);
	}
	return 0;
}

void
quant_input_params(const struct quant_ranges *r, uint32_t j, float *scale, int32_t *zp)
{
	if (r->per_tensor_input)
		quant_params(r->min[0], r->max[0], scale, zp);
	else
		quant_params(r->feature_min[j], r->feature_max[j], scale, zp);
}

/* The input map of every feature, and the weights layer 0 sees: with a
 * scale per feature, x_j = s_j (q_j - zp_j), so w_cj x_j is
 * (w_cj s_j)(q_j - zp_j). */
static int
quant_input(struct model *q, const struct model *f, const struct quant_ranges *r,
	    float *w0, char *err, size_t errlen)
{
	const struct fm_layer *l0 = &f->fm.layer[0];

	for (uint32_t j = 0; j < f->n_features; j++) {
		float s;
		int32_t zp;
		quant_input_params(r, j, &s, &zp);
		q->input_scale[j] = s;
		q->input_zp[j] = zp;
		q->input_mean[j] = f->fm.mean[j];
		q->input_std[j] = f->fm.std[j];
		double k = 1.0 / ((double)f->fm.std[j] * s);
		double c = zp - (double)f->fm.mean[j] * k;
		if (quant_input_feature(k, c, (int32_t *)&q->qm.input.mul[j],
					(int64_t *)&q->qm.input.add[j],
					(int32_t *)&q->qm.input.shift[j]) != 0) {
			snprintf(err, errlen, "feature %u: normalisation out of range", j);
			return -1;
		}
		/* A feature that calibration saw only at 0 (io_type when only
		 * reads are predicted) adds nothing to the float model; its
		 * placeholder scale of 1 must not set layer 0's weight scales. */
		int constant = !r->per_tensor_input && r->feature_min[j] == 0.0f &&
			       r->feature_max[j] == 0.0f;
		for (uint32_t c2 = 0; c2 < l0->n_out; c2++) {
			size_t k2 = (size_t)c2 * l0->n_in + j;
			w0[k2] = r->per_tensor_input ? l0->weights[k2]
				 : constant	     ? 0.0f
						     : l0->weights[k2] * s;
		}
	}
	return 0;
}

struct model *
quant_model(const struct model *f, const struct quant_ranges *r,
	    const char *mode, char *err, size_t errlen)
{
	uint32_t widths[QM_MAX_LAYERS + 1];
	struct model *q;
	float scale[QM_MAX_LAYERS + 1];
	int32_t zp[QM_MAX_LAYERS + 1];
	float *w0;

	if (f->kind != MODEL_FLOAT32) {
		snprintf(err, errlen, "quantization needs a float32 model");
		return NULL;
	}
	for (uint32_t t = 0; t <= f->n_layers; t++) {
		if (!isfinite(r->min[t]) || !isfinite(r->max[t])) {
			snprintf(err, errlen, "tensor %u: range is not finite", t);
			return NULL;
		}
		quant_params(r->min[t], r->max[t], &scale[t], &zp[t]);
	}
	for (uint32_t j = 0; j < f->n_features && !r->per_tensor_input; j++) {
		if (!isfinite(r->feature_min[j]) || !isfinite(r->feature_max[j])) {
			snprintf(err, errlen, "feature %u: range is not finite", j);
			return NULL;
		}
	}
	widths[0] = f->n_features;
	for (uint32_t i = 0; i < f->n_layers; i++)
		widths[i + 1] = f->fm.layer[i].n_out;
	q = model_new(MODEL_INT8, f->n_layers, widths);
	w0 = malloc((size_t)widths[0] * widths[1] * sizeof(float));
	if (q == NULL || w0 == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(q->feature_names, f->feature_names, sizeof(q->feature_names));
	snprintf(q->created_by, sizeof(q->created_by), "%s", f->created_by);
	snprintf(q->calibration_mode, sizeof(q->calibration_mode), "%s", mode);
	if (quant_input(q, f, r, w0, err, errlen) != 0)
		goto fail;
	/* Per feature, layer 0's accumulator has scale weight_scale alone. */
	if (quant_layer(q, &f->fm.layer[0], w0, 0,
			r->per_tensor_input ? scale[0] : 1.0f, q->input_zp,
			r->per_tensor_input, scale[1], zp[1]) != 0) {
		snprintf(err, errlen, "layer 0: bias does not fit int32");
		goto fail;
	}
	for (uint32_t i = 1; i < f->n_layers; i++) {
		if (quant_layer(q, &f->fm.layer[i], f->fm.layer[i].weights, i,
				scale[i], &zp[i], 1, scale[i + 1], zp[i + 1]) != 0) {
			snprintf(err, errlen, "layer %u: bias does not fit int32", i);
			goto fail;
		}
	}
	free(w0);
	w0 = NULL;
	if (model_finish_int8(q, err, errlen) != 0)
		goto fail;
	return q;
fail:
	free(w0);
	model_free(q);
	return NULL;
}
