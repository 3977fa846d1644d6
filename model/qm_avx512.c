/* AVX-512 VNNI variant of the int8 core, bit-exact with the portable one.
 *
 * Activations travel as u = q + 128 (uint8) so that vpdpbusd (u8 x s8,
 * four products summed into each int32 lane) applies; the 128 * sum(w)
 * this adds is taken out of the bias at pack time. Weights are packed as
 * [n_in / 4][n_out padded to 16][4]: one step broadcasts four input bytes
 * and accumulates them into 16 output channels. Requantization (gemmlowp's
 * fixedpoint.h, as TFLite uses it) runs on 16 channels at a time, in the
 * single-rounding form of qm_simd_mbqm. Blocks of 64 channels are stored
 * with saturating packs, whose lane order the pack step undoes by laying
 * the channels out in the order the packs interleave them.
 *
 * Networks of FlashNet's shape take a pipeline that keeps activations in
 * registers from the input map to the logit (qm_avx512_regs.c); the
 * layer-by-layer path here serves every other model.
 */
#include <string.h>

#include "qm_avx512_internal.h"

struct avx512_layer {
	uint32_t k4;     /* ceil(n_in / 4): input steps of four bytes */
	uint32_t groups; /* ceil(n_out / 16): vectors of 16 channels */
	uint32_t blocked; /* groups stored by packs: a multiple of 4 */
	int lshift;      /* some channel shifts left (and may saturate) */
	int32_t lo, hi;  /* act_min - output_zp, act_max - output_zp */
	int32_t zp_u8;   /* output_zp + 128: the next layer's uint8 form */
	int32_t zp;
	int32_t act_min, act_max;
	int8_t *w;       /* [k4][groups * 16][4] */
	int32_t *bias;   /* [groups * 16]: acc_bias - 128 * sum(w) */
	struct qm_simd_rq rq;
};

/* The last layer has one output: a dot product, folded into the
 * requantization of the layer before when there is one (no store and
 * reload of its activations), else over the input map's 16-byte groups. */
struct avx512_last {
	uint32_t n_in;
	int32_t bias; /* acc_bias - 128 * sum(w) */
	int8_t *w;    /* [n_in rounded up to 64], zero padded */
	int32_t *w32; /* w widened, for the groups not stored by packs */
};

struct avx512_model {
	struct qm_simd_out out;
	struct avx512_small *small; /* the register pipeline, or NULL */
	uint32_t n_features;
	uint32_t in_groups; /* ceil(n_features / 8): int64 vectors */
	uint32_t n_hidden;
	struct qm_simd_input in;
	struct avx512_layer layer[QM_MAX_LAYERS - 1];
	struct avx512_last last;
};

/* Sizing pass when b->base is NULL: the pointers stay NULL. */
static struct avx512_model *
carve(const struct qm_model *m, struct qm_simd_bump *b,
      struct avx512_model *sizing)
{
	struct avx512_model *p = qm_simd_take(b, sizeof(*p));

	if (p == NULL)
		p = sizing;
	p->n_features = m->n_features;
	p->in_groups = qm_div_up(m->n_features, 8);
	p->n_hidden = m->n_layers - 1;
	qm_simd_input_carve(b, &p->in, (size_t)p->in_groups * 8);
	for (uint32_t i = 0; i < p->n_hidden; i++) {
		struct avx512_layer *L = &p->layer[i];
		size_t npad;
		L->k4 = qm_div_up(m->layer[i].n_in, 4);
		L->groups = qm_div_up(m->layer[i].n_out, 16);
		L->blocked = L->groups / 4 * 4;
		npad = (size_t)L->groups * 16;
		L->w = qm_simd_take(b, (size_t)L->k4 * npad * 4);
		L->bias = qm_simd_take(b, npad * sizeof(int32_t));
		qm_simd_rq_carve(b, &L->rq, npad);
	}
	p->last.n_in = m->layer[p->n_hidden].n_in;
	p->last.w = qm_simd_take(b, (size_t)qm_div_up(p->last.n_in, 64) * 64);
	p->last.w32 = qm_simd_take(b, (size_t)qm_div_up(p->last.n_in, 64) * 64 *
					      sizeof(int32_t));
	p->small = qm_avx512_register_path(m)
			   ? qm_simd_take(b, qm_avx512_regs_size()) : NULL;
	return p;
}

size_t
qm_avx512_size(const struct qm_model *m)
{
	struct qm_simd_bump b = {NULL, 0};
	struct avx512_model sizing;

	carve(m, &b, &sizing);
	return b.used;
}

/* The layer's channel at packed position pos: blocks of 64 channels in
 * the order their packing stores them (qm_avx512_pack_channel), the rest
 * in order. */
static uint32_t
channel_at(const struct avx512_layer *L, size_t pos)
{
	size_t g = pos / 16, lane = pos % 16;

	if (g >= L->blocked)
		return (uint32_t)pos;
	return qm_avx512_pack_channel(g, lane);
}

static void
pack_layer(struct avx512_layer *L, const struct qm_layer *l)
{
	size_t npad = (size_t)L->groups * 16;
	uint32_t src[QM_MAX_WIDTH];

	memset(L->w, 0, (size_t)L->k4 * npad * 4);
	for (size_t pos = 0; pos < npad; pos++) {
		uint32_t c = src[pos] = channel_at(L, pos);
		for (uint32_t j = 0; c < l->n_out && j < l->n_in; j++)
			L->w[((j / 4) * npad + pos) * 4 + j % 4] =
				l->weights[(size_t)c * l->n_in + j];
		L->bias[pos] = qm_avx512_bias(l, c, -128);
	}
	L->lshift = qm_simd_rq_fill(&L->rq, l, src, npad);
	L->lo = l->act_min - l->output_zp;
	L->hi = l->act_max - l->output_zp;
	L->zp_u8 = l->output_zp + 128;
	L->zp = l->output_zp;
	L->act_min = l->act_min;
	L->act_max = l->act_max;
}

static void
pack_last(struct avx512_last *L, const struct qm_layer *l)
{
	memset(L->w, 0, (size_t)qm_div_up(L->n_in, 64) * 64);
	memset(L->w32, 0, (size_t)qm_div_up(L->n_in, 64) * 64 * sizeof(int32_t));
	for (uint32_t j = 0; j < l->n_in; j++) {
		L->w[j] = l->weights[j];
		L->w32[j] = l->weights[j];
	}
	L->bias = qm_avx512_bias(l, 0, -128);
}

void
qm_avx512_pack(const struct qm_model *m, void *arena)
{
	struct qm_simd_bump b = {arena, 0};
	struct avx512_model *p = carve(m, &b, NULL);

	qm_simd_out_fill(&p->out, m);
	qm_simd_input_fill(&p->in, m, (size_t)p->in_groups * 8);
	for (uint32_t i = 0; i < p->n_hidden; i++)
		pack_layer(&p->layer[i], &m->layer[i]);
	pack_last(&p->last, &m->layer[p->n_hidden]);
	if (p->small)
		qm_avx512_regs_pack(p->small, m);
}

#if QM_HAVE_X86_SIMD
/* x * 2^left saturated to int32, as qm_mul_by_quantized_multiplier does
 * before its multiply (TFLite leaves the overflow undefined). */
INLINE __m512i
lshift16(__m512i x, __m512i left, __m512i hi, __m512i lo)
{
	__m512i y = _mm512_sllv_epi32(x, left);

	y = _mm512_mask_mov_epi32(y, _mm512_cmpgt_epi32_mask(x, hi),
				  _mm512_set1_epi32(INT32_MAX));
	return _mm512_mask_mov_epi32(y, _mm512_cmplt_epi32_mask(x, lo),
				     _mm512_set1_epi32(INT32_MIN));
}

/* floor((P + rnd - [P < 0] corr) / 2^sh) on the int64 products P of the
 * accumulators x in the even dwords of acc. corr is 2^31 or 0, so x & corr
 * is [x < 0] corr; that equals [P < 0] corr, since P = x * m has x's sign
 * unless m = 0, and then the term does not change the result (2^30 +
 * 2^(30 + e) - 2^31 is in [0, 2^(31 + e))). Reading the sign from x
 * keeps it off the multiply's latency and out of the mask registers. */
INLINE __m512i
round_shift(__m512i p, __m512i acc, const int64_t *rnd, const int64_t *corr,
	    const int64_t *sh)
{
	__m512i r = _mm512_add_epi64(p, _mm512_load_si512(rnd));

	r = _mm512_sub_epi64(r, _mm512_and_si512(acc, _mm512_load_si512(corr)));
	return _mm512_srav_epi64(r, _mm512_load_si512(sh));
}

/* qm_mul_by_quantized_multiplier on positions c .. c + 15, as
 * qm_simd_mbqm: one exact rounding of the int64 product. vpmuldq
 * multiplies the even lanes, and the odd ones shifted down; vpshufd puts
 * the odd results back in the odd lanes. */
INLINE __m512i
mbqm16(__m512i x, const struct qm_simd_rq *rq, size_t c, int any_left)
{
	size_t h = c / 2;
	__m512i even, odd, x_odd;

	if (any_left)
		x = lshift16(x, _mm512_load_si512(rq->lshift + c),
			     _mm512_load_si512(rq->sat_hi + c),
			     _mm512_load_si512(rq->sat_lo + c));
	x_odd = _mm512_srli_epi64(x, 32);
	even = _mm512_mul_epi32(x, _mm512_load_si512(rq->mult + c));
	odd = _mm512_mul_epi32(x_odd, _mm512_load_si512(rq->mult_odd + c));
	even = round_shift(even, x, rq->rnd_even + h, rq->corr_even + h,
			   rq->sh_even + h);
	odd = round_shift(odd, x_odd, rq->rnd_odd + h, rq->corr_odd + h,
			  rq->sh_odd + h);
	return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
}

/* Requantizes group g and stores it as uint8 q + 128. Clamping before
 * adding the zero point equals clamping after it in 64 bits (the
 * portable core's order) and cannot overflow. */
INLINE void
requant_store(const struct avx512_layer *L, uint32_t g, __m512i acc,
	      uint8_t *out, const struct avx512_last *last, __m512i *logit)
{
	size_t c = (size_t)g * 16;
	__m512i v = mbqm16(acc, &L->rq, c, L->lshift);

	v = _mm512_min_epi32(v, _mm512_set1_epi32(L->hi));
	v = _mm512_max_epi32(v, _mm512_set1_epi32(L->lo));
	v = _mm512_add_epi32(v, _mm512_set1_epi32(L->zp_u8));
	if (logit) /* u8 in byte 0 of each lane, times the weight there */
		*logit = _mm512_dpbusd_epi32(*logit, v,
					     _mm512_load_si512(last->w32 + c));
	else
		_mm_storeu_si128((__m128i *)(out + c), _mm512_cvtepi32_epi8(v));
}

/* Requantizes the block of groups g .. g + 3 and stores its 64 channels
 * in order. The saturating packs clamp to int16 then int8, which with
 * the zero point added in between by a saturating add equals
 * clamp(v + zp, -128, 127): a value clipped to int16 stays outside int8
 * after adding |zp| <= 128. Then the activation range, and q + 128. */
INLINE void
requant_store_block(const struct avx512_layer *L, uint32_t g, const __m512i *acc,
		    uint8_t *out, const struct avx512_last *last, __m512i *logit)
{
	size_t c = (size_t)g * 16;
	const __m512i zp = _mm512_set1_epi16((int16_t)L->zp);
	__m512i v[4], ab, cd, q;

#pragma GCC unroll 4
	for (int t = 0; t < 4; t++)
		v[t] = mbqm16(acc[t], &L->rq, c + 16 * (size_t)t, L->lshift);
	ab = _mm512_adds_epi16(_mm512_packs_epi32(v[0], v[1]), zp);
	cd = _mm512_adds_epi16(_mm512_packs_epi32(v[2], v[3]), zp);
	q = _mm512_packs_epi16(ab, cd);
	q = _mm512_max_epi8(q, _mm512_set1_epi8((int8_t)L->act_min));
	q = _mm512_min_epi8(q, _mm512_set1_epi8((int8_t)L->act_max));
	q = _mm512_xor_si512(q, _mm512_set1_epi8(-128));
	if (logit)
		*logit = _mm512_dpbusd_epi32(*logit, q, _mm512_load_si512(last->w + c));
	else
		_mm512_storeu_si512(out + c, q);
}

INLINE int32_t
load32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* C groups of 16 channels from g0, with the input steps dealt round S
 * accumulator sets: C * S = 8 independent vpdpbusd chains. The int32
 * sums wrap, and the final one, the exact accumulator, fits. */
INLINE void
dense_chunk(const struct avx512_layer *L, const uint8_t *in, uint8_t *out,
	    const struct avx512_last *last, __m512i *logit, uint32_t g0,
	    const int C, const int S)
{
	const size_t kstride = (size_t)L->groups * 64;
	const int8_t *w = L->w + (size_t)g0 * 64;
	__m512i acc[8];
	uint32_t k = 0;

#pragma GCC unroll 8
	for (int a = 0; a < C * S; a++)
		acc[a] = a < C ? _mm512_load_si512(L->bias + (size_t)(g0 + a) * 16)
			       : _mm512_setzero_si512();
	for (; k + S <= L->k4; k += S) {
#pragma GCC unroll 8
		for (int s = 0; s < S; s++) {
			__m512i x = _mm512_set1_epi32(load32(in + 4 * (k + s)));
			const int8_t *ws = w + (k + s) * kstride;
#pragma GCC unroll 8
			for (int c = 0; c < C; c++)
				acc[s * C + c] = _mm512_dpbusd_epi32(
					acc[s * C + c], x, _mm512_load_si512(ws + c * 64));
		}
	}
	for (; k < L->k4; k++) {
		__m512i x = _mm512_set1_epi32(load32(in + 4 * k));
#pragma GCC unroll 8
		for (int c = 0; c < C; c++)
			acc[c] = _mm512_dpbusd_epi32(
				acc[c], x, _mm512_load_si512(w + k * kstride + c * 64));
	}
#pragma GCC unroll 8
	for (int a = C; a < C * S; a++)
		acc[a % C] = _mm512_add_epi32(acc[a % C], acc[a]);
	if (C % 4 == 0 && g0 < L->blocked) {
#pragma GCC unroll 2
		for (int c = 0; c < C; c += 4)
			requant_store_block(L, g0 + c, acc + c, out, last, logit);
	} else {
#pragma GCC unroll 8
		for (int c = 0; c < C; c++)
			requant_store(L, g0 + c, acc[c], out, last, logit);
	}
}

/* One layer; with logit, the last layer's dot product takes the
 * requantized activations instead of out. */
INLINE void
dense(const struct avx512_layer *L, const uint8_t *in, uint8_t *out,
      const struct avx512_last *last, __m512i *logit)
{
	uint32_t g = 0;

	for (; g + 8 <= L->groups; g += 8)
		dense_chunk(L, in, out, last, logit, g, 8, 1);
	if (g + 4 <= L->groups) {
		dense_chunk(L, in, out, last, logit, g, 4, 2);
		g += 4;
	}
	if (g + 2 <= L->groups) {
		dense_chunk(L, in, out, last, logit, g, 2, 4);
		g += 2;
	}
	if (g < L->groups)
		dense_chunk(L, in, out, last, logit, g, 1, 8);
}

static TARGET void
dense_mid(const struct avx512_layer *L, const uint8_t *in, uint8_t *out)
{
	dense(L, in, out, NULL, NULL);
}

/* The last hidden layer and the last layer: returns the logit. */
static TARGET int32_t
dense_last(const struct avx512_layer *L, const uint8_t *in,
	   const struct avx512_last *last)
{
	__m512i logit = _mm512_setzero_si512();

	dense(L, in, NULL, last, &logit);
	return last->bias + _mm512_reduce_add_epi32(logit);
}

/* q = clamp((x * mul + add) >> shift, -128, 127) in int64 lanes, 8
 * features at a time; vpmuldq is exact since mul is 0 .. 2^31 - 1. */
static TARGET void
input_eval(const struct avx512_model *p, const int32_t *features,
	   uint8_t *out)
{
	for (uint32_t g = 0; g < p->in_groups; g++) {
		uint32_t left = p->n_features - 8 * g;
		__mmask8 k = left >= 8 ? 0xFF : (__mmask8)((1u << left) - 1);
		__m512i x = _mm512_cvtepi32_epi64(
			_mm256_maskz_loadu_epi32(k, features + 8 * g));
		__m512i v = _mm512_mul_epi32(x, _mm512_load_si512(p->in.mul + 8 * g));

		v = _mm512_add_epi64(v, _mm512_load_si512(p->in.add + 8 * g));
		v = _mm512_srav_epi64(v, _mm512_load_si512(p->in.shift + 8 * g));
		v = _mm512_min_epi64(v, _mm512_set1_epi64(127));
		v = _mm512_max_epi64(v, _mm512_set1_epi64(-128));
		v = _mm512_add_epi64(v, _mm512_set1_epi64(128));
		_mm_storel_epi64((__m128i *)(out + 8 * g), _mm512_cvtepi64_epi8(v));
	}
	/* whole 16-byte groups, as the dense layers write them */
	if (p->in_groups % 2)
		_mm_storel_epi64((__m128i *)(out + 8 * p->in_groups), _mm_setzero_si128());
}

/* The last layer's int32 accumulator. Loads match the 16-byte stores of
 * the step before, so that they forward from the store queue (a masked
 * or wider load would wait for the stores to retire); the weights are
 * zero past n_in, and every step writes whole 16-byte groups. */
static TARGET int32_t
last_acc(const struct avx512_last *L, const uint8_t *in)
{
	__m128i acc = _mm_setzero_si128();

	for (uint32_t off = 0; off < L->n_in; off += 16)
		acc = _mm_dpbusd_epi32(acc, _mm_loadu_si128((const __m128i *)(in + off)),
				       _mm_load_si128((const __m128i *)(L->w + off)));
	acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4E));
	acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xB1));
	return L->bias + _mm_cvtsi128_si32(acc);
}

static TARGET __attribute__((noinline)) void
predict_layers(const struct avx512_model *p, const int32_t *features,
	       int8_t *scratch, struct qm_result *out)
{
	uint8_t *a = (uint8_t *)scratch;
	uint8_t *b = a + QM_MAX_WIDTH;

	input_eval(p, features, a);
	if (p->n_hidden == 0) {
		qm_simd_output(&p->out, last_acc(&p->last, a), out);
		return;
	}
	for (uint32_t i = 0; i + 1 < p->n_hidden; i++) {
		uint8_t *t;
		dense_mid(&p->layer[i], a, b);
		t = a;
		a = b;
		b = t;
	}
	qm_simd_output(&p->out, dense_last(&p->layer[p->n_hidden - 1], a, &p->last),
		       out);
}

TARGET void
qm_avx512_predict(const struct qm_model *m, const int32_t *features,
		  int8_t *scratch, struct qm_result *out)
{
	const struct avx512_model *p = m->packed;

	if (p->small)
		qm_avx512_regs_predict(p->small, m->n_features, features, out);
	else
		predict_layers(p, features, scratch, out);
}

TARGET void
qm_avx512_mbqm(const int32_t *x, const int32_t *multiplier,
	       const int32_t *shift, int32_t *out)
{
	int32_t terms[8][16] __attribute__((aligned(64)));
	int64_t fused[6][8] __attribute__((aligned(64)));
	struct qm_simd_rq rq = {terms[0], terms[1], terms[2], terms[3],
				terms[4], terms[5], terms[6], terms[7],
				fused[0], fused[1], fused[2], fused[3],
				fused[4], fused[5]};
	static const uint32_t src[16] = {0, 1, 2,  3,  4,  5,  6,  7,
					 8, 9, 10, 11, 12, 13, 14, 15};
	struct qm_layer l = {.n_out = 16, .multiplier = multiplier, .shift = shift};
	int any_left = qm_simd_rq_fill(&rq, &l, src, 16);

	_mm512_storeu_si512(out, mbqm16(_mm512_loadu_si512(x), &rq, 0, any_left));
}
#endif
