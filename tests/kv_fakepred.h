/* A scripted stand-in for iolatd, in a thread of the test: it listens on
 * a Unix socket, serves one connection at a time, and answers the i-th
 * PREDICT with the decisions of script[i] instead of a model's, so that a
 * test knows every decision kvclient gets, whatever the features. It
 * records how many rows each request carried and stalls (never answers)
 * where the script says so. Replies carry model generation 7. */
#ifndef IOLAT_TEST_KV_FAKEPRED_H
#define IOLAT_TEST_KV_FAKEPRED_H

#include <stddef.h>

#define KVT_PRED_GENERATION 7
#define KVT_PRED_MAX_REQUESTS 256

struct kvt_pred;

/* script: NULL-terminated, one string per PREDICT request in order: an
 * 'f' (fast) or 's' (slow) per row, or "-" for a request never answered.
 * Past its end every row is fast. The thread gives up after idle_ms
 * without a request (a deadline, so that a broken test ends). NULL with
 * err on failure. */
struct kvt_pred *kvt_pred_start(const char *sock, const char *const *script, int idle_ms,
				char *err, size_t errlen);

/* PREDICT requests received so far, and the rows of request i. */
int kvt_pred_requests(struct kvt_pred *p);
int kvt_pred_rows(struct kvt_pred *p, int i);

/* The first thing wrong with a request ("request 3: 2 rows, the script
 * has 1", features that are not a 4096-byte read's), or NULL. */
const char *kvt_pred_problem(struct kvt_pred *p);

/* Closes the socket and any connection and waits for the thread: the
 * daemon is gone. The counts stay readable until kvt_pred_free, which
 * stops it first if need be (NULL is fine). */
void kvt_pred_stop(struct kvt_pred *p);
void kvt_pred_free(struct kvt_pred *p);

#endif
