/* Traces: both formats parse to the values written by hand, and every
 * malformed line is refused with "FILE:LINE: what". The shared traces,
 * when present, read to the counts of their .stats files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_helpers.h"
#include "helpers.h"
#include "suites.h"
#include "trace.h"

#define PATH_LEN 4200

/* Writes text to t.trace in the test directory; returns its path. */
static const char *
write_trace(const char *text)
{
	return test_write_file("t.trace", text, strlen(text));
}

static void
read_ok(const char *path, struct trace *t)
{
	char err[512];

	ck_assert_msg(trace_read(path, t, err, sizeof(err)) == 0, "%s", err);
}

/* trace_read refuses path with one line "path:LINE: ..." (or "path: ..."
 * for line 0) holding every fragment, and leaves t empty. */
#define assert_rejected(path, line, ...) \
	assert_rejected_((path), (line), (const char *const[]){__VA_ARGS__, NULL})

static void
assert_rejected_(const char *path, unsigned line, const char *const *parts)
{
	char err[512] = "untouched", prefix[PATH_LEN + 32];
	struct trace t = {TRACE_RAW, (struct trace_io *)&t, 99, 99};

	ck_assert_int_eq(trace_read(path, &t, err, sizeof(err)), -1);
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		      "message does not start with \"%s\": %s", prefix, err);
	for (; *parts; parts++)
		ck_assert_msg(strstr(err, *parts) != NULL, "\"%s\" not in: %s",
			      *parts, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
	ck_assert_ptr_null(t.io);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.n_reads, 0);
}

/* ---- good traces ---- */

START_TEST(parses_every_field_of_a_replayed_trace)
{
	struct trace t;

	read_ok(write_trace("0.000,134,1,4096,42242048,0.100,4096\n"
			    "12.5,4294967295,0,524288,18446744073709551615,13.0,0\n"
			    "1e3,0,1,0,0,1000.25,4096\n"),
		&t);
	ck_assert_int_eq(t.format, TRACE_REPLAYED);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.n_reads, 2);
	ck_assert(t.io[0].ts_ms == 0.0);
	ck_assert_uint_eq(t.io[0].latency_us, 134);
	ck_assert_uint_eq(t.io[0].io_type, 1);
	ck_assert_uint_eq(t.io[0].size, 4096);
	ck_assert_uint_eq(t.io[0].offset, 42242048);
	ck_assert(t.io[1].ts_ms == 12.5);
	ck_assert_uint_eq(t.io[1].latency_us, UINT32_MAX);
	ck_assert_uint_eq(t.io[1].io_type, 0);
	ck_assert_uint_eq(t.io[1].size, 524288);
	ck_assert_uint_eq(t.io[1].offset, UINT64_MAX);
	ck_assert(t.io[2].ts_ms == 1000.0);
	ck_assert_uint_eq(t.io[2].latency_us, 0);
	ck_assert_uint_eq(t.io[2].size, 0);
	trace_free(&t);
	ck_assert_ptr_null(t.io);
	ck_assert_uint_eq(t.n, 0);
}
END_TEST

START_TEST(parses_every_field_of_a_raw_trace)
{
	struct trace t;

	read_ok(write_trace("0.00000 0 486701592576 1024 1\n"
			    "373.94074 3 720749690880 65536 0\n"
			    "  862.5\t0   608743305216\t4096 1  \n"),
		&t);
	ck_assert_int_eq(t.format, TRACE_RAW);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.n_reads, 2);
	ck_assert(t.io[0].ts_ms == 0.0);
	ck_assert_uint_eq(t.io[0].offset, 486701592576ULL);
	ck_assert_uint_eq(t.io[0].size, 1024);
	ck_assert_uint_eq(t.io[0].io_type, 1);
	ck_assert_uint_eq(t.io[0].latency_us, 0);
	ck_assert(t.io[1].ts_ms == 373.94074);
	ck_assert_uint_eq(t.io[1].offset, 720749690880ULL);
	ck_assert_uint_eq(t.io[1].size, 65536);
	ck_assert_uint_eq(t.io[1].io_type, 0);
	ck_assert(t.io[2].ts_ms == 862.5);
	ck_assert_uint_eq(t.io[2].offset, 608743305216ULL);
	ck_assert_uint_eq(t.io[2].size, 4096);
	trace_free(&t);
}
END_TEST

START_TEST(accepts_crlf_line_ends)
{
	struct trace t;

	read_ok(write_trace("0.000,134,1,4096,42242048,0.100,4096\r\n"
			    "0.5,77,0,512,0,0.6,512\r\n"),
		&t);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.io[0].size, 4096);
	ck_assert_uint_eq(t.io[1].latency_us, 77);
	trace_free(&t);
}
END_TEST

START_TEST(skips_blank_lines_but_counts_them)
{
	struct trace t;
	const char *path;

	read_ok(write_trace("\n0.0 0 8 512 1\n  \n\t\r\n1.0 0 16 512 0\n\n"), &t);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.io[1].offset, 16);
	trace_free(&t);
	path = write_trace("\n0.0 0 8 512 1\n\n\n1.0 0 16 512 x\n");
	assert_rejected(path, 5, "field 5 (rw)");
}
END_TEST

START_TEST(accepts_complete_last_line_without_newline)
{
	struct trace t;

	read_ok(write_trace("0.0,1,1,512,0,0.1,512\n1.0,2,1,1024,0,1.1,1024"), &t);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.io[1].size, 1024);
	ck_assert_uint_eq(t.io[1].latency_us, 2);
	trace_free(&t);
}
END_TEST

START_TEST(reads_from_a_stream_under_the_given_name)
{
	static char text[] = "0.0,1,1,512,0,0.1,512\n1.0,2,7,1024,0,1.1,1024\n";
	char err[256];
	struct trace t;
	FILE *f = fmemopen(text, strlen(text), "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(trace_read_stream(f, "<stdin>", &t, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "<stdin>:2: field 3 (io_type): expected 0 (write) "
			      "or 1 (read) (\"7\")");
	fclose(f);
}
END_TEST

/* A large trace grows its array many times over. */
START_TEST(reads_many_lines_in_order)
{
	enum { N = 100000 };
	char *text = malloc((size_t)N * 48), *p = text;
	const char *path;
	struct trace t;

	for (int i = 0; i < N; i++)
		p += sprintf(p, "%d.5,%d,%d,%d,%d,1.0,4096\n", i, i * 3, i % 3 == 0,
			     i % 4096, i);
	path = test_write_file("big.trace", text, (size_t)(p - text));
	free(text);
	read_ok(path, &t);
	ck_assert_uint_eq(t.n, N);
	ck_assert_uint_eq(t.n_reads, (N + 2) / 3);
	for (int i = 0; i < N; i++) {
		ck_assert(t.io[i].ts_ms == i + 0.5);
		ck_assert_uint_eq(t.io[i].latency_us, (uint32_t)i * 3);
		ck_assert_uint_eq(t.io[i].offset, (uint64_t)i);
	}
	trace_free(&t);
}
END_TEST

/* ---- malformed traces ---- */

struct bad_line {
	const char *text;  /* the whole file */
	unsigned line;     /* the line named, 0: none */
	const char *what;  /* in the message */
};

static const struct bad_line bad_lines[] = {
	/* field counts */
	{"0,1,1,512,0,0,512\n0,1,1,512,0,0,512\n0,1,1,512,0\n", 3, "5 fields, expected 7"},
	{"0,1,1,512,0,0,512,9\n", 1, "8 fields, expected 7"},
	{"0,1,1,512,0,0,512\n0 1 1 512 0\n", 2, "1 field, expected 7"},
	{"0 0 8 512 1\n0 0 8 512\n", 2, "4 fields, expected 5"},
	{"0 0 8 512 1\n0,0,8,512,1\n", 2, "1 field, expected 5"},
	{"0 0 8 512 1 7\n", 1, "6 fields, expected 5"},
	/* the header line some CSV tools write */
	{"ts_record_ms,latency_us,io_type,size_bytes,offset_bytes,ts_submit_ms,"
	 "size_after_replay_bytes\n", 1, "field 1 (ts_record_ms): not a number"},
	/* junk */
	{"0,1,1,512,0,0,512\n0,abc,1,512,0,0,512\n", 2, "field 2 (latency_us): not"},
	{"0,12x,1,512,0,0,512\n", 1, "field 2 (latency_us): not"},
	{"0,,1,512,0,0,512\n", 1, "field 2 (latency_us): not"},
	{"0,1,1,512,0x10,0,512\n", 1, "field 5 (offset_bytes): not"},
	{"0,1.5,1,512,0,0,512\n", 1, "field 2 (latency_us): not"},
	{"zero,1,1,512,0,0,512\n", 1, "field 1 (ts_record_ms): not a number"},
	{"0,1,1,512,0,1.2.3,512\n", 1, "field 6 (ts_submit_ms): not a number"},
	{"0 0 8 4k 1\n", 1, "field 4 (size_bytes): not"},
	{"0,1,1,512,0,0,5\0" "12\n", 1, "NUL"},
	/* signs and ranges */
	{"0,1,1,-512,0,0,512\n", 1, "field 4 (size_bytes): negative"},
	{"0 0 8 -4096 1\n", 1, "field 4 (size_bytes): negative"},
	{"0,-1,1,512,0,0,512\n", 1, "field 2 (latency_us): negative"},
	{"-0.5,1,1,512,0,0,512\n", 1, "field 1 (ts_record_ms): negative"},
	{"nan,1,1,512,0,0,512\n", 1, "field 1 (ts_record_ms): not a number"},
	{"0,1,1,512,0,inf,512\n", 1, "field 6 (ts_submit_ms): not a number"},
	{"1e999,1,1,512,0,0,512\n", 1, "field 1 (ts_record_ms): not a finite number"},
	{"0,1,2,512,0,0,512\n", 1, "field 3 (io_type): expected 0 (write) or 1 (read)"},
	{"0 0 8 512 2\n", 1, "field 5 (rw): expected 0 (write) or 1 (read)"},
	{"0,1,-1,512,0,0,512\n", 1, "field 3 (io_type): negative"},
	{"0,4294967296,1,512,0,0,512\n", 1, "field 2 (latency_us): over 4294967295"},
	{"0,1,1,4294967296,0,0,512\n", 1, "field 4 (size_bytes): over 4294967295"},
	{"0,1,1,512,18446744073709551616,0,512\n", 1, "field 5 (offset_bytes): over 18446744073709551615"},
	{"0,1,1,512,0,0,99999999999\n", 1, "field 7 (size_after_replay_bytes): over"},
	/* a file cut short inside its last line */
	{"0,1,1,512,0,0,512\n0,1,1,512,0,0,512\n0,1,1,51", 3, "4 fields, expected 7 (the file ends inside this line)"},
	{"0 0 8 512 1\n0 0 8", 2, "3 fields, expected 5 (the file ends inside this line)"},
	/* nothing to read */
	{"", 0, "no I/O: the file is empty"},
	{"\n \n\r\n", 0, "no I/O: only blank lines"},
};

START_TEST(rejects_malformed_line_naming_it)
{
	const struct bad_line *b = &bad_lines[_i];
	/* The NUL case holds a byte strlen would stop at. */
	size_t len = strlen(b->text);
	const char *path;

	if (strcmp(b->what, "NUL") == 0)
		len += 1 + strlen(b->text + len + 1);
	path = test_write_file("t.trace", b->text, len);
	assert_rejected(path, b->line, b->what);
}
END_TEST

START_TEST(quotes_the_offending_field)
{
	const char *path = write_trace("0,1,1,512,0,0,512\n0,abc,1,512,0,0,512\n");
	char err[512], want[PATH_LEN + 64];
	struct trace t;

	ck_assert_int_eq(trace_read(path, &t, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s:2: field 2 (latency_us): not an unsigned integer (\"abc\")",
		 path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(rejects_missing_file)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s", test_tmp_path("absent.trace"));
	assert_rejected(path, 0, "cannot open", "No such file");
}
END_TEST

START_TEST(rejects_directory)
{
	assert_rejected(test_tmp_path(""), 0, "cannot read");
}
END_TEST

/* ---- the shared traces ---- */

struct shared_trace {
	const char *name; /* under traces/ */
	enum trace_format format;
	size_t n, reads;  /* from the .stats files; traceB's from wc and awk */
	struct trace_io first;
};

static const struct shared_trace shared[] = {
	{"replayed/tencent.cut.per_50k.most_rand_iops.537.trace", TRACE_REPLAYED,
	 50000, 41036, {0.0, 134, 4096, 42242048, 1}},
	{"replayed/tencent.cut.per_50k.most_size_thpt.222.trace", TRACE_REPLAYED,
	 50000, 41638, {0, 0, 0, 0, 0}},
	{"replayed/tencent.cut.per_50k.rw_60_40.490.trace", TRACE_REPLAYED,
	 50000, 30012, {0, 0, 0, 0, 0}},
	{"raw/traceB.trace", TRACE_RAW, 15245, 13712,
	 {0.0, 0, 1024, 486701592576ULL, 1}},
	{"raw/msr.cut.per_10k.rw_20_80.105.trace", TRACE_RAW, 10000, 2020,
	 {0.0, 0, 4096, 200626176, 0}},
	{"raw/msr.cut.per_10k.rw_40_60.1370.trace", TRACE_RAW, 10000, 4054, {0, 0, 0, 0, 0}},
	{"raw/msr.cut.per_10k.most_thpt_rand_iops.1006.trace", TRACE_RAW, 10000,
	 8316, {0, 0, 0, 0, 0}},
};

START_TEST(reads_shared_trace_to_its_stats)
{
	const struct shared_trace *s = &shared[_i];
	const char *dir = test_data_dir();
	char path[PATH_LEN];
	struct trace t;

	if (dir == NULL) {
		if (_i == 0)
			printf("trace: ../shared/data absent, shared traces "
			       "not read\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/../%s", dir, s->name);
	read_ok(path, &t);
	ck_assert_int_eq(t.format, s->format);
	ck_assert_uint_eq(t.n, s->n);
	ck_assert_uint_eq(t.n_reads, s->reads);
	if (s->first.size != 0) {
		ck_assert(t.io[0].ts_ms == s->first.ts_ms);
		ck_assert_uint_eq(t.io[0].latency_us, s->first.latency_us);
		ck_assert_uint_eq(t.io[0].size, s->first.size);
		ck_assert_uint_eq(t.io[0].offset, s->first.offset);
		ck_assert_uint_eq(t.io[0].io_type, s->first.io_type);
	}
	for (size_t i = 1; i < t.n; i++)
		ck_assert_msg(t.io[i].ts_ms >= 0.0, "line %zu", i + 1);
	trace_free(&t);
}
END_TEST

Suite *
trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("malformed");
	TCase *data = tcase_create("shared_data");

	tcase_add_checked_fixture(good, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(good, parses_every_field_of_a_replayed_trace);
	tcase_add_test(good, parses_every_field_of_a_raw_trace);
	tcase_add_test(good, accepts_crlf_line_ends);
	tcase_add_test(good, skips_blank_lines_but_counts_them);
	tcase_add_test(good, accepts_complete_last_line_without_newline);
	tcase_add_test(good, reads_from_a_stream_under_the_given_name);
	tcase_add_test(good, reads_many_lines_in_order);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(bad, test_fixture_setup, test_fixture_teardown);
	tcase_add_loop_test(bad, rejects_malformed_line_naming_it, 0,
			    sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(bad, quotes_the_offending_field);
	tcase_add_test(bad, rejects_missing_file);
	tcase_add_test(bad, rejects_directory);
	suite_add_tcase(s, bad);

	tcase_add_loop_test(data, reads_shared_trace_to_its_stats, 0,
			    sizeof(shared) / sizeof(shared[0]));
	suite_add_tcase(s, data);
	return s;
}
