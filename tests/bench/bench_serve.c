/* bench_serve: what iolatd serve costs over its Unix socket, measured
 * against the real daemon in one run.
 *
 * The program starts daemon/iolatd serve itself (fork and exec of the
 * built binary, the shipped default int8 model, a socket in a fresh
 * temporary directory), waits for a PING reply under a deadline, and
 * stops it with SIGTERM at the end. Paths come from $top_builddir and
 * $top_srcdir ("." by default, as 'make bench' runs in the build tree).
 *
 *  1. Batch-1 latency: one client, one PREDICT of one 8-feature vector at
 *     a time (52 bytes), wait for its reply (26 bytes). Beside it, the
 *     floor any server pays: a forked child on a socketpair that reads
 *     52 bytes and writes a fixed 26-byte reply. Both sides use the same
 *     client code (blocking send of the whole request, then recv of
 *     exactly the reply's size) on the same pre-encoded frames
 *     (proto_encode_predict), and take turns within every repetition.
 *     Reported: p50 and p99 of each repetition's round trips, the median
 *     over repetitions, and daemon p50 / raw p50 (target <= 1.25x).
 *  2. Pipelined throughput: 4 client threads, one connection each,
 *     PREDICT frames of 64 vectors with PIPE_DEPTH frames in flight per
 *     connection (a new frame goes out for every reply that comes back),
 *     for PIPE_SECONDS per repetition. Reported: predictions answered per
 *     second over all connections, median of the repetitions (target
 *     >= 1,000,000/s), and the daemon's CPU use from /proc.
 *
 * Every reply is checked (opcode, count, request id in order). Nothing is
 * pinned: on a 2-core machine the daemon's one loop thread competes with
 * the clients for the cores, which is part of what is measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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

#include "client.h"
#include "helpers.h"
#include "proto.h"

#define N_FEATURES 8
#define REQ1_LEN (PROTO_HEADER_LEN + 4 + 4 * N_FEATURES) /* 52 */
#define REP1_LEN (PROTO_HEADER_LEN + 8 + 2)             /* 26 */
#define LAT_FRAMES 256        /* distinct pre-encoded batch-1 requests */
#define LAT_REPS 5
#define LAT_PER_REP 40000     /* round trips per side and repetition */
#define LAT_WARMUP 5000

#define PIPE_THREADS 4
#define PIPE_COUNT 64         /* vectors per frame */
#define PIPE_DEPTH 32         /* frames in flight per connection */
#define PIPE_REQ_LEN (PROTO_HEADER_LEN + 4 + 4 * N_FEATURES * PIPE_COUNT)
#define PIPE_REP_LEN (PROTO_HEADER_LEN + 8 + 2 * PIPE_COUNT)
#define PIPE_REPS 5
#define PIPE_SECONDS 1.5

#define START_DEADLINE_S 20.0

static char tmpdir[48], sock_path[96], log_path[96];
static pid_t daemon_pid = -1;

/* --- small helpers ------------------------------------------------------ */

static void
die(const char *what)
{
	fprintf(stderr, "bench_serve: %s\n", what);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	if (tmpdir[0]) {
		unlink(sock_path);
		unlink(log_path);
		rmdir(tmpdir);
	}
	exit(1);
}

/* FlashNet-like features: reads and writes of 4 KiB..1 MiB, latencies of
 * tens to thousands of microseconds, throughputs that follow from them. */
static void
fill_features(uint64_t *st, int32_t *x)
{
	uint32_t r[4];

	for (int i = 0; i < 4; i++) {
		*st = *st * 6364136223846793005u + 1442695040888963407u;
		r[i] = (uint32_t)(*st >> 33);
	}
	x[0] = (int32_t)(r[0] & 1);
	x[1] = 4096 << (r[0] >> 1) % 9;
	for (int k = 0; k < 3; k++) {
		int32_t lat = 20 + (int32_t)((r[1 + k] >> 4) % 5000);
		x[2 + k] = lat;
		x[5 + k] = (int32_t)((int64_t)x[1] * 1000 / lat);
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Sorts v; the value at quantile q (nearest rank). */
static uint32_t
quantile_u32(uint32_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	qsort(v, n, sizeof(*v), cmp_u32);
	return v[k == 0 ? 0 : (k > n ? n : k) - 1];
}

/* utime + stime of a process, in seconds. */
static double
proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* fields 14 and 15, counted after the ')' that ends the command */
	char *p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* --- the daemon ------------------------------------------------------- */

static const char *
env_or_dot(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : ".";
}

/* The daemon's log, on stderr, when it did not come up. */
static void
show_log(void)
{
	char buf[4096];
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

/* 1 when the daemon answers a PING, 0 when not yet. */
static int
daemon_pings(void)
{
	char err[PROTO_ERRLEN];
	struct proto_client *c = proto_client_connect(sock_path, err);
	int ok;

	if (c == NULL)
		return 0;
	proto_client_set_timeout(c, 2000);
	ok = proto_client_ping(c) == PROTO_CLIENT_OK;
	proto_client_close(c);
	return ok;
}

static void
daemon_start(char *daemon_bin, char *model)
{
	char tmpl[] = "/tmp/iolat-bench-serve-XXXXXX";
	double deadline, delay = 0.001;
	int status;

	if (mkdtemp(tmpl) == NULL)
		die("mkdtemp failed");
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	snprintf(sock_path, sizeof(sock_path), "%s/iolatd.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/iolatd.log", tmpdir);
	if (access(daemon_bin, X_OK) != 0 || access(model, R_OK) != 0) {
		fprintf(stderr, "bench_serve: need %s and %s (make daemon/iolatd)\n",
			daemon_bin, model);
		die("missing daemon or model");
	}
	daemon_pid = fork();
	if (daemon_pid < 0)
		die("fork failed");
	if (daemon_pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		unsetenv("LISTEN_FDS"); /* never serve a socket the bench inherited */
		unsetenv("LISTEN_PID");
		unsetenv("NOTIFY_SOCKET");
		execl(daemon_bin, daemon_bin, "serve", "--socket", sock_path, "--model", model,
		      (char *)NULL);
		_exit(127);
	}
	/* Readiness is the daemon answering; between attempts, back off
	 * (1 ms doubling to 50 ms) until the deadline or the daemon's exit. */
	deadline = test_now_s() + START_DEADLINE_S;
	while (!daemon_pings()) {
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			show_log();
			die("the daemon exited before answering a PING");
		}
		if (test_now_s() > deadline) {
			show_log();
			die("the daemon did not answer a PING within the deadline");
		}
		struct timespec ts = {0, (long)(delay * 1e9)};
		nanosleep(&ts, NULL);
		delay = delay * 2 > 0.05 ? 0.05 : delay * 2;
	}
}

static void
daemon_stop(void)
{
	int status;

	kill(daemon_pid, SIGTERM);
	if (waitpid(daemon_pid, &status, 0) == daemon_pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		show_log();
		fprintf(stderr, "bench_serve: the daemon did not exit cleanly on SIGTERM "
				"(status 0x%x)\n", status);
	}
	daemon_pid = -1;
	unlink(sock_path);
	unlink(log_path);
	rmdir(tmpdir);
}

/* --- 1. batch-1 latency ------------------------------------------------- */

static uint8_t lat_req[LAT_FRAMES][REQ1_LEN];

/* The raw peer: reads requests of the daemon's size, answers a fixed
 * reply of the daemon's size, until EOF. */
static void
raw_echo(int fd)
{
	uint8_t req[REQ1_LEN], rep[REP1_LEN];
	uint8_t d = 0, s = 0;

	if (proto_encode_predict_reply(rep, sizeof(rep), 1, 1, &d, &s, 1) != REP1_LEN)
		_exit(1);
	while (test_recv_exact(fd, req, sizeof(req)) == 0)
		if (test_send_all(fd, rep, sizeof(rep)) != 0)
			break;
	_exit(0);
}

/* n round trips on fd from frame *next on; each one's nanoseconds into
 * ns (may be NULL for a warm-up). check: verify a daemon's reply. */
static void
round_trips(int fd, uint32_t *ns, int n, unsigned *next, int check)
{
	uint8_t rep[REP1_LEN];

	for (int i = 0; i < n; i++) {
		const uint8_t *req = lat_req[*next];
		uint64_t t0 = test_now_ns();
		if (test_send_all(fd, req, REQ1_LEN) != 0 || test_recv_exact(fd, rep, REP1_LEN) != 0)
			die("batch-1: the peer closed the connection");
		uint64_t t1 = test_now_ns();
		if (ns)
			ns[i] = (uint32_t)(t1 - t0);
		/* the opcode and the echoed request id (bytes 8..11) */
		if (check && (rep[5] != PROTO_OP_PREDICT_REPLY || memcmp(rep + 8, req + 8, 4) != 0))
			die("batch-1: unexpected reply from the daemon");
		*next = (*next + 1) % LAT_FRAMES;
	}
}

static void
bench_latency(void)
{
	uint32_t *ns = malloc(sizeof(uint32_t) * LAT_PER_REP);
	double d50[LAT_REPS], d99[LAT_REPS], r50[LAT_REPS], r99[LAT_REPS];
	int sv[2], dfd;
	unsigned dnext = 0, rnext = 0;
	uint64_t st = 7;
	pid_t echo;

	if (ns == NULL)
		die("out of memory");
	for (int i = 0; i < LAT_FRAMES; i++) {
		int32_t x[N_FEATURES];
		fill_features(&st, x);
		if (proto_encode_predict(lat_req[i], REQ1_LEN, (uint32_t)i + 1, x, 1,
					 N_FEATURES) != REQ1_LEN)
			die("proto_encode_predict: unexpected length");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair failed");
	echo = fork();
	if (echo < 0)
		die("fork failed");
	if (echo == 0) {
		close(sv[0]);
		raw_echo(sv[1]);
	}
	close(sv[1]);
	dfd = test_unix_connect(sock_path);
	if (dfd < 0)
		die("cannot connect to the daemon");

	round_trips(dfd, NULL, LAT_WARMUP, &dnext, 1);
	round_trips(sv[0], NULL, LAT_WARMUP, &rnext, 0);
	printf("1. batch-1 PREDICT (1 x %d features): request %d B, reply %d B; "
	       "%d repetitions x %d round trips per side (%d in all), after %d warm-up\n",
	       N_FEATURES, REQ1_LEN, REP1_LEN, LAT_REPS, LAT_PER_REP, LAT_REPS * LAT_PER_REP,
	       LAT_WARMUP);
	printf("   %-4s %-21s   %-21s\n", "", "iolatd serve (us)", "raw socketpair echo (us)");
	printf("   %-4s %10s %10s   %10s %10s\n", "rep", "p50", "p99", "p50", "p99");
	for (int r = 0; r < LAT_REPS; r++) {
		round_trips(dfd, ns, LAT_PER_REP, &dnext, 1);
		d50[r] = quantile_u32(ns, LAT_PER_REP, 0.50) / 1000.0;
		d99[r] = quantile_u32(ns, LAT_PER_REP, 0.99) / 1000.0;
		round_trips(sv[0], ns, LAT_PER_REP, &rnext, 0);
		r50[r] = quantile_u32(ns, LAT_PER_REP, 0.50) / 1000.0;
		r99[r] = quantile_u32(ns, LAT_PER_REP, 0.99) / 1000.0;
		printf("   %-4d %10.2f %10.2f   %10.2f %10.2f\n", r + 1, d50[r], d99[r], r50[r],
		       r99[r]);
	}
	double md50 = test_median(d50, LAT_REPS), md99 = test_median(d99, LAT_REPS);
	double mr50 = test_median(r50, LAT_REPS), mr99 = test_median(r99, LAT_REPS);
	printf("   %-4s %10.2f %10.2f   %10.2f %10.2f\n", "med", md50, md99, mr50, mr99);
	printf("   daemon p50 / raw p50 = %.2fx (target <= 1.25x: %s); "
	       "daemon p99 / raw p99 = %.2fx\n",
	       md50 / mr50, md50 / mr50 <= 1.25 ? "met" : "NOT met", md99 / mr99);

	close(dfd);
	close(sv[0]);
	waitpid(echo, NULL, 0);
	free(ns);
}

/* --- 2. pipelined throughput ------------------------------------------- */

/* Frames 0..2*DEPTH-1, frame j with request id j % DEPTH + 1: any run of
 * up to DEPTH frames from a start below DEPTH is contiguous. */
static uint8_t *pipe_frames[PIPE_THREADS];

struct pipe_job {
	int fd;
	int thread;
	double deadline;
	uint64_t predictions;
	const char *failure;
};

static void *
pipe_run(void *arg)
{
	struct pipe_job *j = arg;
	const uint8_t *frames = pipe_frames[j->thread];
	uint8_t buf[PIPE_DEPTH * PIPE_REP_LEN + 4096];
	size_t have = 0;
	unsigned next_send = 0, next_reply = 0, inflight = PIPE_DEPTH;
	int stopping = 0;

	if (test_send_all(j->fd, frames, (size_t)PIPE_DEPTH * PIPE_REQ_LEN) != 0) {
		j->failure = "send failed";
		return NULL;
	}
	while (inflight > 0) {
		ssize_t n = recv(j->fd, buf + have, sizeof(buf) - have, 0);
		size_t off = 0;
		unsigned done = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			j->failure = "the daemon closed the connection";
			return NULL;
		}
		have += (size_t)n;
		for (;;) {
			struct proto_frame f;
			struct proto_fault fault;
			struct proto_predict_reply r;
			size_t used;
			int rc = proto_parse_reply(buf + off, have - off, &f, &used, &fault);
			if (rc == PROTO_PARSE_NEED_MORE)
				break;
			if (rc != PROTO_PARSE_FRAME || proto_decode_predict_reply(&f, &r) != 0 ||
			    r.count != PIPE_COUNT || f.header.request_id != next_reply + 1) {
				j->failure = "unexpected reply";
				return NULL;
			}
			next_reply = (next_reply + 1) % PIPE_DEPTH;
			j->predictions += r.count;
			off += used;
			done++;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (!stopping && test_now_s() >= j->deadline)
			stopping = 1;
		if (stopping) {
			inflight -= done;
		} else if (done > 0) {
			if (test_send_all(j->fd, frames + (size_t)next_send * PIPE_REQ_LEN,
				     (size_t)done * PIPE_REQ_LEN) != 0) {
				j->failure = "send failed";
				return NULL;
			}
			next_send = (next_send + done) % PIPE_DEPTH;
		}
	}
	return NULL;
}

static void
bench_pipelined(void)
{
	struct pipe_job job[PIPE_THREADS];
	pthread_t th[PIPE_THREADS];
	double rate[PIPE_REPS], dcpu[PIPE_REPS], ccpu[PIPE_REPS];
	uint64_t st = 11;
	int fds[PIPE_THREADS];

	for (int t = 0; t < PIPE_THREADS; t++) {
		pipe_frames[t] = malloc((size_t)2 * PIPE_DEPTH * PIPE_REQ_LEN);
		if (pipe_frames[t] == NULL)
			die("out of memory");
		for (int f = 0; f < 2 * PIPE_DEPTH; f++) {
			int32_t x[PIPE_COUNT * N_FEATURES];
			for (int i = 0; i < PIPE_COUNT; i++)
				fill_features(&st, x + i * N_FEATURES);
			if (proto_encode_predict(pipe_frames[t] + (size_t)f * PIPE_REQ_LEN,
						 PIPE_REQ_LEN, (uint32_t)(f % PIPE_DEPTH) + 1, x,
						 PIPE_COUNT, N_FEATURES) != PIPE_REQ_LEN)
				die("proto_encode_predict: unexpected length");
		}
		fds[t] = test_unix_connect(sock_path);
		if (fds[t] < 0)
			die("cannot connect to the daemon");
	}

	printf("2. pipelined PREDICT: %d connections (one thread each), %d vectors "
	       "a frame (request %d B, reply %d B), %d frames in flight each; "
	       "%d repetitions of %.1f s\n",
	       PIPE_THREADS, PIPE_COUNT, PIPE_REQ_LEN, PIPE_REP_LEN, PIPE_DEPTH, PIPE_REPS,
	       PIPE_SECONDS);
	printf("   %-4s %16s %12s %14s %14s\n", "rep", "predictions/s", "frames/s",
	       "daemon CPU %", "clients CPU %");
	/* the first pass warms up and is not counted */
	for (int r = -1; r < PIPE_REPS; r++) {
		double d0 = proc_cpu_s(daemon_pid), c0 = self_cpu_s();
		double t0 = test_now_s(), secs = r < 0 ? 0.3 : PIPE_SECONDS;
		uint64_t total = 0;
		for (int t = 0; t < PIPE_THREADS; t++) {
			job[t] = (struct pipe_job){fds[t], t, t0 + secs, 0, NULL};
			if (pthread_create(&th[t], NULL, pipe_run, &job[t]) != 0)
				die("pthread_create failed");
		}
		for (int t = 0; t < PIPE_THREADS; t++) {
			pthread_join(th[t], NULL);
			if (job[t].failure)
				die(job[t].failure);
			total += job[t].predictions;
		}
		double el = test_now_s() - t0;
		if (r < 0)
			continue;
		rate[r] = (double)total / el;
		dcpu[r] = 100 * (proc_cpu_s(daemon_pid) - d0) / el;
		ccpu[r] = 100 * (self_cpu_s() - c0) / el;
		printf("   %-4d %16.0f %12.0f %14.0f %14.0f\n", r + 1, rate[r],
		       rate[r] / PIPE_COUNT, dcpu[r], ccpu[r]);
	}
	double m = test_median(rate, PIPE_REPS);
	printf("   %-4s %16.0f %12.0f %14.0f %14.0f\n", "med", m, m / PIPE_COUNT,
	       test_median(dcpu, PIPE_REPS), test_median(ccpu, PIPE_REPS));
	printf("   predictions/s (median) = %.0f (target >= 1,000,000: %s)\n", m,
	       m >= 1e6 ? "met" : "NOT met");
	for (int t = 0; t < PIPE_THREADS; t++) {
		close(fds[t]);
		free(pipe_frames[t]);
	}
}

int
main(void)
{
	char daemon_bin[4096], model[4096];

	snprintf(daemon_bin, sizeof(daemon_bin), "%s/daemon/iolatd", env_or_dot("top_builddir"));
	snprintf(model, sizeof(model), "%s", test_srcdir_file("models/iolat-default-int8.h5"));
	signal(SIGPIPE, SIG_IGN);
	daemon_start(daemon_bin, model);
	printf("iolatd serve (pid %d) on %s, model %s, %ld online CPUs\n", (int)daemon_pid,
	       sock_path, model, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	bench_latency();
	fflush(stdout);
	bench_pipelined();
	daemon_stop();
	return 0;
}
