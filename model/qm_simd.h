/* SIMD variants of the int8 core, bit-exact with qm_predict_portable and
 * chosen at run time from what the CPU offers. They need weights packed
 * in their own layout: qm_simd_prepare packs them once into caller memory. */
#ifndef IOLAT_QM_SIMD_H
#define IOLAT_QM_SIMD_H

#include <stddef.h>

#include "qmodel.h"

/* The fastest variant this CPU runs. */
enum qm_variant qm_simd_best(void);

/* Whether this CPU can run v. */
int qm_simd_supported(enum qm_variant v);

const char *qm_variant_name(enum qm_variant v);

/* Bytes of arena (64-byte aligned) that variant v needs for this model. */
size_t qm_simd_prepare_size(const struct qm_model *m, enum qm_variant v);

/* After qm_prepare: packs m for variant v into arena and makes qm_predict
 * use it. A model the variant cannot run exactly stays on the portable
 * core. Returns the variant in use. */
enum qm_variant qm_simd_prepare(struct qm_model *m, enum qm_variant v,
				void *arena, size_t arena_len);

#endif
