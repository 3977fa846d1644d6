/* kvbench: libkvclient's read policies side by side on one store, one
 * read sequence, in one run (issue 5).
 *
 * Setup: three RocksDB replicas in a fresh temporary directory, N keys
 * of 16 bytes with values of 100..1000 bytes; one sequence of reads with
 * keys drawn uniformly (fixed seed) that every policy reads in the same
 * order. Every read is checked against the value put.
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

static const char *const drive_names[KV_REPLICAS] = {
	"tencent.cut.per_50k.most_rand_iops.537.trace",
	"tencent.cut.per_50k.most_size_thpt.222.trace",
	"tencent.cut.per_50k.rw_60_40.490.trace",
};

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
#define DEF_BLOCK 1000
#define DEF_PAIRS 500
#define OVERHEAD_TARGET_NS 500.0

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

struct args {
	uint32_t keys;
	size_t reads, warmup, real_reads, pairs;
	double scale;
	uint64_t seed;
	const char *train_flags, *iolatd, *traces, *json, *model;
	int dev, emulation, real;
};

struct target {
	const char *what;
	int met;
};

/* What one run found, for the JSON at the end. */
struct results {
	int emulated, real;
	struct row emu_rows[KB_COPIES], drive_rows[KB_COPIES - 1], real_rows[4];
	int n_emu, n_real;
	struct row warm, overshoot;
	struct train_run train;
	struct diag diag;
	struct kv_counts emu_counts[6];
	struct overhead oh;
	char real_model[4200];
	struct target targets[8];
	int n_targets;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

static void
add_target(struct results *res, const char *what, int met)
{
	res->targets[res->n_targets].what = what;
	res->targets[res->n_targets++].met = met;
}

/* A policy of a measured phase: the library's, or the oracle (primary
 * routing, every replica taking the lowest emulated latency at n). */
struct spec {
	const char *name, *policy;
	int oracle;
};

/* One measured phase: every spec on its own copy of the store and a fresh
 * handle, side by side on one sequence. Fills rows and counts, and ns0
 * (if not NULL) with the first lane's times in read order. With emus,
 * lane i runs on emus[i] (the caller may set served and delay_ns there). */
static int
measure(const struct store *s, const struct spec *sp, int n_sp, const char *model,
	const uint32_t *seq, size_t n, struct emu *emus, struct row *rows,
	struct kv_counts *counts, uint64_t *ns0)
{
	struct lane lanes[KB_COPIES];
	int rc = -1, i;

	memset(lanes, 0, sizeof(lanes));
	for (i = 0; i < n_sp; i++) {
		int pred = strcmp(sp[i].policy, "predict") == 0;
		lanes[i].ns = malloc(n * sizeof(uint64_t));
		lanes[i].kv = store_open(s, i, sp[i].policy, pred ? model : NULL, NULL);
		if (lanes[i].ns == NULL || lanes[i].kv == NULL)
			goto out;
		if (emus != NULL) {
			lanes[i].e = &emus[i];
			emus[i].oracle = sp[i].oracle;
			kvi_set_delay(lanes[i].kv, emu_delay, &emus[i]);
		}
	}
	if (lanes_run(lanes, n_sp, s, seq, n) != 0)
		goto out;
	if (ns0 != NULL)
		memcpy(ns0, lanes[0].ns, n * sizeof(uint64_t));
	for (i = 0; i < n_sp; i++) {
		kv_counts_get(lanes[i].kv, &counts[i]);
		row_fill(&rows[i], sp[i].name, lanes[i].ns, n);
		rows[i].extra_pct = 100.0 * (double)counts[i].hedges / (double)n;
		rows[i].reroute_pct = 100.0 * (double)counts[i].reroutes / (double)n;
	}
	rc = 0;
out:
	for (i = 0; i < n_sp; i++) {
		if (lanes[i].kv != NULL)
			kv_close(lanes[i].kv);
		free(lanes[i].ns);
	}
	return rc;
}

/* The warm-up: primary on copy 0, every read logged under prefix. */
static int
warm_up(const struct args *a, const struct store *s, struct emu *warm, size_t w,
	const char *prefix, struct row *row)
{
	struct lane l = {NULL, warm, NULL};
	uint32_t *seq = store_sequence(s, w, a->seed + 1);
	int rc = -1;

	l.ns = malloc(w * sizeof(uint64_t));
	l.kv = store_open(s, 0, "primary", NULL, prefix);
	if (seq != NULL && l.ns != NULL && l.kv != NULL) {
		kvi_set_delay(l.kv, emu_delay, warm);
		rc = lanes_run(&l, 1, s, seq, w);
	}
	if (l.kv != NULL)
		kv_close(l.kv); /* flushes the logs */
	if (rc == 0)
		row_fill(row, "primary", l.ns, w);
	free(l.ns);
	free(seq);
	return rc;
}

/* How far the emulation overshot: kv_get's time minus the delay asked
 * for, on the primary lane (RocksDB's read, the library, the sleep's
 * lateness and the machine's noise). ns is consumed. */
static void
overshoot(const uint64_t *delay, uint64_t *ns, size_t n, struct row *o)
{
	for (size_t i = 0; i < n; i++)
		ns[i] = ns[i] > delay[i] ? ns[i] - delay[i] : 0;
	row_fill(o, "overshoot", ns, n);
}

static const struct spec emu_specs[] = {
	{"primary", "primary", 0}, {"random", "random", 0}, {"hedge", "hedge", 0},
	{"predict", "predict", 0}, {"oracle", "primary", 1},
};

static int
emulation(const struct args *a, const struct store *s, const char *dir, struct results *res)
{
	struct emu_drive d[KV_REPLICAS];
	struct emu warm, meas, emus[KB_COPIES];
	char err[512], prefix[4200], model[4200];
	const char *traces = a->traces ? a->traces : test_data_dir();
	/* --dev: first quarter / second quarter; default: first / second half */
	double cut = a->dev ? 0.25 : 0.5;
	size_t n = a->dev ? a->reads / 2 : a->reads, w = a->dev ? a->warmup / 2 : a->warmup;
	int8_t *served_p = NULL, *served_q = NULL;
	uint64_t *ns_p = NULL, *delay[KB_COPIES] = {NULL};
	uint32_t *seq = NULL;
	int rc = -1;

	if (traces == NULL) {
		printf("== device emulation: skipped: ../shared/data/traces/replayed not found "
		       "(set IOLAT_DATA or --traces)\n");
		return 0;
	}
	memset(d, 0, sizeof(d));
	for (int r = 0; r < KV_REPLICAS; r++) {
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", traces, drive_names[r]);
		if (emu_drive_load(path, &d[r], err, sizeof(err)) != 0) {
			fprintf(stderr, "kvbench: %s\n", err);
			goto out;
		}
	}
	res->emulated = 1;
	printf("== DEVICE EMULATION (not real devices): each replica adds to its real RocksDB "
	       "read\n   the latency of one replayed drive trace, divided by %g, indexed by "
	       "time\n",
	       a->scale);
	for (int r = 0; r < KV_REPLICAS; r++)
		printf("   replica %d: %s, %zu reads\n", r, drive_names[r], d[r].n);
	printf("   at read n of N, replica r takes trace read floor(n * len_r / N) of its slice\n"
	       "   warm-up (logged, trains the model): reads [0, %.2f) of each trace, %zu reads, "
	       "primary\n   measured: reads [%.2f, %.2f) of each trace, %zu reads per policy: "
	       "the model never\n   sees the latencies it is tested on%s\n",
	       cut, w, cut, 2 * cut, n,
	       a->dev ? "\n   --dev: a TUNING run; the second half of the traces is not used" : "");

	/* warm-up and the closed loop */
	emu_timeline(&warm, d, 0, cut, w, a->scale);
	emu_timeline(&meas, d, cut, 2 * cut, n, a->scale);
	snprintf(prefix, sizeof(prefix), "%s/warmup", dir);
	if (warm_up(a, s, &warm, w, prefix, &res->warm) != 0)
		goto out;
	printf("   warm-up done: avg %.1f us, p99 %.1f us; training on its logs:\n",
	       res->warm.avg_us, res->warm.p99_us);
	if (train_model(a->iolatd, dir, prefix, a->train_flags, &res->train, model,
			sizeof(model)) != 0)
		goto out;
	snprintf(res->real_model, sizeof(res->real_model), "%s", model);
	if (diag_thresholds(&res->diag, prefix) != 0)
		goto out;

	/* the measured phase: every policy side by side on one sequence */
	seq = store_sequence(s, n, a->seed + 2);
	served_p = malloc(n);
	served_q = malloc(n);
	ns_p = malloc(n * sizeof(*ns_p));
	if (seq == NULL || served_p == NULL || served_q == NULL || ns_p == NULL)
		goto out;
	memset(served_p, -1, n);
	memset(served_q, -1, n);
	for (int i = 0; i < KB_COPIES; i++) {
		emus[i] = meas;
		if (i == 2) /* hedge */
			continue;
		if ((delay[i] = malloc(n * sizeof(uint64_t))) == NULL)
			goto out;
		memset(delay[i], 0xff, n * sizeof(uint64_t));
		emus[i].delay_ns = delay[i];
	}
	emus[0].served = served_p;
	emus[3].served = served_q;
	{
		double t0 = now_s();
		printf("   measuring %d policies side by side, %zu reads each...\n", KB_COPIES, n);
		fflush(stdout);
		if (measure(s, emu_specs, KB_COPIES, model, seq, n, emus, res->emu_rows,
			    res->emu_counts, ns_p) != 0)
			goto out;
		printf("   done in %.1f s\n", now_s() - t0);
	}
	res->n_emu = KB_COPIES;
	if (diag_model(&res->diag, model, served_p, ns_p, n) != 0)
		goto out;
	diag_routing(&res->diag, &meas, served_p, served_q, n);
	overshoot(delay[0], ns_p, n, &res->overshoot);
	for (int i = 0, k = 0; i < KB_COPIES; i++)
		if (delay[i] != NULL)
			row_fill(&res->drive_rows[k++], emu_specs[i].name, delay[i], n);

	printf("\n== DEVICE EMULATION results (latencies scaled down %gx; us as measured)\n",
	       a->scale);
	table_print(stdout, res->emu_rows, res->n_emu);
	printf("  the same x %g, in drive ms (RocksDB's and the machine's microseconds scaled up "
	       "too):\n", a->scale);
	table_print_ms(stdout, res->emu_rows, res->n_emu, a->scale);
	printf("  the emulated drive latency alone of the replica each read went to (no RocksDB, "
	       "no noise;\n  hedge's n/a: its two reads race), in drive ms: what the routing "
	       "achieved\n");
	table_print_ms(stdout, res->drive_rows, KB_COPIES - 1, a->scale);
	printf("  reference (issue 5, a float-model simulation, unscaled ms): primary 1.81 / "
	       "p99 5.72 / p99.9 10.67;\n  hedge 1.79 / 5.32 / 6.29, 4.9%% extra; predict 1.40 / "
	       "3.98 / 6.83; oracle 0.92 / 2.63 / 3.61\n");
	const struct kv_counts *hc = &res->emu_counts[2], *pc = &res->emu_counts[3];
	printf("  hedge: %llu second reads, %llu of them won; predict: %llu predicted slow, "
	       "%llu probes\n  (KV_PROBE_AFTER %d), %llu predictor errors\n",
	       (unsigned long long)hc->hedges, (unsigned long long)hc->hedge_wins,
	       (unsigned long long)pc->predicted_slow, (unsigned long long)pc->probes,
	       KV_PROBE_AFTER, (unsigned long long)pc->predictor_errors);
	diag_print(stdout, &res->diag);
	printf("  emulation fidelity: kv_get's time minus the emulated delay, primary: avg %.1f, "
	       "p50 %.1f,\n  p99 %.1f, p99.9 %.1f us (the real read, the library, a late "
	       "wake-up, the machine's noise)\n",
	       res->overshoot.avg_us, res->overshoot.p50_us, res->overshoot.p99_us,
	       res->overshoot.p999_us);

	const struct row *pri = &res->emu_rows[0], *hed = &res->emu_rows[2],
			 *pre = &res->emu_rows[3];
	add_target(res, "emulation: predict p95 < primary p95", pre->p95_us < pri->p95_us);
	add_target(res, "emulation: predict p99 < primary p99", pre->p99_us < pri->p99_us);
	add_target(res, "emulation: predict p99.9 < primary p99.9", pre->p999_us < pri->p999_us);
	add_target(res, "emulation: predict avg < hedge avg", pre->avg_us < hed->avg_us);
	add_target(res, "emulation: predict p95 < hedge p95", pre->p95_us < hed->p95_us);
	add_target(res, "emulation: predict p99 < hedge p99", pre->p99_us < hed->p99_us);
	add_target(res, "emulation: predict extra reads < hedge's", pre->extra_pct < hed->extra_pct);
	rc = 0;
out:
	free(seq);
	free(served_p);
	free(served_q);
	free(ns_p);
	for (int i = 0; i < KB_COPIES; i++)
		free(delay[i]);
	for (int r = 0; r < KV_REPLICAS; r++)
		emu_drive_free(&d[r]);
	return rc;
}

static const struct spec real_specs[] = {
	{"primary", "primary", 0}, {"random", "random", 0}, {"hedge", "hedge", 0},
	{"predict", "predict", 0},
};

static int
real_mode(const struct args *a, const struct store *s, struct results *res)
{
	static const struct spec untimed[] = {
		{"primary", "primary", 0}, {"primary", "primary", 0}, {"primary", "primary", 0},
		{"primary", "primary", 0},
	};
	uint32_t *seq = store_sequence(s, a->real_reads, a->seed + 3);
	const char *model = res->real_model;
	struct kv_counts c[4];
	struct row rows[4];
	char def[4200];
	kv_t *kv;
	int rc = -1;

	if (model[0] == '\0') {
		const char *src = getenv("top_srcdir");
		snprintf(def, sizeof(def), "%s/models/iolat-default-int8.h5",
			 src && *src ? src : ".");
		snprintf(res->real_model, sizeof(res->real_model), "%s", a->model ? a->model : def);
	}
	printf("\n== REAL MODE: plain RocksDB reads (page cache), no emulation; %zu reads per "
	       "policy,\n   side by side; predict's model: %s\n",
	       a->real_reads, model);
	if (seq == NULL)
		return -1;
	/* one untimed pass, so that no policy pays for cold caches */
	if (measure(s, untimed, 4, NULL, seq, a->real_reads, NULL, rows, c, NULL) != 0 ||
	    measure(s, real_specs, 4, model, seq, a->real_reads, NULL, res->real_rows, c,
		    NULL) != 0)
		goto out;
	res->n_real = 4;
	table_print(stdout, res->real_rows, 4);
	printf("  hedge's second reads: %llu; predict's reroutes: %llu\n",
	       (unsigned long long)c[2].hedges, (unsigned long long)c[3].reroutes);

	if ((kv = store_open(s, 0, "predict", model, NULL)) == NULL)
		goto out;
	rc = overhead_run(kv, s, seq, a->real_reads, DEF_BLOCK, a->pairs, &res->oh);
	kv_close(kv);
	if (rc != 0)
		goto out;
	res->real = 1;
	printf("  the in-process predictor's cost per read over primary (%zu pairs of %zu-read "
	       "blocks,\n  alternating on one handle, ABBA): primary %.0f ns, predict %.0f ns "
	       "per read;\n  difference of averages %.0f ns +- %.0f (95%% CI), ratio %.3f; "
	       "median of the pairs' differences %.0f ns\n",
	       res->oh.pairs, res->oh.block, res->oh.primary_ns, res->oh.predict_ns,
	       res->oh.diff_ns, res->oh.ci95_ns, res->oh.predict_ns / res->oh.primary_ns,
	       res->oh.median_diff_ns);
	add_target(res, "real: predictor adds <= 0.5 us per read",
		   res->oh.diff_ns <= OVERHEAD_TARGET_NS);
out:
	free(seq);
	return rc;
}

static void
json_rows(FILE *f, const struct row *rows, int n)
{
	fprintf(f, "[");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		row_json(f, &rows[i]);
	}
	fprintf(f, "]");
}

/* A string without quotes or backslashes, as the paths and commands are
 * here; others are replaced, not escaped (a report, not an interchange). */
static void
json_plain(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '?' : *s, f);
	fputc('"', f);
}

static void
json_print(FILE *f, const struct args *a, const struct results *res)
{
	fprintf(f, "{\"keys\": %u, \"seed\": %llu", a->keys, (unsigned long long)a->seed);
	if (res->emulated) {
		fprintf(f, ",\n \"emulation\": {\"label\": \"device emulation, not real devices\", "
			"\"scale\": %g, \"timeline\": \"%s\", \"reads\": %zu, \"warmup_reads\": %zu,"
			"\n  \"traces\": [\"%s\", \"%s\", \"%s\"],\n  \"train\": {\"command\": ",
			a->scale, a->dev ? "dev: warm-up [0,0.25), measured [0.25,0.5)"
					 : "warm-up [0,0.5), measured [0.5,1)",
			a->dev ? a->reads / 2 : a->reads, a->dev ? a->warmup / 2 : a->warmup,
			drive_names[0], drive_names[1], drive_names[2]);
		json_plain(f, res->train.train_cmd);
		fprintf(f, ", \"seconds\": %.2f}, \"calibrate\": {\"command\": ", res->train.train_s);
		json_plain(f, res->train.calib_cmd);
		fprintf(f, ", \"seconds\": %.2f},\n  \"policies\": ", res->train.calib_s);
		json_rows(f, res->emu_rows, res->n_emu);
		fprintf(f, ",\n  \"drive_only_scaled\": ");
		json_rows(f, res->drive_rows, KB_COPIES - 1);
		fprintf(f, ",\n  \"hedged_reads\": %llu, \"hedge_wins\": %llu, \"predicted_slow\": %llu,"
			" \"probes\": %llu, \"probe_after\": %d,\n  \"diagnosis\": ",
			(unsigned long long)res->emu_counts[2].hedges,
			(unsigned long long)res->emu_counts[2].hedge_wins,
			(unsigned long long)res->emu_counts[3].predicted_slow,
			(unsigned long long)res->emu_counts[3].probes, KV_PROBE_AFTER);
		diag_json(f, &res->diag);
		fprintf(f, ",\n  \"warmup\": ");
		row_json(f, &res->warm);
		fprintf(f, ",\n  \"overshoot\": ");
		row_json(f, &res->overshoot);
		fprintf(f, "}");
	}
	if (res->real) {
		fprintf(f, ",\n \"real\": {\"model\": ");
		json_plain(f, res->real_model);
		fprintf(f, ", \"policies\": ");
		json_rows(f, res->real_rows, res->n_real);
		fprintf(f, ",\n  \"predictor_overhead\": {\"pairs\": %zu, \"block\": %zu, "
			"\"primary_ns\": %.1f, \"predict_ns\": %.1f, \"diff_ns\": %.1f, "
			"\"ci95_ns\": %.1f, \"median_diff_ns\": %.1f, \"ratio\": %.4f, "
			"\"target_ns\": %.0f}}",
			res->oh.pairs, res->oh.block, res->oh.primary_ns, res->oh.predict_ns,
			res->oh.diff_ns, res->oh.ci95_ns, res->oh.median_diff_ns,
			res->oh.predict_ns / res->oh.primary_ns, OVERHEAD_TARGET_NS);
	}
	fprintf(f, ",\n \"targets\": [");
	for (int i = 0; i < res->n_targets; i++)
		fprintf(f, "%s\n  {\"target\": \"%s\", \"met\": %s}", i ? "," : "",
			res->targets[i].what, res->targets[i].met ? "true" : "false");
	fprintf(f, "]}\n");
}

int
main(int argc, char **argv)
{
	static struct results res;
	struct args a;
	struct store s;
	char iolatd[4200];
	const char *dir;
	double t0 = now_s();
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
	printf("  loaded in %.1f s\n", now_s() - t0);
	print_load("at the start");
	if (a.emulation && emulation(&a, &s, dir, &res) != 0)
		goto out;
	if (a.real && real_mode(&a, &s, &res) != 0)
		goto out;

	print_load("at the end");
	printf("\n== targets\n");
	for (int i = 0; i < res.n_targets; i++)
		printf("  %-46s %s\n", res.targets[i].what, res.targets[i].met ? "met" : "NOT met");
	printf("kvbench: %.0f s in all\n", now_s() - t0);
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
