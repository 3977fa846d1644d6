/* iolatd query, stats and reload: the command-line clients of a running
 * iolatd serve, speaking wire protocol v1 through proto/client.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "client.h"
#include "commands.h"
#include "csv_features.h"
#include "stats.h"

/* A daemon that makes no progress for this long is given up on. */
#define CLIENT_TIMEOUT_MS 10000
#define TIMEOUT_TEXT "10 seconds"
/* Rows a PREDICT frame carries, and frames sent ahead of their replies. */
#define QUERY_ROWS 64
#define QUERY_WINDOW 32

static const char query_usage[] =
	"usage: iolatd query [--socket PATH] [CSV]\n"
	"Reads one feature vector a line (the daemon's n_features integers,\n"
	"comma separated) from CSV or standard input, asks the running daemon,\n"
	"and prints 'decision,probability' a line (decision 1 = slow).\n"
	"Gives up when the daemon makes no progress for " TIMEOUT_TEXT ".\n"
	"  -s, --socket PATH  the daemon's socket (default " CFG_DEFAULT_SOCKET ")\n"
	"  -h, --help         this text\n";

static const char stats_usage[] =
	"usage: iolatd stats [--socket PATH] [--json | --prometheus]\n"
	"Prints the running daemon's counters and request latency histogram,\n"
	"as a table by default.\n"
	"Gives up when the daemon makes no progress for " TIMEOUT_TEXT ".\n"
	"  -s, --socket PATH  the daemon's socket (default " CFG_DEFAULT_SOCKET ")\n"
	"      --json         the daemon's STATS reply: one JSON object\n"
	"      --prometheus   Prometheus text exposition, metrics iolatd_*\n"
	"  -h, --help         this text\n";

static const char reload_usage[] =
	"usage: iolatd reload [--socket PATH]\n"
	"Asks the running daemon to load its model file again and prints its\n"
	"JSON reply with the new model generation. Only root and the daemon's\n"
	"own user may; when the new model fails to load, the old one is kept.\n"
	"Gives up when the daemon makes no progress for " TIMEOUT_TEXT ".\n"
	"  -s, --socket PATH  the daemon's socket (default " CFG_DEFAULT_SOCKET ")\n"
	"  -h, --help         this text\n";

/* What a client command was asked: its name and usage, the socket, and
 * for stats the output format. */
struct client_args {
	const char *cmd;
	const char *usage;
	const char *socket;
	int json, prometheus;
};

/* Parses --socket and --help, and --json and --prometheus when
 * with_formats; returns -1 to go on, or the exit status. */
static int
client_options(struct client_args *a, int argc, char **argv, int with_formats)
{
	enum { OPT_JSON = 256, OPT_PROMETHEUS };
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, OPT_JSON},
		{"prometheus", no_argument, NULL, OPT_PROMETHEUS},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			a->socket = optarg;
			break;
		case 'h':
			fputs(a->usage, stdout);
			return 0;
		case OPT_JSON:
		case OPT_PROMETHEUS:
			if (with_formats) {
				*(opt == OPT_JSON ? &a->json : &a->prometheus) = 1;
				break;
			}
			/* fall through */
		default:
			fputs(a->usage, stderr);
			return 2;
		}
	}
	if (a->socket[0] == '\0') {
		fprintf(stderr, "iolatd %s: --socket: empty path\n", a->cmd);
		return 2;
	}
	return -1;
}

/* Connects with the finite timeout, or says why not (naming the socket). */
static struct proto_client *
client_open(const struct client_args *a)
{
	char err[PROTO_ERRLEN];
	struct proto_client *c = proto_client_connect(a->socket, err);
	size_t n = strlen(a->socket);

	if (c == NULL) {
		/* The client names the path in most of its messages; not all. */
		if (strncmp(err, a->socket, n) == 0 && err[n] == ':')
			fprintf(stderr, "iolatd %s: %s\n", a->cmd, err);
		else
			fprintf(stderr, "iolatd %s: %s: %s\n", a->cmd, a->socket, err);
		return NULL;
	}
	proto_client_set_timeout(c, CLIENT_TIMEOUT_MS);
	return c;
}

/* The one line for a failed call: an error reply as "error N (name):
 * message", anything else as the client's own words. */
static void
client_fail(const struct client_args *a, struct proto_client *c, int status)
{
	const char *msg = proto_client_error(c);
	uint16_t code = proto_client_server_code(c);

	if (status == PROTO_CLIENT_ERR_SERVER) {
		/* proto_client_error reads "server error N (name): message..." */
		const char *m = strstr(msg, "): ");

		fprintf(stderr, "iolatd %s: %s: error %u (%s): %s\n", a->cmd, a->socket, code,
			proto_error_name(code), m ? m + 3 : msg);
		return;
	}
	fprintf(stderr, "iolatd %s: %s: %s\n", a->cmd, a->socket, msg);
}

static int
finish_stdout(const char *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "iolatd %s: stdout: write error\n", cmd);
		return 1;
	}
	return 0;
}

/* --- query */

/* The value of the "n_features" key of the INFO reply: 1 and up, and
 * narrow enough for a row to fit a frame. Returns 0 or -1. */
static int
info_n_features(const char *json, uint16_t *out)
{
	const char *p = strstr(json, "\"n_features\"");
	char *end;
	unsigned long v;

	if (p == NULL)
		return -1;
	p += strlen("\"n_features\"");
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return -1;
	p += strspn(p, " \t\r\n");
	if (*p < '0' || *p > '9')
		return -1;
	v = strtoul(p, &end, 10);
	if (v == 0 || v > (PROTO_MAX_BODY - 4) / 4 || (*end != ',' && *end != '}' &&
						       strchr(" \t\r\n", *end) == NULL))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Frames sent and not yet answered, oldest first, by their row counts. */
struct inflight {
	uint16_t rows[QUERY_WINDOW];
	unsigned head, n;
};

/* Receives the oldest frame's reply and prints its rows. */
static int
query_receive(const struct client_args *a, struct proto_client *c, struct inflight *q,
	      struct proto_reply *reply)
{
	uint16_t want = q->rows[q->head];
	int r = proto_client_recv(c, reply);

	if (r == PROTO_CLIENT_ERR_SERVER) {
		fprintf(stderr, "iolatd %s: %s: error %u (%s): %s\n", a->cmd, a->socket,
			reply->error_code, proto_error_name(reply->error_code),
			reply->error_message);
		return -1;
	}
	if (r < 0) {
		client_fail(a, c, r);
		return -1;
	}
	if (reply->opcode != PROTO_OP_PREDICT_REPLY || reply->count != want) {
		fprintf(stderr, "iolatd %s: %s: reply 0x%02X with %u predictions to a PREDICT "
				"of %u rows\n",
			a->cmd, a->socket, reply->opcode, reply->count, want);
		return -1;
	}
	for (uint16_t i = 0; i < reply->count; i++)
		printf("%u,%.6f\n", reply->decisions[i], reply->scores[i] / 256.0);
	q->head = (q->head + 1) % QUERY_WINDOW;
	q->n--;
	return 0;
}

/* Sends the rows gathered so far as one frame, first making room in the
 * window by printing the oldest replies. */
static int
query_send(const struct client_args *a, struct proto_client *c, struct inflight *q,
	   struct proto_reply *reply, const int32_t *rows, uint16_t count, uint16_t nf)
{
	int r;

	if (count == 0)
		return 0;
	if (q->n == QUERY_WINDOW && query_receive(a, c, q, reply) < 0)
		return -1;
	if ((r = proto_client_send_predict(c, NULL, rows, count, nf)) < 0 ||
	    (r = proto_client_flush(c)) < 0) {
		client_fail(a, c, r);
		return -1;
	}
	q->rows[(q->head + q->n) % QUERY_WINDOW] = count;
	q->n++;
	return 0;
}

static int
query_stream(const struct client_args *a, struct proto_client *c, uint16_t nf, FILE *in,
	     const char *name)
{
	struct proto_reply *reply = malloc(sizeof(*reply));
	int32_t *rows = malloc((size_t)QUERY_ROWS * nf * sizeof(int32_t));
	struct inflight q = {{0}, 0, 0};
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	uint16_t count = 0;
	char err[256];
	int status = 0, bad_line = 0;

	if (reply == NULL || rows == NULL) {
		fprintf(stderr, "iolatd %s: out of memory\n", a->cmd);
		free(reply);
		free(rows);
		return 1;
	}
	while (getline(&line, &cap, in) != -1) {
		int rc;

		lineno++;
		rc = csv_parse_features(line, rows + (size_t)count * nf, nf, err, sizeof(err));
		if (rc == 1)
			continue;
		if (rc < 0) {
			bad_line = 1;
			break;
		}
		if (++count == QUERY_ROWS) {
			if (query_send(a, c, &q, reply, rows, count, nf) < 0) {
				status = 1;
				break;
			}
			count = 0;
		}
	}
	/* The lines before a bad one are answered before it is reported. */
	if (status == 0 && query_send(a, c, &q, reply, rows, count, nf) < 0)
		status = 1;
	while (status == 0 && q.n > 0)
		if (query_receive(a, c, &q, reply) < 0)
			status = 1;
	if (status == 0 && bad_line) {
		fprintf(stderr, "iolatd %s: %s:%lu: %s\n", a->cmd, name, lineno, err);
		status = 1;
	} else if (status == 0 && ferror(in)) {
		fprintf(stderr, "iolatd %s: %s: read error\n", a->cmd, name);
		status = 1;
	}
	free(line);
	free(rows);
	free(reply);
	return status;
}

int
cmd_query(int argc, char **argv)
{
	struct client_args a = {"query", query_usage, CFG_DEFAULT_SOCKET, 0, 0};
	struct proto_client *c;
	FILE *in = stdin;
	const char *in_name = "<stdin>";
	char *info = NULL;
	uint16_t nf;
	int r, status;

	if ((status = client_options(&a, argc, argv, 0)) >= 0)
		return status;
	if (argc - optind > 1) {
		fprintf(stderr, "iolatd query: one CSV file at most\n");
		return 2;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		in_name = argv[optind];
		in = fopen(in_name, "r");
		if (in == NULL) {
			fprintf(stderr, "iolatd query: %s: %m\n", in_name);
			return 1;
		}
	}
	if ((c = client_open(&a)) == NULL) {
		status = 1;
	} else if ((r = proto_client_info(c, &info)) < 0) {
		client_fail(&a, c, r);
		status = 1;
	} else if (info_n_features(info, &nf) < 0) {
		fprintf(stderr, "iolatd query: %s: INFO reply has no usable \"n_features\"\n",
			a.socket);
		status = 1;
	} else {
		status = query_stream(&a, c, nf, in, in_name);
	}
	free(info);
	proto_client_close(c);
	if (in != stdin)
		fclose(in);
	return finish_stdout("query") ? 1 : status;
}

/* --- stats */

static void
stats_table(const struct stats *s, uint32_t generation)
{
	uint64_t cumulative = 0;

	printf("%-24s %u\n", "model generation", generation);
	printf("%-24s %llu\n", "connections open", (unsigned long long)s->connections_open);
	printf("%-24s %llu\n", "connections total", (unsigned long long)s->connections_total);
	printf("%-24s %llu\n", "request frames", (unsigned long long)s->frames);
	printf("%-24s %llu\n", "predictions", (unsigned long long)s->predictions);
	printf("%-24s %llu\n", "slow predictions", (unsigned long long)s->slow_predictions);
	printf("%-24s %llu\n", "reloads", (unsigned long long)s->reloads);
	printf("%-24s %llu\n", "reload failures", (unsigned long long)s->reload_failures);
	printf("errors\n");
	for (int code = 1; code < STATS_ERROR_CODES; code++)
		printf("  %d %-21s %llu\n", code, proto_error_name((unsigned)code),
		       (unsigned long long)s->errors[code]);
	printf("%-24s %llu", "requests timed", (unsigned long long)s->latency_count);
	if (s->latency_count > 0)
		printf(", mean %.3f us", (double)s->latency_sum_ns / 1e3 / (double)s->latency_count);
	printf("\n");
	/* Only the buckets up to the last one used: the rest add nothing. */
	for (int k = 0; k < STATS_BUCKETS && cumulative < s->latency_count; k++) {
		char bound[32];

		cumulative += s->latency_bucket[k];
		if (k < STATS_BUCKETS - 1)
			snprintf(bound, sizeof(bound), "<= %llu us",
				 (unsigned long long)stats_bucket_bound_us(k));
		else
			snprintf(bound, sizeof(bound), "> %llu us",
				 (unsigned long long)stats_bucket_bound_us(k - 1));
		printf("  %-22s %llu (%.1f%% cumulative)\n", bound,
		       (unsigned long long)s->latency_bucket[k],
		       100.0 * (double)cumulative / (double)s->latency_count);
	}
}

int
cmd_stats(int argc, char **argv)
{
	struct client_args a = {"stats", stats_usage, CFG_DEFAULT_SOCKET, 0, 0};
	struct proto_client *c;
	struct stats s;
	uint32_t generation;
	char *json = NULL;
	int r, status;

	if ((status = client_options(&a, argc, argv, 1)) >= 0)
		return status;
	if (a.json && a.prometheus) {
		fprintf(stderr, "iolatd stats: --json and --prometheus exclude each other\n");
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "iolatd stats: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if ((c = client_open(&a)) == NULL)
		return 1;
	status = 1;
	if ((r = proto_client_stats(c, &json)) < 0) {
		client_fail(&a, c, r);
	} else if (a.json) {
		/* As received: a newer daemon's extra keys pass through. */
		printf("%s\n", json);
		status = 0;
	} else if (stats_parse_json(json, strlen(json), &s, &generation) < 0) {
		fprintf(stderr, "iolatd stats: %s: STATS reply is not in the expected format "
				"(try --json)\n",
			a.socket);
	} else if (a.prometheus) {
		size_t cap = 16384;
		char *text = malloc(cap);
		int n = text ? stats_prometheus(&s, generation, text, cap) : -1;

		if (n < 0) {
			fprintf(stderr, "iolatd stats: cannot render the exposition\n");
		} else {
			fwrite(text, 1, (size_t)n, stdout);
			status = 0;
		}
		free(text);
	} else {
		stats_table(&s, generation);
		status = 0;
	}
	free(json);
	proto_client_close(c);
	return finish_stdout("stats") ? 1 : status;
}

/* --- reload */

int
cmd_reload(int argc, char **argv)
{
	struct client_args a = {"reload", reload_usage, CFG_DEFAULT_SOCKET, 0, 0};
	struct proto_client *c;
	char *json = NULL;
	int r, status;

	if ((status = client_options(&a, argc, argv, 0)) >= 0)
		return status;
	if (optind < argc) {
		fprintf(stderr, "iolatd reload: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if ((c = client_open(&a)) == NULL)
		return 1;
	if ((r = proto_client_reload(c, &json)) < 0) {
		client_fail(&a, c, r);
		status = 1;
	} else {
		printf("%s\n", json);
		status = 0;
	}
	free(json);
	proto_client_close(c);
	return finish_stdout("reload") ? 1 : status;
}
