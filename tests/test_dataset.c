/* Datasets: both layouts round-trip every bit, the layout is detected,
 * the same content makes the same bytes, files as other tools write them
 * are read, and every kind of broken file (written good by ds_write, then
 * broken with the raw HDF5 API) is refused with one line naming the file
 * and the object at fault. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "dataset.h"
#include "file_helpers.h"
#include "h5_helpers.h"
#include "helpers.h"
#include "suites.h"

#define PATH_LEN 4200
#define NF 8

/* n records of NF features with awkward values: negative zero, a
 * denormal, the largest float, integers past 2^24, and labels and
 * latencies up to UINT32_MAX. */
static void
make_ds(struct ds *d, size_t n, int labelled, uint64_t seed)
{
	static const float odd[] = {-0.0f, 1e-40f, FLT_MAX, -FLT_MAX, 16777217.0f,
				    0.1f, -3.5f, 4096.0f};
	uint64_t st = seed;

	ck_assert_int_eq(ds_alloc(d, n, NF, labelled), 0);
	ck_assert_uint_eq(d->n, n);
	ck_assert_uint_eq(d->n_features, NF);
	for (size_t i = 0; i < n * NF; i++)
		d->features[i] = i < 8 ? odd[i]
				       : (float)(test_rand_normal(&st) * 1e4);
	for (size_t i = 0; labelled && i < n; i++) {
		d->labels[i] = (uint8_t)(test_rand_u64(&st) & 1);
		d->latency_us[i] = i == 0 ? UINT32_MAX : (uint32_t)test_rand_u64(&st);
	}
}

static const char *
path_of(const char *name, char *path)
{
	snprintf(path, PATH_LEN, "%s", test_tmp_path(name));
	return path;
}

static void
write_ok(const char *path, const struct ds *d, enum ds_layout layout)
{
	char err[512];

	ck_assert_msg(ds_write(path, d, layout, err, sizeof(err)) == 0,
		      "ds_write: %s", err);
}

static void
read_ok(const char *path, struct ds *d, enum ds_layout want)
{
	enum ds_layout layout = (enum ds_layout)-1;
	char err[512];

	ck_assert_msg(ds_read(path, d, &layout, err, sizeof(err)) == 0,
		      "ds_read: %s", err);
	ck_assert_int_eq(layout, want);
}

/* A good file of n records in the given layout, saved as name. */
static void
good_file(enum ds_layout layout, size_t n, const char *name, char *path)
{
	struct ds d;

	make_ds(&d, n, layout == DS_COMPACT, 42);
	write_ok(path_of(name, path), &d, layout);
	ds_free(&d);
}

static void
assert_same_ds(const struct ds *a, const struct ds *b, int labelled)
{
	ck_assert_uint_eq(b->n, a->n);
	ck_assert_uint_eq(b->n_features, a->n_features);
	ck_assert_mem_eq(b->features, a->features, a->n * a->n_features * sizeof(float));
	if (!labelled) {
		ck_assert_ptr_null(b->labels);
		ck_assert_ptr_null(b->latency_us);
		return;
	}
	ck_assert_mem_eq(b->labels, a->labels, a->n);
	ck_assert_mem_eq(b->latency_us, a->latency_us, a->n * sizeof(uint32_t));
}

/* ds_read refuses path with one line that starts with the file name and
 * holds every fragment given, returns nothing and leaves no HDF5
 * identifier open. */
#define assert_rejected(path, ...) \
	assert_rejected_((path), (const char *const[]){__VA_ARGS__, NULL})

static void
assert_rejected_(const char *path, const char *const *parts)
{
	char err[512] = "untouched";
	ssize_t ids = test_h5_open_objects();
	struct ds d;

	memset(&d, 0x5a, sizeof(d));
	ck_assert_int_eq(ds_read(path, &d, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
		      "message does not start with the file name: %s", err);
	for (; *parts; parts++)
		ck_assert_msg(strstr(err, *parts) != NULL, "\"%s\" not in: %s",
			      *parts, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
	ck_assert_ptr_null(d.features);
	ck_assert_ptr_null(d.labels);
	ck_assert_ptr_null(d.latency_us);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_int_eq(test_h5_open_objects(), ids);
}

/* ---- round trips ---- */

START_TEST(compact_round_trip_keeps_every_bit)
{
	char path[PATH_LEN];
	struct ds a, b;

	make_ds(&a, 1000, 1, 1);
	write_ok(path_of("c.h5", path), &a, DS_COMPACT);
	read_ok(path, &b, DS_COMPACT);
	assert_same_ds(&a, &b, 1);
	ds_free(&b);
	ds_free(&a);
	ck_assert_ptr_null(a.features);
}
END_TEST

START_TEST(compact_round_trip_without_labels)
{
	char path[PATH_LEN];
	struct ds a, b;

	make_ds(&a, 17, 0, 2);
	write_ok(path_of("c.h5", path), &a, DS_COMPACT);
	read_ok(path, &b, DS_COMPACT);
	assert_same_ds(&a, &b, 0);
	ds_free(&b);
	ds_free(&a);
}
END_TEST

/* ONE's layout keeps the features only; records come back in numeric
 * order (record 10 after 9, not after 1). */
START_TEST(one_round_trip_keeps_every_bit_in_record_order)
{
	char path[PATH_LEN];
	struct ds a, b;

	make_ds(&a, 2345, 1, 3);
	write_ok(path_of("one.h5", path), &a, DS_ONE);
	read_ok(path, &b, DS_ONE);
	assert_same_ds(&a, &b, 0);
	ds_free(&b);
	ds_free(&a);
}
END_TEST

START_TEST(one_round_trip_of_a_single_wide_record)
{
	char path[PATH_LEN];
	struct ds a, b;

	ck_assert_int_eq(ds_alloc(&a, 1, DS_MAX_FEATURES, 0), 0);
	for (size_t j = 0; j < DS_MAX_FEATURES; j++)
		a.features[j] = (float)j - 0.5f;
	write_ok(path_of("one.h5", path), &a, DS_ONE);
	read_ok(path, &b, DS_ONE);
	assert_same_ds(&a, &b, 0);
	ds_free(&b);
	ds_free(&a);
}
END_TEST

START_TEST(read_accepts_null_layout)
{
	char path[PATH_LEN], err[256];
	struct ds d;

	good_file(DS_ONE, 3, "one.h5", path);
	ck_assert_int_eq(ds_read(path, &d, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.n, 3);
	ds_free(&d);
}
END_TEST

static void
assert_untimed(hid_t f, const char *obj)
{
#if H5_VERSION_GE(1, 12, 0)
	H5O_info2_t info;
	ck_assert_int_ge(H5Oget_info_by_name3(f, obj, &info, H5O_INFO_TIME, H5P_DEFAULT), 0);
#else
	H5O_info_t info;
	ck_assert_int_ge(H5Oget_info_by_name2(f, obj, &info, H5O_INFO_TIME, H5P_DEFAULT), 0);
#endif
	ck_assert_msg(info.ctime == 0 && info.mtime == 0 && info.atime == 0 &&
		      info.btime == 0, "%s records times", obj);
}

/* Byte-identical files, and no time recorded in any object header: the
 * identity does not depend on writing both within the same second. */
START_TEST(same_content_writes_identical_bytes)
{
	static const enum ds_layout layouts[] = {DS_COMPACT, DS_ONE};
	char p1[PATH_LEN], p2[PATH_LEN];
	size_t l1, l2;
	struct ds d;
	hid_t f;

	make_ds(&d, 50, 1, 4);
	for (int i = 0; i < 2; i++) {
		void *b1, *b2;
		write_ok(path_of("a.h5", p1), &d, layouts[i]);
		write_ok(path_of("b.h5", p2), &d, layouts[i]);
		b1 = test_read_file(p1, &l1);
		b2 = test_read_file(p2, &l2);
		ck_assert_uint_eq(l1, l2);
		ck_assert_msg(memcmp(b1, b2, l1) == 0, "layout %d: files differ", i);
		free(b1);
		free(b2);
		f = H5Fopen(p1, H5F_ACC_RDONLY, H5P_DEFAULT);
		ck_assert_int_ge(f, 0);
		assert_untimed(f, "/");
		assert_untimed(f, i ? "/value" : "/features");
		if (i) {
			assert_untimed(f, "/value/7");
			assert_untimed(f, "/value/7/0");
		} else {
			assert_untimed(f, "/labels");
		}
		H5Fclose(f);
	}
	ds_free(&d);
}
END_TEST

START_TEST(root_attributes_name_the_format)
{
	char path[PATH_LEN], text[32] = "";
	int32_t nf = 0;
	hid_t f, a, t;

	good_file(DS_ONE, 2, "one.h5", path);
	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	a = H5Aopen(f, "format", H5P_DEFAULT);
	t = H5Aget_type(a);
	ck_assert_uint_lt(H5Tget_size(t), sizeof(text));
	ck_assert_int_ge(H5Aread(a, t, text), 0);
	ck_assert_str_eq(text, "iolat-dataset");
	H5Tclose(t);
	H5Aclose(a);
	a = H5Aopen(f, "n_features", H5P_DEFAULT);
	ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT32, &nf), 0);
	ck_assert_int_eq(nf, NF);
	H5Aclose(a);
	H5Fclose(f);
}
END_TEST

START_TEST(write_replaces_file_and_leaves_no_temporary)
{
	char path[PATH_LEN];
	struct ds a, b;

	good_file(DS_COMPACT, 5, "d.h5", path);
	make_ds(&a, 9, 0, 5);
	write_ok(path, &a, DS_ONE);
	read_ok(path, &b, DS_ONE);
	assert_same_ds(&a, &b, 0);
	ck_assert_int_eq(test_count_entries(test_tmp_path("")), 1);
	ds_free(&b);
	ds_free(&a);
}
END_TEST

/* ---- files written by other tools ---- */

/* As h5py writes numpy arrays: float64 features, int64 labels and
 * latencies, no attributes, the default (earliest) file format. */
START_TEST(reads_compact_file_with_wide_types_and_no_attributes)
{
	const double x[3][2] = {{1.5, -2.0}, {0.25, 1e6}, {3.0, 4.0}};
	const int64_t labels[3] = {0, 1, 1}, lat[3] = {10, 4294967295LL, 0};
	const hsize_t d2[2] = {3, 2}, d1[1] = {3};
	char path[PATH_LEN];
	hid_t f;
	struct ds d;

	f = H5Fcreate(path_of("py.h5", path), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	test_h5_put(f, "features", H5T_NATIVE_DOUBLE, 2, d2, x);
	test_h5_put(f, "labels", H5T_NATIVE_INT64, 1, d1, labels);
	test_h5_put(f, "latency_us", H5T_NATIVE_INT64, 1, d1, lat);
	H5Fclose(f);
	read_ok(path, &d, DS_COMPACT);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.n_features, 2);
	ck_assert(d.features[0] == 1.5f && d.features[1] == -2.0f);
	ck_assert(d.features[3] == 1e6f && d.features[5] == 4.0f);
	ck_assert_uint_eq(d.labels[0], 0);
	ck_assert_uint_eq(d.labels[2], 1);
	ck_assert_uint_eq(d.latency_us[1], UINT32_MAX);
	ds_free(&d);
}
END_TEST

/* As ONE's tools write it: contiguous records, attributes on the root and
 * on /value, a second input per record (ignored). */
START_TEST(reads_one_file_with_attributes_and_extra_inputs)
{
	const hsize_t dims[2] = {1, 3};
	char path[PATH_LEN], name[32];
	hid_t f, v;
	struct ds d;

	f = H5Fcreate(path_of("one.h5", path), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	test_h5_put_attr_string(f, ".", "desc", "representative data");
	v = H5Gcreate2(f, "value", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	test_h5_put_attr_string(v, ".", "desc", "input data");
	for (int k = 0; k < 12; k++) {
		const float x[3] = {(float)k, k * 0.5f, -1.0f};
		const int32_t other[3] = {7, 7, 7};
		snprintf(name, sizeof(name), "value/%d", k);
		H5Gclose(H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
		snprintf(name, sizeof(name), "value/%d/0", k);
		test_h5_put(f, name, H5T_NATIVE_FLOAT, 2, dims, x);
		snprintf(name, sizeof(name), "value/%d/1", k);
		test_h5_put(f, name, H5T_NATIVE_INT32, 2, dims, other);
	}
	H5Gclose(v);
	H5Fclose(f);
	read_ok(path, &d, DS_ONE);
	ck_assert_uint_eq(d.n, 12);
	ck_assert_uint_eq(d.n_features, 3);
	ck_assert_ptr_null(d.labels);
	for (int k = 0; k < 12; k++) {
		ck_assert(d.features[k * 3] == (float)k);
		ck_assert(d.features[k * 3 + 1] == k * 0.5f);
		ck_assert(d.features[k * 3 + 2] == -1.0f);
	}
	ds_free(&d);
}
END_TEST

START_TEST(reads_without_the_format_attributes)
{
	char path[PATH_LEN];
	hid_t f;
	struct ds d;

	good_file(DS_COMPACT, 4, "c.h5", path);
	f = test_h5_open_rw(path);
	ck_assert_int_ge(H5Adelete(f, "format"), 0);
	ck_assert_int_ge(H5Adelete(f, "n_features"), 0);
	H5Fclose(f);
	read_ok(path, &d, DS_COMPACT);
	ck_assert_uint_eq(d.n, 4);
	ds_free(&d);
}
END_TEST

START_TEST(read_leaves_no_hdf5_object_open)
{
	char path[PATH_LEN];
	ssize_t before;
	struct ds d;

	good_file(DS_ONE, 20, "one.h5", path);
	before = test_h5_open_objects();
	read_ok(path, &d, DS_ONE);
	ck_assert_int_eq(test_h5_open_objects(), before);
	ds_free(&d);
}
END_TEST

/* ---- what ds_write refuses ---- */

static void
assert_not_written(const struct ds *d, enum ds_layout layout, const char *what)
{
	char path[PATH_LEN], err[512];

	path_of("w.h5", path);
	ck_assert_int_eq(ds_write(path, d, layout, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 &&
		      strstr(err, what) != NULL, "%s", err);
	ck_assert_int_eq(test_count_entries(test_tmp_path("")), 0);
}

START_TEST(write_refuses_what_a_reader_would_refuse)
{
	struct ds d, empty;
	uint32_t *lat;

	make_ds(&d, 10, 1, 6);
	d.features[2 * NF + 5] = NAN;
	assert_not_written(&d, DS_ONE, "features[2,5] is nan");
	d.features[2 * NF + 5] = 1.0f;
	d.labels[4] = 2;
	assert_not_written(&d, DS_COMPACT, "labels[4] is 2");
	d.labels[4] = 1;
	lat = d.latency_us;
	d.latency_us = NULL;
	assert_not_written(&d, DS_COMPACT, "labels and latencies");
	d.latency_us = lat;
	assert_not_written(&d, (enum ds_layout)7, "unknown layout");
	ck_assert_int_eq(ds_alloc(&empty, 0, NF, 0), 0);
	assert_not_written(&empty, DS_COMPACT, "no records");
	ds_free(&empty);
	ds_free(&d);
}
END_TEST

START_TEST(write_reports_missing_directory)
{
	char path[PATH_LEN], err[512];
	struct ds d;

	make_ds(&d, 3, 0, 7);
	path_of("no/such/dir/d.h5", path);
	ck_assert_int_eq(ds_write(path, &d, DS_COMPACT, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) == err, "%s", err);
	ds_free(&d);
}
END_TEST

/* ---- files that are not datasets at all ---- */

START_TEST(rejects_nonexistent_file)
{
	char path[PATH_LEN];

	assert_rejected(path_of("absent.h5", path), "No such file");
}
END_TEST

START_TEST(rejects_empty_file)
{
	assert_rejected(test_write_file("empty.h5", "", 0), "not an HDF5 file");
}
END_TEST

START_TEST(rejects_garbage_bytes)
{
	char junk[4096];
	uint64_t st = 5;

	for (size_t k = 0; k < sizeof(junk); k++)
		junk[k] = (char)test_rand_u64(&st);
	assert_rejected(test_write_file("junk.h5", junk, sizeof(junk)), "not an HDF5 file");
}
END_TEST

START_TEST(rejects_truncated_file)
{
	char good[PATH_LEN];
	const char *path;
	size_t len;
	void *buf;

	good_file(DS_COMPACT, 200, "good.h5", good);
	buf = test_read_file(good, &len);
	path = test_write_file("cut.h5", buf, len / 2);
	free(buf);
	assert_rejected(path, "truncated");
}
END_TEST

/* A model file, say: HDF5, but neither layout. */
START_TEST(rejects_file_with_neither_layout)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 3, "c.h5", path);
	test_h5_delete(path, "/features");
	assert_rejected(path, "/features", "/value", "neither");
}
END_TEST

/* ---- broken compact files ---- */

START_TEST(rejects_features_of_wrong_rank)
{
	static float x[10 * NF];
	const hsize_t dims[1] = {10 * NF};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_replace(path, "/features", H5T_NATIVE_FLOAT, 1, dims, x);
	assert_rejected(path, "/features has shape [80], expected 2 dimensions");
}
END_TEST

START_TEST(rejects_integer_features)
{
	static int32_t x[10][NF];
	const hsize_t dims[2] = {10, NF};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_replace(path, "/features", H5T_NATIVE_INT32, 2, dims, x);
	assert_rejected(path, "/features has type int32, expected float");
}
END_TEST

START_TEST(rejects_features_without_records)
{
	static const float none[1];
	const hsize_t dims[2] = {0, NF};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_delete(path, "/labels");
	test_h5_delete(path, "/latency_us");
	test_h5_replace(path, "/features", H5T_NATIVE_FLOAT, 2, dims, none);
	assert_rejected(path, "/features has no records");
}
END_TEST

START_TEST(rejects_features_wider_than_max)
{
	static float x[2][DS_MAX_FEATURES + 1];
	const hsize_t dims[2] = {2, DS_MAX_FEATURES + 1};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 2, "c.h5", path);
	test_h5_replace(path, "/features", H5T_NATIVE_FLOAT, 2, dims, x);
	assert_rejected(path, "/features has 1025 features a record, expected 1..1024");
}
END_TEST

START_TEST(rejects_nan_in_features)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_set_float(path, "/features", NULL, 2 * NF + 5, NAN);
	assert_rejected(path, "/features[2,5] is nan, expected a finite number");
}
END_TEST

START_TEST(rejects_infinity_in_features)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_set_float(path, "/features", NULL, 9 * NF + 7, -INFINITY);
	assert_rejected(path, "/features[9,7] is -inf");
}
END_TEST

START_TEST(rejects_labels_of_wrong_length)
{
	static uint8_t l[9];
	const hsize_t dims[1] = {9};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_replace(path, "/labels", H5T_NATIVE_UINT8, 1, dims, l);
	assert_rejected(path, "/labels has shape [9], expected [10]");
}
END_TEST

START_TEST(rejects_latency_of_wrong_length)
{
	static uint32_t l[11];
	const hsize_t dims[1] = {11};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_replace(path, "/latency_us", H5T_NATIVE_UINT32, 1, dims, l);
	assert_rejected(path, "/latency_us has shape [11], expected [10]");
}
END_TEST

START_TEST(rejects_label_value_2)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_set_float(path, "/labels", NULL, 3, 2);
	assert_rejected(path, "/labels[3] is 2, outside 0..1");
}
END_TEST

/* int8 -1 would convert to uint8 0 unseen: the value is checked wide. */
START_TEST(rejects_negative_label_stored_signed)
{
	const int8_t l[3] = {0, -1, 1};
	const hsize_t dims[1] = {3};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 3, "c.h5", path);
	test_h5_replace(path, "/labels", H5T_NATIVE_INT8, 1, dims, l);
	assert_rejected(path, "/labels[1] is -1, outside 0..1");
}
END_TEST

START_TEST(rejects_float_labels)
{
	static const float l[10];
	const hsize_t dims[1] = {10};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_replace(path, "/labels", H5T_NATIVE_FLOAT, 1, dims, l);
	assert_rejected(path, "/labels has type float32, expected integer");
}
END_TEST

START_TEST(rejects_latency_over_uint32)
{
	const int64_t l[2] = {5, 4294967296LL};
	const hsize_t dims[1] = {2};
	char path[PATH_LEN];

	good_file(DS_COMPACT, 2, "c.h5", path);
	test_h5_replace(path, "/latency_us", H5T_NATIVE_INT64, 1, dims, l);
	assert_rejected(path, "/latency_us[1] is 4294967296, outside 0..4294967295");
}
END_TEST

START_TEST(rejects_labels_without_latency)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_delete(path, "/latency_us");
	assert_rejected(path, "/latency_us is missing");
}
END_TEST

START_TEST(rejects_latency_without_labels)
{
	char path[PATH_LEN];

	good_file(DS_COMPACT, 10, "c.h5", path);
	test_h5_delete(path, "/labels");
	assert_rejected(path, "/labels is missing");
}
END_TEST

/* ---- broken ONE files ---- */

START_TEST(rejects_missing_one_record)
{
	char path[PATH_LEN];

	good_file(DS_ONE, 3, "one.h5", path);
	test_h5_delete(path, "/value/1");
	/* /value/0 and /value/2 only: two members, so records 0 and 1. */
	assert_rejected(path, "group /value/1 is missing");
}
END_TEST

START_TEST(rejects_one_record_without_its_input)
{
	char path[PATH_LEN];

	good_file(DS_ONE, 3, "one.h5", path);
	test_h5_delete(path, "/value/2/0");
	assert_rejected(path, "/value/2/0 is missing");
}
END_TEST

START_TEST(rejects_one_record_of_another_shape)
{
	static const float x[NF + 1];
	const hsize_t dims[2] = {1, NF + 1};
	char path[PATH_LEN];

	good_file(DS_ONE, 5, "one.h5", path);
	test_h5_replace(path, "/value/3/0", H5T_NATIVE_FLOAT, 2, dims, x);
	assert_rejected(path, "/value/3/0 has shape [1,9], expected [1,8]");
}
END_TEST

START_TEST(rejects_one_first_record_not_of_batch_1)
{
	static const float x[2 * NF];
	const hsize_t dims[2] = {2, NF};
	char path[PATH_LEN];

	good_file(DS_ONE, 5, "one.h5", path);
	test_h5_replace(path, "/value/0/0", H5T_NATIVE_FLOAT, 2, dims, x);
	assert_rejected(path, "/value/0/0 has shape [2,8], expected [1,n_features]");
}
END_TEST

START_TEST(rejects_one_first_record_of_rank_1)
{
	static const float x[NF];
	const hsize_t dims[1] = {NF};
	char path[PATH_LEN];

	good_file(DS_ONE, 5, "one.h5", path);
	test_h5_replace(path, "/value/0/0", H5T_NATIVE_FLOAT, 1, dims, x);
	assert_rejected(path, "/value/0/0 has shape [8], expected 2 dimensions");
}
END_TEST

START_TEST(rejects_one_record_of_integer_type)
{
	static const int16_t x[NF];
	const hsize_t dims[2] = {1, NF};
	char path[PATH_LEN];

	good_file(DS_ONE, 5, "one.h5", path);
	test_h5_replace(path, "/value/4/0", H5T_NATIVE_INT16, 2, dims, x);
	assert_rejected(path, "/value/4/0 has type int16, expected float");
}
END_TEST

START_TEST(rejects_nan_in_one_record)
{
	char path[PATH_LEN];

	good_file(DS_ONE, 5, "one.h5", path);
	test_h5_set_float(path, "/value/3/0", NULL, 6, NAN);
	assert_rejected(path, "/value/3/0[0,6] is nan, expected a finite number");
}
END_TEST

START_TEST(rejects_empty_value_group)
{
	char path[PATH_LEN], name[32];
	hid_t f;

	good_file(DS_ONE, 3, "one.h5", path);
	f = test_h5_open_rw(path);
	for (int k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "/value/%d", k);
		ck_assert_int_ge(H5Ldelete(f, name, H5P_DEFAULT), 0);
	}
	H5Fclose(f);
	assert_rejected(path, "group /value has no records");
}
END_TEST

START_TEST(rejects_value_that_is_not_a_group)
{
	static const float x[NF];
	const hsize_t dims[2] = {1, NF};
	char path[PATH_LEN];

	good_file(DS_ONE, 2, "one.h5", path);
	test_h5_delete(path, "/value");
	test_h5_replace(path, "/value", H5T_NATIVE_FLOAT, 2, dims, x);
	assert_rejected(path, "group /value");
}
END_TEST

Suite *
dataset_suite(void)
{
	Suite *s = suite_create("dataset");
	TCase *rt = tcase_create("round_trip");
	TCase *nf = tcase_create("not_a_dataset");
	TCase *bad = tcase_create("broken_dataset");

	tcase_add_checked_fixture(rt, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(rt, compact_round_trip_keeps_every_bit);
	tcase_add_test(rt, compact_round_trip_without_labels);
	tcase_add_test(rt, one_round_trip_keeps_every_bit_in_record_order);
	tcase_add_test(rt, one_round_trip_of_a_single_wide_record);
	tcase_add_test(rt, read_accepts_null_layout);
	tcase_add_test(rt, same_content_writes_identical_bytes);
	tcase_add_test(rt, root_attributes_name_the_format);
	tcase_add_test(rt, write_replaces_file_and_leaves_no_temporary);
	tcase_add_test(rt, reads_compact_file_with_wide_types_and_no_attributes);
	tcase_add_test(rt, reads_one_file_with_attributes_and_extra_inputs);
	tcase_add_test(rt, reads_without_the_format_attributes);
	tcase_add_test(rt, read_leaves_no_hdf5_object_open);
	tcase_add_test(rt, write_refuses_what_a_reader_would_refuse);
	tcase_add_test(rt, write_reports_missing_directory);
	suite_add_tcase(s, rt);

	tcase_add_checked_fixture(nf, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(nf, rejects_nonexistent_file);
	tcase_add_test(nf, rejects_empty_file);
	tcase_add_test(nf, rejects_garbage_bytes);
	tcase_add_test(nf, rejects_truncated_file);
	tcase_add_test(nf, rejects_file_with_neither_layout);
	suite_add_tcase(s, nf);

	tcase_add_checked_fixture(bad, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(bad, rejects_features_of_wrong_rank);
	tcase_add_test(bad, rejects_integer_features);
	tcase_add_test(bad, rejects_features_without_records);
	tcase_add_test(bad, rejects_features_wider_than_max);
	tcase_add_test(bad, rejects_nan_in_features);
	tcase_add_test(bad, rejects_infinity_in_features);
	tcase_add_test(bad, rejects_labels_of_wrong_length);
	tcase_add_test(bad, rejects_latency_of_wrong_length);
	tcase_add_test(bad, rejects_label_value_2);
	tcase_add_test(bad, rejects_negative_label_stored_signed);
	tcase_add_test(bad, rejects_float_labels);
	tcase_add_test(bad, rejects_latency_over_uint32);
	tcase_add_test(bad, rejects_labels_without_latency);
	tcase_add_test(bad, rejects_latency_without_labels);
	tcase_add_test(bad, rejects_missing_one_record);
	tcase_add_test(bad, rejects_one_record_without_its_input);
	tcase_add_test(bad, rejects_one_record_of_another_shape);
	tcase_add_test(bad, rejects_one_first_record_not_of_batch_1);
	tcase_add_test(bad, rejects_one_first_record_of_rank_1);
	tcase_add_test(bad, rejects_one_record_of_integer_type);
	tcase_add_test(bad, rejects_nan_in_one_record);
	tcase_add_test(bad, rejects_empty_value_group);
	tcase_add_test(bad, rejects_value_that_is_not_a_group);
	suite_add_tcase(s, bad);
	return s;
}
