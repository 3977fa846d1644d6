/* The int8 operations on small examples worked out by hand. */
#include <check.h>
#include <string.h>

#include "model.h"
#include "qmodel.h"
#include "suites.h"

#define TWO30 ((int32_t)1 << 30)

/* 3 inputs, 4 outputs; input zero point -1, output zero point 5, every
 * channel's multiplier 0.25 (2^30 * 2^-31, shift -1). */
static const int8_t hand_w[4 * 3] = {
	1, -2, 3,
	127, -127, 0,
	-3, 0, 0,
	2, 0, 1,
};
static const int32_t hand_bias[4] = {10, -5, 0, 0};
static const int32_t hand_mult[4] = {TWO30, TWO30, TWO30, TWO30};
static const int32_t hand_shift[4] = {-1, -1, -1, -1};

static void
hand_layer(struct qm_layer *l, int32_t *acc_bias, int relu)
{
	memset(l, 0, sizeof(*l));
	l->n_in = 3;
	l->n_out = 4;
	l->weights = hand_w;
	l->bias = hand_bias;
	l->multiplier = hand_mult;
	l->shift = hand_shift;
	l->input_zp = -1;
	l->output_zp = 5;
	l->act_min = relu ? 5 : -128;
	l->act_max = 127;
	/* the fold qm_prepare makes: bias - input_zp * sum(w) */
	for (int c = 0; c < 4; c++) {
		int32_t sum = hand_w[3 * c] + hand_w[3 * c + 1] + hand_w[3 * c + 2];
		acc_bias[c] = hand_bias[c] + sum;
	}
	l->acc_bias = acc_bias;
}

/* Input q = [2, -3, 0], so q - zp = [3, -2, 1]. Accumulators:
 *   c0: 10 + 3 + 4 + 3      = 20  -> 20 * 0.25: srdhm 10.5 -> 10, /2 -> 5
 *   c1: -5 + 381 + 254 + 0  = 630 -> srdhm 315.5 -> 315, /2 = 157.5 -> 158
 *   c2: 0 - 9               = -9  -> srdhm -4.5 -> -4, /2 -> -2
 *   c3: 0 + 6 + 1           = 7   -> srdhm 3.5 -> 4, /2 -> 2
 * plus the output zero point 5: [10, 163, 3, 7], clamped to int8. */
START_TEST(dense_matches_hand_computation)
{
	struct qm_layer l;
	int32_t acc_bias[4];
	const int8_t in[3] = {2, -3, 0};
	int8_t out[4];

	hand_layer(&l, acc_bias, 0);
	ck_assert_int_eq(qm_dense_acc(&l, in, 0), 20);
	ck_assert_int_eq(qm_dense_acc(&l, in, 1), 630);
	ck_assert_int_eq(qm_dense_acc(&l, in, 2), -9);
	ck_assert_int_eq(qm_dense_acc(&l, in, 3), 7);
	qm_dense_eval(&l, in, out);
	ck_assert_int_eq(out[0], 10);
	ck_assert_int_eq(out[1], 127);
	ck_assert_int_eq(out[2], 3);
	ck_assert_int_eq(out[3], 7);
}
END_TEST

START_TEST(dense_relu_clamps_at_output_zero_point)
{
	struct qm_layer l;
	int32_t acc_bias[4];
	const int8_t in[3] = {2, -3, 0};
	int8_t out[4];

	hand_layer(&l, acc_bias, 1);
	qm_dense_eval(&l, in, out);
	ck_assert_int_eq(out[0], 10);
	ck_assert_int_eq(out[1], 127);
	ck_assert_int_eq(out[2], 5); /* 3 is below real zero: ReLU gives zp */
	ck_assert_int_eq(out[3], 7);
}
END_TEST

START_TEST(prepare_folds_input_zero_point_into_bias)
{
	/* the same layer through qm_prepare must fold as hand_layer did */
	static const uint32_t widths[3] = {3, 4, 1};
	struct model *m = model_new(MODEL_INT8, 2, widths);
	struct qm_layer *l;
	char err[256];

	ck_assert_ptr_nonnull(m);
	l = &m->qm.layer[0];
	memcpy((int8_t *)l->weights, hand_w, sizeof(hand_w));
	memcpy((int32_t *)l->bias, hand_bias, sizeof(hand_bias));
	memcpy((int32_t *)l->multiplier, hand_mult, sizeof(hand_mult));
	memcpy((int32_t *)l->shift, hand_shift, sizeof(hand_shift));
	l->input_zp = -1;
	l->output_zp = 5;
	m->ql[1].output_scale = 1.0f;
	for (int j = 0; j < 3; j++)
		((int32_t *)m->qm.input.shift)[j] = 0;
	ck_assert_int_eq(model_finish_int8(m, err, sizeof(err)), 0);
	ck_assert_int_eq(l->acc_bias[0], 10 + 2);
	ck_assert_int_eq(l->acc_bias[1], -5 + 0);
	ck_assert_int_eq(l->acc_bias[2], 0 - 3);
	ck_assert_int_eq(l->acc_bias[3], 0 + 3);
	model_free(m);
}
END_TEST

/* Input map with mul 3, add 2, shift 2: q = floor(0.75 x + 0.5). */
START_TEST(input_map_rounds_and_saturates)
{
	static const uint32_t widths[2] = {4, 1};
	struct model *m = model_new(MODEL_INT8, 1, widths);
	int8_t q[4];
	int32_t x[4] = {1, 2, -1, 1000};

	ck_assert_ptr_nonnull(m);
	for (int j = 0; j < 4; j++) {
		((int32_t *)m->qm.input.mul)[j] = 3;
		((int64_t *)m->qm.input.add)[j] = 2;
		((int32_t *)m->qm.input.shift)[j] = 2;
	}
	qm_input_eval(&m->qm, x, q);
	ck_assert_int_eq(q[0], 1);   /* 1.25 */
	ck_assert_int_eq(q[1], 2);   /* 2.0 */
	ck_assert_int_eq(q[2], -1);  /* -0.75 */
	ck_assert_int_eq(q[3], 127); /* 750.5 saturates */
	x[3] = -1000;
	qm_input_eval(&m->qm, x, q);
	ck_assert_int_eq(q[3], -128);
	/* the extreme the limits allow: (2^31-1)^2 + 2^62 stays in int64 */
	((int32_t *)m->qm.input.mul)[0] = INT32_MAX;
	((int64_t *)m->qm.input.add)[0] = QM_INPUT_ADD_MAX;
	((int32_t *)m->qm.input.shift)[0] = 62;
	x[0] = INT32_MAX;
	qm_input_eval(&m->qm, x, q);
	ck_assert_int_eq(q[0], 1); /* (2^63 - 2^32 + 1) >> 62 */
	x[0] = INT32_MIN;
	qm_input_eval(&m->qm, x, q);
	ck_assert_int_eq(q[0], 0); /* (-2^62 + 2^31 + 2^62) >> 62 */
	model_free(m);
}
END_TEST

/* A whole 2-2-1 model by hand. Input map identity (mul 1, shift 0).
 * Layer 0: w = [[2, 1], [-1, 3]], bias [4, 0], zp in 0 / out -10,
 * multiplier 0.5 (2^30, shift 0), ReLU. Layer 1: w = [[3, -2]], bias 6,
 * zp in -10, out 0, multiplier 0.5, output scale 1/16.
 * x = [10, 20]: acc0 = 4 + 20 + 20 = 44 -> 22 - 10 = 12;
 *               acc1 = 0 - 10 + 60 = 50 -> 25 - 10 = 15.
 * logit acc = 6 + 3 (12 + 10) - 2 (15 + 10) = 22 -> decision slow;
 * int8 logit = round(22 * 0.5) = 11: p = sigmoid(11 / 16) = 0.66533,
 * score = round(0.66533 * 256) = 170. */
START_TEST(model_matches_hand_computation)
{
	static const uint32_t widths[3] = {2, 2, 1};
	static const int8_t w0[4] = {2, 1, -1, 3};
	static const int8_t w1[2] = {3, -2};
	struct model *m = model_new(MODEL_INT8, 2, widths);
	struct qm_layer *l0, *l1;
	int8_t scratch[QM_SCRATCH_BYTES];
	struct qm_result r;
	int32_t x[2] = {10, 20};
	char err[256];

	ck_assert_ptr_nonnull(m);
	for (int j = 0; j < 2; j++)
		((int32_t *)m->qm.input.mul)[j] = 1;
	l0 = &m->qm.layer[0];
	l1 = &m->qm.layer[1];
	memcpy((int8_t *)l0->weights, w0, 4);
	((int32_t *)l0->bias)[0] = 4;
	for (int c = 0; c < 2; c++)
		((int32_t *)l0->multiplier)[c] = TWO30;
	l0->output_zp = -10;
	l0->act_min = -10;
	memcpy((int8_t *)l1->weights, w1, 2);
	((int32_t *)l1->bias)[0] = 6;
	((int32_t *)l1->multiplier)[0] = TWO30;
	l1->input_zp = -10;
	m->ql[1].output_scale = 1.0f / 16.0f;
	ck_assert_int_eq(model_finish_int8(m, err, sizeof(err)), 0);

	ck_assert_int_eq(qm_predict_portable(&m->qm, x, 2, scratch, &r), 0);
	ck_assert_int_eq(r.logit, 22);
	ck_assert_int_eq(r.decision, 1);
	ck_assert_int_eq(r.score, 170);
	ck_assert_int_eq(qm_predict(&m->qm, x, 2, scratch, &r), 0);
	ck_assert_int_eq(r.score, 170);
	/* x = [0, 0]: acc0 = 4 -> 2 - 10 = -8; acc1 = 0 -> -10 (ReLU floor);
	 * logit = 6 + 3 * 2 - 2 * 0 = 12 -> 6: sigmoid(6/16) = 0.59267 -> 152 */
	x[0] = x[1] = 0;
	qm_predict_portable(&m->qm, x, 2, scratch, &r);
	ck_assert_int_eq(r.logit, 12);
	ck_assert_int_eq(r.score, 152);
	model_free(m);
}
END_TEST

START_TEST(predict_refuses_other_feature_counts)
{
	static const uint32_t widths[2] = {8, 1};
	struct model *m = model_new(MODEL_INT8, 1, widths);
	int8_t scratch[QM_SCRATCH_BYTES];
	struct qm_result r;
	int32_t x[9] = {0};
	char err[256];

	ck_assert_ptr_nonnull(m);
	m->ql[0].output_scale = 1.0f;
	ck_assert_int_eq(model_finish_int8(m, err, sizeof(err)), 0);
	ck_assert_int_eq(qm_predict(&m->qm, x, 7, scratch, &r), QM_ESHAPE);
	ck_assert_int_eq(qm_predict(&m->qm, x, 9, scratch, &r), QM_ESHAPE);
	ck_assert_int_eq(qm_predict_portable(&m->qm, x, 1, scratch, &r), QM_ESHAPE);
	ck_assert_int_eq(qm_predict(&m->qm, x, 8, scratch, &r), 0);
	model_free(m);
}
END_TEST

START_TEST(validate_names_the_bad_layer)
{
	static const uint32_t widths[3] = {8, 4, 1};
	struct model *m = model_new(MODEL_INT8, 2, widths);
	int where;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_OK);
	((int32_t *)m->qm.layer[1].shift)[0] = 31;
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_ESHIFT);
	ck_assert_int_eq(where, 1);
	((int32_t *)m->qm.layer[1].shift)[0] = -32;
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_ESHIFT);
	((int32_t *)m->qm.layer[1].shift)[0] = 0;
	((int8_t *)m->qm.layer[0].weights)[5] = -128;
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_EWEIGHT);
	ck_assert_int_eq(where, 0);
	((int8_t *)m->qm.layer[0].weights)[5] = 0;
	((int32_t *)m->qm.layer[0].bias)[2] = (1 << 30) + 1;
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_EBIAS);
	((int32_t *)m->qm.layer[0].bias)[2] = 0;
	m->qm.layer[1].n_in = 5; /* widths no longer chain */
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_ESHAPE);
	ck_assert_int_eq(where, 1);
	m->qm.layer[1].n_in = 4;
	((int32_t *)m->qm.input.shift)[3] = 63;
	ck_assert_int_eq(qm_validate(&m->qm, &where), QM_ESHIFT);
	ck_assert_int_eq(where, -1);
	model_free(m);
}
END_TEST

Suite *
dense_suite(void)
{
	Suite *s = suite_create("dense");
	TCase *tc = tcase_create("by_hand");

	tcase_add_test(tc, dense_matches_hand_computation);
	tcase_add_test(tc, dense_relu_clamps_at_output_zero_point);
	tcase_add_test(tc, prepare_folds_input_zero_point_into_bias);
	tcase_add_test(tc, input_map_rounds_and_saturates);
	tcase_add_test(tc, model_matches_hand_computation);
	tcase_add_test(tc, predict_refuses_other_feature_counts);
	tcase_add_test(tc, validate_names_the_bad_layer);
	suite_add_tcase(s, tc);
	return s;
}
