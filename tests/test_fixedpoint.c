/* Fixed-point helpers against values computed by hand from the
 * definitions in gemmlowp's fixedpoint.h and TFLite's quantization_util. */
#include <check.h>
#include <stdint.h>

#include "fixedpoint.h"
#include "quant.h"
#include "suites.h"

#define TWO30 ((int32_t)1 << 30)

START_TEST(srdhm_saturates_int32_min_squared)
{
	ck_assert_int_eq(qm_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
}
END_TEST

START_TEST(srdhm_of_extremes)
{
	/* (2^31-1)^2 / 2^31 = 2^31 - 2 + (1 + 2^30) / 2^31: truncates */
	ck_assert_int_eq(qm_srdhm(INT32_MAX, INT32_MAX), 2147483646);
	/* -2^31 (2^31-1) / 2^31 = -(2^31 - 1) exactly */
	ck_assert_int_eq(qm_srdhm(INT32_MIN, INT32_MAX), -2147483647);
	ck_assert_int_eq(qm_srdhm(INT32_MAX, INT32_MIN), -2147483647);
	/* 2^60 / 2^31 = 2^29 */
	ck_assert_int_eq(qm_srdhm(TWO30, TWO30), 1 << 29);
}
END_TEST

START_TEST(srdhm_of_zero_and_tiny)
{
	ck_assert_int_eq(qm_srdhm(0, INT32_MAX), 0);
	ck_assert_int_eq(qm_srdhm(INT32_MIN, 0), 0);
	ck_assert_int_eq(qm_srdhm(1, 1), 0);   /* 2^-31 rounds to 0 */
	ck_assert_int_eq(qm_srdhm(-1, 1), 0);
}
END_TEST

START_TEST(srdhm_rounds_halves_up)
{
	/* a * b / 2^31 = +-0.5 and +-1.5: gemmlowp's nudge then truncation
	 * sends every half towards +infinity. */
	ck_assert_int_eq(qm_srdhm(32768, 32768), 1);
	ck_assert_int_eq(qm_srdhm(-32768, 32768), 0);
	ck_assert_int_eq(qm_srdhm(98304, 32768), 2);
	ck_assert_int_eq(qm_srdhm(-98304, 32768), -1);
	/* just past the halves */
	ck_assert_int_eq(qm_srdhm(32769, 32768), 1);
	ck_assert_int_eq(qm_srdhm(-32769, 32768), -1);
}
END_TEST

START_TEST(rdivpot_rounds_halves_away_from_zero)
{
	ck_assert_int_eq(qm_rdivpot(5, 1), 3);   /* 2.5 */
	ck_assert_int_eq(qm_rdivpot(-5, 1), -3); /* -2.5 */
	ck_assert_int_eq(qm_rdivpot(6, 2), 2);   /* 1.5 */
	ck_assert_int_eq(qm_rdivpot(-6, 2), -2); /* -1.5 */
	ck_assert_int_eq(qm_rdivpot(7, 2), 2);   /* 1.75 */
	ck_assert_int_eq(qm_rdivpot(-7, 2), -2);
	ck_assert_int_eq(qm_rdivpot(5, 2), 1);   /* 1.25 */
	ck_assert_int_eq(qm_rdivpot(-5, 2), -1);
	ck_assert_int_eq(qm_rdivpot(4, 1), 2);
	ck_assert_int_eq(qm_rdivpot(-4, 1), -2);
}
END_TEST

START_TEST(rdivpot_zero_and_extreme_shifts)
{
	ck_assert_int_eq(qm_rdivpot(12345, 0), 12345);
	ck_assert_int_eq(qm_rdivpot(INT32_MIN, 0), INT32_MIN);
	ck_assert_int_eq(qm_rdivpot(0, 31), 0);
	ck_assert_int_eq(qm_rdivpot(INT32_MAX, 31), 1);  /* 0.99999... */
	ck_assert_int_eq(qm_rdivpot(INT32_MIN, 31), -1); /* -1 exactly */
	ck_assert_int_eq(qm_rdivpot(TWO30, 31), 1);      /* 0.5 */
	ck_assert_int_eq(qm_rdivpot(-TWO30, 31), -1);    /* -0.5 */
	ck_assert_int_eq(qm_rdivpot(TWO30 - 1, 31), 0);
	ck_assert_int_eq(qm_rdivpot(-TWO30 + 1, 31), 0);
	ck_assert_int_eq(qm_rdivpot(INT32_MAX, 30), 2);  /* 1.99999... */
	ck_assert_int_eq(qm_rdivpot(INT32_MIN, 30), -2);
}
END_TEST

START_TEST(quantize_multiplier_of_exact_powers)
{
	int32_t m, s;

	quant_multiplier(0.5, &m, &s);
	ck_assert_int_eq(m, TWO30);
	ck_assert_int_eq(s, 0);
	quant_multiplier(1.0, &m, &s);
	ck_assert_int_eq(m, TWO30);
	ck_assert_int_eq(s, 1);
	quant_multiplier(0.25, &m, &s);
	ck_assert_int_eq(m, TWO30);
	ck_assert_int_eq(s, -1);
	quant_multiplier(0.75, &m, &s); /* 0.75 * 2^31 */
	ck_assert_int_eq(m, 1610612736);
	ck_assert_int_eq(s, 0);
	quant_multiplier(0.1, &m, &s); /* 0.8 * 2^-3; round(0.8 * 2^31) */
	ck_assert_int_eq(m, 1717986918);
	ck_assert_int_eq(s, -3);
}
END_TEST

START_TEST(quantize_multiplier_edges)
{
	int32_t m, s;

	quant_multiplier(0.0, &m, &s);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(s, 0);
	quant_multiplier(-1.0, &m, &s);
	ck_assert_int_eq(m, 0);
	/* q * 2^31 rounds up to 2^31: halve it and bump the exponent */
	quant_multiplier(1.0 - 0x1p-40, &m, &s);
	ck_assert_int_eq(m, TWO30);
	ck_assert_int_eq(s, 1);
	/* below 2^-32: flushes to zero, as TFLite */
	quant_multiplier(0x1p-40, &m, &s);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(s, 0);
	/* above 2^30: saturates */
	quant_multiplier(0x1p40, &m, &s);
	ck_assert_int_eq(m, INT32_MAX);
	ck_assert_int_eq(s, 30);
}
END_TEST

START_TEST(multiply_by_quantized_multiplier_by_hand)
{
	/* 1000 * 0.5: srdhm gives 500.5 truncated */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(1000, TWO30, 0), 500);
	/* 3 * 0.25 = 0.75 -> 1 */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(3, TWO30, -1), 1);
	/* 5 * 0.25 = 1.25, but TFLite rounds twice: srdhm 2.5 -> 3, then
	 * 3 / 2 = 1.5 -> 2. The double rounding is the reference behaviour. */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(5, TWO30, -1), 2);
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(-5, TWO30, -1), -1);
	/* 7 * 2 = 14 via a left shift */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(7, TWO30, 2), 14);
	/* multiplier 0 kills everything */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(INT32_MAX, 0, 0), 0);
}
END_TEST

START_TEST(left_shift_saturates_instead_of_overflowing)
{
	/* 2^30 << 2 saturates to 2^31 - 1; times 0.5 rounds to 2^30 */
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(TWO30, TWO30, 2), TWO30);
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(-TWO30, TWO30, 2), -TWO30);
	ck_assert_int_eq(qm_mul_by_quantized_multiplier(INT32_MIN, INT32_MAX, 30),
			 -2147483647);
}
END_TEST

START_TEST(quant_params_by_hand)
{
	float s;
	int32_t zp;

	/* [-1, 1]: scale 2/255, zero point -128 + 127.5 rounds away to -1 */
	quant_params(-1.0f, 1.0f, &s, &zp);
	ck_assert_float_eq_tol(s, 2.0f / 255.0f, 1e-9f);
	ck_assert_int_eq(zp, -1);
	quant_params(0.0f, 25.5f, &s, &zp);
	ck_assert_float_eq_tol(s, 0.1f, 1e-7f);
	ck_assert_int_eq(zp, -128);
	quant_params(-25.5f, 0.0f, &s, &zp);
	ck_assert_int_eq(zp, 127);
	/* a range that excludes 0 is widened to include it */
	quant_params(5.0f, 10.0f, &s, &zp);
	ck_assert_float_eq_tol(s, 10.0f / 255.0f, 1e-7f);
	ck_assert_int_eq(zp, -128);
	quant_params(0.0f, 0.0f, &s, &zp);
	ck_assert_float_eq(s, 1.0f);
}
END_TEST

Suite *
fixedpoint_suite(void)
{
	Suite *s = suite_create("fixedpoint");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, srdhm_saturates_int32_min_squared);
	tcase_add_test(tc, srdhm_of_extremes);
	tcase_add_test(tc, srdhm_of_zero_and_tiny);
	tcase_add_test(tc, srdhm_rounds_halves_up);
	tcase_add_test(tc, rdivpot_rounds_halves_away_from_zero);
	tcase_add_test(tc, rdivpot_zero_and_extreme_shifts);
	tcase_add_test(tc, quantize_multiplier_of_exact_powers);
	tcase_add_test(tc, quantize_multiplier_edges);
	tcase_add_test(tc, multiply_by_quantized_multiplier_by_hand);
	tcase_add_test(tc, left_shift_saturates_instead_of_overflowing);
	tcase_add_test(tc, quant_params_by_hand);
	suite_add_tcase(s, tc);
	return s;
}
