/* libkvclient: a key-value store kept on three RocksDB replicas, whose
 * reads avoid the replica an int8 model predicts slow. kvclient(3).
 *
 * Errors follow RocksDB's C convention: pass char *err = NULL; on failure
 * it is set to a malloc'ed message (freeing any earlier one), to be freed
 * with kv_free. Every call is safe from several threads at once on one
 * handle, except kv_close. */
#ifndef KVCLIENT_H
#define KVCLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kv kv_t;
typedef struct kv_options kv_options_t; /* opaque, with setters */

/* Options. Replica paths 0..2 are required. The policy is "primary",
 * "random", "hedge" or "predict"; the default is "predict". The predictor
 * (for "predict") runs in process on an int8 model file, by default the
 * installed iolat-default-int8.h5, or, when a daemon socket is set, asks
 * iolatd over protocol v1. Setters copy their arguments; a bad value is
 * reported by kv_open. */
kv_options_t *kv_options_create(void);
void kv_options_set_replica_path(kv_options_t *, int replica, const char *path); /* 0..2 */
void kv_options_set_policy(kv_options_t *, const char *policy);
void kv_options_set_model_file(kv_options_t *, const char *path);    /* in-process predictor */
void kv_options_set_daemon_socket(kv_options_t *, const char *path); /* predictor via iolatd */
void kv_options_destroy(kv_options_t *);

/* Additions to DESIGN.md's list. */
/* Logs every read and put of replica r to PREFIX.rN.trace in the
 * replayed-trace CSV format, for iolatd train. Off by default. */
void kv_options_set_read_log(kv_options_t *, const char *prefix);
/* 1: each put is synced to disk (fsync of the write-ahead log) before it
 * returns, surviving power loss; 0 (default): surviving a crash of the
 * process, not of the machine. */
void kv_options_set_sync(kv_options_t *, int sync);
/* 1 (default): create missing replica databases. */
void kv_options_set_create_if_missing(kv_options_t *, int create);

/* Opens the three replicas. A replica that cannot be opened, or that
 * later fails a read or a put, is set aside: the handle runs degraded on
 * the others, each put names it in its error, and kv_stats_json shows it
 * with the reason. kv_open fails (NULL, err set) when an option is bad,
 * the predictor cannot start, or no replica opens. */
kv_t *kv_open(const kv_options_t *, char **err);

/* Stores key on every open replica; returns 0 once all hold it, else -1
 * with err naming each replica that failed (the others hold it). */
int kv_put(kv_t *, const void *key, size_t klen, const void *val, size_t vlen, char **err);

/* Reads key: 0 found (*val malloc'ed, free with kv_free), 1 not found,
 * -1 error. */
int kv_get(kv_t *, const void *key, size_t klen, void **val, size_t *vlen, char **err);

/* Deletes key from every open replica: 0, or -1 as kv_put. */
int kv_delete(kv_t *, const void *key, size_t klen, char **err);

void kv_free(void *);

/* Counters as JSON (kvclient(3) lists the keys); free with kv_free. */
char *kv_stats_json(kv_t *);

/* Waits for hedged reads still running, then closes the replicas. */
void kv_close(kv_t *);

/* Limits: keys of 1..KV_MAX_KEY bytes, values up to KV_MAX_VALUE. */
#define KV_MAX_KEY 65536
#define KV_MAX_VALUE (64u << 20)

#ifdef __cplusplus
}
#endif

#endif
