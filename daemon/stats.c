/* Counters, histogram and their renderings. */
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "textbuf.h"

void
stats_observe_latency(struct stats *s, uint64_t ns)
{
	uint64_t us = (ns + 999) / 1000; /* a bucket holds latencies <= its bound */
	int k = 0;

	while (k < STATS_BUCKETS - 1 && us > ((uint64_t)1 << k))
		k++;
	s->latency_bucket[k]++;
	s->latency_count++;
	s->latency_sum_ns += ns;
}

uint64_t
stats_bucket_bound_us(int k)
{
	return k < STATS_BUCKETS - 1 ? (uint64_t)1 << k : 0;
}

int
stats_json(const struct stats *s, uint32_t generation, char *buf, size_t cap)
{
	struct textbuf o = {buf, cap, 0, cap == 0};

	textbuf_put(&o, "{\"model_generation\": %u, \"connections_open\": %llu, "
		"\"connections_total\": %llu, \"frames\": %llu, \"predictions\": %llu, "
		"\"slow_predictions\": %llu, \"reloads\": %llu, \"reload_failures\": %llu, "
		"\"errors\": {",
	    generation, (unsigned long long)s->connections_open,
	    (unsigned long long)s->connections_total, (unsigned long long)s->frames,
	    (unsigned long long)s->predictions, (unsigned long long)s->slow_predictions,
	    (unsigned long long)s->reloads, (unsigned long long)s->reload_failures);
	for (int c = 1; c < STATS_ERROR_CODES; c++)
		textbuf_put(&o, "%s\"%d\": %llu", c > 1 ? ", " : "", c,
		    (unsigned long long)s->errors[c]);
	textbuf_put(&o, "}, \"latency_us\": {\"count\": %llu, \"sum_ns\": %llu, \"buckets\": [",
	    (unsigned long long)s->latency_count, (unsigned long long)s->latency_sum_ns);
	for (int k = 0; k < STATS_BUCKETS; k++) {
		if (k < STATS_BUCKETS - 1)
			textbuf_put(&o, "%s{\"le\": %llu, \"count\": %llu}", k ? ", " : "",
			    (unsigned long long)stats_bucket_bound_us(k),
			    (unsigned long long)s->latency_bucket[k]);
		else
			textbuf_put(&o, ", {\"le\": null, \"count\": %llu}",
			    (unsigned long long)s->latency_bucket[k]);
	}
	textbuf_put(&o, "]}}");
	return o.full ? -1 : (int)o.len;
}

static void
counter(struct textbuf *o, const char *name, const char *help, uint64_t v)
{
	textbuf_put(o, "# HELP iolatd_%s %s\n# TYPE iolatd_%s counter\niolatd_%s %llu\n", name,
	    help, name, name, (unsigned long long)v);
}

int
stats_prometheus(const struct stats *s, uint32_t generation, char *buf, size_t cap)
{
	struct textbuf o = {buf, cap, 0, cap == 0};
	uint64_t cumulative = 0;

	textbuf_put(&o, "# HELP iolatd_model_generation Generation of the model being served.\n"
		"# TYPE iolatd_model_generation gauge\niolatd_model_generation %u\n",
	    generation);
	textbuf_put(&o, "# HELP iolatd_connections_open Connections open now.\n"
		"# TYPE iolatd_connections_open gauge\niolatd_connections_open %llu\n",
	    (unsigned long long)s->connections_open);
	counter(&o, "connections_total", "Connections accepted.", s->connections_total);
	counter(&o, "frames_total", "Request frames received.", s->frames);
	counter(&o, "predictions_total", "Feature vectors decided.", s->predictions);
	counter(&o, "slow_predictions_total", "Feature vectors decided slow.",
		s->slow_predictions);
	counter(&o, "reloads_total", "Models reloaded.", s->reloads);
	counter(&o, "reload_failures_total", "Reloads refused, old model kept.",
		s->reload_failures);
	textbuf_put(&o, "# HELP iolatd_errors_total Error replies by protocol error code.\n"
		"# TYPE iolatd_errors_total counter\n");
	for (int c = 1; c < STATS_ERROR_CODES; c++)
		textbuf_put(&o, "iolatd_errors_total{code=\"%d\"} %llu\n", c,
		    (unsigned long long)s->errors[c]);
	textbuf_put(&o, "# HELP iolatd_request_seconds Time from a frame's arrival to its reply.\n"
		"# TYPE iolatd_request_seconds histogram\n");
	for (int k = 0; k < STATS_BUCKETS; k++) {
		cumulative += s->latency_bucket[k];
		if (k < STATS_BUCKETS - 1)
			textbuf_put(&o, "iolatd_request_seconds_bucket{le=\"%.6f\"} %llu\n",
			    stats_bucket_bound_us(k) / 1e6, (unsigned long long)cumulative);
		else
			textbuf_put(&o, "iolatd_request_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cumulative);
	}
	textbuf_put(&o, "iolatd_request_seconds_sum %.9f\niolatd_request_seconds_count %llu\n",
	    s->latency_sum_ns / 1e9, (unsigned long long)s->latency_count);
	return o.full ? -1 : (int)o.len;
}

/* The scanner of stats_parse_json: a cursor over the text, and a flag
 * that sticks once anything does not match. */
struct scan {
	const char *p, *end;
	int bad;
};

static void
skip_space(struct scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\n' || *sc->p == '\t' || *sc->p == '\r'))
		sc->p++;
}

/* Matches lit, the punctuation and keys exactly, with any run of JSON
 * whitespace (including none) allowed around punctuation and where lit
 * has a space. */
static void
expect(struct scan *sc, const char *lit)
{
	for (; !sc->bad && *lit; lit++) {
		int punct = strchr("{}[]:,", *lit) != NULL;

		if (*lit == ' ' || punct)
			skip_space(sc);
		if (*lit == ' ')
			continue;
		if (sc->p < sc->end && *sc->p == *lit)
			sc->p++;
		else
			sc->bad = 1;
		if (punct)
			skip_space(sc);
	}
}

/* An unsigned decimal integer of at most max, no sign, no leading zero. */
static uint64_t
number(struct scan *sc, uint64_t max)
{
	uint64_t v = 0;
	const char *start = sc->p;

	if (sc->bad)
		return 0;
	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9') {
		unsigned d = (unsigned)(*sc->p - '0');

		if (v > (max - d) / 10) {
			sc->bad = 1;
			return 0;
		}
		v = v * 10 + d;
		sc->p++;
	}
	if (sc->p == start || (*start == '0' && sc->p - start > 1))
		sc->bad = 1;
	return v;
}

static void
field(struct scan *sc, const char *key, uint64_t *out)
{
	expect(sc, key);
	*out = number(sc, UINT64_MAX);
}

int
stats_parse_json(const char *json, size_t len, struct stats *s, uint32_t *generation)
{
	struct scan sc = {json, json + len, json == NULL};
	struct stats t;
	uint32_t gen;
	char key[32];

	memset(&t, 0, sizeof(t));
	expect(&sc, " {\"model_generation\": ");
	gen = (uint32_t)number(&sc, UINT32_MAX);
	field(&sc, ", \"connections_open\": ", &t.connections_open);
	field(&sc, ", \"connections_total\": ", &t.connections_total);
	field(&sc, ", \"frames\": ", &t.frames);
	field(&sc, ", \"predictions\": ", &t.predictions);
	field(&sc, ", \"slow_predictions\": ", &t.slow_predictions);
	field(&sc, ", \"reloads\": ", &t.reloads);
	field(&sc, ", \"reload_failures\": ", &t.reload_failures);
	expect(&sc, ", \"errors\": {");
	for (int c = 1; c < STATS_ERROR_CODES; c++) {
		snprintf(key, sizeof(key), "%s \"%d\": ", c > 1 ? "," : "", c);
		field(&sc, key, &t.errors[c]);
	}
	field(&sc, " }, \"latency_us\": {\"count\": ", &t.latency_count);
	field(&sc, ", \"sum_ns\": ", &t.latency_sum_ns);
	expect(&sc, ", \"buckets\": [");
	for (int k = 0; k < STATS_BUCKETS; k++) {
		expect(&sc, k ? ", {\"le\": " : " {\"le\": ");
		if (k < STATS_BUCKETS - 1) {
			if (number(&sc, UINT64_MAX) != stats_bucket_bound_us(k))
				sc.bad = 1;
		} else {
			expect(&sc, "null");
		}
		field(&sc, ", \"count\": ", &t.latency_bucket[k]);
		expect(&sc, " }");
	}
	expect(&sc, " ] } } ");
	if (sc.bad || sc.p != sc.end)
		return -1;
	*s = t;
	if (generation)
		*generation = gen;
	return 0;
}
