/* Post-training quantization of a float model to the int8 scheme of
 * DESIGN.md, from the real ranges of its activation tensors. */
#ifndef IOLAT_QUANT_H
#define IOLAT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Real range of each activation tensor, indexed as fm_tensor_offset:
 * 0 the normalised input, i + 1 the output of layer i (the last: logit). */
struct quant_ranges {
	float min[QM_MAX_LAYERS + 1];
	float max[QM_MAX_LAYERS + 1];
	/* Per feature ranges of the normalised input, used unless
	 * per_tensor_input is set. */
	float feature_min[QM_MAX_FEATURES];
	float feature_max[QM_MAX_FEATURES];
	int per_tensor_input;
};

/* TFLite's QuantizeMultiplier: real = multiplier * 2^(shift - 31), with
 * multiplier in [2^30, 2^31) or 0. */
void quant_multiplier(double real, int32_t *multiplier, int32_t *shift);

/* Scale and zero point of an int8 asymmetric tensor over [min, max]
 * (widened to include 0), as TFLite's ChooseQuantizationParams. */
void quant_params(float min, float max, float *scale, int32_t *zero_point);

/* The scale and zero point of input feature j: its own range, or the
 * one range of all features with per_tensor_input. */
void quant_input_params(const struct quant_ranges *r, uint32_t j, float *scale,
			int32_t *zero_point);

/* Builds the int8 model of float model f for these ranges. mode names the
 * calibration that produced them (stored in the file). Returns NULL and
 * fills err on failure. */
struct model *quant_model(const struct model *f, const struct quant_ranges *r,
			  const char *mode, char *err, size_t errlen);

#endif
