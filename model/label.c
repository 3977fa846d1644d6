/* FlashNet's tangent-based inflection point, after its tangent_based()
 * (numpy percentile, statsmodels ECDF on np.linspace(0, 1, 10000)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "label.h"

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* numpy's linear method on sorted data: index (n - 1) p / 100. */
static double
sorted_percentile(const uint32_t *v, size_t n, double p)
{
	double pos = (n - 1) * p / 100.0;
	size_t i = (size_t)floor(pos);
	double frac = pos - i;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + frac * ((double)v[i + 1] - v[i]);
}

/* Hoare's selection: afterwards s[k] is the k-th smallest, everything
 * before it no larger, everything after no smaller. Expected O(n). */
static void
select_kth(float *s, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		float pivot = s[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (s[i] < pivot)
				i++;
			while (s[j] > pivot)
				j--;
			if (i <= j) {
				float t = s[i];
				s[i] = s[j];
				s[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

double
label_percentile(const float *v, size_t n, double p)
{
	float *s = malloc(n * sizeof(*s));
	double pos = (n - 1) * p / 100.0, r;
	size_t i = (size_t)floor(pos);

	if (s == NULL)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	/* numpy's linear method needs the i-th and (i+1)-th smallest: the
	 * latter is the smallest of what selection leaves above i. */
	select_kth(s, n, i);
	r = s[i];
	if (i + 1 < n) {
		float next = s[i + 1];
		for (size_t k = i + 2; k < n; k++)
			next = s[k] < next ? s[k] : next;
		r += (pos - i) * (next - s[i]);
	}
	free(s);
	return r;
}

uint32_t
label_inflection_point(const uint32_t *latency_us, size_t n)
{
	enum { GRID = 10000 };
	uint32_t *s;
	double p97, max, best = -INFINITY, best_x = 0.0;
	size_t kept, below = 0;

	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	if (s == NULL)
		return 0;
	memcpy(s, latency_us, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u32);
	p97 = sorted_percentile(s, n, 97.0);
	for (kept = 0; kept < n && s[kept] <= p97; kept++)
		;
	max = s[kept - 1];
	if (max <= 0.0) {
		free(s);
		return 0;
	}
	for (int g = 0; g < GRID; g++) {
		/* np.linspace(0, 1, 10000) */
		double x = (double)g / (GRID - 1);
		while (below < kept && s[below] / max <= x)
			below++;
		double t = (double)below / kept - x;
		if (t > best) {
			best = t;
			best_x = x;
		}
	}
	free(s);
	return (uint32_t)(best_x * max);
}
