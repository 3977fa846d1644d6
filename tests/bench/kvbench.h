/* kvbench's parts: the emulated drives (kvbench_emu.c), the store and its
 * timed read phases (kvbench_store.c), iolatd train and calibrate
 * (kvbench_train.c), the figures (kvbench_report.c) and what they mean
 * for the predict policy (kvbench_diag.c). kvbench.c runs them. */
#ifndef KVBENCH_H
#define KVBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kv_internal.h"

/* --- kvbench_emu.c: device emulation -------------------------------- */

/* The drives: a replayed trace per replica, in ../shared/data. */
extern const char *const emu_drive_names[KV_REPLICAS];

/* One replica's drive: the latencies (us) of a replayed trace's reads
 * (io_type 1), in trace order. */
struct emu_drive {
	char path[4096];
	uint32_t *lat;
	size_t n;
};

/* A timeline over `total` benchmark reads: at read n, replica r takes
 * read floor(n * len[r] / total) of its slice lat[r][0..len[r]), divided
 * by scale. The drive's latency is a function of time, not of how many
 * reads the replica served (issue 5), so a read routed away from a slow
 * period avoids it. */
struct emu {
	const uint32_t *lat[KV_REPLICAS];
	size_t len[KV_REPLICAS];
	uint64_t total;
	uint64_t n;       /* the current read: set by the benchmark, read by the hook */
	double scale;
	int oracle;       /* every replica takes the lowest of the three at n */
	/* If set (not for hedge, whose two reads may race): the replica the
	 * read at n went to (-1 before) and the delay it took (UINT64_MAX
	 * before). */
	int8_t *served;
	uint64_t *delay_ns;
	/* If set (for hedge): the first two reads at each n, in the order
	 * they reached the drive. */
	struct emu_pair *pair;
	unsigned reads_at_n; /* reads that have reached the drive at the current n */
};

struct emu_pair {
	uint64_t delay[2]; /* ns */
	uint64_t at[2];    /* when it reached the drive, CLOCK_MONOTONIC ns */
	unsigned count;
};

int emu_drive_load(const char *path, struct emu_drive *d, char *err, size_t errlen);
void emu_drive_free(struct emu_drive *d);
/* The slice [from, to) (fractions of the reads) of each drive. */
void emu_timeline(struct emu *e, const struct emu_drive *d, double from, double to,
		  uint64_t total, double scale);
/* The drive's time of a hedged read at n: from the first read reaching
 * its drive to the first answer, thread wake-ups left out. */
uint64_t emu_pair_ns(const struct emu_pair *p);
/* Unscaled latency (us) of replica r at read n. */
uint32_t emu_us(const struct emu *e, int r, uint64_t n);
void emu_set(struct emu *e, uint64_t n);
/* The kvi_delay_fn: ns to add to a read of replica r now. */
uint64_t emu_delay(void *ctx, int r);

/* --- kvbench_store.c: the replicas, their keys, timed read phases ---- */

#define KB_KEY_LEN 16
#define KB_COPIES 5 /* policies that run side by side, one copy of the store each */

/* The store, loaded once and copied (RocksDB checkpoints: hard links to
 * the same files), because RocksDB opens a database once per process and
 * the policies run at the same time, each on its own handle. */
struct store {
	char path[KB_COPIES][KV_REPLICAS][4200];
	uint32_t n_keys;
	uint16_t *vlen; /* value length of each key */
};

/* Creates the replicas under dir, puts n_keys keys (16 bytes) with
 * values of 100..1000 bytes (seeded), compacts them, and makes the
 * copies. Returns 0 or -1 (message printed). */
int store_load(struct store *s, const char *dir, uint32_t n_keys, uint64_t seed);
void store_free(struct store *s);
/* A handle on copy c: policy, model (predict) and read log optional. */
kv_t *store_open(const struct store *s, int c, const char *policy, const char *model,
		 const char *log_prefix);
/* n key indices drawn uniformly from the store's keys (malloc'ed). */
uint32_t *store_sequence(const struct store *s, size_t n, uint64_t seed);

/* What a handle counted, from struct kv. */
struct kv_counts {
	uint64_t reads, hedges, hedge_wins, reroutes, predicted_slow, probes;
	uint64_t predictor_errors;
};

/* One policy's handle in a measured phase, and what it measured. */
struct lane {
	kv_t *kv;
	struct emu *e;  /* its own copy of the timeline, or NULL: real reads */
	uint64_t *ns;   /* wall time of each kv_get */
};

/* Reads seq[0..n) on every lane, interleaved: read i on each lane in
 * turn (the first lane rotating), so that a noisy moment of the machine
 * falls on every policy alike. With a timeline, read i runs at emulated
 * time i. Returns 0, or -1 when a read fails or returns a wrong value
 * (message printed). */
int lanes_run(struct lane *lanes, int n_lanes, const struct store *s, const uint32_t *seq,
	      size_t n);
void kv_counts_get(kv_t *kv, struct kv_counts *c);

/* Blocks of `block` reads alternating primary and predict on one handle
 * (kvi_set_policy), `pairs` of each: the predictor's cost per read with
 * the drift of a noisy machine cancelled. */
struct overhead {
	double primary_ns, predict_ns; /* averages per read */
	double diff_ns, ci95_ns;       /* mean of the pairs' differences, and its CI */
	double median_diff_ns;         /* their median */
	size_t pairs, block;
};
int overhead_run(kv_t *kv, const struct store *s, const uint32_t *seq, size_t n_seq,
		 size_t block, size_t pairs, struct overhead *o);

/* --- kvbench_train.c: the closed loop's model ----------------------- */

struct train_run {
	char train_cmd[16384], calib_cmd[8192];
	double train_s, calib_s;
};

/* iolatd train on the three logs PREFIX.rN.trace with extra flags (split
 * on spaces), then iolatd calibrate, into dir/model-int8.h5. Prints the
 * commands. Returns 0 or -1. */
int train_model(const char *iolatd, const char *dir, const char *log_prefix,
		const char *flags, struct train_run *t, char *model_out, size_t outlen);

/* --- kvbench_report.c: the figures ---------------------------------- */

struct row {
	char policy[16];
	uint64_t reads;
	double avg_us, p50_us, p95_us, p99_us, p999_us;
	double extra_pct;   /* reads issued beyond one per kv_get */
	double reroute_pct; /* predict: read from another replica than the key's primary */
};

/* Fills the latency columns from ns[0..n) (sorts ns). */
void row_fill(struct row *r, const char *policy, uint64_t *ns, size_t n);
void table_print(FILE *f, const struct row *rows, int n);
/* The latency columns x scale, in ms: the drive's time. */
void table_print_ms(FILE *f, const struct row *rows, int n, double scale);
void row_json(FILE *f, const struct row *r);

/* --- kvbench_diag.c: why predict does what it does ------------------ */

struct diag {
	/* the model on the primary phase (features rebuilt from it) */
	uint32_t threshold_us[KV_REPLICAS]; /* warm-up logs' inflection points */
	uint64_t n, slow, fp, fn;
	double fpr, fnr, slow_pct;
	/* the predict phase's routing */
	uint64_t reroutes, reroute_better, reroute_worse, primary_slow, slow_avoided;
	uint64_t served_slow; /* predict's reads that still met a slow drive */
	double reroute_gain_us; /* mean over reroutes of primary's minus served's latency */
};

/* thresholds from the warm-up logs PREFIX.rN.trace (tangent method). */
int diag_thresholds(struct diag *d, const char *log_prefix);
/* The model's decisions on the primary phase: served_p[i] the replica
 * that read i went to, ns_p[i] its kv_get time (unsorted). */
int diag_model(struct diag *d, const char *model, const int8_t *served_p,
	       const uint64_t *ns_p, size_t n);
/* The predict phase's routing against the emulated drives at each n. */
void diag_routing(struct diag *d, const struct emu *e, const int8_t *served_p,
		  const int8_t *served_q, size_t n);
void diag_print(FILE *f, const struct diag *d);
void diag_json(FILE *f, const struct diag *d);

/* --- kvbench.c and its parts: the run --------------------------------- */

#define KB_BLOCK 1000               /* reads per block of the cost measurement */
#define KB_OVERHEAD_TARGET_NS 500.0 /* issue 5: the predictor's cost per read */

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
	struct row emu_rows[KB_COPIES], drive_rows[KB_COPIES], real_rows[4];
	int n_emu, n_real;
	struct row warm, overshoot;
	struct train_run train;
	struct diag diag;
	struct kv_counts emu_counts[KB_COPIES];
	struct overhead oh;
	char real_model[4200];
	struct target targets[8];
	int n_targets;
};

/* The targets, printed met or NOT met. */
void results_target(struct results *res, const char *what, int met);

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
int phase_measure(const struct store *s, const struct spec *sp, int n_sp, const char *model,
		  const uint32_t *seq, size_t n, struct emu *emus, struct row *rows,
		  struct kv_counts *counts, uint64_t *ns0);

/* kvbench_emulation.c: warm-up, closed loop, measured phase, targets.
 * Returns 0 (also when the traces are absent: skipped) or -1. */
int emulation_run(const struct args *a, const struct store *s, const char *dir,
		  struct results *res);

/* kvbench_real.c: the policies on plain reads, and the predictor's cost. */
int real_run(const struct args *a, const struct store *s, struct results *res);

/* kvbench_json.c: everything found, as one JSON object. */
void json_print(FILE *f, const struct args *a, const struct results *res);

#endif
