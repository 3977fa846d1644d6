/* Settings of iolatd serve. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static const struct {
	const char *name;
	int level;
} levels[] = {
	{"err", 3}, {"warning", 4}, {"notice", 5}, {"info", 6}, {"debug", 7},
};

void
cfg_defaults(struct cfg *c, const char *default_model)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", CFG_DEFAULT_SOCKET);
	c->socket_mode = 0660;
	snprintf(c->model, sizeof(c->model), "%s", default_model);
	c->log_level = 6;
	c->max_connections = 1024;
	c->max_output = 1048576;
	c->idle_timeout = 300;
	c->drain_timeout = 10;
}

/* The syslog priority of a level name (err, warning, notice, info, debug),
 * or -1. */
static int
cfg_log_level(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

/* A whole decimal number in [min, max]. */
static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
set_path(char *dst, size_t cap, const char *key, const char *value, char *err,
	 size_t errlen)
{
	if (*value == '\0' || strlen(value) >= cap) {
		snprintf(err, errlen, "%s: the path must be 1 to %zu bytes", key, cap - 1);
		return -1;
	}
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

int
cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t v;

	if (strcmp(key, "socket") == 0)
		return set_path(c->socket, sizeof(c->socket), key, value, err, errlen);
	if (strcmp(key, "model") == 0)
		return set_path(c->model, sizeof(c->model), key, value, err, errlen);
	if (strcmp(key, "socket_group") == 0) {
		if (strlen(value) >= sizeof(c->socket_group)) {
			snprintf(err, errlen, "socket_group: the name is too long");
			return -1;
		}
		memcpy(c->socket_group, value, strlen(value) + 1);
		return 0;
	}
	if (strcmp(key, "socket_mode") == 0) {
		char *end;
		unsigned long m = strtoul(value, &end, 8);
		if (*value == '\0' || *end != '\0' || m > 0777 ||
		    strspn(value, "01234567") != strlen(value)) {
			snprintf(err, errlen, "socket_mode: '%s' is not an octal mode", value);
			return -1;
		}
		c->socket_mode = (unsigned)m;
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
		int l = cfg_log_level(value);
		if (l < 0) {
			snprintf(err, errlen, "log_level: '%s' is not err, warning, notice, "
					      "info or debug", value);
			return -1;
		}
		c->log_level = l;
		return 0;
	}
	if (strcmp(key, "max_connections") == 0) {
		if (parse_u64(value, 1, 1000000, &v) != 0) {
			snprintf(err, errlen, "max_connections: '%s' is not 1..1000000", value);
			return -1;
		}
		c->max_connections = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "max_output") == 0) {
		/* At least one full reply must fit, or a client could stall. */
		if (parse_u64(value, 65536 + 16, (uint64_t)1 << 40, &v) != 0) {
			snprintf(err, errlen, "max_output: '%s' is not 65552..2^40 bytes", value);
			return -1;
		}
		c->max_output = v;
		return 0;
	}
	if (strcmp(key, "idle_timeout") == 0) {
		if (parse_u64(value, 0, 86400 * 365, &v) != 0) {
			snprintf(err, errlen, "idle_timeout: '%s' is not 0..31536000 seconds", value);
			return -1;
		}
		c->idle_timeout = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "drain_timeout") == 0) {
		if (parse_u64(value, 0, 3600, &v) != 0) {
			snprintf(err, errlen, "drain_timeout: '%s' is not 0..3600 seconds", value);
			return -1;
		}
		c->drain_timeout = (uint32_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s'", key);
	return -1;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int
cfg_load(struct cfg *c, const char *path, int missing_ok, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, msg[256];
	size_t cap = 0;
	unsigned long lineno = 0;
	int rc = 0;

	if (f == NULL) {
		if (errno == ENOENT && missing_ok)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) != -1) {
		char *s = trim(line), *eq;
		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%lu: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		if (cfg_set(c, trim(s), trim(eq + 1), msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, msg);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}
