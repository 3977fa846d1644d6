/* Fixtures for libkvclient's tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "helpers.h"
#include "kv_helpers.h"
#include "model_file.h"
#include "quant.h"

const char *
kvt_replica_path(const char *dir, int r)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/r%d", dir, r);
	return path;
}

kv_options_t *
kvt_options(const char *dir, const char *policy)
{
	kv_options_t *o = kv_options_create();

	mkdir(dir, 0700); /* RocksDB creates the last level only */
	if (o == NULL)
		return NULL;
	for (int r = 0; r < 3; r++)
		kv_options_set_replica_path(o, r, kvt_replica_path(dir, r));
	kv_options_set_policy(o, policy);
	return o;
}

int
kvt_primary(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < klen; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return (int)(h % 3);
}

/* The part of json where replica's (or the top level's) keys are:
 * [*from, *to). */
static int
stat_span(const char *json, int replica, const char **from, const char **to)
{
	const char *list = strstr(json, "\"replicas\": [");
	char tag[32];

	if (list == NULL)
		return -1;
	if (replica < 0) {
		*from = json;
		*to = list;
		return 0;
	}
	snprintf(tag, sizeof(tag), "{\"replica\": %d,", replica);
	*from = strstr(list, tag);
	if (*from == NULL)
		return -1;
	*to = strstr(*from + 1, "{\"replica\": ");
	if (*to == NULL)
		*to = *from + strlen(*from);
	return 0;
}

const char *
kvt_stat_value(const char *json, int replica, const char *name)
{
	const char *from, *to, *p;
	char pat[128];

	if (stat_span(json, replica, &from, &to) != 0)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s\": ", name);
	p = strstr(from, pat);
	if (p == NULL || p >= to)
		return NULL;
	return p + strlen(pat);
}

long long
kvt_stat(const char *json, int replica, const char *name)
{
	const char *v = kvt_stat_value(json, replica, name);
	char *end;
	long long n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	return end == v ? -1 : n;
}

int
kvt_stat_list(const char *json, int replica, const char *name, long long *out, int n)
{
	const char *v = kvt_stat_value(json, replica, name);
	char *end;

	if (v == NULL || *v != '[')
		return -1;
	for (int i = 0; i < n; i++) {
		v++; /* '[' or ',' */
		while (*v == ' ')
			v++;
		out[i] = strtoll(v, &end, 10);
		if (end == v || (*end != ',' && *end != ']'))
			return -1;
		v = end;
	}
	return 0;
}

int
kvt_stat_str(const char *json, int replica, const char *name, char *out, size_t cap)
{
	const char *v = kvt_stat_value(json, replica, name);
	size_t n = 0;

	if (v == NULL || *v != '"' || cap == 0)
		return -1;
	for (v++; *v && *v != '"' && n + 1 < cap; v++) {
		if (*v == '\\' && v[1])
			out[n++] = *v++;
		if (n + 1 < cap)
			out[n++] = *v;
	}
	out[n] = '\0';
	return *v == '"' ? 0 : -1;
}

/* ---- a JSON checker, RFC 8259's grammar ---- */

static const char *json_value(const char *p, int depth);

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;
		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL; /* also the end of the text */
		if (c != '\\')
			continue;
		c = (unsigned char)*p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, p++)
				if (!strchr("0123456789abcdefABCDEF", *p) || *p == '\0')
					return NULL;
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return NULL;
		}
	}
}

static const char *
digits(const char *p)
{
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

static const char *
json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if ((p = digits(p)) == NULL)
		return NULL;
	if (*p == '.' && (p = digits(p + 1)) == NULL)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = digits(p);
	}
	return p;
}

/* Members of an object (members) or elements of an array, after the
 * opening bracket, up to and past close. */
static const char *
json_list(const char *p, char close, int members, int depth)
{
	p = skip_ws(p);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (members) {
			if ((p = json_string(skip_ws(p))) == NULL)
				return NULL;
			p = skip_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if ((p = json_value(p, depth + 1)) == NULL)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* One value with the whitespace around it, or NULL. */
static const char *
json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = skip_ws(p);
	if (*p == '{')
		p = json_list(p + 1, '}', 1, depth);
	else if (*p == '[')
		p = json_list(p + 1, ']', 0, depth);
	else if (*p == '"')
		p = json_string(p);
	else if (strncmp(p, "true", 4) == 0)
		p += 4;
	else if (strncmp(p, "false", 5) == 0)
		p += 5;
	else if (strncmp(p, "null", 4) == 0)
		p += 4;
	else
		p = json_number(p);
	return p ? skip_ws(p) : NULL;
}

int
kvt_json_valid(const char *s)
{
	const char *end = json_value(s, 0);

	return end != NULL && *end == '\0';
}

/* ---- models ---- */

int
kvt_constant_model(const char *path, int slow, char *err, size_t errlen)
{
	static const uint32_t widths[3] = {8, 16, 1};
	struct model *f = test_random_float_model(2, widths, 11);
	struct quant_ranges r;
	struct model *q;
	int rc = -1;

	test_quant_ranges(f, 500, 3, &r);
	q = quant_model(f, &r, "minmax", err, errlen);
	if (q != NULL) {
		/* The quantizer's arrays are its own malloc'ed memory: writable. */
		struct qm_layer *l = &q->qm.layer[q->n_layers - 1];
		memset((int8_t *)l->weights, 0, l->n_in);
		*(int32_t *)l->bias = slow ? 1000 : -1000;
		snprintf(q->created_by, sizeof(q->created_by), "iolat tests: always %s",
			 slow ? "slow" : "fast");
		rc = mf_save(q, path, err, errlen);
	}
	model_free(q);
	model_free(f);
	return rc;
}

/* ---- RocksDB, directly ---- */

struct kvt_raw {
	rocksdb_options_t *opt;
	rocksdb_readoptions_t *ropt;
	rocksdb_t *db;
};

struct kvt_raw *
kvt_raw_open(const char *path, char *err, size_t errlen)
{
	struct kvt_raw *d = calloc(1, sizeof(*d));
	char *rerr = NULL;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->opt = rocksdb_options_create();
	d->ropt = rocksdb_readoptions_create();
	rocksdb_options_set_create_if_missing(d->opt, 0);
	d->db = rocksdb_open(d->opt, path, &rerr);
	if (d->db == NULL) {
		snprintf(err, errlen, "%s: %s", path, rerr ? rerr : "rocksdb_open failed");
		rocksdb_free(rerr);
		kvt_raw_close(d);
		return NULL;
	}
	return d;
}

int
kvt_raw_get(struct kvt_raw *d, const void *key, size_t klen, const void *want, size_t wlen)
{
	char *rerr = NULL;
	size_t len = 0;
	char *v = rocksdb_get(d->db, d->ropt, key, klen, &len, &rerr);
	int rc;

	if (rerr != NULL) {
		rocksdb_free(rerr);
		return -1;
	}
	if (v == NULL)
		return 1;
	rc = len == wlen && memcmp(v, want, wlen) == 0 ? 0 : 2;
	rocksdb_free(v);
	return rc;
}

void
kvt_raw_close(struct kvt_raw *d)
{
	if (d == NULL)
		return;
	if (d->db)
		rocksdb_close(d->db);
	rocksdb_readoptions_destroy(d->ropt);
	rocksdb_options_destroy(d->opt);
	free(d);
}
