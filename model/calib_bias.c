/* Empirical bias correction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_bias.h"
#include "fm_packed.h"

/* The float pass of f, packed once, and its activations: what every
 * layer's error is measured against. */
struct float_pass {
	struct fm_packed p;
	float *acts;
};

static int
float_pass_init(struct float_pass *fp, const struct model *f)
{
	fp->acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	if (fp->acts == NULL || fm_pack(&f->fm, &fp->p) != 0) {
		free(fp->acts);
		return -1;
	}
	return 0;
}

static void
float_pass_free(struct float_pass *fp)
{
	fm_packed_free(&fp->p);
	free(fp->acts);
}

static void
layer_error(struct float_pass *fp, const struct model *f, const struct model *q,
	    const struct ds *data, uint32_t l, double *mean)
{
	const struct fm_layer *fl = &f->fm.layer[l];
	const struct qm_layer *ql = &q->qm.layer[l];
	float *acts = fp->acts;
	int8_t a[QM_MAX_WIDTH], b[QM_MAX_WIDTH];

	memset(mean, 0, fl->n_out * sizeof(*mean));
	for (size_t r = 0; r < data->n; r++) {
		const float *row = data->features + r * data->n_features;
		int32_t x[QM_MAX_FEATURES];
		fm_forward_packed(&fp->p, row, acts);
		for (uint32_t j = 0; j < data->n_features; j++)
			x[j] = (int32_t)row[j];
		qm_input_eval(&q->qm, x, a);
		for (uint32_t i = 0; i < l; i++) {
			qm_dense_eval(&q->qm.layer[i], a, b);
			memcpy(a, b, q->qm.layer[i].n_out);
		}
		const float *in = acts + fm_tensor_offset(&f->fm, l);
		for (uint32_t c = 0; c < fl->n_out; c++) {
			const float *w = fl->weights + (size_t)c * fl->n_in;
			double pre = fl->bias[c];
			for (uint32_t j = 0; j < fl->n_in; j++)
				pre += (double)w[j] * in[j];
			double scale = (double)q->ql[l].input_scale * q->ql[l].weight_scale[c];
			mean[c] += qm_dense_acc(ql, a, c) * scale - pre;
		}
	}
	for (uint32_t c = 0; c < fl->n_out; c++)
		mean[c] /= data->n;
}

int
calib_bias_error(const struct model *f, const struct model *q,
		 const struct ds *data, uint32_t l, double *mean)
{
	struct float_pass fp;

	if (float_pass_init(&fp, f) != 0)
		return -1;
	layer_error(&fp, f, q, data, l, mean);
	float_pass_free(&fp);
	return 0;
}

int
calib_bias_correct(const struct model *f, struct model *q, const struct ds *data,
		   char *err, size_t errlen)
{
	double mean[QM_MAX_WIDTH];

	if (data->n == 0 || data->n_features != f->n_features) {
		snprintf(err, errlen, "bias correction needs records of %u features",
			 f->n_features);
		return -1;
	}
	struct float_pass fp;
	int rc = -1;

	if (float_pass_init(&fp, f) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* In order: each layer is corrected for the inputs it really gets. */
	for (uint32_t l = 0; l < q->n_layers; l++) {
		int32_t *bias = (int32_t *)q->qm.layer[l].bias;
		layer_error(&fp, f, q, data, l, mean);
		for (uint32_t c = 0; c < q->qm.layer[l].n_out; c++) {
			double scale = (double)q->ql[l].input_scale * q->ql[l].weight_scale[c];
			double fixed = bias[c] - round(mean[c] / scale);
			if (fabs(fixed) > QM_BIAS_MAX) {
				snprintf(err, errlen, "layer %u: corrected bias does not fit", l);
				goto out;
			}
			bias[c] = (int32_t)fixed;
		}
		if (model_finish_int8(q, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	float_pass_free(&fp);
	return rc;
}
