/* Hedged reads: the read goes to the first replica on a worker thread;
 * if it has not answered within that replica's recent p95, a second read
 * goes to the next replica, and the first answer wins. The loser runs to
 * its end (it is an I/O already issued) and is recorded like any read. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_internal.h"

#define HEDGE_MIN_SAMPLES 20 /* below this, p95 means nothing: no hedge */

struct hedge_read;

struct hedge_task {
	struct hedge_read *job;
	int replica;
	struct hedge_task *next;
};

/* Shared by the caller and up to two tasks; the last one out frees it. */
struct hedge_read {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int refs;
	int issued, finished;
	int winner;        /* replica whose answer was taken, or -1 */
	int rc;            /* the winner's: 0 found, 1 not found, -1 error */
	void *val;
	size_t vlen;
	char *err;
	size_t klen;
	unsigned char key[]; /* a copy: the caller may return before a loser ends */
};

struct kv_hedge_pool {
	struct kv *kv;
	pthread_t threads[KV_HEDGE_THREADS];
	int n_threads;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct hedge_task *head, *tail;
	int stopping;
};

static void
job_release(struct hedge_read *job)
{
	int last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	free(job->val);
	free(job->err);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->done);
	free(job);
}

static void
run_task(struct kv *kv, struct hedge_task *t)
{
	struct hedge_read *job = t->job;
	void *val = NULL;
	size_t vlen = 0;
	char *err = NULL;
	int rc = kv_replica_get(kv, t->replica, job->key, job->klen, &val, &vlen, &err);

	pthread_mutex_lock(&job->lock);
	job->finished++;
	/* The first answer wins; an error wins only if no other read is left
	 * that could do better. */
	if (job->winner < 0 && (rc >= 0 || job->finished == job->issued)) {
		job->winner = t->replica;
		job->rc = rc;
		job->val = val;
		job->vlen = vlen;
		job->err = err;
		val = NULL;
		err = NULL;
	}
	pthread_cond_broadcast(&job->done);
	pthread_mutex_unlock(&job->lock);
	free(val);
	free(err);
	job_release(job);
	free(t);
}

static void *
worker(void *arg)
{
	struct kv_hedge_pool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct hedge_task *t = pool->head;
		if (t == NULL) {
			if (pool->stopping)
				break;
			pthread_cond_wait(&pool->wake, &pool->lock);
			continue;
		}
		pool->head = t->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);
		run_task(pool->kv, t);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct kv_hedge_pool *
kv_hedge_start(struct kv *kv, char **err)
{
	struct kv_hedge_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL) {
		kv_set_error(err, "out of memory");
		return NULL;
	}
	pool->kv = kv;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	for (int i = 0; i < KV_HEDGE_THREADS; i++) {
		if (pthread_create(&pool->threads[i], NULL, worker, pool) != 0) {
			kv_set_error(err, "hedge: cannot start a worker thread");
			kv_hedge_stop(pool);
			return NULL;
		}
		pool->n_threads++;
	}
	return pool;
}

static int
submit(struct kv_hedge_pool *pool, struct hedge_read *job, int replica)
{
	struct hedge_task *t = malloc(sizeof(*t));

	if (t == NULL)
		return -1;
	t->job = job;
	t->replica = replica;
	t->next = NULL;
	pthread_mutex_lock(&job->lock);
	job->refs++;
	job->issued++;
	pthread_mutex_unlock(&job->lock);
	pthread_mutex_lock(&pool->lock);
	if (pool->tail)
		pool->tail->next = t;
	else
		pool->head = t;
	pool->tail = t;
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

int
kv_hedge_get(struct kv *kv, int first, int second, const void *key, size_t klen, void **val,
	     size_t *vlen, char **err)
{
	struct hedge_read *job;
	uint32_t p95_us;
	int rc, known;

	pthread_mutex_lock(&kv->lock);
	known = kv->rep[first].ring_n >= HEDGE_MIN_SAMPLES;
	pthread_mutex_unlock(&kv->lock);
	if (second < 0 || !known) /* nothing to hedge with: read in this thread */
		return kv_replica_get(kv, first, key, klen, val, vlen, err);
	p95_us = kv_replica_p95(kv, first);

	job = calloc(1, sizeof(*job) + klen);
	if (job == NULL) {
		kv_set_error(err, "out of memory");
		return -1;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the deadline's clock */
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->done, &ca);
	pthread_condattr_destroy(&ca);
	job->refs = 1;
	job->winner = -1;
	job->klen = klen;
	memcpy(job->key, key, klen);
	if (submit(kv->hedge, job, first) != 0) {
		job_release(job);
		kv_set_error(err, "out of memory");
		return -1;
	}

	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += p95_us / 1000000;
	deadline.tv_nsec += (long)(p95_us % 1000000) * 1000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&job->lock);
	while (job->winner < 0 &&
	       pthread_cond_timedwait(&job->done, &job->lock, &deadline) == 0)
		;
	if (job->winner < 0) {
		pthread_mutex_unlock(&job->lock);
		if (submit(kv->hedge, job, second) == 0) {
			pthread_mutex_lock(&kv->lock);
			kv->hedges++;
			kv->rep[second].hedged_to++;
			pthread_mutex_unlock(&kv->lock);
		}
		pthread_mutex_lock(&job->lock);
		while (job->winner < 0)
			pthread_cond_wait(&job->done, &job->lock);
	}
	rc = job->rc;
	if (job->winner == second) {
		pthread_mutex_lock(&kv->lock);
		kv->hedge_wins++;
		pthread_mutex_unlock(&kv->lock);
	}
	if (rc == 0) {
		*val = job->val;
		*vlen = job->vlen;
		job->val = NULL;
	} else if (rc < 0) {
		kv_set_error(err, "%s", job->err ? job->err : "read failed");
	}
	pthread_mutex_unlock(&job->lock);
	job_release(job);
	return rc;
}

void
kv_hedge_stop(struct kv_hedge_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->wake);
	free(pool);
}
