/* kvbench: libkvclient's read policies side by side on one store, one
 * read sequence, in one run (issue 5).
 *
 * Setup: three RocksDB replicas in a fresh temporary directory, N keys
 * of 16 bytes with values of 100..1000 bytes; one sequence of reads with
 * keys drawn uniformly (fixed seed) that every policy reads in the same
 * order. Every read is checked against the value put. Side by side: each
 * policy has its own handle on its own copy of the store (a RocksDB
 * checkpoint), and read i is done on every handle in turn before read
 * i + 1 (a hedge's slower read awaited), so that a noisy moment of the
 * shared machine falls on every policy alike.
 *
 * 1. Device emulation (default): replica r adds to each real RocksDB
 *    read the latency of one real drive, a replayed trace of
 *    ../shared/data (537 -> replica 0, 222 -> 1, 490 -> 2; reads only),
 *    divided by --scale, and indexed by time: at the benchmark's n-th
 *    read of N, replica r takes read floor(n * len_r / N) of its trace
 *    (kvbench_emu.c). Closed loop: a warm-up under primary, on the first
 *    half of each trace, logs every read (kv_options_set_read_log);
 *    iolatd train and calibrate make an int8 model of the logs; the
 *    measured phase runs on the second half of each trace, so the model
 *    never sees the latencies it is tested on. Policies: primary, random,
 *    hedge, predict (that model, in process), and an oracle bound
 *    (every replica takes the lowest of the three latencies at n).
 * 2. Real mode: the same policies on plain RocksDB reads, then the
 *    in-process predictor's cost per read over primary: blocks of reads
 *    alternating primary and predict on one handle (kvi_set_policy), in
 *    ABBA order, so that a noisy machine's drift cancels.
 *
 * Figures: per policy avg, p50, p95, p99, p99.9 of kv_get's wall time,
 * extra reads (hedge's second reads) and reroutes, as a table and as JSON
 * (stdout, or --json FILE); the targets marked met or NOT met,
 * judged on those wall times. Beside them, to read them by: the emulated
 * drive latency alone of the replica each read went to (what the routing
 * achieved, free of the machine's noise), how far kv_get overshot the
 * emulated delay, the machine's load average, and how the model and the
 * predict policy's reroutes fared on the measured timeline.
 * Paths come from $top_builddir and $top_srcdir ("." by default, as
 * 'make bench' runs in the build tree); without the traces the emulation
 * is skipped with a message.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "helpers.h"
#include "kvbench.h"

/* Sizes: 'make bench' takes about two minutes. The warm-up has as many
 * reads as the measured phase so that a replica's history spans the same
 * stretch of its drive in both (the features the model learns are the
 * features it meets). The training flags were chosen on the --dev
 * timeline only (class weight auto, 2, none; train fraction 0.5, 0.9;
 * two seeds): no class weight gave the lowest p99 and p99.9 of the
 * emulated drive latency, auto the lowest average. */
#define DEF_KEYS 100000
#define DEF_READS 60000
#define DEF_WARMUP 60000
#define DEF_SCALE 10.0
#define DEF_TRAIN_FLAGS "--seed 1 --class-weight none"
#define DEF_REAL_READS 100000
#define DEF_PAIRS 500

static const char usage[] =
	"usage: kvbench [OPTIONS]\n"
	"  --keys N           keys loaded (default 100000)\n"
	"  --reads N          measured reads per policy, emulation (default 60000)\n"
	"  --warmup N         warm-up reads that train the model (default 60000;\n"
	"                     keep it equal to --reads)\n"
	"  --scale S          emulated latencies divided by S (default 10)\n"
	"  --seed N           keys, values and read sequences (default 1)\n"
	"  --train-flags STR  extra iolatd train flags\n"
	"                     (default \"" DEF_TRAIN_FLAGS "\")\n"
	"  --iolatd PATH      (default $top_builddir/daemon/iolatd)\n"
	"  --traces DIR       replayed traces (default $top_srcdir/../shared/data/...)\n"
	"  --dev              tuning timeline: warm-up on the first quarter of each\n"
	"                     trace, measured on the second; reads halved; the\n"
	"                     second half is not touched\n"
	"  --emulation        emulation only;  --real  real mode only\n"
	"  --real-reads N     reads per policy, real mode (default 100000)\n"
	"  --pairs N          primary/predict block pairs, 1000 reads each (default 500)\n"
	"  --model FILE       int8 model for real mode without the closed loop\n"
	"                     (default $top_srcdir/models/iolat-default-int8.h5)\n"
	"  --json FILE        JSON there instead of at the end of stdout\n";

/* The machine's load, printed beside the figures: on a shared machine it
 * says how much of the tail is someone else's. */
static void
print_load(const char *when)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("  load average %s: %s\n", when, buf[0] ? buf : "unknown");
}

static int
parse_size(const char *s, size_t min, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > 100000000ull)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	enum { O_KEYS = 256, O_READS, O_WARMUP, O_SCALE, O_SEED, O_FLAGS, O_IOLATD,
	       O_TRACES, O_DEV, O_EMU, O_REAL, O_REAL_READS, O_PAIRS, O_MODEL, O_JSON };
	static const struct option options[] = {
		{"keys", required_argument, NULL, O_KEYS},
		{"reads", required_argument, NULL, O_READS},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"scale", required_argument, NULL, O_SCALE},
		{"seed", required_argument, NULL, O_SEED},
		{"train-flags", required_argument, NULL, O_FLAGS},
		{"iolatd", required_argument, NULL, O_IOLATD},
		{"traces", required_argument, NULL, O_TRACES},
		{"dev", no_argument, NULL, O_DEV},
		{"emulation", no_argument, NULL, O_EMU},
		{"real", no_argument, NULL, O_REAL},
		{"real-reads", required_argument, NULL, O_REAL_READS},
		{"pairs", required_argument, NULL, O_PAIRS},
		{"model", required_argument, NULL, O_MODEL},
		{"json", required_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t v;
	int opt;

	memset(a, 0, sizeof(*a));
	a->keys = DEF_KEYS;
	a->reads = DEF_READS;
	a->warmup = DEF_WARMUP;
	a->real_reads = DEF_REAL_READS;
	a->pairs = DEF_PAIRS;
	a->scale = DEF_SCALE;
	a->seed = 1;
	a->train_flags = DEF_TRAIN_FLAGS;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case O_KEYS:
			bad = parse_size(optarg, 1, &v) || v > UINT32_MAX;
			a->keys = (uint32_t)v;
			break;
		case O_READS:
			bad = parse_size(optarg, 100, &a->reads);
			break;
		case O_WARMUP:
			bad = parse_size(optarg, 100, &a->warmup);
			break;
		case O_REAL_READS:
			bad = parse_size(optarg, 1, &a->real_reads);
			break;
		case O_PAIRS:
			bad = parse_size(optarg, 2, &a->pairs);
			break;
		case O_SEED:
			bad = parse_size(optarg, 0, &v);
			a->seed = v;
			break;
		case O_SCALE:
			a->scale = strtod(optarg, NULL);
			bad = !(a->scale >= 1.0 && a->scale <= 1e6);
			break;
		case O_FLAGS:
			a->train_flags = optarg;
			break;
		case O_IOLATD:
			a->iolatd = optarg;
			break;
		case O_TRACES:
			a->traces = optarg;
			break;
		case O_DEV:
			a->dev = 1;
			break;
		case O_EMU:
			a->emulation = 1;
			break;
		case O_REAL:
			a->real = 1;
			break;
		case O_MODEL:
			a->model = optarg;
			break;
		case O_JSON:
			a->json = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			bad = 1;
		}
		if (bad) {
			fprintf(stderr, "kvbench: bad option value '%s'\n%s", optarg ? optarg : "",
				usage);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kvbench: unexpected argument '%s'\n%s", argv[optind], usage);
		return -1;
	}
	if (!a->emulation && !a->real)
		a->emulation = a->real = 1;
	return 0;
}

void
results_target(struct results *res, const char *what, int met)
{
	res->targets[res->n_targets].what = what;
	res->targets[res->n_targets++].met = met;
}

int
main(int argc, char **argv)
{
	static struct results res;
	struct args a;
	struct store s;
	char iolatd[4200];
	const char *dir;
	double t0 = test_now_s();
	int rc = 1;

	if (parse_args(argc, argv, &a) != 0)
		return 2;
	if (a.iolatd == NULL) {
		const char *b = getenv("top_builddir");
		snprintf(iolatd, sizeof(iolatd), "%s/daemon/iolatd", b && *b ? b : ".");
		a.iolatd = iolatd;
	}
	/* The emulated delays are slept out (kv_replica.c): a timer slack of
	 * 1 us, not the default 50, keeps the sleeps on time. Threads created
	 * later (RocksDB's, the hedge workers) inherit it. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
	dir = test_tmpdir_create();
	printf("kvbench: %u keys (16-byte keys, 100..1000-byte values) on 3 replicas in %s\n",
	       a.keys, dir);
	fflush(stdout);
	if (store_load(&s, dir, a.keys, a.seed) != 0)
		goto out;
	printf("  loaded in %.1f s\n", test_now_s() - t0);
	print_load("at the start");
	if (a.emulation && emulation_run(&a, &s, dir, &res) != 0)
		goto out;
	if (a.real && real_run(&a, &s, &res) != 0)
		goto out;

	print_load("at the end");
	printf("\n== targets\n");
	for (int i = 0; i < res.n_targets; i++)
		printf("  %-46s %s\n", res.targets[i].what, res.targets[i].met ? "met" : "NOT met");
	printf("kvbench: %.0f s in all\n", test_now_s() - t0);
	if (a.json != NULL) {
		FILE *f = fopen(a.json, "w");
		if (f == NULL) {
			perror(a.json);
			goto out;
		}
		json_print(f, &a, &res);
		fclose(f);
	} else {
		printf("\n== JSON\n");
		json_print(stdout, &a, &res);
	}
	rc = 0;
out:
	store_free(&s);
	test_tmpdir_remove();
	return rc;
}
