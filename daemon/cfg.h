/* iolatd serve's settings: defaults, the key = value file (iolatd.conf(5))
 * and the command-line flags, which share one setter so that a key means
 * the same in both. */
#ifndef IOLAT_CFG_H
#define IOLAT_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_PATH_MAX 4096
#define CFG_SOCKET_MAX 108 /* sun_path, with its NUL */
#define CFG_DEFAULT_SOCKET "/run/iolatd/iolatd.sock" /* serve's, and the clients' */

struct cfg {
	char socket[CFG_SOCKET_MAX];
	unsigned socket_mode;      /* permission bits, <= 0777 */
	char socket_group[64];     /* empty: the daemon's group */
	char model[CFG_PATH_MAX];
	int log_level;             /* syslog priority: 3 err .. 7 debug */
	uint32_t max_connections;
	uint64_t max_output;       /* bytes of replies queued per connection */
	uint32_t idle_timeout;     /* seconds; 0 never */
	uint32_t drain_timeout;    /* seconds SIGTERM waits for replies; 0 no limit */
};

/* The documented defaults; model is the installed default model. */
void cfg_defaults(struct cfg *c, const char *default_model);

/* Sets key (underscores; a flag's dashes are turned into underscores by
 * the caller) to value. Returns 0, or -1 with err naming the problem:
 * "unknown key 'x'", "socket_mode: '0999' is not an octal mode"... */
int cfg_set(struct cfg *c, const char *key, const char *value, char *err,
	    size_t errlen);

/* Applies every key = value line of path ('#' comments and blank lines
 * skipped, blanks around key and value trimmed). A missing file is fine
 * when missing_ok. Fails with err "PATH:LINE: problem"; settings before
 * the bad line stay applied, the caller refuses to start anyway. */
int cfg_load(struct cfg *c, const char *path, int missing_ok, char *err,
	     size_t errlen);


#endif
