/* Model files in HDF5 (DESIGN.md "File formats").
 *
 * The loader trusts nothing in the file: every attribute and dataset is
 * checked for presence, type class, shape and range before it reaches the
 * model, and the first failure becomes one line naming the file and the
 * object. Numeric data is read with HDF5 converting to the native type, but
 * only after the stored class is checked, so that float weights in an int8
 * model are refused instead of silently rounded; integers are read as int64
 * and range-checked here, so a wide stored type never saturates unseen.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "model_file.h"

#define NAME_LEN 128     /* "attribute /layers/7/output_zero_point" */
#define STRING_MAX 4096  /* longest fixed-length string we agree to read */

/* One load or save: the file every message names, and the first failure
 * only (later ones are its consequences). */
struct mf_ctx {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
};

/* An open group and its path, for messages. */
struct grp {
	hid_t id;
	char path[32];
};

/* A dataset or an attribute of a group, with the shape it must have. */
struct item {
	const char *name;
	int attr;   /* 1: attribute of the group, 0: dataset in it */
	int rank;   /* 0: scalar */
	hsize_t dim[2];
};

#define ATTR(n) ((struct item){(n), 1, 0, {0, 0}})
#define ATTR_VEC(n, len) ((struct item){(n), 1, 1, {(len), 0}})
#define DSET_VEC(n, len) ((struct item){(n), 0, 1, {(len), 0}})
#define DSET_MAT(n, rows, cols) ((struct item){(n), 0, 2, {(rows), (cols)}})

/* What a stored type must be. */
enum want_type {
	WANT_FLOAT,  /* any float class, read as float */
	WANT_INT,    /* any integer class, read as int64 and range-checked */
	WANT_INT8,   /* exactly signed 8-bit: int8 weights are never converted */
	WANT_STRING, /* fixed or variable length */
};

enum float_rule {
	FINITE,
	POSITIVE, /* finite and > 0: scales and standard deviations */
};

static int fail(struct mf_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(struct mf_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return -1;
	c->failed = 1;
	if (c->err == NULL || c->errlen == 0)
		return -1;
	n = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* Strings from the file or from HDF5 must not break the one line. */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

struct reason {
	char *buf;
	size_t len;
};

static herr_t
innermost(unsigned n, const H5E_error2_t *e, void *data)
{
	struct reason *r = data;

	if (n == 0 && e->desc != NULL)
		snprintf(r->buf, r->len, "%s", e->desc);
	return 0;
}

/* Fails with HDF5's most specific message (truncated file, bad
 * signature...). Call right after the failing HDF5 call: every API entry
 * clears the error stack. */
static int
fail_h5(struct mf_ctx *c, const char *what, const char *name)
{
	char buf[200] = "";
	struct reason r = {buf, sizeof(buf)};

	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &r);
	H5Eclear2(H5E_DEFAULT);
	return fail(c, "%s %s: %s", what, name, buf[0] ? buf : "HDF5 error");
}

/* HDF5 prints its error stack to stderr by default; our one line replaces
 * it. Left off for the process: HDF5 1.10 also prints at exit ("infinite
 * loop closing library") after it has met a bad metadata checksum. */
static void
quiet_hdf5(void)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void
join(char *buf, size_t len, const char *prefix, const char *parent,
     const char *name)
{
	int n = snprintf(buf, len, "%s%s%s%s", prefix, parent,
			 strcmp(parent, "/") == 0 ? "" : "/", name);

	/* Our names are short; should one not fit, the message shows it. */
	if (n < 0 || (size_t)n >= len)
		memcpy(buf + len - 4, "...", 4);
}

/* "/layers/0/weights" or "attribute /layers/0/activation". */
static void
item_name(char *buf, const struct grp *g, const struct item *it)
{
	join(buf, NAME_LEN, it->attr ? "attribute " : "", g->path, it->name);
}

static size_t
item_count(const struct item *it)
{
	size_t n = 1;

	for (int d = 0; d < it->rank; d++)
		n *= it->dim[d];
	return n;
}

/* "[3]" or "[3,5]" for element k; "" for a scalar. */
static void
index_text(char *buf, size_t len, const struct item *it, size_t k)
{
	if (it->rank == 0)
		buf[0] = '\0';
	else if (it->rank == 1)
		snprintf(buf, len, "[%zu]", k);
	else
		snprintf(buf, len, "[%zu,%zu]", k / (size_t)it->dim[1],
			 k % (size_t)it->dim[1]);
}

static void
shape_text(char *buf, size_t len, int rank, const hsize_t *dim)
{
	size_t used = 0;

	if (rank < 0) {
		snprintf(buf, len, "null");
		return;
	}
	used += (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < rank && used + 24 < len; d++)
		used += (size_t)snprintf(buf + used, len - used, "%s%llu",
					 d ? "," : "", (unsigned long long)dim[d]);
	snprintf(buf + used, len - used, "]");
}

/* ---- opening things ---- */

static int
open_group(struct mf_ctx *c, const struct grp *parent, const char *name,
	   struct grp *g)
{
	htri_t exists;

	join(g->path, sizeof(g->path), "", parent->path, name);
	g->id = H5I_INVALID_HID;
	exists = H5Lexists(parent->id, name, H5P_DEFAULT);
	if (exists < 0)
		return fail_h5(c, "cannot read", g->path);
	if (exists == 0)
		return fail(c, "group %s is missing", g->path);
	g->id = H5Gopen2(parent->id, name, H5P_DEFAULT);
	if (g->id < 0)
		return fail_h5(c, "cannot open group", g->path);
	return 0;
}

static void
close_group(struct grp *g)
{
	if (g->id >= 0)
		H5Gclose(g->id);
	g->id = H5I_INVALID_HID;
}

/* A dataset or attribute, open. */
struct obj {
	hid_t id;
	int attr;
	char name[NAME_LEN];
};

static int
open_obj(struct mf_ctx *c, const struct grp *g, const struct item *it,
	 struct obj *o)
{
	htri_t exists;

	o->attr = it->attr;
	o->id = H5I_INVALID_HID;
	item_name(o->name, g, it);
	exists = it->attr ? H5Aexists(g->id, it->name)
			  : H5Lexists(g->id, it->name, H5P_DEFAULT);
	if (exists < 0)
		return fail_h5(c, "cannot read", o->name);
	if (exists == 0)
		return fail(c, "%s is missing", o->name);
	o->id = it->attr ? H5Aopen(g->id, it->name, H5P_DEFAULT)
			 : H5Dopen2(g->id, it->name, H5P_DEFAULT);
	if (o->id < 0)
		return fail_h5(c, "cannot open", o->name);
	return 0;
}

static void
close_obj(struct obj *o)
{
	if (o->id >= 0)
		(void)(o->attr ? H5Aclose(o->id) : H5Dclose(o->id));
	o->id = H5I_INVALID_HID;
}

static herr_t
read_obj(const struct obj *o, hid_t memtype, void *buf)
{
	if (o->attr)
		return H5Aread(o->id, memtype, buf);
	return H5Dread(o->id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
}

/* ---- checking type and shape ---- */

static void
type_text(char *buf, size_t len, hid_t t)
{
	size_t bits = 8 * H5Tget_size(t);

	switch (H5Tget_class(t)) {
	case H5T_INTEGER:
		snprintf(buf, len, "%sint%zu",
			 H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
		break;
	case H5T_FLOAT:
		snprintf(buf, len, "float%zu", bits);
		break;
	case H5T_STRING:
		snprintf(buf, len, "string");
		break;
	case H5T_COMPOUND:
		snprintf(buf, len, "compound");
		break;
	case H5T_ENUM:
		snprintf(buf, len, "enum");
		break;
	case H5T_ARRAY:
		snprintf(buf, len, "array");
		break;
	default:
		snprintf(buf, len, "an unsupported class");
		break;
	}
}

static int
type_ok(hid_t t, enum want_type w)
{
	H5T_class_t cls = H5Tget_class(t);

	switch (w) {
	case WANT_FLOAT:
		return cls == H5T_FLOAT;
	case WANT_INT:
		return cls == H5T_INTEGER;
	case WANT_INT8:
		return cls == H5T_INTEGER && H5Tget_size(t) == 1 &&
		       H5Tget_sign(t) == H5T_SGN_2;
	case WANT_STRING:
		return cls == H5T_STRING;
	}
	return 0;
}

static int
check_type(struct mf_ctx *c, const struct obj *o, enum want_type w,
	   int *is_vlen)
{
	static const char *const want_text[] = {"float", "integer", "int8",
						"string"};
	hid_t t = o->attr ? H5Aget_type(o->id) : H5Dget_type(o->id);
	char found[32];
	int rc = 0;

	if (t < 0)
		return fail_h5(c, "cannot read the type of", o->name);
	if (!type_ok(t, w)) {
		type_text(found, sizeof(found), t);
		rc = fail(c, "%s has type %s, expected %s", o->name, found,
			  want_text[w]);
	} else if (is_vlen != NULL) {
		*is_vlen = H5Tis_variable_str(t) > 0;
	}
	H5Tclose(t);
	return rc;
}

static int
check_shape(struct mf_ctx *c, const struct obj *o, const struct item *it)
{
	hid_t s = o->attr ? H5Aget_space(o->id) : H5Dget_space(o->id);
	hsize_t dim[H5S_MAX_RANK];
	char found[96], want[96];
	int rank, ok;

	if (s < 0)
		return fail_h5(c, "cannot read the shape of", o->name);
	rank = H5Sget_simple_extent_type(s) == H5S_NULL
		       ? -1
		       : H5Sget_simple_extent_dims(s, dim, NULL);
	H5Sclose(s);
	ok = rank == it->rank;
	for (int d = 0; ok && d < rank; d++)
		ok = dim[d] == it->dim[d];
	if (ok)
		return 0;
	shape_text(found, sizeof(found), rank, dim);
	shape_text(want, sizeof(want), it->rank, it->dim);
	return fail(c, "%s has shape %s, expected %s", o->name, found, want);
}

/* Opens, checks class and shape, and reads the whole item as memtype. */
static int
read_item(struct mf_ctx *c, const struct grp *g, const struct item *it,
	  enum want_type w, hid_t memtype, void *buf)
{
	struct obj o;
	int rc = open_obj(c, g, it, &o);

	if (rc == 0)
		rc = check_type(c, &o, w, NULL);
	if (rc == 0)
		rc = check_shape(c, &o, it);
	if (rc == 0 && read_obj(&o, memtype, buf) < 0)
		rc = fail_h5(c, "cannot read", o.name);
	close_obj(&o);
	return rc;
}

/* ---- reading values ---- */

static int
read_floats(struct mf_ctx *c, const struct grp *g, struct item it,
	    enum float_rule rule, float *out)
{
	char name[NAME_LEN], idx[48];
	size_t n = item_count(&it);

	if (read_item(c, g, &it, WANT_FLOAT, H5T_NATIVE_FLOAT, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (isfinite(out[k]) && (rule == FINITE || out[k] > 0.0f))
			continue;
		item_name(name, g, &it);
		index_text(idx, sizeof(idx), &it, k);
		return fail(c, "%s%s is %g, expected a %s number", name, idx,
			    (double)out[k],
			    rule == FINITE ? "finite" : "finite positive");
	}
	return 0;
}

static int
read_ints(struct mf_ctx *c, const struct grp *g, struct item it, int64_t lo,
	  int64_t hi, int64_t *out)
{
	char name[NAME_LEN], idx[48];
	size_t n = item_count(&it);

	if (read_item(c, g, &it, WANT_INT, H5T_NATIVE_INT64, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (out[k] >= lo && out[k] <= hi)
			continue;
		item_name(name, g, &it);
		index_text(idx, sizeof(idx), &it, k);
		return fail(c, "%s%s is %lld, outside %lld..%lld", name, idx,
			    (long long)out[k], (long long)lo, (long long)hi);
	}
	return 0;
}

/* An int32 vector or scalar: at most QM_MAX_WIDTH values. */
static int
read_i32(struct mf_ctx *c, const struct grp *g, struct item it, int64_t lo,
	 int64_t hi, int32_t *out)
{
	int64_t wide[QM_MAX_WIDTH];
	size_t n = item_count(&it);

	if (n > QM_MAX_WIDTH)
		return fail(c, "internal error: %s too large", it.name);
	if (read_ints(c, g, it, lo, hi, wide) != 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		out[k] = (int32_t)wide[k];
	return 0;
}

static int
read_int8_weights(struct mf_ctx *c, const struct grp *g, struct item it,
		  int8_t *out)
{
	char name[NAME_LEN], idx[48];
	size_t n = item_count(&it);

	if (read_item(c, g, &it, WANT_INT8, H5T_NATIVE_INT8, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (out[k] != -128)
			continue;
		item_name(name, g, &it);
		index_text(idx, sizeof(idx), &it, k);
		return fail(c, "%s%s is -128, outside the symmetric range -127..127",
			    name, idx);
	}
	return 0;
}

static int
copy_string(struct mf_ctx *c, const struct obj *o, const struct item *it,
	    size_t k, const char *s, char *out, size_t cap)
{
	size_t len = s ? strlen(s) : 0;
	char idx[48];

	if (len >= cap) {
		index_text(idx, sizeof(idx), it, k);
		return fail(c, "%s%s is %zu bytes long, at most %zu", o->name,
			    idx, len, cap - 1);
	}
	memcpy(out, s ? s : "", len + 1);
	return 0;
}

static int
read_vlen_strings(struct mf_ctx *c, const struct obj *o,
		  const struct item *it, hid_t mt, char *out, size_t stride)
{
	size_t n = item_count(it);
	char *v[QM_MAX_FEATURES] = {NULL};
	hid_t space;
	int rc = 0;

	if (H5Tset_size(mt, H5T_VARIABLE) < 0 || read_obj(o, mt, v) < 0)
		return fail_h5(c, "cannot read", o->name);
	for (size_t k = 0; k < n && rc == 0; k++)
		rc = copy_string(c, o, it, k, v[k], out + k * stride, stride);
	space = o->attr ? H5Aget_space(o->id) : H5Dget_space(o->id);
	if (space >= 0) {
#if H5_VERSION_GE(1, 12, 0)
		H5Treclaim(mt, space, H5P_DEFAULT, v);
#else
		H5Dvlen_reclaim(mt, space, H5P_DEFAULT, v);
#endif
		H5Sclose(space);
	}
	return rc;
}

static int
read_fixed_strings(struct mf_ctx *c, const struct obj *o,
		   const struct item *it, hid_t mt, char *out, size_t stride)
{
	size_t n = item_count(it);
	hid_t ft = o->attr ? H5Aget_type(o->id) : H5Dget_type(o->id);
	size_t size = ft >= 0 ? H5Tget_size(ft) : 0;
	char *buf;
	int rc = 0;

	if (ft >= 0)
		H5Tclose(ft);
	if (size == 0 || size > STRING_MAX)
		return fail(c, "%s has strings of %zu bytes, expected 1..%d",
			    o->name, size, STRING_MAX);
	/* One byte more than stored, NUL-terminated: HDF5 converts any
	 * padding to that. */
	buf = malloc(n * (size + 1));
	if (buf == NULL)
		return fail(c, "out of memory reading %s", o->name);
	if (H5Tset_size(mt, size + 1) < 0 ||
	    H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || read_obj(o, mt, buf) < 0)
		rc = fail_h5(c, "cannot read", o->name);
	for (size_t k = 0; k < n && rc == 0; k++) {
		buf[k * (size + 1) + size] = '\0';
		rc = copy_string(c, o, it, k, buf + k * (size + 1),
				 out + k * stride, stride);
	}
	free(buf);
	return rc;
}

/* Reads a string (rank 0) or a vector of at most QM_MAX_FEATURES strings
 * into out, stride bytes apart, each NUL-terminated. */
static int
read_strings(struct mf_ctx *c, const struct grp *g, struct item it,
	     char *out, size_t stride)
{
	struct obj o;
	hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
	int vlen = 0;
	int rc = open_obj(c, g, &it, &o);

	if (rc == 0)
		rc = check_type(c, &o, WANT_STRING, &vlen);
	if (rc == 0)
		rc = check_shape(c, &o, &it);
	if (rc == 0 && item_count(&it) > QM_MAX_FEATURES)
		rc = fail(c, "internal error: %s too large", o.name);
	if (rc == 0) {
		/* The memory type keeps the stored character set: HDF5 does not
		 * convert between ASCII and UTF-8. */
		ft = o.attr ? H5Aget_type(o.id) : H5Dget_type(o.id);
		mt = H5Tcopy(H5T_C_S1);
		if (ft < 0 || mt < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0)
			rc = fail_h5(c, "cannot read", o.name);
	}
	if (rc == 0 && vlen)
		rc = read_vlen_strings(c, &o, &it, mt, out, stride);
	else if (rc == 0)
		rc = read_fixed_strings(c, &o, &it, mt, out, stride);
	if (mt >= 0)
		H5Tclose(mt);
	if (ft >= 0)
		H5Tclose(ft);
	close_obj(&o);
	return rc;
}

static int
bad_text(struct mf_ctx *c, const struct grp *g, const char *attr,
	 const char *found, const char *expected)
{
	char name[NAME_LEN];

	join(name, sizeof(name), "attribute ", g->path, attr);
	return fail(c, "%s is \"%s\", expected %s", name, found, expected);
}

/* ---- the model, piece by piece ---- */

static int
open_file(struct mf_ctx *c, hid_t *file)
{
	struct stat st;
	int fd;
	htri_t is;

	/* errno says it best when the file cannot even be opened; O_NONBLOCK
	 * keeps a FIFO from hanging us. */
	fd = open(c->path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fail(c, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(c, "not a regular file");
	}
	close(fd);
	if (st.st_size == 0)
		return fail(c, "not an HDF5 file (empty)");
	is = H5Fis_hdf5(c->path);
	if (is == 0)
		return fail(c, "not an HDF5 file (no HDF5 signature)");
	if (is < 0)
		return fail_h5(c, "cannot read", "as HDF5");
	*file = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (*file < 0)
		return fail_h5(c, "cannot open", "as HDF5");
	return 0;
}

static int
read_identity(struct mf_ctx *c, const struct grp *root, enum model_kind *kind,
	      uint32_t *n_features)
{
	char text[MODEL_NAME_MAX];
	int64_t v;

	if (read_strings(c, root, ATTR("format"), text, sizeof(text)) != 0)
		return -1;
	if (strcmp(text, MF_FORMAT) != 0)
		return bad_text(c, root, "format", text, "\"" MF_FORMAT "\"");
	if (read_ints(c, root, ATTR("format_version"), INT64_MIN, INT64_MAX,
		      &v) != 0)
		return -1;
	if (v != MF_FORMAT_VERSION)
		return fail(c, "attribute /format_version is %lld, expected %d",
			    (long long)v, MF_FORMAT_VERSION);
	if (read_strings(c, root, ATTR("kind"), text, sizeof(text)) != 0)
		return -1;
	if (strcmp(text, "float32") == 0)
		*kind = MODEL_FLOAT32;
	else if (strcmp(text, "int8") == 0)
		*kind = MODEL_INT8;
	else
		return bad_text(c, root, "kind", text, "\"float32\" or \"int8\"");
	if (read_ints(c, root, ATTR("n_features"), 1, QM_MAX_FEATURES, &v) != 0)
		return -1;
	*n_features = (uint32_t)v;
	return 0;
}

/* Layer i's output width from its weights' shape, which must be
 * [out, widths[i]] with out 1..QM_MAX_WIDTH (1 for the last layer). */
static int
layer_width(struct mf_ctx *c, const struct grp *layers, uint32_t i,
	    uint32_t n_layers, uint32_t *widths)
{
	struct item it = DSET_MAT("weights", 1, widths[i]);
	hsize_t dim[H5S_MAX_RANK] = {0};
	char name[16], found[96];
	struct grp g;
	struct obj o;
	int rank = -1, rc;
	hid_t s;

	snprintf(name, sizeof(name), "%u", i);
	if (open_group(c, layers, name, &g) != 0)
		return -1;
	rc = open_obj(c, &g, &it, &o);
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
			shape_text(found, sizeof(found), rank, dim);
			rc = fail(c, "%s has shape %s, expected [1..%d,%u]", o.name,
				  found, QM_MAX_WIDTH, widths[i]);
		}
	}
	if (rc == 0)
		rc = check_shape(c, &o, &it);
	if (rc == 0)
		widths[i + 1] = (uint32_t)it.dim[0];
	close_obj(&o);
	close_group(&g);
	return rc;
}

/* The layer count and every width, checked to chain from n_features to 1
 * before anything is allocated. */
static int
read_widths(struct mf_ctx *c, const struct grp *root, uint32_t *widths,
	    uint32_t *n_layers)
{
	struct grp layers;
	H5G_info_t info;
	int rc = open_group(c, root, "layers", &layers);

	if (rc == 0 && H5Gget_info(layers.id, &info) < 0)
		rc = fail_h5(c, "cannot read", layers.path);
	if (rc == 0 && (info.nlinks == 0 || info.nlinks > QM_MAX_LAYERS))
		rc = fail(c, "group /layers holds %llu layers, expected 1..%d",
			  (unsigned long long)info.nlinks, QM_MAX_LAYERS);
	if (rc == 0)
		*n_layers = (uint32_t)info.nlinks;
	for (uint32_t i = 0; rc == 0 && i < *n_layers; i++)
		rc = layer_width(c, &layers, i, *n_layers, widths);
	close_group(&layers);
	return rc;
}

static int
read_names(struct mf_ctx *c, const struct grp *root, struct model *m)
{
	if (read_strings(c, root, ATTR_VEC("feature_names", m->n_features),
			 &m->feature_names[0][0], MODEL_NAME_MAX) != 0 ||
	    read_strings(c, root, ATTR("created_by"), m->created_by,
			 sizeof(m->created_by)) != 0)
		return -1;
	if (m->kind == MODEL_INT8)
		return read_strings(c, root, ATTR("calibration_mode"),
				    m->calibration_mode,
				    sizeof(m->calibration_mode));
	return 0;
}

static int
read_input(struct mf_ctx *c, const struct grp *root, struct model *m)
{
	struct grp g;
	uint32_t n = m->n_features;
	struct qm_input_map *in = &m->qm.input;
	int rc = open_group(c, root, "input", &g);

	if (rc != 0)
		return -1;
	if (m->kind == MODEL_FLOAT32) {
		rc = read_floats(c, &g, DSET_VEC("mean", n), FINITE, m->fm.mean) ||
		     read_floats(c, &g, DSET_VEC("std", n), POSITIVE, m->fm.std);
	} else {
		rc = read_i32(c, &g, DSET_VEC("mul", n), 0, INT32_MAX,
			      (int32_t *)in->mul) ||
		     read_ints(c, &g, DSET_VEC("add", n), -QM_INPUT_ADD_MAX,
			       QM_INPUT_ADD_MAX, (int64_t *)in->add) ||
		     read_i32(c, &g, DSET_VEC("shift", n), 0, QM_INPUT_SHIFT_MAX,
			      (int32_t *)in->shift) ||
		     read_floats(c, &g, DSET_VEC("mean", n), FINITE,
				 m->input_mean) ||
		     read_floats(c, &g, DSET_VEC("std", n), POSITIVE,
				 m->input_std) ||
		     read_floats(c, &g, ATTR_VEC("scale", n), POSITIVE,
				 m->input_scale) ||
		     read_i32(c, &g, ATTR_VEC("zero_point", n), -128, 127,
			      m->input_zp);
	}
	close_group(&g);
	return rc ? -1 : 0;
}

static int
read_activation(struct mf_ctx *c, const struct grp *g, int last, int *relu)
{
	char act[16];

	if (read_strings(c, g, ATTR("activation"), act, sizeof(act)) != 0)
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
read_float_layer(struct mf_ctx *c, const struct grp *g, struct fm_layer *l)
{
	if (read_floats(c, g, DSET_MAT("weights", l->n_out, l->n_in), FINITE,
			l->weights) != 0 ||
	    read_floats(c, g, DSET_VEC("bias", l->n_out), FINITE, l->bias) != 0)
		return -1;
	return 0;
}

/* prev: the layer before, whose output zero point this one's
 * input_zero_point must repeat; NULL for layer 0, whose input zero points
 * are per feature and may be folded into its bias. */
static int
read_int8_layer(struct mf_ctx *c, const struct grp *g, struct qm_layer *l,
		struct model_qlayer *ql, const struct qm_layer *prev)
{
	uint32_t out = l->n_out;

	if (read_int8_weights(c, g, DSET_MAT("weights", out, l->n_in),
			      (int8_t *)l->weights) ||
	    read_i32(c, g, DSET_VEC("bias", out), -QM_BIAS_MAX, QM_BIAS_MAX,
		     (int32_t *)l->bias) ||
	    read_i32(c, g, DSET_VEC("multiplier", out), 0, INT32_MAX,
		     (int32_t *)l->multiplier) ||
	    read_i32(c, g, DSET_VEC("shift", out), -31, 30,
		     (int32_t *)l->shift) ||
	    read_i32(c, g, ATTR("input_zero_point"), -128, 127, &l->input_zp) ||
	    read_i32(c, g, ATTR("output_zero_point"), -128, 127,
		     &l->output_zp) ||
	    read_floats(c, g, ATTR("input_scale"), POSITIVE, &ql->input_scale) ||
	    read_floats(c, g, ATTR("output_scale"), POSITIVE,
			&ql->output_scale) ||
	    read_floats(c, g, ATTR_VEC("weight_scale", out), POSITIVE,
			ql->weight_scale))
		return -1;
	/* Evaluation feeds the previous tensor's int8 values straight in:
	 * a different zero point here would misread every one of them. */
	if (prev != NULL && l->input_zp != prev->output_zp)
		return fail(c, "attribute %s/input_zero_point is %d, expected %d "
			    "(the previous layer's output_zero_point)",
			    g->path, l->input_zp, prev->output_zp);
	l->act_min = ql->relu ? l->output_zp : -128;
	l->act_max = 127;
	return 0;
}

static int
read_layers(struct mf_ctx *c, const struct grp *root, struct model *m)
{
	struct grp layers, g;
	char name[16];
	int rc = open_group(c, root, "layers", &layers);

	for (uint32_t i = 0; rc == 0 && i < m->n_layers; i++) {
		int last = i + 1 == m->n_layers, relu = 0;

		snprintf(name, sizeof(name), "%u", i);
		if (open_group(c, &layers, name, &g) != 0)
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
		close_group(&g);
	}
	close_group(&layers);
	return c->failed ? -1 : 0;
}

static struct model *
load_model(struct mf_ctx *c, hid_t file)
{
	struct grp root = {file, "/"};
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
		fail(c, "out of memory");
		return NULL;
	}
	if (read_names(c, &root, m) != 0 || read_input(c, &root, m) != 0 ||
	    read_layers(c, &root, m) != 0)
		goto bad;
	/* Checks the loader has not (it should agree), then prepares. */
	if (kind == MODEL_INT8 && model_finish_int8(m, msg, sizeof(msg)) != 0) {
		fail(c, "%s", msg);
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
	struct mf_ctx c = {path, err, errlen, 0};
	struct model *m = NULL;
	hid_t file = H5I_INVALID_HID;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	quiet_hdf5();
	if (open_file(&c, &file) == 0) {
		m = load_model(&c, file);
		H5Fclose(file);
	}
	return m;
}

/* ---- writing ---- */

/* Creates the item in g with the given stored type and writes buf. */
static int
write_item(struct mf_ctx *c, const struct grp *g, struct item it,
	   hid_t filetype, hid_t memtype, const void *buf)
{
	char name[NAME_LEN];
	hid_t space, id = H5I_INVALID_HID;
	int rc = 0;

	item_name(name, g, &it);
	space = it.rank == 0 ? H5Screate(H5S_SCALAR)
			     : H5Screate_simple(it.rank, it.dim, NULL);
	if (it.attr) {
		if (space < 0 ||
		    (id = H5Acreate2(g->id, it.name, filetype, space, H5P_DEFAULT,
				     H5P_DEFAULT)) < 0 ||
		    H5Awrite(id, memtype, buf) < 0)
			rc = fail_h5(c, "cannot write", name);
		if (id >= 0)
			H5Aclose(id);
	} else {
		if (space < 0 ||
		    (id = H5Dcreate2(g->id, it.name, filetype, space, H5P_DEFAULT,
				     H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
		    H5Dwrite(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
			rc = fail_h5(c, "cannot write", name);
		if (id >= 0)
			H5Dclose(id);
	}
	if (space >= 0)
		H5Sclose(space);
	return rc;
}

/* Fixed-length, NUL-terminated strings: h5dump shows them plainly. n
 * strings of at most stride bytes each, stride apart in s. */
static int
write_strings(struct mf_ctx *c, const struct grp *g, struct item it,
	      const char *s, size_t stride)
{
	size_t n = item_count(&it), size = 1;
	char name[NAME_LEN];
	char *buf;
	hid_t t;
	int rc;

	for (size_t k = 0; k < n; k++) {
		size_t len = strnlen(s + k * stride, stride) + 1;
		size = len > size ? len : size;
	}
	item_name(name, g, &it);
	buf = calloc(n, size);
	if (buf == NULL)
		return fail(c, "out of memory writing %s", name);
	for (size_t k = 0; k < n; k++)
		memcpy(buf + k * size, s + k * stride,
		       strnlen(s + k * stride, stride));
	t = H5Tcopy(H5T_C_S1);
	if (t < 0 || H5Tset_size(t, size) < 0 ||
	    H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)
		rc = fail_h5(c, "cannot write", name);
	else
		rc = write_item(c, g, it, t, t, buf);
	if (t >= 0)
		H5Tclose(t);
	free(buf);
	return rc;
}

static int
write_string(struct mf_ctx *c, const struct grp *g, const char *attr,
	     const char *s, size_t cap)
{
	return write_strings(c, g, ATTR(attr), s, cap);
}

static int
write_i32(struct mf_ctx *c, const struct grp *g, struct item it,
	  const int32_t *v)
{
	return write_item(c, g, it, H5T_STD_I32LE, H5T_NATIVE_INT32, v);
}

static int
write_f32(struct mf_ctx *c, const struct grp *g, struct item it,
	  const float *v)
{
	return write_item(c, g, it, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v);
}

static int
create_group(struct mf_ctx *c, const struct grp *parent, const char *name,
	     struct grp *g)
{
	join(g->path, sizeof(g->path), "", parent->path, name);
	g->id = H5Gcreate2(parent->id, name, H5P_DEFAULT, H5P_DEFAULT,
			   H5P_DEFAULT);
	if (g->id < 0)
		return fail_h5(c, "cannot create", g->path);
	return 0;
}

static int
write_header(struct mf_ctx *c, const struct grp *root, const struct model *m)
{
	int32_t version = MF_FORMAT_VERSION, n = (int32_t)m->n_features;
	const char *kind = m->kind == MODEL_INT8 ? "int8" : "float32";

	if (write_string(c, root, "format", MF_FORMAT, sizeof(MF_FORMAT)) ||
	    write_i32(c, root, ATTR("format_version"), &version) ||
	    write_string(c, root, "kind", kind, strlen(kind) + 1) ||
	    write_i32(c, root, ATTR("n_features"), &n) ||
	    write_strings(c, root, ATTR_VEC("feature_names", m->n_features),
			  &m->feature_names[0][0], MODEL_NAME_MAX) ||
	    write_string(c, root, "created_by", m->created_by,
			 sizeof(m->created_by)))
		return -1;
	if (m->kind == MODEL_INT8)
		return write_string(c, root, "calibration_mode",
				    m->calibration_mode,
				    sizeof(m->calibration_mode));
	return 0;
}

static int
write_input(struct mf_ctx *c, const struct grp *root, const struct model *m)
{
	struct grp g;
	uint32_t n = m->n_features;
	const struct qm_input_map *in = &m->qm.input;
	int rc;

	if (create_group(c, root, "input", &g) != 0)
		return -1;
	if (m->kind == MODEL_FLOAT32)
		rc = write_f32(c, &g, DSET_VEC("mean", n), m->fm.mean) ||
		     write_f32(c, &g, DSET_VEC("std", n), m->fm.std);
	else
		rc = write_i32(c, &g, DSET_VEC("mul", n), in->mul) ||
		     write_item(c, &g, DSET_VEC("add", n), H5T_STD_I64LE,
				H5T_NATIVE_INT64, in->add) ||
		     write_i32(c, &g, DSET_VEC("shift", n), in->shift) ||
		     write_f32(c, &g, DSET_VEC("mean", n), m->input_mean) ||
		     write_f32(c, &g, DSET_VEC("std", n), m->input_std) ||
		     write_f32(c, &g, ATTR_VEC("scale", n), m->input_scale) ||
		     write_i32(c, &g, ATTR_VEC("zero_point", n), m->input_zp);
	close_group(&g);
	return rc ? -1 : 0;
}

static int
write_int8_layer(struct mf_ctx *c, const struct grp *g,
		 const struct qm_layer *l, const struct model_qlayer *ql)
{
	uint32_t out = l->n_out;

	if (write_item(c, g, DSET_MAT("weights", out, l->n_in), H5T_STD_I8LE,
		       H5T_NATIVE_INT8, l->weights) ||
	    write_i32(c, g, DSET_VEC("bias", out), l->bias) ||
	    write_i32(c, g, DSET_VEC("multiplier", out), l->multiplier) ||
	    write_i32(c, g, DSET_VEC("shift", out), l->shift) ||
	    write_i32(c, g, ATTR("input_zero_point"), &l->input_zp) ||
	    write_i32(c, g, ATTR("output_zero_point"), &l->output_zp) ||
	    write_f32(c, g, ATTR("input_scale"), &ql->input_scale) ||
	    write_f32(c, g, ATTR("output_scale"), &ql->output_scale) ||
	    write_f32(c, g, ATTR_VEC("weight_scale", out), ql->weight_scale))
		return -1;
	return 0;
}

static int
write_layers(struct mf_ctx *c, const struct grp *root, const struct model *m)
{
	struct grp layers, g;
	char name[16];

	if (create_group(c, root, "layers", &layers) != 0)
		return -1;
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct fm_layer *fl = &m->fm.layer[i];
		int relu = m->kind == MODEL_INT8 ? m->ql[i].relu : fl->relu;
		const char *act = relu ? "relu" : "none";

		snprintf(name, sizeof(name), "%u", i);
		if (create_group(c, &layers, name, &g) != 0)
			break;
		if (write_string(c, &g, "activation", act, strlen(act) + 1) == 0) {
			if (m->kind == MODEL_INT8)
				write_int8_layer(c, &g, &m->qm.layer[i], &m->ql[i]);
			else if (write_f32(c, &g,
					   DSET_MAT("weights", fl->n_out, fl->n_in),
					   fl->weights) == 0)
				write_f32(c, &g, DSET_VEC("bias", fl->n_out), fl->bias);
		}
		close_group(&g);
		if (c->failed)
			break;
	}
	close_group(&layers);
	return c->failed ? -1 : 0;
}

/* A name next to path that no one else uses; created exclusively. The
 * 1.8 file format checksums every object header and the superblock, so a
 * damaged file fails the checksum instead of reaching HDF5's header parser
 * (which 1.10 does not harden against corrupt input). */
static hid_t
create_temp(struct mf_ctx *c, char *tmp, size_t len)
{
	static _Atomic unsigned serial;
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	hid_t f = H5I_INVALID_HID;

	if (fapl < 0 ||
	    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
		fail_h5(c, "cannot create", "a file access list");
		if (fapl >= 0)
			H5Pclose(fapl);
		return H5I_INVALID_HID;
	}
	for (int tries = 0; tries < 100 && f < 0; tries++) {
		snprintf(tmp, len, "%s.tmp-%ld-%u", c->path, (long)getpid(),
			 serial++);
		if (access(tmp, F_OK) == 0)
			continue;
		f = H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
		if (f < 0) {
			fail_h5(c, "cannot create", tmp);
			break;
		}
	}
	H5Pclose(fapl);
	if (f < 0)
		fail(c, "cannot create a temporary file next to it");
	return f;
}

/* The data must reach the disk before the rename does, or a power cut
 * could leave an empty file under the final name. */
static int
sync_file(struct mf_ctx *c, const char *tmp)
{
	int fd = open(tmp, O_RDONLY);

	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(c, "cannot sync %s: %s", tmp, strerror(e));
	}
	close(fd);
	return 0;
}

int
mf_save(const struct model *m, const char *path, char *err, size_t errlen)
{
	struct mf_ctx c = {path, err, errlen, 0};
	char tmp[4200];
	hid_t file;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((m->kind != MODEL_FLOAT32 && m->kind != MODEL_INT8) ||
	    m->n_layers == 0 || m->n_layers > QM_MAX_LAYERS ||
	    m->n_features == 0 || m->n_features > QM_MAX_FEATURES)
		return fail(&c, "cannot write an invalid model");
	quiet_hdf5();
	file = create_temp(&c, tmp, sizeof(tmp));
	if (file >= 0) {
		struct grp root = {file, "/"};
		if (write_header(&c, &root, m) == 0 &&
		    write_input(&c, &root, m) == 0)
			write_layers(&c, &root, m);
		if (H5Fclose(file) < 0)
			fail_h5(&c, "cannot write", tmp);
		if (!c.failed)
			sync_file(&c, tmp);
		if (!c.failed && rename(tmp, path) != 0)
			fail(&c, "cannot rename %s into place: %s", tmp,
			     strerror(errno));
		if (c.failed)
			unlink(tmp);
	}
	return c.failed ? -1 : 0;
}
