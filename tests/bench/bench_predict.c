/* bench_predict: nanoseconds per batch-1 prediction of the 8-128-16-1
 * network (FlashNet's shape), every engine measured in the same run.
 *
 * How each row is built (all with the project's flags, -O2 by default, no
 * -ffast-math, no -march: vector code comes from target attributes, the
 * same way for float and int8, so that neither side gets a better
 * compiler):
 *  - int8 portable: qm_predict_portable, the freestanding reference core.
 *  - int8 <variant>: qm_predict on the model packed by qm_simd_prepare for
 *    that variant (model/qm_avx2.c, model/qm_avx512.c); bit-exact with
 *    portable, which this program checks on every bench vector.
 *  - float32 avx512/avx2: the float model's forward pass written for the
 *    vector unit as one would ship it: weights transposed to [in][out]
 *    and padded to the vector width so that the inner loop is an FMA over
 *    16 (8) outputs from a broadcast input, eight independent accumulator
 *    chains per layer (the int8 kernels' chunking), ReLU as a max, the
 *    z-score as a multiply by 1/std, the last layer as a dot product. Its
 *    decisions are checked against fm_forward.
 *  - float32 scalar: fm_forward itself (naive loops), for reference only.
 *  - int64 x1000: the fixed-point scheme LinnOS ships in its kernel module
 *    and FlashNet reuses: weights and biases multiplied by 1000 into long,
 *    scalar loops with LinnOS's skip of zero operands
 *    ((x == 0 || w == 0) ? 0 : x * w), bias, ReLU; each layer's sum is
 *    divided by 1000 to keep the scale at 10^3 (LinnOS's two-layer net
 *    needs no rescale; deeper ones do), and the z-score is computed on
 *    x1000 values with 1/std scaled by 10^6, as FlashNet's normaliser
 *    does for its min-max range.
 *
 * Each repetition times a loop over 4096 varied feature vectors (the test
 * helpers' FlashNet-like features) through a function pointer, results
 * folded into a volatile sink; the engines take turns within every
 * repetition, so a noisy neighbour hits them alike. Medians over 21
 * repetitions are reported, with p10 and p90. Nothing is pinned.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmodel.h"
#include "helpers.h"
#include "model.h"
#include "qm_simd.h"
#include "quant.h"

#define N_VEC 4096
#define N_REP 21
#define WIDTH_PAD 128 /* widest layer of the bench network */

static const uint32_t widths[] = {8, 128, 16, 1};

static int32_t vectors[N_VEC][8];
static volatile uint32_t sink;

/* --- int8 ------------------------------------------------------------- */

static struct qm_model int8_models[3]; /* by enum qm_variant */
static void *int8_arenas[3];
static struct model *float_model, *int8_model;

static uint32_t
run_int8(const struct qm_model *qm, const int32_t *x)
{
	int8_t scratch[QM_SCRATCH_BYTES];
	struct qm_result r;

	qm_predict(qm, x, 8, scratch, &r);
	return (uint32_t)r.logit ^ r.score;
}

static uint32_t
run_int8_portable(const int32_t *x)
{
	int8_t scratch[QM_SCRATCH_BYTES];
	struct qm_result r;

	qm_predict_portable(&int8_models[QM_PORTABLE], x, 8, scratch, &r);
	return (uint32_t)r.logit ^ r.score;
}

static uint32_t
run_int8_avx2(const int32_t *x)
{
	return run_int8(&int8_models[QM_AVX2], x);
}

static uint32_t
run_int8_avx512(const int32_t *x)
{
	return run_int8(&int8_models[QM_AVX512_VNNI], x);
}

/* --- float32, vectorised ----------------------------------------------- */

struct flayer {
	uint32_t n_in, n_out, n_pad;
	int relu;
	float *w; /* [n_in][n_pad], transposed, or [n_in] for the last layer */
	float *b; /* [n_pad] */
};

struct fnet {
	uint32_t n_features, n_layers;
	float mean[16], inv_std[16];
	struct flayer layer[3];
};

static struct fnet fnet;

static void *
alloc64(size_t bytes)
{
	void *p;

	if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
		abort();
	memset(p, 0, bytes);
	return p;
}

/* pad: 16 serves both vector widths. */
static void
fnet_build(const struct fm_model *fm)
{
	fnet.n_features = fm->n_features;
	fnet.n_layers = fm->n_layers;
	for (uint32_t j = 0; j < fm->n_features; j++) {
		fnet.mean[j] = fm->mean[j];
		fnet.inv_std[j] = 1.0f / fm->std[j];
	}
	for (uint32_t i = 0; i < fm->n_layers; i++) {
		const struct fm_layer *l = &fm->layer[i];
		struct flayer *f = &fnet.layer[i];
		f->n_in = l->n_in;
		f->n_out = l->n_out;
		f->n_pad = (l->n_out + 15) / 16 * 16;
		f->relu = l->relu;
		f->w = alloc64((size_t)l->n_in * f->n_pad * sizeof(float));
		f->b = alloc64(f->n_pad * sizeof(float));
		for (uint32_t c = 0; c < l->n_out; c++) {
			f->b[c] = l->bias[c];
			for (uint32_t j = 0; j < l->n_in; j++)
				f->w[(size_t)j * f->n_pad + c] = l->weights[(size_t)c * l->n_in + j];
		}
		if (l->n_out == 1) /* the last layer: a plain row */
			for (uint32_t j = 0; j < l->n_in; j++)
				f->w[j] = l->weights[j];
	}
}

#define T512 __attribute__((target("avx512f,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define INLINE512 static inline __attribute__((always_inline)) T512
#define INLINE256 static inline __attribute__((always_inline)) T256

/* C vectors of 16 outputs from o0, inputs dealt round S accumulator
 * chains (C * S = 8), as the int8 kernels do. */
INLINE512 void
f512_chunk(const struct flayer *l, const float *in, float *out, uint32_t o0,
	   const int C, const int S)
{
	__m512 acc[8];
	uint32_t j = 0;

#pragma GCC unroll 8
	for (int a = 0; a < C * S; a++)
		acc[a] = a < C ? _mm512_load_ps(l->b + o0 + 16 * a) : _mm512_setzero_ps();
	for (; j + S <= l->n_in; j += S) {
#pragma GCC unroll 8
		for (int s = 0; s < S; s++) {
			__m512 x = _mm512_set1_ps(in[j + s]);
			const float *w = l->w + (size_t)(j + s) * l->n_pad + o0;
#pragma GCC unroll 8
			for (int c = 0; c < C; c++)
				acc[s * C + c] = _mm512_fmadd_ps(x, _mm512_load_ps(w + 16 * c),
								 acc[s * C + c]);
		}
	}
	for (; j < l->n_in; j++) {
		__m512 x = _mm512_set1_ps(in[j]);
#pragma GCC unroll 8
		for (int c = 0; c < C; c++)
			acc[c] = _mm512_fmadd_ps(
				x, _mm512_load_ps(l->w + (size_t)j * l->n_pad + o0 + 16 * c), acc[c]);
	}
#pragma GCC unroll 8
	for (int a = C; a < C * S; a++)
		acc[a % C] = _mm512_add_ps(acc[a % C], acc[a]);
#pragma GCC unroll 8
	for (int c = 0; c < C; c++)
		_mm512_store_ps(out + o0 + 16 * c,
				l->relu ? _mm512_max_ps(acc[c], _mm512_setzero_ps()) : acc[c]);
}

static T512 void
f512_layer(const struct flayer *l, const float *in, float *out)
{
	uint32_t g = 0, groups = l->n_pad / 16;

	for (; g + 8 <= groups; g += 8)
		f512_chunk(l, in, out, 16 * g, 8, 1);
	if (g + 4 <= groups) {
		f512_chunk(l, in, out, 16 * g, 4, 2);
		g += 4;
	}
	if (g + 2 <= groups) {
		f512_chunk(l, in, out, 16 * g, 2, 4);
		g += 2;
	}
	if (g < groups)
		f512_chunk(l, in, out, 16 * g, 1, 8);
}

/* The bench network has n_in of the last layer a multiple of 16. */
static T512 float
f512_last(const struct flayer *l, const float *in)
{
	__m512 acc = _mm512_setzero_ps();

	for (uint32_t j = 0; j < l->n_in; j += 16)
		acc = _mm512_fmadd_ps(_mm512_load_ps(in + j), _mm512_load_ps(l->w + j), acc);
	return _mm512_reduce_add_ps(acc) + l->b[0];
}

static T512 uint32_t
run_f512(const int32_t *x)
{
	float a[WIDTH_PAD] __attribute__((aligned(64)));
	float b[WIDTH_PAD] __attribute__((aligned(64)));
	__m256 v = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)x));
	float logit;

	v = _mm256_mul_ps(_mm256_sub_ps(v, _mm256_loadu_ps(fnet.mean)),
			  _mm256_loadu_ps(fnet.inv_std));
	_mm256_store_ps(a, v);
	f512_layer(&fnet.layer[0], a, b);
	f512_layer(&fnet.layer[1], b, a);
	logit = f512_last(&fnet.layer[2], a);
	return logit > 0.0f;
}

INLINE256 void
f256_chunk(const struct flayer *l, const float *in, float *out, uint32_t o0,
	   const int C, const int S)
{
	__m256 acc[8];
	uint32_t j = 0;

#pragma GCC unroll 8
	for (int a = 0; a < C * S; a++)
		acc[a] = a < C ? _mm256_load_ps(l->b + o0 + 8 * a) : _mm256_setzero_ps();
	for (; j + S <= l->n_in; j += S) {
#pragma GCC unroll 8
		for (int s = 0; s < S; s++) {
			__m256 x = _mm256_set1_ps(in[j + s]);
			const float *w = l->w + (size_t)(j + s) * l->n_pad + o0;
#pragma GCC unroll 8
			for (int c = 0; c < C; c++)
				acc[s * C + c] = _mm256_fmadd_ps(x, _mm256_load_ps(w + 8 * c),
								 acc[s * C + c]);
		}
	}
	for (; j < l->n_in; j++) {
		__m256 x = _mm256_set1_ps(in[j]);
#pragma GCC unroll 8
		for (int c = 0; c < C; c++)
			acc[c] = _mm256_fmadd_ps(
				x, _mm256_load_ps(l->w + (size_t)j * l->n_pad + o0 + 8 * c), acc[c]);
	}
#pragma GCC unroll 8
	for (int a = C; a < C * S; a++)
		acc[a % C] = _mm256_add_ps(acc[a % C], acc[a]);
#pragma GCC unroll 8
	for (int c = 0; c < C; c++)
		_mm256_store_ps(out + o0 + 8 * c,
				l->relu ? _mm256_max_ps(acc[c], _mm256_setzero_ps()) : acc[c]);
}

static T256 void
f256_layer(const struct flayer *l, const float *in, float *out)
{
	uint32_t g = 0, groups = l->n_pad / 8;

	for (; g + 8 <= groups; g += 8)
		f256_chunk(l, in, out, 8 * g, 8, 1);
	if (g + 4 <= groups) {
		f256_chunk(l, in, out, 8 * g, 4, 2);
		g += 4;
	}
	if (g + 2 <= groups) {
		f256_chunk(l, in, out, 8 * g, 2, 4);
		g += 2;
	}
	if (g < groups)
		f256_chunk(l, in, out, 8 * g, 1, 8);
}

static T256 float
f256_last(const struct flayer *l, const float *in)
{
	__m256 acc = _mm256_setzero_ps();
	__m128 s;

	for (uint32_t j = 0; j < l->n_in; j += 8)
		acc = _mm256_fmadd_ps(_mm256_load_ps(in + j), _mm256_load_ps(l->w + j), acc);
	s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s) + l->b[0];
}

static T256 uint32_t
run_f256(const int32_t *x)
{
	float a[WIDTH_PAD] __attribute__((aligned(32)));
	float b[WIDTH_PAD] __attribute__((aligned(32)));
	__m256 v = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)x));
	float logit;

	v = _mm256_mul_ps(_mm256_sub_ps(v, _mm256_loadu_ps(fnet.mean)),
			  _mm256_loadu_ps(fnet.inv_std));
	_mm256_store_ps(a, v);
	f256_layer(&fnet.layer[0], a, b);
	f256_layer(&fnet.layer[1], b, a);
	logit = f256_last(&fnet.layer[2], a);
	return logit > 0.0f;
}

/* fm_forward: the project's naive float loops, reference only. */
static const struct fm_model *fm_ref;

static uint32_t
run_fscalar(const int32_t *x)
{
	float xf[8], acts[8 + 128 + 16 + 1];

	for (int j = 0; j < 8; j++)
		xf[j] = (float)x[j];
	return fm_forward(fm_ref, xf, acts) > 0.0f;
}

/* --- int64 x1000, LinnOS style ----------------------------------------- */

#define L_SCALE 1000
#define L_NORM 1000000 /* FlashNet's normaliser scale: 1/std would round to 0 */

struct lnet {
	long mean[8];    /* x1000 */
	long inv_std[8]; /* x L_NORM */
	long w0[128 * 8], b0[128];
	long w1[16 * 128], b1[16];
	long w2[16], b2;
};

static struct lnet lnet;

static long
scaled(double v)
{
	return lround(v * L_SCALE);
}

static void
lnet_build(const struct fm_model *fm)
{
	for (int j = 0; j < 8; j++) {
		lnet.mean[j] = scaled(fm->mean[j]);
		lnet.inv_std[j] = lround(L_NORM / fm->std[j]);
	}
	for (int k = 0; k < 128 * 8; k++)
		lnet.w0[k] = scaled(fm->layer[0].weights[k]);
	for (int k = 0; k < 16 * 128; k++)
		lnet.w1[k] = scaled(fm->layer[1].weights[k]);
	for (int k = 0; k < 16; k++)
		lnet.w2[k] = scaled(fm->layer[2].weights[k]);
	/* biases meet the products of two x1000 values, then /1000 */
	for (int c = 0; c < 128; c++)
		lnet.b0[c] = scaled(fm->layer[0].bias[c]) * L_SCALE;
	for (int c = 0; c < 16; c++)
		lnet.b1[c] = scaled(fm->layer[1].bias[c]) * L_SCALE;
	lnet.b2 = scaled(fm->layer[2].bias[0]) * L_SCALE;
}

/* One layer as LinnOS writes it: long products, zero operands skipped. */
static void
lnet_layer(const long *w, const long *b, const long *in, long *out,
	   int n_in, int n_out, int relu)
{
	for (int j = 0; j < n_out; j++) {
		long acc = 0;
		for (int k = 0; k < n_in; k++)
			acc += (in[k] == 0 || w[j * n_in + k] == 0) ? 0 : in[k] * w[j * n_in + k];
		acc = (acc + b[j]) / L_SCALE;
		out[j] = relu && acc < 0 ? 0 : acc;
	}
}

static uint32_t
run_int64(const int32_t *x)
{
	long in[8], h0[128], h1[16], logit;

	for (int j = 0; j < 8; j++)
		in[j] = ((long)x[j] * L_SCALE - lnet.mean[j]) * lnet.inv_std[j] / L_NORM;
	lnet_layer(lnet.w0, lnet.b0, in, h0, 8, 128, 1);
	lnet_layer(lnet.w1, lnet.b1, h0, h1, 128, 16, 1);
	lnet_layer(lnet.w2, &lnet.b2, h1, &logit, 16, 1, 0);
	return logit > 0;
}

/* --- timing ------------------------------------------------------------ */

typedef uint32_t (*engine_fn)(const int32_t *);

struct engine {
	const char *name;
	engine_fn fn;
	int kind; /* 0 int8, 1 float vectorised, 2 reference, 3 int64 */
	double ns[N_REP];
};

static double
time_once(engine_fn fn)
{
	uint32_t acc = 0;
	double t0 = test_now_ns();

	for (int i = 0; i < N_VEC; i++)
		acc += fn(vectors[i]);
	sink ^= acc;
	return (test_now_ns() - t0) / N_VEC;
}

/* Sorts e->ns; returns the value at quantile q. */
static double
quantile(struct engine *e, double q)
{
	qsort(e->ns, N_REP, sizeof(double), test_cmp_double);
	return e->ns[(int)(q * (N_REP - 1) + 0.5)];
}

/* The SIMD variants must agree with portable bit for bit, the float
 * baselines with fm_forward on nearly every decision (summation order). */
static void
check_engines(void)
{
	int float_agree[2] = {0, 0}, int64_agree = 0;

	for (int i = 0; i < N_VEC; i++) {
		uint32_t want = run_int8_portable(vectors[i]);
		if (qm_simd_supported(QM_AVX2) && run_int8_avx2(vectors[i]) != want) {
			fprintf(stderr, "bench_predict: avx2 differs from portable\n");
			exit(1);
		}
		if (qm_simd_supported(QM_AVX512_VNNI) &&
		    run_int8_avx512(vectors[i]) != want) {
			fprintf(stderr, "bench_predict: avx512-vnni differs from portable\n");
			exit(1);
		}
		uint32_t fd = run_fscalar(vectors[i]);
		int64_agree += run_int64(vectors[i]) == fd;
		if (__builtin_cpu_supports("avx512f"))
			float_agree[0] += run_f512(vectors[i]) == fd;
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
			float_agree[1] += run_f256(vectors[i]) == fd;
	}
	printf("check: int8 SIMD variants bit-exact with portable on %d vectors; "
	       "decisions equal to fm_forward's: float32 avx512 %d, avx2 %d, "
	       "int64 %d\n",
	       N_VEC, float_agree[0], float_agree[1], int64_agree);
}

static void
teardown(void)
{
	for (int v = 0; v < 3; v++)
		free(int8_arenas[v]);
	for (uint32_t i = 0; i < fnet.n_layers; i++) {
		free(fnet.layer[i].w);
		free(fnet.layer[i].b);
	}
	model_free(float_model);
	model_free(int8_model);
}

static void
setup(void)
{
	struct model *f = test_random_float_model(3, widths, 42);
	struct quant_ranges r;
	char err[256];
	struct model *q;
	uint64_t st = 99;

	test_quant_ranges(f, 5000, 43, &r);
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	if (q == NULL) {
		fprintf(stderr, "bench_predict: %s\n", err);
		exit(1);
	}
	for (int v = 0; v < 3; v++) {
		size_t len = qm_simd_prepare_size(&q->qm, (enum qm_variant)v);
		int8_arenas[v] = alloc64(len);
		int8_models[v] = q->qm;
		qm_simd_prepare(&int8_models[v], (enum qm_variant)v, int8_arenas[v], len);
	}
	float_model = f;
	int8_model = q;
	fm_ref = &f->fm;
	fnet_build(&f->fm);
	lnet_build(&f->fm);
	for (int i = 0; i < N_VEC; i++)
		test_random_features(&st, vectors[i], 8);
}

int
main(void)
{
	struct engine e[8];
	int n = 0, best_int8 = -1, best_float = -1, int64 = -1;

	setup();
	e[n++] = (struct engine){"int8 portable", run_int8_portable, 0, {0}};
	if (qm_simd_supported(QM_AVX2))
		e[n++] = (struct engine){"int8 avx2", run_int8_avx2, 0, {0}};
	if (qm_simd_supported(QM_AVX512_VNNI))
		e[n++] = (struct engine){"int8 avx512-vnni", run_int8_avx512, 0, {0}};
	if (__builtin_cpu_supports("avx512f"))
		e[n++] = (struct engine){"float32 avx512 fma", run_f512, 1, {0}};
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		e[n++] = (struct engine){"float32 avx2 fma", run_f256, 1, {0}};
	e[n++] = (struct engine){"float32 scalar fm_forward (ref.)", run_fscalar, 2, {0}};
	e[n++] = (struct engine){"int64 x1000 LinnOS-style", run_int64, 3, {0}};

	check_engines();
	for (int k = 0; k < n; k++) /* warm caches and branch predictors */
		time_once(e[k].fn);
	for (int rep = 0; rep < N_REP; rep++)
		for (int k = 0; k < n; k++)
			e[k].ns[rep] = time_once(e[k].fn);

	printf("8-128-16-1, batch 1: ns per prediction over %d vectors, %d "
	       "repetitions\n", N_VEC, N_REP);
	printf("%-34s %8s %8s %8s\n", "engine", "p10", "median", "p90");
	for (int k = 0; k < n; k++) {
		double med = quantile(&e[k], 0.5);
		printf("%-34s %8.1f %8.1f %8.1f\n", e[k].name, quantile(&e[k], 0.1),
		       med, quantile(&e[k], 0.9));
		if (e[k].kind == 0 && (best_int8 < 0 || med < quantile(&e[best_int8], 0.5)))
			best_int8 = k;
		if (e[k].kind == 1 &&
		    (best_float < 0 || med < quantile(&e[best_float], 0.5)))
			best_float = k;
		if (e[k].kind == 3)
			int64 = k;
	}

	double i8 = quantile(&e[best_int8], 0.5);
	double fl = best_float >= 0 ? quantile(&e[best_float], 0.5) : NAN;
	double i64 = quantile(&e[int64], 0.5);
	printf("fastest int8: %s, %.1f ns (target <= 50 ns: %s)\n",
	       e[best_int8].name, i8, i8 <= 50.0 ? "met" : "NOT met");
	printf("float32 (%s) / int8 fastest = %.2fx (target >= 2x: %s)\n",
	       best_float >= 0 ? e[best_float].name : "none", fl / i8,
	       fl / i8 >= 2.0 ? "met" : "NOT met");
	printf("int64 x1000 / int8 fastest = %.1fx (target >= 10x: %s)\n", i64 / i8,
	       i64 / i8 >= 10.0 ? "met" : "NOT met");
	teardown();
	return 0;
}
