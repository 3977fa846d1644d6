/* The daemon's model holder: predictions as the portable core makes them,
 * generations, and a reload that never leaves the daemon without a model. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "file_helpers.h"
#include "helpers.h"
#include "model_file.h"
#include "predictor.h"
#include "quant.h"
#include "suites.h"

static struct model *float_model;

/* An int8 model of the teacher, saved to name; shift moves its last bias
 * so that two saved models decide differently. */
static const char *
save_int8(const char *name, float shift)
{
	struct quant_ranges r;
	char err[256];
	const char *path = test_tmp_path(name);
	static char copy[4200];

	float_model->fm.layer[2].bias[0] += shift;
	test_quant_ranges(float_model, 2000, 7, &r);
	struct model *q = quant_model(float_model, &r, "minmax", err, sizeof(err));
	float_model->fm.layer[2].bias[0] -= shift;
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(mf_save(q, path, err, sizeof(err)), 0);
	model_free(q);
	snprintf(copy, sizeof(copy), "%s", path);
	return copy;
}

static void
setup(void)
{
	test_fixture_setup();
	if (float_model == NULL)
		float_model = test_trained_model();
}

static void
teardown(void)
{
	test_fixture_teardown();
}

START_TEST(predictions_equal_the_portable_core)
{
	struct predictor p;
	char err[256];
	int32_t x[64 * 8];
	uint8_t d[64], s[64];
	uint32_t slow;
	uint64_t st = 5;
	int8_t scratch[QM_SCRATCH_BYTES];

	ck_assert_int_eq(predictor_open(&p, save_int8("a.h5", 0.0f), err, sizeof(err)), 0);
	ck_assert_uint_eq(p.generation, 1);
	for (int i = 0; i < 64; i++)
		test_random_features(&st, x + i * 8, 8);
	ck_assert_int_eq(predictor_predict(&p, x, 64, 8, d, s, &slow), 0);
	uint32_t want_slow = 0;
	for (int i = 0; i < 64; i++) {
		struct qm_result r;
		qm_predict_portable(&p.model->qm, x + i * 8, 8, scratch, &r);
		ck_assert_uint_eq(d[i], r.decision);
		ck_assert_uint_eq(s[i], r.score);
		want_slow += r.decision;
	}
	ck_assert_uint_eq(slow, want_slow);
	ck_assert_int_eq(predictor_predict(&p, x, 1, 7, d, s, &slow), -1);
	predictor_close(&p);
}
END_TEST

START_TEST(reload_swaps_a_good_model_and_bumps_the_generation)
{
	struct predictor p;
	char err[256];
	const char *path = save_int8("m.h5", 0.0f);
	int32_t x[8] = {1, 4096, 3000, 3000, 3000, 1365, 1365, 1365};
	uint8_t before, after, score;

	ck_assert_int_eq(predictor_open(&p, path, err, sizeof(err)), 0);
	predictor_predict(&p, x, 1, 8, &before, &score, NULL);
	/* The same path, now a model biased far towards slow. */
	save_int8("m.h5", 40.0f);
	ck_assert_int_eq(predictor_reload(&p, err, sizeof(err)), 0);
	ck_assert_uint_eq(p.generation, 2);
	predictor_predict(&p, x, 1, 8, &after, &score, NULL);
	ck_assert_uint_eq(after, 1);
	ck_assert_uint_eq(before, 0);
	predictor_close(&p);
}
END_TEST

START_TEST(reload_keeps_the_old_model_when_the_new_one_is_broken)
{
	struct predictor p;
	char err[256];
	const char *path = save_int8("m.h5", 0.0f);
	int32_t x[8] = {1, 4096, 9000, 8000, 7000, 455, 512, 585};
	uint8_t d0, d1, s0, s1;

	ck_assert_int_eq(predictor_open(&p, path, err, sizeof(err)), 0);
	predictor_predict(&p, x, 1, 8, &d0, &s0, NULL);
	test_write_file("m.h5", "not a model", 11);
	ck_assert_int_eq(predictor_reload(&p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "m.h5"));
	ck_assert_uint_eq(p.generation, 1);
	ck_assert_int_eq(predictor_predict(&p, x, 1, 8, &d1, &s1, NULL), 0);
	ck_assert_uint_eq(d1, d0);
	ck_assert_uint_eq(s1, s0);
	predictor_close(&p);
}
END_TEST

START_TEST(a_float_model_is_refused)
{
	struct predictor p;
	char err[256];
	const char *path = test_tmp_path("f.h5");

	ck_assert_int_eq(mf_save(float_model, path, err, sizeof(err)), 0);
	ck_assert_int_eq(predictor_open(&p, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "a float32 model; iolatd serve needs int8"));
}
END_TEST

Suite *
predictor_suite(void)
{
	Suite *s = suite_create("predictor");
	TCase *tc = tcase_create("hot_swap");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, predictions_equal_the_portable_core);
	tcase_add_test(tc, reload_swaps_a_good_model_and_bumps_the_generation);
	tcase_add_test(tc, reload_keeps_the_old_model_when_the_new_one_is_broken);
	tcase_add_test(tc, a_float_model_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
