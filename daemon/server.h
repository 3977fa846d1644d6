/* The I/O of iolatd serve: one libuv loop on a Unix stream socket. It
 * moves bytes and knows nothing of the model beyond handler.h. */
#ifndef IOLAT_SERVER_H
#define IOLAT_SERVER_H

#include <stddef.h>

#include "cfg.h"
#include "predictor.h"

/* Serves until SIGTERM or SIGINT: then stops accepting, answers every
 * request already received, closes and returns 0. listen_fd is a socket
 * handed over by systemd, or -1 to bind c->socket. Returns 1 with err on
 * a start-up failure. */
int srv_run(const struct cfg *c, struct predictor *p, int listen_fd, char *err,
	    size_t errlen);

#endif
