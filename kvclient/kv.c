/* The public calls: open and close, puts to every replica, and reads
 * routed by the policy. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kv_internal.h"
#include "model_file.h"


/* Handles now open. A call checks its handle against this list before
 * touching it, so a closed or bogus handle is an error, not a crash
 * (unless malloc has since put a new handle at the same address). */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static kv_t **live;
static size_t live_n, live_cap;

static int
live_add(kv_t *kv)
{
	int rc = 0;

	pthread_mutex_lock(&live_lock);
	if (live_n == live_cap) {
		size_t cap = live_cap ? live_cap * 2 : 8;
		kv_t **p = realloc(live, cap * sizeof(*p));
		if (p == NULL)
			rc = -1;
		else {
			live = p;
			live_cap = cap;
		}
	}
	if (rc == 0)
		live[live_n++] = kv;
	pthread_mutex_unlock(&live_lock);
	return rc;
}

static int
live_remove(kv_t *kv)
{
	int found = 0;

	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < live_n; i++)
		if (live[i] == kv) {
			live[i] = live[--live_n];
			found = 1;
			break;
		}
	if (live_n == 0) {
		free(live);
		live = NULL;
		live_cap = 0;
	}
	pthread_mutex_unlock(&live_lock);
	return found;
}

int
kv_handle_check(kv_t *kv, char **err)
{
	int found = 0;

	if (kv == NULL) {
		kv_set_error(err, "kv: NULL handle");
		return -1;
	}
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < live_n && !found; i++)
		found = live[i] == kv;
	pthread_mutex_unlock(&live_lock);
	if (!found || kv->magic != KV_MAGIC) {
		kv_set_error(err, "kv: the handle is closed or not one kv_open returned");
		return -1;
	}
	return 0;
}

void
kv_set_error(char **err, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(*err);
	*err = msg;
}

void
kv_free(void *p)
{
	free(p);
}

static const char *const policy_names[] = {"primary", "random", "hedge", "predict"};

int
kv_policy_parse(const char *name, enum kv_policy *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, policy_names[i]) == 0) {
			*out = (enum kv_policy)i;
			return 0;
		}
	return -1;
}

const char *
kv_policy_name(enum kv_policy p)
{
	return policy_names[p];
}

static int
check_options(const kv_options_t *o, enum kv_policy *policy, char **err)
{
	if (o == NULL) {
		kv_set_error(err, "kv_open: NULL options");
		return -1;
	}
	for (int r = 0; r < KV_REPLICAS; r++) {
		if (o->path[r][0] == '\0') {
			kv_set_error(err, "kv_open: no path for replica %d "
				     "(kv_options_set_replica_path)", r);
			return -1;
		}
		if (o->path[r][0] == '\001') {
			kv_set_error(err, "kv_open: the path of replica %d is over %d bytes", r,
				     KV_PATH_MAX - 1);
			return -1;
		}
		for (int q = 0; q < r; q++)
			if (strcmp(o->path[q], o->path[r]) == 0) {
				kv_set_error(err, "kv_open: replicas %d and %d have the same path %s",
					     q, r, o->path[r]);
				return -1;
			}
	}
	if (o->model[0] == '\001' || o->daemon[0] == '\001' || o->log_prefix[0] == '\001') {
		kv_set_error(err, "kv_open: a model, socket or log path is over %d bytes",
			     KV_PATH_MAX - 1);
		return -1;
	}
	if (kv_policy_parse(o->policy, policy) != 0) {
		kv_set_error(err, "kv_open: unknown policy '%s' (primary, random, hedge, predict)",
			     o->policy[0] == '\001' ? "(too long)" : o->policy);
		return -1;
	}
	if (o->model[0] && o->daemon[0]) {
		kv_set_error(err, "kv_open: both a model file and a daemon socket: choose one");
		return -1;
	}
	return 0;
}

/* Frees what kv_open set up, in any state it reached; the hedge pool
 * first, letting the reads it runs finish. */
static void
kv_teardown(kv_t *kv)
{
	kv->magic = 0;
	kv_hedge_stop(kv->hedge);
	for (int r = 0; r < KV_REPLICAS; r++)
		kv_replica_close(&kv->rep[r]);
	kv_log_close(kv);
	kv_predictor_close(kv->pred);
	rocksdb_options_destroy(kv->dbopt);
	rocksdb_readoptions_destroy(kv->ropt);
	rocksdb_writeoptions_destroy(kv->wopt);
	pthread_mutex_destroy(&kv->lock);
	pthread_mutex_destroy(&kv->log_lock);
	free(kv);
}

kv_t *
kv_open(const kv_options_t *o, char **err)
{
	enum kv_policy policy;
	kv_t *kv;
	int open_n = 0;
	char *first_err = NULL;

	if (check_options(o, &policy, err) != 0)
		return NULL;
	kv = calloc(1, sizeof(*kv));
	if (kv == NULL) {
		kv_set_error(err, "out of memory");
		return NULL;
	}
	kv->policy = policy;
	kv->t_open_ns = kv_now_ns();
	kv->rng = kv->t_open_ns | 1;
	pthread_mutex_init(&kv->lock, NULL);
	pthread_mutex_init(&kv->log_lock, NULL);
	kv->dbopt = rocksdb_options_create();
	kv->ropt = rocksdb_readoptions_create();
	kv->wopt = rocksdb_writeoptions_create();
	rocksdb_options_set_create_if_missing(kv->dbopt, o->create_if_missing);
	rocksdb_writeoptions_set_sync(kv->wopt, o->sync);

	if (policy == KV_PREDICT) {
		kv->pred = kv_predictor_open(o->model[0] ? o->model : MF_DEFAULT_MODEL, o->daemon, err);
		if (kv->pred == NULL)
			goto fail;
	}
	if (o->log_prefix[0] && kv_log_open(kv, o->log_prefix, err) != 0)
		goto fail;
	for (int r = 0; r < KV_REPLICAS; r++) {
		char *e = NULL;
		if (kv_replica_open(kv, r, o->path[r], o->create_if_missing, &e) == 0)
			open_n++;
		else if (first_err == NULL)
			first_err = e;
		else
			free(e);
	}
	if (open_n == 0) {
		kv_set_error(err, "kv_open: no replica opens; %s", first_err);
		free(first_err);
		goto fail;
	}
	free(first_err);
	if (policy == KV_HEDGE && (kv->hedge = kv_hedge_start(kv, err)) == NULL)
		goto fail;
	kv->magic = KV_MAGIC;
	if (live_add(kv) != 0) {
		kv_set_error(err, "out of memory");
		goto fail;
	}
	return kv;
fail:
	kv_teardown(kv);
	return NULL;
}

void
kv_close(kv_t *kv)
{
	if (kv == NULL || !live_remove(kv))
		return;
	kv_teardown(kv);
}

static int
check_key(const void *key, size_t klen, char **err)
{
	if (key == NULL) {
		kv_set_error(err, "kv: NULL key");
		return -1;
	}
	if (klen == 0 || klen > KV_MAX_KEY) {
		kv_set_error(err, "kv: key of %zu bytes: keys are 1..%d bytes", klen, KV_MAX_KEY);
		return -1;
	}
	return 0;
}

/* FNV-1a: the key's primary replica, the same in every process. */
static int
primary_of(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (int)(h % KV_REPLICAS);
}

/* Writes go to every replica still in service; the error names each one
 * that failed (they are set aside: they may now lack this write). */
static int
write_all(kv_t *kv, const void *key, size_t klen, const void *val, size_t vlen,
	  int is_delete, char **err)
{
	char msg[3 * 700] = "";
	size_t n = 0;
	int failed = 0, done = 0;

	for (int r = 0; r < KV_REPLICAS; r++) {
		char *e = NULL;
		int rc;
		if (!kv_replica_alive(kv, r)) {
			pthread_mutex_lock(&kv->lock);
			snprintf(msg + n, sizeof(msg) - n, "%sreplica %d (%s): out of service: %s",
				 failed ? "; " : "", r, kv->rep[r].path, kv->rep[r].error);
			pthread_mutex_unlock(&kv->lock);
			n = strlen(msg);
			failed++;
			continue;
		}
		rc = is_delete ? kv_replica_delete(kv, r, key, klen, &e)
			       : kv_replica_put(kv, r, key, klen, val, vlen, &e);
		if (rc == 0) {
			done++;
		} else {
			snprintf(msg + n, sizeof(msg) - n, "%s%s", failed ? "; " : "", e);
			n = strlen(msg);
			failed++;
		}
		free(e);
	}
	if (failed == 0)
		return 0;
	if (done == 0)
		kv_set_error(err, "%s failed on every replica; %s", is_delete ? "delete" : "put",
			     msg);
	else
		kv_set_error(err, "%s done on only %d of 3 replicas; %s",
			     is_delete ? "delete" : "put", done, msg);
	return -1;
}

int
kv_put(kv_t *kv, const void *key, size_t klen, const void *val, size_t vlen, char **err)
{
	if (kv_handle_check(kv, err) != 0 || check_key(key, klen, err) != 0)
		return -1;
	if (val == NULL && vlen > 0) {
		kv_set_error(err, "kv_put: NULL value of %zu bytes", vlen);
		return -1;
	}
	if (vlen > KV_MAX_VALUE) {
		kv_set_error(err, "kv_put: value of %zu bytes: the limit is %u", vlen,
			     KV_MAX_VALUE);
		return -1;
	}
	return write_all(kv, key, klen, val ? val : "", vlen, 0, err);
}

int
kv_delete(kv_t *kv, const void *key, size_t klen, char **err)
{
	if (kv_handle_check(kv, err) != 0 || check_key(key, klen, err) != 0)
		return -1;
	return write_all(kv, key, klen, NULL, 0, 1, err);
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The replica a read goes to under the predict policy: the first, from
 * the primary on, not predicted slow; the primary (first in service)
 * when all are. A replica passed over KV_PROBE_AFTER times in a row is
 * read although predicted slow (a probe), or its history, frozen at
 * slow, would keep it out for ever. The replicas in service are asked
 * in one call: one PREDICT frame through iolatd; in process, in order,
 * up to the first predicted fast. */
static int
route_predict(kv_t *kv, const int *order, int n)
{
	int32_t f[KV_REPLICAS][FEAT_N];
	uint8_t slow[KV_REPLICAS] = {0};
	int chosen = -1;

	pthread_mutex_lock(&kv->lock);
	for (int i = 0; i < n; i++)
		feat_vector(&kv->rep[order[i]].hist, 1, KV_READ_SIZE, f[i]);
	pthread_mutex_unlock(&kv->lock);
	int decided = kv_predictor_decide(kv->pred, (const int32_t (*)[FEAT_N])f, n, slow);
	if (decided < 0) {
		pthread_mutex_lock(&kv->lock);
		kv->predictor_errors++;
		pthread_mutex_unlock(&kv->lock);
		return order[0];
	}
	pthread_mutex_lock(&kv->lock);
	for (int i = 0; i < decided; i++) {
		struct kv_replica *rep = &kv->rep[order[i]];
		if (slow[i]) {
			rep->predicted_slow++;
			kv->predicted_slow++;
		}
	}
	for (int i = 0; i < decided && chosen < 0; i++) {
		struct kv_replica *rep = &kv->rep[order[i]];
		if (slow[i] && rep->slow_streak >= KV_PROBE_AFTER) {
			rep->probes++;
			chosen = order[i];
		} else if (!slow[i]) {
			chosen = order[i];
		}
	}
	if (chosen < 0)
		chosen = order[0];
	/* Those before the chosen one were passed over; it was read. */
	for (int i = 0; i < n; i++) {
		if (order[i] == chosen) {
			kv->rep[order[i]].slow_streak = 0;
			break;
		}
		kv->rep[order[i]].slow_streak++;
	}
	if (chosen != order[0])
		kv->reroutes++;
	pthread_mutex_unlock(&kv->lock);
	return chosen;
}

int
kv_get(kv_t *kv, const void *key, size_t klen, void **val, size_t *vlen, char **err)
{
	int order[KV_REPLICAS], n = 0, p, r, rc;
	void *v = NULL;
	size_t len = 0;

	if (kv_handle_check(kv, err) != 0 || check_key(key, klen, err) != 0)
		return -1;
	if (val == NULL || vlen == NULL) {
		kv_set_error(err, "kv_get: NULL val or vlen");
		return -1;
	}
	*val = NULL;
	*vlen = 0;
	if (kv->policy == KV_RANDOM) {
		pthread_mutex_lock(&kv->lock);
		p = (int)(xorshift(&kv->rng) % KV_REPLICAS);
		pthread_mutex_unlock(&kv->lock);
	} else {
		p = primary_of(key, klen);
	}
	for (int i = 0; i < KV_REPLICAS; i++)
		if (kv_replica_alive(kv, (p + i) % KV_REPLICAS))
			order[n++] = (p + i) % KV_REPLICAS;
	if (n == 0) {
		kv_set_error(err, "kv_get: every replica is out of service");
		return -1;
	}
	pthread_mutex_lock(&kv->lock);
	kv->reads++;
	pthread_mutex_unlock(&kv->lock);

	r = kv->policy == KV_PREDICT ? route_predict(kv, order, n) : order[0];
	if (kv->policy == KV_HEDGE)
		rc = kv_hedge_get(kv, r, n > 1 ? order[1] : -1, key, klen, &v, &len, err);
	else
		rc = kv_replica_get(kv, r, key, klen, &v, &len, err);
	/* A replica that failed is now set aside: the read tries the others
	 * in order before it reports the error. */
	for (int i = 0; rc < 0 && i < n; i++) {
		if (order[i] == r || !kv_replica_alive(kv, order[i]))
			continue;
		char *e = NULL;
		rc = kv_replica_get(kv, order[i], key, klen, &v, &len, &e);
		free(e);
		if (rc >= 0 && err != NULL) {
			free(*err);
			*err = NULL;
		}
	}
	if (rc == 0) {
		*val = v;
		*vlen = len;
	}
	return rc;
}

void
kvi_set_delay(kv_t *kv, kvi_delay_fn fn, void *ctx)
{
	kv->delay = fn;
	kv->delay_ctx = ctx;
}

int
kvi_set_policy(kv_t *kv, const char *policy)
{
	enum kv_policy p;

	if (kv_policy_parse(policy, &p) != 0)
		return -1;
	if ((p == KV_PREDICT && kv->pred == NULL) || (p == KV_HEDGE && kv->hedge == NULL))
		return -1;
	kv->policy = p;
	return 0;
}
