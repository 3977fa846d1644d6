/* A stand-in for iolatd serve, for the client command tests: listens on a
 * Unix socket, serves one connection at a time, and answers wire protocol
 * v1 with a fixed rule instead of a model:
 *   INFO    {"n_features": N, ...} (N = 8, or --info-features N to lie)
 *   PREDICT decision = feature[2] > 5000, score 200 (slow) / 50 (fast),
 *           rows checked against 8 features (error 5 otherwise)
 *   STATS   stats_json of its own counters; every request is timed as
 *           3 us so that the histogram is the same on every run
 *   RELOAD  {"model_generation": 2}, or error 6 with --deny-reload
 * It prints "ready" on stdout once listening, and exits 0 after
 * --connections N connections or on SIGTERM, removing the socket.
 *
 * usage: fakedaemon [--deny-reload] [--connections N] [--info-features N] SOCKET */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "stats.h"

#define FAKE_FEATURES 8
#define FAKE_REQUEST_NS 3000

static volatile sig_atomic_t stop;
static struct stats st;
static uint32_t generation = 1;
static int deny_reload;
static unsigned info_features = FAKE_FEATURES;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR && !stop)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
send_error(int fd, uint32_t id, uint16_t code, const char *msg)
{
	static uint8_t out[1024];
	int n = proto_encode_error(out, sizeof(out), id, code, msg);

	if (code < STATS_ERROR_CODES)
		st.errors[code]++;
	return n < 0 ? -1 : write_all(fd, out, (size_t)n);
}

static int
send_json(int fd, uint8_t opcode, uint32_t id, const char *json, size_t len)
{
	static uint8_t out[PROTO_MAX_FRAME];
	int n = proto_encode_json_reply(out, sizeof(out), opcode, id, json, len);

	return n < 0 ? -1 : write_all(fd, out, (size_t)n);
}

/* Answers one request frame; returns -1 when the connection is done. */
static int
answer(int fd, const struct proto_frame *f)
{
	static uint8_t out[PROTO_MAX_FRAME];
	uint32_t id = f->header.request_id;
	struct proto_predict_request req;
	struct proto_fault fault;
	char json[4096];
	int n;

	st.frames++;
	stats_observe_latency(&st, FAKE_REQUEST_NS);
	switch (f->header.opcode) {
	case PROTO_OP_PING:
		n = proto_encode_ping_reply(out, sizeof(out), id);
		return n < 0 ? -1 : write_all(fd, out, (size_t)n);
	case PROTO_OP_INFO:
		n = snprintf(json, sizeof(json),
			     "{\"version\": \"fake\", \"model_generation\": %u, \"file\": \"fake\", "
			     "\"kind\": \"int8\", \"n_features\": %u, \"feature_names\": [], "
			     "\"calibration_mode\": \"none\"}",
			     generation, info_features);
		return send_json(fd, PROTO_OP_INFO_REPLY, id, json, (size_t)n);
	case PROTO_OP_STATS:
		n = stats_json(&st, generation, json, sizeof(json));
		return n < 0 ? -1 : send_json(fd, PROTO_OP_STATS_REPLY, id, json, (size_t)n);
	case PROTO_OP_RELOAD:
		if (deny_reload)
			return send_error(fd, id, PROTO_E_PERMISSION,
					  "uid 1000 is neither root nor the daemon's");
		generation++;
		st.reloads++;
		n = snprintf(json, sizeof(json), "{\"model_generation\": %u}", generation);
		return send_json(fd, PROTO_OP_RELOAD_REPLY, id, json, (size_t)n);
	case PROTO_OP_PREDICT: {
		uint8_t decisions[PROTO_MAX_COUNT], scores[PROTO_MAX_COUNT];
		int32_t row[FAKE_FEATURES];

		if (proto_predict_validate(f, FAKE_FEATURES, &req, &fault) < 0)
			return send_error(fd, id, fault.code, fault.message);
		for (uint16_t i = 0; i < req.count; i++) {
			proto_predict_row(&req, i, row);
			decisions[i] = row[2] > 5000;
			scores[i] = decisions[i] ? 200 : 50;
			st.slow_predictions += decisions[i];
		}
		st.predictions += req.count;
		n = proto_encode_predict_reply(out, sizeof(out), id, generation, decisions,
					       scores, req.count);
		return n < 0 ? -1 : write_all(fd, out, (size_t)n);
	}
	default:
		return send_error(fd, id, PROTO_E_INTERNAL, "fake: unexpected opcode");
	}
}

/* Serves one connection until the peer closes it or a closing error. */
static void
serve(int fd)
{
	static uint8_t buf[4 * PROTO_MAX_FRAME];
	size_t len = 0;

	while (!stop) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		for (;;) {
			struct proto_frame f;
			struct proto_fault fault;
			size_t used;
			int r = proto_parse_request(buf + start, len - start, &f, &used, &fault);

			if (r == PROTO_PARSE_NEED_MORE)
				break;
			start += used;
			if (r == PROTO_PARSE_ERROR) {
				st.frames++;
				if (send_error(fd, fault.request_id, fault.code, fault.message) < 0 ||
				    fault.close)
					return;
				continue;
			}
			if (answer(fd, &f) < 0)
				return;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction sact;
	unsigned long connections = 0, served = 0;
	const char *path;
	int lfd, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--deny-reload") == 0)
			deny_reload = 1;
		else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc)
			connections = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--info-features") == 0 && i + 1 < argc)
			info_features = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			break;
	}
	if (i != argc - 1 || strlen(argv[i]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: fakedaemon [--deny-reload] [--connections N] "
				"[--info-features N] SOCKET\n");
		return 2;
	}
	path = argv[i];
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* SIGTERM interrupts accept and recv (no SA_RESTART); a test that
	 * dies leaves no fake behind for long. */
	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_term;
	sigemptyset(&sact.sa_mask);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(120);

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		fprintf(stderr, "fakedaemon: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (!stop && (connections == 0 || served < connections)) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "fakedaemon: accept: %s\n", strerror(errno));
			break;
		}
		served++;
		st.connections_total++;
		st.connections_open = 1;
		serve(fd);
		st.connections_open = 0;
		close(fd);
	}
	close(lfd);
	unlink(path);
	return 0;
}
