/* iolatd serve's settings: the defaults iolatd.conf(5) documents, the
 * file format, and an error naming file and line for each bad value. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "file_helpers.h"
#include "helpers.h"
#include "suites.h"

static const char *
conf(const char *text)
{
	return test_write_file("iolatd.conf", text, strlen(text));
}

START_TEST(defaults_are_the_documented_ones)
{
	struct cfg c;

	cfg_defaults(&c, "/usr/share/iolat/iolat-default-int8.h5");
	ck_assert_str_eq(c.socket, "/run/iolatd/iolatd.sock");
	ck_assert_uint_eq(c.socket_mode, 0660);
	ck_assert_str_eq(c.socket_group, "");
	ck_assert_str_eq(c.model, "/usr/share/iolat/iolat-default-int8.h5");
	ck_assert_int_eq(c.log_level, 6);
	ck_assert_uint_eq(c.max_connections, 1024);
	ck_assert_uint_eq(c.max_output, 1048576);
	ck_assert_uint_eq(c.idle_timeout, 300);
	ck_assert_uint_eq(c.drain_timeout, 10);
}
END_TEST

START_TEST(file_sets_every_key_with_comments_and_blanks)
{
	struct cfg c;
	char err[256];

	cfg_defaults(&c, "m.h5");
	ck_assert_int_eq(cfg_load(&c, conf("# iolatd\n\n"
					   "  socket = /tmp/x.sock  \n"
					   "socket_mode=0600\n"
					   "socket_group = storage\n"
					   "\tmodel = /opt/m.h5\n"
					   "log_level = debug\n"
					   "max_connections = 64\n"
					   "max_output = 131072\n"
					   "idle_timeout = 0\n"
					   "drain_timeout = 3600\n"
					   "# the end"),
				  0, err, sizeof(err)), 0);
	ck_assert_str_eq(c.socket, "/tmp/x.sock");
	ck_assert_uint_eq(c.socket_mode, 0600);
	ck_assert_str_eq(c.socket_group, "storage");
	ck_assert_str_eq(c.model, "/opt/m.h5");
	ck_assert_int_eq(c.log_level, 7);
	ck_assert_uint_eq(c.max_connections, 64);
	ck_assert_uint_eq(c.max_output, 131072);
	ck_assert_uint_eq(c.idle_timeout, 0);
	ck_assert_uint_eq(c.drain_timeout, 3600);
}
END_TEST

START_TEST(missing_file_is_fine_only_when_allowed)
{
	struct cfg c;
	char err[256];

	cfg_defaults(&c, "m.h5");
	ck_assert_int_eq(cfg_load(&c, test_tmp_path("none.conf"), 1, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_load(&c, test_tmp_path("none.conf"), 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "none.conf: No such file or directory"));
}
END_TEST

static void
assert_line_error(const char *text, const char *want)
{
	struct cfg c;
	char err[256];
	const char *path = conf(text);
	char expect[512];

	cfg_defaults(&c, "m.h5");
	ck_assert_int_eq(cfg_load(&c, path, 0, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "%s:%s", path, want);
	ck_assert_str_eq(err, expect);
}

START_TEST(bad_lines_are_named_by_file_and_line)
{
	assert_line_error("socket = /a\nbogus = 1\n", "2: unknown key 'bogus'");
	assert_line_error("just words\n", "1: expected 'key = value'");
	assert_line_error("socket_mode = 0999\n", "1: socket_mode: '0999' is not an octal mode");
	assert_line_error("socket_mode = 1777\n", "1: socket_mode: '1777' is not an octal mode");
	assert_line_error("log_level = loud\n",
			  "1: log_level: 'loud' is not err, warning, notice, info or debug");
	assert_line_error("\n\nmax_connections = 0\n",
			  "3: max_connections: '0' is not 1..1000000");
	assert_line_error("max_connections = -5\n",
			  "1: max_connections: '-5' is not 1..1000000");
	assert_line_error("max_output = 100\n", "1: max_output: '100' is not 65552..2^40 bytes");
	assert_line_error("idle_timeout = 1h\n",
			  "1: idle_timeout: '1h' is not 0..31536000 seconds");
	assert_line_error("drain_timeout = 3601\n",
			  "1: drain_timeout: '3601' is not 0..3600 seconds");
	assert_line_error("model =\n", "1: model: the path must be 1 to 4095 bytes");
}
END_TEST

START_TEST(socket_path_must_fit_sun_path)
{
	struct cfg c;
	char err[256], path[200];

	cfg_defaults(&c, "m.h5");
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(cfg_set(&c, "socket", path, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "socket: the path must be 1 to 107 bytes");
	path[107] = '\0';
	ck_assert_int_eq(cfg_set(&c, "socket", path, err, sizeof(err)), 0);
}
END_TEST

START_TEST(flags_override_the_file)
{
	struct cfg c;
	char err[256];

	cfg_defaults(&c, "m.h5");
	ck_assert_int_eq(cfg_load(&c, conf("log_level = err\n"), 0, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_set(&c, "log_level", "notice", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, 5);
}
END_TEST

/* deploy/iolatd.conf lists every key, commented out, with its default:
 * with the comment marks taken off it must load and change nothing but
 * the two that show an example instead (socket_group, whose default is
 * none, and model, whose default depends on the prefix). */
START_TEST(shipped_example_states_the_defaults)
{
	char path[4096], line[1024], err[256];
	struct cfg want, got;
	FILE *in, *out;
	int keys = 0;

	snprintf(path, sizeof(path), "%s", test_srcdir_file("deploy/iolatd.conf"));
	in = fopen(path, "r");
	ck_assert_msg(in != NULL, "%s: %s", path, strerror(errno));
	out = fopen(test_tmp_path("example.conf"), "w");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in)) {
		/* "#key = value" is a setting; "# words" is prose */
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' && strchr(line, '=')) {
			fputs(line + 1, out);
			keys++;
		}
	}
	fclose(in);
	fclose(out);
	cfg_defaults(&want, "/usr/share/iolat/iolat-default-int8.h5");
	got = want;
	ck_assert_msg(cfg_load(&got, test_tmp_path("example.conf"), 0, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(keys, 9); /* every key cfg_set knows */
	ck_assert_str_eq(got.socket, want.socket);
	ck_assert_uint_eq(got.socket_mode, want.socket_mode);
	ck_assert_int_eq(got.log_level, want.log_level);
	ck_assert_uint_eq(got.max_connections, want.max_connections);
	ck_assert_uint_eq(got.max_output, want.max_output);
	ck_assert_uint_eq(got.idle_timeout, want.idle_timeout);
	ck_assert_uint_eq(got.drain_timeout, want.drain_timeout);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("iolatd_conf");

	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, defaults_are_the_documented_ones);
	tcase_add_test(tc, file_sets_every_key_with_comments_and_blanks);
	tcase_add_test(tc, missing_file_is_fine_only_when_allowed);
	tcase_add_test(tc, bad_lines_are_named_by_file_and_line);
	tcase_add_test(tc, socket_path_must_fit_sun_path);
	tcase_add_test(tc, flags_override_the_file);
	tcase_add_test(tc, shipped_example_states_the_defaults);
	suite_add_tcase(s, tc);
	return s;
}
