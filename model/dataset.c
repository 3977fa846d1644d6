/* Datasets of feature vectors in HDF5 (dataset.h, DESIGN.md "File
 * formats"): the compact layout and Samsung ONE's representative dataset.
 *
 * Like model files, datasets come from elsewhere (h5py, ONE's tools), so
 * every object goes through h5io's checks before its values are used.
 * ONE's layout holds one group per record: reading it costs a few HDF5
 * calls per record, kept to the minimum (one path lookup, one type and
 * shape check, one read into place with a reused memory space).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "dataset.h"
#include "h5io.h"

#define DS_FORMAT "iolat-dataset"

int
ds_alloc(struct ds *d, size_t n, uint32_t n_features, int labelled)
{
	/* At least one element each, so that an empty dataset still has
	 * buffers to copy nothing into. */
	size_t rows = n ? n : 1, cols = n_features ? n_features : 1;

	memset(d, 0, sizeof(*d));
	if (rows > SIZE_MAX / sizeof(float) / cols)
		return -1;
	d->features = malloc(rows * cols * sizeof(float));
	if (labelled) {
		d->labels = malloc(rows);
		d->latency_us = malloc(rows * sizeof(uint32_t));
	}
	if (d->features == NULL ||
	    (labelled && (d->labels == NULL || d->latency_us == NULL))) {
		ds_free(d);
		return -1;
	}
	d->n = n;
	d->n_features = n_features;
	return 0;
}

void
ds_free(struct ds *d)
{
	free(d->features);
	free(d->labels);
	free(d->latency_us);
	memset(d, 0, sizeof(*d));
}

/* ---- reading ---- */

/* Link name exists in g: 1, 0, or -1 after failing. */
static int
exists(struct h5io_ctx *c, const struct h5io_grp *g, const char *name)
{
	htri_t e = H5Lexists(g->id, name, H5P_DEFAULT);

	if (e < 0) {
		char full[H5IO_NAME_MAX];
		struct h5io_item it = {name, 0, 0, {0, 0}};
		h5io_item_name(full, g, &it);
		return h5io_fail_h5(c, "cannot read", full);
	}
	return e > 0;
}

static int
check_width(struct h5io_ctx *c, const char *name, hsize_t records,
	    hsize_t width)
{
	if (width < 1 || width > DS_MAX_FEATURES)
		return h5io_fail(c, "%s has %llu features a record, expected "
				 "1..%d",
				 name, (unsigned long long)width,
				 DS_MAX_FEATURES);
	if (records > SIZE_MAX / sizeof(float) / width)
		return h5io_fail(c, "%s has %llu records, more than memory "
				 "can hold",
				 name, (unsigned long long)records);
	return 0;
}

/* Labels and latencies, both integers of any width, range-checked. */
static int
read_labels(struct h5io_ctx *c, const struct h5io_grp *root, struct ds *d)
{
	int64_t *v = malloc(d->n * sizeof(*v));
	int rc;

	if (v == NULL)
		return h5io_fail(c, "out of memory for %zu labels", d->n);
	rc = h5io_read_ints(c, root, H5IO_DSET_VEC("labels", d->n), 0, 1, v);
	for (size_t i = 0; rc == 0 && i < d->n; i++)
		d->labels[i] = (uint8_t)v[i];
	if (rc == 0)
		rc = h5io_read_ints(c, root, H5IO_DSET_VEC("latency_us", d->n),
				    0, UINT32_MAX, v);
	for (size_t i = 0; rc == 0 && i < d->n; i++)
		d->latency_us[i] = (uint32_t)v[i];
	free(v);
	return rc;
}

static int
read_compact(struct h5io_ctx *c, const struct h5io_grp *root, struct ds *d)
{
	struct h5io_item it = H5IO_DSET_MAT("features", 0, 0);
	int labels, latency;

	if (h5io_read_dims(c, root, &it) != 0)
		return -1;
	if (it.dim[0] == 0)
		return h5io_fail(c, "/features has no records");
	if (check_width(c, "/features", it.dim[0], it.dim[1]) != 0)
		return -1;
	if ((labels = exists(c, root, "labels")) < 0 ||
	    (latency = exists(c, root, "latency_us")) < 0)
		return -1;
	if (labels != latency)
		return h5io_fail(c, "%s is missing: /labels and /latency_us "
				 "go together",
				 labels ? "/latency_us" : "/labels");
	if (ds_alloc(d, it.dim[0], (uint32_t)it.dim[1], labels) != 0)
		return h5io_fail(c, "out of memory for %llu records",
				 (unsigned long long)it.dim[0]);
	if (h5io_read_floats(c, root, it, H5IO_FINITE, d->features) != 0)
		return -1;
	return labels ? read_labels(c, root, d) : 0;
}

/* Opens /value/<k>/0 into o; a missing record is named as such. */
static int
open_record(struct h5io_ctx *c, const struct h5io_grp *value, size_t k,
	    size_t n, struct h5io_obj *o)
{
	struct h5io_grp rec = {H5I_INVALID_HID, ""};
	char rel[48];
	int rc;

	snprintf(rel, sizeof(rel), "%zu/0", k);
	snprintf(o->name, sizeof(o->name), "/value/%s", rel);
	o->attr = 0;
	o->id = H5Dopen2(value->id, rel, H5P_DEFAULT);
	if (o->id >= 0)
		return 0;
	/* The slow path, once: say what is missing or broken. */
	rel[strcspn(rel, "/")] = '\0';
	if ((rc = exists(c, value, rel)) == 0)
		return h5io_fail(c, "group /value/%s is missing: records "
				 "0..%zu expected, as /value has %zu members",
				 rel, n - 1, n);
	if (rc > 0 && h5io_open_group(c, value, rel, &rec) == 0)
		h5io_open_obj(c, &rec, &(struct h5io_item){"0", 0, 0, {0, 0}},
			      o);
	h5io_close_group(&rec);
	if (!c->failed)
		h5io_fail(c, "cannot open %s", o->name);
	return -1;
}

/* The width of the records: the first one's shape is [1, n_features]. */
static int
record_width(struct h5io_ctx *c, const struct h5io_grp *value, size_t n,
	     hsize_t *width)
{
	struct h5io_item first = {"0", 0, 2, {0, 0}};
	struct h5io_obj o;
	char found[96];
	int rc = open_record(c, value, 0, n, &o);

	if (rc == 0)
		rc = h5io_get_dims(c, &o, &first);
	if (rc == 0 && first.dim[0] != 1) {
		h5io_shape_text(found, sizeof(found), 2, first.dim);
		rc = h5io_fail(c, "%s has shape %s, expected [1,n_features]",
			       o.name, found);
	}
	h5io_close_obj(&o);
	if (rc == 0)
		rc = check_width(c, "/value/0/0", n, first.dim[1]);
	*width = first.dim[1];
	return rc;
}

static int
read_records(struct h5io_ctx *c, const struct h5io_grp *value, struct ds *d)
{
	struct h5io_item shape = H5IO_DSET_MAT("0", 1, d->n_features);
	hid_t memspace = H5Screate_simple(2, shape.dim, NULL);
	struct h5io_obj o;

	if (memspace < 0)
		return h5io_fail_h5(c, "cannot read", "/value");
	for (size_t k = 0; k < d->n; k++) {
		float *row = d->features + k * d->n_features;

		if (open_record(c, value, k, d->n, &o) == 0 &&
		    h5io_check_type(c, &o, H5IO_FLOAT) == 0 &&
		    h5io_check_shape(c, &o, &shape) == 0 &&
		    H5Dread(o.id, H5T_NATIVE_FLOAT, memspace, H5S_ALL,
			    H5P_DEFAULT, row) < 0)
			h5io_fail_h5(c, "cannot read", o.name);
		h5io_close_obj(&o);
		if (c->failed)
			break;
	}
	H5Sclose(memspace);
	for (size_t i = 0; !c->failed && i < d->n * d->n_features; i++) {
		if (isfinite(d->features[i]))
			continue;
		h5io_fail(c, "/value/%zu/0[0,%zu] is %g, expected a finite "
			  "number", i / d->n_features, i % d->n_features,
			  (double)d->features[i]);
	}
	return c->failed ? -1 : 0;
}

static int
read_one(struct h5io_ctx *c, const struct h5io_grp *root, struct ds *d)
{
	struct h5io_grp value;
	H5G_info_t info;
	hsize_t width;
	size_t n;

	if (h5io_open_group(c, root, "value", &value) != 0)
		goto out;
	if (H5Gget_info(value.id, &info) < 0) {
		h5io_fail_h5(c, "cannot read", "group /value");
		goto out;
	}
	/* As ONE's record-minmax counts them: every member is a record. */
	n = info.nlinks;
	if (n == 0) {
		h5io_fail(c, "group /value has no records");
		goto out;
	}
	if (record_width(c, &value, n, &width) != 0)
		goto out;
	if (ds_alloc(d, n, (uint32_t)width, 0) != 0) {
		h5io_fail(c, "out of memory for %zu records", n);
		goto out;
	}
	read_records(c, &value, d);
out:
	h5io_close_group(&value);
	return c->failed ? -1 : 0;
}

int
ds_read(const char *path, struct ds *d, enum ds_layout *layout, char *err,
	size_t errlen)
{
	struct h5io_ctx c = {path, err, errlen, 0};
	hid_t file = H5I_INVALID_HID;
	int compact = 0, one = 0;

	memset(d, 0, sizeof(*d));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	h5io_quiet();
	if (h5io_open_file(&c, &file) == 0) {
		struct h5io_grp root = {file, "/"};

		if ((compact = exists(&c, &root, "features")) == 0 &&
		    (one = exists(&c, &root, "value")) == 0)
			h5io_fail(&c, "not a dataset: neither /features "
				  "(compact layout) nor /value (ONE's layout) "
				  "is present");
		if (compact > 0)
			read_compact(&c, &root, d);
		else if (one > 0)
			read_one(&c, &root, d);
		H5Fclose(file);
	}
	if (c.failed) {
		ds_free(d);
		return -1;
	}
	if (layout != NULL)
		*layout = compact > 0 ? DS_COMPACT : DS_ONE;
	return 0;
}

/* ---- writing ---- */

/* What a reader would refuse is not written. */
static int
check_writable(struct h5io_ctx *c, const struct ds *d, enum ds_layout layout)
{
	size_t nf = d->n_features;

	if (layout != DS_COMPACT && layout != DS_ONE)
		return h5io_fail(c, "cannot write: unknown layout %d",
				 (int)layout);
	if (d->n == 0 || d->features == NULL)
		return h5io_fail(c, "cannot write: no records");
	if (nf == 0 || nf > DS_MAX_FEATURES)
		return h5io_fail(c, "cannot write: %zu features a record, "
				 "expected 1..%d", nf, DS_MAX_FEATURES);
	for (size_t i = 0; i < d->n * nf; i++)
		if (!isfinite(d->features[i]))
			return h5io_fail(c, "cannot write: features[%zu,%zu] "
					 "is %g", i / nf, i % nf,
					 (double)d->features[i]);
	if (layout == DS_ONE)
		return 0;
	if ((d->labels == NULL) != (d->latency_us == NULL))
		return h5io_fail(c, "cannot write: labels and latencies go "
				 "together");
	for (size_t i = 0; d->labels != NULL && i < d->n; i++)
		if (d->labels[i] > 1)
			return h5io_fail(c, "cannot write: labels[%zu] is %u, "
					 "expected 0 or 1", i, d->labels[i]);
	return 0;
}

static int
write_compact(struct h5io_ctx *c, const struct h5io_grp *root,
	      const struct ds *d)
{
	if (h5io_write_f32(c, root, H5IO_DSET_MAT("features", d->n,
						  d->n_features),
			   d->features) != 0)
		return -1;
	if (d->labels == NULL)
		return 0;
	if (h5io_write_item(c, root, H5IO_DSET_VEC("labels", d->n),
			    H5T_STD_U8LE, H5T_NATIVE_UINT8, d->labels) ||
	    h5io_write_item(c, root, H5IO_DSET_VEC("latency_us", d->n),
			    H5T_STD_U32LE, H5T_NATIVE_UINT32, d->latency_us))
		return -1;
	return 0;
}

/* One group a record, holding input "0" of shape [1, n_features]. Small
 * records are stored in their object header (compact storage): one
 * block to read a record, not two. */
static int
write_one(struct h5io_ctx *c, const struct h5io_grp *root, const struct ds *d)
{
	const hsize_t dim[2] = {1, d->n_features};
	hid_t gcpl = h5io_untimed_plist(H5P_GROUP_CREATE);
	hid_t dcpl = h5io_untimed_plist(H5P_DATASET_CREATE);
	hid_t space = H5Screate_simple(2, dim, NULL);
	struct h5io_grp value = {H5I_INVALID_HID, ""};
	char name[48];

	if (gcpl < 0 || dcpl < 0 || space < 0 ||
	    H5Pset_layout(dcpl, H5D_COMPACT) < 0)
		h5io_fail_h5(c, "cannot write", "/value");
	else
		h5io_create_group(c, root, "value", &value);
	for (size_t k = 0; !c->failed && k < d->n; k++) {
		hid_t g, set = H5I_INVALID_HID;

		snprintf(name, sizeof(name), "%zu", k);
		g = H5Gcreate2(value.id, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
		if (g < 0 ||
		    (set = H5Dcreate2(g, "0", H5T_IEEE_F32LE, space,
				      H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
		    H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
			     H5P_DEFAULT, d->features + k * d->n_features) < 0) {
			snprintf(name, sizeof(name), "/value/%zu/0", k);
			h5io_fail_h5(c, "cannot write", name);
		}
		if (set >= 0)
			H5Dclose(set);
		if (g >= 0)
			H5Gclose(g);
	}
	h5io_close_group(&value);
	if (space >= 0)
		H5Sclose(space);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (gcpl >= 0)
		H5Pclose(gcpl);
	return c->failed ? -1 : 0;
}

int
ds_write(const char *path, const struct ds *d, enum ds_layout layout,
	 char *err, size_t errlen)
{
	struct h5io_ctx c = {path, err, errlen, 0};
	int32_t nf = (int32_t)d->n_features;
	char tmp[4200];
	hid_t file;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (check_writable(&c, d, layout) != 0)
		return -1;
	h5io_quiet();
	file = h5io_create_temp(&c, tmp, sizeof(tmp));
	if (file < 0)
		return -1;
	{
		struct h5io_grp root = {file, "/"};

		if (h5io_write_string(&c, &root, "format", DS_FORMAT,
				      sizeof(DS_FORMAT)) == 0 &&
		    h5io_write_i32(&c, &root, H5IO_ATTR("n_features"), &nf) == 0)
			(void)(layout == DS_ONE ? write_one(&c, &root, d)
						: write_compact(&c, &root, d));
	}
	return h5io_commit(&c, file, tmp);
}
