/* What the two files of the AVX-512 VNNI variant share: qm_avx512.c (the
 * layer-by-layer path, packing and dispatch) and qm_avx512_regs.c (the
 * register pipeline for FlashNet-shaped models, which carve places in the
 * arena and qm_avx512_predict calls).
 */
#ifndef IOLAT_QM_AVX512_INTERNAL_H
#define IOLAT_QM_AVX512_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "qm_simd_internal.h"

/* The register pipeline's packed model, laid out in qm_avx512_regs.c. */
struct avx512_small;

/* Bytes of a struct avx512_small. */
size_t qm_avx512_regs_size(void);

/* Packs m, for which qm_avx512_register_path holds, into S
 * (QM_SIMD_ALIGN-aligned, qm_avx512_regs_size bytes). Plain C. */
void qm_avx512_regs_pack(struct avx512_small *S, const struct qm_model *m);

/* The bias of channel c of l (0 past n_out) for activations q - in_min:
 * acc_bias + sum w q = acc_bias + in_min sum w + sum w (q - in_min).
 * |acc_bias| < 2^30 + 2^24 and |in_min sum w| < 2^24: it fits. Both
 * paths feed VNNI unsigned bytes, q + 128, so in_min is -128 for them. */
static inline int32_t
qm_avx512_bias(const struct qm_layer *l, uint32_t c, int32_t in_min)
{
	int64_t sum = 0;

	if (c >= l->n_out)
		return 0;
	for (uint32_t j = 0; j < l->n_in; j++)
		sum += l->weights[(size_t)c * l->n_in + j];
	return (int32_t)(l->acc_bias[c] + in_min * sum);
}

/* The channel at lane of group g of a block of 64 channels: packssdw then
 * packsswb of accumulators t = 0..3 put lane 4i + j of accumulator t at
 * byte 16i + 4t + j, so that byte is channel 16i + 4t + j of the block. */
static inline uint32_t
qm_avx512_pack_channel(size_t g, size_t lane)
{
	return (uint32_t)(g / 4 * 64 + lane / 4 * 16 + g % 4 * 4 + lane % 4);
}

#if QM_HAVE_X86_SIMD
#include <immintrin.h>

#define TARGET \
	__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define INLINE static inline __attribute__((always_inline)) TARGET

/* The forward pass of the register pipeline, n_features <= 8. */
void qm_avx512_regs_predict(const struct avx512_small *S, uint32_t n_features,
			    const int32_t *features, struct qm_result *out);
#endif

#endif
