/* The closed loop's model: iolatd train on the warm-up's read logs, then
 * iolatd calibrate, run as an operator would run them (fork and exec of
 * the built binary), timed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "kvbench.h"

#define MAX_ARGS 64

/* Runs argv, the command line (for the record) in cmd; seconds taken or
 * -1 when it failed. */
static double
run(char *const argv[], char *cmd, size_t cmdlen)
{
	size_t n = 0;
	double t0 = test_now_s();
	int status;
	pid_t pid;

	cmd[0] = '\0';
	for (int i = 0; argv[i] && n < cmdlen; i++)
		n += (size_t)snprintf(cmd + n, cmdlen - n, "%s%s", i ? " " : "", argv[i]);
	printf("  $ %s\n", cmd);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "kvbench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "kvbench: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "kvbench: waitpid: %s\n", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "kvbench: %s failed (status %d)\n", argv[0], status);
		return -1;
	}
	return test_now_s() - t0;
}

int
train_model(const char *iolatd, const char *dir, const char *log_prefix, const char *flags,
	    struct train_run *t, char *model_out, size_t outlen)
{
	char fl[1024], fm[4200], rep[4200], logs[KV_REPLICAS][4200], *save = NULL;
	char *argv[MAX_ARGS];
	int n = 0;

	snprintf(fl, sizeof(fl), "%s", flags ? flags : "");
	snprintf(fm, sizeof(fm), "%s/model-float.h5", dir);
	snprintf(rep, sizeof(rep), "%s/calibration.h5", dir);
	snprintf(model_out, outlen, "%s/model-int8.h5", dir);
	argv[n++] = (char *)iolatd;
	argv[n++] = "train";
	for (char *tok = strtok_r(fl, " ", &save); tok && n < MAX_ARGS - 12;
	     tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	argv[n++] = "--out";
	argv[n++] = fm;
	argv[n++] = "--calibration-out";
	argv[n++] = rep;
	for (int r = 0; r < KV_REPLICAS; r++) {
		snprintf(logs[r], sizeof(logs[r]), "%s.r%d.trace", log_prefix, r);
		argv[n++] = logs[r];
	}
	argv[n] = NULL;
	if ((t->train_s = run(argv, t->train_cmd, sizeof(t->train_cmd))) < 0)
		return -1;
	printf("    (%.1f s)\n", t->train_s);

	char *cargv[] = {(char *)iolatd, "calibrate", "--model", fm, "--data", rep,
			 "--out", model_out, NULL};
	if ((t->calib_s = run(cargv, t->calib_cmd, sizeof(t->calib_cmd))) < 0)
		return -1;
	printf("    (%.1f s)\n", t->calib_s);
	return 0;
}
