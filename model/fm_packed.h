/* The float forward pass with weights transposed to [in][out], so that the
 * inner loop runs over output channels and vectorises: what calibration
 * and evaluation over whole datasets use. Sums in the same order as
 * fm_forward, so the results are the same to the bit. */
#ifndef IOLAT_FM_PACKED_H
#define IOLAT_FM_PACKED_H

#include "fmodel.h"

struct fm_packed {
	const struct fm_model *m;
	float *wt[FM_MAX_LAYERS]; /* [n_in][n_out] */
};

/* Returns 0, or -1 when out of memory. m must outlive p. */
int fm_pack(const struct fm_model *m, struct fm_packed *p);
void fm_packed_free(struct fm_packed *p);

/* As fm_forward. */
float fm_forward_packed(const struct fm_packed *p, const float *features,
			float *acts);

#endif
