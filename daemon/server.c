/* The libuv server. Per connection: a read buffer that holds one whole
 * frame; every complete frame of a read is answered, and the replies to
 * one read leave in one write. Replies queued past max_output stop reading
 * from that client until they drain (backpressure). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "handler.h"
#include "server.h"
#include "svc.h"

#define CONN_IN_CAP PROTO_MAX_FRAME

struct conn;

struct srv {
	uv_loop_t *loop;
	uv_pipe_t listener;
	uv_signal_t sigterm, sigint, sighup;
	const struct cfg *cfg;
	struct predictor *predictor;
	struct stats stats;
	struct handler handler;
	struct conn *conns;
	int draining;
	uv_timer_t drain; /* SIGTERM's deadline for clients that do not read */
};

struct conn {
	uv_pipe_t pipe;
	uv_timer_t idle;
	struct srv *srv;
	struct conn *prev, *next;
	uint8_t *in;     /* grows up to CONN_IN_CAP as a frame needs it */
	size_t in_len;
	size_t in_cap;
	size_t queued;   /* bytes of replies written but not yet sent */
	int writes;      /* writes not yet called back */
	int handles;     /* handles not yet closed */
	int reading;
	int closing;
	long peer_uid;
};

struct wreq {
	uv_write_t req;
	struct conn *conn;
	struct outbuf buf;
	size_t pending; /* bytes of buf this request sends: those after the part
			 * uv_try_write took */
	int close_after;
};

static void conn_close(struct conn *c);

static void
conn_free_if_done(struct conn *c)
{
	if (c->handles > 0 || c->writes > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->stats.connections_open--;
	if (c->srv->draining && c->srv->conns == NULL &&
	    !uv_is_closing((uv_handle_t *)&c->srv->drain))
		uv_close((uv_handle_t *)&c->srv->drain, NULL);
	free(c->in);
	free(c);
}

static void
on_conn_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->handles--;
	conn_free_if_done(c);
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->pipe, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->idle, on_conn_handle_closed);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	/* Most clients send small frames: start small, double while a
	 * frame is still arriving and the buffer is nearly full. */
	if (c->in_cap - c->in_len < 512 && c->in_cap < CONN_IN_CAP) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
		uint8_t *p = realloc(c->in, cap < CONN_IN_CAP ? cap : CONN_IN_CAP);
		if (p != NULL) {
			c->in = p;
			c->in_cap = cap < CONN_IN_CAP ? cap : CONN_IN_CAP;
		}
	}
	buf->base = (char *)c->in + c->in_len;
	buf->len = c->in_cap - c->in_len;
}

static void
conn_read_start(struct conn *c)
{
	if (!c->reading && !c->closing && !c->srv->draining &&
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
		c->reading = 1;
}

static void
conn_read_stop(struct conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = 0;
	}
}

static void
on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->conn;
	const struct cfg *cfg = c->srv->cfg;

	c->queued -= w->pending;
	c->writes--;
	if (status < 0 || w->close_after || (c->srv->draining && c->queued == 0))
		conn_close(c);
	else if (c->queued <= cfg->max_output / 2)
		conn_read_start(c);
	outbuf_free(&w->buf);
	free(w);
	conn_free_if_done(c);
}

/* Sends out (taking it over) in one write. With nothing queued before it,
 * the socket is offered the bytes at once (uv_try_write): when it takes
 * them all, as it does unless the client stops reading, no write request,
 * no callback and no epoll_ctl follow (libuv re-arms the watcher with one
 * after every queued write that drains). The rest, if any, is queued. */
static void
conn_write(struct conn *c, struct outbuf *out, int close_after)
{
	struct wreq *w;
	size_t sent = 0;
	uv_buf_t b;

	if (c->writes == 0) {
		int n;
		b = uv_buf_init((char *)out->data, (unsigned)out->len);
		n = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		if (n < 0 && n != UV_EAGAIN) {
			outbuf_free(out);
			conn_close(c);
			return;
		}
		if (n > 0)
			sent = (size_t)n;
		if (sent == out->len) {
			outbuf_free(out);
			if (close_after || c->srv->draining)
				conn_close(c);
			return;
		}
	}
	w = malloc(sizeof(*w));
	if (w == NULL) {
		outbuf_free(out);
		conn_close(c);
		return;
	}
	w->conn = c;
	w->buf = *out;
	w->pending = w->buf.len - sent;
	w->close_after = close_after;
	b = uv_buf_init((char *)w->buf.data + sent, (unsigned)w->pending);
	c->queued += w->pending;
	c->writes++;
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write) != 0) {
		c->queued -= w->pending;
		c->writes--;
		outbuf_free(&w->buf);
		free(w);
		conn_close(c);
		return;
	}
	if (c->queued > c->srv->cfg->max_output)
		conn_read_stop(c); /* backpressure: the client must read first */
}

/* Every complete frame in the buffer, answered into one write. */
static void
conn_process(struct conn *c)
{
	struct srv *s = c->srv;
	struct outbuf out = {NULL, 0, 0};
	size_t off = 0;
	int close_after = 0;
	uint64_t start = uv_hrtime();

	while (off < c->in_len) {
		struct proto_frame f;
		struct proto_fault fault;
		size_t used = 0;
		int rc = proto_parse_request(c->in + off, c->in_len - off, &f, &used, &fault);
		if (rc == PROTO_PARSE_NEED_MORE)
			break;
		off += used;
		if (rc == PROTO_PARSE_ERROR) {
			s->stats.frames++;
			if (handler_fault(&s->handler, &fault, &out) != 0)
				break;
			if (fault.close) {
				close_after = 1;
				break;
			}
			continue;
		}
		if (handler_frame(&s->handler, &f, c->peer_uid, &out) != 0) {
			svc_log(3, "out of memory answering a frame");
			close_after = 1;
			break;
		}
		stats_observe_latency(&s->stats, uv_hrtime() - start);
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (close_after) {
		conn_read_stop(c);
		c->in_len = 0;
	}
	if (out.len > 0)
		conn_write(c, &out, close_after);
	else if (close_after)
		conn_close(c);
	else
		outbuf_free(&out);
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;

	(void)buf;
	if (nread < 0) { /* EOF or error: a half-sent frame costs nothing */
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->in_len += (size_t)nread;
	if (c->srv->cfg->idle_timeout > 0)
		uv_timer_again(&c->idle);
	conn_process(c);
}

static void
on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static long
peer_uid(uv_pipe_t *p)
{
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -1;
	return (long)cred.uid;
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct srv *s = listener->data;
	struct conn *c;

	if (status < 0 || s->draining)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->srv = s;
	uv_pipe_init(s->loop, &c->pipe, 0);
	uv_timer_init(s->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->handles = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->stats.connections_open++;
	s->stats.connections_total++;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	c->peer_uid = peer_uid(&c->pipe);
	if (s->stats.connections_open > s->cfg->max_connections) {
		struct outbuf out = {NULL, 0, 0};
		struct proto_fault f = {PROTO_E_OVERLOADED, 1, 0, "too many connections"};
		if (handler_fault(&s->handler, &f, &out) == 0)
			conn_write(c, &out, 1);
		else
			conn_close(c);
		return;
	}
	if (s->cfg->idle_timeout > 0) {
		uint64_t ms = (uint64_t)s->cfg->idle_timeout * 1000;
		uv_timer_start(&c->idle, on_idle, ms, ms);
	}
	conn_read_start(c);
}

/* SIGHUP and RELOAD: load aside, swap only what loads and validates. */
static int
srv_reload(void *ctx, char *err, size_t errlen)
{
	struct srv *s = ctx;
	int rc;

	svc_notify("RELOADING=1");
	rc = predictor_reload(s->predictor, err, errlen);
	if (rc == 0) {
		s->stats.reloads++;
		svc_log(5, "reloaded %s: generation %u", s->predictor->path,
			s->predictor->generation);
	} else {
		s->stats.reload_failures++;
		svc_log(3, "reload refused, generation %u kept: %s",
			s->predictor->generation, err);
	}
	svc_notify("READY=1");
	return rc;
}

static void
on_sighup(uv_signal_t *h, int sig)
{
	char err[512];

	(void)sig;
	srv_reload(h->data, err, sizeof(err));
}

/* drain_timeout has passed: a client that does not read its replies must
 * not hold the daemon past systemd's stop timeout. */
static void
on_drain_timeout(uv_timer_t *t)
{
	struct srv *s = t->data;
	size_t n = 0, bytes = 0;

	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->closing)
			continue;
		n++;
		bytes += c->queued;
		conn_close(c);
	}
	svc_log(4, "drain_timeout (%u s): closed %zu connection%s with %zu bytes of "
		"replies unread", s->cfg->drain_timeout, n, n == 1 ? "" : "s", bytes);
	if (!uv_is_closing((uv_handle_t *)t))
		uv_close((uv_handle_t *)t, NULL);
}

/* Stop accepting; answer what was received; close each connection once
 * its replies are out, or at drain_timeout. Requests still unread in a
 * socket are not answered: closing over them makes the kernel end that
 * client's stream with ECONNRESET instead of EOF, which tells it so. */
static void
on_sigterm(uv_signal_t *h, int sig)
{
	struct srv *s = h->data;

	if (s->draining)
		return;
	s->draining = 1;
	svc_notify("STOPPING=1");
	svc_log(5, "signal %d: stopping", sig);
	uv_close((uv_handle_t *)&s->listener, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
	for (struct conn *c = s->conns; c; c = c->next) {
		conn_read_stop(c);
		if (c->queued == 0)
			conn_close(c);
	}
	if (s->conns == NULL || s->cfg->drain_timeout == 0)
		uv_close((uv_handle_t *)&s->drain, NULL);
	else
		uv_timer_start(&s->drain, on_drain_timeout,
			       (uint64_t)s->cfg->drain_timeout * 1000, 0);
}

/* Removes a stale socket at path, never a live one. */
static int
clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct sockaddr_un sa;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path,
							 strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: a daemon is already listening there", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int
bind_socket(struct srv *s, char *err, size_t errlen)
{
	const struct cfg *c = s->cfg;
	mode_t old;
	int rc;

	if (clear_stale(c->socket, err, errlen) != 0)
		return -1;
	old = umask(0777 & ~c->socket_mode); /* never world-open, even briefly */
	rc = uv_pipe_bind(&s->listener, c->socket);
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", c->socket, uv_strerror(rc));
		return -1;
	}
	if (chmod(c->socket, c->socket_mode) != 0) {
		snprintf(err, errlen, "%s: chmod: %s", c->socket, strerror(errno));
		return -1;
	}
	if (c->socket_group[0]) {
		struct group *g = getgrnam(c->socket_group);
		if (g == NULL || chown(c->socket, (uid_t)-1, g->gr_gid) != 0) {
			snprintf(err, errlen, "%s: cannot give it to group '%s'", c->socket,
				 c->socket_group);
			return -1;
		}
	}
	return 0;
}

static int
srv_start(struct srv *s, int listen_fd, char *err, size_t errlen)
{
	int rc;

	uv_pipe_init(s->loop, &s->listener, 0);
	s->listener.data = s;
	if (listen_fd >= 0)
		rc = uv_pipe_open(&s->listener, listen_fd);
	else
		rc = bind_socket(s, err, errlen) == 0 ? 0 : -1;
	if (rc != 0) {
		if (listen_fd >= 0)
			snprintf(err, errlen, "socket from systemd: %s", uv_strerror(rc));
		return -1;
	}
	rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		return -1;
	}
	uv_timer_init(s->loop, &s->drain);
	s->drain.data = s;
	uv_signal_init(s->loop, &s->sigterm);
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_init(s->loop, &s->sighup);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	uv_signal_start(&s->sigterm, on_sigterm, SIGTERM);
	uv_signal_start(&s->sigint, on_sigterm, SIGINT);
	uv_signal_start(&s->sighup, on_sighup, SIGHUP);
	return 0;
}

int
srv_run(const struct cfg *c, struct predictor *p, int listen_fd, char *err,
	size_t errlen)
{
	struct srv *s = calloc(1, sizeof(*s));
	int status = 0;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* a vanished client is an error return, not death */
	s->loop = uv_default_loop();
	s->cfg = c;
	s->predictor = p;
	s->handler.predictor = p;
	s->handler.stats = &s->stats;
	s->handler.version = PACKAGE_VERSION;
	s->handler.reload = srv_reload;
	s->handler.reload_ctx = s;
	s->handler.own_uid = (long)getuid();
	if (srv_start(s, listen_fd, err, errlen) != 0) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		uv_run(s->loop, UV_RUN_DEFAULT);
		status = 1;
	} else {
		svc_log(6, "serving %s (generation %u) on %s", p->path, p->generation,
			listen_fd >= 0 ? "the socket from systemd" : c->socket);
		svc_notify("READY=1");
		uv_run(s->loop, UV_RUN_DEFAULT);
		if (listen_fd < 0)
			unlink(c->socket);
	}
	uv_loop_close(s->loop);
	free(s);
	return status;
}
