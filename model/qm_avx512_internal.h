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
