/* The float MLP: z-score normalisation, dense layers with ReLU, and a
 * logistic output. The reference the int8 model is measured against, and
 * what training and calibration run. */
#ifndef IOLAT_FMODEL_H
#define IOLAT_FMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "qmodel.h"

#define FM_MAX_LAYERS QM_MAX_LAYERS

struct fm_layer {
	uint32_t n_in;
	uint32_t n_out;
	float *weights; /* [n_out][n_in] */
	float *bias;    /* [n_out] */
	int relu;       /* 1: ReLU, 0: none (the last layer's logit) */
};

struct fm_model {
	uint32_t n_features;
	uint32_t n_layers;
	float *mean; /* [n_features] */
	float *std;  /* [n_features], > 0 */
	struct fm_layer layer[FM_MAX_LAYERS];
};

/* Floats fm_forward writes to acts: the normalised input, then every
 * layer's output, the last being the logit. */
size_t fm_acts_len(const struct fm_model *m);

/* Offset in acts of tensor t: 0 the normalised input, i + 1 layer i. */
size_t fm_tensor_offset(const struct fm_model *m, uint32_t t);

/* The z-score of each raw feature: (x - mean) / std. Every float pass
 * calls this one, so that they agree to the bit. */
void fm_normalise(const struct fm_model *m, const float *features, float *out);

/* Runs the model on raw features (int32 values as floats) and returns the
 * logit; acts receives every activation tensor (fm_acts_len floats). */
float fm_forward(const struct fm_model *m, const float *features, float *acts);

/* The logistic function, written to avoid overflow of exp. */
float fm_sigmoid(float logit);

#endif
