/* kv_stats_json: the handle's counters, then each replica's. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kv_internal.h"

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		char *p = realloc(o->buf, cap);
		if (p == NULL) {
			o->failed = 1;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
}

/* s as a JSON string (proto/json.h). */
static void
put_string(struct out *o, const char *s)
{
	size_t n = json_quote(NULL, 0, s);
	char *q = malloc(n + 1);

	if (q == NULL) {
		o->failed = 1;
		return;
	}
	json_quote(q, n + 1, s);
	put(o, "%s", q);
	free(q);
}

static void
put_predictor(struct out *o, const struct kv_predictor_state *st)
{
	put(o, "{\"kind\": \"%s\", \"%s\": ", st->in_process ? "in-process" : "iolatd",
	    st->in_process ? "model" : "socket");
	put_string(o, st->path);
	if (st->in_process)
		put(o, "}");
	else
		put(o, ", \"connected\": %s, \"model_generation\": %u, \"round_trips\": %" PRIu64
		    ", \"pipelined\": %" PRIu64 "}", st->connected ? "true" : "false",
		    st->generation, st->round_trips, st->pipelined);
}

char *
kv_stats_json(kv_t *kv)
{
	struct out o = {NULL, 0, 0, 0};
	static const unsigned ps[3] = {50, 95, 99};
	uint32_t pct[KV_REPLICAS][3];
	struct kv_predictor_state pred;

	if (kv_handle_check(kv, NULL) != 0)
		return NULL;
	for (int r = 0; r < KV_REPLICAS; r++)
		kv_replica_percentiles(kv, r, ps, 3, pct[r]);
	if (kv->pred) /* before kv->lock: a daemon answer may hold it up */
		kv_predictor_state(kv->pred, &pred);
	pthread_mutex_lock(&kv->lock);
	put(&o, "{\"policy\": \"%s\", \"reads\": %" PRIu64 ", \"reroutes\": %" PRIu64
		", \"predicted_slow\": %" PRIu64 ", \"hedged_reads\": %" PRIu64
		", \"hedge_wins\": %" PRIu64 ", \"predictor_errors\": %" PRIu64
		", \"predictor\": ",
	    kv_policy_name(kv->policy), kv->reads, kv->reroutes, kv->predicted_slow, kv->hedges,
	    kv->hedge_wins, kv->predictor_errors);
	if (kv->pred)
		put_predictor(&o, &pred);
	else
		put(&o, "null");
	put(&o, ", \"replicas\": [");
	for (int r = 0; r < KV_REPLICAS; r++) {
		const struct kv_replica *rep = &kv->rep[r];
		put(&o, "%s{\"replica\": %d, \"path\": ", r ? ", " : "", r);
		put_string(&o, rep->path);
		put(&o, ", \"state\": \"%s\", \"error\": ",
		    rep->db && !rep->error[0] ? "ok" : "failed");
		if (rep->error[0])
			put_string(&o, rep->error);
		else
			put(&o, "null");
		put(&o, ", \"reads\": %" PRIu64 ", \"read_errors\": %" PRIu64
			", \"not_found\": %" PRIu64 ", \"puts\": %" PRIu64 ", \"deletes\": %" PRIu64
			", \"write_errors\": %" PRIu64 ", \"outstanding\": %" PRIu64
			", \"predicted_slow\": %" PRIu64 ", \"probes\": %" PRIu64
			", \"hedged_to\": %" PRIu64 ", \"read_us_avg\": %" PRIu64
			", \"read_us_p50\": %u, \"read_us_p95\": %u, \"read_us_p99\": %u"
			", \"history\": {\"latency_us\": [%d, %d, %d], \"throughput\": [%d, %d, %d]}}",
		    rep->reads, rep->read_errors, rep->not_found, rep->puts, rep->deletes,
		    rep->put_errors, rep->outstanding, rep->predicted_slow, rep->probes,
		    rep->hedged_to,
		    rep->reads > rep->read_errors ? rep->read_us_total / (rep->reads - rep->read_errors) : 0,
		    pct[r][0], pct[r][1], pct[r][2], rep->hist.latency_us[0], rep->hist.latency_us[1],
		    rep->hist.latency_us[2], rep->hist.throughput[0], rep->hist.throughput[1],
		    rep->hist.throughput[2]);
	}
	put(&o, "]}");
	pthread_mutex_unlock(&kv->lock);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
