/* The store kvbench reads: three replicas in a temporary directory, keys
 * "key-000000000042" (16 bytes) with values whose length and bytes follow
 * from the key, so that every read is checked. And the timed phases. */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "kvbench.h"

static void
key_of(uint32_t i, char key[KB_KEY_LEN + 1])
{
	snprintf(key, KB_KEY_LEN + 1, "key-%012u", i);
}

static unsigned char
val_byte(uint32_t key, size_t j)
{
	return (unsigned char)(key * 131u + j * 7u);
}

kv_t *
store_open(const struct store *s, int c, const char *policy, const char *model,
	   const char *log_prefix)
{
	kv_options_t *o = kv_options_create();
	char *err = NULL;
	kv_t *kv;

	if (o == NULL)
		return NULL;
	for (int r = 0; r < KV_REPLICAS; r++)
		kv_options_set_replica_path(o, r, s->path[c][r]);
	kv_options_set_policy(o, policy);
	if (model != NULL)
		kv_options_set_model_file(o, model);
	if (log_prefix != NULL)
		kv_options_set_read_log(o, log_prefix);
	kv = kv_open(o, &err);
	kv_options_destroy(o);
	if (kv == NULL) {
		fprintf(stderr, "kvbench: kv_open (%s): %s\n", policy, err);
		kv_free(err);
	}
	return kv;
}

/* One sorted run per replica (no compaction left to compete with the
 * measured reads), then a checkpoint of it for each further copy. */
static int
compact_and_copy(kv_t *kv, const struct store *s)
{
	for (int r = 0; r < KV_REPLICAS; r++) {
		rocksdb_t *db = kv->rep[r].db;
		rocksdb_checkpoint_t *cp;
		char *err = NULL;
		rocksdb_compact_range(db, NULL, 0, NULL, 0);
		if ((cp = rocksdb_checkpoint_object_create(db, &err)) == NULL) {
			fprintf(stderr, "kvbench: checkpoint of %s: %s\n", s->path[0][r], err);
			free(err);
			return -1;
		}
		for (int c = 1; c < KB_COPIES && err == NULL; c++)
			rocksdb_checkpoint_create(cp, s->path[c][r], 0, &err);
		rocksdb_checkpoint_object_destroy(cp);
		if (err != NULL) {
			fprintf(stderr, "kvbench: checkpoint of %s: %s\n", s->path[0][r], err);
			free(err);
			return -1;
		}
	}
	return 0;
}

int
store_load(struct store *s, const char *dir, uint32_t n_keys, uint64_t seed)
{
	unsigned char *val = malloc(1000);
	char key[KB_KEY_LEN + 1], *err = NULL;
	kv_t *kv;
	int rc;

	memset(s, 0, sizeof(*s));
	for (int c = 0; c < KB_COPIES; c++)
		for (int r = 0; r < KV_REPLICAS; r++)
			snprintf(s->path[c][r], sizeof(s->path[c][r]), "%s/copy%d-replica%d", dir,
				 c, r);
	s->n_keys = n_keys;
	s->vlen = malloc(n_keys * sizeof(*s->vlen));
	if (val == NULL || s->vlen == NULL ||
	    (kv = store_open(s, 0, "primary", NULL, NULL)) == NULL) {
		free(val);
		return -1;
	}
	for (uint32_t i = 0; i < n_keys; i++) {
		s->vlen[i] = (uint16_t)(100 + test_rand_u64(&seed) % 901);
		for (size_t j = 0; j < s->vlen[i]; j++)
			val[j] = val_byte(i, j);
		key_of(i, key);
		if (kv_put(kv, key, KB_KEY_LEN, val, s->vlen[i], &err) != 0) {
			fprintf(stderr, "kvbench: put %s: %s\n", key, err);
			kv_free(err);
			kv_close(kv);
			free(val);
			return -1;
		}
	}
	rc = compact_and_copy(kv, s);
	kv_close(kv);
	free(val);
	return rc;
}

void
store_free(struct store *s)
{
	free(s->vlen);
	s->vlen = NULL;
}

uint32_t *
store_sequence(const struct store *s, size_t n, uint64_t seed)
{
	uint32_t *seq = malloc((n ? n : 1) * sizeof(*seq));

	for (size_t i = 0; seq != NULL && i < n; i++)
		seq[i] = (uint32_t)(test_rand_u64(&seed) % s->n_keys);
	return seq;
}

/* One checked read of key k. */
static int
read_one(kv_t *kv, const struct store *s, uint32_t k)
{
	char key[KB_KEY_LEN + 1], *err = NULL;
	void *v = NULL;
	size_t len = 0;
	int rc;

	key_of(k, key);
	rc = kv_get(kv, key, KB_KEY_LEN, &v, &len, &err);
	if (rc != 0 || len != s->vlen[k] || ((unsigned char *)v)[0] != val_byte(k, 0) ||
	    ((unsigned char *)v)[len - 1] != val_byte(k, len - 1)) {
		fprintf(stderr, "kvbench: get %s: %s\n", key,
			rc < 0 ? err : rc == 1 ? "not found" : "wrong value");
		kv_free(err);
		kv_free(v);
		return -1;
	}
	kv_free(v);
	return 0;
}

static uint64_t
reads_done(kv_t *kv, uint64_t *hedges)
{
	uint64_t done = 0;

	pthread_mutex_lock(&kv->lock);
	for (int r = 0; r < KV_REPLICAS; r++)
		done += kv->rep[r].reads;
	*hedges = kv->hedges;
	pthread_mutex_unlock(&kv->lock);
	return done;
}

/* One timed read on a lane. A hedged read's loser runs on after kv_get
 * returns: wait for it, so that it takes this read's emulated time, not
 * the next one's, and burns no CPU under the next lane's read. */
static int
lane_read(struct lane *l, const struct store *s, uint32_t k, size_t i)
{
	uint64_t h0, h1, done0, t0;

	if (l->e != NULL)
		emu_set(l->e, i);
	done0 = reads_done(l->kv, &h0);
	t0 = test_now_ns();
	if (read_one(l->kv, s, k) != 0)
		return -1;
	l->ns[i] = test_now_ns() - t0;
	while (reads_done(l->kv, &h1) - done0 < 1 + (h1 - h0))
		sched_yield();
	return 0;
}

int
lanes_run(struct lane *lanes, int n_lanes, const struct store *s, const uint32_t *seq,
	  size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < n_lanes; j++)
			if (lane_read(&lanes[(i + (size_t)j) % (size_t)n_lanes], s, seq[i], i) != 0)
				return -1;
	return 0;
}

void
kv_counts_get(kv_t *kv, struct kv_counts *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&kv->lock);
	c->reads = kv->reads;
	c->hedges = kv->hedges;
	c->hedge_wins = kv->hedge_wins;
	c->reroutes = kv->reroutes;
	c->predicted_slow = kv->predicted_slow;
	c->predictor_errors = kv->predictor_errors;
	for (int r = 0; r < KV_REPLICAS; r++)
		c->probes += kv->rep[r].probes;
	pthread_mutex_unlock(&kv->lock);
}

int
phase_measure(const struct store *s, const struct spec *sp, int n_sp, const char *model,
	      const uint32_t *seq, size_t n, struct emu *emus, struct row *rows,
	      struct kv_counts *counts, uint64_t *ns0)
{
	struct lane lanes[KB_COPIES];
	int rc = -1, i;

	memset(lanes, 0, sizeof(lanes));
	for (i = 0; i < n_sp; i++) {
		int pred = strcmp(sp[i].policy, "predict") == 0;
		lanes[i].ns = malloc(n * sizeof(uint64_t));
		lanes[i].kv = store_open(s, i, sp[i].policy, pred ? model : NULL, NULL);
		if (lanes[i].ns == NULL || lanes[i].kv == NULL)
			goto out;
		if (emus != NULL) {
			lanes[i].e = &emus[i];
			emus[i].oracle = sp[i].oracle;
			kvi_set_delay(lanes[i].kv, emu_delay, &emus[i]);
		}
	}
	if (lanes_run(lanes, n_sp, s, seq, n) != 0)
		goto out;
	if (ns0 != NULL)
		memcpy(ns0, lanes[0].ns, n * sizeof(uint64_t));
	for (i = 0; i < n_sp; i++) {
		kv_counts_get(lanes[i].kv, &counts[i]);
		row_fill(&rows[i], sp[i].name, lanes[i].ns, n);
		rows[i].extra_pct = 100.0 * (double)counts[i].hedges / (double)n;
		rows[i].reroute_pct = 100.0 * (double)counts[i].reroutes / (double)n;
	}
	rc = 0;
out:
	for (i = 0; i < n_sp; i++) {
		if (lanes[i].kv != NULL)
			kv_close(lanes[i].kv);
		free(lanes[i].ns);
	}
	return rc;
}

/* ns for `block` reads from seq[*pos...], wrapping. */
static int
time_block(kv_t *kv, const struct store *s, const uint32_t *seq, size_t n_seq, size_t *pos,
	   size_t block, uint64_t *ns)
{
	uint64_t t0 = test_now_ns();

	for (size_t i = 0; i < block; i++) {
		if (read_one(kv, s, seq[*pos]) != 0)
			return -1;
		*pos = (*pos + 1) % n_seq;
	}
	*ns = test_now_ns() - t0;
	return 0;
}

int
overhead_run(kv_t *kv, const struct store *s, const uint32_t *seq, size_t n_seq,
	     size_t block, size_t pairs, struct overhead *o)
{
	uint64_t sum[2] = {0, 0}, t;
	double d_sum = 0, d_sq = 0, *d = malloc(pairs * sizeof(*d));
	size_t pos = 0;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	o->pairs = pairs;
	o->block = block;
	if (d == NULL)
		return -1;
	for (int w = 0; w < 4; w++) /* caches and branch predictors, untimed */
		if (kvi_set_policy(kv, w % 2 ? "predict" : "primary") != 0 ||
		    time_block(kv, s, seq, n_seq, &pos, block, &t) != 0)
			goto out;
	for (size_t k = 0; k < pairs; k++) {
		uint64_t b[2];
		/* ABBA: the order flips every pair, so a linear drift cancels
		 * within two pairs, not only on average */
		for (int j = 0; j < 2; j++) {
			int pol = (int)(k % 2) ^ j; /* 0 primary, 1 predict */
			if (kvi_set_policy(kv, pol ? "predict" : "primary") != 0 ||
			    time_block(kv, s, seq, n_seq, &pos, block, &b[pol]) != 0)
				goto out;
		}
		sum[0] += b[0];
		sum[1] += b[1];
		d[k] = ((double)b[1] - (double)b[0]) / (double)block;
		d_sum += d[k];
		d_sq += d[k] * d[k];
	}
	o->primary_ns = (double)sum[0] / (double)(pairs * block);
	o->predict_ns = (double)sum[1] / (double)(pairs * block);
	o->diff_ns = d_sum / (double)pairs;
	if (pairs > 1) {
		double var = (d_sq - d_sum * d_sum / (double)pairs) / (double)(pairs - 1);
		o->ci95_ns = 1.96 * sqrt(var > 0 ? var / (double)pairs : 0);
	}
	/* A block that a preemption hit is off by milliseconds: the median
	 * of the pairs' differences is the estimate such blocks do not move. */
	o->median_diff_ns = test_median(d, pairs);
	rc = 0;
out:
	free(d);
	return rc;
}
