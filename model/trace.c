/* Reading block I/O traces (trace.h, ../shared/data/README.md).
 *
 * One pass with getline, fields split in place and converted with
 * strtoull/strtod, every conversion checked to its end: a 50,000-line
 * trace takes a few milliseconds, and a line that is not exactly an I/O
 * stops the read with its line number.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define MAX_FIELDS 7

/* Field names as the shared data's README gives them, for messages. */
static const char *const replayed_fields[] = {
	"ts_record_ms", "latency_us", "io_type", "size_bytes",
	"offset_bytes", "ts_submit_ms", "size_after_replay_bytes",
};
static const char *const raw_fields[] = {
	"ts_ms", "devno", "offset_bytes", "size_bytes", "rw",
};

struct reader {
	const char *name;
	char *err;
	size_t errlen;
	unsigned long line;
	enum trace_format format;
	unsigned n_fields;
	const char *const *field_names;
};

/* "name:line: message", or "name: message" for line 0; one line. */
static int
fail(const struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(const struct reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err == NULL || r->errlen == 0)
		return -1;
	if (r->line > 0)
		n = snprintf(r->err, r->errlen, "%s:%lu: ", r->name, r->line);
	else
		n = snprintf(r->err, r->errlen, "%s: ", r->name);
	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* Bytes quoted from the file must not break the one line. */
	for (char *p = r->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

/* A field quoted in a message: at most 24 bytes of it. */
static const char *
excerpt(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (n < len) {
		memcpy(buf, s, n + 1);
	} else {
		memcpy(buf, s, len - 4);
		memcpy(buf + len - 4, "...", 4);
	}
	return buf;
}

static int
bad_field(const struct reader *r, unsigned f, const char *s, const char *what)
{
	char buf[28];

	return fail(r, "field %u (%s): %s (\"%s\")", f + 1, r->field_names[f],
		    what, excerpt(s, buf, sizeof(buf)));
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Only blanks from end on: the whole field was converted. */
static int
rest_is_blank(const char *end)
{
	while (is_blank(*end))
		end++;
	return *end == '\0';
}

/* An unsigned integer of at most max. strtoull alone would take "-1" as
 * 2^64 - 1, and a leading "+" or blanks: the sign is checked first. */
static int
parse_uint(const struct reader *r, unsigned f, const char *s, uint64_t max,
	   uint64_t *out)
{
	const char *p = s;
	char *end;
	unsigned long long v;

	while (is_blank(*p))
		p++;
	if (*p == '-')
		return bad_field(r, f, s, "negative");
	if (*p < '0' || *p > '9')
		return bad_field(r, f, s, "not an unsigned integer");
	errno = 0;
	v = strtoull(p, &end, 10);
	if (!rest_is_blank(end))
		return bad_field(r, f, s, "not an unsigned integer");
	if (errno == ERANGE || v > max) {
		char what[48];
		snprintf(what, sizeof(what), "over %llu", (unsigned long long)max);
		return bad_field(r, f, s, what);
	}
	*out = v;
	return 0;
}

/* A time in milliseconds: finite and not negative. */
static int
parse_ms(const struct reader *r, unsigned f, const char *s, double *out)
{
	const char *p = s;
	char *end;
	double v;

	while (is_blank(*p))
		p++;
	/* strtod also takes hexadecimal, "nan" and "inf": only decimal
	 * numbers are times. */
	if ((*p < '0' || *p > '9') && *p != '-' && *p != '+' && *p != '.')
		return bad_field(r, f, s, "not a number");
	v = strtod(p, &end);
	if (end == p || !rest_is_blank(end))
		return bad_field(r, f, s, "not a number");
	if (!isfinite(v))
		return bad_field(r, f, s, "not a finite number");
	if (v < 0)
		return bad_field(r, f, s, "negative");
	*out = v == 0 ? 0.0 : v; /* no -0 */
	return 0;
}

static int
parse_io_type(const struct reader *r, unsigned f, const char *s, uint8_t *out)
{
	uint64_t v;

	if (parse_uint(r, f, s, UINT64_MAX, &v) != 0)
		return -1;
	if (v > 1)
		return bad_field(r, f, s, "expected 0 (write) or 1 (read)");
	*out = (uint8_t)v;
	return 0;
}

/* Splits line in place: on commas (replayed) or on runs of blanks (raw).
 * Returns the number of fields, counting past MAX_FIELDS without storing. */
static unsigned
split(enum trace_format format, char *line, char **field)
{
	unsigned n = 0;
	char *p = line;

	if (format == TRACE_REPLAYED) {
		for (;;) {
			char *comma = strchr(p, ',');
			if (n < MAX_FIELDS)
				field[n] = p;
			n++;
			if (comma == NULL)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		return n;
	}
	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			return n;
		if (n < MAX_FIELDS)
			field[n] = p;
		n++;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static int
parse_replayed(const struct reader *r, char **f, struct trace_io *io)
{
	uint64_t lat, size, offset, after;
	double submit;

	if (parse_ms(r, 0, f[0], &io->ts_ms) ||
	    parse_uint(r, 1, f[1], UINT32_MAX, &lat) ||
	    parse_io_type(r, 2, f[2], &io->io_type) ||
	    parse_uint(r, 3, f[3], UINT32_MAX, &size) ||
	    parse_uint(r, 4, f[4], UINT64_MAX, &offset) ||
	    parse_ms(r, 5, f[5], &submit) ||
	    parse_uint(r, 6, f[6], UINT32_MAX, &after))
		return -1;
	io->latency_us = (uint32_t)lat;
	io->size = (uint32_t)size;
	io->offset = offset;
	return 0;
}

static int
parse_raw(const struct reader *r, char **f, struct trace_io *io)
{
	uint64_t devno, offset, size;

	if (parse_ms(r, 0, f[0], &io->ts_ms) ||
	    parse_uint(r, 1, f[1], UINT64_MAX, &devno) ||
	    parse_uint(r, 2, f[2], UINT64_MAX, &offset) ||
	    parse_uint(r, 3, f[3], UINT32_MAX, &size) ||
	    parse_io_type(r, 4, f[4], &io->io_type))
		return -1;
	io->latency_us = 0;
	io->size = (uint32_t)size;
	io->offset = offset;
	return 0;
}

static void
set_format(struct reader *r, const char *line)
{
	r->format = strchr(line, ',') ? TRACE_REPLAYED : TRACE_RAW;
	if (r->format == TRACE_REPLAYED) {
		r->n_fields = 7;
		r->field_names = replayed_fields;
	} else {
		r->n_fields = 5;
		r->field_names = raw_fields;
	}
}

/* One data line (no line terminator), appended to t. */
static int
parse_line(struct reader *r, char *line, int cut_short, struct trace *t,
	   size_t *cap)
{
	char *field[MAX_FIELDS];
	struct trace_io *io;
	unsigned n;

	if (t->n == 0)
		set_format(r, line);
	n = split(r->format, line, field);
	if (n != r->n_fields)
		return fail(r, "%u field%s, expected %u%s", n, n == 1 ? "" : "s",
			    r->n_fields,
			    cut_short ? " (the file ends inside this line)" : "");
	if (t->n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		void *p = c <= SIZE_MAX / sizeof(*io)
				  ? realloc(t->io, c * sizeof(*io))
				  : NULL;
		if (p == NULL)
			return fail(r, "out of memory");
		t->io = p;
		*cap = c;
	}
	io = &t->io[t->n];
	if ((r->format == TRACE_REPLAYED ? parse_replayed(r, field, io)
					 : parse_raw(r, field, io)) != 0)
		return -1;
	t->n++;
	t->n_reads += io->io_type;
	return 0;
}

int
trace_read_stream(void *stream, const char *name, struct trace *t, char *err,
		  size_t errlen)
{
	struct reader r = {name, err, errlen, 0, TRACE_REPLAYED, 0, NULL};
	FILE *f = stream;
	char *line = NULL;
	size_t linecap = 0, cap = 0;
	ssize_t len;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	while (rc == 0 && (len = getline(&line, &linecap, f)) >= 0) {
		size_t n = (size_t)len;
		int cut_short = n == 0 || line[n - 1] != '\n';

		r.line++;
		if (!cut_short)
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (strlen(line) != n)
			rc = fail(&r, "contains a NUL byte");
		else if (line[strspn(line, " \t")] != '\0')
			rc = parse_line(&r, line, cut_short, t, &cap);
	}
	free(line);
	if (rc == 0 && ferror(f)) {
		r.line = 0;
		rc = fail(&r, "cannot read: %s", strerror(errno));
	}
	if (rc == 0 && t->n == 0) {
		const char *why = r.line ? "only blank lines" : "the file is empty";
		r.line = 0;
		rc = fail(&r, "no I/O: %s", why);
	}
	if (rc == 0)
		t->format = r.format;
	else
		trace_free(t);
	return rc;
}

int
trace_read(const char *path, struct trace *t, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (f == NULL) {
		memset(t, 0, sizeof(*t));
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path,
				 strerror(errno));
		return -1;
	}
	rc = trace_read_stream(f, path, t, err, errlen);
	fclose(f);
	return rc;
}

void
trace_free(struct trace *t)
{
	free(t->io);
	memset(t, 0, sizeof(*t));
}
