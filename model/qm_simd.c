/* Variant selection and dispatch. */
#include "qm_simd.h"

enum qm_variant
qm_simd_best(void)
{
	return QM_PORTABLE;
}

int
qm_simd_supported(enum qm_variant v)
{
	return v == QM_PORTABLE;
}

const char *
qm_variant_name(enum qm_variant v)
{
	switch (v) {
	case QM_PORTABLE:
		return "portable";
	case QM_AVX2:
		return "avx2";
	case QM_AVX512_VNNI:
		return "avx512-vnni";
	}
	return "unknown";
}

size_t
qm_simd_prepare_size(const struct qm_model *m, enum qm_variant v)
{
	(void)m;
	(void)v;
	return 0;
}

enum qm_variant
qm_simd_prepare(struct qm_model *m, enum qm_variant v, void *arena,
		size_t arena_len)
{
	(void)v;
	(void)arena;
	(void)arena_len;
	m->variant = QM_PORTABLE;
	m->packed = 0;
	return QM_PORTABLE;
}

int
qm_predict(const struct qm_model *m, const int32_t *features,
	   uint32_t n_features, int8_t *scratch, struct qm_result *out)
{
	return qm_predict_portable(m, features, n_features, scratch, out);
}
