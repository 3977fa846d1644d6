/* One replica: its RocksDB database, each I/O timed and recorded in the
 * replica's history (the features' source), counters and the read log. A
 * replica that fails an I/O is set aside for the life of the handle: it
 * may have missed a put, so it must not answer reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_internal.h"

uint64_t
kv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
kv_replica_open(struct kv *kv, int r, const char *path, int create, char **err)
{
	struct kv_replica *rep = &kv->rep[r];
	char *rerr = NULL;

	(void)create; /* set on kv->dbopt by kv_open */
	snprintf(rep->path, sizeof(rep->path), "%s", path);
	feat_history_init(&rep->hist);
	rep->db = rocksdb_open(kv->dbopt, path, &rerr);
	if (rep->db == NULL) {
		snprintf(rep->error, sizeof(rep->error), "open: %s",
			 rerr ? rerr : "unknown error");
		kv_set_error(err, "replica %d (%s): %s", r, path, rep->error);
		rocksdb_free(rerr);
		return -1;
	}
	return 0;
}

void
kv_replica_close(struct kv_replica *rep)
{
	if (rep->db != NULL)
		rocksdb_close(rep->db);
	rep->db = NULL;
}

int
kv_replica_alive(struct kv *kv, int r)
{
	int alive;

	pthread_mutex_lock(&kv->lock);
	alive = kv->rep[r].error[0] == '\0' && kv->rep[r].db != NULL;
	pthread_mutex_unlock(&kv->lock);
	return alive;
}

/* Called with kv->lock held. The database stays open (reads in flight
 * may use it); it is only no longer chosen. */
static void
set_aside(struct kv_replica *rep, const char *what, const char *why)
{
	if (rep->error[0] == '\0')
		snprintf(rep->error, sizeof(rep->error), "%s: %s", what, why);
}

static void
ring_push(struct kv_replica *rep, uint32_t us)
{
	rep->ring[rep->ring_pos] = us;
	rep->ring_pos = (rep->ring_pos + 1) % KV_RING;
	if (rep->ring_n < KV_RING)
		rep->ring_n++;
	rep->ring_pushes++;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
kv_replica_percentiles(struct kv *kv, int r, const unsigned *p, int n, uint32_t *out)
{
	uint32_t v[KV_RING], len;

	pthread_mutex_lock(&kv->lock);
	len = kv->rep[r].ring_n;
	memcpy(v, kv->rep[r].ring, len * sizeof(v[0]));
	pthread_mutex_unlock(&kv->lock);
	qsort(v, len, sizeof(v[0]), cmp_u32);
	for (int i = 0; i < n; i++) {
		/* nearest rank: the ceil(len p / 100)-th smallest, p in 1..100 */
		uint32_t rank = (len * p[i] + 99) / 100;
		out[i] = len == 0 ? 0 : v[(rank ? rank : 1) - 1];
	}
}

uint32_t
kv_replica_p95(struct kv *kv, int r)
{
	struct kv_replica *rep = &kv->rep[r];
	uint32_t v;
	int stale;

	pthread_mutex_lock(&kv->lock);
	stale = rep->p95_at == 0 || rep->ring_pushes - rep->p95_at >= KV_P95_EVERY;
	v = rep->p95_cached;
	pthread_mutex_unlock(&kv->lock);
	if (!stale)
		return v;
	kv_replica_percentiles(kv, r, (const unsigned[]){95}, 1, &v);
	pthread_mutex_lock(&kv->lock);
	rep->p95_cached = v;
	rep->p95_at = rep->ring_pushes;
	pthread_mutex_unlock(&kv->lock);
	return v;
}

/* Waits out the emulated device's extra latency, if any: sleep to just
 * before the deadline, then spin, so that the figures are not the
 * scheduler's. */
static void
emulate_device(struct kv *kv, int r)
{
	uint64_t extra, until, now;

	if (kv->delay == NULL || (extra = kv->delay(kv->delay_ctx, r)) == 0)
		return;
	until = kv_now_ns() + extra;
	while ((now = kv_now_ns()) < until) {
		if (until - now > 80000) {
			struct timespec ts = {0, (long)(until - now - 60000)};
			nanosleep(&ts, NULL);
		}
	}
}

/* Rounded up: an I/O that completed took at least 1 us, and a latency of
 * 0 means "not measured" in the trace format (raw traces). */
uint64_t
kv_latency_us(uint64_t t0, uint64_t t1)
{
	uint64_t us = (t1 - t0 + 999) / 1000;

	return us ? us : 1;
}

int
kv_replica_get(struct kv *kv, int r, const void *key, size_t klen, void **val,
	       size_t *vlen, char **err)
{
	struct kv_replica *rep = &kv->rep[r];
	char *rerr = NULL, *v;
	size_t len = 0;
	uint64_t t0, t1, us;
	int rc;

	pthread_mutex_lock(&kv->lock);
	rep->outstanding++;
	pthread_mutex_unlock(&kv->lock);
	t0 = kv_now_ns();
	v = rocksdb_get(rep->db, kv->ropt, key, klen, &len, &rerr);
	emulate_device(kv, r);
	t1 = kv_now_ns();
	us = kv_latency_us(t0, t1);

	pthread_mutex_lock(&kv->lock);
	rep->outstanding--;
	rep->reads++;
	if (rerr != NULL) {
		rep->read_errors++;
		set_aside(rep, "read", rerr);
	} else {
		rep->read_us_total += us;
		feat_record(&rep->hist, KV_READ_SIZE, us);
		ring_push(rep, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
		if (v == NULL)
			rep->not_found++;
	}
	pthread_mutex_unlock(&kv->lock);

	if (rerr != NULL) {
		kv_set_error(err, "replica %d (%s): read: %s", r, rep->path, rerr);
		rocksdb_free(rerr);
		return -1;
	}
	kv_log_io(kv, r, t0, t1, 1, KV_READ_SIZE);
	if (v == NULL)
		return 1;
	/* RocksDB's buffer is its allocator's: copy into ours, so that the
	 * caller's kv_free is plain free(). */
	rc = 0;
	*val = malloc(len ? len : 1);
	if (*val == NULL) {
		kv_set_error(err, "out of memory for a %zu-byte value", len);
		rc = -1;
	} else {
		memcpy(*val, v, len);
		*vlen = len;
	}
	rocksdb_free(v);
	return rc;
}

static int
write_done(struct kv *kv, int r, const char *what, uint64_t t0, char *rerr,
	   uint64_t size, char **err)
{
	struct kv_replica *rep = &kv->rep[r];
	uint64_t t1 = kv_now_ns();

	pthread_mutex_lock(&kv->lock);
	if (rerr != NULL) {
		rep->put_errors++;
		set_aside(rep, what, rerr);
	} else {
		feat_record(&rep->hist, size, kv_latency_us(t0, t1));
	}
	pthread_mutex_unlock(&kv->lock);
	if (rerr != NULL) {
		kv_set_error(err, "replica %d (%s): %s: %s", r, rep->path, what, rerr);
		rocksdb_free(rerr);
		return -1;
	}
	kv_log_io(kv, r, t0, t1, 0, size);
	return 0;
}

int
kv_replica_put(struct kv *kv, int r, const void *key, size_t klen, const void *val,
	       size_t vlen, char **err)
{
	char *rerr = NULL;
	uint64_t t0 = kv_now_ns();

	rocksdb_put(kv->rep[r].db, kv->wopt, key, klen, val, vlen, &rerr);
	pthread_mutex_lock(&kv->lock);
	kv->rep[r].puts++;
	pthread_mutex_unlock(&kv->lock);
	return write_done(kv, r, "put", t0, rerr, klen + vlen, err);
}

int
kv_replica_delete(struct kv *kv, int r, const void *key, size_t klen, char **err)
{
	char *rerr = NULL;
	uint64_t t0 = kv_now_ns();

	rocksdb_delete(kv->rep[r].db, kv->wopt, key, klen, &rerr);
	pthread_mutex_lock(&kv->lock);
	kv->rep[r].deletes++;
	pthread_mutex_unlock(&kv->lock);
	return write_done(kv, r, "delete", t0, rerr, klen, err);
}
