/* Quantization measured against the float model it came from: the float
 * forward pass is the independent reference. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fm_fakequant.h"
#include "helpers.h"
#include "quant.h"
#include "suites.h"

static const uint32_t flashnet_widths[4] = {8, 128, 16, 1};

/* Calibrate on one random sample, test on another. */
static struct model *
quantized(const struct model *f, uint64_t calib_seed)
{
	struct quant_ranges r;
	char err[256];
	struct model *q;

	test_quant_ranges(f, 5000, calib_seed, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	ck_assert_msg(q != NULL, "quant_model: %s", err);
	return q;
}

/* Input rounding flips the inputs that lie within half an int8 step of
 * the boundary, so the flips that remain must all be near it: each one
 * has a float logit within 1.0 of zero (of a logit range near +-30). */
START_TEST(int8_decides_like_float_on_100k_random_inputs)
{
	struct model *f = test_trained_model();
	struct model *q = quantized(f, 7);
	uint64_t st = 1234;
	float *acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	int8_t scratch[QM_SCRATCH_BYTES];
	unsigned agree = 0, slow = 0, right = 0;
	float worst = 0.0f;
	enum { N = 100000 };

	for (int i = 0; i < N; i++) {
		int32_t x[8];
		float xf[8];
		struct qm_result r;
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			xf[j] = (float)x[j];
		float logit = fm_forward(&f->fm, xf, acts);
		int fd = logit > 0.0f;
		ck_assert_int_eq(qm_predict(&q->qm, x, 8, scratch, &r), 0);
		agree += fd == r.decision;
		if (fd != r.decision)
			worst = fmaxf(worst, fabsf(logit));
		slow += fd;
		right += fd == test_teacher(x);
	}
	printf("quant: int8 agrees with float on %u of %d random inputs, "
	       "float right on %u, slow on %u\n", agree, N, right, slow);
	/* The model must have learnt the rule, or agreeing proves little. */
	ck_assert_msg(right > N * 98 / 100, "float model right on %u of %d", right, N);
	ck_assert_msg(slow > N / 20 && slow < N / 3, "float slow on %u of %d", slow, N);
	ck_assert_msg(agree >= N * 999 / 1000, "agreement %u of %d (< 99.9%%)", agree, N);
	ck_assert_msg(worst < 1.0f, "a disagreement at float logit %.3f", worst);
	free(acts);
	model_free(q);
	model_free(f);
}
END_TEST

/* Every hidden layer's int8 output, dequantized, lies within a few
 * quantization steps of the float activation. */
START_TEST(int8_layers_track_float_layers)
{
	struct model *f = test_random_float_model(3, flashnet_widths, 99);
	struct model *q = quantized(f, 11);
	uint64_t st = 77;
	float *acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	int8_t a[QM_MAX_WIDTH], b[QM_MAX_WIDTH];
	double worst[QM_MAX_LAYERS] = {0};

	for (int i = 0; i < 2000; i++) {
		int32_t x[8];
		float xf[8];
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			xf[j] = (float)x[j];
		fm_forward(&f->fm, xf, acts);
		qm_input_eval(&q->qm, x, a);
		for (uint32_t l = 0; l + 1 < q->n_layers; l++) {
			const struct qm_layer *ql = &q->qm.layer[l];
			const float *ref = acts + fm_tensor_offset(&f->fm, l + 1);
			qm_dense_eval(ql, a, b);
			for (uint32_t c = 0; c < ql->n_out; c++) {
				double deq = q->ql[l].output_scale * (b[c] - ql->output_zp);
				double steps = fabs(deq - ref[c]) / q->ql[l].output_scale;
				worst[l] = fmax(worst[l], steps);
				a[c] = b[c];
			}
		}
	}
	/* Each layer adds about half a step of rounding and carries the
	 * error of the layers before it; 4 steps bounds the 8-128-16 stack. */
	for (uint32_t l = 0; l + 1 < q->n_layers; l++)
		ck_assert_msg(worst[l] < 4.0, "layer %u: off by %.2f steps", l, worst[l]);
	free(acts);
	model_free(q);
	model_free(f);
}
END_TEST

START_TEST(input_map_matches_float_normalisation)
{
	struct model *f = test_random_float_model(3, flashnet_widths, 5);
	struct model *q = quantized(f, 6);
	uint64_t st = 3;
	int8_t got[8];

	for (int i = 0; i < 10000; i++) {
		int32_t x[8];
		test_random_features(&st, x, 8);
		qm_input_eval(&q->qm, x, got);
		for (int j = 0; j < 8; j++) {
			double v = (x[j] - (double)f->fm.mean[j]) / f->fm.std[j];
			double want = round(v / q->input_scale[j]) + q->input_zp[j];
			want = fmin(127, fmax(-128, want));
			/* the integer map rounds exactly but for ties */
			ck_assert_msg(fabs(got[j] - want) <= 1.0,
				      "feature %d of %d: %d vs %.0f", j, x[j], got[j], want);
		}
	}
	model_free(q);
	model_free(f);
}
END_TEST

START_TEST(quantizer_refuses_non_finite_ranges)
{
	struct model *f = test_random_float_model(3, flashnet_widths, 1);
	struct quant_ranges r;
	char err[256];

	test_quant_ranges(f, 100, 2, &r);
	r.max[2] = NAN;
	ck_assert_ptr_null(quant_model(f, &r, "minmax", err, sizeof(err)));
	ck_assert_str_eq(err, "tensor 2: range is not finite");
	model_free(f);
}
END_TEST

/* The trainer's fake quantization must be what the int8 engine computes,
 * or fine-tuning against it optimises the wrong thing: its logit is ten
 * times closer to the int8 one than the float model's (mean 0.12 apart). */
START_TEST(fake_quantization_simulates_the_int8_engine)
{
	struct model *f = test_trained_model();
	struct quant_ranges r;
	struct model *q;
	struct fm_fq fq;
	char err[256];
	uint64_t st = 3;
	float *acts = malloc(fm_acts_len(&f->fm) * sizeof(float));
	uint8_t *pass = malloc(fm_acts_len(&f->fm));
	int8_t scratch[QM_SCRATCH_BYTES];
	unsigned agree = 0;
	double sum = 0.0;
	enum { N = 100000 };

	test_quant_ranges(f, 5000, 7, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(fm_fq_init(&fq, &f->fm, &r), 0);
	for (int i = 0; i < N; i++) {
		int32_t x[8];
		float xf[8];
		struct qm_result res;
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			xf[j] = (float)x[j];
		float z = fm_fq_forward(&fq, &f->fm, xf, acts, pass);
		qm_predict(&q->qm, x, 8, scratch, &res);
		double real = res.logit * (double)q->ql[2].input_scale * q->ql[2].weight_scale[0];
		agree += (z > 0.0f) == res.decision;
		sum += fabs(real - z);
	}
	ck_assert_msg(agree >= N * 9995 / 10000, "fake quantization agrees on %u of %d", agree, N);
	ck_assert_msg(sum / N < 0.012, "mean logit difference %.4f", sum / N);
	fm_fq_free(&fq);
	free(acts);
	free(pass);
	model_free(q);
	model_free(f);
}
END_TEST

Suite *
quant_suite(void)
{
	Suite *s = suite_create("quant");
	TCase *tc = tcase_create("against_float");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, int8_decides_like_float_on_100k_random_inputs);
	tcase_add_test(tc, int8_layers_track_float_layers);
	tcase_add_test(tc, input_map_matches_float_normalisation);
	tcase_add_test(tc, quantizer_refuses_non_finite_ranges);
	tcase_add_test(tc, fake_quantization_simulates_the_int8_engine);
	suite_add_tcase(s, tc);
	return s;
}
