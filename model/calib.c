/* Record-minmax calibration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "fm_packed.h"
#include "label.h"

static const char *const mode_names[] = {"minmax", "moving_average", "percentile"};

void
calib_defaults(struct calib_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = CALIB_PERCENTILE;
	o->min_percentile = 1.0f;
	o->max_percentile = 99.0f;
	o->batch = 16;
	o->update_const = 0.1f;
}

int
calib_mode_parse(const char *name, enum calib_mode *mode)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum calib_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *
calib_mode_name(enum calib_mode mode)
{
	return (unsigned)mode < 3 ? mode_names[mode] : "unknown";
}

void
calib_recording_free(struct calib_recording *rec)
{
	for (int t = 0; t <= QM_MAX_LAYERS; t++) {
		free(rec->min[t]);
		free(rec->max[t]);
	}
	for (int j = 0; j < QM_MAX_FEATURES; j++)
		free(rec->feature[j]);
	memset(rec, 0, sizeof(*rec));
}

static int
recording_alloc(struct calib_recording *rec, size_t n, uint32_t n_tensors,
		uint32_t n_features)
{
	memset(rec, 0, sizeof(*rec));
	rec->n = n;
	rec->n_tensors = n_tensors;
	rec->n_features = n_features;
	for (uint32_t t = 0; t < n_tensors; t++) {
		rec->min[t] = malloc(n * sizeof(float));
		rec->max[t] = malloc(n * sizeof(float));
		if (rec->min[t] == NULL || rec->max[t] == NULL)
			return -1;
	}
	for (uint32_t j = 0; j < n_features; j++) {
		rec->feature[j] = malloc(n * sizeof(float));
		if (rec->feature[j] == NULL)
			return -1;
	}
	return 0;
}

int
calib_record(const struct model *f, const struct ds *data,
	     struct calib_recording *rec, char *err, size_t errlen)
{
	struct fm_packed p;
	float *acts;
	size_t bounds[QM_MAX_LAYERS + 2];
	uint32_t nt = f->n_layers + 1;

	if (data->n == 0) {
		snprintf(err, errlen, "the dataset has no records");
		return -1;
	}
	if (data->n_features != f->n_features) {
		snprintf(err, errlen, "the dataset has %u features, the model %u",
			 data->n_features, f->n_features);
		return -1;
	}
	acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	if (acts == NULL || fm_pack(&f->fm, &p) != 0 ||
	    recording_alloc(rec, data->n, nt, f->n_features) != 0) {
		free(acts);
		calib_recording_free(rec);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t t = 0; t < nt; t++)
		bounds[t] = fm_tensor_offset(&f->fm, t);
	bounds[nt] = fm_acts_len(&f->fm);
	for (size_t r = 0; r < data->n; r++) {
		const float *row = data->features + r * data->n_features;
		for (uint32_t j = 0; j < data->n_features; j++) {
			if (!isfinite(row[j])) {
				snprintf(err, errlen, "record %zu: feature %u is not finite", r, j);
				fm_packed_free(&p);
				free(acts);
				calib_recording_free(rec);
				return -1;
			}
		}
		fm_forward_packed(&p, row, acts);
		for (uint32_t t = 0; t < nt; t++) {
			float lo = acts[bounds[t]], hi = lo;
			for (size_t k = bounds[t] + 1; k < bounds[t + 1]; k++) {
				lo = acts[k] < lo ? acts[k] : lo;
				hi = acts[k] > hi ? acts[k] : hi;
			}
			rec->min[t][r] = lo;
			rec->max[t][r] = hi;
		}
		for (uint32_t j = 0; j < f->n_features; j++)
			rec->feature[j][r] = acts[j];
	}
	fm_packed_free(&p);
	free(acts);
	/* Finite inputs can still overflow to infinity on the way. */
	for (uint32_t t = 0; t < nt; t++) {
		for (size_t r = 0; r < data->n; r++) {
			if (!isfinite(rec->min[t][r]) || !isfinite(rec->max[t][r])) {
				snprintf(err, errlen, "record %zu: tensor %u is not finite", r, t);
				calib_recording_free(rec);
				return -1;
			}
		}
	}
	return 0;
}

float
calib_moving_average(const float *v, size_t n, uint32_t batch, float update_const,
		     int is_min)
{
	double avg = 0.0;

	for (size_t start = 0; start < n; start += batch) {
		float b = v[start];
		for (size_t k = start + 1; k < start + batch && k < n; k++)
			b = is_min ? fminf(b, v[k]) : fmaxf(b, v[k]);
		avg = start == 0 ? b : avg * (1.0 - update_const) + b * (double)update_const;
	}
	return (float)avg;
}

static void
reduce_one(const float *mins, const float *maxs, size_t n,
	   const struct calib_options *o, float *lo, float *hi)
{
	switch (o->mode) {
	case CALIB_MINMAX:
		*lo = mins[0];
		*hi = maxs[0];
		for (size_t r = 1; r < n; r++) {
			*lo = fminf(*lo, mins[r]);
			*hi = fmaxf(*hi, maxs[r]);
		}
		break;
	case CALIB_MOVING_AVERAGE:
		*lo = calib_moving_average(mins, n, o->batch, o->update_const, 1);
		*hi = calib_moving_average(maxs, n, o->batch, o->update_const, 0);
		break;
	case CALIB_PERCENTILE:
		*lo = (float)label_percentile(mins, n, o->min_percentile);
		*hi = (float)label_percentile(maxs, n, o->max_percentile);
		break;
	}
}

int
calib_reduce(const struct calib_recording *rec, const struct calib_options *o,
	     struct quant_ranges *r, char *err, size_t errlen)
{
	if (o->mode == CALIB_PERCENTILE &&
	    !(o->min_percentile >= 0.0f && o->min_percentile <= o->max_percentile &&
	      o->max_percentile <= 100.0f)) {
		snprintf(err, errlen, "percentiles must satisfy 0 <= min <= max <= 100");
		return -1;
	}
	if (o->mode == CALIB_MOVING_AVERAGE && o->batch == 0) {
		snprintf(err, errlen, "moving_average needs a batch of at least 1");
		return -1;
	}
	memset(r, 0, sizeof(*r));
	r->per_tensor_input = o->per_tensor_input;
	for (uint32_t t = 0; t < rec->n_tensors; t++)
		reduce_one(rec->min[t], rec->max[t], rec->n, o, &r->min[t], &r->max[t]);
	/* A feature has one value a record: its min and its max. */
	for (uint32_t j = 0; j < rec->n_features; j++)
		reduce_one(rec->feature[j], rec->feature[j], rec->n, o,
			   &r->feature_min[j], &r->feature_max[j]);
	return 0;
}
