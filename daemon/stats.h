/* iolatd serve's counters and its request latency histogram, rendered as
 * the STATS reply's JSON and as Prometheus text exposition. Plain data:
 * the server updates it from its one loop thread. */
#ifndef IOLAT_STATS_H
#define IOLAT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Buckets of request latency, upper bounds 2^k us for k = 0..STATS_BUCKETS-2,
 * the last for everything above. */
#define STATS_BUCKETS 24
#define STATS_ERROR_CODES 10 /* codes 1..9; index 0 unused */

struct stats {
	uint64_t connections_open;
	uint64_t connections_total;
	uint64_t frames;
	uint64_t predictions;
	uint64_t slow_predictions;
	uint64_t errors[STATS_ERROR_CODES];
	uint64_t reloads;
	uint64_t reload_failures;
	uint64_t latency_count;
	uint64_t latency_sum_ns;
	uint64_t latency_bucket[STATS_BUCKETS]; /* not cumulative */
};

/* Counts one request answered after ns nanoseconds. */
void stats_observe_latency(struct stats *s, uint64_t ns);

/* The upper bound of bucket k in microseconds (0 for the last: +Inf). */
uint64_t stats_bucket_bound_us(int k);

/* Renders as one JSON object / as Prometheus text (metrics prefixed
 * iolatd_) into buf. Returns the length, or -1 if cap is too small. */
int stats_json(const struct stats *s, uint32_t generation, char *buf, size_t cap);
int stats_prometheus(const struct stats *s, uint32_t generation, char *buf, size_t cap);

/* The inverse of stats_json: reads the len bytes at json, which must have
 * exactly stats_json's shape (keys in its order, every error code and
 * bucket, the buckets' bounds; whitespace between tokens is free), into
 * *s and *generation (may be NULL). Returns 0, or -1 leaving both as they
 * were. */
int stats_parse_json(const char *json, size_t len, struct stats *s, uint32_t *generation);

#endif
