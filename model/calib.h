/* Calibration after Samsung ONE's record-minmax: run the float model over
 * a representative dataset, record each record's min and max of every
 * activation tensor (and each input feature's normalised value), then
 * reduce those per-record values to one range per tensor:
 *   minmax          the smallest min and the largest max;
 *   moving_average  batches of 16 records, each batch's min (max) folded
 *                   in as avg = avg * 0.9 + batch * 0.1, the first batch
 *                   as the start (ONE's getMovingAverage, constant 0.1);
 *   percentile      the min_percentile of the mins and the max_percentile
 *                   of the maxes, numpy's linear interpolation (default
 *                   1.0 and 99.0).
 * The quantizer widens every range to include 0. */
#ifndef IOLAT_CALIB_H
#define IOLAT_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "quant.h"

enum calib_mode {
	CALIB_MINMAX = 0,
	CALIB_MOVING_AVERAGE = 1,
	CALIB_PERCENTILE = 2,
};

struct calib_options {
	enum calib_mode mode;
	float min_percentile; /* percentile mode, 0..100 */
	float max_percentile;
	uint32_t batch;       /* moving_average: records a batch */
	float update_const;   /* moving_average: weight of a new batch */
	int per_tensor_input; /* one input scale for all features */
};

void calib_defaults(struct calib_options *o);
int calib_mode_parse(const char *name, enum calib_mode *mode);
const char *calib_mode_name(enum calib_mode mode);

/* Per-record minima and maxima: tensor t's values of record r at
 * min[t][r], max[t][r] (t = 0 the normalised input, i + 1 layer i), and
 * feature j's normalised value at feature[j][r]. */
struct calib_recording {
	size_t n;
	uint32_t n_tensors;
	uint32_t n_features;
	float *min[QM_MAX_LAYERS + 1];
	float *max[QM_MAX_LAYERS + 1];
	float *feature[QM_MAX_FEATURES];
};

/* Runs float model f over every record of data. Fails (-1, err) on an
 * empty dataset, a feature count other than the model's, or a
 * non-finite activation (the model or the data is broken). */
int calib_record(const struct model *f, const struct ds *data,
		 struct calib_recording *rec, char *err, size_t errlen);

/* Reduces a recording to ranges. Returns 0, or -1 with err. */
int calib_reduce(const struct calib_recording *rec, const struct calib_options *o,
		 struct quant_ranges *r, char *err, size_t errlen);

void calib_recording_free(struct calib_recording *rec);

/* ONE's getMovingAverage over n values (exposed for tests). */
float calib_moving_average(const float *v, size_t n, uint32_t batch,
			   float update_const, int is_min);

#endif
