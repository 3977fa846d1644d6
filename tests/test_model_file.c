/* Model files: a round trip keeps every bit, and every kind of broken file
 * (written good by mf_save, then broken with the raw HDF5 API) is refused
 * with one line naming the file and the object at fault. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "file_helpers.h"
#include "h5_helpers.h"
#include "helpers.h"
#include "model_file.h"
#include "quant.h"
#include "suites.h"

#define PATH_LEN 4200

/* FlashNet's shape: layer 0 outputs 128, layer 1 reads 128 and outputs 16. */
static const uint32_t widths[4] = {8, 128, 16, 1};
enum { N_LAYERS = 3 };

static struct model *
float_model(uint64_t seed)
{
	return test_random_float_model(N_LAYERS, widths, seed);
}

/* per_tensor: one input scale for all features; else one per feature. */
static struct model *
int8_model(uint64_t seed, int per_tensor)
{
	struct model *f = float_model(seed);
	struct quant_ranges r;
	struct model *q;
	char err[256];

	memset(&r, 0, sizeof(r));
	if (per_tensor)
		test_minmax_ranges(f, 2000, seed + 1, r.min, r.max);
	else
		test_quant_ranges(f, 2000, seed + 1, &r);
	r.per_tensor_input = per_tensor;
	q = quant_model(f, &r, "minmax", err, sizeof(err));
	ck_assert_msg(q != NULL, "quant_model: %s", err);
	model_free(f);
	return q;
}

static void
save_as(const struct model *m, const char *name, char *path)
{
	char err[512];

	snprintf(path, PATH_LEN, "%s", test_tmp_path(name));
	ck_assert_msg(mf_save(m, path, err, sizeof(err)) == 0, "mf_save: %s", err);
}

/* A good file of the given kind, saved as name. */
static void
good_file(enum model_kind kind, const char *name, char *path)
{
	struct model *m = kind == MODEL_INT8 ? int8_model(42, 0) : float_model(42);

	save_as(m, name, path);
	model_free(m);
}

static struct model *
load_ok(const char *path)
{
	char err[512];
	struct model *m = mf_load(path, err, sizeof(err));

	ck_assert_msg(m != NULL, "mf_load: %s", err);
	return m;
}

/* mf_load refuses path with one line that starts with the file name and
 * holds every fragment given, and leaves no HDF5 identifier open. */
#define assert_rejected(path, ...) \
	assert_rejected_((path), (const char *const[]){__VA_ARGS__, NULL})

static void
assert_rejected_(const char *path, const char *const *parts)
{
	char err[512] = "untouched";
	ssize_t ids = test_h5_open_objects();
	struct model *m = mf_load(path, err, sizeof(err));

	ck_assert_ptr_null(m);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0,
		      "message does not start with the file name: %s", err);
	for (; *parts; parts++)
		ck_assert_msg(strstr(err, *parts) != NULL, "\"%s\" not in: %s",
			      *parts, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "not one line: %s", err);
	ck_assert_int_eq(test_h5_open_objects(), ids);
}

/* ---- breaking files with the raw HDF5 API ---- */

/* test_h5_replace of a dataset that must be there already. */
static void
replace_dataset(const char *path, const char *obj, hid_t type, int rank,
		const hsize_t *dims, const void *data)
{
	test_h5_delete(path, obj);
	test_h5_replace(path, obj, type, rank, dims, data);
}

/* ---- round trips ---- */

static void
assert_same_bytes(const void *a, const void *b, size_t n, const char *what,
		  uint32_t i)
{
	ck_assert_msg(memcmp(a, b, n) == 0, "%s of layer %u differs", what, i);
}

START_TEST(float_round_trip_keeps_every_bit)
{
	struct model *m = float_model(1), *r;
	char path[PATH_LEN];

	snprintf(m->created_by, sizeof(m->created_by), "test_model_file 1.0");
	save_as(m, "f.h5", path);
	r = load_ok(path);
	ck_assert_int_eq(r->kind, MODEL_FLOAT32);
	ck_assert_uint_eq(r->n_features, 8);
	ck_assert_uint_eq(r->n_layers, N_LAYERS);
	ck_assert_str_eq(r->created_by, "test_model_file 1.0");
	for (uint32_t j = 0; j < 8; j++)
		ck_assert_str_eq(r->feature_names[j], model_default_feature_names[j]);
	ck_assert_mem_eq(r->fm.mean, m->fm.mean, 8 * sizeof(float));
	ck_assert_mem_eq(r->fm.std, m->fm.std, 8 * sizeof(float));
	for (uint32_t i = 0; i < N_LAYERS; i++) {
		const struct fm_layer *a = &m->fm.layer[i], *b = &r->fm.layer[i];
		ck_assert_uint_eq(b->n_in, widths[i]);
		ck_assert_uint_eq(b->n_out, widths[i + 1]);
		ck_assert_int_eq(b->relu, i + 1 < N_LAYERS);
		assert_same_bytes(a->weights, b->weights,
				  (size_t)a->n_in * a->n_out * sizeof(float),
				  "weights", i);
		assert_same_bytes(a->bias, b->bias, a->n_out * sizeof(float),
				  "bias", i);
	}
	model_free(r);
	model_free(m);
}
END_TEST

/* A linear hidden layer ("none" before the last) survives too. */
START_TEST(float_round_trip_keeps_linear_hidden_layer)
{
	struct model *m = float_model(2), *r;
	char path[PATH_LEN];

	m->fm.layer[1].relu = 0;
	save_as(m, "f.h5", path);
	r = load_ok(path);
	ck_assert_int_eq(r->fm.layer[0].relu, 1);
	ck_assert_int_eq(r->fm.layer[1].relu, 0);
	ck_assert_int_eq(r->fm.layer[2].relu, 0);
	model_free(r);
	model_free(m);
}
END_TEST

START_TEST(float_round_trip_predicts_identically)
{
	struct model *m = float_model(3), *r;
	char path[PATH_LEN];
	uint64_t st = 99;
	int slow = 0;

	save_as(m, "f.h5", path);
	r = load_ok(path);
	for (int s = 0; s < 2000; s++) {
		int32_t x[8];
		int d0, d1;
		float p0, p1;
		test_random_features(&st, x, 8);
		ck_assert_int_eq(model_predict(m, x, 8, &d0, &p0), 0);
		ck_assert_int_eq(model_predict(r, x, 8, &d1, &p1), 0);
		ck_assert_int_eq(d0, d1);
		ck_assert_mem_eq(&p0, &p1, sizeof(float));
		slow += d0;
	}
	/* Both answers occur: identical constant outputs would prove little. */
	ck_assert_int_gt(slow, 100);
	ck_assert_int_lt(slow, 1900);
	model_free(r);
	model_free(m);
}
END_TEST

static void
assert_int8_equal(const struct model *a, const struct model *b)
{
	uint32_t n = a->n_features;

	ck_assert_int_eq(b->kind, MODEL_INT8);
	ck_assert_uint_eq(b->n_features, n);
	ck_assert_uint_eq(b->n_layers, a->n_layers);
	ck_assert_mem_eq(b->feature_names, a->feature_names, sizeof(a->feature_names));
	ck_assert_str_eq(b->created_by, a->created_by);
	ck_assert_str_eq(b->calibration_mode, "minmax");
	ck_assert_mem_eq(b->qm.input.mul, a->qm.input.mul, n * sizeof(int32_t));
	ck_assert_mem_eq(b->qm.input.add, a->qm.input.add, n * sizeof(int64_t));
	ck_assert_mem_eq(b->qm.input.shift, a->qm.input.shift, n * sizeof(int32_t));
	ck_assert_mem_eq(b->input_mean, a->input_mean, n * sizeof(float));
	ck_assert_mem_eq(b->input_std, a->input_std, n * sizeof(float));
	ck_assert_mem_eq(b->input_scale, a->input_scale, n * sizeof(float));
	ck_assert_mem_eq(b->input_zp, a->input_zp, n * sizeof(int32_t));
	for (uint32_t i = 0; i < a->n_layers; i++) {
		const struct qm_layer *x = &a->qm.layer[i], *y = &b->qm.layer[i];
		size_t out = x->n_out;
		ck_assert_uint_eq(y->n_in, widths[i]);
		ck_assert_uint_eq(y->n_out, widths[i + 1]);
		assert_same_bytes(x->weights, y->weights, out * x->n_in, "weights", i);
		assert_same_bytes(x->bias, y->bias, out * 4, "bias", i);
		assert_same_bytes(x->multiplier, y->multiplier, out * 4, "multiplier", i);
		assert_same_bytes(x->shift, y->shift, out * 4, "shift", i);
		assert_same_bytes(x->acc_bias, y->acc_bias, out * 4, "acc_bias", i);
		ck_assert_int_eq(y->input_zp, x->input_zp);
		ck_assert_int_eq(y->output_zp, x->output_zp);
		ck_assert_int_eq(y->act_min, x->act_min);
		ck_assert_int_eq(y->act_max, x->act_max);
		ck_assert_int_eq(b->ql[i].relu, a->ql[i].relu);
		ck_assert_mem_eq(&b->ql[i].input_scale, &a->ql[i].input_scale, 4);
		ck_assert_mem_eq(&b->ql[i].output_scale, &a->ql[i].output_scale, 4);
		assert_same_bytes(a->ql[i].weight_scale, b->ql[i].weight_scale,
				  out * 4, "weight_scale", i);
	}
	ck_assert_mem_eq(b->qm.logistic, a->qm.logistic, sizeof(a->qm.logistic));
}

/* _i: 1 per-tensor input quantization, 0 per feature. */
START_TEST(int8_round_trip_keeps_every_array)
{
	struct model *m = int8_model(4, _i), *r;
	char path[PATH_LEN];

	save_as(m, "q.h5", path);
	r = load_ok(path);
	assert_int8_equal(m, r);
	model_free(r);
	model_free(m);
}
END_TEST

START_TEST(int8_round_trip_predicts_identically)
{
	struct model *m = int8_model(5, _i), *r;
	char path[PATH_LEN];
	int8_t scratch[QM_SCRATCH_BYTES];
	uint64_t st = 17;
	int slow = 0;

	save_as(m, "q.h5", path);
	r = load_ok(path);
	for (int s = 0; s < 2000; s++) {
		int32_t x[8];
		struct qm_result a, b;
		test_random_features(&st, x, 8);
		ck_assert_int_eq(qm_predict_portable(&m->qm, x, 8, scratch, &a), 0);
		ck_assert_int_eq(qm_predict_portable(&r->qm, x, 8, scratch, &b), 0);
		ck_assert_int_eq(a.logit, b.logit);
		ck_assert_uint_eq(a.decision, b.decision);
		ck_assert_uint_eq(a.score, b.score);
		slow += a.decision;
	}
	ck_assert_int_gt(slow, 100);
	ck_assert_int_lt(slow, 1900);
	model_free(r);
	model_free(m);
}
END_TEST

/* Reads a fixed-length string attribute as any HDF5 user would. */
static void
read_attr_text(hid_t f, const char *obj, const char *attr, char *buf,
	       size_t len)
{
	hid_t a = H5Aopen_by_name(f, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
	hid_t t = H5Aget_type(a), mt = H5Tcopy(H5T_C_S1);

	ck_assert_int_eq(H5Tget_class(t), H5T_STRING);
	ck_assert_int_le(H5Tis_variable_str(t), 0);
	ck_assert_uint_lt(H5Tget_size(t), len);
	memset(buf, 0, len);
	H5Tset_size(mt, len);
	ck_assert_int_ge(H5Aread(a, mt, buf), 0);
	H5Tclose(mt);
	H5Tclose(t);
	H5Aclose(a);
}

static long long
read_attr_int(hid_t f, const char *obj, const char *attr)
{
	hid_t a = H5Aopen_by_name(f, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
	long long v = -1;

	ck_assert_int_ge(H5Aread(a, H5T_NATIVE_LLONG, &v), 0);
	H5Aclose(a);
	return v;
}

START_TEST(root_attributes_read_back_with_plain_hdf5)
{
	struct model *m = int8_model(6, 0);
	char path[PATH_LEN], text[128], names[8][32];
	hsize_t dims[2];
	hid_t f, a, t, d, s;

	save_as(m, "q.h5", path);
	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	ck_assert_int_ge(f, 0);
	read_attr_text(f, "/", "format", text, sizeof(text));
	ck_assert_str_eq(text, "iolat-model");
	ck_assert_int_eq(read_attr_int(f, "/", "format_version"), 1);
	read_attr_text(f, "/", "kind", text, sizeof(text));
	ck_assert_str_eq(text, "int8");
	ck_assert_int_eq(read_attr_int(f, "/", "n_features"), 8);
	read_attr_text(f, "/", "created_by", text, sizeof(text));
	ck_assert_str_eq(text, m->created_by);
	read_attr_text(f, "/", "calibration_mode", text, sizeof(text));
	ck_assert_str_eq(text, "minmax");
	read_attr_text(f, "/layers/0", "activation", text, sizeof(text));
	ck_assert_str_eq(text, "relu");
	read_attr_text(f, "/layers/2", "activation", text, sizeof(text));
	ck_assert_str_eq(text, "none");

	a = H5Aopen_by_name(f, "/", "feature_names", H5P_DEFAULT, H5P_DEFAULT);
	t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, sizeof(names[0]));
	ck_assert_int_ge(H5Aread(a, t, names), 0);
	for (int j = 0; j < 8; j++)
		ck_assert_str_eq(names[j], model_default_feature_names[j]);
	H5Tclose(t);
	H5Aclose(a);

	d = H5Dopen2(f, "/layers/1/weights", H5P_DEFAULT);
	s = H5Dget_space(d);
	t = H5Dget_type(d);
	ck_assert_int_eq(H5Sget_simple_extent_dims(s, dims, NULL), 2);
	ck_assert_uint_eq(dims[0], 16);
	ck_assert_uint_eq(dims[1], 128);
	ck_assert_int_eq(H5Tget_class(t), H5T_INTEGER);
	ck_assert_uint_eq(H5Tget_size(t), 1);
	H5Tclose(t);
	H5Sclose(s);
	H5Dclose(d);
	H5Fclose(f);
	model_free(m);
}
END_TEST

/* h5dump, when installed, shows the format by name. */
START_TEST(h5dump_shows_format_attributes)
{
	struct model *m = float_model(7);
	char path[PATH_LEN], cmd[PATH_LEN + 64], line[512];
	int seen_format = 0, seen_kind = 0;
	FILE *p;

	if (system("command -v h5dump >/dev/null 2>&1") != 0) {
		model_free(m);
		return; /* nothing to check without the tool */
	}
	save_as(m, "f.h5", path);
	snprintf(cmd, sizeof(cmd), "h5dump -A '%s'", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		seen_format |= strstr(line, "\"iolat-model\"") != NULL;
		seen_kind |= strstr(line, "\"float32\"") != NULL;
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert(seen_format && seen_kind);
	model_free(m);
}
END_TEST

START_TEST(reads_variable_length_strings)
{
	static const char *const names[8] = {"a", "bb", "ccc", "dddd",
					     "e", "f", "g", "h"};
	static const char *const fmt[1] = {"iolat-model"};
	static const char *const kind[1] = {"int8"};
	static const char *const act[1] = {"relu"};
	char path[PATH_LEN];
	struct model *r;

	good_file(MODEL_INT8, "q.h5", path);
	test_h5_set_attr_strings(path, "/", "format", fmt, 0, 1);
	test_h5_set_attr_strings(path, "/", "kind", kind, 0, 1);
	test_h5_set_attr_strings(path, "/layers/1", "activation", act, 0, 1);
	test_h5_set_attr_strings(path, "/", "feature_names", names, 8, 1);
	r = load_ok(path);
	for (int j = 0; j < 8; j++)
		ck_assert_str_eq(r->feature_names[j], names[j]);
	ck_assert_int_eq(r->ql[1].relu, 1);
	model_free(r);
}
END_TEST

START_TEST(load_leaves_no_hdf5_object_open)
{
	char path[PATH_LEN];
	ssize_t before;
	struct model *r;

	good_file(MODEL_INT8, "q.h5", path);
	before = test_h5_open_objects();
	r = load_ok(path);
	ck_assert_int_eq(test_h5_open_objects(), before);
	model_free(r);
}
END_TEST

START_TEST(save_replaces_file_and_leaves_no_temporary)
{
	struct model *f = float_model(8), *q = int8_model(8, 1), *r;
	char path[PATH_LEN];
	const char *dir;

	save_as(f, "m.h5", path);
	save_as(q, "m.h5", path);
	r = load_ok(path);
	ck_assert_int_eq(r->kind, MODEL_INT8);
	dir = test_tmp_path("");
	ck_assert_int_eq(test_count_entries(dir), 1);
	model_free(r);
	model_free(q);
	model_free(f);
}
END_TEST

START_TEST(save_reports_missing_directory)
{
	struct model *m = float_model(9);
	char path[PATH_LEN], err[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s", test_tmp_path("no/such/dir/m.h5"));
	ck_assert_int_eq(mf_save(m, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) == err, "%s", err);
	ck_assert_int_ne(stat(path, &st), 0);
	model_free(m);
}
END_TEST

/* ---- files that are not models at all ---- */

START_TEST(rejects_nonexistent_path)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s", test_tmp_path("absent.h5"));
	assert_rejected(path, "No such file");
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

START_TEST(rejects_directory)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s", test_tmp_path("dir.h5"));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	assert_rejected(path, "not a regular file");
}
END_TEST

/* The first half of a good file: the superblock is there, the data not. */
START_TEST(rejects_truncated_file)
{
	char good[PATH_LEN];
	const char *path;
	size_t len;
	void *buf;

	good_file(MODEL_FLOAT32, "good.h5", good);
	buf = test_read_file(good, &len);
	path = test_write_file("cut.h5", buf, len / 2);
	free(buf);
	assert_rejected(path, "truncated");
}
END_TEST

/* ---- wrong identity ---- */

START_TEST(rejects_wrong_format_string)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_string(path, "/", "format", "other");
	assert_rejected(path, "attribute /format ", "\"other\"", "\"iolat-model\"");
}
END_TEST

START_TEST(rejects_wrong_format_version)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_int(path, "/", "format_version", 0, 2);
	assert_rejected(path, "attribute /format_version", "is 2, expected 1");
}
END_TEST

START_TEST(rejects_format_version_stored_as_string)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_string(path, "/", "format_version", "1");
	assert_rejected(path, "attribute /format_version",
			"type string, expected integer");
}
END_TEST

START_TEST(rejects_unknown_kind)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_string(path, "/", "kind", "float16");
	assert_rejected(path, "attribute /kind", "\"float16\"");
}
END_TEST

START_TEST(rejects_too_many_features)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_int(path, "/", "n_features", 0, QM_MAX_FEATURES + 1);
	assert_rejected(path, "attribute /n_features", "65", "1..64");
}
END_TEST

START_TEST(rejects_zero_features)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_int(path, "/", "n_features", 0, 0);
	assert_rejected(path, "attribute /n_features", "is 0");
}
END_TEST

/* n_features says 7, layer 0 reads 8. */
START_TEST(rejects_n_features_not_matching_layer_0)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_int(path, "/", "n_features", 0, 7);
	assert_rejected(path, "/layers/0/weights has shape [128,8], expected [128,7]");
}
END_TEST

START_TEST(rejects_feature_names_of_wrong_length)
{
	static const char *const names[7] = {"a", "b", "c", "d", "e", "f", "g"};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_strings(path, "/", "feature_names", names, 7, 0);
	assert_rejected(path, "attribute /feature_names", "[7]", "[8]");
}
END_TEST

/* ---- missing pieces ---- */

struct missing {
	enum model_kind kind;
	const char *obj;  /* the group holding attr, or the dataset/group */
	const char *attr; /* NULL: delete obj itself */
	const char *name; /* as the message must name it */
};

static const struct missing missing_attrs[] = {
	{MODEL_FLOAT32, "/", "format", "attribute /format "},
	{MODEL_FLOAT32, "/", "format_version", "attribute /format_version"},
	{MODEL_FLOAT32, "/", "kind", "attribute /kind"},
	{MODEL_FLOAT32, "/", "n_features", "attribute /n_features"},
	{MODEL_FLOAT32, "/", "feature_names", "attribute /feature_names"},
	{MODEL_FLOAT32, "/", "created_by", "attribute /created_by"},
	{MODEL_FLOAT32, "/layers/1", "activation", "attribute /layers/1/activation"},
	{MODEL_INT8, "/", "calibration_mode", "attribute /calibration_mode"},
	{MODEL_INT8, "/input", "scale", "attribute /input/scale"},
	{MODEL_INT8, "/input", "zero_point", "attribute /input/zero_point"},
	{MODEL_INT8, "/layers/1", "input_zero_point", "attribute /layers/1/input_zero_point"},
	{MODEL_INT8, "/layers/2", "output_zero_point", "attribute /layers/2/output_zero_point"},
	{MODEL_INT8, "/layers/0", "input_scale", "attribute /layers/0/input_scale"},
	{MODEL_INT8, "/layers/2", "output_scale", "attribute /layers/2/output_scale"},
	{MODEL_INT8, "/layers/1", "weight_scale", "attribute /layers/1/weight_scale"},
};

static const struct missing missing_objects[] = {
	{MODEL_FLOAT32, "/input", NULL, "group /input "},
	{MODEL_FLOAT32, "/layers", NULL, "group /layers "},
	{MODEL_FLOAT32, "/layers/1", NULL, "group /layers/1 "},
	{MODEL_FLOAT32, "/input/mean", NULL, "/input/mean"},
	{MODEL_FLOAT32, "/input/std", NULL, "/input/std"},
	{MODEL_FLOAT32, "/layers/0/weights", NULL, "/layers/0/weights"},
	{MODEL_FLOAT32, "/layers/1/bias", NULL, "/layers/1/bias"},
	{MODEL_INT8, "/input/mul", NULL, "/input/mul"},
	{MODEL_INT8, "/input/add", NULL, "/input/add"},
	{MODEL_INT8, "/input/shift", NULL, "/input/shift"},
	{MODEL_INT8, "/input/mean", NULL, "/input/mean"},
	{MODEL_INT8, "/input/std", NULL, "/input/std"},
	{MODEL_INT8, "/layers/2/weights", NULL, "/layers/2/weights"},
	{MODEL_INT8, "/layers/0/bias", NULL, "/layers/0/bias"},
	{MODEL_INT8, "/layers/1/multiplier", NULL, "/layers/1/multiplier"},
	{MODEL_INT8, "/layers/2/shift", NULL, "/layers/2/shift"},
};

START_TEST(rejects_missing_attribute)
{
	const struct missing *t = &missing_attrs[_i];
	char path[PATH_LEN];

	good_file(t->kind, "m.h5", path);
	test_h5_delete_attr(path, t->obj, t->attr);
	assert_rejected(path, t->name, "missing");
}
END_TEST

START_TEST(rejects_missing_group_or_dataset)
{
	const struct missing *t = &missing_objects[_i];
	char path[PATH_LEN];

	good_file(t->kind, "m.h5", path);
	test_h5_delete(path, t->obj);
	assert_rejected(path, t->name, "missing");
}
END_TEST

/* ---- wrong shapes and types ---- */

START_TEST(rejects_dataset_where_group_expected)
{
	static const float x[4];
	const hsize_t dims[1] = {4};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_delete(path, "/layers/1");
	replace_dataset(path, "/layers/0/bias", H5T_NATIVE_FLOAT, 1, dims, x);
	test_h5_move(path, "/layers/0/bias", "/layers/1");
	assert_rejected(path, "group /layers/1");
}
END_TEST

START_TEST(rejects_layer_widths_that_do_not_chain)
{
	static float w[16 * 64];
	const hsize_t dims[2] = {16, 64};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	replace_dataset(path, "/layers/1/weights", H5T_NATIVE_FLOAT, 2, dims, w);
	assert_rejected(path, "/layers/1/weights has shape [16,64], expected [16,128]");
}
END_TEST

START_TEST(rejects_bias_with_wrong_shape)
{
	static float b[15];
	const hsize_t dims[1] = {15};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	replace_dataset(path, "/layers/1/bias", H5T_NATIVE_FLOAT, 1, dims, b);
	assert_rejected(path, "/layers/1/bias has shape [15], expected [16]");
}
END_TEST

START_TEST(rejects_weights_with_wrong_rank)
{
	static float w[128 * 8];
	const hsize_t dims[1] = {128 * 8};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	replace_dataset(path, "/layers/0/weights", H5T_NATIVE_FLOAT, 1, dims, w);
	assert_rejected(path, "/layers/0/weights has shape [1024]");
}
END_TEST

/* The last layer must output one logit. */
START_TEST(rejects_last_layer_with_two_outputs)
{
	static float w[2 * 16];
	const hsize_t dims[2] = {2, 16};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	replace_dataset(path, "/layers/2/weights", H5T_NATIVE_FLOAT, 2, dims, w);
	assert_rejected(path, "/layers/2/weights has shape [2,16], expected [1,16]");
}
END_TEST

START_TEST(rejects_layer_wider_than_max)
{
	static float w[(QM_MAX_WIDTH + 1) * 8];
	const hsize_t dims[2] = {QM_MAX_WIDTH + 1, 8};
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	replace_dataset(path, "/layers/0/weights", H5T_NATIVE_FLOAT, 2, dims, w);
	assert_rejected(path, "/layers/0/weights has shape [1025,8]", "1..1024");
}
END_TEST

/* Nine layer groups: /layers/2 copied to /layers/3 ... /layers/8. */
START_TEST(rejects_too_many_layers)
{
	char path[PATH_LEN], name[32];
	hid_t f;

	good_file(MODEL_FLOAT32, "m.h5", path);
	f = test_h5_open_rw(path);
	for (int i = 3; i <= QM_MAX_LAYERS; i++) {
		snprintf(name, sizeof(name), "/layers/%d", i);
		ck_assert_int_ge(H5Ocopy(f, "/layers/2", f, name, H5P_DEFAULT,
					 H5P_DEFAULT), 0);
	}
	H5Fclose(f);
	assert_rejected(path, "/layers", "9 layers", "1..8");
}
END_TEST

START_TEST(rejects_float_weights_in_int8_model)
{
	static float w[128 * 8];
	const hsize_t dims[2] = {128, 8};
	char path[PATH_LEN];

	good_file(MODEL_INT8, "q.h5", path);
	replace_dataset(path, "/layers/0/weights", H5T_NATIVE_FLOAT, 2, dims, w);
	assert_rejected(path, "/layers/0/weights has type float32, expected int8");
}
END_TEST

/* int16 values that fit int8 are still refused: the type is the contract. */
START_TEST(rejects_int16_weights_in_int8_model)
{
	static int16_t w[16 * 128];
	const hsize_t dims[2] = {16, 128};
	char path[PATH_LEN];

	good_file(MODEL_INT8, "q.h5", path);
	replace_dataset(path, "/layers/1/weights", H5T_NATIVE_INT16, 2, dims, w);
	assert_rejected(path, "/layers/1/weights has type int16, expected int8");
}
END_TEST

START_TEST(rejects_float_shift_in_int8_model)
{
	static const float s[16] = {1.5f};
	const hsize_t dims[1] = {16};
	char path[PATH_LEN];

	good_file(MODEL_INT8, "q.h5", path);
	replace_dataset(path, "/layers/1/shift", H5T_NATIVE_FLOAT, 1, dims, s);
	assert_rejected(path, "/layers/1/shift has type float32, expected integer");
}
END_TEST

/* ---- bad values ---- */

struct poke {
	enum model_kind kind;
	const char *obj;  /* dataset, or the group holding attr */
	const char *attr; /* NULL: obj is a dataset */
	size_t k;         /* element */
	double f;         /* the float written (float tables) */
	long long v;      /* the integer written (integer tables) */
	const char *name; /* as the message must name it */
};

static const struct poke bad_floats[] = {
	{MODEL_FLOAT32, "/layers/0/weights", NULL, 13, NAN, 0, "/layers/0/weights[1,5]"},
	{MODEL_FLOAT32, "/layers/1/weights", NULL, 0, INFINITY, 0, "/layers/1/weights[0,0]"},
	{MODEL_FLOAT32, "/layers/1/bias", NULL, 3, -INFINITY, 0, "/layers/1/bias[3]"},
	{MODEL_FLOAT32, "/layers/2/bias", NULL, 0, NAN, 0, "/layers/2/bias[0]"},
	{MODEL_FLOAT32, "/input/mean", NULL, 2, NAN, 0, "/input/mean[2]"},
	{MODEL_FLOAT32, "/input/std", NULL, 1, INFINITY, 0, "/input/std[1]"},
	{MODEL_FLOAT32, "/input/std", NULL, 4, 0.0, 0, "/input/std[4]"},
	{MODEL_FLOAT32, "/input/std", NULL, 0, -1.0, 0, "/input/std[0]"},
	{MODEL_INT8, "/input/mean", NULL, 5, NAN, 0, "/input/mean[5]"},
	{MODEL_INT8, "/input/std", NULL, 6, 0.0, 0, "/input/std[6]"},
	{MODEL_INT8, "/input", "scale", 3, INFINITY, 0, "attribute /input/scale[3]"},
	{MODEL_INT8, "/layers/0", "input_scale", 0, NAN, 0, "attribute /layers/0/input_scale"},
	{MODEL_INT8, "/layers/1", "output_scale", 0, INFINITY, 0, "attribute /layers/1/output_scale"},
	{MODEL_INT8, "/layers/2", "output_scale", 0, 0.0, 0, "attribute /layers/2/output_scale"},
	{MODEL_INT8, "/layers/1", "weight_scale", 7, NAN, 0, "attribute /layers/1/weight_scale[7]"},
	{MODEL_INT8, "/layers/0", "weight_scale", 0, -0.5, 0, "attribute /layers/0/weight_scale[0]"},
};

static const struct poke bad_ints[] = {
	{MODEL_INT8, "/layers/1/shift", NULL, 0, 0, 99, "/layers/1/shift[0]"},
	{MODEL_INT8, "/layers/0/shift", NULL, 2, 0, -32, "/layers/0/shift[2]"},
	{MODEL_INT8, "/input/shift", NULL, 1, 0, 63, "/input/shift[1]"},
	{MODEL_INT8, "/input/shift", NULL, 0, 0, -1, "/input/shift[0]"},
	{MODEL_INT8, "/layers/1", "output_zero_point", 0, 0, 200, "attribute /layers/1/output_zero_point"},
	{MODEL_INT8, "/layers/0", "input_zero_point", 0, 0, -129, "attribute /layers/0/input_zero_point"},
	{MODEL_INT8, "/input", "zero_point", 2, 0, 128, "attribute /input/zero_point[2]"},
	{MODEL_INT8, "/layers/0/bias", NULL, 3, 0, (1LL << 30) + 1, "/layers/0/bias[3]"},
	{MODEL_INT8, "/layers/2/bias", NULL, 0, 0, -(1LL << 30) - 1, "/layers/2/bias[0]"},
	{MODEL_INT8, "/layers/2/multiplier", NULL, 0, 0, -5, "/layers/2/multiplier[0]"},
	{MODEL_INT8, "/input/mul", NULL, 4, 0, -1, "/input/mul[4]"},
	{MODEL_INT8, "/input/add", NULL, 0, 0, (1LL << 62) + 1, "/input/add[0]"},
	{MODEL_INT8, "/layers/1/weights", NULL, 130, 0, -128, "/layers/1/weights[1,2]"},
};

START_TEST(rejects_non_finite_or_non_positive_float)
{
	const struct poke *t = &bad_floats[_i];
	char path[PATH_LEN];

	good_file(t->kind, "m.h5", path);
	test_h5_set_float(path, t->obj, t->attr, t->k, t->f);
	assert_rejected(path, t->name);
}
END_TEST

START_TEST(rejects_integer_out_of_range)
{
	const struct poke *t = &bad_ints[_i];
	char path[PATH_LEN], value[32];

	good_file(t->kind, "m.h5", path);
	test_h5_set_int(path, t->obj, t->attr, t->k, t->v);
	snprintf(value, sizeof(value), "is %lld", t->v);
	assert_rejected(path, t->name, value);
}
END_TEST

/* Layer 1 reads layer 0's output: its input zero point must be that one. */
START_TEST(rejects_input_zero_point_not_matching_previous_layer)
{
	struct model *m = int8_model(42, 0);
	int32_t zp = m->qm.layer[0].output_zp;
	char path[PATH_LEN];

	save_as(m, "q.h5", path);
	model_free(m);
	test_h5_set_int(path, "/layers/1", "input_zero_point", 0, zp == 127 ? 126 : zp + 1);
	assert_rejected(path, "attribute /layers/1/input_zero_point");
}
END_TEST

START_TEST(rejects_relu_on_last_layer)
{
	char path[PATH_LEN];

	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_string(path, "/layers/2", "activation", "relu");
	assert_rejected(path, "attribute /layers/2/activation", "\"relu\"", "\"none\"");
}
END_TEST

START_TEST(rejects_unknown_activation)
{
	char path[PATH_LEN];

	good_file(MODEL_INT8, "q.h5", path);
	test_h5_set_attr_string(path, "/layers/0", "activation", "tanh");
	assert_rejected(path, "attribute /layers/0/activation", "\"tanh\"");
}
END_TEST

START_TEST(rejects_overlong_created_by)
{
	char path[PATH_LEN], text[MODEL_TEXT_MAX + 10];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	good_file(MODEL_FLOAT32, "m.h5", path);
	test_h5_set_attr_string(path, "/", "created_by", text);
	assert_rejected(path, "attribute /created_by", "265 bytes");
}
END_TEST

Suite *
model_file_suite(void)
{
	Suite *s = suite_create("model_file");
	TCase *rt = tcase_create("round_trip");
	TCase *nf = tcase_create("not_a_model");
	TCase *bad = tcase_create("broken_model");

	tcase_add_checked_fixture(rt, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(rt, float_round_trip_keeps_every_bit);
	tcase_add_test(rt, float_round_trip_keeps_linear_hidden_layer);
	tcase_add_test(rt, float_round_trip_predicts_identically);
	tcase_add_loop_test(rt, int8_round_trip_keeps_every_array, 0, 2);
	tcase_add_loop_test(rt, int8_round_trip_predicts_identically, 0, 2);
	tcase_add_test(rt, root_attributes_read_back_with_plain_hdf5);
	tcase_add_test(rt, h5dump_shows_format_attributes);
	tcase_add_test(rt, reads_variable_length_strings);
	tcase_add_test(rt, load_leaves_no_hdf5_object_open);
	tcase_add_test(rt, save_replaces_file_and_leaves_no_temporary);
	tcase_add_test(rt, save_reports_missing_directory);
	suite_add_tcase(s, rt);

	tcase_add_checked_fixture(nf, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(nf, rejects_nonexistent_path);
	tcase_add_test(nf, rejects_empty_file);
	tcase_add_test(nf, rejects_garbage_bytes);
	tcase_add_test(nf, rejects_directory);
	tcase_add_test(nf, rejects_truncated_file);
	suite_add_tcase(s, nf);

	tcase_add_checked_fixture(bad, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(bad, rejects_wrong_format_string);
	tcase_add_test(bad, rejects_wrong_format_version);
	tcase_add_test(bad, rejects_format_version_stored_as_string);
	tcase_add_test(bad, rejects_unknown_kind);
	tcase_add_test(bad, rejects_too_many_features);
	tcase_add_test(bad, rejects_zero_features);
	tcase_add_test(bad, rejects_n_features_not_matching_layer_0);
	tcase_add_test(bad, rejects_feature_names_of_wrong_length);
	tcase_add_loop_test(bad, rejects_missing_attribute, 0,
			    sizeof(missing_attrs) / sizeof(missing_attrs[0]));
	tcase_add_loop_test(bad, rejects_missing_group_or_dataset, 0,
			    sizeof(missing_objects) / sizeof(missing_objects[0]));
	tcase_add_test(bad, rejects_dataset_where_group_expected);
	tcase_add_test(bad, rejects_layer_widths_that_do_not_chain);
	tcase_add_test(bad, rejects_bias_with_wrong_shape);
	tcase_add_test(bad, rejects_weights_with_wrong_rank);
	tcase_add_test(bad, rejects_last_layer_with_two_outputs);
	tcase_add_test(bad, rejects_layer_wider_than_max);
	tcase_add_test(bad, rejects_too_many_layers);
	tcase_add_test(bad, rejects_float_weights_in_int8_model);
	tcase_add_test(bad, rejects_int16_weights_in_int8_model);
	tcase_add_test(bad, rejects_float_shift_in_int8_model);
	tcase_add_loop_test(bad, rejects_non_finite_or_non_positive_float, 0,
			    sizeof(bad_floats) / sizeof(bad_floats[0]));
	tcase_add_loop_test(bad, rejects_integer_out_of_range, 0,
			    sizeof(bad_ints) / sizeof(bad_ints[0]));
	tcase_add_test(bad, rejects_input_zero_point_not_matching_previous_layer);
	tcase_add_test(bad, rejects_relu_on_last_layer);
	tcase_add_test(bad, rejects_unknown_activation);
	tcase_add_test(bad, rejects_overlong_created_by);
	suite_add_tcase(s, bad);
	return s;
}
