/* AVX2 variant of the int8 core, bit-exact with the portable one.
 *
 * vpmaddubsw would saturate its int16 pair sums (255 * 127 * 2 > 32767),
 * so activations are widened to int16 and multiplied with vpmaddwd,
 * whose int32 pair sums are exact. Weights are packed as int16
 * [n_in / 2][n_out padded to 8][2]: one step broadcasts an input pair and
 * accumulates it into 8 output channels. The int16 activations need up to
 * twice QM_SCRATCH_BYTES, so they live on this variant's stack (4 KiB).
 */
#include <string.h>

#include "qm_simd_internal.h"

struct avx2_layer {
	uint32_t kp;     /* ceil(n_in / 2): input pairs */
	uint32_t groups; /* ceil(n_out / 8): vectors of 8 channels */
	int lshift;      /* some channel shifts left (and may saturate) */
	int32_t lo, hi;  /* act_min - output_zp, act_max - output_zp */
	int32_t zp;
	int16_t *w;      /* [kp][groups * 8][2] */
	int32_t *bias;   /* [groups * 8]: acc_bias */
	struct qm_simd_rq rq;
};

struct avx2_last {
	uint32_t n_in;
	int32_t bias;
	int16_t *w; /* [n_in rounded up to 16], zero padded */
};

struct avx2_model {
	struct qm_simd_out out;
	uint32_t n_features;
	uint32_t in_groups; /* ceil(n_features / 4): int64 vectors */
	uint32_t n_hidden;
	struct qm_simd_input in;
	struct avx2_layer layer[QM_MAX_LAYERS - 1];
	struct avx2_last last;
};

static struct avx2_model *
carve(const struct qm_model *m, struct qm_simd_bump *b,
      struct avx2_model *sizing)
{
	struct avx2_model *p = qm_simd_take(b, sizeof(*p));

	if (p == NULL)
		p = sizing;
	p->n_features = m->n_features;
	p->in_groups = qm_div_up(m->n_features, 4);
	p->n_hidden = m->n_layers - 1;
	qm_simd_input_carve(b, &p->in, (size_t)p->in_groups * 4);
	for (uint32_t i = 0; i < p->n_hidden; i++) {
		struct avx2_layer *L = &p->layer[i];
		size_t npad;
		L->kp = qm_div_up(m->layer[i].n_in, 2);
		L->groups = qm_div_up(m->layer[i].n_out, 8);
		npad = (size_t)L->groups * 8;
		L->w = qm_simd_take(b, (size_t)L->kp * npad * 2 * sizeof(int16_t));
		L->bias = qm_simd_take(b, npad * sizeof(int32_t));
		qm_simd_rq_carve(b, &L->rq, npad);
	}
	p->last.n_in = m->layer[p->n_hidden].n_in;
	p->last.w = qm_simd_take(b, (size_t)qm_div_up(p->last.n_in, 16) * 16 *
					    sizeof(int16_t));
	return p;
}

size_t
qm_avx2_size(const struct qm_model *m)
{
	struct qm_simd_bump b = {NULL, 0};
	struct avx2_model sizing;

	carve(m, &b, &sizing);
	return b.used;
}

static void
pack_layer(struct avx2_layer *L, const struct qm_layer *l)
{
	size_t npad = (size_t)L->groups * 8;
	uint32_t src[QM_MAX_WIDTH];

	memset(L->w, 0, (size_t)L->kp * npad * 2 * sizeof(int16_t));
	for (size_t c = 0; c < npad; c++) {
		for (uint32_t j = 0; c < l->n_out && j < l->n_in; j++)
			L->w[((j / 2) * npad + c) * 2 + j % 2] =
				l->weights[c * l->n_in + j];
		L->bias[c] = c < l->n_out ? l->acc_bias[c] : 0;
	}
	for (size_t pos = 0; pos < npad; pos++)
		src[pos] = (uint32_t)pos;
	L->lshift = qm_simd_rq_fill(&L->rq, l, src, npad);
	L->lo = l->act_min - l->output_zp;
	L->hi = l->act_max - l->output_zp;
	L->zp = l->output_zp;
}

static void
pack_last(struct avx2_last *L, const struct qm_layer *l)
{
	memset(L->w, 0, (size_t)qm_div_up(L->n_in, 16) * 16 * sizeof(int16_t));
	for (uint32_t j = 0; j < l->n_in; j++)
		L->w[j] = l->weights[j];
	L->bias = l->acc_bias[0];
}

void
qm_avx2_pack(const struct qm_model *m, void *arena)
{
	struct qm_simd_bump b = {arena, 0};
	struct avx2_model *p = carve(m, &b, NULL);

	qm_simd_out_fill(&p->out, m);
	qm_simd_input_fill(&p->in, m, (size_t)p->in_groups * 4);
	for (uint32_t i = 0; i < p->n_hidden; i++)
		pack_layer(&p->layer[i], &m->layer[i]);
	pack_last(&p->last, &m->layer[p->n_hidden]);
}

#if QM_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* gemmlowp's SaturatingRoundingDoublingHighMul is floor((a * b + 2^30) /
 * 2^31) but for a == b == INT32_MIN (see qm_avx512.c): bits 31..62 of the
 * 64-bit sum; vpmuldq multiplies even lanes, and odd ones from b_odd. */
INLINE __m256i
srdhm8(__m256i a, __m256i b, __m256i b_odd)
{
	const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
	__m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, b), nudge);
	__m256i odd = _mm256_add_epi64(
		_mm256_mul_epi32(_mm256_srli_epi64(a, 32), b_odd), nudge);

	return _mm256_blend_epi32(_mm256_srli_epi64(even, 31),
				  _mm256_slli_epi64(odd, 1), 0xAA);
}

/* gemmlowp's RoundingDivideByPOT (ties away from zero), as written there;
 * a true compare is -1, so subtracting it adds the rounding bit. */
INLINE __m256i
rdivpot8(__m256i x, __m256i e, __m256i mask, __m256i thr)
{
	__m256i q = _mm256_srav_epi32(x, e);
	__m256i rem = _mm256_and_si256(x, mask);
	__m256i t = _mm256_sub_epi32(thr, _mm256_srai_epi32(x, 31));

	return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, t));
}

/* x * 2^left saturated to int32, as qm_mul_by_quantized_multiplier. */
INLINE __m256i
lshift8(__m256i x, __m256i left, __m256i hi, __m256i lo)
{
	__m256i y = _mm256_sllv_epi32(x, left);

	y = _mm256_blendv_epi8(y, _mm256_set1_epi32(INT32_MAX),
			       _mm256_cmpgt_epi32(x, hi));
	return _mm256_blendv_epi8(y, _mm256_set1_epi32(INT32_MIN),
				  _mm256_cmpgt_epi32(lo, x));
}

/* qm_mul_by_quantized_multiplier on channels c .. c + 7. */
INLINE __m256i
mbqm8(__m256i x, const struct qm_simd_rq *rq, size_t c, int any_left)
{
	if (any_left)
		x = lshift8(x, _mm256_load_si256((const __m256i *)(rq->lshift + c)),
			    _mm256_load_si256((const __m256i *)(rq->sat_hi + c)),
			    _mm256_load_si256((const __m256i *)(rq->sat_lo + c)));
	x = srdhm8(x, _mm256_load_si256((const __m256i *)(rq->mult + c)),
		   _mm256_load_si256((const __m256i *)(rq->mult_odd + c)));
	return rdivpot8(x, _mm256_load_si256((const __m256i *)(rq->rshift + c)),
			_mm256_load_si256((const __m256i *)(rq->mask + c)),
			_mm256_load_si256((const __m256i *)(rq->thr + c)));
}

/* Requantizes group g into int16 activations; clamping before adding the
 * zero point equals the portable order and cannot overflow. */
INLINE void
requant_store(const struct avx2_layer *L, uint32_t g, __m256i acc,
	      int16_t *out)
{
	size_t c = (size_t)g * 8;
	__m256i v = mbqm8(acc, &L->rq, c, L->lshift);

	v = _mm256_min_epi32(v, _mm256_set1_epi32(L->hi));
	v = _mm256_max_epi32(v, _mm256_set1_epi32(L->lo));
	v = _mm256_add_epi32(v, _mm256_set1_epi32(L->zp));
	_mm_storeu_si128((__m128i *)(out + c),
			 _mm_packs_epi32(_mm256_castsi256_si128(v),
					 _mm256_extracti128_si256(v, 1)));
}

INLINE int32_t
load_pair(const int16_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* C groups of 8 channels from g0, input pairs dealt round S accumulator
 * sets (C * S = 8). int32 sums wrap; the final one fits. */
INLINE void
dense_chunk(const struct avx2_layer *L, const int16_t *in, int16_t *out,
	    uint32_t g0, const int C, const int S)
{
	const size_t kstride = (size_t)L->groups * 16;
	const int16_t *w = L->w + (size_t)g0 * 16;
	__m256i acc[8];
	uint32_t k = 0;

#pragma GCC unroll 8
	for (int a = 0; a < C * S; a++)
		acc[a] = a < C ? _mm256_load_si256((const __m256i *)(L->bias +
								     (size_t)(g0 + a) * 8))
			       : _mm256_setzero_si256();
	for (; k + S <= L->kp; k += S) {
#pragma GCC unroll 8
		for (int s = 0; s < S; s++) {
			__m256i x = _mm256_set1_epi32(load_pair(in + 2 * (k + s)));
			const int16_t *ws = w + (k + s) * kstride;
#pragma GCC unroll 8
			for (int c = 0; c < C; c++)
				acc[s * C + c] = _mm256_add_epi32(
					acc[s * C + c],
					_mm256_madd_epi16(x, _mm256_load_si256(
								     (const __m256i *)(ws + c * 16))));
		}
	}
	for (; k < L->kp; k++) {
		__m256i x = _mm256_set1_epi32(load_pair(in + 2 * k));
#pragma GCC unroll 8
		for (int c = 0; c < C; c++)
			acc[c] = _mm256_add_epi32(
				acc[c], _mm256_madd_epi16(x, _mm256_load_si256(
								     (const __m256i *)(w + k * kstride +
										       c * 16))));
	}
#pragma GCC unroll 8
	for (int a = C; a < C * S; a++)
		acc[a % C] = _mm256_add_epi32(acc[a % C], acc[a]);
#pragma GCC unroll 8
	for (int c = 0; c < C; c++)
		requant_store(L, g0 + c, acc[c], out);
}

static TARGET void
dense(const struct avx2_layer *L, const int16_t *in, int16_t *out)
{
	uint32_t g = 0;

	for (; g + 8 <= L->groups; g += 8)
		dense_chunk(L, in, out, g, 8, 1);
	if (g + 4 <= L->groups) {
		dense_chunk(L, in, out, g, 4, 2);
		g += 4;
	}
	if (g + 2 <= L->groups) {
		dense_chunk(L, in, out, g, 2, 4);
		g += 2;
	}
	if (g < L->groups)
		dense_chunk(L, in, out, g, 1, 8);
}

/* AVX2 has no vpsravq: shift the one's complement of negative lanes
 * logically and complement back, which floors as >> does. */
INLINE __m256i
sra64(__m256i v, __m256i s)
{
	__m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);

	return _mm256_xor_si256(
		_mm256_srlv_epi64(_mm256_xor_si256(v, sign), s), sign);
}

/* q = clamp((x * mul + add) >> shift, -128, 127), 4 features at a time
 * in int64 lanes; vpmuldq is exact since mul is 0 .. 2^31 - 1. */
static TARGET void
input_eval(const struct avx2_model *p, const int32_t *features, int16_t *out)
{
	const __m256i lo = _mm256_set1_epi64x(-128), hi = _mm256_set1_epi64x(127);
	const __m256i low_dwords = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);

	for (uint32_t g = 0; g < p->in_groups; g++) {
		__m128i load = _mm_cmpgt_epi32(
			_mm_set1_epi32((int32_t)(p->n_features - 4 * g)),
			_mm_setr_epi32(0, 1, 2, 3));
		__m256i x = _mm256_cvtepi32_epi64(
			_mm_maskload_epi32(features + 4 * g, load));
		__m256i v = _mm256_mul_epi32(
			x, _mm256_load_si256((const __m256i *)(p->in.mul + 4 * g)));
		__m128i q;

		v = _mm256_add_epi64(
			v, _mm256_load_si256((const __m256i *)(p->in.add + 4 * g)));
		v = sra64(v, _mm256_load_si256((const __m256i *)(p->in.shift + 4 * g)));
		v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
		v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
		q = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, low_dwords));
		_mm_storel_epi64((__m128i *)(out + 4 * g), _mm_packs_epi32(q, q));
	}
	/* whole 8-lane groups, as the dense layers write them */
	if (p->in_groups % 2)
		_mm_storel_epi64((__m128i *)(out + 4 * p->in_groups), _mm_setzero_si128());
}

/* The last layer's int32 accumulator. Loads match the 16-byte stores of
 * the step before, so that they forward from the store queue; the
 * weights are zero past n_in, and every step writes whole 8-lane groups. */
static TARGET int32_t
last_acc(const struct avx2_last *L, const int16_t *in)
{
	__m128i acc = _mm_setzero_si128();

	for (uint32_t off = 0; off < L->n_in; off += 8)
		acc = _mm_add_epi32(
			acc, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(in + off)),
					    _mm_load_si128((const __m128i *)(L->w + off))));
	acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4E));
	acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xB1));
	return L->bias + _mm_cvtsi128_si32(acc);
}

TARGET void
qm_avx2_predict(const struct qm_model *m, const int32_t *features,
		int8_t *scratch, struct qm_result *out)
{
	const struct avx2_model *p = m->packed;
	int16_t buf[2][QM_MAX_WIDTH] __attribute__((aligned(32)));
	int16_t *a = buf[0], *b = buf[1];

	(void)scratch;
	input_eval(p, features, a);
	for (uint32_t i = 0; i < p->n_hidden; i++) {
		int16_t *t;
		dense(&p->layer[i], a, b);
		t = a;
		a = b;
		b = t;
	}
	qm_simd_output(&p->out, last_acc(&p->last, a), out);
}

TARGET void
qm_avx2_srdhm(const int32_t *a, const int32_t *b, int32_t *out)
{
	__m256i vb = _mm256_loadu_si256((const __m256i *)b);

	_mm256_storeu_si256((__m256i *)out,
			    srdhm8(_mm256_loadu_si256((const __m256i *)a), vb,
				   _mm256_srli_epi64(vb, 32)));
}

TARGET void
qm_avx2_rdivpot(const int32_t *x, const int32_t *exponent, int32_t *out)
{
	__m256i e = _mm256_loadu_si256((const __m256i *)exponent);
	__m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), e),
					_mm256_set1_epi32(1));

	_mm256_storeu_si256((__m256i *)out,
			    rdivpot8(_mm256_loadu_si256((const __m256i *)x), e, mask,
				     _mm256_srli_epi32(mask, 1)));
}

TARGET void
qm_avx2_mbqm(const int32_t *x, const int32_t *multiplier, const int32_t *shift,
	     int32_t *out)
{
	int32_t terms[8][8] __attribute__((aligned(32)));
	int64_t fused[6][4];
	struct qm_simd_rq rq = {terms[0], terms[1], terms[2], terms[3],
				terms[4], terms[5], terms[6], terms[7],
				fused[0], fused[1], fused[2], fused[3],
				fused[4], fused[5]};
	static const uint32_t src[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct qm_layer l = {.n_out = 8, .multiplier = multiplier, .shift = shift};
	int any_left = qm_simd_rq_fill(&rq, &l, src, 8);

	_mm256_storeu_si256((__m256i *)out,
			    mbqm8(_mm256_loadu_si256((const __m256i *)x), &rq, 0,
				  any_left));
}
#endif
