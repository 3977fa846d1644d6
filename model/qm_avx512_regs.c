/* The register pipeline of the AVX-512 VNNI variant (qm_avx512.c).
 *
 * Networks of FlashNet's shape, n_features <= 8 -> n1 <= 128 -> n2 <= 16
 * -> 1, evaluate in registers from the input map to the logit: no layer
 * stores its activations for the next to reload, so that the chain of
 * dependent instructions, which sets the time of one prediction, is only
 * the arithmetic. Every layer must shift right by 1 to SMALL_EMAX bits,
 * which lets the kernel fold zero points into rounding constants (see
 * struct small_rq); other models take the layer-by-layer path.
 */
#include <string.h>

#include "qm_avx512_internal.h"

#define SMALL_IN 8
#define SMALL_N1 128
#define SMALL_N2 16
#define SMALL_EMAX 21

/* Requantization of 16 lanes with vpmuldq, which multiplies the even
 * dwords: [0] holds the even lanes' terms, [1] the odd lanes'. With e the
 * right shift, P = x * multiplier and off = output_zp - act_min, a lane's
 * value u = q - act_min before clamping is
 *   floor((P + 2^30 + 2^(30 + e) - [x < 0] 2^31) / 2^(31 + e)) + off,
 * qm_simd_mbqm's single rounding with two changes. The offset moves
 * inside: floor(y / 2^k) + off = floor((y + off 2^k) / 2^k), and |off|
 * 2^(31 + e) <= 2^60 keeps the sum inside int64 (|P| < 2^62). The sign
 * term reads x instead of P: they have the same sign unless the multiplier
 * is 0, and then P = 0 and the term leaves the result at off, since
 * 0 <= 2^30 + 2^(30 + e) - 2^31 < 2^(31 + e) for e >= 1. */
struct small_rq {
	int32_t mult[2][16]; /* dword 2i: the multiplier of lane 2i (+ 1) */
	int64_t rnd[2][8];   /* 2^30 + 2^(30 + e) + off 2^(31 + e) */
	int64_t sh[2][8];    /* 31 + e: layer 1, whose halves stay apart */
	int32_t hsh[16];     /* e - 1: layer 0, after taking high dwords */
} __attribute__((aligned(64)));

/* Weights are laid out for vpdpbusd ([dword of input][lane][4 bytes]),
 * activations u = q - act_min of the layer before (uint8; the input map's
 * act_min is -128), and biases take acc_bias + act_min * sum(w) so that
 * the products need no zero point. Arrays read by whole vectors are
 * aligned to them (the arena is aligned to QM_SIMD_ALIGN). */
struct avx512_small {
	/* The input map of features 0, 2, 4, 6 ([0]) and 1, 3, 5, 7 ([1]),
	 * which vpmuldq reads from the even and the odd dwords: layer 0 sees
	 * the features in the order 0, 2, 4, 6, 1, 3, 5, 7. */
	int64_t in_mul[2][4] __attribute__((aligned(32)));
	int64_t in_add[2][4] __attribute__((aligned(32)));
	int64_t in_shift[2][4] __attribute__((aligned(32)));
	/* Layer 0, in groups of 16 channels whose lanes follow the byte order
	 * of the saturating packs (channel_at), so that the packed bytes come
	 * out in channel order. */
	int8_t w0[2][SMALL_N1 / 16][64] __attribute__((aligned(64)));
	int32_t b0[SMALL_N1 / 16][16] __attribute__((aligned(64)));
	struct small_rq rq0[SMALL_N1 / 16];
	int8_t w1[SMALL_N1 / 4][64] __attribute__((aligned(64)));
	int32_t b1[16] __attribute__((aligned(64)));
	struct small_rq rq1;
	/* The last layer over layer 1's even ([0]) and odd ([1]) lanes, bias
	 * in dword 0, and its requantization in int64 with output_zp + 128
	 * folded into rnd2 as off is above. */
	int8_t w2[2][16] __attribute__((aligned(16)));
	int32_t b2[4] __attribute__((aligned(16)));
	int64_t m2, rnd2, sh2;
	uint8_t score[256]; /* logistic + 128, by q + 128 */
	uint8_t hi0, hi1;   /* act_max - act_min of layers 0 and 1 */
};

static int
small_shifts_fit(const struct qm_layer *l)
{
	for (uint32_t c = 0; c < l->n_out; c++)
		if (l->shift[c] > -1 || l->shift[c] < -SMALL_EMAX)
			return 0;
	return 1;
}

int
qm_avx512_register_path(const struct qm_model *m)
{
	return m->n_layers == 3 && m->n_features <= SMALL_IN &&
	       m->layer[0].n_out <= SMALL_N1 && m->layer[1].n_out <= SMALL_N2 &&
	       small_shifts_fit(&m->layer[0]) && small_shifts_fit(&m->layer[1]) &&
	       small_shifts_fit(&m->layer[2]);
}


/* 2^30 + 2^(30 + e) + off 2^(31 + e), the rounding constant with the
 * offset folded in (struct small_rq). */
static int64_t
small_rnd(int32_t e, int32_t off)
{
	return ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) +
	       off * ((int64_t)1 << (31 + e));
}

/* The terms of lane `lane`, which holds channel c; padding lanes (c >=
 * n_out) get multiplier 0, so their value is off. */
static void
small_rq_set(struct small_rq *q, const struct qm_layer *l, uint32_t lane,
	     uint32_t c)
{
	int32_t e = c < l->n_out ? -l->shift[c] : 1;
	uint32_t h = lane % 2, i = lane / 2;

	q->mult[h][2 * i] = c < l->n_out ? l->multiplier[c] : 0;
	q->rnd[h][i] = small_rnd(e, l->output_zp - l->act_min);
	q->sh[h][i] = 31 + e;
	q->hsh[lane] = e - 1;
}

size_t
qm_avx512_regs_size(void)
{
	return sizeof(struct avx512_small);
}

void
qm_avx512_regs_pack(struct avx512_small *S, const struct qm_model *m)
{
	const struct qm_layer *l0 = &m->layer[0], *l1 = &m->layer[1];
	const struct qm_layer *l2 = &m->layer[2];
	int32_t e2 = -l2->shift[0];

	memset(S, 0, sizeof(*S));
	for (uint32_t j = 0; j < m->n_features; j++) {
		S->in_mul[j % 2][j / 2] = m->input.mul[j];
		S->in_add[j % 2][j / 2] = m->input.add[j];
		S->in_shift[j % 2][j / 2] = m->input.shift[j];
	}
	for (uint32_t g = 0; g < SMALL_N1 / 16; g++)
		for (uint32_t lane = 0; lane < 16; lane++) {
			uint32_t c = qm_avx512_pack_channel(g, lane);
			for (uint32_t j = 0; c < l0->n_out && j < l0->n_in; j++)
				S->w0[j % 2][g][lane * 4 + j / 2] =
					l0->weights[(size_t)c * l0->n_in + j];
			S->b0[g][lane] = qm_avx512_bias(l0, c, -128);
			small_rq_set(&S->rq0[g], l0, lane, c);
		}
	for (uint32_t c = 0; c < SMALL_N2; c++) {
		for (uint32_t j = 0; c < l1->n_out && j < l1->n_in; j++)
			S->w1[j / 4][c * 4 + j % 4] = l1->weights[(size_t)c * l1->n_in + j];
		S->b1[c] = qm_avx512_bias(l1, c, l0->act_min);
		small_rq_set(&S->rq1, l1, c, c);
	}
	for (uint32_t c = 0; c < l2->n_in; c++)
		S->w2[c % 2][c / 2] = l2->weights[c];
	S->b2[0] = qm_avx512_bias(l2, 0, l1->act_min);
	S->m2 = l2->multiplier[0];
	S->rnd2 = small_rnd(e2, l2->output_zp + 128);
	S->sh2 = 31 + e2;
	for (int q = 0; q < 256; q++)
		S->score[q] = (uint8_t)(m->logistic[q] + 128);
	S->hi0 = (uint8_t)(l0->act_max - l0->act_min);
	S->hi1 = (uint8_t)(l1->act_max - l1->act_min);
}

#if QM_HAVE_X86_SIMD
/* --- evaluation ------------------------------------------------------- */

INLINE __m512i
load512(const void *p)
{
	return _mm512_load_si512(p);
}

/* P + rnd - [x < 0] 2^31 on int64 lanes, for the accumulators x in the
 * even dwords of acc (struct small_rq). The sign term comes from x, not
 * P, to stay off the multiply's latency. */
INLINE __m512i
small_sum(__m512i acc, const int32_t *mult, const int64_t *rnd)
{
	__m512i p = _mm512_mul_epi32(acc, load512(mult));
	__m512i sign = _mm512_and_si512(acc, _mm512_set1_epi64((int64_t)1 << 31));

	return _mm512_add_epi64(p, _mm512_sub_epi64(load512(rnd), sign));
}

/* Requantized values u (before clamping) of 16 lanes as int32. With the
 * shift 31 + e >= 32, floor(Y / 2^(31 + e)) = floor(floor(Y / 2^32) /
 * 2^(e - 1)), and floor(Y / 2^32) is Y's high dword: one dword shift after
 * gathering the high dwords, instead of one int64 shift per half. */
INLINE __m512i
small_rq16(__m512i acc, const struct small_rq *q)
{
	__m512i even = small_sum(acc, q->mult[0], q->rnd[0]);
	__m512i odd = small_sum(_mm512_srli_epi64(acc, 32), q->mult[1], q->rnd[1]);
	__m512i high = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);

	return _mm512_srav_epi32(high, load512(q->hsh));
}

/* One half h of the features (x in the even dwords) through the input
 * map, to four bytes q + 128 in dword 0: vpmovsqb saturates to the int8
 * clamp, and q ^ -128 is q + 128 as uint8. */
INLINE __m128i
small_input(__m256i x, const struct avx512_small *S, int h)
{
	__m256i v = _mm256_mul_epi32(x, _mm256_load_si256((const __m256i *)S->in_mul[h]));

	v = _mm256_add_epi64(v, _mm256_load_si256((const __m256i *)S->in_add[h]));
	v = _mm256_srav_epi64(v, _mm256_load_si256((const __m256i *)S->in_shift[h]));
	return _mm_xor_si128(_mm256_cvtsepi64_epi8(v), _mm_set1_epi8(-128));
}

/* Layer 0's groups 4k .. 4k + 3 as 64 bytes u in channel order: the
 * saturating packs clamp to [0, 255], then to act_max - act_min. */
INLINE __m512i
small_layer0(const struct avx512_small *S, uint32_t k, __m512i x0, __m512i x1)
{
	__m512i v[4], u;

#pragma GCC unroll 4
	for (uint32_t t = 0; t < 4; t++) {
		uint32_t g = 4 * k + t;
		__m512i acc = _mm512_dpbusd_epi32(load512(S->b0[g]), x0,
						  load512(S->w0[0][g]));
		acc = _mm512_dpbusd_epi32(acc, x1, load512(S->w0[1][g]));
		v[t] = small_rq16(acc, &S->rq0[g]);
	}
	u = _mm512_packus_epi16(_mm512_packs_epi32(v[0], v[1]),
				_mm512_packs_epi32(v[2], v[3]));
	if (S->hi0 != 255)
		u = _mm512_min_epu8(u, _mm512_set1_epi8((char)S->hi0));
	return u;
}

/* Broadcasts 128-bit lane k (0..3) of x to all four lanes. The
 * shuffles take immediates: a switch keeps them constant at any
 * optimisation level (sanitizer builds do not unroll), and folds away
 * once the loops below are unrolled. */
INLINE __m512i
lane_bcast(__m512i x, int k)
{
	switch (k & 3) {
	case 0:
		return _mm512_shuffle_i32x4(x, x, 0x00);
	case 1:
		return _mm512_shuffle_i32x4(x, x, 0x55);
	case 2:
		return _mm512_shuffle_i32x4(x, x, 0xaa);
	default:
		return _mm512_shuffle_i32x4(x, x, 0xff);
	}
}

/* Broadcasts dword k (0..3) of each 128-bit lane within that lane. */
INLINE __m512i
dword_bcast(__m512i x, int k)
{
	switch (k & 3) {
	case 0:
		return _mm512_shuffle_epi32(x, _MM_PERM_AAAA);
	case 1:
		return _mm512_shuffle_epi32(x, _MM_PERM_BBBB);
	case 2:
		return _mm512_shuffle_epi32(x, _MM_PERM_CCCC);
	default:
		return _mm512_shuffle_epi32(x, _MM_PERM_DDDD);
	}
}

/* Layer 1's accumulators: each dword of u (four channels) broadcast to
 * the 16 lanes by a 128-bit lane broadcast and vpshufd (in-lane, off the
 * multiply ports that vpdpbusd needs), dealt round 8 chains. */
INLINE __m512i
small_layer1(const struct avx512_small *S, const __m512i *u)
{
	__m512i lanes[8], acc[8];

#pragma GCC unroll 8
	for (int i = 0; i < 8; i++) {
		lanes[i] = lane_bcast(u[i / 4], i % 4);
		acc[i] = i == 0 ? load512(S->b1) : _mm512_setzero_si512();
	}
#pragma GCC unroll 32
	for (int d = 0; d < SMALL_N1 / 4; d++) {
		__m512i x = dword_bcast(lanes[d / 4], d % 4);
		acc[d % 8] = _mm512_dpbusd_epi32(acc[d % 8], x, load512(S->w1[d]));
	}
#pragma GCC unroll 3
	for (int h = 4; h > 0; h /= 2)
#pragma GCC unroll 4
		for (int a = 0; a < h; a++)
			acc[a] = _mm512_add_epi32(acc[a], acc[a + h]);
	return acc[0];
}

/* One half of layer 1 requantized and clamped to eight bytes u. */
INLINE __m128i
small_layer1_half(const struct avx512_small *S, __m512i acc, int h)
{
	__m512i v = small_sum(acc, S->rq1.mult[h], S->rq1.rnd[h]);
	__m128i u;

	v = _mm512_srav_epi64(v, load512(S->rq1.sh[h]));
	u = _mm512_cvtusepi64_epi8(_mm512_max_epi64(v, _mm512_setzero_si512()));
	if (S->hi1 != 255)
		u = _mm_min_epu8(u, _mm_set1_epi8((char)S->hi1));
	return u;
}

/* qm_output_eval from the last layer's accumulator: the requantization
 * gives q + 128 directly (struct avx512_small), which fits int32 (a shift
 * of at least 32 bits of an int64). Clamping it as int32 keeps GCC from
 * moving the clamp to vector registers and back. */
static inline void
small_output(const struct avx512_small *S, int32_t logit, struct qm_result *out)
{
	int64_t sign = (uint32_t)logit & 0x80000000u;
	int32_t q = (int32_t)(((int64_t)logit * S->m2 + S->rnd2 - sign) >> S->sh2);

	out->logit = logit;
	out->decision = logit > 0;
	out->score = S->score[q < 0 ? 0 : (q > 255 ? 255 : q)];
}

TARGET void
qm_avx512_regs_predict(const struct avx512_small *S, uint32_t n_features,
		       const int32_t *features, struct qm_result *out)
{
	__mmask8 k = (__mmask8)((1u << n_features) - 1);
	__m256i f = _mm256_maskz_loadu_epi32(k, features);
	__m512i x0 = _mm512_broadcastd_epi32(small_input(f, S, 0));
	__m512i x1 = _mm512_broadcastd_epi32(
		small_input(_mm256_srli_epi64(f, 32), S, 1));
	__m512i u[2], acc;
	__m128i dot;
	uint64_t two;

	u[0] = small_layer0(S, 0, x0, x1);
	u[1] = small_layer0(S, 1, x0, x1);
	acc = small_layer1(S, u);
	/* The last layer over both halves of layer 1, without merging them:
	 * its two dwords hold the sums over bytes 0..3 and 4..7. */
	dot = _mm_add_epi32(
		_mm_dpbusd_epi32(_mm_load_si128((const __m128i *)S->b2),
				 small_layer1_half(S, acc, 0),
				 _mm_load_si128((const __m128i *)S->w2[0])),
		_mm_dpbusd_epi32(_mm_setzero_si128(),
				 small_layer1_half(S, _mm512_srli_epi64(acc, 32), 1),
				 _mm_load_si128((const __m128i *)S->w2[1])));
	two = (uint64_t)_mm_cvtsi128_si64(dot);
	small_output(S, (int32_t)((uint32_t)two + (uint32_t)(two >> 32)), out);
}
#endif
