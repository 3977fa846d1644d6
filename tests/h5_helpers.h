/* The raw HDF5 API for the Check suites, to write files as other tools
 * write them and to break good ones. Each call asserts with Check that
 * HDF5 did what was asked, and closes whatever it opened. */
#ifndef IOLAT_TEST_H5_HELPERS_H
#define IOLAT_TEST_H5_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

#include <hdf5.h>

/* HDF5 objects open in the process: files, groups, datasets, attributes, named types. */
ssize_t test_h5_open_objects(void);

/* Opens path read-write; the caller closes it with H5Fclose. */
hid_t test_h5_open_rw(const char *path);

/* Deletes the link obj (a group or dataset) of the file at path. */
void test_h5_delete(const char *path, const char *obj);

/* Deletes attribute attr of object obj of the file at path. */
void test_h5_delete_attr(const char *path, const char *obj, const char *attr);

/* Moves link from to the name to in the file at path. */
void test_h5_move(const char *path, const char *from, const char *to);

/* Creates dataset obj in f, replacing it if present, of native type and shape dims, from data. */
void test_h5_put(hid_t f, const char *obj, hid_t type, int rank,
		 const hsize_t *dims, const void *data);

/* test_h5_put in the file at path. */
void test_h5_replace(const char *path, const char *obj, hid_t type, int rank,
		     const hsize_t *dims, const void *data);

/* Sets element k of dataset obj (attr NULL) or its attribute attr to *value, an 8-byte memtype. */
void test_h5_poke(const char *path, const char *obj, const char *attr,
		  size_t k, hid_t memtype, const void *value);

/* test_h5_poke of a double, converted to the stored type. */
void test_h5_set_float(const char *path, const char *obj, const char *attr,
		       size_t k, double v);

/* test_h5_poke of a long long, converted to the stored type. */
void test_h5_set_int(const char *path, const char *obj, const char *attr,
		     size_t k, long long v);

/* Replaces attr of obj in loc by n strings (rank 0 if n is 0): fixed, or vlen UTF-8 as h5py. */
void test_h5_put_attr_strings(hid_t loc, const char *obj, const char *attr,
			      const char *const *s, hsize_t n, int vlen);

/* test_h5_put_attr_strings of one fixed-length string, rank 0. */
void test_h5_put_attr_string(hid_t loc, const char *obj, const char *attr,
			     const char *s);

/* test_h5_put_attr_strings in the file at path. */
void test_h5_set_attr_strings(const char *path, const char *obj,
			      const char *attr, const char *const *s,
			      hsize_t n, int vlen);

/* test_h5_put_attr_string in the file at path. */
void test_h5_set_attr_string(const char *path, const char *obj,
			     const char *attr, const char *s);

#endif
