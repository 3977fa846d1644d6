/* Fixtures for libkvclient's tests (the Check suite and kv_reliability):
 * options for three replicas in a directory, the expected primary
 * replica computed here and not by kvclient, kv_stats_json read back,
 * RocksDB read directly, and models whose every decision is known. */
#ifndef IOLAT_TEST_KV_HELPERS_H
#define IOLAT_TEST_KV_HELPERS_H

#include <stddef.h>

#include "kvclient.h"

/* Options with replicas at DIR/r0, DIR/r1, DIR/r2 and the policy; DIR
 * is created if missing (the replicas are not). NULL when out of memory. */
kv_options_t *kvt_options(const char *dir, const char *policy);

/* The path of replica r under dir (static buffer). */
const char *kvt_replica_path(const char *dir, int r);

/* FNV-1a 64 (offset basis 14695981039346656037, prime 1099511628211) of
 * the key, mod 3: the replica DESIGN.md makes its primary. */
int kvt_primary(const void *key, size_t klen);

/* Where the value of "name" starts in kv_stats_json's text: in the
 * top-level object when replica < 0, else in the object of that replica;
 * NULL when the key is absent there. */
const char *kvt_stat_value(const char *json, int replica, const char *name);

/* The integer value of "name" in kv_stats_json's text: in the top-level
 * object when replica < 0, else in the object of that replica. -1 when
 * the key is absent or not a number. */
long long kvt_stat(const char *json, int replica, const char *name);

/* The n integers of the list value of "name" (e.g. "latency_us":
 * [a, b, c]); 0, or -1 when absent or shorter. */
int kvt_stat_list(const char *json, int replica, const char *name, long long *out, int n);

/* The same for a string value, copied into out (cap bytes, escapes left
 * as they are); returns 0, or -1 when absent, null or not a string. */
int kvt_stat_str(const char *json, int replica, const char *name, char *out, size_t cap);

/* 1 when s is exactly one JSON value (RFC 8259, whitespace around it
 * allowed), else 0. */
int kvt_json_valid(const char *s);

/* Writes an int8 model file whose last layer has all-zero weights and a
 * bias of +1000 (slow) or -1000 (fast): its logit is the bias for every
 * input, so every decision is known without running it. 0, or -1 with
 * err. */
int kvt_constant_model(const char *path, int slow, char *err, size_t errlen);

/* A replica's RocksDB database read with the RocksDB C API alone, not
 * through kvclient. kvt_raw_open: NULL with err when it does not open
 * (never created: create_if_missing is off). kvt_raw_get: 0 found with a
 * value equal to want, 1 not found, 2 found with another value, -1 a
 * read error. */
struct kvt_raw;
struct kvt_raw *kvt_raw_open(const char *path, char *err, size_t errlen);
int kvt_raw_get(struct kvt_raw *db, const void *key, size_t klen, const void *want,
		size_t wlen);
void kvt_raw_close(struct kvt_raw *db);

#endif
