/* libkvclient's insides, shared by its files and by tests/bench/kvbench
 * (which links the convenience library, not the installed one, for the
 * kvi_ hooks at the end). */
#ifndef KV_INTERNAL_H
#define KV_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <rocksdb/c.h>

#include "feat.h"
#include "kvclient.h"

#define KV_REPLICAS 3
#define KV_PATH_MAX 4096
#define KV_RING 256        /* recent latencies kept per replica, for p95 */
#define KV_PROBE_AFTER 8   /* predicted slow this many times in a row: read it
			    * anyway, or its history would never change */
#define KV_READ_SIZE 4096  /* the size feature of a read: RocksDB reads one
			    * data block (block_size 4 KiB) on a cache miss */
#define KV_HEDGE_THREADS 4
#define KV_P95_EVERY 16
#define KV_MAGIC 0x6b76636c69656e74ull /* "kvclient": an open handle */

enum kv_policy { KV_PRIMARY, KV_RANDOM, KV_HEDGE, KV_PREDICT };

struct kv_options {
	char path[KV_REPLICAS][KV_PATH_MAX];
	char policy[16];
	char model[KV_PATH_MAX];
	char daemon[KV_PATH_MAX];
	char log_prefix[KV_PATH_MAX];
	int sync;
	int create_if_missing;
};

struct kv_replica {
	char path[KV_PATH_MAX];
	rocksdb_t *db;          /* NULL: failed, see error */
	char error[512];        /* why it was set aside */
	/* Guarded by kv->lock. */
	struct feat_history hist;
	uint32_t ring[KV_RING]; /* latencies, us */
	uint32_t ring_n;        /* entries filled, up to KV_RING */
	uint32_t ring_pos;
	uint64_t ring_pushes;   /* latencies recorded, ever */
	uint32_t p95_cached;    /* hedge's deadline, us, and */
	uint64_t p95_at;        /* ring_pushes when it was computed */
	uint32_t slow_streak;   /* reads in a row that passed it over as slow */
	uint64_t outstanding;
	uint64_t reads, read_errors, not_found, puts, put_errors, deletes;
	uint64_t predicted_slow; /* predictions of slow, read or not */
	uint64_t probes, hedged_to;
	uint64_t read_us_total;
	FILE *log;              /* PREFIX.rN.trace, or NULL */
};

struct kv_predictor;
struct kv_hedge_pool;

/* Delay added to each read of replica r (device emulation); kvbench's. */
typedef uint64_t (*kvi_delay_fn)(void *ctx, int replica);

struct kv {
	uint64_t magic;
	enum kv_policy policy;
	struct kv_replica rep[KV_REPLICAS];
	rocksdb_options_t *dbopt;
	rocksdb_readoptions_t *ropt;
	rocksdb_writeoptions_t *wopt;
	struct kv_predictor *pred;
	struct kv_hedge_pool *hedge;
	pthread_mutex_t lock;   /* counters and histories */
	pthread_mutex_t log_lock;
	uint64_t t_open_ns;
	uint64_t rng;
	uint64_t reads, reroutes, predicted_slow, hedges, hedge_wins;
	uint64_t predictor_errors;
	kvi_delay_fn delay;
	void *delay_ctx;
};

/* 0 when kv is a handle kv_open returned and kv_close has not closed;
 * else -1 with err. */
int kv_handle_check(kv_t *kv, char **err);

/* now, CLOCK_MONOTONIC, in ns */
uint64_t kv_now_ns(void);
/* The latency of an I/O from t0 to t1 (ns) in whole us, at least 1: the
 * one figure both the history and the read log record. */
uint64_t kv_latency_us(uint64_t t0, uint64_t t1);

/* Sets *err (freeing an earlier message) to a malloc'ed printf text. */
void kv_set_error(char **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int kv_policy_parse(const char *name, enum kv_policy *out);
const char *kv_policy_name(enum kv_policy p);

/* kv_replica.c: one replica's I/O, timed, recorded in its history. */
int kv_replica_open(struct kv *kv, int r, const char *path, int create, char **err);
void kv_replica_close(struct kv_replica *rep);
/* 0 found, 1 not found, -1 error (the replica is then set aside). */
int kv_replica_get(struct kv *kv, int r, const void *key, size_t klen, void **val,
		   size_t *vlen, char **err);
int kv_replica_put(struct kv *kv, int r, const void *key, size_t klen, const void *val,
		   size_t vlen, char **err);
int kv_replica_delete(struct kv *kv, int r, const void *key, size_t klen, char **err);
int kv_replica_alive(struct kv *kv, int r);
/* The replica's recent p[i]-th percentile latencies in us (0 with no
 * data), from one sort of its ring. */
void kv_replica_percentiles(struct kv *kv, int r, const unsigned *p, int n, uint32_t *out);
/* Its p95, recomputed only every KV_P95_EVERY new latencies: a hedged
 * read must not sort 256 numbers first. */
uint32_t kv_replica_p95(struct kv *kv, int r);

/* kv_log.c: the read log. */
int kv_log_open(struct kv *kv, const char *prefix, char **err);
void kv_log_io(struct kv *kv, int r, uint64_t t0, uint64_t t1, int io_type, uint64_t size);
void kv_log_close(struct kv *kv);

/* kv_predictor.c: the model, in process or through iolatd. */
struct kv_predictor *kv_predictor_open(const char *model, const char *daemon, char **err);
/* Decides feature vectors in order, slow[i] 1 or 0, and returns how
 * many it decided: all n through iolatd (one frame), up to the first
 * fast one in process. -1 when the predictor failed (counted; the caller
 * reads as if all were fast). */
int kv_predictor_decide(struct kv_predictor *p, const int32_t (*features)[FEAT_N], int n,
			uint8_t *slow);
/* What kv_stats_json reports of the predictor. */
struct kv_predictor_state {
	int in_process;         /* else iolatd */
	const char *path;       /* the model file or the socket */
	int connected;          /* iolatd: a connection now */
	uint32_t generation;    /* iolatd: of the model in the last answer */
	uint64_t round_trips;   /* iolatd: turns on the connection */
	uint64_t pipelined;     /* iolatd: requests sent behind another */
};
void kv_predictor_state(struct kv_predictor *p, struct kv_predictor_state *st);
void kv_predictor_close(struct kv_predictor *p);

/* kv_hedge.c: hedged reads on worker threads. */
struct kv_hedge_pool *kv_hedge_start(struct kv *kv, char **err);
/* second: the next replica in service after first, -1 if none. */
int kv_hedge_get(struct kv *kv, int first, int second, const void *key, size_t klen,
		 void **val, size_t *vlen, char **err);
void kv_hedge_stop(struct kv_hedge_pool *pool);

/* kvi_: for kvbench only. */
void kvi_set_delay(kv_t *kv, kvi_delay_fn fn, void *ctx);
int kvi_set_policy(kv_t *kv, const char *policy);

#endif
