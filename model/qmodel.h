/* The int8 inference core: a full-integer MLP binary classifier, batch 1.
 *
 * Scheme (DESIGN.md, TFLite-compatible): real = scale * (q - zero_point);
 * activations int8 asymmetric per tensor, weights int8 symmetric per output
 * channel, int32 bias, requantization by a Q0.31 multiplier and a shift per
 * output channel, ReLU fused as a clamp. The first layer's input comes from
 * an integer affine map per feature into which z-score normalisation and
 * input quantization are folded.
 *
 * Everything declared here is integer only and allocates nothing: it
 * compiles with -ffreestanding -mgeneral-regs-only. Building a model (from
 * a file or a float model) and choosing a SIMD variant live outside.
 */
#ifndef IOLAT_QMODEL_H
#define IOLAT_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#define QM_MAX_LAYERS 8
#define QM_MAX_FEATURES 64
#define QM_MAX_WIDTH 1024

/* Caller-owned scratch that qm_predict needs: two activation buffers. */
#define QM_SCRATCH_BYTES (2 * QM_MAX_WIDTH)

/* |bias| <= 2^30 leaves room in int32 for the bias fold and any dot
 * product of QM_MAX_WIDTH int8 pairs: evaluation never overflows. */
#define QM_BIAS_MAX ((int32_t)1 << 30)

/* Input map limits, checked by qm_validate: they keep
 * x * mul + add inside int64 for any int32 x. */
#define QM_INPUT_SHIFT_MAX 62
#define QM_INPUT_ADD_MAX ((int64_t)1 << 62)

/* Per feature j: q = clamp((x * mul[j] + add[j]) >> shift[j], -128, 127).
 * add carries the rounding term, so the shift floors to a rounded value. */
struct qm_input_map {
	const int32_t *mul;
	const int64_t *add;
	const int32_t *shift;
};

struct qm_layer {
	uint32_t n_in;
	uint32_t n_out;
	const int8_t *weights;     /* [n_out][n_in], -127..127 */
	const int32_t *bias;       /* [n_out], scale = in_scale * w_scale[c] */
	const int32_t *multiplier; /* [n_out], Q0.31, >= 0 */
	const int32_t *shift;      /* [n_out], -31..30, > 0 shifts left */
	int32_t input_zp;
	int32_t output_zp;
	int32_t act_min;           /* ReLU: output_zp; none: -128 */
	int32_t act_max;           /* 127 */
	/* Set by qm_prepare: bias - input_zp * sum_j weights[c][j], so that
	 * evaluation multiplies raw int8 activations. */
	const int32_t *acc_bias;
};

enum qm_variant {
	QM_PORTABLE = 0,
	QM_AVX2 = 1,
	QM_AVX512_VNNI = 2,
};

struct qm_model {
	uint32_t n_features;
	uint32_t n_layers;
	struct qm_input_map input;
	struct qm_layer layer[QM_MAX_LAYERS];
	/* Int8 logistic: probability q (scale 1/256, zero point -128) for
	 * each int8 logit q + 128 of the last layer's output. */
	int8_t logistic[256];
	/* Set by qm_prepare. */
	uint32_t max_width;
	/* Set by qm_simd_prepare (qm_simd.h); QM_PORTABLE and NULL otherwise. */
	enum qm_variant variant;
	const void *packed;
};

struct qm_result {
	int32_t logit;     /* int32 accumulator of the last layer */
	uint8_t decision;  /* 1 slow: logit > 0, i.e. probability > 0.5 */
	uint8_t score;     /* probability * 256, clamped to 255 */
};

/* Checks that every parameter is in range and the layer widths chain:
 * [1, n_features] -> ... -> [1, 1]. Returns 0 or a negative
 * QM_E* code; *where receives the offending layer (-1: the model or its
 * input map). */
enum {
	QM_OK = 0,
	QM_ESHAPE = -1,      /* widths do not chain, too many layers/features */
	QM_ESHIFT = -2,      /* requantization or input shift out of range */
	QM_EZEROPOINT = -3,  /* zero point or activation clamp out of int8 */
	QM_EWEIGHT = -4,     /* weight -128 (symmetric range is -127..127) */
	QM_EMULTIPLIER = -5, /* negative multiplier, input add out of range */
	QM_EARENA = -6,      /* prepare arena too small */
	QM_EBIAS = -7,       /* |bias| over QM_BIAS_MAX */
};
int qm_validate(const struct qm_model *m, int *where);

/* Bytes of arena that qm_prepare needs for this model. */
size_t qm_prepare_size(const struct qm_model *m);

/* Computes what evaluation needs (folded biases, max width) into the
 * caller's arena, which must stay alive and aligned to 4 bytes. Call after
 * qm_validate. Returns 0 or QM_EARENA. */
int qm_prepare(struct qm_model *m, void *arena, size_t arena_len);

/* Evaluates one feature vector with the model's chosen variant. The only
 * failure is a shape mismatch: returns QM_ESHAPE when n_features differs
 * from the model's, 0 otherwise. scratch holds QM_SCRATCH_BYTES. */
int qm_predict(const struct qm_model *m, const int32_t *features,
	       uint32_t n_features, int8_t *scratch, struct qm_result *out);

/* The portable reference every variant is bit-exact with. */
int qm_predict_portable(const struct qm_model *m, const int32_t *features,
			uint32_t n_features, int8_t *scratch,
			struct qm_result *out);

/* The operations, one per file, for tests and variants. */
void qm_input_eval(const struct qm_model *m, const int32_t *features,
		   int8_t *out);
void qm_dense_eval(const struct qm_layer *l, const int8_t *in, int8_t *out);
int32_t qm_dense_acc(const struct qm_layer *l, const int8_t *in, uint32_t c);
void qm_output_eval(const struct qm_model *m, int32_t logit,
		    struct qm_result *out);

#endif
