/* A model as the programs hold it: the float or int8 network, its
 * metadata, and the memory behind it. Built by the file loader (mf_load),
 * the quantizer (quant_model) or the trainer; freed by model_free. */
#ifndef IOLAT_MODEL_H
#define IOLAT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "fmodel.h"
#include "qmodel.h"

#define MODEL_NAME_MAX 64
#define MODEL_TEXT_MAX 256

enum model_kind {
	MODEL_FLOAT32 = 0,
	MODEL_INT8 = 1,
};

/* Real-valued scales of an int8 model: kept for reports and the logistic
 * table; evaluation never reads them. */
struct model_qlayer {
	float input_scale;
	float output_scale;
	float *weight_scale; /* [n_out] */
	int relu;
};

struct model {
	enum model_kind kind;
	uint32_t n_features;
	uint32_t n_layers;
	char feature_names[QM_MAX_FEATURES][MODEL_NAME_MAX];
	char created_by[MODEL_TEXT_MAX];
	char calibration_mode[MODEL_NAME_MAX]; /* int8 only */
	struct fm_model fm;                    /* kind == MODEL_FLOAT32 */
	struct qm_model qm;                    /* kind == MODEL_INT8, prepared */
	struct model_qlayer ql[QM_MAX_LAYERS]; /* kind == MODEL_INT8 */
	/* int8: scale and zero point of each input feature. With per-feature
	 * input quantization they are folded into layer 0, whose own input
	 * scale is then 1 and zero point 0. In the file: /input attributes
	 * `scale` (float32) and `zero_point` (int32), arrays [n_features]. */
	float input_scale[QM_MAX_FEATURES];
	int32_t input_zp[QM_MAX_FEATURES];
	float *input_mean;                     /* int8: the folded normalisation, */
	float *input_std;                      /* kept for reports */
	void *mem;                             /* one block behind every array */
	void *arena;                           /* qm_prepare's */
	void *simd_arena;                      /* qm_simd_prepare's */
};

/* The eight FlashNet feat_v2 names, DESIGN.md's order. */
extern const char *const model_default_feature_names[8];

/* Allocates a model of the given kind and layer widths (widths[0] is
 * n_features, widths[n_layers] is 1), every array zeroed, hidden layers
 * ReLU and the last none. Returns NULL on a bad shape or no memory. */
struct model *model_new(enum model_kind kind, uint32_t n_layers,
			const uint32_t *widths);

/* For MODEL_INT8: validates, builds the logistic table from the last
 * layer's output scale, prepares, and selects the fastest SIMD variant the
 * CPU offers. Fills err on failure and returns -1. */
int model_finish_int8(struct model *m, char *err, size_t errlen);

/* Runs either kind on int32 features: decision and probability. For int8
 * the probability is score / 256. Returns -1 when n_features differs. */
int model_predict(const struct model *m, const int32_t *features,
		  uint32_t n_features, int *decision, float *probability);

void model_free(struct model *m);

#endif
