/* The float network with quantization simulated ("fake quantization"):
 * each input feature rounded to its int8 grid, weights to their per-
 * channel int8 grid (layer 0 after folding the input scales, as quant.c
 * does), hidden activations to their int8 grid. What the int8 model
 * computes, in floats and differentiable by the straight-through rule:
 * the trainer uses it to make the float and int8 models agree. */
#ifndef IOLAT_FM_FAKEQUANT_H
#define IOLAT_FM_FAKEQUANT_H

#include <stdint.h>

#include "fmodel.h"
#include "quant.h"

struct fm_fq {
	float in_scale[QM_MAX_FEATURES];
	int32_t in_zp[QM_MAX_FEATURES];
	float act_scale[QM_MAX_LAYERS]; /* output of hidden layer i */
	int32_t act_zp[QM_MAX_LAYERS];
	float *wq[QM_MAX_LAYERS];       /* [n_out][n_in], refreshed by fm_fq_weights */
};

/* Scales and zero points from ranges (per feature; per tensor), and room
 * for the rounded weights. Returns 0 or -1 (no memory). */
int fm_fq_init(struct fm_fq *q, const struct fm_model *m, const struct quant_ranges *r);
void fm_fq_free(struct fm_fq *q);

/* Rounds m's current weights to their int8 grids into q->wq. */
void fm_fq_weights(struct fm_fq *q, const struct fm_model *m);

/* The forward pass with fake quantization. acts is laid out as fm_forward
 * lays it out (the rounded normalised input, then each layer's rounded
 * output); pass[k] is 1 where a gradient flows back through activation k:
 * ReLU active and inside the int8 range. Returns the logit. */
float fm_fq_forward(const struct fm_fq *q, const struct fm_model *m,
		    const float *features, float *acts, uint8_t *pass);

#endif
