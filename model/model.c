/* Model container: allocation, the int8 finishing step, and prediction
 * with either kind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "qm_simd.h"
#include "qm_simd_internal.h"

const char *const model_default_feature_names[8] = {
	"io_type",           "size",
	"prev_latency_1",    "prev_latency_2",
	"prev_latency_3",    "prev_throughput_1",
	"prev_throughput_2", "prev_throughput_3",
};

/* Arrays start on QM_SIMD_ALIGN boundaries, carved as the SIMD variants
 * carve theirs: SIMD variants load whole rows. */
/* Run once with base NULL to size the block, once more to carve it. */
static void
carve(struct model *m, struct qm_simd_bump *b, const uint32_t *widths)
{
	uint32_t n = widths[0];

	if (m->kind == MODEL_FLOAT32) {
		m->fm.mean = qm_simd_take(b, n * sizeof(float));
		m->fm.std = qm_simd_take(b, n * sizeof(float));
	} else {
		m->qm.input.mul = qm_simd_take(b, n * sizeof(int32_t));
		m->qm.input.add = qm_simd_take(b, n * sizeof(int64_t));
		m->qm.input.shift = qm_simd_take(b, n * sizeof(int32_t));
		m->input_mean = qm_simd_take(b, n * sizeof(float));
		m->input_std = qm_simd_take(b, n * sizeof(float));
	}
	for (uint32_t i = 0; i < m->n_layers; i++) {
		size_t in = widths[i], out = widths[i + 1];
		if (m->kind == MODEL_FLOAT32) {
			m->fm.layer[i].weights = qm_simd_take(b, in * out * sizeof(float));
			m->fm.layer[i].bias = qm_simd_take(b, out * sizeof(float));
		} else {
			m->qm.layer[i].weights = qm_simd_take(b, in * out);
			m->qm.layer[i].bias = qm_simd_take(b, out * sizeof(int32_t));
			m->qm.layer[i].multiplier = qm_simd_take(b, out * sizeof(int32_t));
			m->qm.layer[i].shift = qm_simd_take(b, out * sizeof(int32_t));
			m->ql[i].weight_scale = qm_simd_take(b, out * sizeof(float));
		}
	}
}

struct model *
model_new(enum model_kind kind, uint32_t n_layers, const uint32_t *widths)
{
	struct model *m;
	struct qm_simd_bump b = {NULL, 0};

	if (n_layers == 0 || n_layers > QM_MAX_LAYERS || widths[0] == 0 ||
	    widths[0] > QM_MAX_FEATURES || widths[n_layers] != 1)
		return NULL;
	for (uint32_t i = 1; i <= n_layers; i++)
		if (widths[i] == 0 || widths[i] > QM_MAX_WIDTH)
			return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->kind = kind;
	m->n_features = widths[0];
	m->n_layers = n_layers;
	carve(m, &b, widths);
	if (posix_memalign(&m->mem, QM_SIMD_ALIGN, b.used ? b.used : QM_SIMD_ALIGN)) {
		free(m);
		return NULL;
	}
	memset(m->mem, 0, b.used);
	b.base = m->mem;
	b.used = 0;
	carve(m, &b, widths);

	m->fm.n_features = m->qm.n_features = widths[0];
	m->fm.n_layers = m->qm.n_layers = n_layers;
	for (uint32_t i = 0; i < n_layers; i++) {
		int relu = i + 1 < n_layers;
		m->fm.layer[i].n_in = m->qm.layer[i].n_in = widths[i];
		m->fm.layer[i].n_out = m->qm.layer[i].n_out = widths[i + 1];
		m->fm.layer[i].relu = m->ql[i].relu = relu;
		m->qm.layer[i].act_min = -128;
		m->qm.layer[i].act_max = 127;
	}
	for (uint32_t j = 0; j < widths[0]; j++) {
		const char *name = j < 8 ? model_default_feature_names[j] : "";
		if (j >= 8)
			snprintf(m->feature_names[j], MODEL_NAME_MAX, "feature_%u", j);
		else
			snprintf(m->feature_names[j], MODEL_NAME_MAX, "%s", name);
	}
	snprintf(m->created_by, sizeof(m->created_by), "iolat");
	return m;
}

static const char *
qm_error_text(int rc)
{
	switch (rc) {
	case QM_ESHAPE:
		return "layer widths do not chain from n_features to 1";
	case QM_ESHIFT:
		return "shift out of range";
	case QM_EZEROPOINT:
		return "zero point or activation range outside int8";
	case QM_EWEIGHT:
		return "weight -128 outside the symmetric range -127..127";
	case QM_EMULTIPLIER:
		return "multiplier or input offset out of range";
	case QM_EBIAS:
		return "bias magnitude over 2^30";
	}
	return "invalid model";
}

/* TFLite's int8 logistic output: scale 1/256, zero point -128. */
static void
build_logistic_table(struct model *m)
{
	const struct qm_layer *l = &m->qm.layer[m->n_layers - 1];
	double scale = m->ql[m->n_layers - 1].output_scale;

	for (int q = -128; q <= 127; q++) {
		double p = 1.0 / (1.0 + exp(-scale * (q - l->output_zp)));
		long v = lround(p * 256.0) - 128;
		m->qm.logistic[q + 128] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
	}
}

int
model_finish_int8(struct model *m, char *err, size_t errlen)
{
	int where;
	int rc = qm_validate(&m->qm, &where);
	size_t len;

	if (rc != QM_OK) {
		if (where >= 0)
			snprintf(err, errlen, "/layers/%d: %s", where, qm_error_text(rc));
		else
			snprintf(err, errlen, "%s", qm_error_text(rc));
		return -1;
	}
	if (!(m->ql[m->n_layers - 1].output_scale > 0.0f) ||
	    !isfinite(m->ql[m->n_layers - 1].output_scale)) {
		snprintf(err, errlen, "/layers/%u: output_scale must be positive",
			 m->n_layers - 1);
		return -1;
	}
	build_logistic_table(m);
	len = qm_prepare_size(&m->qm);
	free(m->arena);
	m->arena = malloc(len ? len : 1);
	if (m->arena == NULL || qm_prepare(&m->qm, m->arena, len) != QM_OK) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	enum qm_variant v = qm_simd_best();
	len = qm_simd_prepare_size(&m->qm, v);
	free(m->simd_arena);
	m->simd_arena = NULL;
	if (len > 0 && posix_memalign(&m->simd_arena, QM_SIMD_ALIGN, len) != 0) {
		m->simd_arena = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	qm_simd_prepare(&m->qm, v, m->simd_arena, len);
	return 0;
}

int
model_predict(const struct model *m, const int32_t *features,
	      uint32_t n_features, int *decision, float *probability)
{
	if (n_features != m->n_features)
		return -1;
	if (m->kind == MODEL_INT8) {
		int8_t scratch[QM_SCRATCH_BYTES];
		struct qm_result r;
		qm_predict(&m->qm, features, n_features, scratch, &r);
		*decision = r.decision;
		*probability = r.score / 256.0f;
		return 0;
	}
	float x[QM_MAX_FEATURES];
	float *acts = malloc(fm_acts_len(&m->fm) * sizeof(float));
	if (acts == NULL)
		return -1;
	for (uint32_t j = 0; j < n_features; j++)
		x[j] = (float)features[j];
	float logit = fm_forward(&m->fm, x, acts);
	free(acts);
	*decision = logit > 0.0f;
	*probability = fm_sigmoid(logit);
	return 0;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	free(m->mem);
	free(m->arena);
	free(m->simd_arena);
	free(m);
}
