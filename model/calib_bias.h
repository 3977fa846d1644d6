/* Empirical bias correction after quantization (Nagel et al., "Data-Free
 * Quantization Through Weight Equalization and Bias Correction", 2019,
 * the empirical variant): per layer, in order, the mean over the
 * calibration records of the int8 accumulator (dequantized) minus the
 * float pre-activation, per channel, is taken out of the int32 bias, so
 * that rounding no longer shifts any channel on average. */
#ifndef IOLAT_CALIB_BIAS_H
#define IOLAT_CALIB_BIAS_H

#include <stddef.h>

#include "dataset.h"
#include "model.h"

/* Corrects q (quantized from f) over data's records and re-prepares it.
 * Returns 0, or -1 with err (empty data, feature count, bias overflow). */
int calib_bias_correct(const struct model *f, struct model *q,
		       const struct ds *data, char *err, size_t errlen);

/* Mean, over data, of the dequantized int8 accumulator minus the float
 * pre-activation of channel c of layer l, into mean[c] (for tests). */
int calib_bias_error(const struct model *f, const struct model *q,
		     const struct ds *data, uint32_t l, double *mean);

#endif
