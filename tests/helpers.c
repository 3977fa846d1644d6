/* Shared test fixtures. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fmodel.h"
#include "fm_train.h"
#include "helpers.h"
#include "quant.h"

static char tmpdir[4096];

const char *
test_tmpdir_create(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/iolat-test-XXXXXX",
		 base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return tmpdir;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
test_tmpdir_remove(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

void
test_fixture_setup(void)
{
	test_tmpdir_create();
}

void
test_fixture_teardown(void)
{
	test_tmpdir_remove();
}

const char *
test_tmp_path(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

uint64_t
test_rand_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double
test_rand_uniform(uint64_t *state)
{
	return (test_rand_u64(state) >> 11) * (1.0 / 9007199254740992.0);
}

double
test_rand_normal(uint64_t *state)
{
	double u1 = test_rand_uniform(state), u2 = test_rand_uniform(state);
	return sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

void
test_random_features(uint64_t *state, int32_t *f, uint32_t n)
{
	int32_t lat[3];

	for (uint32_t j = 0; j < n; j++)
		f[j] = 0;
	f[0] = test_rand_uniform(state) < 0.7;
	if (n > 1)
		f[1] = 512 << (int)(test_rand_uniform(state) * 12);
	for (int k = 0; k < 3; k++) {
		/* log-uniform 10 us .. 20 ms: the tail matters */
		lat[k] = (int32_t)exp(log(10.0) + test_rand_uniform(state) * log(2000.0));
		if (2 + k < (int)n)
			f[2 + k] = lat[k];
		if (5 + k < (int)n) {
			int64_t size = 512LL << (int)(test_rand_uniform(state) * 12);
			f[5 + k] = (int32_t)(size * 1000 / lat[k]);
		}
	}
	for (uint32_t j = 8; j < n; j++)
		f[j] = (int32_t)(test_rand_u64(state) % 100000);
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Shift the last bias so that half of the typical inputs come out slow:
 * a test model that always answers the same would prove nothing. */
static void
center_logit(struct model *m, uint64_t *st)
{
	enum { N = 1001 };
	float logits[N], x[QM_MAX_FEATURES];
	int32_t f[QM_MAX_FEATURES];
	float *acts = malloc(fm_acts_len(&m->fm) * sizeof(float));

	if (acts == NULL)
		abort();
	for (int s = 0; s < N; s++) {
		test_random_features(st, f, m->n_features);
		for (uint32_t j = 0; j < m->n_features; j++)
			x[j] = (float)f[j];
		logits[s] = fm_forward(&m->fm, x, acts);
	}
	qsort(logits, N, sizeof(float), cmp_float);
	m->fm.layer[m->n_layers - 1].bias[0] -= logits[N / 2];
	free(acts);
}

struct model *
test_random_float_model(uint32_t n_layers, const uint32_t *widths, uint64_t seed)
{
	struct model *m = model_new(MODEL_FLOAT32, n_layers, widths);
	uint64_t st = seed;
	enum { SAMPLES = 4096 };
	double sum[QM_MAX_FEATURES] = {0}, sq[QM_MAX_FEATURES] = {0};
	int32_t f[QM_MAX_FEATURES];

	if (m == NULL)
		abort();
	for (int s = 0; s < SAMPLES; s++) {
		test_random_features(&st, f, widths[0]);
		for (uint32_t j = 0; j < widths[0]; j++) {
			sum[j] += f[j];
			sq[j] += (double)f[j] * f[j];
		}
	}
	for (uint32_t j = 0; j < widths[0]; j++) {
		double mean = sum[j] / SAMPLES;
		double var = sq[j] / SAMPLES - mean * mean;
		m->fm.mean[j] = (float)mean;
		m->fm.std[j] = var > 0 ? (float)sqrt(var) : 1.0f;
	}
	for (uint32_t i = 0; i < n_layers; i++) {
		struct fm_layer *l = &m->fm.layer[i];
		double he = sqrt(2.0 / l->n_in);
		for (size_t k = 0; k < (size_t)l->n_in * l->n_out; k++)
			l->weights[k] = (float)(test_rand_normal(&st) * he);
		for (uint32_t c = 0; c < l->n_out; c++)
			l->bias[c] = (float)(test_rand_normal(&st) * 0.1);
	}
	center_logit(m, &st);
	return m;
}

void
test_minmax_ranges(const struct model *f, uint32_t n, uint64_t seed,
		   float *min, float *max)
{
	uint64_t st = seed;
	size_t len = fm_acts_len(&f->fm);
	float *acts = malloc(len * sizeof(float));
	float x[QM_MAX_FEATURES];
	int32_t feat[QM_MAX_FEATURES];

	for (uint32_t t = 0; t <= f->n_layers; t++) {
		min[t] = INFINITY;
		max[t] = -INFINITY;
	}
	for (uint32_t s = 0; s < n; s++) {
		test_random_features(&st, feat, f->n_features);
		for (uint32_t j = 0; j < f->n_features; j++)
			x[j] = (float)feat[j];
		fm_forward(&f->fm, x, acts);
		for (uint32_t t = 0; t <= f->n_layers; t++) {
			size_t lo = fm_tensor_offset(&f->fm, t);
			size_t hi = t < f->n_layers ? fm_tensor_offset(&f->fm, t + 1) : len;
			for (size_t k = lo; k < hi; k++) {
				min[t] = fminf(min[t], acts[k]);
				max[t] = fmaxf(max[t], acts[k]);
			}
		}
	}
	free(acts);
}

void
test_quant_ranges(const struct model *f, uint32_t n, uint64_t seed,
		  struct quant_ranges *r)
{
	uint64_t st = seed;
	int32_t feat[QM_MAX_FEATURES];

	memset(r, 0, sizeof(*r));
	test_minmax_ranges(f, n, seed, r->min, r->max);
	for (uint32_t j = 0; j < f->n_features; j++) {
		r->feature_min[j] = INFINITY;
		r->feature_max[j] = -INFINITY;
	}
	for (uint32_t s = 0; s < n; s++) {
		test_random_features(&st, feat, f->n_features);
		for (uint32_t j = 0; j < f->n_features; j++) {
			float v = (feat[j] - f->fm.mean[j]) / f->fm.std[j];
			r->feature_min[j] = fminf(r->feature_min[j], v);
			r->feature_max[j] = fmaxf(r->feature_max[j], v);
		}
	}
}

int
test_teacher(const int32_t *x)
{
	return x[2] > 8000 || (x[0] == 1 && x[1] >= 262144 && x[3] > 4000);
}

struct model *
test_trained_model(void)
{
	enum { N = 20000, NTRAIN = 18000 };
	static const uint32_t widths[4] = {8, 128, 16, 1};
	struct model *f = model_new(MODEL_FLOAT32, 3, widths);
	float *x = malloc(N * 8 * sizeof(float));
	uint8_t *y = malloc(N);
	struct fm_train_options o;
	uint64_t st = 5;

	if (f == NULL || x == NULL || y == NULL)
		abort();
	for (int i = 0; i < N; i++) {
		int32_t v[8];
		test_random_features(&st, v, 8);
		for (int j = 0; j < 8; j++)
			x[i * 8 + j] = (float)v[j];
		y[i] = (uint8_t)test_teacher(v);
	}
	fm_fit_normalisation(&f->fm, x, N);
	fm_train_defaults(&o);
	o.epochs = 10;
	if (fm_train(&f->fm, x, y, NTRAIN, x + NTRAIN * 8, y + NTRAIN, N - NTRAIN, &o))
		abort();
	snprintf(f->created_by, sizeof(f->created_by),
		 "iolat tests: teacher rule, synthetic features");
	free(x);
	free(y);
	return f;
}

const char *
test_data_dir(void)
{
	static char path[4200];
	const char *env = getenv("IOLAT_DATA");
	struct stat st;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s", test_srcdir_file("../shared/data/traces/replayed"));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return path;
}

int
test_unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

uint64_t
test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t
test_now_ms(void)
{
	return (int64_t)(test_now_ns() / 1000000u);
}

double
test_now_s(void)
{
	return (double)test_now_ns() * 1e-9;
}

int
test_left_ms(int64_t deadline)
{
	int64_t l = deadline - test_now_ms();

	return l < 0 ? 0 : (int)l;
}

int
test_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
test_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), test_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
test_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
test_recv_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

const char *
test_srcdir_file(const char *rel)
{
	static char path[4200];
	const char *src = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/%s", src && *src ? src : ".", rel);
	return path;
}
