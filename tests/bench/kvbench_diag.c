/* Why predict does what it does, on the measured timeline: how the model
 * classifies the primary phase's reads, and where the predict phase's
 * reroutes went, judged by the emulated drives at the same n. */
#include <stdlib.h>
#include <string.h>

#include "feat.h"
#include "kvbench.h"
#include "label.h"
#include "model_file.h"
#include "trace.h"
#include "trainset.h"

int
diag_thresholds(struct diag *d, const char *log_prefix)
{
	for (int r = 0; r < KV_REPLICAS; r++) {
		char path[4200], err[512];
		struct trace t;
		uint32_t *lat;
		snprintf(path, sizeof(path), "%s.r%d.trace", log_prefix, r);
		if (trace_read(path, &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "kvbench: %s\n", err);
			return -1;
		}
		lat = trainset_read_latencies(&t);
		/* the labels iolatd train gave this log */
		d->threshold_us[r] = lat ? label_inflection_point(lat, t.n_reads) : 0;
		free(lat);
		trace_free(&t);
	}
	return 0;
}

/* The primary phase's reads, with the features each replica's history
 * had then: kv_get's time stands for the replica's own (it adds about a
 * microsecond of locking and copying). */
int
diag_model(struct diag *d, const char *model, const int8_t *served_p, const uint64_t *ns_p,
	   size_t n)
{
	struct feat_history h[KV_REPLICAS];
	char err[512];
	struct model *m = mf_load(model, err, sizeof(err));

	if (m == NULL) {
		fprintf(stderr, "kvbench: %s\n", err);
		return -1;
	}
	for (int r = 0; r < KV_REPLICAS; r++)
		feat_history_init(&h[r]);
	d->n = n;
	for (size_t i = 0; i < n; i++) {
		int r = served_p[i];
		int32_t f[FEAT_N];
		int8_t scratch[QM_SCRATCH_BYTES];
		struct qm_result q;
		uint64_t us = ns_p[i] / 1000;
		if (r < 0)
			continue;
		feat_vector(&h[r], 1, KV_READ_SIZE, f);
		qm_predict(&m->qm, f, FEAT_N, scratch, &q);
		int slow = us > d->threshold_us[r];
		d->slow += (uint64_t)slow;
		d->fp += (uint64_t)(q.decision && !slow);
		d->fn += (uint64_t)(!q.decision && slow);
		feat_record(&h[r], KV_READ_SIZE, us);
	}
	d->slow_pct = n ? 100.0 * (double)d->slow / (double)n : 0;
	d->fpr = n > d->slow ? (double)d->fp / (double)(n - d->slow) : 0;
	d->fnr = d->slow ? (double)d->fn / (double)d->slow : 0;
	model_free(m);
	return 0;
}

void
diag_routing(struct diag *d, const struct emu *e, const int8_t *served_p,
	     const int8_t *served_q, size_t n)
{
	double gain = 0;

	for (size_t i = 0; i < n; i++) {
		int p = served_p[i], q = served_q[i];
		if (p < 0 || q < 0)
			continue;
		uint32_t lp = emu_us(e, p, i), lq = emu_us(e, q, i);
		int slow = (double)lp / e->scale > d->threshold_us[p];
		d->primary_slow += (uint64_t)slow;
		d->served_slow += (double)lq / e->scale > d->threshold_us[q];
		if (q == p)
			continue;
		d->reroutes++;
		d->slow_avoided += (uint64_t)slow;
		d->reroute_better += lq < lp;
		d->reroute_worse += lq > lp;
		gain += (double)lp - (double)lq;
	}
	d->reroute_gain_us = d->reroutes ? gain / (double)d->reroutes : 0;
}

void
diag_print(FILE *f, const struct diag *d)
{
	uint64_t fast = d->n - d->primary_slow, fast_rerouted = d->reroutes - d->slow_avoided;

	fprintf(f, "  slow thresholds (inflection points of the warm-up logs, us): %u %u %u\n",
		d->threshold_us[0], d->threshold_us[1], d->threshold_us[2]);
	fprintf(f, "  the model on the primary phase's reads: %.1f%% slow, FPR %.3f, FNR %.3f\n",
		d->slow_pct, d->fpr, d->fnr);
	fprintf(f, "  predict's reroutes: %llu (%.2f%% of reads); the primary was slow at "
		"%llu reads, %llu of them rerouted (%.1f%%); %llu fast ones rerouted (%.2f%%)\n",
		(unsigned long long)d->reroutes, d->n ? 100.0 * (double)d->reroutes / (double)d->n : 0,
		(unsigned long long)d->primary_slow, (unsigned long long)d->slow_avoided,
		d->primary_slow ? 100.0 * (double)d->slow_avoided / (double)d->primary_slow : 0,
		(unsigned long long)fast_rerouted,
		fast ? 100.0 * (double)fast_rerouted / (double)fast : 0);
	fprintf(f, "  rerouted to a faster drive %llu, slower %llu; mean gain %.0f drive us "
		"per reroute (unscaled);\n  predict still read a slow drive at %llu reads "
		"(%.1f%%; primary: %.1f%%)\n",
		(unsigned long long)d->reroute_better, (unsigned long long)d->reroute_worse,
		d->reroute_gain_us, (unsigned long long)d->served_slow,
		d->n ? 100.0 * (double)d->served_slow / (double)d->n : 0,
		d->n ? 100.0 * (double)d->primary_slow / (double)d->n : 0);
}

void
diag_json(FILE *f, const struct diag *d)
{
	fprintf(f, "{\"thresholds_us\": [%u, %u, %u], \"model_slow_pct\": %.3f, "
		"\"model_fpr\": %.4f, \"model_fnr\": %.4f, \"reroutes\": %llu, "
		"\"primary_slow\": %llu, \"slow_rerouted\": %llu, \"reroute_better\": %llu, "
		"\"reroute_worse\": %llu, \"reroute_gain_drive_us\": %.1f, \"predict_slow_reads\": %llu}",
		d->threshold_us[0], d->threshold_us[1], d->threshold_us[2], d->slow_pct, d->fpr,
		d->fnr, (unsigned long long)d->reroutes, (unsigned long long)d->primary_slow,
		(unsigned long long)d->slow_avoided, (unsigned long long)d->reroute_better,
		(unsigned long long)d->reroute_worse, d->reroute_gain_us,
		(unsigned long long)d->served_slow);
}
