/* iolatd serve: the daemon. Settings from iolatd.conf(5), then flags. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "commands.h"
#include "model_file.h"
#include "predictor.h"
#include "server.h"
#include "svc.h"

#define DEFAULT_CONFIG "/etc/iolatd.conf"

static const char serve_usage[] =
	"usage: iolatd serve [-c FILE] [--socket PATH] [--model FILE] [--log-level L]\n"
	"                    [--socket-mode MODE] [--socket-group NAME]\n"
	"                    [--max-connections N] [--max-output BYTES] [--idle-timeout S]\n"
	"                    [--drain-timeout S]\n"
	"Serves fast/slow decisions over a Unix socket (iolat-protocol(7)), in the\n"
	"foreground. Settings come from the config file (default " DEFAULT_CONFIG ",\n"
	"which may be absent), then from these flags; iolatd.conf(5) has them all.\n"
	"SIGHUP reloads the model; SIGTERM answers what was received and exits.\n"
	"  -c, --config FILE  settings file (must exist when given)\n"
	"  -h, --help         this text\n";

int
cmd_serve(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"model", required_argument, NULL, 'm'},
		{"log-level", required_argument, NULL, 'l'},
		{"socket-mode", required_argument, NULL, 'M'},
		{"socket-group", required_argument, NULL, 'G'},
		{"max-connections", required_argument, NULL, 'C'},
		{"max-output", required_argument, NULL, 'O'},
		{"idle-timeout", required_argument, NULL, 'T'},
		{"drain-timeout", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	char *keys[16], *values[16];
	int n = 0, opt, idx;
	struct cfg c;
	struct predictor p;
	char err[1024];

	while ((opt = getopt_long(argc, argv, "c:h", options, &idx)) != -1) {
		if (opt == 'c') {
			config = optarg;
		} else if (opt == 'h') {
			fputs(serve_usage, stdout);
			return 0;
		} else if (opt == '?' || n == 16) {
			fputs(serve_usage, stderr);
			return 2;
		} else { /* a setting: applied after the file, as its key */
			keys[n] = (char *)options[idx].name;
			values[n++] = optarg;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "iolatd serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	cfg_defaults(&c, MF_DEFAULT_MODEL);
	if (cfg_load(&c, config ? config : DEFAULT_CONFIG, config == NULL, err,
		     sizeof(err)) != 0) {
		fprintf(stderr, "iolatd serve: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof(key), "%s", keys[i]);
		for (char *k = key; *k; k++)
			*k = *k == '-' ? '_' : *k;
		if (cfg_set(&c, key, values[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "iolatd serve: --%s: %s\n", keys[i], err);
			return 2;
		}
	}
	svc_log_level(c.log_level);
	int fd = svc_listen_fd();
	if (fd == -2) {
		svc_log(3, "systemd passed more than one socket");
		return 1;
	}
	if (predictor_open(&p, c.model, err, sizeof(err)) != 0) {
		svc_log(3, "%s", err);
		return 1;
	}
	int status = srv_run(&c, &p, fd, err, sizeof(err));
	if (status != 0)
		svc_log(3, "%s", err);
	predictor_close(&p);
	return status;
}
