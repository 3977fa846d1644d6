/* The raw HDF5 API for the Check suites. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h5_helpers.h"

ssize_t
test_h5_open_objects(void)
{
	H5open();
	return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

hid_t
test_h5_open_rw(const char *path)
{
	hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);

	ck_assert_int_ge(f, 0);
	return f;
}

void
test_h5_delete(const char *path, const char *obj)
{
	hid_t f = test_h5_open_rw(path);

	ck_assert_int_ge(H5Ldelete(f, obj, H5P_DEFAULT), 0);
	H5Fclose(f);
}

void
test_h5_delete_attr(const char *path, const char *obj, const char *attr)
{
	hid_t f = test_h5_open_rw(path);

	ck_assert_int_ge(H5Adelete_by_name(f, obj, attr, H5P_DEFAULT), 0);
	H5Fclose(f);
}

void
test_h5_move(const char *path, const char *from, const char *to)
{
	hid_t f = test_h5_open_rw(path);

	ck_assert_int_ge(H5Lmove(f, from, f, to, H5P_DEFAULT, H5P_DEFAULT), 0);
	H5Fclose(f);
}

void
test_h5_put(hid_t f, const char *obj, hid_t type, int rank, const hsize_t *dims,
	    const void *data)
{
	hid_t s = H5Screate_simple(rank, dims, NULL);
	hid_t d;

	if (H5Lexists(f, obj, H5P_DEFAULT) > 0)
		ck_assert_int_ge(H5Ldelete(f, obj, H5P_DEFAULT), 0);
	d = H5Dcreate2(f, obj, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	ck_assert_int_ge(d, 0);
	ck_assert_int_ge(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
	H5Dclose(d);
	H5Sclose(s);
}

void
test_h5_replace(const char *path, const char *obj, hid_t type, int rank,
		const hsize_t *dims, const void *data)
{
	hid_t f = test_h5_open_rw(path);

	test_h5_put(f, obj, type, rank, dims, data);
	H5Fclose(f);
}

void
test_h5_poke(const char *path, const char *obj, const char *attr, size_t k,
	     hid_t memtype, const void *value)
{
	hid_t f = test_h5_open_rw(path);
	/* Through the object: H5Awrite on an attribute opened by path
	 * fails in HDF5 1.10 ("can't locate open attribute"). */
	hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
	hid_t id = attr ? H5Aopen(o, attr, H5P_DEFAULT) : H5Dopen2(f, obj, H5P_DEFAULT);
	hid_t s = attr ? H5Aget_space(id) : H5Dget_space(id);
	hssize_t n = H5Sget_simple_extent_npoints(s);
	char *buf = malloc((size_t)n * 8);

	ck_assert_uint_lt(k, (size_t)n);
	ck_assert_uint_eq(H5Tget_size(memtype), 8);
	if (attr) {
		ck_assert_int_ge(H5Aread(id, memtype, buf), 0);
		memcpy(buf + k * 8, value, 8);
		ck_assert_int_ge(H5Awrite(id, memtype, buf), 0);
		H5Aclose(id);
	} else {
		ck_assert_int_ge(H5Dread(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
		memcpy(buf + k * 8, value, 8);
		ck_assert_int_ge(H5Dwrite(id, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
		H5Dclose(id);
	}
	free(buf);
	H5Sclose(s);
	H5Oclose(o);
	H5Fclose(f);
}

void
test_h5_set_float(const char *path, const char *obj, const char *attr, size_t k,
		  double v)
{
	test_h5_poke(path, obj, attr, k, H5T_NATIVE_DOUBLE, &v);
}

void
test_h5_set_int(const char *path, const char *obj, const char *attr, size_t k,
		long long v)
{
	test_h5_poke(path, obj, attr, k, H5T_NATIVE_LLONG, &v);
}

void
test_h5_put_attr_strings(hid_t loc, const char *obj, const char *attr,
			 const char *const *s, hsize_t n, int vlen)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
	size_t count = n ? n : 1, size = 1;
	char *fixed = NULL;
	hid_t a;

	if (H5Aexists_by_name(loc, obj, attr, H5P_DEFAULT) > 0)
		ck_assert_int_ge(H5Adelete_by_name(loc, obj, attr, H5P_DEFAULT), 0);
	if (vlen) {
		H5Tset_size(t, H5T_VARIABLE);
		H5Tset_cset(t, H5T_CSET_UTF8);
	} else {
		for (size_t k = 0; k < count; k++)
			size = strlen(s[k]) + 1 > size ? strlen(s[k]) + 1 : size;
		H5Tset_size(t, size);
		fixed = calloc(count, size);
		for (size_t k = 0; k < count; k++)
			memcpy(fixed + k * size, s[k], strlen(s[k]));
	}
	a = H5Acreate_by_name(loc, obj, attr, t, sp, H5P_DEFAULT, H5P_DEFAULT,
			      H5P_DEFAULT);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(H5Awrite(a, t, vlen ? (const void *)s : fixed), 0);
	H5Aclose(a);
	free(fixed);
	H5Sclose(sp);
	H5Tclose(t);
}

void
test_h5_put_attr_string(hid_t loc, const char *obj, const char *attr,
			const char *s)
{
	test_h5_put_attr_strings(loc, obj, attr, &s, 0, 0);
}

void
test_h5_set_attr_strings(const char *path, const char *obj, const char *attr,
			 const char *const *s, hsize_t n, int vlen)
{
	hid_t f = test_h5_open_rw(path);

	test_h5_put_attr_strings(f, obj, attr, s, n, vlen);
	H5Fclose(f);
}

void
test_h5_set_attr_string(const char *path, const char *obj, const char *attr,
			const char *s)
{
	test_h5_set_attr_strings(path, obj, attr, &s, 0, 0);
}
