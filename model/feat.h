/* The eight FlashNet feat_v2 features of an I/O (DESIGN.md), computed in
 * one place for the trainer, the daemon's clients and libkvclient:
 *   0 io_type, 1 size, 2-4 prev_latency_1..3 (us),
 *   5-7 prev_throughput_1..3 (bytes per ms = size * 1000 / latency_us,
 *   latency 0 counting as 1).
 * Missing history is 0; every value saturates at INT32_MAX. */
#ifndef IOLAT_FEAT_H
#define IOLAT_FEAT_H

#include <stdint.h>

#define FEAT_N 8
#define FEAT_HISTORY 3

/* The last FEAT_HISTORY completed I/Os of one device or replica, newest
 * first. */
struct feat_history {
	int32_t latency_us[FEAT_HISTORY];
	int32_t throughput[FEAT_HISTORY];
};

void feat_history_init(struct feat_history *h);

/* Records a completed I/O of size bytes that took latency_us. */
void feat_record(struct feat_history *h, uint64_t size, uint64_t latency_us);

/* The features of an I/O about to be issued, given the history. */
void feat_vector(const struct feat_history *h, int io_type, uint64_t size,
		 int32_t out[FEAT_N]);

/* size * 1000 / latency_us in bytes per ms (latency 0 as 1), saturated. */
int32_t feat_throughput(uint64_t size, uint64_t latency_us);

#endif
