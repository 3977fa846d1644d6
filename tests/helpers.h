/* Shared test fixtures: temporary directories, deterministic random
 * numbers, and models with known or random weights. */
#ifndef IOLAT_TEST_HELPERS_H
#define IOLAT_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* A fresh directory under $TMPDIR (or /tmp) for one test, removed with
 * everything in it by test_tmpdir_remove. Returns its path (static). */
const char *test_tmpdir_create(void);
void test_tmpdir_remove(void);

/* path inside the current temporary directory (static buffer). */
const char *test_tmp_path(const char *name);

/* A Check checked fixture (tcase_add_checked_fixture): a fresh temporary
 * directory for each test, removed after it. */
void test_fixture_setup(void);
void test_fixture_teardown(void);

/* splitmix64: reproducible across machines and libc versions. */
uint64_t test_rand_u64(uint64_t *state);
double test_rand_uniform(uint64_t *state); /* [0, 1) */
double test_rand_normal(uint64_t *state);

/* A float model of the given widths (widths[0] features ... widths[n] == 1)
 * with He-initialised random weights and small random biases, means and
 * stds fitting feature vectors from test_random_features. */
struct model *test_random_float_model(uint32_t n_layers, const uint32_t *widths,
				      uint64_t seed);

/* A feature vector shaped like FlashNet's: io_type 0/1, size 512 B..1 MiB,
 * latencies 10 us..20 ms, throughputs from those. */
void test_random_features(uint64_t *state, int32_t *features, uint32_t n);

/* Minmax ranges of every tensor of f over n random feature vectors. */
void test_minmax_ranges(const struct model *f, uint32_t n, uint64_t seed,
			float *min, float *max);

/* Ranges of every tensor of f over n random feature vectors, with each
 * input feature's own range too (struct quant_ranges, per feature). */
struct quant_ranges;
void test_quant_ranges(const struct model *f, uint32_t n, uint64_t seed,
		       struct quant_ranges *r);

/* The teacher rule of the synthetic data: slow when the last latency is
 * in the tail (over 8 ms), or a large read follows a slow one. About 15%
 * of test_random_features vectors are slow, as with the inflection-point
 * labels of real traces. */
int test_teacher(const int32_t *x);

/* An 8-128-16-1 float model with known weights: trained with the default
 * seed on 20,000 inputs labelled by test_teacher. A trained model, not
 * random weights: a random network puts half its inputs next to the
 * decision boundary, where no 8-bit scheme can follow it. */
struct model *test_trained_model(void);

/* A connected Unix stream socket to path (close-on-exec), or -1 with
 * errno; nothing is left open on failure. */
int test_unix_connect(const char *path);

/* ../shared/data/traces/replayed of the source tree, or $IOLAT_DATA;
 * NULL when absent. */
const char *test_data_dir(void);

/* Clocks for deadlines and timings: CLOCK_MONOTONIC in ns, ms and s. */
uint64_t test_now_ns(void);
int64_t test_now_ms(void);
double test_now_s(void);

/* Milliseconds left until deadline (a test_now_ms value), 0 if past:
 * the timeout of the next poll. */
int test_left_ms(int64_t deadline);

/* qsort's comparison of doubles, and the median of v[0..n) (sorting v;
 * the mean of the middle two when n is even). */
int test_cmp_double(const void *a, const void *b);
double test_median(double *v, size_t n);

/* Blocking socket I/O: all len bytes sent (MSG_NOSIGNAL), or exactly
 * len received; EINTR retried. 0, or -1 on error or end of stream. */
int test_send_all(int fd, const void *buf, size_t len);
int test_recv_exact(int fd, void *buf, size_t len);

/* $top_srcdir/rel ("." when top_srcdir is unset, as in the build tree),
 * in a buffer the next call reuses. */
const char *test_srcdir_file(const char *rel);

#endif
