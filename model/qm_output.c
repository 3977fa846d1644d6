/* Output operation: the decision from the last layer's int32 logit, and
 * the int8 logistic probability from its requantized int8 value. */
#include "fixedpoint.h"
#include "qmodel.h"

void
qm_output_eval(const struct qm_model *m, int32_t logit, struct qm_result *out)
{
	const struct qm_layer *l = &m->layer[m->n_layers - 1];
	int64_t q = (int64_t)qm_mul_by_quantized_multiplier(logit, l->multiplier[0],
							    l->shift[0]) +
		    l->output_zp;

	q = q < -128 ? -128 : (q > 127 ? 127 : q);
	out->logit = logit;
	/* logit > 0 is exactly probability > 0.5, with no rounding between. */
	out->decision = logit > 0;
	out->score = (uint8_t)(m->logistic[q + 128] + 128);
}
