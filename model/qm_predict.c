/* The portable forward pass: input map, hidden layers, output. */
#include "qmodel.h"

int
qm_predict_portable(const struct qm_model *m, const int32_t *features,
		    uint32_t n_features, int8_t *scratch, struct qm_result *out)
{
	int8_t *a = scratch;
	int8_t *b = scratch + QM_MAX_WIDTH;
	uint32_t last = m->n_layers - 1;

	if (n_features != m->n_features)
		return QM_ESHAPE;
	qm_input_eval(m, features, a);
	for (uint32_t i = 0; i < last; i++) {
		int8_t *t;
		qm_dense_eval(&m->layer[i], a, b);
		t = a;
		a = b;
		b = t;
	}
	qm_output_eval(m, qm_dense_acc(&m->layer[last], a, 0), out);
	return QM_OK;
}
