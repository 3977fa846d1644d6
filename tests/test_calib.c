/* Record-minmax calibration: ONE's reductions by hand, recordings against
 * the reference forward pass. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "calib_bias.h"
#include "fm_packed.h"
#include "helpers.h"
#include "suites.h"

static const uint32_t widths[4] = {8, 128, 16, 1};

START_TEST(moving_average_folds_batches_of_16)
{
	float v[40];

	for (int i = 0; i < 40; i++)
		v[i] = (float)(i + 1);
	/* batch maxima 16, 32, 40: 16 -> 16*0.9 + 32*0.1 = 17.6
	 * -> 17.6*0.9 + 40*0.1 = 19.84; minima 1, 17, 33 -> 2.6 -> 5.64 */
	ck_assert_float_eq_tol(calib_moving_average(v, 40, 16, 0.1f, 0), 19.84f, 1e-5f);
	ck_assert_float_eq_tol(calib_moving_average(v, 40, 16, 0.1f, 1), 5.64f, 1e-5f);
	/* fewer records than a batch: that batch's extreme */
	ck_assert_float_eq(calib_moving_average(v, 5, 16, 0.1f, 0), 5.0f);
}
END_TEST

static void
hand_recording(struct calib_recording *rec)
{
	static float mins[7] = {3.5f, -1.0f, 7.25f, 0.0f, 2.0f, 9.0f, 4.0f};
	static float maxs[7] = {13.5f, 9.0f, 17.25f, 10.0f, 12.0f, 19.0f, 14.0f};

	memset(rec, 0, sizeof(*rec));
	rec->n = 7;
	rec->n_tensors = 1;
	rec->min[0] = mins;
	rec->max[0] = maxs;
}

START_TEST(reductions_match_one_and_numpy)
{
	struct calib_recording rec;
	struct calib_options o;
	struct quant_ranges r;
	char err[128];

	hand_recording(&rec);
	calib_defaults(&o);
	o.mode = CALIB_MINMAX;
	ck_assert_int_eq(calib_reduce(&rec, &o, &r, err, sizeof(err)), 0);
	ck_assert_float_eq(r.min[0], -1.0f);
	ck_assert_float_eq(r.max[0], 19.0f);
	/* numpy.percentile(mins, 1) = -0.94, percentile(maxs, 99) = 18.895 */
	o.mode = CALIB_PERCENTILE;
	ck_assert_int_eq(calib_reduce(&rec, &o, &r, err, sizeof(err)), 0);
	ck_assert_float_eq_tol(r.min[0], -0.94f, 1e-5f);
	ck_assert_float_eq_tol(r.max[0], 18.895f, 1e-5f);
	/* one batch of 7 with the default batch of 16: plain min and max */
	o.mode = CALIB_MOVING_AVERAGE;
	ck_assert_int_eq(calib_reduce(&rec, &o, &r, err, sizeof(err)), 0);
	ck_assert_float_eq(r.min[0], -1.0f);
	ck_assert_float_eq(r.max[0], 19.0f);
	o.mode = CALIB_PERCENTILE;
	o.min_percentile = 50;
	o.max_percentile = 40;
	ck_assert_int_eq(calib_reduce(&rec, &o, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "percentiles must satisfy 0 <= min <= max <= 100");
}
END_TEST

START_TEST(mode_names_round_trip)
{
	enum calib_mode m;

	ck_assert_int_eq(calib_mode_parse("moving_average", &m), 0);
	ck_assert_int_eq(m, CALIB_MOVING_AVERAGE);
	ck_assert_str_eq(calib_mode_name(CALIB_PERCENTILE), "percentile");
	ck_assert_int_eq(calib_mode_parse("kl", &m), -1);
}
END_TEST

START_TEST(packed_forward_is_bit_equal_to_reference)
{
	struct model *f = test_random_float_model(3, widths, 4);
	struct fm_packed p;
	float *a = malloc(fm_acts_len(&f->fm) * sizeof(float));
	float *b = malloc(fm_acts_len(&f->fm) * sizeof(float));
	uint64_t st = 8;

	ck_assert_int_eq(fm_pack(&f->fm, &p), 0);
	for (int i = 0; i < 10000; i++) {
		int32_t x[8];
		float xf[8];
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			xf[j] = (float)x[j];
		fm_forward(&f->fm, xf, a);
		fm_forward_packed(&p, xf, b);
		ck_assert_mem_eq(a, b, fm_acts_len(&f->fm) * sizeof(float));
	}
	fm_packed_free(&p);
	free(a);
	free(b);
	model_free(f);
}
END_TEST

/* Each record's min and max of each tensor, recomputed here with the
 * reference forward pass. */
START_TEST(recording_holds_each_records_extremes)
{
	struct model *f = test_random_float_model(3, widths, 5);
	struct calib_recording rec;
	struct ds d;
	char err[256];
	uint64_t st = 9;
	float *acts = malloc(fm_acts_len(&f->fm) * sizeof(float));

	ck_assert_int_eq(ds_alloc(&d, 500, 8, 0), 0);
	for (size_t r = 0; r < d.n; r++) {
		int32_t x[8];
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			d.features[r * 8 + j] = (float)x[j];
	}
	ck_assert_int_eq(calib_record(f, &d, &rec, err, sizeof(err)), 0);
	ck_assert_uint_eq(rec.n, 500);
	ck_assert_uint_eq(rec.n_tensors, 4);
	for (size_t r = 0; r < d.n; r++) {
		fm_forward(&f->fm, d.features + r * 8, acts);
		for (uint32_t t = 0; t < 4; t++) {
			size_t lo = fm_tensor_offset(&f->fm, t);
			size_t hi = t < 3 ? fm_tensor_offset(&f->fm, t + 1) : fm_acts_len(&f->fm);
			float mn = INFINITY, mx = -INFINITY;
			for (size_t k = lo; k < hi; k++) {
				mn = fminf(mn, acts[k]);
				mx = fmaxf(mx, acts[k]);
			}
			ck_assert_float_eq(rec.min[t][r], mn);
			ck_assert_float_eq(rec.max[t][r], mx);
		}
		for (int j = 0; j < 8; j++)
			ck_assert_float_eq(rec.feature[j][r], acts[j]);
	}
	calib_recording_free(&rec);
	ds_free(&d);
	free(acts);
	model_free(f);
}
END_TEST

START_TEST(recording_refuses_bad_datasets)
{
	struct model *f = test_random_float_model(3, widths, 5);
	struct calib_recording rec;
	struct ds d;
	char err[256];

	ck_assert_int_eq(ds_alloc(&d, 0, 8, 0), 0);
	ck_assert_int_eq(calib_record(f, &d, &rec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the dataset has no records");
	ds_free(&d);
	ck_assert_int_eq(ds_alloc(&d, 3, 7, 0), 0);
	ck_assert_int_eq(calib_record(f, &d, &rec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the dataset has 7 features, the model 8");
	ds_free(&d);
	ck_assert_int_eq(ds_alloc(&d, 3, 8, 0), 0);
	memset(d.features, 0, 3 * 8 * sizeof(float));
	d.features[13] = NAN;
	ck_assert_int_eq(calib_record(f, &d, &rec, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "record 1: feature 5 is not finite");
	ds_free(&d);
	model_free(f);
}
END_TEST

/* After correction no channel of any layer is shifted on average by more
 * than half a step of its bias, on the data it was corrected with; before
 * it, some were. */
START_TEST(bias_correction_removes_mean_rounding_error)
{
	struct model *f = test_trained_model();
	struct quant_ranges r;
	struct model *q;
	struct ds d;
	char err[256];
	uint64_t st = 21;
	double mean[QM_MAX_WIDTH], before = 0.0, after = 0.0;

	test_quant_ranges(f, 5000, 7, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(ds_alloc(&d, 2000, 8, 0), 0);
	for (size_t i = 0; i < d.n; i++) {
		int32_t x[8];
		test_random_features(&st, x, 8);
		for (int j = 0; j < 8; j++)
			d.features[i * 8 + j] = (float)x[j];
	}
	for (uint32_t l = 0; l < q->n_layers; l++) {
		ck_assert_int_eq(calib_bias_error(f, q, &d, l, mean), 0);
		for (uint32_t c = 0; c < q->qm.layer[l].n_out; c++)
			before = fmax(before, fabs(mean[c]) / (q->ql[l].input_scale *
							     q->ql[l].weight_scale[c]));
	}
	ck_assert_int_eq(calib_bias_correct(f, q, &d, err, sizeof(err)), 0);
	for (uint32_t l = 0; l < q->n_layers; l++) {
		ck_assert_int_eq(calib_bias_error(f, q, &d, l, mean), 0);
		for (uint32_t c = 0; c < q->qm.layer[l].n_out; c++)
			after = fmax(after, fabs(mean[c]) / (q->ql[l].input_scale *
							   q->ql[l].weight_scale[c]));
	}
	ck_assert_msg(before > 1.0, "no channel was off by a bias step (%.2f)", before);
	ck_assert_msg(after <= 0.5 + 1e-6, "a channel still off by %.3f steps", after);
	ds_free(&d);
	model_free(q);
	model_free(f);
}
END_TEST

Suite *
calib_suite(void)
{
	Suite *s = suite_create("calib");
	TCase *tc = tcase_create("record_minmax");

	/* Training a model under the sanitizers takes seconds. */
	tcase_set_timeout(tc, 120);

	tcase_add_test(tc, moving_average_folds_batches_of_16);
	tcase_add_test(tc, reductions_match_one_and_numpy);
	tcase_add_test(tc, mode_names_round_trip);
	tcase_add_test(tc, packed_forward_is_bit_equal_to_reference);
	tcase_add_test(tc, recording_holds_each_records_extremes);
	tcase_add_test(tc, recording_refuses_bad_datasets);
	tcase_add_test(tc, bias_correction_removes_mean_rounding_error);
	suite_add_tcase(s, tc);
	return s;
}
