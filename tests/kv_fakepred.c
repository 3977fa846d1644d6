/* A scripted stand-in for iolatd, in a thread (kv_fakepred.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "kv_fakepred.h"
#include "proto.h"

#define NF 8

struct kvt_pred {
	char sock[108];
	const char *const *script;
	int script_n;
	int idle_ms;
	int listen_fd, conn_fd, stop_pipe[2];
	pthread_t thread;
	int running;
	pthread_mutex_t lock; /* the fields below */
	int requests;
	int rows[KVT_PRED_MAX_REQUESTS];
	char problem[256];
	/* the connection's unparsed bytes */
	uint8_t in[2 * PROTO_MAX_FRAME];
	size_t in_len;
	uint8_t out[PROTO_MAX_FRAME];
};

static void __attribute__((format(printf, 2, 3)))
note_problem(struct kvt_pred *p, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&p->lock);
	if (p->problem[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(p->problem, sizeof(p->problem), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&p->lock);
}

/* The reply to one PREDICT frame into out; 0 bytes for a stall. */
static int
answer_predict(struct kvt_pred *p, const struct proto_frame *fr, uint8_t *out, size_t cap)
{
	struct proto_predict_request req;
	struct proto_fault fault;
	uint8_t dec[PROTO_MAX_COUNT] = {0}, score[PROTO_MAX_COUNT];
	const char *line = NULL;
	int i;

	if (proto_predict_validate(fr, NF, &req, &fault) != 0) {
		note_problem(p, "a PREDICT the daemon refuses: %s", fault.message);
		return proto_encode_error(out, cap, fr->header.request_id, fault.code,
					  fault.message);
	}
	pthread_mutex_lock(&p->lock);
	i = p->requests++;
	if (i < KVT_PRED_MAX_REQUESTS)
		p->rows[i] = req.count;
	pthread_mutex_unlock(&p->lock);
	for (uint16_t r = 0; r < req.count; r++) {
		int32_t x[NF];
		proto_predict_row(&req, r, x);
		if (x[0] != 1 || x[1] != 4096)
			note_problem(p, "request %d row %u: io_type %d size %d, not a 4096-byte read",
				     i + 1, r, x[0], x[1]);
	}
	if (i < p->script_n)
		line = p->script[i];
	if (line != NULL && strcmp(line, "-") == 0)
		return 0;
	if (line != NULL && strlen(line) != req.count)
		note_problem(p, "request %d: %u rows, the script has %zu", i + 1, req.count,
			     strlen(line));
	for (uint16_t r = 0; r < req.count; r++) {
		dec[r] = line != NULL && r < strlen(line) && line[r] == 's';
		score[r] = dec[r] ? 200 : 50;
	}
	return proto_encode_predict_reply(out, cap, fr->header.request_id, KVT_PRED_GENERATION,
					  dec, score, req.count);
}

/* Answers every whole frame in the buffer; -1 to drop the connection. */
static int
serve_buffer(struct kvt_pred *p)
{
	for (;;) {
		struct proto_frame fr;
		struct proto_fault fault;
		size_t used = 0;
		int n = 0, rc = proto_parse_request(p->in, p->in_len, &fr, &used, &fault);

		if (rc == PROTO_PARSE_NEED_MORE)
			return 0;
		if (rc == PROTO_PARSE_ERROR) {
			note_problem(p, "a bad frame: %s", fault.message);
			return -1;
		}
		if (fr.header.opcode == PROTO_OP_PREDICT)
			n = answer_predict(p, &fr, p->out, sizeof(p->out));
		else if (fr.header.opcode == PROTO_OP_PING)
			n = proto_encode_ping_reply(p->out, sizeof(p->out), fr.header.request_id);
		else
			n = proto_encode_error(p->out, sizeof(p->out), fr.header.request_id,
					       PROTO_E_UNKNOWN_OPCODE, "not scripted");
		memmove(p->in, p->in + used, p->in_len - used);
		p->in_len -= used;
		if (n < 0 || (n > 0 && test_send_all(p->conn_fd, p->out, (size_t)n) != 0))
			return -1;
	}
}

static void *
run(void *arg)
{
	struct kvt_pred *p = arg;

	for (;;) {
		struct pollfd pf[2] = {
			{p->stop_pipe[0], POLLIN, 0},
			{p->conn_fd >= 0 ? p->conn_fd : p->listen_fd, POLLIN, 0},
		};
		int rc = poll(pf, 2, p->idle_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 || pf[0].revents)
			break; /* stopped, or idle past the deadline */
		if (p->conn_fd < 0) {
			p->conn_fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			p->in_len = 0;
			continue;
		}
		ssize_t n = read(p->conn_fd, p->in + p->in_len, sizeof(p->in) - p->in_len);
		if (n > 0) {
			p->in_len += (size_t)n;
			if (serve_buffer(p) == 0)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		}
		close(p->conn_fd); /* the client left, or spoke nonsense */
		p->conn_fd = -1;
	}
	return NULL;
}

struct kvt_pred *
kvt_pred_start(const char *sock, const char *const *script, int idle_ms, char *err,
	       size_t errlen)
{
	struct kvt_pred *p = calloc(1, sizeof(*p));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", sock);
		free(p);
		return NULL;
	}
	snprintf(p->sock, sizeof(p->sock), "%s", sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	p->script = script;
	while (script && script[p->script_n])
		p->script_n++;
	p->idle_ms = idle_ms;
	p->conn_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(p->listen_fd, 8) != 0 || pipe2(p->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "%s: %s", sock, strerror(errno));
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		snprintf(err, errlen, "pthread_create failed");
		goto fail;
	}
	p->running = 1;
	return p;
fail:
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	unlink(sock);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

int
kvt_pred_requests(struct kvt_pred *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->requests;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
kvt_pred_rows(struct kvt_pred *p, int i)
{
	int n = -1;

	pthread_mutex_lock(&p->lock);
	if (i >= 0 && i < p->requests && i < KVT_PRED_MAX_REQUESTS)
		n = p->rows[i];
	pthread_mutex_unlock(&p->lock);
	return n;
}

const char *
kvt_pred_problem(struct kvt_pred *p)
{
	const char *s;

	pthread_mutex_lock(&p->lock);
	s = p->problem[0] ? p->problem : NULL;
	pthread_mutex_unlock(&p->lock);
	return s;
}

void
kvt_pred_stop(struct kvt_pred *p)
{
	if (p == NULL || !p->running)
		return;
	if (write(p->stop_pipe[1], "x", 1) != 1)
		abort(); /* a pipe with room: cannot happen */
	pthread_join(p->thread, NULL);
	p->running = 0;
	if (p->conn_fd >= 0)
		close(p->conn_fd);
	p->conn_fd = -1;
	close(p->listen_fd);
	close(p->stop_pipe[0]);
	close(p->stop_pipe[1]);
	unlink(p->sock);
}

void
kvt_pred_free(struct kvt_pred *p)
{
	if (p == NULL)
		return;
	kvt_pred_stop(p);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
