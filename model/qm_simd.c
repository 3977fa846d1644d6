/* Variant selection, dispatch, and the packing helpers the variants share. */
#include <stdint.h>

#include "qm_simd.h"
#include "qm_simd_internal.h"

void *
qm_simd_take(struct qm_simd_bump *b, size_t bytes)
{
	void *p = b->base ? b->base + b->used : NULL;

	b->used += (bytes + QM_SIMD_ALIGN - 1) & ~(size_t)(QM_SIMD_ALIGN - 1);
	return p;
}

void
qm_simd_rq_carve(struct qm_simd_bump *b, struct qm_simd_rq *rq, size_t npad)
{
	size_t bytes = npad * sizeof(int32_t);
	size_t half = npad / 2 * sizeof(int64_t);

	rq->mult = qm_simd_take(b, bytes);
	rq->mult_odd = qm_simd_take(b, bytes);
	rq->rshift = qm_simd_take(b, bytes);
	rq->mask = qm_simd_take(b, bytes);
	rq->thr = qm_simd_take(b, bytes);
	rq->lshift = qm_simd_take(b, bytes);
	rq->sat_hi = qm_simd_take(b, bytes);
	rq->sat_lo = qm_simd_take(b, bytes);
	rq->rnd_even = qm_simd_take(b, half);
	rq->rnd_odd = qm_simd_take(b, half);
	rq->corr_even = qm_simd_take(b, half);
	rq->corr_odd = qm_simd_take(b, half);
	rq->sh_even = qm_simd_take(b, half);
	rq->sh_odd = qm_simd_take(b, half);
}

int
qm_simd_rq_fill(const struct qm_simd_rq *rq, const struct qm_layer *l,
		const uint32_t *src, size_t npad)
{
	int any_left = 0;

	for (size_t pos = 0; pos < npad; pos++) {
		uint32_t c = src[pos];
		int32_t shift = c < l->n_out ? l->shift[c] : 0;
		int32_t right = shift < 0 ? -shift : 0;
		int32_t left = shift > 0 ? shift : 0;
		uint32_t mask = ((uint32_t)1 << right) - 1;
		int64_t *rnd = pos % 2 ? rq->rnd_odd : rq->rnd_even;
		int64_t *corr = pos % 2 ? rq->corr_odd : rq->corr_even;
		int64_t *sh = pos % 2 ? rq->sh_odd : rq->sh_even;

		rq->mult[pos] = c < l->n_out ? l->multiplier[c] : 0;
		rq->rshift[pos] = right;
		rq->mask[pos] = (int32_t)mask;
		rq->thr[pos] = (int32_t)(mask >> 1);
		rq->lshift[pos] = left;
		rq->sat_hi[pos] = INT32_MAX >> left;
		rq->sat_lo[pos] = (int32_t)-((int64_t)1 << (31 - left));
		rnd[pos / 2] = ((int64_t)1 << 30) +
			       (right > 0 ? (int64_t)1 << (30 + right) : 0);
		corr[pos / 2] = right > 0 ? (int64_t)1 << 31 : 0;
		sh[pos / 2] = 31 + right;
		any_left |= left > 0;
	}
	/* npad is a multiple of 8: pos + 1 stays inside. */
	for (size_t pos = 0; pos < npad; pos++)
		rq->mult_odd[pos] = pos % 2 == 0 ? rq->mult[pos + 1] : 0;
	return any_left;
}

void
qm_simd_input_carve(struct qm_simd_bump *b, struct qm_simd_input *in,
		    size_t npad)
{
	in->mul = qm_simd_take(b, npad * sizeof(int64_t));
	in->add = qm_simd_take(b, npad * sizeof(int64_t));
	in->shift = qm_simd_take(b, npad * sizeof(int64_t));
}

void
qm_simd_input_fill(const struct qm_simd_input *in, const struct qm_model *m,
		   size_t npad)
{
	for (size_t j = 0; j < npad; j++) {
		int real = j < m->n_features;
		in->mul[j] = real ? m->input.mul[j] : 0;
		in->add[j] = real ? m->input.add[j] : 0;
		in->shift[j] = real ? m->input.shift[j] : 0;
	}
}

void
qm_simd_out_fill(struct qm_simd_out *o, const struct qm_model *m)
{
	const struct qm_layer *l = &m->layer[m->n_layers - 1];

	o->mult = l->multiplier[0];
	o->shift = l->shift[0];
	o->zp = l->output_zp;
	for (int q = 0; q < 256; q++)
		o->logistic[q] = m->logistic[q];
}

#if QM_HAVE_X86_SIMD
static int
cpu_has_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

/* vpdpbusd needs VNNI; the masked loads, vpmovdb and vpsravq need F, BW
 * and VL. __builtin_cpu_supports also checks that the OS saves zmm state. */
static int
cpu_has_avx512_vnni(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vnni");
}
#else
static int
cpu_has_avx2(void)
{
	return 0;
}

static int
cpu_has_avx512_vnni(void)
{
	return 0;
}
#endif

int
qm_simd_supported(enum qm_variant v)
{
	switch (v) {
	case QM_PORTABLE:
		return 1;
	case QM_AVX2:
		return cpu_has_avx2();
	case QM_AVX512_VNNI:
		return cpu_has_avx512_vnni();
	}
	return 0;
}

enum qm_variant
qm_simd_best(void)
{
	if (qm_simd_supported(QM_AVX512_VNNI))
		return QM_AVX512_VNNI;
	if (qm_simd_supported(QM_AVX2))
		return QM_AVX2;
	return QM_PORTABLE;
}

const char *
qm_variant_name(enum qm_variant v)
{
	switch (v) {
	case QM_PORTABLE:
		return "portable";
	case QM_AVX2:
		return "avx2";
	case QM_AVX512_VNNI:
		return "avx512-vnni";
	}
	return "unknown";
}

size_t
qm_simd_prepare_size(const struct qm_model *m, enum qm_variant v)
{
	switch (v) {
	case QM_PORTABLE:
		return 0;
	case QM_AVX2:
		return qm_avx2_size(m);
	case QM_AVX512_VNNI:
		return qm_avx512_size(m);
	}
	return 0;
}

static int
is_prepared(const struct qm_model *m)
{
	for (uint32_t i = 0; i < m->n_layers; i++)
		if (m->layer[i].acc_bias == NULL)
			return 0;
	return m->n_layers > 0;
}

enum qm_variant
qm_simd_prepare(struct qm_model *m, enum qm_variant v, void *arena,
		size_t arena_len)
{
	m->variant = QM_PORTABLE;
	m->packed = NULL;
	if ((v != QM_AVX2 && v != QM_AVX512_VNNI) || !qm_simd_supported(v) ||
	    !is_prepared(m) || arena == NULL ||
	    (uintptr_t)arena % QM_SIMD_ALIGN != 0 ||
	    arena_len < qm_simd_prepare_size(m, v))
		return QM_PORTABLE;
	if (v == QM_AVX2)
		qm_avx2_pack(m, arena);
	else
		qm_avx512_pack(m, arena);
	m->variant = v;
	m->packed = arena;
	return v;
}

int
qm_predict(const struct qm_model *m, const int32_t *features,
	   uint32_t n_features, int8_t *scratch, struct qm_result *out)
{
	if (n_features != m->n_features)
		return QM_ESHAPE;
#if QM_HAVE_X86_SIMD
	switch (m->variant) {
	case QM_AVX512_VNNI:
		qm_avx512_predict(m, features, scratch, out);
		return QM_OK;
	case QM_AVX2:
		qm_avx2_predict(m, features, scratch, out);
		return QM_OK;
	case QM_PORTABLE:
		break;
	}
#endif
	return qm_predict_portable(m, features, n_features, scratch, out);
}
