/* STATS: histogram buckets by hand, and both renderings. */
#include <check.h>
#include <string.h>

#include "stats.h"
#include "suites.h"

START_TEST(latencies_fall_in_power_of_two_buckets)
{
	struct stats s;

	memset(&s, 0, sizeof(s));
	stats_observe_latency(&s, 0);       /* 0 us: bucket le 1 */
	stats_observe_latency(&s, 1000);    /* 1 us: le 1 */
	stats_observe_latency(&s, 1001);    /* 1.001 us rounds up to 2: le 2 */
	stats_observe_latency(&s, 2000);    /* le 2 */
	stats_observe_latency(&s, 3000);    /* le 4 */
	stats_observe_latency(&s, 1000000); /* 1 ms: le 1024 */
	stats_observe_latency(&s, (uint64_t)60 * 1000000000); /* 60 s: +Inf */
	ck_assert_uint_eq(s.latency_bucket[0], 2);
	ck_assert_uint_eq(s.latency_bucket[1], 2);
	ck_assert_uint_eq(s.latency_bucket[2], 1);
	ck_assert_uint_eq(s.latency_bucket[10], 1);
	ck_assert_uint_eq(s.latency_bucket[STATS_BUCKETS - 1], 1);
	ck_assert_uint_eq(s.latency_count, 7);
	ck_assert_uint_eq(s.latency_sum_ns, 0 + 1000 + 1001 + 2000 + 3000 + 1000000 +
						    (uint64_t)60 * 1000000000);
	ck_assert_uint_eq(stats_bucket_bound_us(10), 1024);
	ck_assert_uint_eq(stats_bucket_bound_us(STATS_BUCKETS - 1), 0);
}
END_TEST

START_TEST(json_holds_every_counter)
{
	struct stats s;
	char buf[4096];

	memset(&s, 0, sizeof(s));
	s.connections_open = 2;
	s.connections_total = 5;
	s.frames = 40;
	s.predictions = 100;
	s.slow_predictions = 7;
	s.errors[5] = 3;
	s.reloads = 1;
	stats_observe_latency(&s, 1500);
	ck_assert_int_gt(stats_json(&s, 4, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"model_generation\": 4, \"connections_open\": 2, "
					  "\"connections_total\": 5, \"frames\": 40, "
					  "\"predictions\": 100, \"slow_predictions\": 7, "
					  "\"reloads\": 1, \"reload_failures\": 0"));
	ck_assert_ptr_nonnull(strstr(buf, "\"5\": 3, \"6\": 0"));
	ck_assert_ptr_nonnull(strstr(buf, "\"count\": 1, \"sum_ns\": 1500"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"le\": 2, \"count\": 1}"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"le\": null, \"count\": 0}]}}"));
	ck_assert_int_eq(stats_json(&s, 4, buf, 32), -1);
}
END_TEST

START_TEST(prometheus_buckets_are_cumulative_and_typed)
{
	struct stats s;
	char buf[8192];

	memset(&s, 0, sizeof(s));
	s.predictions = 9;
	s.errors[1] = 2;
	stats_observe_latency(&s, 500);     /* le 1 us */
	stats_observe_latency(&s, 3000);    /* le 4 us */
	stats_observe_latency(&s, 3500);    /* le 4 us */
	ck_assert_int_gt(stats_prometheus(&s, 2, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE iolatd_predictions_total counter\n"
					  "iolatd_predictions_total 9\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_model_generation 2\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_errors_total{code=\"1\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE iolatd_request_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_request_seconds_bucket{le=\"0.000001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_request_seconds_bucket{le=\"0.000002\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_request_seconds_bucket{le=\"0.000004\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_request_seconds_bucket{le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "iolatd_request_seconds_sum 0.000007000\n"
					  "iolatd_request_seconds_count 3\n"));
	ck_assert_int_eq(stats_prometheus(&s, 2, buf, 100), -1);
}
END_TEST

Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("counters");

	tcase_add_test(tc, latencies_fall_in_power_of_two_buckets);
	tcase_add_test(tc, json_holds_every_counter);
	tcase_add_test(tc, prometheus_buckets_are_cumulative_and_typed);
	suite_add_tcase(s, tc);
	return s;
}
