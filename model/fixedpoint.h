/* Fixed-point helpers of gemmlowp's fixedpoint.h, as TFLite uses them to
 * requantize int32 accumulators. Integer only: safe in the freestanding core.
 */
#ifndef IOLAT_FIXEDPOINT_H
#define IOLAT_FIXEDPOINT_H

#include <stdint.h>

/* Saturating rounding doubling high multiply: (a * b * 2) >> 32, rounded.
 * The only overflow, INT32_MIN * INT32_MIN, saturates to INT32_MAX.
 * The nudge-then-truncate form is gemmlowp's, kept literally so that the
 * SIMD kernels have a reference to be bit-exact against. */
static inline int32_t
qm_srdhm(int32_t a, int32_t b)
{
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	int64_t ab = (int64_t)a * (int64_t)b;
	int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
	return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* Rounding divide by 2^exponent, ties away from zero (gemmlowp's
 * RoundingDivideByPOT). exponent is 0..31. */
static inline int32_t
qm_rdivpot(int32_t x, int exponent)
{
	int64_t mask = ((int64_t)1 << exponent) - 1;
	int64_t remainder = (int64_t)x & mask;
	int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	/* >> on a negative int32 is arithmetic with GCC and Clang. */
	return (int32_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

/* x * multiplier * 2^shift with multiplier a Q0.31 value, as TFLite's
 * MultiplyByQuantizedMultiplier. shift is -31..30; a left shift saturates
 * instead of overflowing (TFLite leaves that case undefined). */
static inline int32_t
qm_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
	int left = shift > 0 ? shift : 0;
	int right = shift > 0 ? 0 : -shift;
	if (left > 0) {
		int64_t wide = (int64_t)x * ((int64_t)1 << left);
		if (wide > INT32_MAX)
			wide = INT32_MAX;
		else if (wide < INT32_MIN)
			wide = INT32_MIN;
		x = (int32_t)wide;
	}
	return qm_rdivpot(qm_srdhm(x, multiplier), right);
}

static inline int32_t
qm_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

#endif
