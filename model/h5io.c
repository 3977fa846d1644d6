/* Checked HDF5 access (h5io.h).
 *
 * Numeric data is read with HDF5 converting to the native type, but only
 * after the stored class is checked, so that float values where integers
 * belong are refused instead of silently rounded; integers are read as
 * int64 and range-checked here, so a wide stored type never saturates
 * unseen.
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

#include "h5io.h"

#define STRING_MAX 4096  /* longest fixed-length string we agree to read */

int
h5io_fail(struct h5io_ctx *c, const char *fmt, ...)
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

int
h5io_fail_h5(struct h5io_ctx *c, const char *what, const char *name)
{
	char buf[200] = "";
	struct reason r = {buf, sizeof(buf)};

	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &r);
	H5Eclear2(H5E_DEFAULT);
	return h5io_fail(c, "%s %s: %s", what, name,
			 buf[0] ? buf : "HDF5 error");
}

/* HDF5 prints its error stack to stderr by default; our one line replaces
 * it. Left off for the process: HDF5 1.10 also prints at exit ("infinite
 * loop closing library") after it has met a bad metadata checksum. */
void
h5io_quiet(void)
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

void
h5io_item_name(char *buf, const struct h5io_grp *g, const struct h5io_item *it)
{
	join(buf, H5IO_NAME_MAX, it->attr ? "attribute " : "", g->path,
	     it->name);
}

size_t
h5io_item_count(const struct h5io_item *it)
{
	size_t n = 1;

	for (int d = 0; d < it->rank; d++)
		n *= it->dim[d];
	return n;
}

/* "[3]" or "[3,5]" for element k; "" for a scalar. */
static void
index_text(char *buf, size_t len, const struct h5io_item *it, size_t k)
{
	if (it->rank == 0)
		buf[0] = '\0';
	else if (it->rank == 1)
		snprintf(buf, len, "[%zu]", k);
	else
		snprintf(buf, len, "[%zu,%zu]", k / (size_t)it->dim[1],
			 k % (size_t)it->dim[1]);
}

int
h5io_fail_at(struct h5io_ctx *c, const struct h5io_grp *g,
	     const struct h5io_item *it, size_t k, const char *fmt, ...)
{
	char name[H5IO_NAME_MAX], idx[48], what[256];
	va_list ap;

	h5io_item_name(name, g, it);
	index_text(idx, sizeof(idx), it, k);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return h5io_fail(c, "%s%s %s", name, idx, what);
}

void
h5io_shape_text(char *buf, size_t len, int rank, const hsize_t *dim)
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

int
h5io_open_file(struct h5io_ctx *c, hid_t *file)
{
	struct stat st;
	int fd;
	htri_t is;

	/* errno says it best when the file cannot even be opened; O_NONBLOCK
	 * keeps a FIFO from hanging us. */
	fd = open(c->path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return h5io_fail(c, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return h5io_fail(c, "not a regular file");
	}
	close(fd);
	if (st.st_size == 0)
		return h5io_fail(c, "not an HDF5 file (empty)");
	is = H5Fis_hdf5(c->path);
	if (is == 0)
		return h5io_fail(c, "not an HDF5 file (no HDF5 signature)");
	if (is < 0)
		return h5io_fail_h5(c, "cannot read", "as HDF5");
	*file = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (*file < 0)
		return h5io_fail_h5(c, "cannot open", "as HDF5");
	return 0;
}

/* exists: what H5Lexists or H5Aexists just returned for name. */
static int
must_exist(struct h5io_ctx *c, htri_t exists, const char *kind,
	   const char *name)
{
	if (exists < 0)
		return h5io_fail_h5(c, "cannot read", name);
	if (exists == 0)
		return h5io_fail(c, "%s%s is missing", kind, name);
	return 0;
}

int
h5io_open_group(struct h5io_ctx *c, const struct h5io_grp *parent,
		const char *name, struct h5io_grp *g)
{
	join(g->path, sizeof(g->path), "", parent->path, name);
	g->id = H5I_INVALID_HID;
	if (must_exist(c, H5Lexists(parent->id, name, H5P_DEFAULT), "group ",
		       g->path) != 0)
		return -1;
	g->id = H5Gopen2(parent->id, name, H5P_DEFAULT);
	if (g->id < 0)
		return h5io_fail_h5(c, "cannot open group", g->path);
	return 0;
}

hid_t
h5io_untimed_plist(hid_t cls)
{
	hid_t p = H5Pcreate(cls);

	if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
		H5Pclose(p);
		p = H5I_INVALID_HID;
	}
	return p;
}

int
h5io_create_group(struct h5io_ctx *c, const struct h5io_grp *parent,
		  const char *name, struct h5io_grp *g)
{
	hid_t gcpl = h5io_untimed_plist(H5P_GROUP_CREATE);

	join(g->path, sizeof(g->path), "", parent->path, name);
	g->id = gcpl < 0 ? H5I_INVALID_HID
			 : H5Gcreate2(parent->id, name, H5P_DEFAULT, gcpl,
				      H5P_DEFAULT);
	if (g->id < 0)
		h5io_fail_h5(c, "cannot create", g->path);
	if (gcpl >= 0)
		H5Pclose(gcpl);
	return g->id < 0 ? -1 : 0;
}

void
h5io_close_group(struct h5io_grp *g)
{
	if (g->id >= 0)
		H5Gclose(g->id);
	g->id = H5I_INVALID_HID;
}

int
h5io_open_obj(struct h5io_ctx *c, const struct h5io_grp *g,
	      const struct h5io_item *it, struct h5io_obj *o)
{
	o->attr = it->attr;
	o->id = H5I_INVALID_HID;
	h5io_item_name(o->name, g, it);
	if (must_exist(c, it->attr ? H5Aexists(g->id, it->name)
				   : H5Lexists(g->id, it->name, H5P_DEFAULT),
		       "", o->name) != 0)
		return -1;
	o->id = it->attr ? H5Aopen(g->id, it->name, H5P_DEFAULT)
			 : H5Dopen2(g->id, it->name, H5P_DEFAULT);
	if (o->id < 0)
		return h5io_fail_h5(c, "cannot open", o->name);
	return 0;
}

void
h5io_close_obj(struct h5io_obj *o)
{
	if (o->id >= 0)
		(void)(o->attr ? H5Aclose(o->id) : H5Dclose(o->id));
	o->id = H5I_INVALID_HID;
}

static herr_t
read_obj(const struct h5io_obj *o, hid_t memtype, void *buf)
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
type_ok(hid_t t, enum h5io_type w)
{
	H5T_class_t cls = H5Tget_class(t);

	switch (w) {
	case H5IO_FLOAT:
		return cls == H5T_FLOAT;
	case H5IO_INT:
		return cls == H5T_INTEGER;
	case H5IO_INT8:
		return cls == H5T_INTEGER && H5Tget_size(t) == 1 &&
		       H5Tget_sign(t) == H5T_SGN_2;
	case H5IO_STRING:
		return cls == H5T_STRING;
	}
	return 0;
}

static int
check_type(struct h5io_ctx *c, const struct h5io_obj *o, enum h5io_type w,
	   int *is_vlen)
{
	static const char *const want_text[] = {"float", "integer", "int8",
						"string"};
	hid_t t = o->attr ? H5Aget_type(o->id) : H5Dget_type(o->id);
	char found[32];
	int rc = 0;

	if (t < 0)
		return h5io_fail_h5(c, "cannot read the type of", o->name);
	if (!type_ok(t, w)) {
		type_text(found, sizeof(found), t);
		rc = h5io_fail(c, "%s has type %s, expected %s", o->name, found,
			       want_text[w]);
	} else if (is_vlen != NULL) {
		*is_vlen = H5Tis_variable_str(t) > 0;
	}
	H5Tclose(t);
	return rc;
}

int
h5io_check_type(struct h5io_ctx *c, const struct h5io_obj *o,
		enum h5io_type w)
{
	return check_type(c, o, w, NULL);
}

int
h5io_get_dims(struct h5io_ctx *c, const struct h5io_obj *o,
	      struct h5io_item *it)
{
	hid_t s = o->attr ? H5Aget_space(o->id) : H5Dget_space(o->id);
	hsize_t dim[H5S_MAX_RANK];
	char found[96];
	int rank = -1;

	if (s < 0)
		return h5io_fail_h5(c, "cannot read the shape of", o->name);
	if (H5Sget_simple_extent_type(s) != H5S_NULL)
		rank = H5Sget_simple_extent_dims(s, dim, NULL);
	H5Sclose(s);
	if (rank != it->rank || rank < 1 || rank > 2) {
		h5io_shape_text(found, sizeof(found), rank, dim);
		return h5io_fail(c, "%s has shape %s, expected %d dimension%s",
				 o->name, found, it->rank,
				 it->rank == 1 ? "" : "s");
	}
	for (int d = 0; d < rank; d++)
		it->dim[d] = dim[d];
	return 0;
}

int
h5io_read_dims(struct h5io_ctx *c, const struct h5io_grp *g,
	       struct h5io_item *it)
{
	struct h5io_obj o;
	int rc = h5io_open_obj(c, g, it, &o);

	if (rc == 0)
		rc = h5io_get_dims(c, &o, it);
	h5io_close_obj(&o);
	return rc;
}

int
h5io_check_shape(struct h5io_ctx *c, const struct h5io_obj *o,
		 const struct h5io_item *it)
{
	hid_t s = o->attr ? H5Aget_space(o->id) : H5Dget_space(o->id);
	hsize_t dim[H5S_MAX_RANK];
	char found[96], want[96];
	int rank, ok;

	if (s < 0)
		return h5io_fail_h5(c, "cannot read the shape of", o->name);
	rank = H5Sget_simple_extent_type(s) == H5S_NULL
		       ? -1
		       : H5Sget_simple_extent_dims(s, dim, NULL);
	H5Sclose(s);
	ok = rank == it->rank;
	for (int d = 0; ok && d < rank; d++)
		ok = dim[d] == it->dim[d];
	if (ok)
		return 0;
	h5io_shape_text(found, sizeof(found), rank, dim);
	h5io_shape_text(want, sizeof(want), it->rank, it->dim);
	return h5io_fail(c, "%s has shape %s, expected %s", o->name, found,
			 want);
}

int
h5io_read_item(struct h5io_ctx *c, const struct h5io_grp *g,
	       const struct h5io_item *it, enum h5io_type w, hid_t memtype,
	       void *buf)
{
	struct h5io_obj o;
	int rc = h5io_open_obj(c, g, it, &o);

	if (rc == 0)
		rc = check_type(c, &o, w, NULL);
	if (rc == 0)
		rc = h5io_check_shape(c, &o, it);
	if (rc == 0 && read_obj(&o, memtype, buf) < 0)
		rc = h5io_fail_h5(c, "cannot read", o.name);
	h5io_close_obj(&o);
	return rc;
}

/* ---- reading values ---- */

int
h5io_read_floats(struct h5io_ctx *c, const struct h5io_grp *g,
		 struct h5io_item it, enum h5io_float_rule rule, float *out)
{
	size_t n = h5io_item_count(&it);

	if (h5io_read_item(c, g, &it, H5IO_FLOAT, H5T_NATIVE_FLOAT, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (isfinite(out[k]) && (rule == H5IO_FINITE || out[k] > 0.0f))
			continue;
		return h5io_fail_at(c, g, &it, k, "is %g, expected a %s number",
				    (double)out[k],
				    rule == H5IO_FINITE ? "finite"
							: "finite positive");
	}
	return 0;
}

int
h5io_read_ints(struct h5io_ctx *c, const struct h5io_grp *g,
	       struct h5io_item it, int64_t lo, int64_t hi, int64_t *out)
{
	size_t n = h5io_item_count(&it);

	if (h5io_read_item(c, g, &it, H5IO_INT, H5T_NATIVE_INT64, out) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (out[k] >= lo && out[k] <= hi)
			continue;
		return h5io_fail_at(c, g, &it, k, "is %lld, outside %lld..%lld",
				    (long long)out[k], (long long)lo,
				    (long long)hi);
	}
	return 0;
}

static int
copy_string(struct h5io_ctx *c, const struct h5io_obj *o,
	    const struct h5io_item *it, size_t k, const char *s, char *out,
	    size_t cap)
{
	size_t len = s ? strlen(s) : 0;
	char idx[48];

	if (len >= cap) {
		index_text(idx, sizeof(idx), it, k);
		return h5io_fail(c, "%s%s is %zu bytes long, at most %zu",
				 o->name, idx, len, cap - 1);
	}
	memcpy(out, s ? s : "", len + 1);
	return 0;
}

static int
read_vlen_strings(struct h5io_ctx *c, const struct h5io_obj *o,
		  const struct h5io_item *it, hid_t mt, char *out,
		  size_t stride)
{
	size_t n = h5io_item_count(it);
	char **v = calloc(n, sizeof(*v));
	hid_t space;
	int rc = 0;

	if (v == NULL)
		return h5io_fail(c, "out of memory reading %s", o->name);
	if (H5Tset_size(mt, H5T_VARIABLE) < 0 || read_obj(o, mt, v) < 0) {
		free(v);
		return h5io_fail_h5(c, "cannot read", o->name);
	}
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
	free(v);
	return rc;
}

static int
read_fixed_strings(struct h5io_ctx *c, const struct h5io_obj *o,
		   const struct h5io_item *it, hid_t mt, char *out,
		   size_t stride)
{
	size_t n = h5io_item_count(it);
	hid_t ft = o->attr ? H5Aget_type(o->id) : H5Dget_type(o->id);
	size_t size = ft >= 0 ? H5Tget_size(ft) : 0;
	char *buf;
	int rc = 0;

	if (ft >= 0)
		H5Tclose(ft);
	if (size == 0 || size > STRING_MAX)
		return h5io_fail(c, "%s has strings of %zu bytes, "
				 "expected 1..%d", o->name, size, STRING_MAX);
	/* One byte more than stored, NUL-terminated: HDF5 converts any
	 * padding to that. */
	buf = malloc(n * (size + 1));
	if (buf == NULL)
		return h5io_fail(c, "out of memory reading %s", o->name);
	if (H5Tset_size(mt, size + 1) < 0 ||
	    H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || read_obj(o, mt, buf) < 0)
		rc = h5io_fail_h5(c, "cannot read", o->name);
	for (size_t k = 0; k < n && rc == 0; k++) {
		buf[k * (size + 1) + size] = '\0';
		rc = copy_string(c, o, it, k, buf + k * (size + 1),
				 out + k * stride, stride);
	}
	free(buf);
	return rc;
}

int
h5io_read_strings(struct h5io_ctx *c, const struct h5io_grp *g,
		  struct h5io_item it, char *out, size_t stride)
{
	struct h5io_obj o;
	hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
	int vlen = 0;
	int rc = h5io_open_obj(c, g, &it, &o);

	if (rc == 0)
		rc = check_type(c, &o, H5IO_STRING, &vlen);
	if (rc == 0)
		rc = h5io_check_shape(c, &o, &it);
	if (rc == 0) {
		/* The memory type keeps the stored character set: HDF5 does not
		 * convert between ASCII and UTF-8. */
		ft = o.attr ? H5Aget_type(o.id) : H5Dget_type(o.id);
		mt = H5Tcopy(H5T_C_S1);
		if (ft < 0 || mt < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0)
			rc = h5io_fail_h5(c, "cannot read", o.name);
	}
	if (rc == 0 && vlen)
		rc = read_vlen_strings(c, &o, &it, mt, out, stride);
	else if (rc == 0)
		rc = read_fixed_strings(c, &o, &it, mt, out, stride);
	if (mt >= 0)
		H5Tclose(mt);
	if (ft >= 0)
		H5Tclose(ft);
	h5io_close_obj(&o);
	return rc;
}

/* ---- writing ---- */

int
h5io_write_item(struct h5io_ctx *c, const struct h5io_grp *g,
		struct h5io_item it, hid_t filetype, hid_t memtype,
		const void *buf)
{
	char name[H5IO_NAME_MAX];
	hid_t space, id = H5I_INVALID_HID;
	int rc = 0;

	h5io_item_name(name, g, &it);
	space = it.rank == 0 ? H5Screate(H5S_SCALAR)
			     : H5Screate_simple(it.rank, it.dim, NULL);
	if (it.attr) {
		if (space < 0 ||
		    (id = H5Acreate2(g->id, it.name, filetype, space, H5P_DEFAULT,
				     H5P_DEFAULT)) < 0 ||
		    H5Awrite(id, memtype, buf) < 0)
			rc = h5io_fail_h5(c, "cannot write", name);
		if (id >= 0)
			H5Aclose(id);
	} else {
		hid_t dcpl = h5io_untimed_plist(H5P_DATASET_CREATE);

		if (space < 0 || dcpl < 0 ||
		    (id = H5Dcreate2(g->id, it.name, filetype, space, H5P_DEFAULT,
				     dcpl, H5P_DEFAULT)) < 0 ||
		    H5Dwrite(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
			rc = h5io_fail_h5(c, "cannot write", name);
		if (id >= 0)
			H5Dclose(id);
		if (dcpl >= 0)
			H5Pclose(dcpl);
	}
	if (space >= 0)
		H5Sclose(space);
	return rc;
}

int
h5io_write_strings(struct h5io_ctx *c, const struct h5io_grp *g,
		   struct h5io_item it, const char *s, size_t stride)
{
	size_t n = h5io_item_count(&it), size = 1;
	char name[H5IO_NAME_MAX];
	char *buf;
	hid_t t;
	int rc;

	for (size_t k = 0; k < n; k++) {
		size_t len = strnlen(s + k * stride, stride) + 1;
		size = len > size ? len : size;
	}
	h5io_item_name(name, g, &it);
	buf = calloc(n, size);
	if (buf == NULL)
		return h5io_fail(c, "out of memory writing %s", name);
	for (size_t k = 0; k < n; k++)
		memcpy(buf + k * size, s + k * stride,
		       strnlen(s + k * stride, stride));
	t = H5Tcopy(H5T_C_S1);
	if (t < 0 || H5Tset_size(t, size) < 0 ||
	    H5Tset_strpad(t, H5T_STR_NULLTERM) < 0)
		rc = h5io_fail_h5(c, "cannot write", name);
	else
		rc = h5io_write_item(c, g, it, t, t, buf);
	if (t >= 0)
		H5Tclose(t);
	free(buf);
	return rc;
}

int
h5io_write_string(struct h5io_ctx *c, const struct h5io_grp *g,
		  const char *attr, const char *s, size_t cap)
{
	return h5io_write_strings(c, g, H5IO_ATTR(attr), s, cap);
}

int
h5io_write_i32(struct h5io_ctx *c, const struct h5io_grp *g,
	       struct h5io_item it, const int32_t *v)
{
	return h5io_write_item(c, g, it, H5T_STD_I32LE, H5T_NATIVE_INT32, v);
}

int
h5io_write_f32(struct h5io_ctx *c, const struct h5io_grp *g,
	       struct h5io_item it, const float *v)
{
	return h5io_write_item(c, g, it, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v);
}

/* ---- writing a whole file atomically ---- */

hid_t
h5io_create_temp(struct h5io_ctx *c, char *tmp, size_t len)
{
	static _Atomic unsigned serial;
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	/* The file creation list is a group creation list for the root. */
	hid_t fcpl = h5io_untimed_plist(H5P_FILE_CREATE);
	hid_t f = H5I_INVALID_HID;

	if (fapl < 0 || fcpl < 0 ||
	    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
		h5io_fail_h5(c, "cannot create", "a file property list");
	} else {
		for (int tries = 0; tries < 100 && f < 0; tries++) {
			snprintf(tmp, len, "%s.tmp-%ld-%u", c->path,
				 (long)getpid(), serial++);
			if (access(tmp, F_OK) == 0)
				continue;
			f = H5Fcreate(tmp, H5F_ACC_EXCL, fcpl, fapl);
			if (f < 0) {
				h5io_fail_h5(c, "cannot create", tmp);
				break;
			}
		}
		if (f < 0)
			h5io_fail(c, "cannot create a temporary file next to it");
	}
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (fapl >= 0)
		H5Pclose(fapl);
	return f;
}

/* The data must reach the disk before the rename does, or a power cut
 * could leave an empty file under the final name. */
static int
sync_file(struct h5io_ctx *c, const char *tmp)
{
	int fd = open(tmp, O_RDONLY);

	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return h5io_fail(c, "cannot sync %s: %s", tmp, strerror(e));
	}
	close(fd);
	return 0;
}

int
h5io_commit(struct h5io_ctx *c, hid_t file, const char *tmp)
{
	if (H5Fclose(file) < 0)
		h5io_fail_h5(c, "cannot write", tmp);
	if (!c->failed)
		sync_file(c, tmp);
	if (!c->failed && rename(tmp, c->path) != 0)
		h5io_fail(c, "cannot rename %s into place: %s", tmp,
			  strerror(errno));
	if (c->failed)
		unlink(tmp);
	return c->failed ? -1 : 0;
}
