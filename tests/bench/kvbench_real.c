/* The real part of kvbench: the policies on plain RocksDB reads (no
 * emulation), then the in-process predictor's cost per read over primary. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kvbench.h"

static const struct spec real_specs[] = {
	{"primary", "primary", 0}, {"random", "random", 0}, {"hedge", "hedge", 0},
	{"predict", "predict", 0},
};

int
real_run(const struct args *a, const struct store *s, struct results *res)
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
		snprintf(def, sizeof(def), "%s", test_srcdir_file("models/iolat-default-int8.h5"));
		snprintf(res->real_model, sizeof(res->real_model), "%s", a->model ? a->model : def);
	}
	printf("\n== REAL MODE: plain RocksDB reads (page cache), no emulation; %zu reads per "
	       "policy,\n   side by side; predict's model: %s\n",
	       a->real_reads, model);
	if (seq == NULL)
		return -1;
	/* one untimed pass, so that no policy pays for cold caches */
	if (phase_measure(s, untimed, 4, NULL, seq, a->real_reads, NULL, rows, c, NULL) != 0 ||
	    phase_measure(s, real_specs, 4, model, seq, a->real_reads, NULL, res->real_rows, c,
		    NULL) != 0)
		goto out;
	res->n_real = 4;
	table_print(stdout, res->real_rows, 4);
	printf("  hedge's second reads: %llu; predict's reroutes: %llu\n",
	       (unsigned long long)c[2].hedges, (unsigned long long)c[3].reroutes);

	if ((kv = store_open(s, 0, "predict", model, NULL)) == NULL)
		goto out;
	rc = overhead_run(kv, s, seq, a->real_reads, KB_BLOCK, a->pairs, &res->oh);
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
	results_target(res, "real: predictor adds <= 0.5 us per read",
		   res->oh.diff_ns <= KB_OVERHEAD_TARGET_NS);
out:
	free(seq);
	return rc;
}
