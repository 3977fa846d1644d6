/* The model behind iolatd serve: the one call the network layer makes
 * (predictor_predict), and reload by loading aside and swapping only a
 * model that loads and validates. The generation counts successful loads,
 * starting at 1, so clients can tell which model answered. */
#ifndef IOLAT_PREDICTOR_H
#define IOLAT_PREDICTOR_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct predictor {
	struct model *model;  /* int8, prepared */
	char path[4096];
	uint32_t generation;
};

/* Loads path (an int8 model) as generation 1. Returns 0, or -1 with err. */
int predictor_open(struct predictor *p, const char *path, char *err, size_t errlen);

/* Loads the file at p->path again, aside; on success swaps it in and bumps
 * the generation, on failure keeps serving the old model and fills err.
 * Returns 0 or -1. */
int predictor_reload(struct predictor *p, char *err, size_t errlen);

/* Decides count rows of n_features int32 features (row-major). Fails with
 * -1 only when n_features differs from the model's: nothing is reshaped. */
int predictor_predict(const struct predictor *p, const int32_t *features,
		      uint32_t count, uint32_t n_features, uint8_t *decisions,
		      uint8_t *scores, uint32_t *slow);

void predictor_close(struct predictor *p);

#endif
