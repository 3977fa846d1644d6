/* Features and labels, against hand computations and an independent
 * Python/numpy reading of the shared traces (values pasted below). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "feat.h"
#include "helpers.h"
#include "label.h"
#include "suites.h"
#include "trace.h"
#include "trainset.h"

START_TEST(features_of_an_empty_history_are_zero)
{
	struct feat_history h;
	int32_t f[FEAT_N];

	feat_history_init(&h);
	feat_vector(&h, 1, 4096, f);
	ck_assert_int_eq(f[0], 1);
	ck_assert_int_eq(f[1], 4096);
	for (int j = 2; j < FEAT_N; j++)
		ck_assert_int_eq(f[j], 0);
}
END_TEST

START_TEST(history_keeps_three_newest_first)
{
	struct feat_history h;
	int32_t f[FEAT_N];

	feat_history_init(&h);
	feat_record(&h, 4096, 100);  /* 40960 B/ms */
	feat_record(&h, 65536, 200); /* 327680 B/ms */
	feat_record(&h, 512, 3);     /* 170666 B/ms */
	feat_record(&h, 8192, 0);    /* latency 0 counts as 1: 8192000 */
	feat_vector(&h, 0, 1024, f);
	ck_assert_int_eq(f[0], 0);
	ck_assert_int_eq(f[1], 1024);
	ck_assert_int_eq(f[2], 0);
	ck_assert_int_eq(f[3], 3);
	ck_assert_int_eq(f[4], 200);
	ck_assert_int_eq(f[5], 8192000);
	ck_assert_int_eq(f[6], 170666);
	ck_assert_int_eq(f[7], 327680);
}
END_TEST

START_TEST(features_saturate_at_int32_max)
{
	struct feat_history h;
	int32_t f[FEAT_N];

	feat_history_init(&h);
	feat_record(&h, 1ULL << 40, 5000000000ULL);
	feat_vector(&h, 1, 1ULL << 33, f);
	ck_assert_int_eq(f[1], INT32_MAX);
	ck_assert_int_eq(f[2], INT32_MAX);
	ck_assert_int_eq(f[5], 219902); /* 2^40 * 1000 / 5e9 */
	ck_assert_int_eq(feat_throughput(1ULL << 40, 1), INT32_MAX);
	ck_assert_int_eq(feat_throughput(UINT64_MAX, 1), INT32_MAX);
}
END_TEST

START_TEST(percentile_matches_numpy)
{
	/* numpy.percentile([3.5, -1, 7.25, 0, 2, 9, 4], p) */
	static const float v[7] = {3.5f, -1.0f, 7.25f, 0.0f, 2.0f, 9.0f, 4.0f};

	ck_assert_double_eq_tol(label_percentile(v, 7, 0.0), -1.0, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 7, 1.0), -0.94, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 7, 37.5), 2.375, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 7, 50.0), 3.5, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 7, 99.0), 8.895, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 7, 100.0), 9.0, 1e-6);
	ck_assert_double_eq_tol(label_percentile(v, 1, 99.0), 3.5, 1e-6);
}
END_TEST

START_TEST(inflection_point_matches_flashnet_on_a_synthetic_series)
{
	/* 150 fast reads of 100..149 us and 50 slow of 2000..4999 us; FlashNet's
	 * tangent_based() in numpy gives 149. */
	uint32_t lat[200];

	for (int i = 0; i < 150; i++)
		lat[i] = 100 + (i * 37) % 50;
	for (int i = 0; i < 50; i++)
		lat[150 + i] = 2000 + (i * 91) % 3000;
	ck_assert_uint_eq(label_inflection_point(lat, 200), 149);
	ck_assert_uint_eq(label_inflection_point(lat, 0), 0);
}
END_TEST

static const struct {
	const char *name;
	size_t reads;
	uint32_t threshold; /* numpy tangent_based over the reads' latencies */
} replayed[] = {
	{"tencent.cut.per_50k.most_rand_iops.537.trace", 41036, 2170},
	{"tencent.cut.per_50k.most_size_thpt.222.trace", 41638, 2847},
	{"tencent.cut.per_50k.rw_60_40.490.trace", 30012, 2440},
};

START_TEST(inflection_points_of_the_shared_traces_match_flashnet)
{
	const char *dir = test_data_dir();
	char path[4200], err[256];

	if (dir == NULL) {
		printf("feat: ../shared/data absent, shared-trace test skipped\n");
		return;
	}
	for (size_t i = 0; i < sizeof(replayed) / sizeof(replayed[0]); i++) {
		struct trace t;
		snprintf(path, sizeof(path), "%s/%s", dir, replayed[i].name);
		ck_assert_msg(trace_read(path, &t, err, sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(t.n_reads, replayed[i].reads);
		uint32_t *lat = trainset_read_latencies(&t);
		ck_assert_uint_eq(label_inflection_point(lat, t.n_reads),
				  replayed[i].threshold);
		free(lat);
		trace_free(&t);
	}
}
END_TEST

/* Reads of tencent...537 as an independent Python reading computes them:
 * history over every I/O in file order. */
START_TEST(trace_features_match_an_independent_reading)
{
	static const struct {
		size_t read;
		int32_t f[FEAT_N];
		uint32_t latency;
	} want[] = {
		{0, {1, 4096, 0, 0, 0, 0, 0, 0}, 134},
		{1, {1, 4096, 134, 0, 0, 30567, 0, 0}, 106},
		{3, {1, 65536, 124, 106, 134, 33032, 38641, 30567}, 235},
		{1000, {1, 4096, 619, 2437, 2626, 6617, 1680, 6239}, 649},
		{41035, {1, 4096, 3672, 3665, 3618, 1115, 1117, 1132}, 3717},
	};
	const char *dir = test_data_dir();
	char path[4200], err[256];
	struct trace t;
	struct ds d;

	if (dir == NULL) {
		printf("feat: ../shared/data absent, shared-trace test skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, replayed[0].name);
	ck_assert_msg(trace_read(path, &t, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(trainset_from_trace(&t, 2170, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.n, 41036);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		for (int j = 0; j < FEAT_N; j++)
			ck_assert_float_eq(d.features[want[k].read * FEAT_N + j],
					   (float)want[k].f[j]);
		ck_assert_uint_eq(d.latency_us[want[k].read], want[k].latency);
		ck_assert_uint_eq(d.labels[want[k].read], want[k].latency > 2170);
	}
	ds_free(&d);
	trace_free(&t);
}
END_TEST

Suite *
feat_suite(void)
{
	Suite *s = suite_create("feat");
	TCase *tc = tcase_create("features_and_labels");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, features_of_an_empty_history_are_zero);
	tcase_add_test(tc, history_keeps_three_newest_first);
	tcase_add_test(tc, features_saturate_at_int32_max);
	tcase_add_test(tc, percentile_matches_numpy);
	tcase_add_test(tc, inflection_point_matches_flashnet_on_a_synthetic_series);
	tcase_add_test(tc, inflection_points_of_the_shared_traces_match_flashnet);
	tcase_add_test(tc, trace_features_match_an_independent_reading);
	suite_add_tcase(s, tc);
	return s;
}
