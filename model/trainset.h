/* From a replayed trace to the labelled reads the trainer learns from:
 * the features of every read (FlashNet feat_v2, history over every I/O of
 * the trace in its order), its measured latency, and its label. */
#ifndef IOLAT_TRAINSET_H
#define IOLAT_TRAINSET_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "trace.h"

/* The latencies of the trace's reads, in order (malloc'ed, n_reads). */
uint32_t *trainset_read_latencies(const struct trace *t);

/* Every read of t as a labelled row: slow if latency_us > threshold_us.
 * Fails (-1, err) for a trace without latencies or without reads. */
int trainset_from_trace(const struct trace *t, uint32_t threshold_us,
			struct ds *out, char *err, size_t errlen);

/* Appends rows [from, to) of src to dst (same n_features, both labelled
 * or not). Returns 0 or -1 (no memory; dst keeps its rows). */
int trainset_append_rows(struct ds *dst, const struct ds *src, size_t from, size_t to);

#endif
