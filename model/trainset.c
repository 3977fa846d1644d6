/* Labelled reads from replayed traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "trainset.h"

uint32_t *
trainset_read_latencies(const struct trace *t)
{
	uint32_t *lat = malloc((t->n_reads ? t->n_reads : 1) * sizeof(*lat));
	size_t k = 0;

	if (lat == NULL)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->io[i].io_type == 1)
			lat[k++] = t->io[i].latency_us;
	return lat;
}

int
trainset_from_trace(const struct trace *t, uint32_t threshold_us,
		    struct ds *out, char *err, size_t errlen)
{
	struct feat_history h;
	size_t k = 0;

	if (t->format != TRACE_REPLAYED) {
		snprintf(err, errlen, "a raw trace has no latencies to learn from");
		return -1;
	}
	if (t->n_reads == 0) {
		snprintf(err, errlen, "the trace has no reads");
		return -1;
	}
	if (ds_alloc(out, t->n_reads, FEAT_N, 1) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	feat_history_init(&h);
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_io *io = &t->io[i];
		if (io->io_type == 1) {
			int32_t f[FEAT_N];
			feat_vector(&h, 1, io->size, f);
			for (int j = 0; j < FEAT_N; j++)
				out->features[k * FEAT_N + j] = (float)f[j];
			out->latency_us[k] = io->latency_us;
			out->labels[k] = io->latency_us > threshold_us;
			k++;
		}
		/* The replay log is in submission order: each I/O becomes the
		 * history of the next, as FlashNet builds feat_v2. */
		feat_record(&h, io->size, io->latency_us);
	}
	return 0;
}

int
trainset_append_rows(struct ds *dst, const struct ds *src, size_t from, size_t to)
{
	size_t add = to - from, n = dst->n + add, nf = src->n_features;
	float *f = realloc(dst->features, (n ? n : 1) * nf * sizeof(float));

	if (f == NULL)
		return -1;
	dst->features = f;
	memcpy(f + dst->n * nf, src->features + from * nf, add * nf * sizeof(float));
	if (src->labels) {
		uint8_t *l = realloc(dst->labels, n ? n : 1);
		if (l == NULL)
			return -1;
		dst->labels = l;
		uint32_t *lat = realloc(dst->latency_us, (n ? n : 1) * sizeof(uint32_t));
		if (lat == NULL)
			return -1;
		dst->latency_us = lat;
		memcpy(l + dst->n, src->labels + from, add);
		memcpy(lat + dst->n, src->latency_us + from, add * sizeof(uint32_t));
	}
	dst->n = n;
	dst->n_features = (uint32_t)nf;
	return 0;
}
