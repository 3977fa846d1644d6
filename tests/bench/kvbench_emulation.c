/* The device emulation part of kvbench (kvbench.c says what it does):
 * the logged warm-up, the closed loop's model, the measured phase with
 * every policy side by side, and what its figures mean. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "kvbench.h"

const char *const emu_drive_names[KV_REPLICAS] = {
	"tencent.cut.per_50k.most_rand_iops.537.trace",
	"tencent.cut.per_50k.most_size_thpt.222.trace",
	"tencent.cut.per_50k.rw_60_40.490.trace",
};

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

int
emulation_run(const struct args *a, const struct store *s, const char *dir,
	      struct results *res)
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
	struct emu_pair *pair = NULL;
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
		snprintf(path, sizeof(path), "%s/%s", traces, emu_drive_names[r]);
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
		printf("   replica %d: %s, %zu reads\n", r, emu_drive_names[r], d[r].n);
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
		if (i == 2) { /* hedge: its two reads may race to the hook */
			if ((pair = calloc(n, sizeof(*pair))) == NULL)
				goto out;
			emus[i].pair = pair;
			continue;
		}
		if ((delay[i] = malloc(n * sizeof(uint64_t))) == NULL)
			goto out;
		memset(delay[i], 0xff, n * sizeof(uint64_t));
		emus[i].delay_ns = delay[i];
	}
	emus[0].served = served_p;
	emus[3].served = served_q;
	{
		double t0 = test_now_s();
		printf("   measuring %d policies side by side, %zu reads each...\n", KB_COPIES, n);
		fflush(stdout);
		if (phase_measure(s, emu_specs, KB_COPIES, model, seq, n, emus, res->emu_rows,
				  res->emu_counts, ns_p) != 0)
			goto out;
		printf("   done in %.1f s\n", test_now_s() - t0);
	}
	res->n_emu = KB_COPIES;
	if (diag_model(&res->diag, model, served_p, ns_p, n) != 0)
		goto out;
	diag_routing(&res->diag, &meas, served_p, served_q, n);
	overshoot(delay[0], ns_p, n, &res->overshoot);
	if ((delay[2] = malloc(n * sizeof(uint64_t))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		delay[2][i] = emu_pair_ns(&pair[i]);
	for (int i = 0; i < KB_COPIES; i++)
		row_fill(&res->drive_rows[i], i == 2 ? "hedge*" : emu_specs[i].name, delay[i], n);

	printf("\n== DEVICE EMULATION results (latencies scaled down %gx; us as measured)\n",
	       a->scale);
	table_print(stdout, res->emu_rows, res->n_emu);
	printf("  the same x %g, in drive ms (RocksDB's and the machine's microseconds scaled up "
	       "too):\n", a->scale);
	table_print_ms(stdout, res->emu_rows, res->n_emu, a->scale);
	printf("  the emulated drive latency alone of the replica each read went to (no RocksDB, "
	       "no noise),\n  in drive ms: what the routing achieved. *hedge: from its first "
	       "read reaching a drive to\n  the first answer, its second read counted from "
	       "when it reached its drive (thread\n  wake-ups mostly left out)\n");
	table_print_ms(stdout, res->drive_rows, KB_COPIES, a->scale);
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
	results_target(res, "emulation: predict p95 < primary p95", pre->p95_us < pri->p95_us);
	results_target(res, "emulation: predict p99 < primary p99", pre->p99_us < pri->p99_us);
	results_target(res, "emulation: predict p99.9 < primary p99.9", pre->p999_us < pri->p999_us);
	results_target(res, "emulation: predict avg < hedge avg", pre->avg_us < hed->avg_us);
	results_target(res, "emulation: predict p95 < hedge p95", pre->p95_us < hed->p95_us);
	results_target(res, "emulation: predict p99 < hedge p99", pre->p99_us < hed->p99_us);
	results_target(res, "emulation: predict extra reads < hedge's", pre->extra_pct < hed->extra_pct);
	rc = 0;
out:
	free(seq);
	free(served_p);
	free(served_q);
	free(ns_p);
	for (int i = 0; i < KB_COPIES; i++)
		free(delay[i]);
	free(pair);
	for (int r = 0; r < KV_REPLICAS; r++)
		emu_drive_free(&d[r]);
	return rc;
}
