/* A small client of wire protocol v1 over a Unix stream socket: blocking
 * calls, and pipelining (send many requests, then receive the replies in
 * order). Request ids start at 1 and increase by one per request (0 is
 * skipped when they wrap). One client per thread; no global state.
 *
 * Every call returns PROTO_CLIENT_OK (0) or a negative status. After
 * ERR_SYSTEM, ERR_CLOSED, ERR_TIMEOUT or ERR_PROTOCOL the connection is
 * unusable and every later call returns the same status; after ERR_SERVER
 * it stays usable unless the server's code is one that closes (1, 2, 4);
 * ERR_USAGE changes nothing. proto_client_error says what happened. */
#ifndef IOLAT_PROTO_CLIENT_H
#define IOLAT_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Size of the error buffers of this interface. */
#define PROTO_ERRLEN 256

enum proto_client_status {
	PROTO_CLIENT_OK = 0,
	PROTO_CLIENT_ERR_SYSTEM = -1,   /* a system call failed; errno text in the message */
	PROTO_CLIENT_ERR_CLOSED = -2,   /* the server closed the connection */
	PROTO_CLIENT_ERR_TIMEOUT = -3,  /* no progress within the timeout */
	PROTO_CLIENT_ERR_PROTOCOL = -4, /* malformed, unexpected or out-of-order reply */
	PROTO_CLIENT_ERR_SERVER = -5,   /* an error reply: proto_client_server_code */
	PROTO_CLIENT_ERR_USAGE = -6,    /* bad arguments or call order; nothing sent */
};

struct proto_client;

/* One reply, as proto_client_recv returns it; the caller owns it. */
struct proto_reply {
	uint32_t request_id;
	uint8_t opcode;                     /* 0x81..0x85, or 0xFF */
	uint16_t count;                     /* 0x81: predictions */
	uint32_t generation;                /* 0x81: model generation */
	uint8_t decisions[PROTO_MAX_COUNT]; /* 0x81: 0 fast, 1 slow */
	uint8_t scores[PROTO_MAX_COUNT];    /* 0x81: probability * 256, at most 255 */
	const char *json;                   /* 0x83..0x85: not NUL-terminated, */
	size_t json_len;                    /* valid until the next call on the client */
	uint16_t error_code;                /* 0xFF: the server's code */
	char error_message[PROTO_ERRLEN];   /* 0xFF: its message, cut to fit */
};

/* Connects to the socket at path. Returns a client, or NULL with a
 * message in err (PROTO_ERRLEN bytes) naming the path and the cause. */
struct proto_client *proto_client_connect(const char *path, char *err);

/* Wraps an already connected stream socket (socket activation, tests);
 * the client owns fd from then on, even on failure (NULL, message in err). */
struct proto_client *proto_client_from_fd(int fd, char *err);

/* Closes the socket and frees the client (NULL is fine). Replies still
 * outstanding are dropped. */
void proto_client_close(struct proto_client *c);

/* Gives up when the socket makes no progress for ms milliseconds during
 * a call (ERR_TIMEOUT); -1, the default, waits forever. */
void proto_client_set_timeout(struct proto_client *c, int ms);

/* The message of the last failure ("" if none). */
const char *proto_client_error(const struct proto_client *c);

/* The code of the last error reply (1..9), 0 when none. */
uint16_t proto_client_server_code(const struct proto_client *c);

/* Blocking calls: each sends one request and waits for its reply. Not
 * allowed (ERR_USAGE) while pipelined replies are outstanding. */

/* PING and its empty reply. */
int proto_client_ping(struct proto_client *c);

/* Predicts count rows of n_features int32 features (row after row);
 * fills decisions[count], scores[count] and *generation (may be NULL). */
int proto_client_predict(struct proto_client *c, const int32_t *features, uint16_t count,
			 uint16_t n_features, uint8_t *decisions, uint8_t *scores,
			 uint32_t *generation);

/* INFO, STATS, RELOAD: *json receives the reply's JSON as a malloc'ed
 * NUL-terminated string, to free() (NULL on failure; out of memory is
 * ERR_SYSTEM but leaves the connection usable). */
int proto_client_info(struct proto_client *c, char **json);
int proto_client_stats(struct proto_client *c, char **json);
int proto_client_reload(struct proto_client *c, char **json);

/* Pipelining. send_predict queues a PREDICT (written when the queue grows
 * past 64 KiB, on proto_client_flush or on proto_client_recv) and sets
 * *request_id (may be NULL). recv flushes, then waits for the next reply
 * in request order; an error reply returns ERR_SERVER with the reply
 * (error_code, error_message) filled in. */
int proto_client_send_predict(struct proto_client *c, uint32_t *request_id,
			      const int32_t *features, uint16_t count, uint16_t n_features);
int proto_client_flush(struct proto_client *c);
int proto_client_recv(struct proto_client *c, struct proto_reply *reply);

/* Requests sent or queued whose reply has not been received. */
uint32_t proto_client_pending(const struct proto_client *c);

#endif
