/* Reading model files (model_file.h, DESIGN.md "File formats").
 *
 * The loader trusts nothing in the file: every attribute and dataset goes
 * through h5io's checks of presence, type class, shape and range before it
 * reaches the model, and the widths are checked to chain before anything
 * is allocated. int8 weights must be stored as int8, so that float
 * weights in an int8 model are refused instead of silently rounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "h5io.h"
#include "model_file.h"

/* An int32 vector or scalar: at most QM_MAX_WIDTH values. */
static int
read_i32(struct h5io_ctx *c, const struct h5io_grp *g, struct h5io_item it,
	 int64_t lo, int64_t hi, int32_t *out)
{
	int64_t wide[QM_MAX_WIDTH];
	size_t n = h5io_item_count(&it);

	if (n > QM_MAX_WIDTH)
		return h5io_fail(c, "internal error: %s too large", it.name);
	if (h5io_read_ints(c, g, it, lo, hi, wide) != 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		out[k] = (int32_t)wide[k];
	return 0;
}

static int
read_int8_weights(struct h5io_ctx *c, const struct h5io_grp *g,
		  struct h5io_item it, int8_t *out)
{
	size_t n = h5io_item_count(&it);

	if (h5io_read_item(c, g, &it, H5IO_INT8, H5T_NATIVE_INT8, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (out[k] != -128)
			continue;
		return h5io_fail_at(c, g, &it, k,
				    "is -128, outside the symmetric range "
				    "-127..127");
	}
	return 0;
}

static int
bad_text(struct h5io_ctx *c, const struct h5io_grp *g, const char *attr,
	 const char *found, const char *expected)
{
	struct h5io_item it = H5IO_ATTR(attr);

	return h5io_fail_at(c, g, &it, 0, "is \"%s\", expected %s", found,
			    expected);
}

/* ---- the model, piece by piece ---- */

static int
read_identity(struct h5io_ctx *c, const struct h5io_grp *root,
	      enum model_kind *kind, uint32_t *n_features)
{
	char text[MODEL_NAME_MAX];
	int64_t v;

	if (h5io_read_strings(c, root, H5IO_ATTR("format"), text,
			      sizeof(text)) != 0)
		return -1;
	if (strcmp(text, MF_FORMAT) != 0)
		return bad_text(c, root, "format", text, "\"" MF_FORMAT "\"");
	if (h5io_read_ints(c, root, H5IO_ATTR("format_version"), INT64_MIN,
			   INT64_MAX, &v) != 0)
		return -1;
	if (v != MF_FORMAT_VERSION)
		return h5io_fail(c, "attribute /format_version is %lld, "
				 "expected %d",
				 (long long)v, MF_FORMAT_VERSION);
	if (h5io_read_strings(c, root, H5IO_ATTR("kind"), text,
			      sizeof(text)) != 0)
		return -1;
	if (strcmp(text, "float32") == 0)
		*kind = MODEL_FLOAT32;
	else if (strcmp(text, "int8") == 0)
		*kind = MODEL_INT8;
	else
		return bad_text(c, root, "kind", text, "\"float32\" or \"int8\"");
	if (h5io_read_ints(c, root, H5IO_ATTR("n_features"), 1, QM_MAX_FEATURES,
			   &v) != 0)
		return -1;
	*n_features = (uint32_t)v;
	return 0;
}

/* Layer i's output width from its weights' shape, which must be
 * [out, widths[i]] with out 1..QM_MAX_WIDTH (1 for the last layer). */
static int
layer_width(struct h5io_ctx *c, const struct h5io_grp *layers, uint32_t i,
	    uint32_t n_layers, uint32_t *widths)
{
	struct h5io_item it = H5IO_DSET_MAT("weights", 1, widths[i]);
	hsize_t dim[H5S_MAX_RANK] = {0};
	char name[16], found[96];
	struct h5io_grp g;
	struct h5io_obj o;
	int rank = -1, rc;
	hid_t s;

	snprintf(name, sizeof(name), "%u", i);
	if (h5io_open_group(c, layers, name, &g) != 0)
		return -1;
	rc = h5io_open_obj(c, &g, &it, &o);
	if (rc == 0 && (s = H5Dget_space(o.id)) >= 0) {
		if (H5Sget_simple_extent_type(s) != H5S_NULL)
			rank = H5Sget_simple_extent_dims(s, dim, NULL);
		H5Sclose(s);
	}
	/* A hidden layer may have any row count: take the found one, so a
	 * chain break reads [16,64], expected [16,128]. */
	if (rc == 0 && i + 1 < n_layers) {
		if (rank == 2 && dim[0] >= 1 && dim[0] <= QM_MAX_WIDTH) {
			it.dim[0] = dim[0];
		} else {
			h5io_shape_text(found, sizeof(found), rank, dim);
			rc = h5io_fail(c, "%s has shape %s, "
				       "expected [1..%d,%u]", o.name, found,
				       QM_MAX_WIDTH, widths[i]);
		}
	}
	if (rc == 0)
		rc = h5io_check_shape(c, &o, &it);
	if (rc == 0)
		widths[i + 1] = (uint32_t)it.dim[0];
	h5io_close_obj(&o);
	h5io_close_group(&g);
	return rc;
}

/* The layer count and every width, checked to chain from n_features to 1
 * before anything is allocated. */
static int
read_widths(struct h5io_ctx *c, const struct h5io_grp *root,
	    uint32_t *widths, uint32_t *n_layers)
{
	struct h5io_grp layers;
	H5G_info_t info;
	int rc = h5io_open_group(c, root, "layers", &layers);

	if (rc == 0 && H5Gget_info(layers.id, &info) < 0)
		rc = h5io_fail_h5(c, "cannot read", layers.path);
	if (rc == 0 && (info.nlinks == 0 || info.nlinks > QM_MAX_LAYERS))
		rc = h5io_fail(c, "group /layers holds %llu layers, "
			       "expected 1..%d",
			       (unsigned long long)info.nlinks, QM_MAX_LAYERS);
	if (rc == 0)
		*n_layers = (uint32_t)info.nlinks;
	for (uint32_t i = 0; rc == 0 && i < *n_layers; i++)
		rc = layer_width(c, &layers, i, *n_layers, widths);
	h5io_close_group(&layers);
	return rc;
}

static int
read_names(struct h5io_ctx *c, const struct h5io_grp *root, struct model *m)
{
	if (h5io_read_strings(c, root,
			      H5IO_ATTR_VEC("feature_names", m->n_features),
			      &m->feature_names[0][0], MODEL_NAME_MAX) != 0 ||
	    h5io_read_strings(c, root, H5IO_ATTR("created_by"), m->created_by,
			      sizeof(m->created_by)) != 0)
		return -1;
	if (m->kind == MODEL_INT8)
		return h5io_read_strings(c, root,
					 H5IO_ATTR("calibration_mode"),
					 m->calibration_mode,
					 sizeof(m->calibration_mode));
	return 0;
}

static int
read_input(struct h5io_ctx *c, const struct h5io_grp *root, struct model *m)
{
	struct h5io_grp g;
	uint32_t n = m->n_features;
	struct qm_input_map *in = &m->qm.input;
	int rc = h5io_open_group(c, root, "input", &g);

	if (rc != 0)
		return -1;
	if (m->kind == MODEL_FLOAT32) {
		rc = h5io_read_floats(c, &g, H5IO_DSET_VEC("mean", n),
				      H5IO_FINITE, m->fm.mean) ||
		     h5io_read_floats(c, &g, H5IO_DSET_VEC("std", n),
				      H5IO_POSITIVE, m->fm.std);
	} else {
		rc = read_i32(c, &g, H5IO_DSET_VEC("mul", n), 0, INT32_MAX,
			      (int32_t *)in->mul) ||
		     h5io_read_ints(c, &g, H5IO_DSET_VEC("add", n),
				    -QM_INPUT_ADD_MAX, QM_INPUT_ADD_MAX,
				    (int64_t *)in->add) ||
		     read_i32(c, &g, H5IO_DSET_VEC("shift", n), 0,
			      QM_INPUT_SHIFT_MAX, (int32_t *)in->shift) ||
		     h5io_read_floats(c, &g, H5IO_DSET_VEC("mean", n),
				      H5IO_FINITE, m->input_mean) ||
		     h5io_read_floats(c, &g, H5IO_DSET_VEC("std", n),
				      H5IO_POSITIVE, m->input_std) ||
		     h5io_read_floats(c, &g, H5IO_ATTR_VEC("scale", n),
				      H5IO_POSITIVE, m->input_scale) ||
		     read_i32(c, &g, H5IO_ATTR_VEC("zero_point", n), -128, 127,
			      m->input_zp);
	}
	h5io_close_group(&g);
	return rc ? -1 : 0;
}

static int
read_activation(struct h5io_ctx *c, const struct h5io_grp *g, int last,
		int *relu)
{
	char act[16];

	if (h5io_read_strings(c, g, H5IO_ATTR("activation"), act,
			      sizeof(act)) != 0)
		return -1;
	if (last && strcmp(act, "none") != 0)
		return bad_text(c, g, "activation", act,
				"\"none\" on the last layer");
	if (strcmp(act, "relu") != 0 && strcmp(act, "none") != 0)
		return bad_text(c, g, "activation", act, "\"relu\" or \"none\"");
	*relu = strcmp(act, "relu") == 0;
	return 0;
}

static int
read_float_layer(struct h5io_ctx *c, const struct h5io_grp *g,
		 struct fm_layer *l)
{
	if (h5io_read_floats(c, g, H5IO_DSET_MAT("weights", l->n_out, l->n_in),
			     H5IO_FINITE, l->weights) != 0 ||
	    h5io_read_floats(c, g, H5IO_DSET_VEC("bias", l->n_out), H5IO_FINITE,
			     l->bias) != 0)
		return -1;
	return 0;
}

/* prev: the layer before, whose output zero point this one's
 * input_zero_point must repeat; NULL for layer 0, whose input zero points
 * are per feature and may be folded into its bias. */
static int
read_int8_layer(struct h5io_ctx *c, const struct h5io_grp *g,
		struct qm_layer *l, struct model_qlayer *ql,
		const struct qm_layer *prev)
{
	uint32_t out = l->n_out;

	if (read_int8_weights(c, g, H5IO_DSET_MAT("weights", out, l->n_in),
			      (int8_t *)l->weights) ||
	    read_i32(c, g, H5IO_DSET_VEC("bias", out), -QM_BIAS_MAX,
		     QM_BIAS_MAX, (int32_t *)l->bias) ||
	    read_i32(c, g, H5IO_DSET_VEC("multiplier", out), 0, INT32_MAX,
		     (int32_t *)l->multiplier) ||
	    read_i32(c, g, H5IO_DSET_VEC("shift", out), -31, 30,
		     (int32_t *)l->shift) ||
	    read_i32(c, g, H5IO_ATTR("input_zero_point"), -128, 127,
		     &l->input_zp) ||
	    read_i32(c, g, H5IO_ATTR("output_zero_point"), -128, 127,
		     &l->output_zp) ||
	    h5io_read_floats(c, g, H5IO_ATTR("input_scale"), H5IO_POSITIVE,
			     &ql->input_scale) ||
	    h5io_read_floats(c, g, H5IO_ATTR("output_scale"), H5IO_POSITIVE,
			     &ql->output_scale) ||
	    h5io_read_floats(c, g, H5IO_ATTR_VEC("weight_scale", out),
			     H5IO_POSITIVE, ql->weight_scale))
		return -1;
	/* Evaluation feeds the previous tensor's int8 values straight in:
	 * a different zero point here would misread every one of them. */
	if (prev != NULL && l->input_zp != prev->output_zp)
		return h5io_fail(c, "attribute %s/input_zero_point is %d, "
				 "expected %d (the previous layer's "
				 "output_zero_point)",
				 g->path, l->input_zp, prev->output_zp);
	l->act_min = ql->relu ? l->output_zp : -128;
	l->act_max = 127;
	return 0;
}

static int
read_layers(struct h5io_ctx *c, const struct h5io_grp *root, struct model *m)
{
	struct h5io_grp layers, g;
	char name[16];
	int rc = h5io_open_group(c, root, "layers", &layers);

	for (uint32_t i = 0; rc == 0 && i < m->n_layers; i++) {
		int last = i + 1 == m->n_layers, relu = 0;

		snprintf(name, sizeof(name), "%u", i);
		if (h5io_open_group(c, &layers, name, &g) != 0)
			break;
		rc = read_activation(c, &g, last, &relu);
		if (rc == 0 && m->kind == MODEL_FLOAT32) {
			m->fm.layer[i].relu = relu;
			rc = read_float_layer(c, &g, &m->fm.layer[i]);
		} else if (rc == 0) {
			m->ql[i].relu = relu;
			rc = read_int8_layer(c, &g, &m->qm.layer[i], &m->ql[i],
					     i ? &m->qm.layer[i - 1] : NULL);
		}
		h5io_close_group(&g);
	}
	h5io_close_group(&layers);
	return c->failed ? -1 : 0;
}

static struct model *
load_model(struct h5io_ctx *c, hid_t file)
{
	struct h5io_grp root = {file, "/"};
	uint32_t widths[QM_MAX_LAYERS + 1];
	uint32_t n_layers = 0;
	enum model_kind kind = MODEL_FLOAT32;
	struct model *m;
	char msg[256];

	if (read_identity(c, &root, &kind, &widths[0]) != 0 ||
	    read_widths(c, &root, widths, &n_layers) != 0)
		return NULL;
	m = model_new(kind, n_layers, widths);
	if (m == NULL) {
		h5io_fail(c, "out of memory");
		return NULL;
	}
	if (read_names(c, &root, m) != 0 || read_input(c, &root, m) != 0 ||
	    read_layers(c, &root, m) != 0)
		goto bad;
	/* Checks the loader has not (it should agree), then prepares. */
	if (kind == MODEL_INT8 && model_finish_int8(m, msg, sizeof(msg)) != 0) {
		h5io_fail(c, "%s", msg);
		goto bad;
	}
	return m;
bad:
	model_free(m);
	return NULL;
}

struct model *
mf_load(const char *path, char *err, size_t errlen)
{
	struct h5io_ctx c = {path, err, errlen, 0};
	struct model *m = NULL;
	hid_t file = H5I_INVALID_HID;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	h5io_quiet();
	if (h5io_open_file(&c, &file) == 0) {
		m = load_model(&c, file);
		H5Fclose(file);
	}
	return m;
}
