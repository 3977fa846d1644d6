/* kvbench's figures: percentiles of the kv_get times, the aligned table
 * and its JSON. */
#include <stdlib.h>
#include <string.h>

#include "kvbench.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the ceil(n p)-th smallest. */
static double
pct_us(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);

	return (double)sorted[(rank ? rank : 1) - 1] / 1000.0;
}

void
row_fill(struct row *r, const char *policy, uint64_t *ns, size_t n)
{
	double sum = 0;

	memset(r, 0, sizeof(*r));
	snprintf(r->policy, sizeof(r->policy), "%s", policy);
	r->reads = n;
	if (n == 0)
		return;
	qsort(ns, n, sizeof(*ns), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	r->avg_us = sum / (double)n / 1000.0;
	r->p50_us = pct_us(ns, n, 0.50);
	r->p95_us = pct_us(ns, n, 0.95);
	r->p99_us = pct_us(ns, n, 0.99);
	r->p999_us = pct_us(ns, n, 0.999);
}

void
table_print(FILE *f, const struct row *rows, int n)
{
	fprintf(f, "  %-8s %8s %9s %9s %9s %9s %9s %7s %9s\n", "policy", "reads", "avg_us",
		"p50_us", "p95_us", "p99_us", "p99.9_us", "extra%", "rerouted%");
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		fprintf(f, "  %-8s %8llu %9.1f %9.1f %9.1f %9.1f %9.1f %6.2f%% %8.2f%%\n",
			r->policy, (unsigned long long)r->reads, r->avg_us, r->p50_us, r->p95_us,
			r->p99_us, r->p999_us, r->extra_pct, r->reroute_pct);
	}
}

void
table_print_ms(FILE *f, const struct row *rows, int n, double scale)
{
	fprintf(f, "  %-8s %8s %9s %9s %9s %9s %9s\n", "policy", "", "avg_ms", "p50_ms",
		"p95_ms", "p99_ms", "p99.9_ms");
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double k = scale / 1000.0;
		fprintf(f, "  %-8s %8s %9.2f %9.2f %9.2f %9.2f %9.2f\n", r->policy, "",
			r->avg_us * k, r->p50_us * k, r->p95_us * k, r->p99_us * k,
			r->p999_us * k);
	}
}

void
row_json(FILE *f, const struct row *r)
{
	fprintf(f, "{\"policy\": \"%s\", \"reads\": %llu, \"avg_us\": %.3f, \"p50_us\": %.3f, "
		"\"p95_us\": %.3f, \"p99_us\": %.3f, \"p99_9_us\": %.3f, "
		"\"extra_reads_pct\": %.3f, \"rerouted_pct\": %.3f}",
		r->policy, (unsigned long long)r->reads, r->avg_us, r->p50_us, r->p95_us,
		r->p99_us, r->p999_us, r->extra_pct, r->reroute_pct);
}
