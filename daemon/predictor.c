/* Model holder with hot swap. */
#include <stdio.h>
#include <string.h>

#include "model_file.h"
#include "predictor.h"

static struct model *
load_int8(const char *path, char *err, size_t errlen)
{
	struct model *m = mf_load(path, err, errlen);

	if (m != NULL && m->kind != MODEL_INT8) {
		/* The daemon serves the integer engine only: a float model
		 * would silently change the speed and the semantics. */
		snprintf(err, errlen, "%s: a float32 model; iolatd serve needs int8 "
				      "(iolatd calibrate makes one)", path);
		model_free(m);
		return NULL;
	}
	return m;
}

int
predictor_open(struct predictor *p, const char *path, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (strlen(path) >= sizeof(p->path)) {
		snprintf(err, errlen, "model path too long");
		return -1;
	}
	p->model = load_int8(path, err, errlen);
	if (p->model == NULL)
		return -1;
	memcpy(p->path, path, strlen(path) + 1);
	p->generation = 1;
	return 0;
}

int
predictor_reload(struct predictor *p, char *err, size_t errlen)
{
	struct model *fresh = load_int8(p->path, err, errlen);

	if (fresh == NULL)
		return -1;
	model_free(p->model);
	p->model = fresh;
	p->generation++;
	return 0;
}

int
predictor_predict(const struct predictor *p, const int32_t *features,
		  uint32_t count, uint32_t n_features, uint8_t *decisions,
		  uint8_t *scores, uint32_t *slow)
{
	int8_t scratch[QM_SCRATCH_BYTES];
	uint32_t n_slow = 0;

	if (n_features != p->model->n_features)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		struct qm_result r;
		qm_predict(&p->model->qm, features + (size_t)i * n_features, n_features,
			   scratch, &r);
		decisions[i] = r.decision;
		scores[i] = r.score;
		n_slow += r.decision;
	}
	if (slow)
		*slow = n_slow;
	return 0;
}

void
predictor_close(struct predictor *p)
{
	model_free(p->model);
	memset(p, 0, sizeof(*p));
}
