/* Entry points of the SIMD variants, for qm_simd.c and the tests.
 *
 * Each variant packs a prepared model into its own layout (prepare, plain
 * C, any CPU) and evaluates it with intrinsics in functions that carry
 * target attributes, so that the files build with the default flags and
 * are only called once qm_simd_supported said the CPU runs them.
 */
#ifndef IOLAT_QM_SIMD_INTERNAL_H
#define IOLAT_QM_SIMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "qmodel.h"

/* x86-64 with a compiler that knows the avx512vnni target attribute. */
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 9)
#define QM_HAVE_X86_SIMD 1
#else
#define QM_HAVE_X86_SIMD 0
#endif

/* Groups of b that a items fill. */
static inline uint32_t
qm_div_up(uint32_t a, uint32_t b)
{
	return (a + b - 1) / b;
}

/* Packed arrays start on this boundary: whole-vector loads. */
#define QM_SIMD_ALIGN 64

/* Carving packed memory: run once with base NULL to size, once to fill. */
struct qm_simd_bump {
	char *base;
	size_t used;
};
void *qm_simd_take(struct qm_simd_bump *b, size_t bytes);

/* Per-channel requantization terms of a layer in vector-friendly form,
 * for npad packed positions; src[pos] names the layer's channel at each
 * position (n_out or more: padding, multiplier 0 and no shift). */
struct qm_simd_rq {
	int32_t *mult;     /* Q0.31 multiplier */
	int32_t *mult_odd; /* mult[pos + 1] at even pos, 0 at odd: vpmuldq's odd lanes */
	int32_t *rshift;   /* right shift e, 0..31 (-shift, or 0) */
	int32_t *mask;     /* (1 << e) - 1 */
	int32_t *thr;      /* mask >> 1 */
	int32_t *lshift;   /* left shift 0..30 (shift, or 0) */
	int32_t *sat_hi;   /* INT32_MAX >> lshift: above, x << lshift saturates */
	int32_t *sat_lo;   /* INT32_MIN >> lshift: below, it saturates */
	/* The fused rounding of qm_simd_mbqm in int64 lanes, [npad / 2] each
	 * for the even and the odd positions. */
	int64_t *rnd_even, *rnd_odd;   /* 2^30 + [e > 0] 2^(30 + e) */
	int64_t *corr_even, *corr_odd; /* [e > 0] 2^31, taken off when P < 0 (or
					 * x < 0: the same, qm_avx512.c) */
	int64_t *sh_even, *sh_odd;     /* 31 + e */
};
void qm_simd_rq_carve(struct qm_simd_bump *b, struct qm_simd_rq *rq,
		      size_t npad);
/* Returns whether any channel shifts left. */
int qm_simd_rq_fill(const struct qm_simd_rq *rq, const struct qm_layer *l,
		    const uint32_t *src, size_t npad);

/* The input map widened to int64 lanes, padded to npad features with the
 * identity-to-zero map (mul 0, add 0, shift 0). */
struct qm_simd_input {
	int64_t *mul;
	int64_t *add;
	int64_t *shift;
};
void qm_simd_input_carve(struct qm_simd_bump *b, struct qm_simd_input *in,
			 size_t npad);
void qm_simd_input_fill(const struct qm_simd_input *in,
			const struct qm_model *m, size_t npad);

/* The output step of the last layer (qm_output_eval) with its terms
 * gathered in one place: no pointer chasing at the end of a prediction. */
struct qm_simd_out {
	int32_t mult;
	int32_t shift;
	int32_t zp;
	int8_t logistic[256];
};
void qm_simd_out_fill(struct qm_simd_out *o, const struct qm_model *m);

/* qm_mul_by_quantized_multiplier for multiplier >= 0 in one rounding:
 * with P = x * multiplier (after the saturating left shift) and e the
 * right shift, gemmlowp's RoundingDivideByPOT(SRDHM(x, m), e) is
 * floor((P + 2^30 + [e > 0] (2^(30 + e) - [P < 0] 2^31)) / 2^(31 + e)):
 * SRDHM is floor((P + 2^30) / 2^31); RDBPOT is floor((y + 2^(e-1) -
 * [y < 0]) / 2^e), where [y < 0] may read [P < 0] (they differ only at
 * y = 0, which both round to 0); and floor((floor(a / p) + c) / q) =
 * floor((a + c p) / (p q)). |P + ...| < 2^63: no overflow. */
static inline int32_t
qm_simd_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
	int32_t e = shift > 0 ? 0 : -shift;
	int64_t p, r;

	if (shift > 0) {
		int64_t wide = (int64_t)x * ((int64_t)1 << shift);
		x = (int32_t)(wide > INT32_MAX ? INT32_MAX
					       : (wide < INT32_MIN ? INT32_MIN : wide));
	}
	p = (int64_t)x * multiplier;
	r = p + ((int64_t)1 << 30);
	if (e > 0)
		r += ((int64_t)1 << (30 + e)) - (p < 0 ? (int64_t)1 << 31 : 0);
	/* >> on a negative int64 is arithmetic (a floor) with GCC and Clang. */
	return (int32_t)(r >> (31 + e));
}

/* qm_output_eval, exactly, from the gathered terms. */
static inline void
qm_simd_output(const struct qm_simd_out *o, int32_t logit,
	       struct qm_result *out)
{
	int32_t q = qm_simd_mbqm(logit, o->mult, o->shift);

	q = q < -128 - o->zp ? -128 : (q > 127 - o->zp ? 127 : q + o->zp);
	out->logit = logit;
	out->decision = logit > 0;
	out->score = (uint8_t)(o->logistic[q + 128] + 128);
}

/* Bytes the variant's layout needs for m (prepared by qm_prepare). */
size_t qm_avx2_size(const struct qm_model *m);
size_t qm_avx512_size(const struct qm_model *m);

/* Pack m into arena (QM_SIMD_ALIGN-aligned, at least the size above):
 * the result is what m->packed points to. Plain C: runs on any CPU. */
void qm_avx2_pack(const struct qm_model *m, void *arena);
void qm_avx512_pack(const struct qm_model *m, void *arena);

/* Whether the avx512 variant evaluates m in its register pipeline:
 * n_features <= 8 -> n1 <= 128 -> n2 <= 16 -> 1, every shift -21..-1.
 * Other models take its layer-by-layer path. */
int qm_avx512_register_path(const struct qm_model *m);

#if QM_HAVE_X86_SIMD
/* The forward pass of a packed model; n_features already checked. */
void qm_avx2_predict(const struct qm_model *m, const int32_t *features,
		     int8_t *scratch, struct qm_result *out);
void qm_avx512_predict(const struct qm_model *m, const int32_t *features,
		       int8_t *scratch, struct qm_result *out);

/* The vector forms of fixedpoint.h, lane by lane over arrays of 8 (avx2)
 * or 16 (avx512) values, for the tests. srdhm needs b != INT32_MIN (the
 * kernels pass multipliers, which are >= 0); rdivpot takes exponents
 * 0..31; mbqm is qm_mul_by_quantized_multiplier with multipliers >= 0 and
 * shifts -31..30 (avx512: in the fused form of qm_simd_mbqm). */
void qm_avx2_srdhm(const int32_t *a, const int32_t *b, int32_t *out);
void qm_avx2_rdivpot(const int32_t *x, const int32_t *exponent, int32_t *out);
void qm_avx2_mbqm(const int32_t *x, const int32_t *multiplier,
		  const int32_t *shift, int32_t *out);
void qm_avx512_mbqm(const int32_t *x, const int32_t *multiplier,
		    const int32_t *shift, int32_t *out);
#endif

#endif
