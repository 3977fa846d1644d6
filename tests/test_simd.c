/* The SIMD variants against the portable core: bit-exact decision, score
 * and logit on many feature vectors and models, and the vector forms of
 * gemmlowp's fixed-point helpers against fixedpoint.h. A variant this CPU
 * cannot run is skipped with a message. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixedpoint.h"
#include "helpers.h"
#include "qm_simd.h"
#include "qm_simd_internal.h"
#include "quant.h"
#include "suites.h"

#define TWO30 ((int32_t)1 << 30)

static int
supported_or_skip(enum qm_variant v)
{
	if (qm_simd_supported(v))
		return 1;
	printf("simd: this CPU cannot run %s: skipped\n", qm_variant_name(v));
	return 0;
}

/* --- models ------------------------------------------------------------ */

/* A float model of these widths quantized from its minmax ranges
 * (test_quant_ranges: every tensor, and each input feature). */
static struct model *
quantized_model(uint32_t n_layers, const uint32_t *widths, uint64_t seed)
{
	struct model *f = test_random_float_model(n_layers, widths, seed);
	struct quant_ranges r;
	char err[256];
	struct model *q;

	test_quant_ranges(f, 2000, seed + 1, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	ck_assert_msg(q != NULL, "quant_model: %s", err);
	model_free(f);
	return q;
}

static int32_t
rand_range(uint64_t *st, int32_t lo, int32_t hi)
{
	return lo + (int32_t)(test_rand_u64(st) % (uint64_t)((int64_t)hi - lo + 1));
}

static int
one_in(uint64_t *st, int n)
{
	return test_rand_u64(st) % (uint64_t)n == 0;
}

/* A per-feature map that spreads typical feature values over int8, or
 * (one in four) an arbitrary valid one. */
static void
random_input_map(struct model *m, uint64_t *st)
{
	int32_t *mul = (int32_t *)m->qm.input.mul;
	int64_t *add = (int64_t *)m->qm.input.add;
	int32_t *shift = (int32_t *)m->qm.input.shift;

	for (uint32_t j = 0; j < m->n_features; j++) {
		if (one_in(st, 4)) {
			shift[j] = rand_range(st, 0, QM_INPUT_SHIFT_MAX);
			mul[j] = (int32_t)(test_rand_u64(st) >> (33 + test_rand_u64(st) % 31));
			add[j] = (int64_t)(test_rand_u64(st) >> (1 + test_rand_u64(st) % 63));
			if (one_in(st, 2))
				add[j] = -add[j];
			if (add[j] > QM_INPUT_ADD_MAX || add[j] < -QM_INPUT_ADD_MAX)
				add[j] = one_in(st, 2) ? QM_INPUT_ADD_MAX : -QM_INPUT_ADD_MAX;
			continue;
		}
		/* q ~ x * 2^-k + c for features of magnitude ~2^k */
		int k = rand_range(st, 0, 20);
		shift[j] = 30;
		mul[j] = (int32_t)(((int64_t)1 << (30 - k)) + rand_range(st, 0, 1 << 10));
		add[j] = (int64_t)rand_range(st, -128, 127) * ((int64_t)1 << 30) +
			 ((int64_t)1 << 29);
	}
}

/* Weights over -127..127 and, for most channels, a multiplier and shift
 * that map the typical accumulator onto int8; the rest get arbitrary
 * valid ones (shift -31..30, multiplier 0..2^31-1, |bias| up to 2^30). */
static void
random_layer(struct model *m, uint32_t i, uint64_t *st)
{
	struct qm_layer *l = &m->qm.layer[i];
	int8_t *w = (int8_t *)l->weights;
	int32_t *bias = (int32_t *)l->bias;
	int32_t *mult = (int32_t *)l->multiplier;
	int32_t *shift = (int32_t *)l->shift;
	int bits = 13;

	for (uint32_t n = l->n_in; n > 1; n /= 4)
		bits++; /* ~ log2(73 * 73 * sqrt(n_in)) */
	for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++)
		w[k] = (int8_t)rand_range(st, -127, 127);
	for (uint32_t c = 0; c < l->n_out; c++) {
		if (one_in(st, 8)) {
			bias[c] = rand_range(st, -QM_BIAS_MAX, QM_BIAS_MAX);
			mult[c] = rand_range(st, 0, INT32_MAX);
			shift[c] = rand_range(st, -31, 30);
		} else {
			bias[c] = rand_range(st, -(1 << bits), 1 << bits);
			mult[c] = rand_range(st, TWO30, INT32_MAX);
			shift[c] = 7 - bits + rand_range(st, -2, 2);
		}
	}
	l->input_zp = i == 0 ? m->qm.layer[0].input_zp : m->qm.layer[i - 1].output_zp;
	l->output_zp = rand_range(st, -128, 127);
	if (i + 1 < m->n_layers && !one_in(st, 4)) {
		l->act_min = l->output_zp; /* ReLU */
		l->act_max = 127;
	} else {
		l->act_min = rand_range(st, -128, 127);
		l->act_max = one_in(st, 2) ? 127 : rand_range(st, l->act_min, 127);
	}
	m->ql[i].output_scale = 0.01f + (float)test_rand_uniform(st);
}

static void
finish(struct model *m)
{
	char err[256];

	ck_assert_msg(model_finish_int8(m, err, sizeof(err)) == 0,
		      "model_finish_int8: %s", err);
}

/* An int8 model with random parameters, built directly. */
static struct model *
random_int8_model(uint32_t n_layers, const uint32_t *widths, uint64_t seed)
{
	struct model *m = model_new(MODEL_INT8, n_layers, widths);
	uint64_t st = seed;

	ck_assert_ptr_nonnull(m);
	random_input_map(m, &st);
	m->qm.layer[0].input_zp = rand_range(&st, -128, 127);
	for (uint32_t i = 0; i < n_layers; i++)
		random_layer(m, i, &st);
	finish(m);
	return m;
}

/* Every channel draws its parameters from the extremes the scheme
 * allows: shift -31, 0 and 30, multiplier 0 and 2^31 - 1, zero points
 * -128 and 127, biases +-2^30, weights +-127, and the input map's limits. */
static struct model *
extreme_int8_model(uint32_t n_layers, const uint32_t *widths, uint64_t seed)
{
	static const int32_t shifts[] = {-31, -30, -16, -8, -1, 0, 1, 2, 15, 30};
	static const int32_t mults[] = {0, 1, TWO30, TWO30 + 1, INT32_MAX - 1,
					INT32_MAX};
	static const int32_t biases[] = {-QM_BIAS_MAX, QM_BIAS_MAX, 0, -1, 1,
					 -QM_BIAS_MAX + 1, QM_BIAS_MAX - 1};
	static const int32_t zps[] = {-128, 127, 0, -1};
	static const int8_t weights[] = {-127, 127, 0, 1, -1};
	struct model *m = model_new(MODEL_INT8, n_layers, widths);
	uint64_t st = seed;

#define PICK(a) ((a)[test_rand_u64(&st) % (sizeof(a) / sizeof((a)[0]))])
	ck_assert_ptr_nonnull(m);
	for (uint32_t j = 0; j < m->n_features; j++) {
		int32_t *mul = (int32_t *)m->qm.input.mul;
		int64_t *add = (int64_t *)m->qm.input.add;
		int32_t *shift = (int32_t *)m->qm.input.shift;
		static const int32_t in_shift[] = {0, 1, 31, 32, 61, QM_INPUT_SHIFT_MAX};
		static const int32_t in_mul[] = {0, 1, INT32_MAX};
		static const int64_t in_add[] = {0, QM_INPUT_ADD_MAX, -QM_INPUT_ADD_MAX,
						 -1, 1};
		shift[j] = PICK(in_shift);
		mul[j] = PICK(in_mul);
		add[j] = PICK(in_add);
	}
	m->qm.layer[0].input_zp = PICK(zps);
	for (uint32_t i = 0; i < n_layers; i++) {
		struct qm_layer *l = &m->qm.layer[i];
		int8_t *w = (int8_t *)l->weights;
		int32_t *bias = (int32_t *)l->bias;
		int32_t *mult = (int32_t *)l->multiplier;
		int32_t *shift = (int32_t *)l->shift;
		for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++)
			w[k] = one_in(&st, 2) ? PICK(weights)
					      : (int8_t)rand_range(&st, -127, 127);
		for (uint32_t c = 0; c < l->n_out; c++) {
			bias[c] = PICK(biases);
			mult[c] = PICK(mults);
			shift[c] = PICK(shifts);
		}
		if (i > 0)
			l->input_zp = m->qm.layer[i - 1].output_zp;
		l->output_zp = PICK(zps);
		l->act_min = i + 1 < n_layers ? l->output_zp : -128;
		l->act_max = 127;
		m->ql[i].output_scale = 0.05f;
	}
#undef PICK
	finish(m);
	return m;
}

/* --- feature vectors --------------------------------------------------- */

static const int32_t edge_values[] = {
	INT32_MIN, INT32_MIN + 1, -TWO30, -65536, -1000, -2, -1, 0, 1, 2, 1000,
	65535, TWO30, INT32_MAX - 1, INT32_MAX,
};
#define N_EDGES (sizeof(edge_values) / sizeof(edge_values[0]))

/* Half the vectors look like FlashNet's features; the rest are edge
 * values, arbitrary int32, small negatives, or a mix. */
static void
make_vector(uint64_t *st, int32_t *f, uint32_t n)
{
	uint32_t mode = (uint32_t)(test_rand_u64(st) % 10);

	test_random_features(st, f, n);
	for (uint32_t j = 0; j < n; j++) {
		uint64_t r = test_rand_u64(st);
		switch (mode) {
		case 5: /* realistic with some edges */
			if (r % 3 == 0)
				f[j] = edge_values[(r >> 8) % N_EDGES];
			break;
		case 6:
			f[j] = edge_values[(r >> 8) % N_EDGES];
			break;
		case 7:
			f[j] = (int32_t)(uint32_t)(r >> 16);
			break;
		case 8:
			f[j] = (int32_t)((r >> 8) % 2001) - 1000;
			break;
		case 9: /* realistic magnitudes, random signs */
			if (r % 2)
				f[j] = -f[j];
			break;
		default:
			break;
		}
	}
}

/* --- comparing a variant with the portable core ------------------------ */

struct forced {
	struct qm_model qm;
	void *arena;
};

/* A copy of m's int8 network packed for variant v. */
static void
force_variant(struct forced *fv, const struct model *m, enum qm_variant v)
{
	size_t len = qm_simd_prepare_size(&m->qm, v);

	fv->qm = m->qm;
	ck_assert_int_eq(posix_memalign(&fv->arena, 64, len ? len : 64), 0);
	ck_assert_int_eq(qm_simd_prepare(&fv->qm, v, fv->arena, len), v);
	ck_assert_int_eq(fv->qm.variant, v);
}

/* Runs n vectors through the portable core and v; fails on the first
 * difference, naming the vector. Checks once at the end: a Check assertion
 * per vector would cost more than the predictions. */
static void
check_exact(const struct model *m, enum qm_variant v, uint32_t n,
	    uint64_t seed)
{
	struct forced fv;
	int8_t scratch[2][QM_SCRATCH_BYTES];
	int32_t f[QM_MAX_FEATURES];
	uint64_t st = seed;
	uint32_t k;

	force_variant(&fv, m, v);
	for (k = 0; k < n; k++) {
		struct qm_result want, got;
		if (k < N_EDGES)
			for (uint32_t j = 0; j < m->n_features; j++)
				f[j] = edge_values[k];
		else
			make_vector(&st, f, m->n_features);
		qm_predict_portable(&m->qm, f, m->n_features, scratch[0], &want);
		memset(&got, 0xAA, sizeof(got));
		qm_predict(&fv.qm, f, m->n_features, scratch[1], &got);
		if (want.logit != got.logit || want.decision != got.decision ||
		    want.score != got.score)
			break;
	}
	if (k < n) {
		struct qm_result want, got;
		qm_predict_portable(&m->qm, f, m->n_features, scratch[0], &want);
		qm_predict(&fv.qm, f, m->n_features, scratch[1], &got);
		free(fv.arena);
		ck_abort_msg("%s differs at vector %u (f[0]=%d): logit %d vs %d, "
			     "decision %d vs %d, score %d vs %d",
			     qm_variant_name(v), k, f[0], got.logit, want.logit,
			     got.decision, want.decision, got.score, want.score);
	}
	free(fv.arena);
}

static const uint32_t flashnet_widths[] = {8, 128, 16, 1};

static void
check_flashnet_million(enum qm_variant v)
{
	struct model *m;

	if (!supported_or_skip(v))
		return;
	m = quantized_model(3, flashnet_widths, 42);
	check_exact(m, v, 1000000, 7);
	model_free(m);
}

/* Quantized and direct random models of these widths, n vectors each. */
static void
check_widths(enum qm_variant v, uint32_t n_layers, const uint32_t *widths,
	     uint32_t n)
{
	struct model *m;

	if (!supported_or_skip(v))
		return;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		m = quantized_model(n_layers, widths, seed * 101);
		check_exact(m, v, n, seed);
		model_free(m);
		m = random_int8_model(n_layers, widths, seed * 211);
		check_exact(m, v, n, seed + 10);
		model_free(m);
	}
}

static void
check_extremes(enum qm_variant v)
{
	static const uint32_t w1[] = {8, 48, 17, 1};
	static const uint32_t w2[] = {3, 5, 1};
	static const uint32_t w3[] = {8, 64, 33, 1};

	if (!supported_or_skip(v))
		return;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct model *m = extreme_int8_model(3, w1, seed);
		check_exact(m, v, 20000, seed);
		model_free(m);
		m = extreme_int8_model(2, w2, seed + 100);
		check_exact(m, v, 5000, seed);
		model_free(m);
		m = extreme_int8_model(3, w3, seed + 200);
		check_exact(m, v, 10000, seed);
		model_free(m);
	}
}

/* Widths that exercise every padding and chunking path. */
static void
check_odd_widths(enum qm_variant v)
{
	static const uint32_t w871[] = {8, 7, 1};
	static const uint32_t w8_33[] = {8, 33, 17, 5, 1};
	static const uint32_t w13_1024[] = {13, 1024, 1};
	static const uint32_t w1_1[] = {1, 1};
	static const uint32_t w64[] = {64, 16, 1};
	static const uint32_t w_deep[] = {5, 3, 9, 31, 1, 2, 65, 17, 1};
	static const uint32_t w_chunks[] = {61, 200, 129, 63, 1};

	check_widths(v, 2, w871, 20000);
	check_widths(v, 4, w8_33, 20000);
	check_widths(v, 2, w13_1024, 3000);
	check_widths(v, 1, w1_1, 5000);
	check_widths(v, 2, w64, 5000);
	check_widths(v, 8, w_deep, 5000);
	check_widths(v, 4, w_chunks, 3000);
}

/* --- the avx512 register pipeline -------------------------------------- */

/* Moves every shift into the register pipeline's range, -21..-1 (from
 * its ends when extreme), and prepares m again. */
static void
fit_register_path(struct model *m, uint64_t *st, int extreme)
{
	static const int32_t ends[] = {-1, -2, -20, -21};

	for (uint32_t i = 0; i < m->n_layers; i++) {
		struct qm_layer *l = &m->qm.layer[i];
		int32_t *shift = (int32_t *)l->shift;
		for (uint32_t c = 0; c < l->n_out; c++)
			if (shift[c] > -1 || shift[c] < -21)
				shift[c] = extreme ? ends[test_rand_u64(st) % 4]
						   : rand_range(st, -21, -1);
	}
	finish(m);
	ck_assert(qm_avx512_register_path(&m->qm));
}

/* Every size the pipeline pads: fewer features, narrower layers, down to
 * one channel each. */
static const uint32_t register_widths[][4] = {
	{8, 128, 16, 1}, {5, 100, 7, 1}, {1, 1, 1, 1}, {8, 64, 16, 1},
	{3, 65, 9, 1},   {7, 127, 15, 1}, {2, 4, 16, 1}, {8, 128, 1, 1},
};
#define N_REGISTER_WIDTHS (sizeof(register_widths) / sizeof(register_widths[0]))

static void
check_register_path(int extreme, uint32_t n)
{
	if (!supported_or_skip(QM_AVX512_VNNI))
		return;
	for (size_t w = 0; w < N_REGISTER_WIDTHS; w++)
		for (uint64_t seed = 1; seed <= 4; seed++) {
			uint64_t st = seed * 977 + w;
			struct model *m =
				extreme ? extreme_int8_model(3, register_widths[w], st)
					: random_int8_model(3, register_widths[w], st);
			fit_register_path(m, &st, extreme);
			check_exact(m, QM_AVX512_VNNI, n, st);
			model_free(m);
			if (extreme)
				continue;
			m = quantized_model(3, register_widths[w], st);
			if (qm_avx512_register_path(&m->qm))
				check_exact(m, QM_AVX512_VNNI, n, st + 1);
			model_free(m);
		}
}

START_TEST(avx512_register_path_is_bit_exact_on_every_padded_size)
{
	check_register_path(0, 20000);
}
END_TEST

START_TEST(avx512_register_path_is_bit_exact_with_extreme_parameters)
{
	check_register_path(1, 20000);
}
END_TEST

/* Shapes and shifts outside the pipeline go layer by layer, whose
 * exactness the odd-width and extreme tests check. */
START_TEST(avx512_register_path_declines_other_shapes_and_shifts)
{
	static const uint32_t too_wide[][4] = {
		{9, 128, 16, 1}, {8, 129, 16, 1}, {8, 128, 17, 1},
	};
	static const uint32_t deep[] = {8, 16, 16, 16, 1};
	static const uint32_t shallow[] = {8, 16, 1};
	static const int32_t bad_shifts[] = {0, 1, 30, -22, -31};
	uint64_t st = 5;
	struct model *m;

	for (size_t i = 0; i < 3; i++) {
		m = random_int8_model(3, too_wide[i], 31 + i);
		for (uint32_t l = 0; l < 3; l++)
			for (uint32_t c = 0; c < m->qm.layer[l].n_out; c++)
				((int32_t *)m->qm.layer[l].shift)[c] = -8;
		ck_assert(!qm_avx512_register_path(&m->qm));
		model_free(m);
	}
	m = random_int8_model(4, deep, 41);
	ck_assert(!qm_avx512_register_path(&m->qm));
	model_free(m);
	m = random_int8_model(2, shallow, 43);
	ck_assert(!qm_avx512_register_path(&m->qm));
	model_free(m);
	for (size_t i = 0; i < sizeof(bad_shifts) / sizeof(bad_shifts[0]); i++)
		for (uint32_t l = 0; l < 3; l++) {
			m = random_int8_model(3, flashnet_widths, 47 + i);
			fit_register_path(m, &st, 0);
			((int32_t *)m->qm.layer[l].shift)[test_rand_u64(&st) %
							  m->qm.layer[l].n_out] = bad_shifts[i];
			ck_assert(!qm_avx512_register_path(&m->qm));
			finish(m);
			if (qm_simd_supported(QM_AVX512_VNNI))
				check_exact(m, QM_AVX512_VNNI, 2000, st);
			model_free(m);
		}
}
END_TEST

START_TEST(avx512_vnni_is_bit_exact_on_1m_vectors_of_8_128_16_1)
{
	check_flashnet_million(QM_AVX512_VNNI);
}
END_TEST

START_TEST(avx2_is_bit_exact_on_1m_vectors_of_8_128_16_1)
{
	check_flashnet_million(QM_AVX2);
}
END_TEST

START_TEST(avx512_vnni_is_bit_exact_on_odd_widths_and_depths)
{
	check_odd_widths(QM_AVX512_VNNI);
}
END_TEST

START_TEST(avx2_is_bit_exact_on_odd_widths_and_depths)
{
	check_odd_widths(QM_AVX2);
}
END_TEST

START_TEST(avx512_vnni_is_bit_exact_with_extreme_parameters)
{
	check_extremes(QM_AVX512_VNNI);
}
END_TEST

START_TEST(avx2_is_bit_exact_with_extreme_parameters)
{
	check_extremes(QM_AVX2);
}
END_TEST

/* --- selection and preparation ----------------------------------------- */

START_TEST(best_variant_is_supported_and_chosen_by_model_finish)
{
	struct model *m = quantized_model(3, flashnet_widths, 5);

	ck_assert(qm_simd_supported(QM_PORTABLE));
	ck_assert(qm_simd_supported(qm_simd_best()));
	ck_assert_int_eq(m->qm.variant, qm_simd_best());
	ck_assert_str_eq(qm_variant_name(QM_AVX512_VNNI), "avx512-vnni");
	printf("simd: best variant on this CPU: %s\n",
	       qm_variant_name(qm_simd_best()));
	model_free(m);
}
END_TEST

START_TEST(prepare_without_room_or_alignment_stays_portable)
{
	struct model *m = quantized_model(3, flashnet_widths, 6);
	enum qm_variant vs[] = {QM_AVX2, QM_AVX512_VNNI};

	for (size_t i = 0; i < 2; i++) {
		size_t len = qm_simd_prepare_size(&m->qm, vs[i]);
		char *arena;
		struct qm_model qm = m->qm;
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(posix_memalign((void **)&arena, 64, len + 64), 0);
		ck_assert_int_eq(qm_simd_prepare(&qm, vs[i], arena, len - 1),
				 QM_PORTABLE);
		ck_assert_int_eq(qm.variant, QM_PORTABLE);
		ck_assert_ptr_null(qm.packed);
		ck_assert_int_eq(qm_simd_prepare(&qm, vs[i], arena + 8, len),
				 QM_PORTABLE);
		ck_assert_int_eq(qm_simd_prepare(&qm, vs[i], NULL, len), QM_PORTABLE);
		ck_assert_int_eq(qm_simd_prepare(&qm, vs[i], arena, len),
				 qm_simd_supported(vs[i]) ? vs[i] : QM_PORTABLE);
		free(arena);
	}
	model_free(m);
}
END_TEST

START_TEST(every_variant_refuses_a_wrong_feature_count)
{
	struct model *m = quantized_model(3, flashnet_widths, 8);
	enum qm_variant vs[] = {QM_PORTABLE, QM_AVX2, QM_AVX512_VNNI};
	int32_t f[QM_MAX_FEATURES] = {0};
	int8_t scratch[QM_SCRATCH_BYTES];
	struct qm_result r;

	for (size_t i = 0; i < 3; i++) {
		struct forced fv;
		if (!qm_simd_supported(vs[i]))
			continue;
		force_variant(&fv, m, vs[i]);
		ck_assert_int_eq(qm_predict(&fv.qm, f, 7, scratch, &r), QM_ESHAPE);
		ck_assert_int_eq(qm_predict(&fv.qm, f, 9, scratch, &r), QM_ESHAPE);
		ck_assert_int_eq(qm_predict(&fv.qm, f, 8, scratch, &r), QM_OK);
		free(fv.arena);
	}
	model_free(m);
}
END_TEST

/* --- the vector fixed-point helpers ------------------------------------ */

static const int32_t fp_edges[] = {
	INT32_MIN, INT32_MIN + 1, -TWO30 - 1, -TWO30, -TWO30 + 1, -98304,
	-65536, -32769, -32768, -3, -2, -1, 0, 1, 2, 3, 32768, 32769, 65535,
	98304, TWO30 - 1, TWO30, TWO30 + 1, INT32_MAX - 1, INT32_MAX,
};
#define N_FP (sizeof(fp_edges) / sizeof(fp_edges[0]))

/* The identity the kernels rely on (see qm_simd_mbqm, qm_simd_internal.h). */
START_TEST(srdhm_is_floor_of_product_plus_2_30_except_int32_min_squared)
{
	uint64_t st = 3;

	for (size_t i = 0; i < N_FP; i++)
		for (size_t j = 0; j < N_FP; j++) {
			int32_t a = fp_edges[i], b = fp_edges[j];
			int64_t floor = ((int64_t)a * b + TWO30) >> 31;
			if (a == INT32_MIN && b == INT32_MIN)
				continue;
			ck_assert_int_eq(qm_srdhm(a, b), (int32_t)floor);
		}
	for (int k = 0; k < 100000; k++) {
		int32_t a = (int32_t)test_rand_u64(&st);
		int32_t b = (int32_t)test_rand_u64(&st) >> (test_rand_u64(&st) % 32);
		if (a == INT32_MIN && b == INT32_MIN)
			continue;
		if (qm_srdhm(a, b) != (int32_t)(((int64_t)a * b + TWO30) >> 31))
			ck_abort_msg("srdhm(%d, %d)", a, b);
	}
}
END_TEST

typedef void (*vec_fn)(const int32_t *, const int32_t *, int32_t *);
typedef void (*vec3_fn)(const int32_t *, const int32_t *, const int32_t *,
			int32_t *);

/* Pairs of edge values and random ones, lanes at a time. */
static void
check_vector_srdhm(vec_fn fn, int lanes)
{
	int32_t a[16], b[16], out[16];
	uint64_t st = 11;
	int n = 0;

	for (size_t i = 0; i < N_FP * N_FP + 20000; i++) {
		if (i < N_FP * N_FP) {
			a[n] = fp_edges[i / N_FP];
			b[n] = fp_edges[i % N_FP];
		} else {
			a[n] = (int32_t)test_rand_u64(&st);
			b[n] = (int32_t)test_rand_u64(&st) >> (test_rand_u64(&st) % 32);
		}
		if (b[n] == INT32_MIN) /* outside the helper's contract */
			continue;
		if (++n < lanes)
			continue;
		fn(a, b, out);
		for (int l = 0; l < lanes; l++)
			ck_assert_msg(out[l] == qm_srdhm(a[l], b[l]),
				      "srdhm(%d, %d) = %d, want %d", a[l], b[l],
				      out[l], qm_srdhm(a[l], b[l]));
		n = 0;
	}
}

/* Every exponent, on edge values and on ties +-1 around each half. */
static void
check_vector_rdivpot(vec_fn fn, int lanes)
{
	int32_t x[16], e[16], out[16];
	uint64_t st = 13;
	int n = 0;

	for (int32_t exp = 0; exp <= 31; exp++) {
		for (size_t i = 0; i < N_FP + 400; i++) {
			if (i < N_FP) {
				x[n] = fp_edges[i];
			} else {
				int64_t half = exp > 0 ? (int64_t)1 << (exp - 1) : 0;
				int64_t k = (int64_t)(test_rand_u64(&st) % 64) - 32;
				int64_t v = k * ((int64_t)1 << exp) + half +
					    (int64_t)(test_rand_u64(&st) % 3) - 1;
				if (i % 4 == 0)
					v = (int32_t)test_rand_u64(&st);
				x[n] = (int32_t)(v < INT32_MIN ? INT32_MIN
							       : (v > INT32_MAX ? INT32_MAX : v));
			}
			e[n] = exp;
			if (++n < lanes)
				continue;
			fn(x, e, out);
			for (int l = 0; l < lanes; l++)
				ck_assert_msg(out[l] == qm_rdivpot(x[l], e[l]),
					      "rdivpot(%d, %d) = %d, want %d", x[l], e[l],
					      out[l], qm_rdivpot(x[l], e[l]));
			n = 0;
		}
	}
}

/* Every shift -31..30, including the saturating left shifts. */
static void
check_vector_mbqm(vec3_fn fn, int lanes)
{
	static const int32_t mults[] = {0, 1, 12345, TWO30, TWO30 + 1,
					INT32_MAX - 1, INT32_MAX};
	int32_t x[16], mult[16], shift[16], out[16];
	uint64_t st = 17;
	int n = 0;

	for (int32_t s = -31; s <= 30; s++) {
		for (size_t i = 0; i < N_FP * 7 + 200; i++) {
			if (i < N_FP * 7) {
				x[n] = fp_edges[i % N_FP];
				mult[n] = mults[i / N_FP];
			} else {
				x[n] = (int32_t)test_rand_u64(&st) >> (test_rand_u64(&st) % 32);
				mult[n] = (int32_t)(test_rand_u64(&st) >> 33);
			}
			shift[n] = s;
			if (++n < lanes)
				continue;
			fn(x, mult, shift, out);
			for (int l = 0; l < lanes; l++) {
				int32_t want = qm_mul_by_quantized_multiplier(x[l], mult[l],
									      shift[l]);
				ck_assert_msg(out[l] == want, "mbqm(%d, %d, %d) = %d, want %d",
					      x[l], mult[l], shift[l], out[l], want);
			}
			n = 0;
		}
	}
}

/* The scalar form of the fused rounding, lane by lane. */
static void
scalar_fused_mbqm(const int32_t *x, const int32_t *mult, const int32_t *shift,
		  int32_t *out)
{
	for (int l = 0; l < 16; l++)
		out[l] = qm_simd_mbqm(x[l], mult[l], shift[l]);
}

START_TEST(fused_rounding_equals_srdhm_then_rdivpot_for_every_shift)
{
	check_vector_mbqm(scalar_fused_mbqm, 16);
}
END_TEST

#if QM_HAVE_X86_SIMD
START_TEST(avx512_fused_mbqm_matches_fixedpoint_h_for_every_shift)
{
	if (!supported_or_skip(QM_AVX512_VNNI))
		return;
	check_vector_mbqm(qm_avx512_mbqm, 16);
}
END_TEST

START_TEST(avx2_srdhm_rdivpot_mbqm_match_fixedpoint_h)
{
	if (!supported_or_skip(QM_AVX2))
		return;
	check_vector_srdhm(qm_avx2_srdhm, 8);
	check_vector_rdivpot(qm_avx2_rdivpot, 8);
	check_vector_mbqm(qm_avx2_mbqm, 8);
}
END_TEST
#endif

Suite *
simd_suite(void)
{
	Suite *s = suite_create("simd");
	TCase *tc = tcase_create("helpers");
	TCase *big = tcase_create("exact");

	tcase_add_test(tc, srdhm_is_floor_of_product_plus_2_30_except_int32_min_squared);
	tcase_add_test(tc, fused_rounding_equals_srdhm_then_rdivpot_for_every_shift);
#if QM_HAVE_X86_SIMD
	tcase_add_test(tc, avx512_fused_mbqm_matches_fixedpoint_h_for_every_shift);
	tcase_add_test(tc, avx2_srdhm_rdivpot_mbqm_match_fixedpoint_h);
#endif
	tcase_add_test(tc, best_variant_is_supported_and_chosen_by_model_finish);
	tcase_add_test(tc, prepare_without_room_or_alignment_stays_portable);
	tcase_add_test(tc, every_variant_refuses_a_wrong_feature_count);
	suite_add_tcase(s, tc);

	/* Sized for -O2 in seconds; sanitizer builds run several times slower. */
	tcase_set_timeout(big, 300);
	tcase_add_test(big, avx512_vnni_is_bit_exact_on_1m_vectors_of_8_128_16_1);
	tcase_add_test(big, avx2_is_bit_exact_on_1m_vectors_of_8_128_16_1);
	tcase_add_test(big, avx512_vnni_is_bit_exact_on_odd_widths_and_depths);
	tcase_add_test(big, avx2_is_bit_exact_on_odd_widths_and_depths);
	tcase_add_test(big, avx512_vnni_is_bit_exact_with_extreme_parameters);
	tcase_add_test(big, avx512_register_path_is_bit_exact_on_every_padded_size);
	tcase_add_test(big, avx512_register_path_is_bit_exact_with_extreme_parameters);
	tcase_add_test(big, avx512_register_path_declines_other_shapes_and_shifts);
	tcase_add_test(big, avx2_is_bit_exact_with_extreme_parameters);
	suite_add_tcase(s, big);
	return s;
}
