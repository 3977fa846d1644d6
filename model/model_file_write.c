/* Writing model files (model_file.h, DESIGN.md "File formats"): into a
 * temporary file next to the target, synced, then renamed over it, so
 * that readers see the old file or the whole new one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "h5io.h"
#include "model_file.h"

static int
write_header(struct h5io_ctx *c, const struct h5io_grp *root,
	     const struct model *m)
{
	int32_t version = MF_FORMAT_VERSION, n = (int32_t)m->n_features;
	const char *kind = m->kind == MODEL_INT8 ? "int8" : "float32";

	if (h5io_write_string(c, root, "format", MF_FORMAT,
			      sizeof(MF_FORMAT)) ||
	    h5io_write_i32(c, root, H5IO_ATTR("format_version"), &version) ||
	    h5io_write_string(c, root, "kind", kind, strlen(kind) + 1) ||
	    h5io_write_i32(c, root, H5IO_ATTR("n_features"), &n) ||
	    h5io_write_strings(c, root,
			       H5IO_ATTR_VEC("feature_names", m->n_features),
			       &m->feature_names[0][0], MODEL_NAME_MAX) ||
	    h5io_write_string(c, root, "created_by", m->created_by,
			      sizeof(m->created_by)))
		return -1;
	if (m->kind == MODEL_INT8)
		return h5io_write_string(c, root, "calibration_mode",
					 m->calibration_mode,
					 sizeof(m->calibration_mode));
	return 0;
}

static int
write_input(struct h5io_ctx *c, const struct h5io_grp *root,
	    const struct model *m)
{
	struct h5io_grp g;
	uint32_t n = m->n_features;
	const struct qm_input_map *in = &m->qm.input;
	int rc;

	if (h5io_create_group(c, root, "input", &g) != 0)
		return -1;
	if (m->kind == MODEL_FLOAT32)
		rc = h5io_write_f32(c, &g, H5IO_DSET_VEC("mean", n),
				    m->fm.mean) ||
		     h5io_write_f32(c, &g, H5IO_DSET_VEC("std", n), m->fm.std);
	else
		rc = h5io_write_i32(c, &g, H5IO_DSET_VEC("mul", n), in->mul) ||
		     h5io_write_item(c, &g, H5IO_DSET_VEC("add", n),
				     H5T_STD_I64LE, H5T_NATIVE_INT64,
				     in->add) ||
		     h5io_write_i32(c, &g, H5IO_DSET_VEC("shift", n),
				    in->shift) ||
		     h5io_write_f32(c, &g, H5IO_DSET_VEC("mean", n),
				    m->input_mean) ||
		     h5io_write_f32(c, &g, H5IO_DSET_VEC("std", n),
				    m->input_std) ||
		     h5io_write_f32(c, &g, H5IO_ATTR_VEC("scale", n),
				    m->input_scale) ||
		     h5io_write_i32(c, &g, H5IO_ATTR_VEC("zero_point", n),
				    m->input_zp);
	h5io_close_group(&g);
	return rc ? -1 : 0;
}

static int
write_float_layer(struct h5io_ctx *c, const struct h5io_grp *g,
		  const struct fm_layer *l)
{
	if (h5io_write_f32(c, g, H5IO_DSET_MAT("weights", l->n_out, l->n_in),
			   l->weights) ||
	    h5io_write_f32(c, g, H5IO_DSET_VEC("bias", l->n_out), l->bias))
		return -1;
	return 0;
}

static int
write_int8_layer(struct h5io_ctx *c, const struct h5io_grp *g,
		 const struct qm_layer *l, const struct model_qlayer *ql)
{
	uint32_t out = l->n_out;

	if (h5io_write_item(c, g, H5IO_DSET_MAT("weights", out, l->n_in),
			    H5T_STD_I8LE, H5T_NATIVE_INT8, l->weights) ||
	    h5io_write_i32(c, g, H5IO_DSET_VEC("bias", out), l->bias) ||
	    h5io_write_i32(c, g, H5IO_DSET_VEC("multiplier", out),
			   l->multiplier) ||
	    h5io_write_i32(c, g, H5IO_DSET_VEC("shift", out), l->shift) ||
	    h5io_write_i32(c, g, H5IO_ATTR("input_zero_point"),
			   &l->input_zp) ||
	    h5io_write_i32(c, g, H5IO_ATTR("output_zero_point"),
			   &l->output_zp) ||
	    h5io_write_f32(c, g, H5IO_ATTR("input_scale"), &ql->input_scale) ||
	    h5io_write_f32(c, g, H5IO_ATTR("output_scale"),
			   &ql->output_scale) ||
	    h5io_write_f32(c, g, H5IO_ATTR_VEC("weight_scale", out),
			   ql->weight_scale))
		return -1;
	return 0;
}

static int
write_layers(struct h5io_ctx *c, const struct h5io_grp *root,
	     const struct model *m)
{
	struct h5io_grp layers, g;
	char name[16];

	if (h5io_create_group(c, root, "layers", &layers) != 0)
		return -1;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *fl = &m->fm.layer[i];
		int relu = m->kind == MODEL_INT8 ? m->ql[i].relu : fl->relu;
		const char *act = relu ? "relu" : "none";

		snprintf(name, sizeof(name), "%u", i);
		if (h5io_create_group(c, &layers, name, &g) != 0)
			break;
		if (h5io_write_string(c, &g, "activation", act,
				      strlen(act) + 1) == 0) {
			if (m->kind == MODEL_INT8)
				write_int8_layer(c, &g, &m->qm.layer[i],
						 &m->ql[i]);
			else
				write_float_layer(c, &g, fl);
		}
		h5io_close_group(&g);
		if (c->failed)
			break;
	}
	h5io_close_group(&layers);
	return c->failed ? -1 : 0;
}

int
mf_save(const struct model *m, const char *path, char *err, size_t errlen)
{
	struct h5io_ctx c = {path, err, errlen, 0};
	char tmp[4200];
	hid_t file;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((m->kind != MODEL_FLOAT32 && m->kind != MODEL_INT8) ||
	    m->n_layers == 0 || m->n_layers > QM_MAX_LAYERS ||
	    m->n_features == 0 || m->n_features > QM_MAX_FEATURES)
		return h5io_fail(&c, "cannot write an invalid model");
	h5io_quiet();
	file = h5io_create_temp(&c, tmp, sizeof(tmp));
	if (file < 0)
		return -1;
	struct h5io_grp root = {file, "/"};
	if (write_header(&c, &root, m) == 0 && write_input(&c, &root, m) == 0)
		write_layers(&c, &root, m);
	return h5io_commit(&c, file, tmp);
}
