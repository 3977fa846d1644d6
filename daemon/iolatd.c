/* iolatd: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", cmd_serve, "the daemon: decisions over a Unix socket"},
	{"train", cmd_train, "train the float model on replayed traces"},
	{"calibrate", cmd_calibrate, "record activation ranges and quantize to int8"},
	{"compare", cmd_compare, "float vs int8: decisions, speed, per-layer error"},
	{"predict", cmd_predict, "decide fast/slow for CSV feature vectors with a model file"},
	{"query", cmd_query, "decide fast/slow for CSV feature vectors with a running daemon"},
	{"stats", cmd_stats, "a running daemon's counters: table, JSON or Prometheus"},
	{"reload", cmd_reload, "make a running daemon load its model file again"},
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: iolatd COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'iolatd COMMAND --help' describes each; iolatd(8) has it all.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("iolatd %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "iolatd: unknown command '%s' (try 'iolatd --help')\n", argv[1]);
	return 2;
}
