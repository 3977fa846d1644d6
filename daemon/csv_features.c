/* CSV feature lines. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "csv_features.h"

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int
at_line_end(const char *p)
{
	return *p == '\0' || *p == '\n' || (*p == '\r' && (p[1] == '\n' || p[1] == '\0'));
}

int
csv_parse_features(const char *line, int32_t *out, uint32_t n, char *err,
		   size_t errlen)
{
	const char *p = skip_blanks(line);
	uint32_t i = 0;

	if (at_line_end(p) || *p == '#')
		return 1;
	for (;;) {
		char *end;
		long long v;

		p = skip_blanks(p);
		if (i == n) {
			snprintf(err, errlen, "more than %u fields", n);
			return -1;
		}
		if (!(isdigit((unsigned char)*p) ||
		      ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1])))) {
			snprintf(err, errlen, "field %u: expected an integer", i + 1);
			return -1;
		}
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno == ERANGE || v < INT32_MIN || v > INT32_MAX) {
			snprintf(err, errlen, "field %u: out of int32 range", i + 1);
			return -1;
		}
		out[i++] = (int32_t)v;
		p = skip_blanks(end);
		if (at_line_end(p))
			break;
		if (*p != ',') {
			snprintf(err, errlen, "field %u: not an integer (junk after the digits)", i);
			return -1;
		}
		p++;
	}
	if (i != n) {
		snprintf(err, errlen, "%u fields, expected %u", i, n);
		return -1;
	}
	return 0;
}
