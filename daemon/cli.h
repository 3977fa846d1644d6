/* What the subcommands share: number parsing with clear errors, and the
 * progress line that long work shows on a terminal only. */
#ifndef IOLAT_CLI_H
#define IOLAT_CLI_H

#include <stdint.h>

/* Parse the whole of s, or print "iolatd CMD: --OPT: ..." and return -1. */
int cli_u32(const char *cmd, const char *opt, const char *s, uint32_t min,
	    uint32_t max, uint32_t *out);
int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_double(const char *cmd, const char *opt, const char *s, double min,
	       double max, double *out);

/* Whether progress lines go to stderr: a terminal, or verbose asked. */
void cli_set_verbose(int verbose);
int cli_chatty(void);

/* A progress line, redrawn in place on a terminal; nothing otherwise. */
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line of report on stderr when chatty (it ends any progress line). */
void cli_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
