/* FlashNet feat_v2 features. */
#include <string.h>

#include "feat.h"

static int32_t
saturate(uint64_t v)
{
	return v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

void
feat_history_init(struct feat_history *h)
{
	memset(h, 0, sizeof(*h));
}

int32_t
feat_throughput(uint64_t size, uint64_t latency_us)
{
	if (latency_us == 0)
		latency_us = 1;
	/* size * 1000 overflows only past 2^54 bytes: saturate first. */
	if (size > UINT64_MAX / 1000)
		return INT32_MAX;
	return saturate(size * 1000 / latency_us);
}

void
feat_record(struct feat_history *h, uint64_t size, uint64_t latency_us)
{
	for (int k = FEAT_HISTORY - 1; k > 0; k--) {
		h->latency_us[k] = h->latency_us[k - 1];
		h->throughput[k] = h->throughput[k - 1];
	}
	h->latency_us[0] = saturate(latency_us);
	h->throughput[0] = feat_throughput(size, latency_us);
}

void
feat_vector(const struct feat_history *h, int io_type, uint64_t size,
	    int32_t out[FEAT_N])
{
	out[0] = io_type ? 1 : 0;
	out[1] = saturate(size);
	for (int k = 0; k < FEAT_HISTORY; k++) {
		out[2 + k] = h->latency_us[k];
		out[5 + k] = h->throughput[k];
	}
}
