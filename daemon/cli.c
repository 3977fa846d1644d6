/* Shared command-line helpers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static int verbose;
static int progress_open;

int
cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno == ERANGE) {
		fprintf(stderr, "iolatd %s: %s: '%s' is not a whole number\n", cmd, opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
cli_u32(const char *cmd, const char *opt, const char *s, uint32_t min,
	uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (cli_u64(cmd, opt, s, &v) != 0)
		return -1;
	if (v < min || v > max) {
		fprintf(stderr, "iolatd %s: %s: %s is outside %u..%u\n", cmd, opt, s, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int
cli_double(const char *cmd, const char *opt, const char *s, double min,
	   double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
		fprintf(stderr, "iolatd %s: %s: '%s' is not a number\n", cmd, opt, s);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr, "iolatd %s: %s: %s is outside %g..%g\n", cmd, opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

void
cli_set_verbose(int v)
{
	verbose = v;
}

int
cli_chatty(void)
{
	return verbose || isatty(STDERR_FILENO);
}

void
cli_progress(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	fputs("\r", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	progress_open = 1;
}

void
cli_report(const char *fmt, ...)
{
	va_list ap;

	if (!cli_chatty())
		return;
	if (progress_open) {
		fputs("\r\033[K", stderr);
		progress_open = 0;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
