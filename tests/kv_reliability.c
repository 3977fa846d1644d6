/* libkvclient under failure, end to end: a writer killed with SIGKILL in
 * the middle of a put load, a replica whose directory has become
 * unreadable, the predictor's iolatd killed and restarted under reads,
 * and the closed loop (read log -> iolatd train -> calibrate -> a model
 * kvclient reads with). Every wait has a deadline; nothing sleeps in
 * place of synchronisation. Prints one line per case.
 * usage: kv_reliability IOLATD */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "helpers.h"
#include "kv_helpers.h"
#include "kvclient.h"
#include "trace.h"

#define DEADLINE_MS 60000 /* generous: the sanitizer build is slow */
#define NOBODY 65534
#define KILL_AFTER 2000   /* acknowledged puts before the writer is killed */
#define UNREADABLE_KEYS 1000

static const char *iolatd_bin;
static pid_t driver_pid;
static pid_t daemon_pid = -1;
static char daemon_log[4200];
static int checks;

/* ---- failing, timing --------------------------------------------------- */

/* Copies a log file to stderr, framed. */
static void
print_file(const char *path, const char *title)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (f == NULL)
		return;
	fprintf(stderr, "--- %s:\n", title);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---\n");
	fclose(f);
}

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("kv_reliability: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (getpid() != driver_pid)
		_exit(1);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	if (daemon_log[0])
		print_file(daemon_log, "iolatd's stderr");
	test_tmpdir_remove();
	exit(1);
}

static void
ok(void)
{
	checks++;
}

/* ---- keys and values --------------------------------------------------- */

static size_t
key_of(uint32_t i, char *k, size_t cap)
{
	return (size_t)snprintf(k, cap, "k%08" PRIu32, i);
}

/* 100 bytes or so that differ from key to key */
static size_t
val_of(uint32_t i, char *v, size_t cap)
{
	return (size_t)snprintf(v, cap, "value %" PRIu32 " %0*" PRIu32, i, 80, i * 2654435761u);
}

static kv_t *
open_or_fail(kv_options_t *o, const char *what)
{
	char *err = NULL;
	kv_t *kv = kv_open(o, &err);

	kv_options_destroy(o);
	if (kv == NULL)
		fail("%s: kv_open: %s", what, err ? err : "no message");
	return kv;
}

static void
put_or_fail(kv_t *kv, uint32_t i, const char *what)
{
	char k[32], v[128], *err = NULL;
	size_t kl = key_of(i, k, sizeof(k)), vl = val_of(i, v, sizeof(v));

	if (kv_put(kv, k, kl, v, vl, &err) != 0)
		fail("%s: put %s: %s", what, k, err ? err : "no message");
}

/* Key i must read back with the value put_or_fail gave it. */
static void
get_or_fail(kv_t *kv, uint32_t i, const char *what)
{
	char k[32], v[128], *err = NULL;
	size_t kl = key_of(i, k, sizeof(k)), vl = val_of(i, v, sizeof(v));
	void *got = NULL;
	size_t len = 0;
	int rc = kv_get(kv, k, kl, &got, &len, &err);

	if (rc != 0 || len != vl || memcmp(got, v, vl) != 0)
		fail("%s: get %s: rc %d, %zu bytes, %s", what, k, rc, len,
		     err ? err : "not the value put");
	kv_free(got);
}

static char *
stats_or_fail(kv_t *kv, const char *what)
{
	char *s = kv_stats_json(kv);

	if (s == NULL || !kvt_json_valid(s))
		fail("%s: kv_stats_json is not JSON: %s", what, s ? s : "(NULL)");
	return s;
}

static void
stat_is(const char *json, int replica, const char *name, long long want, const char *what)
{
	long long got = kvt_stat(json, replica, name);

	if (got != want)
		fail("%s: %s of %s%d is %lld, expected %lld\n%s", what, name,
		     replica < 0 ? "the handle " : "replica ", replica, got, want, json);
	ok();
}

/* Python's json module, an independent reader, accepts s (skipped
 * when python3 is absent). */
static void
python_json_or_fail(const char *s, const char *what)
{
	FILE *p = popen("command -v python3 >/dev/null 2>&1 || exit 77; "
			"python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
	int status;

	if (p == NULL)
		fail("%s: popen: %s", what, strerror(errno));
	fputs(s, p);
	status = pclose(p);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("%s: python3's json module rejects kv_stats_json:\n%s", what, s);
	ok();
}

/* Every key [0, n) with its value on each replica under dir, read with
 * the RocksDB C API alone. */
static void
raw_check_or_fail(const char *dir, uint32_t n, const char *what)
{
	for (int r = 0; r < 3; r++) {
		char e[512], k[32], v[128];
		struct kvt_raw *db = kvt_raw_open(kvt_replica_path(dir, r), e, sizeof(e));
		if (db == NULL)
			fail("%s: replica %d: %s", what, r, e);
		for (uint32_t i = 0; i < n; i++) {
			size_t kl = key_of(i, k, sizeof(k)), vl = val_of(i, v, sizeof(v));
			int rc = kvt_raw_get(db, k, kl, v, vl);
			if (rc != 0)
				fail("%s: replica %d, read with RocksDB alone: %s %s", what, r, k,
				     rc == 1 ? "not found" : rc == 2 ? "has another value"
								: "read error");
		}
		kvt_raw_close(db);
		ok();
	}
}

static const char *
case_dir(const char *name)
{
	static char dir[4200];

	snprintf(dir, sizeof(dir), "%s", test_tmp_path(name));
	if (mkdir(dir, 0700) != 0)
		fail("mkdir %s: %s", dir, strerror(errno));
	return dir;
}

/* ---- 1. a writer killed with SIGKILL mid-load -------------------------- */

static void __attribute__((noreturn))
writer(const char *dir, int ack_fd)
{
	kv_options_t *o = kvt_options(dir, "primary");
	char *err = NULL;
	kv_t *kv;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed driver */
	kv = kv_open(o, &err);
	kv_options_destroy(o);
	if (kv == NULL) {
		fprintf(stderr, "writer: kv_open: %s\n", err);
		_exit(1);
	}
	for (uint32_t i = 0; i < 50u * KILL_AFTER; i++) {
		char k[32], v[128];
		size_t kl = key_of(i, k, sizeof(k)), vl = val_of(i, v, sizeof(v));
		if (kv_put(kv, k, kl, v, vl, &err) != 0) {
			fprintf(stderr, "writer: put %s: %s\n", k, err);
			_exit(1);
		}
		/* acknowledged only now that kv_put has returned 0 */
		if (write(ack_fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(1);
	}
	fprintf(stderr, "writer: %u puts and still not killed\n", 50u * KILL_AFTER);
	_exit(1);
}

/* Reads acknowledgements (each the next index) until want of them, or
 * end of file when want is 0. Returns how many there are in all. */
static uint32_t
read_acks(int fd, uint32_t have, uint32_t want, int64_t deadline)
{
	static unsigned char buf[4096];
	static size_t partial;

	while (want == 0 || have < want) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, test_left_ms(deadline)) == 0)
			fail("SIGKILL writer: %u acknowledgements, none more within %d ms", have,
			     DEADLINE_MS);
		ssize_t n = read(fd, buf + partial, sizeof(buf) - partial);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("SIGKILL writer: read: %s", strerror(errno));
		if (n == 0) {
			if (want != 0)
				fail("SIGKILL writer: the writer died after %u puts", have);
			if (partial != 0)
				fail("SIGKILL writer: a torn acknowledgement");
			break;
		}
		partial += (size_t)n;
		size_t whole = partial / 4 * 4;
		for (size_t off = 0; off < whole; off += 4) {
			uint32_t i;
			memcpy(&i, buf + off, 4);
			if (i != have)
				fail("SIGKILL writer: acknowledgement %u after %u", i, have);
			have++;
		}
		memmove(buf, buf + whole, partial - whole);
		partial -= whole;
	}
	return have;
}

static void
case_sigkill_writer(void)
{
	const char *dir = case_dir("kill");
	int64_t t0 = test_now_ms(), deadline = t0 + DEADLINE_MS;
	int fds[2], status;
	uint32_t acked, extra = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		writer(dir, fds[1]);
	}
	close(fds[1]);
	acked = read_acks(fds[0], 0, KILL_AFTER, deadline);
	if (kill(pid, SIGKILL) != 0)
		fail("kill: %s", strerror(errno));
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail("SIGKILL writer: the writer ended by itself (status %d)", status);
	/* acknowledgements written between our read and the kill count too */
	acked = read_acks(fds[0], acked, 0, deadline);
	close(fds[0]);
	ok();

	kv_t *kv = open_or_fail(kvt_options(dir, "primary"), "SIGKILL writer");
	for (uint32_t i = 0; i < acked; i++)
		get_or_fail(kv, i, "SIGKILL writer: after reopening");
	ok();
	/* the put in flight at the kill may or may not be there */
	for (uint32_t i = acked; i < acked + 4; i++) {
		char k[32], *err = NULL;
		void *v = NULL;
		size_t len;
		if (kv_get(kv, k, key_of(i, k, sizeof(k)), &v, &len, &err) == 0)
			extra++;
		kv_free(v);
		kv_free(err);
	}
	kv_close(kv);
	raw_check_or_fail(dir, acked, "SIGKILL writer");
	printf("kv_reliability: SIGKILL writer: killed after %u acknowledged puts; all %u "
	       "readable through kv and found on each of the 3 replicas with RocksDB alone "
	       "(%u unacknowledged put%s also there) (%lld ms)\n",
	       acked, acked, extra, extra == 1 ? "" : "s", (long long)(test_now_ms() - t0));
}

/* ---- 2. a replica whose directory is unreadable ------------------------ */

static int
chown_nobody(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, NOBODY, NOBODY);
}

/* In a child (as nobody when we are root, whom permissions do not stop):
 * reopen with replica 1 unreadable and check everything. Exit status 0
 * passed, 77 the directory was readable after all (cannot test). */
static void __attribute__((noreturn))
unreadable_child(const char *dir)
{
	const char *what = "unreadable replica";
	char r1[4200], *err = NULL, buf[1024];
	long long reads_0_2;

	if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
			       setuid(NOBODY) != 0 || getuid() != NOBODY))
		_exit(77);
	snprintf(r1, sizeof(r1), "%s", kvt_replica_path(dir, 1));
	if (access(r1, R_OK | X_OK) == 0)
		_exit(77);

	kv_options_t *o = kvt_options(dir, "primary");
	kv_t *kv = kv_open(o, &err);
	kv_options_destroy(o);
	if (kv == NULL)
		fail("%s: kv_open refused the degraded store: %s", what, err);
	if (err != NULL)
		fail("%s: kv_open succeeded but set err: %s", what, err);

	for (uint32_t i = 0; i < UNREADABLE_KEYS; i++)
		get_or_fail(kv, i, what);
	char *s = stats_or_fail(kv, what);
	stat_is(s, 1, "reads", 0, what);
	reads_0_2 = kvt_stat(s, 0, "reads") + kvt_stat(s, 2, "reads");
	if (reads_0_2 != UNREADABLE_KEYS)
		fail("%s: replicas 0 and 2 served %lld reads, expected %d", what, reads_0_2,
		     UNREADABLE_KEYS);
	kv_free(s);

	/* a new put: refused with replica 1 named, yet on the two others */
	if (kv_put(kv, "new key", 7, "new value", 9, &err) != -1)
		fail("%s: a put with replica 1 out of service returned success", what);
	if (err == NULL || strstr(err, "replica 1") == NULL || strstr(err, r1) == NULL)
		fail("%s: the put's error does not name replica 1 and %s: %s", what, r1,
		     err ? err : "(none)");
	snprintf(buf, sizeof(buf), "%s", err);
	kv_free(err);
	err = NULL;
	void *v = NULL;
	size_t len = 0;
	if (kv_get(kv, "new key", 7, &v, &len, &err) != 0 || len != 9 ||
	    memcmp(v, "new value", 9) != 0)
		fail("%s: the put that reported replica 1 is not readable: %s", what,
		     err ? err : "");
	kv_free(v);

	s = stats_or_fail(kv, what);
	char state[16], why[600];
	if (kvt_stat_str(s, 1, "state", state, sizeof(state)) != 0 ||
	    strcmp(state, "failed") != 0)
		fail("%s: replica 1 is not \"state\": \"failed\": %s", what, s);
	if (kvt_stat_str(s, 1, "error", why, sizeof(why)) != 0 || strlen(why) == 0)
		fail("%s: replica 1 has no \"error\" string: %s", what, s);
	for (int r = 0; r < 3; r += 2)
		if (kvt_stat_str(s, r, "state", state, sizeof(state)) != 0 ||
		    strcmp(state, "ok") != 0)
			fail("%s: replica %d is not ok: %s", what, r, s);
	python_json_or_fail(s, what);
	printf("kv_reliability: unreadable replica: %d keys read from replicas 0 and 2; "
	       "a put says: %s; stats say: \"state\": \"failed\", \"error\": \"%s\"\n",
	       UNREADABLE_KEYS, buf, why);
	kv_free(s);
	kv_close(kv);
	fflush(NULL);
	_exit(0);
}

static void
case_unreadable_replica(void)
{
	const char *dir = case_dir("unreadable");
	char r1[4200];
	int status, root = geteuid() == 0;
	pid_t pid;

	kv_t *kv = open_or_fail(kvt_options(dir, "primary"), "unreadable replica");
	for (uint32_t i = 0; i < UNREADABLE_KEYS; i++)
		put_or_fail(kv, i, "unreadable replica");
	kv_close(kv);

	snprintf(r1, sizeof(r1), "%s", kvt_replica_path(dir, 1));
	if (root && (nftw(test_tmp_path(""), chown_nobody, 16, FTW_PHYS) != 0))
		fail("chown %s to nobody: %s", test_tmp_path(""), strerror(errno));
	if (chmod(r1, 0) != 0)
		fail("chmod %s: %s", r1, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0)
		unreadable_child(dir);
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	chmod(r1, 0700); /* so that it can be removed */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("kv_reliability: unreadable replica: SKIPPED (%s can read a mode 000 "
		       "directory)\n", root ? "nobody" : "this user");
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("unreadable replica: the check failed (status %d)", status);
	ok();
}

/* ---- 3. iolatd as the predictor, killed and restarted ------------------ */

static void
daemon_start(const char *dir, const char *model)
{
	char conf[4200], sock[4200], e[PROTO_ERRLEN];
	int64_t deadline = test_now_ms() + DEADLINE_MS;
	int fd;

	snprintf(conf, sizeof(conf), "%s/iolatd.conf", dir);
	snprintf(sock, sizeof(sock), "%s/iolatd.sock", dir);
	snprintf(daemon_log, sizeof(daemon_log), "%s/iolatd.log", dir);
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("%s: %s", conf, strerror(errno)); /* hermetic: never /etc/iolatd.conf */
	close(fd);
	fflush(NULL);
	daemon_pid = fork();
	if (daemon_pid < 0)
		fail("fork: %s", strerror(errno));
	if (daemon_pid == 0) {
		int log = open(daemon_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDWR);
		sigset_t none;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(log, 2);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("NOTIFY_SOCKET");
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(iolatd_bin, iolatd_bin, "serve", "-c", conf, "--socket", sock, "--model",
		      model, "--log-level", "info", (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", iolatd_bin, strerror(errno));
		_exit(127);
	}
	/* ready when it answers a PING; between tries, check it is alive */
	for (;;) {
		struct proto_client *c = proto_client_connect(sock, e);
		int rc = c ? proto_client_ping(c) : -1;
		proto_client_close(c);
		if (rc == 0)
			break;
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			fail("iolatd serve exited before answering a PING (see %s)", daemon_log);
		}
		if (test_now_ms() > deadline)
			fail("iolatd serve did not answer a PING within %d ms", DEADLINE_MS);
		poll(NULL, 0, 10); /* a pause between two tries, within the deadline */
	}
}

static void
daemon_kill(void)
{
	kill(daemon_pid, SIGKILL);
	if (waitpid(daemon_pid, NULL, 0) != daemon_pid)
		fail("waitpid iolatd: %s", strerror(errno));
	daemon_pid = -1;
}

/* Reads of one key, each checked; returns the replica that served each
 * in served[] (by the replica read counters). */
static void
reads_of(kv_t *kv, uint32_t key, int n, int *served, const char *what)
{
	for (int i = 0; i < n; i++) {
		char *s = stats_or_fail(kv, what);
		long long before[3];
		for (int r = 0; r < 3; r++)
			before[r] = kvt_stat(s, r, "reads");
		kv_free(s);
		get_or_fail(kv, key, what);
		s = stats_or_fail(kv, what);
		served[i] = -1;
		for (int r = 0; r < 3; r++)
			if (kvt_stat(s, r, "reads") == before[r] + 1)
				served[i] = r;
		kv_free(s);
	}
}

static void
case_daemon_predictor(void)
{
	const char *what = "iolatd predictor";
	const char *dir = case_dir("daemon");
	char slow_model[4200], fast_model[4200], sock[4200], e[512], k[32];
	int64_t t0 = test_now_ms(), deadline;
	int served[16], p, polls = 0;
	long long errors;

	snprintf(slow_model, sizeof(slow_model), "%s/slow.h5", dir);
	snprintf(fast_model, sizeof(fast_model), "%s/fast.h5", dir);
	snprintf(sock, sizeof(sock), "%s/iolatd.sock", dir);
	if (kvt_constant_model(slow_model, 1, e, sizeof(e)) != 0 ||
	    kvt_constant_model(fast_model, 0, e, sizeof(e)) != 0)
		fail("%s: %s", what, e);
	daemon_start(dir, slow_model);

	kv_options_t *o = kvt_options(dir, "predict");
	kv_options_set_daemon_socket(o, sock);
	kv_t *kv = open_or_fail(o, what);
	put_or_fail(kv, 7, what);
	p = kvt_primary(k, key_of(7, k, sizeof(k)));

	/* 8 reads, every replica predicted slow by the daemon: all on the
	 * primary (nobody is passed over), 3 predicted slow each */
	reads_of(kv, 7, 8, served, what);
	for (int i = 0; i < 8; i++)
		if (served[i] != p)
			fail("%s: read %d on replica %d, not the primary %d", what, i + 1,
			     served[i], p);
	char *s = stats_or_fail(kv, what), kind[32];
	if (kvt_stat_str(s, -1, "kind", kind, sizeof(kind)) != 0 || strcmp(kind, "iolatd") != 0 ||
	    strstr(s, "\"connected\": true") == NULL)
		fail("%s: not a connected iolatd predictor: %s", what, s);
	stat_is(s, -1, "model_generation", 1, what);
	stat_is(s, -1, "predicted_slow", 24, what);
	stat_is(s, -1, "predictor_errors", 0, what);
	python_json_or_fail(s, what);
	kv_free(s);

	/* the daemon dies: every read still answers, from the primary, and
	 * each costs one predictor error */
	daemon_kill();
	reads_of(kv, 7, 12, served, what);
	for (int i = 0; i < 12; i++)
		if (served[i] != p)
			fail("%s: read %d after the kill on replica %d, not the primary %d", what,
			     i + 1, served[i], p);
	s = stats_or_fail(kv, what);
	stat_is(s, -1, "predictor_errors", 12, what);
	stat_is(s, -1, "predicted_slow", 24, what);
	if (strstr(s, "\"connected\": false") == NULL)
		fail("%s: still connected after the kill: %s", what, s);
	kv_free(s);

	/* a new daemon (always fast) on the same socket: kvclient reconnects
	 * (at most once a second), and then the reads are predicted again */
	daemon_start(dir, fast_model);
	deadline = test_now_ms() + DEADLINE_MS;
	for (;;) {
		get_or_fail(kv, 7, what);
		s = stats_or_fail(kv, what);
		int back = strstr(s, "\"connected\": true") != NULL;
		errors = kvt_stat(s, -1, "predictor_errors");
		kv_free(s);
		if (back)
			break;
		if (test_now_ms() > deadline)
			fail("%s: no reconnection within %d ms", what, DEADLINE_MS);
		poll(NULL, 0, 20); /* a pause between two reads, within the deadline */
		polls++;
	}
	reads_of(kv, 7, 5, served, what);
	s = stats_or_fail(kv, what);
	stat_is(s, -1, "predictor_errors", errors, what); /* no new ones */
	stat_is(s, -1, "predicted_slow", 24, what);     /* fast model now */
	kv_free(s);
	kv_close(kv);
	daemon_kill();
	printf("kv_reliability: iolatd predictor: 8 reads predicted slow by the daemon, "
	       "then 12 reads with the daemon killed, all answered (12 predictor errors), "
	       "reconnected to a new daemon after %d more reads (%lld ms)\n",
	       polls + 1, (long long)(test_now_ms() - t0));
}

/* ---- 3b. several threads on one daemon connection: pipelined -------- */

#define PIPE_THREADS 4
#define PIPE_READS 500

struct pipe_reader {
	pthread_t thread;
	kv_t *kv;
	int bad;
};

static void *
pipe_reader_run(void *arg)
{
	struct pipe_reader *r = arg;

	for (int i = 0; i < PIPE_READS; i++) {
		char k[32], v[200], *err = NULL;
		void *val = NULL;
		size_t vlen = 0, klen = key_of((uint32_t)(i % 50), k, sizeof(k));
		size_t want = val_of((uint32_t)(i % 50), v, sizeof(v));
		if (kv_get(r->kv, k, klen, &val, &vlen, &err) != 0 || vlen != want ||
		    memcmp(val, v, want) != 0)
			r->bad++;
		kv_free(val);
		kv_free(err);
	}
	return NULL;
}

/* Each read is one PREDICT request: round_trips + pipelined counts them
 * all, and with four threads asking at once some requests must have gone
 * behind another on the one connection. */
static void
case_daemon_pipelined(void)
{
	const char *what = "iolatd predictor, 4 threads";
	const char *dir = case_dir("pipelined");
	char fast_model[4200], sock[4200], e[512];
	struct pipe_reader r[PIPE_THREADS];
	int64_t t0 = test_now_ms();

	snprintf(fast_model, sizeof(fast_model), "%s/fast.h5", dir);
	snprintf(sock, sizeof(sock), "%s/iolatd.sock", dir);
	if (kvt_constant_model(fast_model, 0, e, sizeof(e)) != 0)
		fail("%s: %s", what, e);
	daemon_start(dir, fast_model);
	kv_options_t *o = kvt_options(dir, "predict");
	kv_options_set_daemon_socket(o, sock);
	kv_t *kv = open_or_fail(o, what);
	for (uint32_t i = 0; i < 50; i++)
		put_or_fail(kv, i, what);
	for (int t = 0; t < PIPE_THREADS; t++) {
		r[t].kv = kv;
		r[t].bad = 0;
		if (pthread_create(&r[t].thread, NULL, pipe_reader_run, &r[t]) != 0)
			fail("%s: pthread_create", what);
	}
	for (int t = 0; t < PIPE_THREADS; t++) {
		pthread_join(r[t].thread, NULL);
		if (r[t].bad)
			fail("%s: thread %d: %d reads wrong", what, t, r[t].bad);
	}
	char *s = stats_or_fail(kv, what);
	long long trips = kvt_stat(s, -1, "round_trips"), piped = kvt_stat(s, -1, "pipelined");
	stat_is(s, -1, "predictor_errors", 0, what);
	if (trips + piped != PIPE_THREADS * PIPE_READS)
		fail("%s: %lld round trips + %lld pipelined requests, expected %d requests", what,
		     trips, piped, PIPE_THREADS * PIPE_READS);
	ok();
	if (piped == 0)
		fail("%s: no request went behind another in %d round trips", what, (int)trips);
	ok();
	kv_free(s);
	kv_close(kv);
	daemon_kill();
	printf("kv_reliability: iolatd predictor, %d threads: %d reads right, %lld requests in "
	       "%lld round trips (%lld pipelined behind another) (%lld ms)\n",
	       PIPE_THREADS, PIPE_THREADS * PIPE_READS, trips + piped, trips, piped,
	       (long long)(test_now_ms() - t0));
}

/* ---- 4. closed loop: read log -> train -> calibrate -> read ------------ */

static void
run_or_fail(const char *const *argv, const char *what)
{
	char log[4200];
	int status;
	pid_t pid;

	snprintf(log, sizeof(log), "%s", test_tmp_path("cmd.log"));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_file(log, argv[1]);
		fail("%s: %s %s exited with status %d", what, argv[0], argv[1], status);
	}
	ok();
}

static void
case_closed_loop(void)
{
	const char *what = "closed loop";
	const char *dir = case_dir("loop");
	char prefix[4200], tr[3][4300], fl[4200], rep[4200], tst[4200], q[4200], e[512];
	int64_t t0 = test_now_ms();
	uint64_t st = 42;
	enum { KEYS = 1500, READS = 3000, CHECK_READS = 500 };
	size_t log_reads = 0;

	/* a kv run that logs its I/O */
	snprintf(prefix, sizeof(prefix), "%s/log", dir);
	kv_options_t *o = kvt_options(dir, "primary");
	kv_options_set_read_log(o, prefix);
	kv_t *kv = open_or_fail(o, what);
	for (uint32_t i = 0; i < KEYS; i++)
		put_or_fail(kv, i, what);
	for (int i = 0; i < READS; i++)
		get_or_fail(kv, (uint32_t)(test_rand_u64(&st) % KEYS), what);
	kv_close(kv);

	/* three replayed traces, as the project's reader sees them */
	for (int r = 0; r < 3; r++) {
		struct trace t;
		size_t writes = 0;
		snprintf(tr[r], sizeof(tr[r]), "%s.r%d.trace", prefix, r);
		if (trace_read(tr[r], &t, e, sizeof(e)) != 0)
			fail("%s: the read log does not parse: %s", what, e);
		for (size_t i = 0; i < t.n; i++) {
			if (t.io[i].latency_us == 0)
				fail("%s: %s: line %zu has latency 0", what, tr[r], i + 1);
			writes += t.io[i].io_type == 0;
		}
		if (writes != KEYS || t.n != writes + t.n_reads)
			fail("%s: %s holds %zu writes and %zu reads, expected %d writes", what,
			     tr[r], writes, t.n_reads, KEYS);
		log_reads += t.n_reads;
		trace_free(&t);
	}
	if (log_reads != READS)
		fail("%s: the logs hold %zu reads, expected %d", what, log_reads, READS);
	ok();

	/* train and calibrate on them, small and quick */
	snprintf(fl, sizeof(fl), "%s/float.h5", dir);
	snprintf(rep, sizeof(rep), "%s/rep.h5", dir);
	snprintf(tst, sizeof(tst), "%s/test.h5", dir);
	snprintf(q, sizeof(q), "%s/int8.h5", dir);
	const char *train[] = {iolatd_bin, "train", "--hidden", "16,8", "--epochs", "5",
			       "--qat-epochs", "1", "--out", fl, "--calibration-out", rep,
			       "--test-out", tst, tr[0], tr[1], tr[2], NULL};
	run_or_fail(train, what);
	const char *calibrate[] = {iolatd_bin, "calibrate", "--model", fl, "--data", rep,
				   "--out", q, NULL};
	run_or_fail(calibrate, what);

	/* and read with the model they made */
	o = kvt_options(dir, "predict");
	kv_options_set_model_file(o, q);
	kv = open_or_fail(o, what);
	for (int i = 0; i < CHECK_READS; i++)
		get_or_fail(kv, (uint32_t)(test_rand_u64(&st) % KEYS), what);
	char *s = stats_or_fail(kv, what), model[4200];
	stat_is(s, -1, "reads", CHECK_READS, what);
	stat_is(s, -1, "predictor_errors", 0, what);
	if (kvt_stat_str(s, -1, "model", model, sizeof(model)) != 0 || strcmp(model, q) != 0)
		fail("%s: the predictor is not on %s: %s", what, q, s);
	long long slow = kvt_stat(s, -1, "predicted_slow"), reroutes = kvt_stat(s, -1, "reroutes");
	kv_free(s);
	kv_close(kv);
	printf("kv_reliability: closed loop: %d reads logged, iolatd train and calibrate "
	       "made %s, and %d reads through it all answered (%lld predicted slow, %lld "
	       "rerouted) (%lld ms)\n",
	       READS, "int8.h5", CHECK_READS, slow, reroutes, (long long)(test_now_ms() - t0));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kv_reliability IOLATD\n");
		return 2;
	}
	iolatd_bin = argv[1];
	driver_pid = getpid();
	signal(SIGPIPE, SIG_DFL); /* kvclient must not need it ignored */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_tmpdir_create();
	case_sigkill_writer();
	case_unreadable_replica();
	case_daemon_predictor();
	case_daemon_pipelined();
	case_closed_loop();
	test_tmpdir_remove();
	printf("kv_reliability: %d checks passed\n", checks);
	return 0;
}
