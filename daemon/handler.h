/* What iolatd serve answers: one request frame in, its reply frame
 * appended to an output buffer. The business logic between the wire
 * (proto/) and the model (predictor): no sockets here, so it is tested
 * without any. */
#ifndef IOLAT_HANDLER_H
#define IOLAT_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "predictor.h"
#include "proto.h"
#include "stats.h"

/* A growing byte buffer that replies are appended to. */
struct outbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

struct handler {
	struct predictor *predictor;
	struct stats *stats;
	const char *version;
	/* Reloads the model (the server's, shared with SIGHUP): returns 0 or
	 * -1 with err filled. */
	int (*reload)(void *ctx, char *err, size_t errlen);
	void *reload_ctx;
	long own_uid; /* RELOAD is for uid 0 and this one */
	/* The features of one PREDICT: at most a 64 KiB body of int32. */
	int32_t rows[PROTO_MAX_BODY / 4];
};

/* Appends the reply to frame. peer_uid is the peer's uid from
 * SO_PEERCRED, or -1 when unknown (RELOAD is then refused). Returns 0, or
 * -1 when out of memory. */
int handler_frame(struct handler *h, const struct proto_frame *frame,
		  long peer_uid, struct outbuf *out);

/* Appends the error reply of a refused frame. Returns 0 or -1. */
int handler_fault(struct handler *h, const struct proto_fault *fault,
		  struct outbuf *out);

void outbuf_free(struct outbuf *b);

#endif
