/* STATS: histogram buckets by hand, both renderings, and parsing the JSON
 * back (what iolatd stats does with the daemon's reply). */
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

/* Every field distinct and some at their limits, so a swap shows. */
static void
fill_distinct(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	s->connections_open = 3;
	s->connections_total = 1000001;
	s->frames = 77;
	s->predictions = 123456789012ULL;
	s->slow_predictions = 4242;
	s->reloads = 5;
	s->reload_failures = 6;
	for (int c = 1; c < STATS_ERROR_CODES; c++)
		s->errors[c] = (uint64_t)c * 11;
	s->latency_count = UINT64_MAX;
	s->latency_sum_ns = 987654321;
	for (int k = 0; k < STATS_BUCKETS; k++)
		s->latency_bucket[k] = (uint64_t)k * 1000 + 7;
}

START_TEST(parse_json_round_trips_every_field)
{
	struct stats in, out;
	uint32_t gen = 0;
	char buf[4096];
	int n;

	fill_distinct(&in);
	n = stats_json(&in, UINT32_MAX, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	memset(&out, 0xA5, sizeof(out));
	ck_assert_int_eq(stats_parse_json(buf, (size_t)n, &out, &gen), 0);
	ck_assert_uint_eq(gen, UINT32_MAX);
	ck_assert_uint_eq(out.errors[0], 0);
	ck_assert_mem_eq(&out, &in, sizeof(in));

	/* All zero, and a trailing newline as 'iolatd stats --json' prints. */
	memset(&in, 0, sizeof(in));
	n = stats_json(&in, 1, buf, sizeof(buf) - 1);
	buf[n] = '\n';
	ck_assert_int_eq(stats_parse_json(buf, (size_t)n + 1, &out, NULL), 0);
	ck_assert_mem_eq(&out, &in, sizeof(in));
}
END_TEST

START_TEST(parse_json_refuses_truncated_input)
{
	struct stats in, out, before;
	uint32_t gen = 99;
	char buf[4096];
	int n;

	fill_distinct(&in);
	n = stats_json(&in, 4, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	memset(&out, 0x5A, sizeof(out));
	before = out;
	/* Every proper prefix is refused, and leaves the outputs alone. */
	for (int len = 0; len < n; len++)
		ck_assert_msg(stats_parse_json(buf, (size_t)len, &out, &gen) == -1,
			      "prefix of %d of %d bytes accepted", len, n);
	ck_assert_mem_eq(&out, &before, sizeof(out));
	ck_assert_uint_eq(gen, 99);
	ck_assert_int_eq(stats_parse_json(NULL, 0, &out, &gen), -1);
}
END_TEST

/* Replaces the first occurrence of from in buf by to; the result must fit. */
static void
edit(char *buf, size_t cap, const char *from, const char *to)
{
	char *at = strstr(buf, from);
	size_t tail;

	ck_assert_ptr_nonnull(at);
	tail = strlen(at + strlen(from));
	ck_assert_uint_lt(strlen(buf) - strlen(from) + strlen(to), cap);
	memmove(at + strlen(to), at + strlen(from), tail + 1);
	memcpy(at, to, strlen(to));
}

START_TEST(parse_json_refuses_garbled_input)
{
	static const char *const garbles[][2] = {
		{"\"frames\": 40", "\"frames\": -40"},         /* sign */
		{"\"frames\": 40", "\"frames\": 4.0"},         /* fraction */
		{"\"frames\": 40", "\"frames\": 040"},         /* leading zero */
		{"\"frames\": 40", "\"frames\": \"40\""},      /* string */
		{"\"frames\": 40", "\"frames\": 18446744073709551616"}, /* 2^64 */
		{"\"model_generation\": 4", "\"model_generation\": 4294967296"},
		{"\"frames\": 40, \"predictions\": 100", "\"predictions\": 100, \"frames\": 40"},
		{"\"frames\"", "\"Frames\""},                  /* key */
		{"\"9\": 0}", "\"9\": 0, \"10\": 0}"},           /* extra error code */
		{", \"9\": 0", ""},                             /* missing error code */
		{"{\"le\": 2,", "{\"le\": 3,"},                  /* wrong bound */
		{"{\"le\": null", "{\"le\": 8388609"},         /* last bound not null */
		{"]}}", "]}"},                                  /* unclosed */
		{"]}}", "]}}}"},                                /* trailing garbage */
		{"]}}", "]}} x"},
		{"{\"model", "[{\"model"},
	};
	struct stats s, out;
	char buf[4096];

	memset(&s, 0, sizeof(s));
	s.frames = 40;
	s.predictions = 100;
	for (size_t i = 0; i < sizeof(garbles) / sizeof(garbles[0]); i++) {
		ck_assert_int_gt(stats_json(&s, 4, buf, sizeof(buf)), 0);
		ck_assert_int_eq(stats_parse_json(buf, strlen(buf), &out, NULL), 0);
		edit(buf, sizeof(buf), garbles[i][0], garbles[i][1]);
		ck_assert_msg(stats_parse_json(buf, strlen(buf), &out, NULL) == -1,
			      "garble %zu accepted: %s", i, buf);
	}
	/* A NUL inside the given length is garbage too. */
	ck_assert_int_gt(stats_json(&s, 4, buf, sizeof(buf)), 0);
	buf[strlen(buf) + 1] = '\0';
	ck_assert_int_eq(stats_parse_json(buf, strlen(buf) + 1, &out, NULL), -1);
}
END_TEST

START_TEST(parse_json_allows_free_whitespace)
{
	static const char text[] =
		" {\n  \"model_generation\":7,\"connections_open\" : 1 ,"
		"\"connections_total\":2,\"frames\":3,\"predictions\":4,"
		"\"slow_predictions\":5,\"reloads\":6,\"reload_failures\":0,"
		"\"errors\":{\"1\":1,\"2\":0,\"3\":0,\"4\":0,\"5\":0,\"6\":0,"
		"\"7\":0,\"8\":0,\"9\":9},\t\"latency_us\":{\"count\":2,\"sum_ns\":3000,"
		"\"buckets\":[{\"le\":1,\"count\":0},{\"le\":2,\"count\":2},"
		"{\"le\":4,\"count\":0},{\"le\":8,\"count\":0},{\"le\":16,\"count\":0},"
		"{\"le\":32,\"count\":0},{\"le\":64,\"count\":0},{\"le\":128,\"count\":0},"
		"{\"le\":256,\"count\":0},{\"le\":512,\"count\":0},"
		"{\"le\":1024,\"count\":0},{\"le\":2048,\"count\":0},"
		"{\"le\":4096,\"count\":0},{\"le\":8192,\"count\":0},"
		"{\"le\":16384,\"count\":0},{\"le\":32768,\"count\":0},"
		"{\"le\":65536,\"count\":0},{\"le\":131072,\"count\":0},"
		"{\"le\":262144,\"count\":0},{\"le\":524288,\"count\":0},"
		"{\"le\":1048576,\"count\":0},{\"le\":2097152,\"count\":0},"
		"{\"le\":4194304,\"count\":0},{\"le\":null,\"count\":0}]}}\n";
	struct stats s;
	uint32_t gen;

	ck_assert_int_eq(stats_parse_json(text, sizeof(text) - 1, &s, &gen), 0);
	ck_assert_uint_eq(gen, 7);
	ck_assert_uint_eq(s.connections_open, 1);
	ck_assert_uint_eq(s.errors[9], 9);
	ck_assert_uint_eq(s.latency_bucket[1], 2);
	ck_assert_uint_eq(s.latency_sum_ns, 3000);
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
	tcase_add_test(tc, parse_json_round_trips_every_field);
	tcase_add_test(tc, parse_json_refuses_truncated_input);
	tcase_add_test(tc, parse_json_refuses_garbled_input);
	tcase_add_test(tc, parse_json_allows_free_whitespace);
	suite_add_tcase(s, tc);
	return s;
}
