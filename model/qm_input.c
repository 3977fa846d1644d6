/* Input operation: int32 wire features to int8 activations through the
 * per-feature affine map that folds in z-score normalisation and input
 * quantization. */
#include "qmodel.h"

void
qm_input_eval(const struct qm_model *m, const int32_t *features, int8_t *out)
{
	const struct qm_input_map *map = &m->input;

	for (uint32_t j = 0; j < m->n_features; j++) {
		/* |x * mul| < 2^62 and |add| <= 2^62 (qm_validate): no overflow.
		 * >> on a negative int64 is arithmetic (a floor) with GCC and
		 * Clang, which with the rounding term in add rounds half up. */
		int64_t v = ((int64_t)features[j] * map->mul[j] + map->add[j]) >>
			    map->shift[j];
		out[j] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
	}
}
