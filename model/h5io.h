/* Checked HDF5 access for files iolat does not trust: every attribute and
 * dataset is checked for presence, type class, shape and range before its
 * values are used, and the first failure becomes one line naming the file
 * and the object, e.g. "m.h5: /layers/1/bias has shape [3], expected [4]".
 *
 * Calls that can fail take a struct h5io_ctx and return 0, or -1 once the
 * context has failed. Only the first failure is kept (later ones are its
 * consequences), so a run of calls may be chained with || and checked once.
 * Datasets and attributes have rank 0 (scalar), 1 or 2. */
#ifndef IOLAT_H5IO_H
#define IOLAT_H5IO_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#define H5IO_NAME_MAX 128 /* "attribute /layers/7/output_zero_point" */

/* One file: the path every message names, and the first failure only. */
struct h5io_ctx {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
};

/* An open group and its path, for messages. The root: {file, "/"}. */
struct h5io_grp {
	hid_t id;
	char path[H5IO_NAME_MAX];
};

/* A dataset or an attribute of a group, with the shape it must have. */
struct h5io_item {
	const char *name;
	int attr;   /* 1: attribute of the group, 0: dataset in it */
	int rank;   /* 0: scalar */
	hsize_t dim[2];
};

#define H5IO_ATTR(n) ((struct h5io_item){(n), 1, 0, {0, 0}})
#define H5IO_ATTR_VEC(n, len) ((struct h5io_item){(n), 1, 1, {(len), 0}})
#define H5IO_DSET_VEC(n, len) ((struct h5io_item){(n), 0, 1, {(len), 0}})
#define H5IO_DSET_MAT(n, rows, cols) \
	((struct h5io_item){(n), 0, 2, {(rows), (cols)}})

/* An open dataset or attribute, and its name for messages. */
struct h5io_obj {
	hid_t id;
	int attr;
	char name[H5IO_NAME_MAX];
};

/* What a stored type must be. */
enum h5io_type {
	H5IO_FLOAT,  /* any float class */
	H5IO_INT,    /* any integer class */
	H5IO_INT8,   /* exactly signed 8-bit: never converted from wider */
	H5IO_STRING, /* fixed or variable length */
};

enum h5io_float_rule {
	H5IO_FINITE,
	H5IO_POSITIVE, /* finite and > 0 */
};

/* Records the failure "<path>: <message>" in c->err, unless c has already
 * failed; control characters become '?'. Returns -1. */
int h5io_fail(struct h5io_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Fails with "<what> <name>: " and HDF5's most specific message. Call right
 * after the failing HDF5 call: every HDF5 API entry clears its error stack. */
int h5io_fail_h5(struct h5io_ctx *c, const char *what, const char *name);

/* Fails about element k of item it in g: "/g/it[k] <message>". */
int h5io_fail_at(struct h5io_ctx *c, const struct h5io_grp *g,
		 const struct h5io_item *it, size_t k, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Turns off HDF5's printing of its error stack, for the whole process:
 * our one line replaces it. Call before the first HDF5 call. */
void h5io_quiet(void);

/* Writes "/g/name" or "attribute /g/name" into buf (H5IO_NAME_MAX bytes). */
void h5io_item_name(char *buf, const struct h5io_grp *g,
		    const struct h5io_item *it);

/* The number of elements of it: the product of its dimensions. */
size_t h5io_item_count(const struct h5io_item *it);

/* Writes "[3,5]" ("null" for rank -1) into buf, truncating to len. */
void h5io_shape_text(char *buf, size_t len, int rank, const hsize_t *dim);

/* Opens c->path read-only, after checking it is a non-empty regular file
 * with an HDF5 signature. On success the caller closes *file (H5Fclose). */
int h5io_open_file(struct h5io_ctx *c, hid_t *file);

/* Opens group name of parent into g; fails if it is missing or not a group.
 * Close g with h5io_close_group, even after a failure. */
int h5io_open_group(struct h5io_ctx *c, const struct h5io_grp *parent,
		    const char *name, struct h5io_grp *g);

/* Creates group name in parent, open in g; close it with h5io_close_group.
 * Like datasets written here, it records no times: the same content makes
 * the same bytes. */
int h5io_create_group(struct h5io_ctx *c, const struct h5io_grp *parent,
		      const char *name, struct h5io_grp *g);

/* Closes g if open; g may be closed twice. */
void h5io_close_group(struct h5io_grp *g);

/* Opens it in g into o, with no check of its type or shape. Close o with
 * h5io_close_obj, even after a failure. */
int h5io_open_obj(struct h5io_ctx *c, const struct h5io_grp *g,
		  const struct h5io_item *it, struct h5io_obj *o);

/* Closes o if open; o may be closed twice. */
void h5io_close_obj(struct h5io_obj *o);

/* Fails unless o's stored type is of kind w. */
int h5io_check_type(struct h5io_ctx *c, const struct h5io_obj *o,
		    enum h5io_type w);

/* Fails unless o's shape is exactly it's rank and dimensions. */
int h5io_check_shape(struct h5io_ctx *c, const struct h5io_obj *o,
		     const struct h5io_item *it);

/* For an item whose dimensions the file decides: fails unless o has rank
 * it->rank (1 or 2), and stores its dimensions in it->dim. */
int h5io_get_dims(struct h5io_ctx *c, const struct h5io_obj *o,
		  struct h5io_item *it);

/* The same for it in g, opened and closed here. */
int h5io_read_dims(struct h5io_ctx *c, const struct h5io_grp *g,
		   struct h5io_item *it);

/* Reads the whole of it into buf (h5io_item_count elements of memtype)
 * after checking its stored type against w and its shape. */
int h5io_read_item(struct h5io_ctx *c, const struct h5io_grp *g,
		   const struct h5io_item *it, enum h5io_type w, hid_t memtype,
		   void *buf);

/* Reads float values, each of which must satisfy rule. */
int h5io_read_floats(struct h5io_ctx *c, const struct h5io_grp *g,
		     struct h5io_item it, enum h5io_float_rule rule,
		     float *out);

/* Reads integers of any stored width as int64, each in lo..hi, so that a
 * wide stored type never saturates unseen. */
int h5io_read_ints(struct h5io_ctx *c, const struct h5io_grp *g,
		   struct h5io_item it, int64_t lo, int64_t hi, int64_t *out);

/* Reads a string (rank 0) or a vector of strings, fixed or variable length,
 * into out, stride bytes apart, each NUL-terminated; fails on one that
 * does not fit in stride bytes. */
int h5io_read_strings(struct h5io_ctx *c, const struct h5io_grp *g,
		      struct h5io_item it, char *out, size_t stride);

/* Creates it in g with stored type filetype and writes buf to it, which
 * holds h5io_item_count elements of memtype. */
int h5io_write_item(struct h5io_ctx *c, const struct h5io_grp *g,
		    struct h5io_item it, hid_t filetype, hid_t memtype,
		    const void *buf);

/* Writes n strings (h5io_item_count) of at most stride bytes each, stride
 * apart in s, as fixed-length NUL-terminated strings: h5dump shows them
 * plainly. */
int h5io_write_strings(struct h5io_ctx *c, const struct h5io_grp *g,
		       struct h5io_item it, const char *s, size_t stride);

/* Writes string attribute attr from s, at most cap bytes. */
int h5io_write_string(struct h5io_ctx *c, const struct h5io_grp *g,
		      const char *attr, const char *s, size_t cap);

/* Write int32 or float values, stored little-endian. */
int h5io_write_i32(struct h5io_ctx *c, const struct h5io_grp *g,
		   struct h5io_item it, const int32_t *v);
int h5io_write_f32(struct h5io_ctx *c, const struct h5io_grp *g,
		   struct h5io_item it, const float *v);

/* Writing a file atomically: h5io_create_temp creates, exclusively, a new
 * file next to c->path (its name into tmp, len bytes) in the 1.8 file
 * format, which checksums the superblock and every object header, and
 * with no times in its root group; h5io_commit closes it and, unless c has
 * failed, syncs it and renames it over c->path, so that readers see the
 * old file or the whole new one. tmp is removed on any failure.
 * h5io_create_temp returns the file, or H5I_INVALID_HID. */
hid_t h5io_create_temp(struct h5io_ctx *c, char *tmp, size_t len);
int h5io_commit(struct h5io_ctx *c, hid_t file, const char *tmp);

/* A creation property list for groups (H5P_GROUP_CREATE) or datasets
 * (H5P_DATASET_CREATE) that records no times; close it with H5Pclose.
 * Returns H5I_INVALID_HID on failure. */
hid_t h5io_untimed_plist(hid_t cls);

#endif
