/* A blocking and pipelined client of wire protocol v1 (see client.h).
 * The socket is non-blocking underneath so that every wait goes through
 * poll(2) with the client's timeout, and so that flushing a long pipeline
 * can drain replies as they come (neither side then fills its buffers and
 * waits for the other). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define FLUSH_AT (64 * 1024)
#define READ_CHUNK 16384

struct proto_client {
	int fd;
	int timeout_ms;
	int dead;             /* status every call returns once broken, else 0 */
	uint32_t next_id;     /* id of the next request */
	uint32_t expected_id; /* id of the next reply */
	uint32_t pending;
	uint16_t server_code;
	uint8_t *out;         /* queued request bytes */
	size_t out_len, out_cap;
	uint8_t *in;          /* received bytes; in[in_start..in_len) not yet parsed */
	size_t in_start, in_len, in_cap;
	char err[PROTO_ERRLEN];
};

static uint32_t
id_after(uint32_t id)
{
	return id == UINT32_MAX ? 1 : id + 1;
}

static int
fail(struct proto_client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (status != PROTO_CLIENT_ERR_USAGE && status != PROTO_CLIENT_ERR_SERVER)
		c->dead = status;
	return status;
}

static int
fail_errno(struct proto_client *c, const char *what)
{
	if (errno == EPIPE || errno == ECONNRESET)
		return fail(c, PROTO_CLIENT_ERR_CLOSED, "server closed the connection (%s: %s)",
			    what, strerror(errno));
	return fail(c, PROTO_CLIENT_ERR_SYSTEM, "%s: %s", what, strerror(errno));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on the socket; returns revents, 0 on timeout, -1 on error. */
static int
wait_fd(struct proto_client *c, short events)
{
	int64_t deadline = c->timeout_ms < 0 ? 0 : now_ms() + c->timeout_ms;
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int left = c->timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		int n = poll(&p, 1, left < 0 && c->timeout_ms >= 0 ? 0 : left);

		if (n > 0)
			return p.revents;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int
grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *p;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return 0;
	p = realloc(*buf, n);
	if (p == NULL)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/* Reads what the socket has now (no waiting). Returns bytes read, 0 if
 * none are there yet, or a status. */
static long
read_some(struct proto_client *c)
{
	ssize_t n;

	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
		c->in_len -= c->in_start;
		c->in_start = 0;
	}
	if (grow(&c->in, &c->in_cap, c->in_len + READ_CHUNK) < 0)
		return fail(c, PROTO_CLIENT_ERR_SYSTEM, "out of memory");
	do
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		return fail_errno(c, "recv");
	if (n == 0) {
		size_t partial = c->in_len - c->in_start;

		if (partial > 0)
			return fail(c, PROTO_CLIENT_ERR_CLOSED,
				    "server closed the connection in the middle of a reply "
				    "(%zu bytes of it received)", partial);
		return fail(c, PROTO_CLIENT_ERR_CLOSED,
			    "server closed the connection with %u replies outstanding",
			    (unsigned)c->pending);
	}
	c->in_len += (size_t)n;
	return n;
}

int
proto_client_flush(struct proto_client *c)
{
	size_t done = 0;

	if (c->dead)
		return c->dead;
	while (done < c->out_len) {
		ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL);
		int ev;

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail_errno(c, "send");
		ev = wait_fd(c, POLLOUT | POLLIN);
		if (ev < 0)
			return fail_errno(c, "poll");
		if (ev == 0)
			return fail(c, PROTO_CLIENT_ERR_TIMEOUT,
				    "timed out sending requests (%zu of %zu bytes sent)", done,
				    c->out_len);
		/* Drain replies so that a server blocked writing them reads again. */
		if ((ev & (POLLIN | POLLHUP | POLLERR)) && read_some(c) < 0)
			return c->dead;
	}
	c->out_len = 0;
	return c->dead;
}

/* Checks a reply's place in the request order and records an error
 * reply. The id of an error that closes may not be trusted (the server
 * could not read the header), so it is not checked. */
static int
accept_frame(struct proto_client *c, const struct proto_frame *f)
{
	uint32_t id = f->header.request_id;
	const char *msg = "";
	uint16_t code = 0;
	size_t len = 0;

	if (f->header.opcode == PROTO_OP_ERROR)
		proto_decode_error(f, &code, &msg, &len);
	if (id != c->expected_id && !proto_error_closes(code))
		return fail(c, PROTO_CLIENT_ERR_PROTOCOL,
			    "reply (opcode 0x%02X) for request %u, expected request %u",
			    f->header.opcode, (unsigned)id, (unsigned)c->expected_id);
	c->expected_id = id_after(c->expected_id);
	c->pending--;
	if (code == 0)
		return PROTO_CLIENT_OK;
	c->server_code = code;
	if (proto_error_closes(code)) {
		fail(c, PROTO_CLIENT_ERR_CLOSED,
		     "server error %u (%s): %.*s; the server closes the connection", code,
		     proto_error_name(code), (int)len, msg);
		return PROTO_CLIENT_ERR_SERVER;
	}
	return fail(c, PROTO_CLIENT_ERR_SERVER, "server error %u (%s): %.*s", code,
		    proto_error_name(code), (int)len, msg);
}

/* Receives the next reply frame, in order; an error reply is ERR_SERVER. */
static int
recv_frame(struct proto_client *c, struct proto_frame *f)
{
	struct proto_fault fault;
	size_t used;
	int r;

	if (c->dead)
		return c->dead;
	if (c->pending == 0)
		return fail(c, PROTO_CLIENT_ERR_USAGE, "no request is waiting for a reply");
	if ((r = proto_client_flush(c)) < 0)
		return r;
	for (;;) {
		long n;
		int ev;

		r = proto_parse_reply(c->in + c->in_start, c->in_len - c->in_start, f, &used,
				      &fault);
		if (r != PROTO_PARSE_NEED_MORE)
			break;
		if ((n = read_some(c)) < 0)
			return (int)n;
		if (n > 0)
			continue;
		ev = wait_fd(c, POLLIN);
		if (ev < 0)
			return fail_errno(c, "poll");
		if (ev == 0)
			return fail(c, PROTO_CLIENT_ERR_TIMEOUT,
				    "timed out waiting for the reply to request %u",
				    (unsigned)c->expected_id);
	}
	if (r == PROTO_PARSE_ERROR)
		return fail(c, PROTO_CLIENT_ERR_PROTOCOL, "malformed reply: %s", fault.message);
	c->in_start += used;
	return accept_frame(c, f);
}

/* Queues one request: PREDICT with its features, or an empty-bodied one. */
static int
queue_request(struct proto_client *c, uint32_t *request_id, uint8_t opcode,
	      const int32_t *features, uint16_t count, uint16_t n_features)
{
	size_t body = opcode == PROTO_OP_PREDICT ? 4 + (size_t)count * n_features * 4 : 0;
	int n;

	if (c->dead)
		return c->dead;
	if (opcode == PROTO_OP_PREDICT && (count == 0 || count > PROTO_MAX_COUNT))
		return fail(c, PROTO_CLIENT_ERR_USAGE, "count %u, expected 1..%u", count,
			    PROTO_MAX_COUNT);
	if (opcode == PROTO_OP_PREDICT && n_features == 0)
		return fail(c, PROTO_CLIENT_ERR_USAGE, "n_features 0");
	if (body > PROTO_MAX_BODY)
		return fail(c, PROTO_CLIENT_ERR_USAGE,
			    "%u rows of %u features make a %zu-byte body, over the limit of %u",
			    count, n_features, body, PROTO_MAX_BODY);
	if (grow(&c->out, &c->out_cap, c->out_len + PROTO_HEADER_LEN + body) < 0)
		return fail(c, PROTO_CLIENT_ERR_SYSTEM, "out of memory");
	if (opcode == PROTO_OP_PREDICT)
		n = proto_encode_predict(c->out + c->out_len, c->out_cap - c->out_len, c->next_id,
					 features, count, n_features);
	else
		n = proto_encode_request(c->out + c->out_len, c->out_cap - c->out_len, opcode,
					 c->next_id);
	if (n < 0)
		return fail(c, PROTO_CLIENT_ERR_USAGE, "cannot encode request 0x%02X", opcode);
	c->out_len += (size_t)n;
	if (request_id)
		*request_id = c->next_id;
	c->next_id = id_after(c->next_id);
	c->pending++;
	return c->out_len >= FLUSH_AT ? proto_client_flush(c) : PROTO_CLIENT_OK;
}

/* One blocking exchange: the request is queued already; waits for its
 * reply and checks that it answers opcode. */
static int
exchange(struct proto_client *c, uint8_t opcode, struct proto_frame *f)
{
	int r = recv_frame(c, f);

	if (r < 0)
		return r;
	if (f->header.opcode != (opcode | PROTO_REPLY_BIT))
		return fail(c, PROTO_CLIENT_ERR_PROTOCOL, "reply opcode 0x%02X to request 0x%02X",
			    f->header.opcode, opcode);
	return PROTO_CLIENT_OK;
}

static int
check_idle(struct proto_client *c)
{
	if (c->dead)
		return c->dead;
	if (c->pending > 0)
		return fail(c, PROTO_CLIENT_ERR_USAGE,
			    "%u pipelined replies are outstanding; receive them first",
			    (unsigned)c->pending);
	return PROTO_CLIENT_OK;
}

int
proto_client_ping(struct proto_client *c)
{
	struct proto_frame f;
	int r;

	if ((r = check_idle(c)) < 0 ||
	    (r = queue_request(c, NULL, PROTO_OP_PING, NULL, 0, 0)) < 0)
		return r;
	return exchange(c, PROTO_OP_PING, &f);
}

int
proto_client_predict(struct proto_client *c, const int32_t *features, uint16_t count,
		     uint16_t n_features, uint8_t *decisions, uint8_t *scores,
		     uint32_t *generation)
{
	struct proto_predict_reply pr;
	struct proto_frame f;
	int r;

	if ((r = check_idle(c)) < 0 ||
	    (r = queue_request(c, NULL, PROTO_OP_PREDICT, features, count, n_features)) < 0 ||
	    (r = exchange(c, PROTO_OP_PREDICT, &f)) < 0)
		return r;
	proto_decode_predict_reply(&f, &pr);
	if (pr.count != count)
		return fail(c, PROTO_CLIENT_ERR_PROTOCOL, "reply has %u predictions, expected %u",
			    pr.count, count);
	for (uint16_t i = 0; i < count; i++)
		proto_predict_reply_get(&pr, i, &decisions[i], &scores[i]);
	if (generation)
		*generation = pr.generation;
	return PROTO_CLIENT_OK;
}

static int
json_call(struct proto_client *c, uint8_t opcode, char **json)
{
	struct proto_frame f;
	const char *text;
	size_t len;
	int r;

	*json = NULL;
	if ((r = check_idle(c)) < 0 || (r = queue_request(c, NULL, opcode, NULL, 0, 0)) < 0 ||
	    (r = exchange(c, opcode, &f)) < 0)
		return r;
	proto_decode_json_reply(&f, &text, &len);
	if ((*json = malloc(len + 1)) == NULL) {
		/* The reply was read: the connection itself is fine. */
		snprintf(c->err, sizeof(c->err), "out of memory for a %zu-byte reply", len);
		return PROTO_CLIENT_ERR_SYSTEM;
	}
	memcpy(*json, text, len);
	(*json)[len] = '\0';
	return PROTO_CLIENT_OK;
}

int
proto_client_info(struct proto_client *c, char **json)
{
	return json_call(c, PROTO_OP_INFO, json);
}

int
proto_client_stats(struct proto_client *c, char **json)
{
	return json_call(c, PROTO_OP_STATS, json);
}

int
proto_client_reload(struct proto_client *c, char **json)
{
	return json_call(c, PROTO_OP_RELOAD, json);
}

int
proto_client_send_predict(struct proto_client *c, uint32_t *request_id,
			  const int32_t *features, uint16_t count, uint16_t n_features)
{
	return queue_request(c, request_id, PROTO_OP_PREDICT, features, count, n_features);
}

static void
fill_reply(struct proto_reply *reply, const struct proto_frame *f)
{
	struct proto_predict_reply pr;
	const char *msg;
	size_t len;

	reply->request_id = f->header.request_id;
	reply->opcode = f->header.opcode;
	reply->count = 0;
	reply->generation = 0;
	reply->json = NULL;
	reply->json_len = 0;
	reply->error_code = 0;
	reply->error_message[0] = '\0';
	if (proto_decode_predict_reply(f, &pr) == 0) {
		reply->count = pr.count;
		reply->generation = pr.generation;
		for (uint16_t i = 0; i < pr.count; i++)
			proto_predict_reply_get(&pr, i, &reply->decisions[i], &reply->scores[i]);
	} else if (proto_decode_json_reply(f, &reply->json, &reply->json_len) == 0) {
		/* nothing more */
	} else if (proto_decode_error(f, &reply->error_code, &msg, &len) == 0) {
		if (len >= sizeof(reply->error_message))
			len = sizeof(reply->error_message) - 1;
		memcpy(reply->error_message, msg, len);
		reply->error_message[len] = '\0';
	}
}

int
proto_client_recv(struct proto_client *c, struct proto_reply *reply)
{
	struct proto_frame f;
	int r = recv_frame(c, &f);

	if (r == PROTO_CLIENT_OK || r == PROTO_CLIENT_ERR_SERVER)
		fill_reply(reply, &f);
	return r;
}

uint32_t
proto_client_pending(const struct proto_client *c)
{
	return c->pending;
}

void
proto_client_set_timeout(struct proto_client *c, int ms)
{
	c->timeout_ms = ms < 0 ? -1 : ms;
}

const char *
proto_client_error(const struct proto_client *c)
{
	return c->err;
}

uint16_t
proto_client_server_code(const struct proto_client *c)
{
	return c->server_code;
}

struct proto_client *
proto_client_from_fd(int fd, char *err)
{
	struct proto_client *c;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, PROTO_ERRLEN, "fcntl O_NONBLOCK: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->timeout_ms = -1;
	c->next_id = 1;
	c->expected_id = 1;
	return c;
}

/* A connect(2) interrupted by a signal goes on in the background. */
static int
connect_finish(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int e = 0;

	if (errno != EINTR)
		return -1;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return -1;
	errno = e;
	return e ? -1 : 0;
}

struct proto_client *
proto_client_connect(const char *path, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(sa.sun_path)) {
		snprintf(err, PROTO_ERRLEN, "%s: socket path too long (%zu bytes, at most %zu)",
			 path, len, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, path, len + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, PROTO_ERRLEN, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && connect_finish(fd) < 0) {
		snprintf(err, PROTO_ERRLEN, "%s: connect: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return proto_client_from_fd(fd, err);
}

void
proto_client_close(struct proto_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->out);
	free(c->in);
	free(c);
}
