/* iolatd serve, end to end: each case starts the real daemon on a socket
 * in a fresh directory, speaks wire protocol v1 to it (proto/client.h and
 * raw sockets for what a well-behaved client never sends) and stops it.
 * Synchronisation is by the protocol itself (PING, STATS counters) and by
 * the daemon's stderr, never by sleeping; every wait has a deadline so a
 * bug fails instead of hanging.
 * usage: serve_test IOLATD DEFAULT_INT8_MODEL */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "client.h"
#include "dataset.h"
#include "helpers.h"
#include "model.h"
#include "model_file.h"
#include "proto.h"
#include "quant.h"
#include "trace.h"
#include "trainset.h"

/* Generous: the sanitizer build runs the daemon several times slower. */
#define DEADLINE_MS 20000
#define NF 8
#define TRACE_NAME "tencent.cut.per_50k.most_rand_iops.537.trace"
#define NOBODY 65534

static const char *iolatd_bin;
static const char *default_model;
static const char *tmproot;
static pid_t driver_pid; /* forked helpers must not clean up after it */
static int checks;

/* ---- failing, timing --------------------------------------------------- */

struct daemon {
	pid_t pid;
	int err_fd; /* read end of its stderr */
	int activated; /* given its socket as systemd does: not its to remove */
	char sock[108];
	char *log;
	size_t log_len, log_cap;
};

static struct daemon *live[2];

static void daemon_read_log(struct daemon *d, int timeout_ms, int *eof);

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("serve: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (getpid() != driver_pid)
		_exit(1);
	for (int i = 0; i < 2; i++) {
		struct daemon *d = live[i];
		int eof = 0;
		if (d == NULL)
			continue;
		kill(d->pid, SIGKILL);
		while (!eof)
			daemon_read_log(d, 2000, &eof);
		waitpid(d->pid, NULL, 0);
		fprintf(stderr, "--- iolatd stderr:\n%.*s---\n", (int)d->log_len,
			d->log ? d->log : "");
	}
	test_tmpdir_remove();
	exit(1);
}

static void
ok(void)
{
	checks++;
}

/* A short pause between two polls of a counter, within a deadline. */
static void
poll_pause(void)
{
	poll(NULL, 0, 1);
}

/* ---- files ------------------------------------------------------------- */

static const char *
case_dir(const char *name)
{
	static char dir[4096];

	snprintf(dir, sizeof(dir), "%s", test_tmp_path(name));
	if (mkdir(dir, 0700) != 0)
		fail("mkdir %s: %s", dir, strerror(errno));
	return dir;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	FILE *f;

	/* Whole or not at all: the daemon may load it any moment. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		fail("cannot write %s", tmp);
	if (rename(tmp, path) != 0)
		fail("rename %s: %s", tmp, strerror(errno));
}

static void
copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb");
	static uint8_t buf[1 << 20];
	size_t n;

	if (f == NULL)
		fail("%s: %s", from, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || !feof(f))
		fail("%s: cannot read it whole", from);
	fclose(f);
	write_file(to, buf, n);
}

static void
corrupt_file(const char *path)
{
	static const char junk[] = "this is not an HDF5 model file\n";

	write_file(path, junk, sizeof(junk) - 1);
}

/* ---- the daemon -------------------------------------------------------- */

/* Appends what its stderr has within timeout_ms; *eof once it is closed
 * (the daemon exited). */
static void
daemon_read_log(struct daemon *d, int timeout_ms, int *eof)
{
	struct pollfd p = {.fd = d->err_fd, .events = POLLIN};
	char buf[4096];
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	n = read(d->err_fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		*eof = 1;
		return;
	}
	if (n < 0)
		return;
	if (d->log_len + (size_t)n + 1 > d->log_cap) {
		size_t cap = (d->log_cap ? d->log_cap * 2 : 8192) + (size_t)n;
		char *p2 = realloc(d->log, cap);
		if (p2 == NULL)
			return;
		d->log = p2;
		d->log_cap = cap;
	}
	memcpy(d->log + d->log_len, buf, (size_t)n);
	d->log_len += (size_t)n;
	d->log[d->log_len] = '\0';
}

static int
try_ping(const char *sock)
{
	char err[PROTO_ERRLEN];
	struct proto_client *c = proto_client_connect(sock, err);
	int rc;

	if (c == NULL)
		return -1;
	proto_client_set_timeout(c, DEADLINE_MS);
	rc = proto_client_ping(c);
	proto_client_close(c);
	return rc;
}

/* What systemd hands a socket-activated service: the listening socket as
 * fd 3 (LISTEN_FDS, LISTEN_PID) and a datagram socket for sd_notify. */
struct activation {
	int listen_fd;
	const char *notify_path;
};

/* Starts iolatd serve on dir/iolatd.sock (or on act's socket, which is
 * at dir/iolatd.sock too) with model and the extra flags
 * (NULL-terminated), and returns once the socket answers a PING. */
static void
daemon_launch(struct daemon *d, const char *dir, const char *model,
	      const char *const *extra, const struct activation *act)
{
	char conf[4200];
	const char *argv[32];
	int n = 0, fds[2], eof = 0;
	int64_t deadline;

	memset(d, 0, sizeof(*d));
	d->activated = act != NULL;
	snprintf(d->sock, sizeof(d->sock), "%s/iolatd.sock", dir);
	snprintf(conf, sizeof(conf), "%s/iolatd.conf", dir);
	write_file(conf, "", 0); /* hermetic: never /etc/iolatd.conf */
	argv[n++] = iolatd_bin;
	argv[n++] = "serve";
	argv[n++] = "-c";
	argv[n++] = conf;
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--model";
	argv[n++] = model;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	for (; extra && *extra && n < 31; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe: %s", strerror(errno));
	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0)
		fail("fork: %s", strerror(errno));
	if (d->pid == 0) {
		sigset_t all;
		int null = open("/dev/null", O_RDWR);
		dup2(fds[1], 2);
		dup2(null, 0);
		dup2(null, 1);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("NOTIFY_SOCKET");
		if (act) {
			char pid[24];
			snprintf(pid, sizeof(pid), "%ld", (long)getpid());
			if (act->listen_fd == 3) /* dup2 would leave it close-on-exec */
				fcntl(3, F_SETFD, 0);
			else
				dup2(act->listen_fd, 3); /* the copy is not close-on-exec */
			setenv("LISTEN_FDS", "1", 1);
			setenv("LISTEN_PID", pid, 1);
			setenv("NOTIFY_SOCKET", act->notify_path, 1);
		}
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(iolatd_bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", iolatd_bin, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	d->err_fd = fds[0];
	fcntl(d->err_fd, F_SETFL, O_NONBLOCK);
	live[live[0] ? 1 : 0] = d;
	/* Try the socket; between tries, wait for the daemon to say
	 * something (its "serving" line) or die, not for a fixed time. */
	deadline = test_now_ms() + DEADLINE_MS;
	while (try_ping(d->sock) != 0) {
		daemon_read_log(d, 20, &eof);
		if (eof)
			fail("iolatd serve exited before answering a PING");
		if (test_now_ms() > deadline)
			fail("iolatd serve did not answer a PING within %d ms", DEADLINE_MS);
	}
	daemon_read_log(d, 0, &eof);
}

static void
daemon_start(struct daemon *d, const char *dir, const char *model, const char *const *extra)
{
	daemon_launch(d, dir, model, extra, NULL);
}

/* Waits for the daemon to exit (its stderr closes), within the deadline;
 * it must exit 0, remove its socket, and have logged no sanitizer report.
 * Returns its log, which the caller frees. */
static char *
daemon_reap(struct daemon *d)
{
	char *log;

	int64_t deadline = test_now_ms() + DEADLINE_MS;
	int eof = 0, status;

	while (!eof) {
		daemon_read_log(d, test_left_ms(deadline), &eof);
		if (!eof && test_now_ms() >= deadline)
			fail("iolatd serve did not exit within %d ms of SIGTERM", DEADLINE_MS);
	}
	if (waitpid(d->pid, &status, 0) != d->pid)
		fail("waitpid: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (live[i] == d)
			live[i] = NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "--- iolatd stderr:\n%s---\n", d->log ? d->log : "");
		fail("iolatd serve: %s %d after SIGTERM, expected exit 0",
		     WIFEXITED(status) ? "exit" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (d->activated && access(d->sock, F_OK) != 0)
		fail("the daemon removed %s, which systemd owns", d->sock);
	if (!d->activated && (access(d->sock, F_OK) == 0 || errno != ENOENT))
		fail("%s still exists after the daemon exited", d->sock);
	if (d->log && (strstr(d->log, "runtime error") || strstr(d->log, "Sanitizer"))) {
		fprintf(stderr, "--- iolatd stderr:\n%s---\n", d->log);
		fail("the daemon reported a sanitizer error");
	}
	close(d->err_fd);
	log = d->log;
	d->log = NULL;
	return log;
}

static void
daemon_wait(struct daemon *d)
{
	free(daemon_reap(d));
}

static void
daemon_stop(struct daemon *d)
{
	if (kill(d->pid, SIGTERM) != 0)
		fail("kill: %s", strerror(errno));
	daemon_wait(d);
}

/* ---- raw sockets ------------------------------------------------------- */

/* Writes len bytes; returns 0, or -1 with errno (ETIMEDOUT past the
 * deadline). */
static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t deadline = test_now_ms() + DEADLINE_MS;

	while (len > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		ssize_t n;
		if (poll(&pf, 1, test_left_ms(deadline)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes unless the stream ends first. Returns the bytes
 * read (less than len only at end of stream), or -1 with errno
 * (ETIMEDOUT past the deadline). */
static ssize_t
read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	int64_t deadline = test_now_ms() + DEADLINE_MS;

	while (got < len) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&pf, 1, test_left_ms(deadline)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* One reply frame: 1, 0 at end of stream on a frame boundary, -1 on an
 * error, a cut or oversized frame (message in err). */
static int
read_frame(int fd, struct proto_header *h, uint8_t *body, size_t cap, char *err, size_t errlen)
{
	uint8_t hb[PROTO_HEADER_LEN];
	ssize_t n = read_full(fd, hb, sizeof(hb));

	if (n == 0)
		return 0;
	if (n != PROTO_HEADER_LEN) {
		snprintf(err, errlen, "header: %s", n < 0 ? strerror(errno) : "cut short");
		return -1;
	}
	proto_header_decode(hb, h);
	if (h->magic != PROTO_MAGIC || h->version != PROTO_VERSION || h->body_len > cap) {
		snprintf(err, errlen, "malformed reply header (body_len %u)", (unsigned)h->body_len);
		return -1;
	}
	n = read_full(fd, body, h->body_len);
	if (n != (ssize_t)h->body_len) {
		snprintf(err, errlen, "body: %s", n < 0 ? strerror(errno) : "cut short");
		return -1;
	}
	return 1;
}

static void
send_header(int fd, uint32_t magic, uint8_t version, uint8_t opcode, uint32_t id,
	    uint32_t body_len)
{
	struct proto_header h = {magic, version, opcode, 0, id, body_len};
	uint8_t b[PROTO_HEADER_LEN];

	proto_header_encode(&h, b);
	if (write_all(fd, b, sizeof(b)) != 0)
		fail("send: %s", strerror(errno));
}

/* Reads one frame: it must be error `code` echoing `id`. */
static void
expect_error(int fd, uint32_t id, uint16_t code, const char *what)
{
	static uint8_t body[PROTO_MAX_BODY];
	struct proto_header h;
	char err[256];
	int rc = read_frame(fd, &h, body, sizeof(body), err, sizeof(err));
	unsigned got;

	if (rc != 1)
		fail("%s: no error reply (%s)", what, rc == 0 ? "end of stream" : err);
	got = h.body_len >= 2 ? (unsigned)(body[0] | body[1] << 8) : 0;
	if (h.opcode != PROTO_OP_ERROR || got != code || h.request_id != id)
		fail("%s: reply opcode 0x%02X code %u id %u, expected 0xFF code %u id %u",
		     what, h.opcode, got, (unsigned)h.request_id, code, (unsigned)id);
	ok();
}

/* The daemon must have closed the stream: read returns 0. */
static void
expect_eof(int fd, const char *what)
{
	uint8_t b;
	ssize_t n = read_full(fd, &b, 1);

	if (n != 0)
		fail("%s: connection not closed (%s)", what,
		     n < 0 ? strerror(errno) : "more bytes came");
	ok();
}

static void
expect_ping(int fd, uint32_t id, const char *what)
{
	static uint8_t body[PROTO_MAX_BODY];
	struct proto_header h;
	char err[256];
	int rc;

	send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING, id, 0);
	rc = read_frame(fd, &h, body, sizeof(body), err, sizeof(err));
	if (rc != 1 || h.opcode != PROTO_OP_PING_REPLY || h.request_id != id)
		fail("%s: PING %u not answered (%s)", what, (unsigned)id,
		     rc == 1 ? "another reply" : rc == 0 ? "end of stream" : err);
	ok();
}

/* ---- clients, STATS, reference answers --------------------------------- */

static struct proto_client *
cl_open(const char *sock)
{
	char err[PROTO_ERRLEN];
	struct proto_client *c = proto_client_connect(sock, err);

	if (c == NULL)
		fail("%s", err);
	proto_client_set_timeout(c, DEADLINE_MS);
	return c;
}

/* The value of a counter of the STATS reply. */
static uint64_t
stat_of(struct proto_client *c, const char *key)
{
	char *json = NULL, pat[64], *p;
	uint64_t v;

	if (proto_client_stats(c, &json) != 0)
		fail("STATS: %s", proto_client_error(c));
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	if (p == NULL)
		fail("STATS has no %s: %s", key, json);
	v = strtoull(p + strlen(pat), NULL, 10);
	free(json);
	return v;
}

/* Polls STATS until key reaches want (STATS is the synchronisation). */
static void
wait_stat(struct proto_client *c, const char *key, uint64_t want, const char *what)
{
	int64_t deadline = test_now_ms() + DEADLINE_MS;
	uint64_t v;

	while ((v = stat_of(c, key)) != want) {
		if (test_now_ms() > deadline)
			fail("%s: STATS %s stayed %llu, expected %llu", what, key,
			     (unsigned long long)v, (unsigned long long)want);
		poll_pause();
	}
	ok();
}

/* Rows of random features with the in-process engine's answers. */
struct rows {
	uint32_t n;
	int32_t *x;
	uint8_t *d, *s;
};

static void
rows_make(struct rows *r, uint32_t n, uint64_t seed, const struct model *m)
{
	uint64_t st = seed;

	r->n = n;
	r->x = malloc((size_t)n * NF * sizeof(int32_t));
	r->d = malloc(n);
	r->s = malloc(n);
	if (!r->x || !r->d || !r->s)
		fail("out of memory");
	for (uint32_t i = 0; i < n; i++) {
		int dec;
		float p;
		test_random_features(&st, r->x + (size_t)i * NF, NF);
		if (model_predict(m, r->x + (size_t)i * NF, NF, &dec, &p) != 0)
			fail("model_predict");
		r->d[i] = (uint8_t)dec;
		r->s[i] = (uint8_t)(p * 256.0f);
	}
}

static void
rows_free(struct rows *r)
{
	free(r->x);
	free(r->d);
	free(r->s);
}

/* Whether the count answers of rows[first..] are right. */
static int
rows_match(const struct rows *r, uint32_t first, const uint8_t *d, const uint8_t *s,
	   uint32_t count)
{
	return memcmp(r->d + first, d, count) == 0 && memcmp(r->s + first, s, count) == 0;
}

static struct model *
load_model(const char *path)
{
	char err[512];
	struct model *m = mf_load(path, err, sizeof(err));

	if (m == NULL)
		fail("%s", err);
	return m;
}

/* A whole PREDICT frame of count rows of r from row first. */
static size_t
predict_frame(uint8_t *out, size_t cap, uint32_t id, const struct rows *r, uint32_t first,
	      uint16_t count)
{
	int n = proto_encode_predict(out, cap, id, r->x + (size_t)first * NF, count, NF);

	if (n < 0)
		fail("proto_encode_predict: %d", n);
	return (size_t)n;
}

/* ---- 1. decisions: the daemon answers as iolatd predict ---------------- */

/* Runs iolatd predict --model model csv; returns its stdout (malloc'ed). */
static char *
run_predict(const char *model, const char *csv, size_t *len)
{
	int fds[2], eof = 0, status;
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	int64_t deadline = test_now_ms() + 3 * DEADLINE_MS;
	pid_t pid;

	if (out == NULL || pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe");
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execl(iolatd_bin, iolatd_bin, "predict", "--model", model, csv, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*len = 0;
	while (!eof) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, test_left_ms(deadline)) == 0)
			fail("iolatd predict did not finish in time");
		if (cap - *len < 65536) {
			cap *= 2;
			if ((out = realloc(out, cap)) == NULL)
				fail("out of memory");
		}
		n = read(fds[0], out + *len, cap - *len - 1);
		if (n < 0 && errno != EINTR)
			fail("read: %s", strerror(errno));
		if (n == 0)
			eof = 1;
		if (n > 0)
			*len += (size_t)n;
	}
	out[*len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("iolatd predict --model %s %s failed", model, csv);
	return out;
}

static int32_t
saturate(float v)
{
	if (v >= 2147483647.0f)
		return INT32_MAX;
	if (v <= -2147483648.0f)
		return INT32_MIN;
	return (int32_t)v;
}

static void
case_decisions(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("decisions"), *data = test_data_dir();
	char model[4200], csv[4200], err[512], what[300];
	int32_t *x;
	size_t n, out_len;
	struct daemon d;

	if (data) {
		char path[4200];
		struct trace t;
		struct ds ds;
		memset(&ds, 0, sizeof(ds));
		snprintf(path, sizeof(path), "%s/%s", data, TRACE_NAME);
		if (trace_read(path, &t, err, sizeof(err)) != 0 ||
		    trainset_from_trace(&t, 0, &ds, err, sizeof(err)) != 0)
			fail("%s", err);
		n = ds.n;
		x = malloc(n * NF * sizeof(int32_t));
		if (x == NULL)
			fail("out of memory");
		for (size_t i = 0; i < n * NF; i++)
			x[i] = saturate(ds.features[i]);
		ds_free(&ds);
		trace_free(&t);
		snprintf(model, sizeof(model), "%s", default_model);
		snprintf(what, sizeof(what), "%zu reads of %s", n, TRACE_NAME);
	} else {
		struct quant_ranges r;
		struct model *f = test_trained_model(), *q;
		uint64_t st = 20240601;
		printf("serve: decisions: SKIP the shared trace (no ../shared/data/traces/replayed, "
		       "no IOLAT_DATA): random vectors and the generated model instead\n");
		snprintf(model, sizeof(model), "%s/generated-int8.h5", dir);
		test_quant_ranges(f, 5000, 7, &r);
		q = quant_model(f, &r, "minmax", err, sizeof(err));
		if (q == NULL || mf_save(q, model, err, sizeof(err)) != 0)
			fail("generated model: %s", err);
		model_free(q);
		model_free(f);
		n = 20000;
		x = malloc(n * NF * sizeof(int32_t));
		if (x == NULL)
			fail("out of memory");
		for (size_t i = 0; i < n; i++)
			test_random_features(&st, x + i * NF, NF);
		snprintf(what, sizeof(what), "%zu random vectors", n);
	}

	/* The reference: iolatd predict on the same vectors, as CSV. */
	snprintf(csv, sizeof(csv), "%s/features.csv", dir);
	FILE *f = fopen(csv, "w");
	if (f == NULL)
		fail("%s: %s", csv, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		const int32_t *v = x + i * NF;
		fprintf(f, "%d,%d,%d,%d,%d,%d,%d,%d\n", v[0], v[1], v[2], v[3], v[4], v[5],
			v[6], v[7]);
	}
	if (fclose(f) != 0)
		fail("%s: write failed", csv);
	char *ref = run_predict(model, csv, &out_len), *line = ref;
	ok();

	/* The daemon, in pipelined frames of 64 rows, at most 64 frames in
	 * flight (the client must read while it writes, or both sides fill
	 * their buffers). */
	daemon_start(&d, dir, model, NULL);
	struct proto_client *c = cl_open(d.sock);
	size_t frames = (n + 63) / 64, sent = 0, done = 0;
	uint32_t *ids = malloc(frames * sizeof(uint32_t));
	static struct proto_reply rep;
	if (ids == NULL)
		fail("out of memory");
	while (done < frames) {
		while (sent < frames && sent - done < 64) {
			size_t rows = n - sent * 64 < 64 ? n - sent * 64 : 64;
			if (proto_client_send_predict(c, &ids[sent], x + sent * 64 * NF,
						      (uint16_t)rows, NF) != 0)
				fail("send_predict: %s", proto_client_error(c));
			sent++;
		}
		if (proto_client_recv(c, &rep) != 0)
			fail("frame %zu: %s", done, proto_client_error(c));
		if (rep.opcode != PROTO_OP_PREDICT_REPLY || rep.request_id != ids[done] ||
		    rep.generation != 1)
			fail("frame %zu: opcode 0x%02X id %u generation %u, expected 0x81 id %u "
			     "generation 1", done, rep.opcode, (unsigned)rep.request_id,
			     (unsigned)rep.generation, (unsigned)ids[done]);
		for (uint16_t i = 0; i < rep.count; i++) {
			char mine[64], *nl = strchr(line, '\n');
			size_t row = done * 64 + i;
			if (nl == NULL)
				fail("iolatd predict printed fewer than %zu lines", n);
			*nl = '\0';
			snprintf(mine, sizeof(mine), "%d,%.6f", rep.decisions[i],
				 rep.scores[i] / 256.0f);
			if (strcmp(mine, line) != 0)
				fail("row %zu (%d,%d,%d,%d,%d,%d,%d,%d): daemon %s, iolatd predict %s",
				     row + 1, x[row * NF], x[row * NF + 1], x[row * NF + 2],
				     x[row * NF + 3], x[row * NF + 4], x[row * NF + 5],
				     x[row * NF + 6], x[row * NF + 7], mine, line);
			line = nl + 1;
		}
		done++;
	}
	if (*line != '\0')
		fail("iolatd predict printed more than %zu lines", n);
	ok();
	proto_client_close(c);
	daemon_stop(&d);
	ok();
	free(ids);
	free(ref);
	free(x);
	printf("serve: decisions: %s: the daemon's %zu answers (64 rows a frame, pipelined) "
	       "equal iolatd predict's (%lld ms)\n", what, n, (long long)(test_now_ms() - t0));
}

/* ---- 2. errors: every code from a real malformed frame ----------------- */

/* Code 6 from a peer of another uid: a child that becomes nobody, then
 * connects (SO_PEERCRED is taken at connect). Returns its exit status:
 * 0 passed, 77 could not reach the socket as nobody, else failed. */
static int
reload_as_nobody(const char *sock)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		static uint8_t body[PROTO_MAX_BODY];
		struct proto_header h;
		char err[256];
		int fd;
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
		    getuid() != NOBODY)
			_exit(77);
		fd = test_unix_connect(sock);
		if (fd < 0)
			_exit(errno == EACCES ? 77 : 1);
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_RELOAD, 21, 0);
		if (read_frame(fd, &h, body, sizeof(body), err, sizeof(err)) != 1 ||
		    h.opcode != PROTO_OP_ERROR || h.request_id != 21 || h.body_len < 2 ||
		    (body[0] | body[1] << 8) != PROTO_E_PERMISSION) {
			fprintf(stderr, "serve: RELOAD as nobody: no error 6\n");
			_exit(1);
		}
		/* 6 keeps the connection: a PING still works. */
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING, 22, 0);
		if (read_frame(fd, &h, body, sizeof(body), err, sizeof(err)) != 1 ||
		    h.opcode != PROTO_OP_PING_REPLY || h.request_id != 22) {
			fprintf(stderr, "serve: PING after error 6 not answered\n");
			_exit(1);
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void
case_errors(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("errors");
	char model[4200], sub[4200];
	int root = geteuid() == 0, fd, code6 = 0;
	static const char *const open_socket[] = {"--socket-mode", "0666", NULL};
	struct daemon d;
	uint8_t frame[PROTO_MAX_FRAME];
	struct rows r;
	struct model *m;

	snprintf(model, sizeof(model), "%s/model.h5", dir);
	copy_file(default_model, model);
	m = load_model(model);
	rows_make(&r, 4, 6, m);
	/* As root, nobody must reach the socket for code 6. */
	if (root && (chmod(tmproot, 0711) != 0 || chmod(dir, 0711) != 0))
		fail("chmod %s: %s", dir, strerror(errno));
	daemon_start(&d, dir, model, root ? open_socket : NULL);

	/* 1 bad magic: error (id 0, the header is not trusted), closed. */
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	send_header(fd, 0x4C4F4958u, PROTO_VERSION, PROTO_OP_PING, 11, 0);
	expect_error(fd, 0, PROTO_E_BAD_MAGIC, "bad magic");
	expect_eof(fd, "after bad magic");
	close(fd);

	/* 2 bad version: closed. */
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	send_header(fd, PROTO_MAGIC, 2, PROTO_OP_PING, 12, 0);
	expect_error(fd, 0, PROTO_E_BAD_VERSION, "bad version");
	expect_eof(fd, "after bad version");
	close(fd);

	/* 4 body_len 65537: refused from the header alone, closed. */
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PREDICT, 15, PROTO_MAX_BODY + 1);
	expect_error(fd, 15, PROTO_E_TOO_LARGE, "body_len 65537");
	expect_eof(fd, "after body_len 65537");
	close(fd);

	/* 3 unknown opcode: the connection stays usable. */
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	send_header(fd, PROTO_MAGIC, PROTO_VERSION, 0x09, 13, 0);
	expect_error(fd, 13, PROTO_E_UNKNOWN_OPCODE, "opcode 0x09");
	expect_ping(fd, 14, "after unknown opcode");

	/* 5 bad shape, on the same connection: count 0, 7 features for a
	 * model of 8, a body shorter than count rows; usable after each. */
	{
		uint8_t b[4 + 2 * NF * 4];
		memset(b, 0, sizeof(b));
		/* count 0, n_features 8 */
		b[2] = NF;
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PREDICT, 31, 4);
		if (write_all(fd, b, 4) != 0)
			fail("send: %s", strerror(errno));
		expect_error(fd, 31, PROTO_E_BAD_SHAPE, "count 0");
		expect_ping(fd, 32, "after count 0");
		/* count 1, n_features 7, 7 values */
		b[0] = 1;
		b[2] = NF - 1;
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PREDICT, 33, 4 + 7 * 4);
		if (write_all(fd, b, 4 + 7 * 4) != 0)
			fail("send: %s", strerror(errno));
		expect_error(fd, 33, PROTO_E_BAD_SHAPE, "n_features 7");
		expect_ping(fd, 34, "after n_features 7");
		/* count 2, n_features 8, one row of body */
		b[0] = 2;
		b[2] = NF;
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PREDICT, 35, 4 + NF * 4);
		if (write_all(fd, b, 4 + NF * 4) != 0)
			fail("send: %s", strerror(errno));
		expect_error(fd, 35, PROTO_E_BAD_SHAPE, "body of 1 row for count 2");
		expect_ping(fd, 36, "after a short body");
		/* and a good PREDICT is answered right */
		size_t len = predict_frame(frame, sizeof(frame), 37, &r, 0, 4);
		struct proto_frame pf;
		struct proto_fault fault;
		struct proto_predict_reply pr;
		struct proto_header h;
		char err[256];
		size_t used;
		if (write_all(fd, frame, len) != 0)
			fail("send: %s", strerror(errno));
		if (read_frame(fd, &h, frame + PROTO_HEADER_LEN, PROTO_MAX_BODY, err,
			       sizeof(err)) != 1)
			fail("PREDICT after errors: %s", err);
		proto_header_encode(&h, frame);
		if (proto_parse_reply(frame, PROTO_HEADER_LEN + h.body_len, &pf, &used,
				      &fault) != PROTO_PARSE_FRAME ||
		    proto_decode_predict_reply(&pf, &pr) != 0 || h.request_id != 37 ||
		    pr.count != 4 || pr.generation != 1)
			fail("PREDICT after errors: a wrong reply");
		for (uint16_t i = 0; i < 4; i++) {
			uint8_t dd, ss;
			proto_predict_reply_get(&pr, i, &dd, &ss);
			if (dd != r.d[i] || ss != r.s[i])
				fail("PREDICT after errors: row %u answered %u,%u, expected %u,%u",
				     i, dd, ss, r.d[i], r.s[i]);
		}
		ok();
	}
	close(fd);

	/* 6 permission: RELOAD from another uid is refused; the daemon's
	 * own user (root here) reloads. */
	struct proto_client *c = cl_open(d.sock);
	char *json = NULL;
	if (root) {
		int st = reload_as_nobody(d.sock);
		if (st == 77)
			printf("serve: errors: SKIP code 6 (uid %d cannot reach %s)\n", NOBODY,
			       d.sock);
		else if (st != 0)
			fail("RELOAD as uid %d: not refused with error 6 (child status %d)",
			     NOBODY, st);
		else {
			code6 = 1;
			ok();
		}
	} else {
		printf("serve: errors: SKIP code 6 (not root: no other uid to connect as)\n");
	}
	if (proto_client_reload(c, &json) != 0)
		fail("RELOAD from the daemon's own user: %s", proto_client_error(c));
	if (strstr(json, "\"model_generation\": 2") == NULL)
		fail("RELOAD reply: %s, expected generation 2", json);
	free(json);
	ok();

	/* 7 reload failed: a corrupt model file is refused and the old
	 * model keeps answering, with its generation. */
	corrupt_file(model);
	if (proto_client_reload(c, &json) != PROTO_CLIENT_ERR_SERVER ||
	    proto_client_server_code(c) != PROTO_E_RELOAD_FAILED)
		fail("RELOAD of a corrupt model: %s, expected error 7", proto_client_error(c));
	ok();
	{
		uint8_t dd[4], ss[4];
		uint32_t gen = 0;
		if (proto_client_predict(c, r.x, 4, NF, dd, ss, &gen) != 0)
			fail("PREDICT after error 7: %s", proto_client_error(c));
		if (gen != 2 || !rows_match(&r, 0, dd, ss, 4))
			fail("PREDICT after error 7: generation %u or answers changed",
			     (unsigned)gen);
		ok();
	}
	proto_client_close(c);
	daemon_stop(&d);

	/* 8 overloaded: with --max-connections 2 the third connection gets
	 * error 8 and is closed; the first two go on. */
	static const char *const two[] = {"--max-connections", "2", NULL};
	snprintf(sub, sizeof(sub), "%s/overload", dir);
	if (mkdir(sub, 0700) != 0)
		fail("mkdir %s: %s", sub, strerror(errno));
	copy_file(default_model, model);
	daemon_start(&d, sub, model, two);
	/* daemon_start's PING connection may still be closing: count on
	 * STATS, not on timing. */
	struct proto_client *c1 = cl_open(d.sock), *c2;
	wait_stat(c1, "connections_open", 1, "before the overload");
	c2 = cl_open(d.sock);
	if (proto_client_ping(c2) != 0) /* accepted */
		fail("second connection: PING: %s", proto_client_error(c2));
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	expect_error(fd, 0, PROTO_E_OVERLOADED, "third of 2 connections");
	expect_eof(fd, "after overloaded");
	close(fd);
	wait_stat(c1, "connections_open", 2, "after the refused connection");
	if (proto_client_ping(c2) != 0)
		fail("PING after overload: %s", proto_client_error(c2));
	ok();
	proto_client_close(c1);
	proto_client_close(c2);
	daemon_stop(&d);
	rows_free(&r);
	model_free(m);
	printf("serve: errors: 1 bad magic, 2 bad version, 4 body_len 65537 answered then "
	       "closed; 3 unknown opcode, 5 count 0 / 7 features / short body%s, 7 corrupt "
	       "reload (old generation answers) keep the connection; 8 refuses the 3rd of "
	       "--max-connections 2 (%lld ms)\n",
	       code6 ? ", 6 RELOAD as nobody" : "", (long long)(test_now_ms() - t0));
}

/* ---- 3. load: pipelining, many connections, a client dying mid-frame --- */

#define PIPELINED 1000
#define CONCURRENT 500

static void
case_load(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("load");
	struct daemon d;
	struct rows r;
	struct model *m = load_model(default_model);
	static struct proto_reply rep;
	static uint32_t ids[PIPELINED];
	static struct proto_client *many[CONCURRENT];

	rows_make(&r, 64 * 8, 3, m);
	daemon_start(&d, dir, default_model, NULL);
	struct proto_client *c = cl_open(d.sock);
	wait_stat(c, "connections_open", 1, "before the load"); /* daemon_start's is gone */

	/* 1,000 frames of 8 rows sent before any reply is read (the 40 KB
	 * of replies fit the socket's buffer), answered in order. */
	for (uint32_t k = 0; k < PIPELINED; k++)
		if (proto_client_send_predict(c, &ids[k], r.x + (size_t)(k % 64) * 8 * NF, 8,
					      NF) != 0)
			fail("send_predict %u: %s", k, proto_client_error(c));
	if (proto_client_flush(c) != 0 || proto_client_pending(c) != PIPELINED)
		fail("flush: %s", proto_client_error(c));
	for (uint32_t k = 0; k < PIPELINED; k++) {
		if (proto_client_recv(c, &rep) != 0)
			fail("pipelined reply %u: %s", k, proto_client_error(c));
		if (rep.opcode != PROTO_OP_PREDICT_REPLY || rep.request_id != ids[k] ||
		    rep.count != 8 || !rows_match(&r, (k % 64) * 8, rep.decisions, rep.scores, 8))
			fail("pipelined reply %u: id %u (expected %u) or answers wrong", k,
			     (unsigned)rep.request_id, (unsigned)ids[k]);
	}
	ok();

	/* 500 connections open at once, each with a PREDICT in flight. */
	uint64_t total0 = stat_of(c, "connections_total");
	for (int i = 0; i < CONCURRENT; i++) {
		many[i] = cl_open(d.sock);
		if (proto_client_send_predict(many[i], NULL, r.x + (size_t)(i % 512) * NF, 1, NF) !=
			    0 ||
		    proto_client_flush(many[i]) != 0)
			fail("connection %d: %s", i, proto_client_error(many[i]));
	}
	for (int i = 0; i < CONCURRENT; i++) {
		if (proto_client_recv(many[i], &rep) != 0)
			fail("connection %d of %d: %s", i, CONCURRENT,
			     proto_client_error(many[i]));
		if (rep.count != 1 || !rows_match(&r, (uint32_t)(i % 512), rep.decisions,
						  rep.scores, 1))
			fail("connection %d: a wrong answer", i);
	}
	ok();
	if (stat_of(c, "connections_open") != CONCURRENT + 1 ||
	    stat_of(c, "connections_total") != total0 + CONCURRENT)
		fail("STATS does not count %d more connections", CONCURRENT);
	ok();
	for (int i = 0; i < CONCURRENT; i++)
		proto_client_close(many[i]);
	wait_stat(c, "connections_open", 1, "after closing 500 connections");

	/* A client that dies half-way through a frame: a forked child sends
	 * a PING (so it is accepted), then half a PREDICT, tells us, and
	 * _exit()s when told to. */
	int up[2], down[2];
	uint8_t frame[PROTO_MAX_FRAME], dd[8], ss[8], b = 0;
	if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0)
		fail("pipe: %s", strerror(errno));
	size_t len = predict_frame(frame, sizeof(frame), 2, &r, 0, 8);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = test_unix_connect(d.sock);
		uint8_t body[64];
		struct proto_header h;
		char err[256];
		if (fd < 0)
			_exit(1);
		send_header(fd, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING, 1, 0);
		if (read_frame(fd, &h, body, sizeof(body), err, sizeof(err)) != 1)
			_exit(1);
		if (write_all(fd, frame, len / 2) != 0 || write(up[1], "x", 1) != 1)
			_exit(1);
		struct pollfd p = {.fd = down[0], .events = POLLIN};
		poll(&p, 1, DEADLINE_MS);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	struct pollfd p = {.fd = up[0], .events = POLLIN};
	if (poll(&p, 1, DEADLINE_MS) != 1 || read(up[0], &b, 1) != 1)
		fail("the mid-frame child did not report");
	/* Its half frame sits in the daemon; others are still answered. */
	if (stat_of(c, "connections_open") != 2)
		fail("the mid-frame child's connection is not counted");
	if (proto_client_predict(c, r.x, 8, NF, dd, ss, NULL) != 0 ||
	    !rows_match(&r, 0, dd, ss, 8))
		fail("PREDICT beside a half frame: %s", proto_client_error(c));
	ok();
	if (write(down[1], "x", 1) != 1)
		fail("write: %s", strerror(errno));
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the mid-frame child failed");
	close(up[0]);
	close(down[1]);
	wait_stat(c, "connections_open", 1, "after a client died mid-frame");
	if (proto_client_predict(c, r.x + 8 * NF, 8, NF, dd, ss, NULL) != 0 ||
	    !rows_match(&r, 8, dd, ss, 8))
		fail("PREDICT after a client died mid-frame: %s", proto_client_error(c));
	ok();
	proto_client_close(c);
	daemon_stop(&d);
	rows_free(&r);
	model_free(m);
	printf("serve: load: %d pipelined frames answered in order, %d concurrent "
	       "connections all answered, a client dead mid-frame closed and cost nothing "
	       "(%lld ms)\n", PIPELINED, CONCURRENT, (long long)(test_now_ms() - t0));
}

/* ---- 4. reload under load ---------------------------------------------- */

#define LOADERS 4
#define SIGHUPS 50

struct loader {
	pthread_t thread;
	const char *sock;
	const struct rows *r;
	int *stop;
	uint64_t requests; /* answered, read by main while running */
	uint32_t gen_first, gen_last;
	char err[300];
};

/* Keeps 8 PREDICT frames of 16 rows in flight until told to stop; every
 * answer must be right and no generation older than the last one seen. */
static void *
loader_run(void *arg)
{
	struct loader *l = arg;
	char err[PROTO_ERRLEN];
	struct proto_client *c = proto_client_connect(l->sock, err);
	struct proto_reply *rep = malloc(sizeof(*rep));
	uint32_t ids[8], firsts[8], head = 0, tail = 0, k = 0;

	if (c == NULL || rep == NULL) {
		snprintf(l->err, sizeof(l->err), "connect: %s", c ? "out of memory" : err);
		goto out;
	}
	proto_client_set_timeout(c, DEADLINE_MS);
	for (;;) {
		int stop = __atomic_load_n(l->stop, __ATOMIC_ACQUIRE);
		while (!stop && head - tail < 8) {
			uint32_t first = (k++ % 32) * 16;
			if (proto_client_send_predict(c, &ids[head % 8], l->r->x + (size_t)first * NF,
						      16, NF) != 0) {
				snprintf(l->err, sizeof(l->err), "send: %s", proto_client_error(c));
				goto out;
			}
			firsts[head++ % 8] = first;
		}
		if (head == tail)
			break;
		if (proto_client_recv(c, rep) != 0) {
			snprintf(l->err, sizeof(l->err), "request %llu: %s",
				 (unsigned long long)l->requests, proto_client_error(c));
			goto out;
		}
		if (rep->request_id != ids[tail % 8] || rep->count != 16 ||
		    !rows_match(l->r, firsts[tail % 8], rep->decisions, rep->scores, 16)) {
			snprintf(l->err, sizeof(l->err), "request %llu: a wrong reply",
				 (unsigned long long)l->requests);
			goto out;
		}
		if (l->gen_first == 0)
			l->gen_first = rep->generation;
		if (rep->generation < l->gen_last) {
			snprintf(l->err, sizeof(l->err), "generation went from %u back to %u",
				 (unsigned)l->gen_last, (unsigned)rep->generation);
			goto out;
		}
		l->gen_last = rep->generation;
		tail++;
		__atomic_add_fetch(&l->requests, 1, __ATOMIC_RELEASE);
	}
out:
	proto_client_close(c);
	free(rep);
	return NULL;
}

static void
case_reload(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("reload");
	char model[4200];
	struct daemon d;
	struct rows r;
	struct model *m = load_model(default_model);
	struct loader l[LOADERS];
	int stop = 0;
	uint64_t total = 0;

	snprintf(model, sizeof(model), "%s/model.h5", dir);
	copy_file(default_model, model);
	rows_make(&r, 32 * 16, 4, m);
	daemon_start(&d, dir, model, NULL);
	struct proto_client *c = cl_open(d.sock);

	memset(l, 0, sizeof(l));
	for (int i = 0; i < LOADERS; i++) {
		l[i].sock = d.sock;
		l[i].r = &r;
		l[i].stop = &stop;
		if (pthread_create(&l[i].thread, NULL, loader_run, &l[i]) != 0)
			fail("pthread_create");
	}
	/* Under load before the first SIGHUP. */
	int64_t deadline = test_now_ms() + DEADLINE_MS;
	for (int i = 0; i < LOADERS; i++)
		while (__atomic_load_n(&l[i].requests, __ATOMIC_ACQUIRE) == 0) {
			if (test_now_ms() > deadline)
				fail("loader %d got no answer: %s", i, l[i].err);
			poll_pause();
		}
	for (int k = 1; k <= SIGHUPS; k++) {
		int eof = 0;
		if (kill(d.pid, SIGHUP) != 0)
			fail("kill: %s", strerror(errno));
		wait_stat(c, "reloads", (uint64_t)k, "SIGHUP");
		daemon_read_log(&d, 0, &eof); /* keep its stderr pipe drained */
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < LOADERS; i++) {
		pthread_join(l[i].thread, NULL);
		if (l[i].err[0])
			fail("loader %d: %s", i, l[i].err);
		total += l[i].requests;
	}
	ok();

	uint8_t dd[16], ss[16];
	uint32_t gen = 0;
	if (proto_client_predict(c, r.x, 16, NF, dd, ss, &gen) != 0 || gen != SIGHUPS + 1 ||
	    !rows_match(&r, 0, dd, ss, 16))
		fail("after %d reloads: generation %u, expected %d", SIGHUPS, (unsigned)gen,
		     SIGHUPS + 1);
	ok();

	/* A corrupt model on SIGHUP: refused, the old one keeps serving. */
	corrupt_file(model);
	if (kill(d.pid, SIGHUP) != 0)
		fail("kill: %s", strerror(errno));
	wait_stat(c, "reload_failures", 1, "SIGHUP with a corrupt model");
	if (stat_of(c, "reloads") != SIGHUPS)
		fail("a refused reload was counted as a reload");
	if (proto_client_predict(c, r.x + 16 * NF, 16, NF, dd, ss, &gen) != 0 ||
	    gen != SIGHUPS + 1 || !rows_match(&r, 16, dd, ss, 16))
		fail("after a refused reload: generation %u, expected %d", (unsigned)gen,
		     SIGHUPS + 1);
	ok();
	proto_client_close(c);
	daemon_stop(&d);
	rows_free(&r);
	model_free(m);
	printf("serve: reload: %d SIGHUPs under %d clients' load: %llu requests, 0 failed, "
	       "generations 1..%d never went back (clients saw %u..%u, %u..%u, %u..%u, "
	       "%u..%u); a corrupt model refused, generation %d kept (%lld ms)\n",
	       SIGHUPS, LOADERS, (unsigned long long)total, SIGHUPS + 1, l[0].gen_first,
	       l[0].gen_last, l[1].gen_first, l[1].gen_last, l[2].gen_first, l[2].gen_last,
	       l[3].gen_first, l[3].gen_last, SIGHUPS + 1, (long long)(test_now_ms() - t0));
}

/* ---- 5. SIGTERM under load --------------------------------------------- */

/* What "SIGTERM answers what was received" means here, precisely:
 *  - held clients each write HELD_FRAMES frames and read nothing. Once
 *    STATS counts all their rows as predicted, the daemon has received
 *    every frame (and answered it into its write queue, part of which is
 *    still there: the replies outgrow the socket buffer). After SIGTERM
 *    each must read all HELD_FRAMES replies, in order and right, then end
 *    of stream (read returns 0).
 *  - streaming clients write and read continuously across SIGTERM. Frames
 *    still in the socket when the daemon stops reading are rightly left
 *    unanswered, so: replies right and in order (ids 1..R), R <= frames
 *    fully written, and the stream ends (EOF, or ECONNRESET when the
 *    daemon closed with frames unread) on a frame boundary.
 *  - the daemon exits 0 and removes its socket. */

#define HELD 2
#define HELD_FRAMES 128  /* of 1024 rows: 265 KB of replies each */
#define STREAMERS 2
#define STREAM_ROWS 16

struct streamer {
	pthread_t thread;
	int fd;
	const struct rows *r;
	uint64_t written; /* frames fully written */
	uint64_t replies; /* replies received, in order */
	int ended_reset;  /* the stream ended with ECONNRESET, not EOF */
	char err[300];
};

/* Writes PREDICT frames without pause (at most 64 unanswered) and reads
 * the replies, until the daemon ends the stream. */
static void *
streamer_run(void *arg)
{
	struct streamer *s = arg;
	static const size_t frame_len = PROTO_HEADER_LEN + 4 + STREAM_ROWS * NF * 4;
	uint8_t out[PROTO_HEADER_LEN + 4 + STREAM_ROWS * NF * 4];
	uint8_t *in = malloc(1 << 16);
	size_t out_off = frame_len, in_len = 0;
	int writing = 1;
	int64_t deadline = test_now_ms() + DEADLINE_MS;

	if (in == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return NULL;
	}
	for (;;) {
		uint64_t w = __atomic_load_n(&s->written, __ATOMIC_RELAXED);
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (writing && out_off == frame_len && w - s->replies < 64) {
			uint32_t first = (uint32_t)(w % 32) * STREAM_ROWS;
			proto_encode_predict(out, sizeof(out), (uint32_t)w + 1,
					     s->r->x + (size_t)first * NF, STREAM_ROWS, NF);
			out_off = 0;
		}
		if (writing && out_off < frame_len)
			p.events |= POLLOUT;
		if (poll(&p, 1, test_left_ms(deadline)) == 0) {
			snprintf(s->err, sizeof(s->err), "no progress for %d ms", DEADLINE_MS);
			break;
		}
		if (p.revents & POLLOUT) {
			ssize_t n = send(s->fd, out + out_off, frame_len - out_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				writing = 0; /* the daemon has shut the socket */
			if (n > 0 && (out_off += (size_t)n) == frame_len)
				__atomic_store_n(&s->written, w + 1, __ATOMIC_RELEASE);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(s->fd, in + in_len, (1 << 16) - in_len, MSG_DONTWAIT);
			size_t off = 0;
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				if (n < 0 && errno != ECONNRESET)
					snprintf(s->err, sizeof(s->err), "recv: %s", strerror(errno));
				else if (in_len > 0)
					snprintf(s->err, sizeof(s->err),
						 "the stream ended inside a reply (%zu bytes)", in_len);
				s->ended_reset = n < 0;
				break;
			}
			in_len += (size_t)n;
			deadline = test_now_ms() + DEADLINE_MS;
			for (;;) {
				struct proto_frame f;
				struct proto_fault fault;
				struct proto_predict_reply pr;
				size_t used;
				int rc = proto_parse_reply(in + off, in_len - off, &f, &used, &fault);
				if (rc == PROTO_PARSE_NEED_MORE)
					break;
				uint32_t first = (uint32_t)(s->replies % 32) * STREAM_ROWS;
				if (rc != PROTO_PARSE_FRAME || proto_decode_predict_reply(&f, &pr) != 0 ||
				    f.header.request_id != s->replies + 1 || pr.count != STREAM_ROWS) {
					snprintf(s->err, sizeof(s->err), "reply %llu: wrong (id %u)",
						 (unsigned long long)s->replies + 1,
						 (unsigned)f.header.request_id);
					goto out;
				}
				for (uint16_t i = 0; i < pr.count; i++) {
					uint8_t dd, ss;
					proto_predict_reply_get(&pr, i, &dd, &ss);
					if (dd != s->r->d[first + i] || ss != s->r->s[first + i]) {
						snprintf(s->err, sizeof(s->err), "reply %llu: wrong answer",
							 (unsigned long long)s->replies + 1);
						goto out;
					}
				}
				off += used;
				__atomic_add_fetch(&s->replies, 1, __ATOMIC_RELEASE);
			}
			memmove(in, in + off, in_len - off);
			in_len -= off;
		}
	}
out:
	free(in);
	return NULL;
}

/* Writes each fd's buffer whole, all at once (the daemon reads them in
 * turn, so one blocking write each could wait on the others). */
static void
write_all_many(const int *fds, uint8_t *const *bufs, size_t len, int n)
{
	size_t off[HELD] = {0};
	int64_t deadline = test_now_ms() + 3 * DEADLINE_MS;

	for (;;) {
		struct pollfd p[HELD];
		int left = 0;
		for (int i = 0; i < n; i++) {
			p[i].fd = off[i] < len ? fds[i] : -1;
			p[i].events = POLLOUT;
			left += off[i] < len;
		}
		if (left == 0)
			return;
		if (poll(p, (nfds_t)n, test_left_ms(deadline)) == 0)
			fail("the daemon stopped reading the held clients' frames");
		for (int i = 0; i < n; i++) {
			ssize_t w;
			if (!(p[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			w = send(fds[i], bufs[i] + off[i], len - off[i], MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				fail("held client %d: send: %s", i, strerror(errno));
			if (w > 0)
				off[i] += (size_t)w;
		}
	}
}

static void
case_sigterm(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("sigterm");
	struct daemon d;
	struct rows big, small;
	struct model *m = load_model(default_model);
	struct streamer s[STREAMERS];
	int held[HELD];
	uint8_t *bufs[HELD];
	const size_t flen = PROTO_HEADER_LEN + 4 + 1024 * NF * 4;
	static uint8_t body[PROTO_MAX_BODY];

	rows_make(&big, 1024, 5, m);
	rows_make(&small, 32 * STREAM_ROWS, 8, m);
	daemon_start(&d, dir, default_model, NULL);
	struct proto_client *c = cl_open(d.sock);
	uint64_t pred0 = stat_of(c, "predictions");

	/* Held clients: each writes HELD_FRAMES frames and reads nothing
	 * until SIGTERM. When STATS counts all their rows as predicted, the
	 * daemon has received and answered every frame; their replies (265
	 * KB each) outgrow the socket buffer, so part of them still waits
	 * in the daemon's write queue when SIGTERM comes. */
	for (int i = 0; i < HELD; i++) {
		if ((held[i] = test_unix_connect(d.sock)) < 0)
			fail("connect: %s", strerror(errno));
		bufs[i] = malloc(flen * HELD_FRAMES);
		if (bufs[i] == NULL)
			fail("out of memory");
		for (uint32_t k = 0; k < HELD_FRAMES; k++)
			predict_frame(bufs[i] + k * flen, flen, k + 1, &big, 0, 1024);
	}
	write_all_many(held, bufs, flen * HELD_FRAMES, HELD);
	wait_stat(c, "predictions", pred0 + (uint64_t)HELD * HELD_FRAMES * 1024,
		  "the held clients' frames");

	/* Streaming clients: writing and reading continuously when SIGTERM
	 * comes; wait until each has had 20 replies. */
	memset(s, 0, sizeof(s));
	for (int i = 0; i < STREAMERS; i++) {
		if ((s[i].fd = test_unix_connect(d.sock)) < 0)
			fail("connect: %s", strerror(errno));
		s[i].r = &small;
		if (pthread_create(&s[i].thread, NULL, streamer_run, &s[i]) != 0)
			fail("pthread_create");
	}
	int64_t deadline = test_now_ms() + DEADLINE_MS;
	for (int i = 0; i < STREAMERS; i++)
		while (__atomic_load_n(&s[i].replies, __ATOMIC_ACQUIRE) < 20) {
			if (test_now_ms() > deadline)
				fail("streaming client %d got %llu replies", i,
				     (unsigned long long)s[i].replies);
			poll_pause();
		}
	proto_client_close(c);
	if (kill(d.pid, SIGTERM) != 0)
		fail("kill: %s", strerror(errno));

	/* Every held frame is answered, in order, then the stream ends
	 * (read returns 0). */
	for (int i = 0; i < HELD; i++) {
		for (uint32_t k = 0; k < HELD_FRAMES; k++) {
			struct proto_header h;
			char err[256];
			int rc = read_frame(held[i], &h, body, sizeof(body), err, sizeof(err));
			if (rc != 1)
				fail("held client %d: reply %u of %d lost after SIGTERM (%s)", i,
				     k + 1, HELD_FRAMES, rc == 0 ? "end of stream" : err);
			if (h.opcode != PROTO_OP_PREDICT_REPLY || h.request_id != k + 1 ||
			    h.body_len != 8 + 2 * 1024)
				fail("held client %d: reply %u: opcode 0x%02X id %u", i, k + 1,
				     h.opcode, (unsigned)h.request_id);
			for (uint32_t j = 0; j < 1024; j++)
				if (body[8 + 2 * j] != big.d[j] || body[9 + 2 * j] != big.s[j])
					fail("held client %d: reply %u: row %u wrong", i, k + 1, j);
		}
		expect_eof(held[i], "held client after its replies");
		close(held[i]);
		free(bufs[i]);
	}

	/* Streaming clients: replies in order, ids 1..R with R <= frames
	 * written, the stream ending on a frame boundary. */
	uint64_t w = 0, rr = 0, resets = 0;
	for (int i = 0; i < STREAMERS; i++) {
		pthread_join(s[i].thread, NULL);
		if (s[i].err[0])
			fail("streaming client %d: %s", i, s[i].err);
		if (s[i].replies > s[i].written)
			fail("streaming client %d: %llu replies to %llu frames", i,
			     (unsigned long long)s[i].replies, (unsigned long long)s[i].written);
		w += s[i].written;
		rr += s[i].replies;
		resets += (uint64_t)s[i].ended_reset;
		close(s[i].fd);
	}
	ok();
	daemon_wait(&d);
	ok();
	rows_free(&big);
	rows_free(&small);
	model_free(m);
	printf("serve: sigterm: %d held clients got all %d replies to frames the daemon had "
	       "read, then EOF; %d streaming clients got %llu in-order replies to %llu frames "
	       "written, cut on a frame boundary (%llu by a reset: unread frames dropped); exit 0, "
	       "socket removed (%lld ms)\n",
	       HELD, HELD_FRAMES, STREAMERS, (unsigned long long)rr, (unsigned long long)w,
	       (unsigned long long)resets, (long long)(test_now_ms() - t0));
}

/* ---- 6. SIGTERM with a client that never reads ----------------------- */

/* Its replies outgrow the socket buffer, so the daemon cannot send them
 * all; drain_timeout (1 s here) must end the wait, well before the idle
 * timeout (300 s) that would otherwise hold the daemon. */
static void
case_drain_deadline(void)
{
	static const char *const extra[] = {"--drain-timeout", "1", NULL};
	int64_t t0 = test_now_ms(), t_term;
	const char *dir = case_dir("drain");
	struct daemon d;
	struct rows big;
	struct model *m = load_model(default_model);
	const size_t flen = PROTO_HEADER_LEN + 4 + 1024 * NF * 4;
	uint8_t *buf = malloc(flen * HELD_FRAMES);
	int fd;

	if (buf == NULL)
		fail("out of memory");
	rows_make(&big, 1024, 7, m);
	daemon_start(&d, dir, default_model, extra);
	struct proto_client *c = cl_open(d.sock);
	uint64_t pred0 = stat_of(c, "predictions");
	if ((fd = test_unix_connect(d.sock)) < 0)
		fail("connect: %s", strerror(errno));
	for (uint32_t k = 0; k < HELD_FRAMES; k++)
		predict_frame(buf + k * flen, flen, k + 1, &big, 0, 1024);
	write_all_many(&fd, &buf, flen * HELD_FRAMES, 1);
	wait_stat(c, "predictions", pred0 + (uint64_t)HELD_FRAMES * 1024,
		  "the silent client's frames");
	proto_client_close(c);
	t_term = test_now_ms();
	if (kill(d.pid, SIGTERM) != 0)
		fail("kill: %s", strerror(errno));
	char *log = daemon_reap(&d); /* fails unless exit 0 within DEADLINE_MS */
	int64_t waited = test_now_ms() - t_term;
	if (waited < 1000)
		fail("the daemon gave up on the silent client after %lld ms, before "
		     "drain_timeout (1 s)", (long long)waited);
	if (log == NULL || strstr(log, "drain_timeout (1 s): closed 1 connection") == NULL)
		fail("no drain_timeout line in the daemon's log");
	ok();
	free(log);
	close(fd);
	free(buf);
	rows_free(&big);
	model_free(m);
	printf("serve: drain: SIGTERM with %d KB of replies unread by a silent client: "
	       "exit 0 after %lld ms (drain_timeout 1 s, idle_timeout 300 s) (%lld ms)\n",
	       (PROTO_HEADER_LEN + 8 + 2 * 1024) * HELD_FRAMES / 1024,
	       (long long)waited, (long long)(test_now_ms() - t0));
}

/* ---- 7. systemd: socket activation and sd_notify ---------------------- */

#ifdef HAVE_LIBSYSTEMD
/* The next sd_notify datagram, within the deadline. */
static void
expect_notify(int fd, const char *want, const char *when)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[512];
	ssize_t n;

	if (poll(&p, 1, DEADLINE_MS) != 1)
		fail("%s: no sd_notify message within %d ms (expected %s)", when,
		     DEADLINE_MS, want);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		fail("recv on the notify socket: %s", strerror(errno));
	buf[n] = '\0';
	if (strcmp(buf, want) != 0)
		fail("%s: sd_notify sent \"%s\", expected \"%s\"", when, buf, want);
	ok();
}

static int
unix_socket_at(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail("bind %s: %s", path, strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 16) != 0)
		fail("listen %s: %s", path, strerror(errno));
	return fd;
}

/* Started as iolatd.socket starts it: the daemon serves the socket it is
 * given (ignoring its --socket, here the same path, which it would
 * otherwise refuse as live), tells systemd READY, RELOADING then READY
 * around a reload, STOPPING at SIGTERM, and leaves the socket, which is
 * systemd's, in place. */
static void
case_systemd(void)
{
	int64_t t0 = test_now_ms();
	const char *dir = case_dir("systemd");
	char sock[4200], notify[4200];
	struct activation act;
	struct daemon d;

	snprintf(sock, sizeof(sock), "%s/iolatd.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	act.listen_fd = unix_socket_at(sock, SOCK_STREAM);
	act.notify_path = notify;
	int nfd = unix_socket_at(notify, SOCK_DGRAM);
	daemon_launch(&d, dir, default_model, NULL, &act);
	expect_notify(nfd, "READY=1", "start");
	if (strstr(d.log, "on the socket from systemd") == NULL)
		fail("the daemon did not say it serves the socket from systemd: %s", d.log);
	ok();

	struct proto_client *c = cl_open(sock);
	uint32_t gen = (uint32_t)stat_of(c, "model_generation");
	if (kill(d.pid, SIGHUP) != 0)
		fail("kill: %s", strerror(errno));
	expect_notify(nfd, "RELOADING=1", "SIGHUP");
	expect_notify(nfd, "READY=1", "after the reload");
	if (stat_of(c, "model_generation") != gen + 1)
		fail("SIGHUP did not bump the model generation");
	ok();
	proto_client_close(c);

	if (kill(d.pid, SIGTERM) != 0)
		fail("kill: %s", strerror(errno));
	expect_notify(nfd, "STOPPING=1", "SIGTERM");
	daemon_wait(&d); /* exit 0, and the socket left in place */
	/* systemd would start the daemon again on the next connection: the
	 * socket still takes one. */
	int again = test_unix_connect(sock);
	if (again < 0)
		fail("the activated socket refuses connections after the daemon: %s",
		     strerror(errno));
	ok();
	close(again);
	close(nfd);
	close(act.listen_fd);
	printf("serve: systemd: served the socket it was given, sd_notify READY, RELOADING, "
	       "READY, STOPPING in that order, exit 0, socket left to systemd (%lld ms)\n",
	       (long long)(test_now_ms() - t0));
}
#else
static void
case_systemd(void)
{
	printf("serve: systemd: SKIP: built without libsystemd (no socket activation, "
	       "no sd_notify)\n");
}
#endif

int
main(int argc, char **argv)
{
	struct rlimit rl;

	if (argc != 3) {
		fprintf(stderr, "usage: serve_test IOLATD DEFAULT_INT8_MODEL\n");
		return 2;
	}
	iolatd_bin = argv[1];
	default_model = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* 500 connections on each side, plus the rest; the daemon inherits. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < CONCURRENT + 64) {
		fprintf(stderr, "serve: RLIMIT_NOFILE %llu is under %d\n",
			(unsigned long long)rl.rlim_cur, CONCURRENT + 64);
		return 1;
	}
	driver_pid = getpid();
	tmproot = test_tmpdir_create();
	case_decisions();
	case_errors();
	case_load();
	case_reload();
	case_sigterm();
	case_drain_deadline();
	case_systemd();
	test_tmpdir_remove();
	printf("serve: %d checks passed\n", checks);
	return 0;
}
