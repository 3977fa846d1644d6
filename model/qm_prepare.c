/* Validation and the prepare step: everything evaluation needs is checked
 * and computed here once, so that evaluation cannot fail. */
#include "qmodel.h"

static int
validate_input(const struct qm_model *m)
{
	for (uint32_t j = 0; j < m->n_features; j++) {
		if (m->input.shift[j] < 0 || m->input.shift[j] > QM_INPUT_SHIFT_MAX)
			return QM_ESHIFT;
		/* mul < 2^31 and add <= 2^62 keep x * mul + add in int64. */
		if (m->input.mul[j] < 0)
			return QM_EMULTIPLIER;
		if (m->input.add[j] > QM_INPUT_ADD_MAX ||
		    m->input.add[j] < -QM_INPUT_ADD_MAX)
			return QM_EMULTIPLIER;
	}
	return QM_OK;
}

static int
validate_layer(const struct qm_layer *l)
{
	if (l->input_zp < -128 || l->input_zp > 127 || l->output_zp < -128 ||
	    l->output_zp > 127)
		return QM_EZEROPOINT;
	if (l->act_min < -128 || l->act_max > 127 || l->act_min > l->act_max)
		return QM_EZEROPOINT;
	for (uint32_t c = 0; c < l->n_out; c++) {
		if (l->shift[c] < -31 || l->shift[c] > 30)
			return QM_ESHIFT;
		if (l->multiplier[c] < 0)
			return QM_EMULTIPLIER;
	}
	for (uint32_t c = 0; c < l->n_out; c++)
		if (l->bias[c] > QM_BIAS_MAX || l->bias[c] < -QM_BIAS_MAX)
			return QM_EBIAS;
	for (size_t k = 0; k < (size_t)l->n_out * l->n_in; k++)
		if (l->weights[k] == -128)
			return QM_EWEIGHT;
	return QM_OK;
}

int
qm_validate(const struct qm_model *m, int *where)
{
	uint32_t width = m->n_features;
	int rc;

	*where = -1;
	if (m->n_features == 0 || m->n_features > QM_MAX_FEATURES ||
	    m->n_layers == 0 || m->n_layers > QM_MAX_LAYERS)
		return QM_ESHAPE;
	rc = validate_input(m);
	if (rc != QM_OK)
		return rc;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct qm_layer *l = &m->layer[i];
		*where = (int)i;
		if (l->n_in != width || l->n_out == 0 || l->n_out > QM_MAX_WIDTH)
			return QM_ESHAPE;
		rc = validate_layer(l);
		if (rc != QM_OK)
			return rc;
		width = l->n_out;
	}
	if (width != 1)
		return QM_ESHAPE;
	*where = -1;
	return QM_OK;
}

size_t
qm_prepare_size(const struct qm_model *m)
{
	size_t n = 0;

	for (uint32_t i = 0; i < m->n_layers; i++)
		n += m->layer[i].n_out * sizeof(int32_t);
	return n;
}

int
qm_prepare(struct qm_model *m, void *arena, size_t arena_len)
{
	int32_t *next = arena;

	if (arena_len < qm_prepare_size(m))
		return QM_EARENA;
	m->max_width = m->n_features;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		struct qm_layer *l = &m->layer[i];
		for (uint32_t c = 0; c < l->n_out; c++) {
			const int8_t *w = l->weights + (size_t)c * l->n_in;
			int64_t sum = 0;
			for (uint32_t j = 0; j < l->n_in; j++)
				sum += w[j];
			/* |bias| <= 2^30 and |zp * sum| <= 128 * 127 * 1024:
			 * fits, with room for the products added at eval. */
			next[c] = l->bias[c] - l->input_zp * (int32_t)sum;
		}
		l->acc_bias = next;
		next += l->n_out;
		if (l->n_out > m->max_width)
			m->max_width = l->n_out;
	}
	m->variant = QM_PORTABLE;
	m->packed = 0;
	return QM_OK;
}
