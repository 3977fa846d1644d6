/* Slow/fast labels for training (DESIGN.md): slow if the latency is over
 * the trace's inflection point, found by FlashNet's tangent method. */
#ifndef IOLAT_LABEL_H
#define IOLAT_LABEL_H

#include <stddef.h>
#include <stdint.h>

/* numpy.percentile(v, p) with its default linear interpolation, over n
 * values (any order; v is not modified). n must be > 0. */
double label_percentile(const float *v, size_t n, double p);

/* The tangent method of FlashNet: drop latencies above the 97th
 * percentile, divide by the largest one left, and take the x of a
 * 10,000-point grid over [0, 1] that maximises ECDF(x) - x (the first, if
 * several); the threshold is int(x * max) microseconds. Returns 0 for
 * n == 0. */
uint32_t label_inflection_point(const uint32_t *latency_us, size_t n);

#endif
