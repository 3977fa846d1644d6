/* Feature lines as iolatd predict and query read them. */
#include <check.h>
#include <string.h>

#include "csv_features.h"
#include "suites.h"

START_TEST(parses_eight_integers)
{
	int32_t v[8];
	char err[128];

	ck_assert_int_eq(csv_parse_features("1,4096,120,95,3000,34133,43115,1365\n",
					    v, 8, err, sizeof(err)), 0);
	ck_assert_int_eq(v[0], 1);
	ck_assert_int_eq(v[1], 4096);
	ck_assert_int_eq(v[4], 3000);
	ck_assert_int_eq(v[7], 1365);
}
END_TEST

START_TEST(accepts_spaces_crlf_and_extremes)
{
	int32_t v[3];
	char err[128];

	ck_assert_int_eq(csv_parse_features(" -2147483648 , 2147483647,\t+7\r\n",
					    v, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(v[0], INT32_MIN);
	ck_assert_int_eq(v[1], INT32_MAX);
	ck_assert_int_eq(v[2], 7);
}
END_TEST

START_TEST(skips_blank_and_comment_lines)
{
	int32_t v[2];
	char err[128];

	ck_assert_int_eq(csv_parse_features("\n", v, 2, err, sizeof(err)), 1);
	ck_assert_int_eq(csv_parse_features("   \r\n", v, 2, err, sizeof(err)), 1);
	ck_assert_int_eq(csv_parse_features("# io_type,size\n", v, 2, err, sizeof(err)), 1);
	ck_assert_int_eq(csv_parse_features("", v, 2, err, sizeof(err)), 1);
}
END_TEST

static void
assert_rejects(const char *line, uint32_t n, const char *message)
{
	int32_t v[8];
	char err[128];

	ck_assert_int_eq(csv_parse_features(line, v, n, err, sizeof(err)), -1);
	ck_assert_str_eq(err, message);
}

START_TEST(rejects_with_the_field_at_fault)
{
	assert_rejects("1,2,3\n", 8, "3 fields, expected 8");
	assert_rejects("1,2,3,4,5,6,7,8,9\n", 8, "more than 8 fields");
	assert_rejects("1,x,3\n", 3, "field 2: expected an integer");
	assert_rejects("1,2.5,3\n", 3, "field 2: not an integer (junk after the digits)");
	assert_rejects("1,,3\n", 3, "field 2: expected an integer");
	assert_rejects("1,2,\n", 3, "field 3: expected an integer");
	assert_rejects("1,2147483648,3\n", 3, "field 2: out of int32 range");
	assert_rejects("-2147483649,1,3\n", 3, "field 1: out of int32 range");
	assert_rejects("99999999999999999999999,1,3\n", 3, "field 1: out of int32 range");
	assert_rejects("1 2 3\n", 3, "field 1: not an integer (junk after the digits)");
	assert_rejects("-,2,3\n", 3, "field 1: expected an integer");
}
END_TEST

Suite *
csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("features");

	tcase_add_test(tc, parses_eight_integers);
	tcase_add_test(tc, accepts_spaces_crlf_and_extremes);
	tcase_add_test(tc, skips_blank_and_comment_lines);
	tcase_add_test(tc, rejects_with_the_field_at_fault);
	suite_add_tcase(s, tc);
	return s;
}
