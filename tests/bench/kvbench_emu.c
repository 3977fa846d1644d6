/* Device emulation: each replica adds to its real RocksDB read the
 * latency of one real drive, a replayed trace of ../shared/data, indexed
 * by the benchmark's time (its read number), never by the replica's own
 * read count. Handing each replica its next trace latency per read would
 * conserve slow reads: then no routing could win (issue 5). */
#include <stdlib.h>
#include <string.h>

#include "kvbench.h"
#include "trace.h"

int
emu_drive_load(const char *path, struct emu_drive *d, char *err, size_t errlen)
{
	struct trace t;

	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (trace_read(path, &t, err, errlen) != 0)
		return -1;
	d->lat = malloc((t.n_reads ? t.n_reads : 1) * sizeof(*d->lat));
	if (d->lat == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		trace_free(&t);
		return -1;
	}
	for (size_t i = 0; i < t.n; i++)
		if (t.io[i].io_type == 1)
			d->lat[d->n++] = t.io[i].latency_us;
	trace_free(&t);
	if (d->n < 2) {
		snprintf(err, errlen, "%s: %zu reads, too few to emulate a drive", path, d->n);
		emu_drive_free(d);
		return -1;
	}
	return 0;
}

void
emu_drive_free(struct emu_drive *d)
{
	free(d->lat);
	d->lat = NULL;
	d->n = 0;
}

void
emu_timeline(struct emu *e, const struct emu_drive *d, double from, double to,
	     uint64_t total, double scale)
{
	memset(e, 0, sizeof(*e));
	for (int r = 0; r < KV_REPLICAS; r++) {
		size_t a = (size_t)(from * (double)d[r].n), b = (size_t)(to * (double)d[r].n);
		e->lat[r] = d[r].lat + a;
		e->len[r] = b - a;
	}
	e->total = total;
	e->scale = scale;
}

uint32_t
emu_us(const struct emu *e, int r, uint64_t n)
{
	/* n < total and len are both far below 2^32: the product fits */
	return e->lat[r][n * e->len[r] / e->total];
}

void
emu_set(struct emu *e, uint64_t n)
{
	__atomic_store_n(&e->reads_at_n, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->n, n, __ATOMIC_RELEASE);
}

uint64_t
emu_pair_ns(const struct emu_pair *p)
{
	uint64_t second;

	if (p->count < 2)
		return p->delay[0];
	/* the slots are taken before the clock is read: a near tie may come
	 * out reversed by a few ns */
	second = (p->at[1] > p->at[0] ? p->at[1] - p->at[0] : 0) + p->delay[1];
	return second < p->delay[0] ? second : p->delay[0];
}

/* Called by the library after the real get, possibly on a hedge worker
 * thread: both reads of one hedged read see the same n, because the
 * benchmark moves n only once every read kv_get issued has ended. */
uint64_t
emu_delay(void *ctx, int r)
{
	struct emu *e = ctx;
	uint64_t n = __atomic_load_n(&e->n, __ATOMIC_ACQUIRE);
	uint32_t us;

	if (n >= e->total)
		n = e->total - 1;
	us = emu_us(e, r, n);
	if (e->oracle)
		for (int q = 0; q < KV_REPLICAS; q++) {
			uint32_t v = emu_us(e, q, n);
			us = v < us ? v : us;
		}
	uint64_t ns = (uint64_t)((double)us * 1000.0 / e->scale);
	if (e->served != NULL && e->served[n] < 0)
		e->served[n] = (int8_t)r;
	if (e->delay_ns != NULL && e->delay_ns[n] == UINT64_MAX)
		e->delay_ns[n] = ns;
	if (e->pair != NULL) {
		/* two threads may be here at once: each takes its own slot */
		unsigned k = __atomic_fetch_add(&e->reads_at_n, 1, __ATOMIC_ACQ_REL);
		if (k < 2) {
			e->pair[n].delay[k] = ns;
			e->pair[n].at[k] = kv_now_ns();
			__atomic_add_fetch(&e->pair[n].count, 1, __ATOMIC_RELEASE);
		}
	}
	return ns;
}
