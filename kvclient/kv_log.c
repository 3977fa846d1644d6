/* The read log: every read and put of replica r as one line of
 * PREFIX.rN.trace, in the replayed-trace CSV format
 * (ts_record_ms,latency_us,io_type,size_bytes,offset_bytes,ts_submit_ms,
 * size_after_replay_bytes) that iolatd train reads. Lines are in
 * completion order (for one thread exactly, for several as the lock
 * takes them), the order in which they enter the replica's history, so
 * that training computes the features the client saw. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"

int
kv_log_open(struct kv *kv, const char *prefix, char **err)
{
	for (int r = 0; r < KV_REPLICAS; r++) {
		char path[KV_PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s.r%d.trace", prefix, r);
		kv->rep[r].log = fopen(path, "a");
		if (kv->rep[r].log == NULL) {
			kv_set_error(err, "read log %s: %s", path, strerror(errno));
			kv_log_close(kv);
			return -1;
		}
	}
	return 0;
}

void
kv_log_io(struct kv *kv, int r, uint64_t t0, uint64_t t1, int io_type, uint64_t size)
{
	FILE *f = kv->rep[r].log;
	uint64_t sub_us, done_us;

	if (f == NULL)
		return;
	sub_us = (t0 - kv->t_open_ns) / 1000;
	done_us = (t1 - kv->t_open_ns) / 1000;
	pthread_mutex_lock(&kv->log_lock);
	fprintf(f, "%" PRIu64 ".%03u,%" PRIu64 ",%d,%" PRIu64 ",0,%" PRIu64 ".%03u,%" PRIu64 "\n",
		done_us / 1000, (unsigned)(done_us % 1000), kv_latency_us(t0, t1), io_type, size,
		sub_us / 1000, (unsigned)(sub_us % 1000), size);
	pthread_mutex_unlock(&kv->log_lock);
}

void
kv_log_close(struct kv *kv)
{
	for (int r = 0; r < KV_REPLICAS; r++) {
		if (kv->rep[r].log != NULL)
			fclose(kv->rep[r].log);
		kv->rep[r].log = NULL;
	}
}
