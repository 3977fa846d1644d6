/* libkvclient: values round-trip under every policy and land on all three
 * replicas (read back with RocksDB alone), reads go where DESIGN.md says
 * (FNV-1a primary; predict with models whose every decision is known),
 * the read log is a trace the project's reader takes, and bad calls are
 * errors that name the problem. Each test has fresh replica directories. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_helpers.h"
#include "helpers.h"
#include "kv_fakepred.h"
#include "kv_helpers.h"
#include "kv_internal.h"
#include "model_file.h"
#include "suites.h"
#include "trace.h"

static const char *const policies[] = {"primary", "random", "hedge", "predict"};

static const char *
default_model(void)
{
	return test_srcdir_file("models/iolat-default-int8.h5");
}

/* dir (a copy) for the replicas of one handle, under the test directory. */
static const char *
case_dir(const char *name)
{
	static char dir[4200];

	snprintf(dir, sizeof(dir), "%s", test_tmp_path(name));
	return dir;
}

/* A handle on replicas under name/ with the policy; predict uses model,
 * or the source tree's default model when model is NULL. */
static kv_t *
open_kv(const char *name, const char *policy, const char *model)
{
	char m[4200];
	kv_options_t *o;
	char *err = NULL;
	kv_t *kv;

	/* a copy first: model may be test_tmp_path's buffer, which case_dir reuses */
	snprintf(m, sizeof(m), "%s", model ? model : default_model());
	o = kvt_options(case_dir(name), policy);
	ck_assert_ptr_nonnull(o);
	if (strcmp(policy, "predict") == 0)
		kv_options_set_model_file(o, m);
	kv = kv_open(o, &err);
	kv_options_destroy(o);
	ck_assert_msg(kv != NULL, "kv_open %s (%s): %s", name, policy, err ? err : "no message");
	ck_assert_ptr_null(err);
	return kv;
}

/* kv_open's error for options o (which it destroys); NULL if it opened. */
static char *
open_error(kv_options_t *o)
{
	char *err = NULL;
	kv_t *kv = kv_open(o, &err);

	kv_options_destroy(o);
	if (kv != NULL) {
		kv_close(kv);
		ck_assert_ptr_null(err);
		return NULL;
	}
	ck_assert_ptr_nonnull(err);
	return err;
}

static void
assert_error_has(const char *err, const char *word)
{
	ck_assert_msg(err != NULL && strstr(err, word) != NULL,
		      "error \"%s\" does not contain \"%s\"", err ? err : "(none)", word);
}

static void
put_ok(kv_t *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	char *err = NULL;
	int rc = kv_put(kv, key, klen, val, vlen, &err);

	ck_assert_msg(rc == 0, "kv_put: %d %s", rc, err ? err : "");
	ck_assert_ptr_null(err);
}

static void
get_equals(kv_t *kv, const void *key, size_t klen, const void *want, size_t wlen)
{
	char *err = NULL;
	void *v = (void *)1;
	size_t len = 12345;
	int rc = kv_get(kv, key, klen, &v, &len, &err);

	ck_assert_msg(rc == 0, "kv_get: %d %s", rc, err ? err : "");
	ck_assert_ptr_null(err);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, wlen);
	ck_assert(memcmp(v, want, wlen) == 0);
	kv_free(v);
}

static void
get_missing(kv_t *kv, const void *key, size_t klen)
{
	char *err = NULL;
	void *v = (void *)1;
	size_t len = 12345;

	ck_assert_int_eq(kv_get(kv, key, klen, &v, &len, &err), 1);
	ck_assert_ptr_null(err);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(len, 0);
}

/* The i-th test key and its value: "key-%05d", "value %d of the test". */
static size_t
key_of(int i, char *buf, size_t cap)
{
	return (size_t)snprintf(buf, cap, "key-%05d", i);
}

static size_t
val_of(int i, char *buf, size_t cap)
{
	return (size_t)snprintf(buf, cap, "value %d of the test", i);
}

static char *
stats(kv_t *kv)
{
	char *s = kv_stats_json(kv);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(kvt_json_valid(s), "kv_stats_json is not JSON: %s", s);
	return s;
}

static void
stat_eq(const char *json, int replica, const char *name, long long want)
{
	long long got = kvt_stat(json, replica, name);

	ck_assert_msg(got == want, "%s of replica %d: %lld, expected %lld in %s", name, replica,
		      got, want, json);
}

/* ---- values ------------------------------------------------------------ */

START_TEST(put_then_get_returns_the_value_under_every_policy)
{
	char k[32], v[64];

	for (int p = 0; p < 4; p++) {
		kv_t *kv = open_kv(policies[p], policies[p], NULL);
		/* 100 keys: past the 20 samples the hedge needs to start hedging */
		for (int i = 0; i < 100; i++)
			put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
		for (int round = 0; round < 2; round++)
			for (int i = 0; i < 100; i++) {
				size_t kl = key_of(i, k, sizeof(k));
				get_equals(kv, k, kl, v, val_of(i, v, sizeof(v)));
			}
		char *s = stats(kv);
		stat_eq(s, -1, "reads", 200);
		char name[32];
		ck_assert_int_eq(kvt_stat_str(s, -1, "policy", name, sizeof(name)), 0);
		ck_assert_str_eq(name, policies[p]);
		kv_free(s);
		kv_close(kv);
	}
}
END_TEST

START_TEST(get_of_a_missing_key_returns_1_under_every_policy)
{
	for (int p = 0; p < 4; p++) {
		kv_t *kv = open_kv(policies[p], policies[p], NULL);
		put_ok(kv, "there", 5, "x", 1);
		get_missing(kv, "not there", 9);
		get_missing(kv, "ther", 4); /* a prefix of a stored key */
		char *s = stats(kv);
		long long nf = 0;
		for (int r = 0; r < 3; r++)
			nf += kvt_stat(s, r, "not_found");
		ck_assert_int_eq(nf, 2);
		kv_free(s);
		kv_close(kv);
	}
}
END_TEST

START_TEST(delete_then_get_returns_1_and_deletes_on_every_replica)
{
	kv_t *kv = open_kv("d", "primary", NULL);
	char *err = NULL;

	put_ok(kv, "gone", 4, "soon", 4);
	put_ok(kv, "kept", 4, "here", 4);
	get_equals(kv, "gone", 4, "soon", 4);
	ck_assert_int_eq(kv_delete(kv, "gone", 4, &err), 0);
	ck_assert_ptr_null(err);
	get_missing(kv, "gone", 4);
	get_equals(kv, "kept", 4, "here", 4);
	/* deleting what is not there is no error (RocksDB's rule) */
	ck_assert_int_eq(kv_delete(kv, "never", 5, &err), 0);
	char *s = stats(kv);
	for (int r = 0; r < 3; r++)
		stat_eq(s, r, "deletes", 2);
	kv_free(s);
	kv_close(kv);

	for (int r = 0; r < 3; r++) {
		char e[512];
		struct kvt_raw *db = kvt_raw_open(kvt_replica_path(case_dir("d"), r), e, sizeof(e));
		ck_assert_msg(db != NULL, "%s", e);
		ck_assert_int_eq(kvt_raw_get(db, "gone", 4, NULL, 0), 1);
		ck_assert_int_eq(kvt_raw_get(db, "kept", 4, "here", 4), 0);
		kvt_raw_close(db);
	}
}
END_TEST

START_TEST(values_of_0_bytes_and_of_KV_MAX_VALUE)
{
	kv_t *kv = open_kv("v", "primary", NULL);
	unsigned char *big = malloc(KV_MAX_VALUE);
	char *err = NULL;

	ck_assert_ptr_nonnull(big);
	put_ok(kv, "empty", 5, "", 0);
	put_ok(kv, "null", 4, NULL, 0); /* NULL with length 0 is an empty value */
	get_equals(kv, "empty", 5, "", 0);
	get_equals(kv, "null", 4, "", 0);

	for (size_t i = 0; i < KV_MAX_VALUE; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	put_ok(kv, "big", 3, big, KV_MAX_VALUE);
	get_equals(kv, "big", 3, big, KV_MAX_VALUE);
	/* one byte more is refused, and nothing is stored */
	ck_assert_int_eq(kv_put(kv, "big2", 4, big, KV_MAX_VALUE + 1u, &err), -1);
	assert_error_has(err, "value of 67108865 bytes");
	assert_error_has(err, "67108864");
	kv_free(err);
	get_missing(kv, "big2", 4);
	free(big);
	kv_close(kv);
}
END_TEST

START_TEST(binary_keys_with_nul_bytes_are_distinct)
{
	static const char k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'}, k3[] = {0};
	unsigned char kmax[KV_MAX_KEY];
	kv_t *kv = open_kv("b", "primary", NULL);

	for (size_t i = 0; i < sizeof(kmax); i++)
		kmax[i] = (unsigned char)i;
	put_ok(kv, k1, 3, "one", 3);
	put_ok(kv, k2, 3, "two", 3);
	put_ok(kv, k3, 1, "zero", 4);
	put_ok(kv, kmax, sizeof(kmax), "longest", 7);
	get_equals(kv, k1, 3, "one", 3);
	get_equals(kv, k2, 3, "two", 3);
	get_equals(kv, k3, 1, "zero", 4);
	get_equals(kv, kmax, sizeof(kmax), "longest", 7);
	get_missing(kv, "a", 1);      /* what a C string of k1 would be */
	get_missing(kv, k1, 2);       /* "a\0" */
	get_missing(kv, kmax, sizeof(kmax) - 1);
	kv_close(kv);
}
END_TEST

START_TEST(a_put_is_on_all_three_replicas_read_with_rocksdb_alone)
{
	kv_t *kv = open_kv("all", "predict", NULL);
	char k[32], v[64];

	for (int i = 0; i < 300; i++)
		put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
	put_ok(kv, "over", 4, "first", 5);
	put_ok(kv, "over", 4, "second", 6);
	kv_close(kv);

	for (int r = 0; r < 3; r++) {
		char e[512];
		struct kvt_raw *db = kvt_raw_open(kvt_replica_path(case_dir("all"), r), e, sizeof(e));
		ck_assert_msg(db != NULL, "%s", e);
		for (int i = 0; i < 300; i++) {
			size_t kl = key_of(i, k, sizeof(k));
			size_t vl = val_of(i, v, sizeof(v));
			ck_assert_msg(kvt_raw_get(db, k, kl, v, vl) == 0, "replica %d lacks %s", r, k);
		}
		ck_assert_int_eq(kvt_raw_get(db, "over", 4, "second", 6), 0);
		ck_assert_int_eq(kvt_raw_get(db, "key-00300", 9, NULL, 0), 1);
		kvt_raw_close(db);
	}
}
END_TEST

START_TEST(a_reopened_store_keeps_its_values)
{
	kv_t *kv = open_kv("re", "primary", NULL);

	put_ok(kv, "k", 1, "v", 1);
	kv_close(kv);
	kv = open_kv("re", "random", NULL);
	for (int i = 0; i < 30; i++) /* random: every replica answers sooner or later */
		get_equals(kv, "k", 1, "v", 1);
	kv_close(kv);
}
END_TEST

/* ---- routing ----------------------------------------------------------- */

/* The first test key whose primary is replica r. */
static size_t
key_on(int r, char *k, size_t cap)
{
	for (int i = 0;; i++) {
		size_t kl = key_of(i, k, cap);
		if (kvt_primary(k, kl) == r)
			return kl;
	}
}

/* Reads per replica from the stats: r0, r1, r2. */
static void
replica_reads(kv_t *kv, long long reads[3])
{
	char *s = stats(kv);

	for (int r = 0; r < 3; r++)
		reads[r] = kvt_stat(s, r, "reads");
	kv_free(s);
}

/* Which replica served one get of key: the one whose read counter
 * moved (exactly one must). */
static int
served_by(kv_t *kv, const void *key, size_t klen, const void *want, size_t wlen)
{
	long long before[3], after[3];
	int who = -1;

	replica_reads(kv, before);
	get_equals(kv, key, klen, want, wlen);
	replica_reads(kv, after);
	for (int r = 0; r < 3; r++) {
		if (after[r] == before[r])
			continue;
		ck_assert_int_eq(after[r], before[r] + 1);
		ck_assert_msg(who < 0, "one get counted on replicas %d and %d", who, r);
		who = r;
	}
	ck_assert_int_ge(who, 0);
	return who;
}

START_TEST(fnv1a_reference_values)
{
	/* The published FNV-1a 64 test vectors (Fowler, Noll, Vo):
	 * "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c,
	 * "foobar" -> 85944171f73967e8. */
	ck_assert_int_eq(kvt_primary("", 0), (int)(0xcbf29ce484222325ull % 3));
	ck_assert_int_eq(kvt_primary("a", 1), (int)(0xaf63dc4c8601ec8cull % 3));
	ck_assert_int_eq(kvt_primary("foobar", 6), (int)(0x85944171f73967e8ull % 3));
}
END_TEST

START_TEST(primary_policy_reads_the_fnv1a_replica)
{
	kv_t *kv = open_kv("p", "primary", NULL);
	char k[32], v[64];
	long long want[3] = {0, 0, 0}, got[3];

	for (int i = 0; i < 150; i++)
		put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
	/* each key, one by one */
	for (int i = 0; i < 60; i++) {
		size_t kl = key_of(i, k, sizeof(k));
		ck_assert_int_eq(served_by(kv, k, kl, v, val_of(i, v, sizeof(v))),
				 kvt_primary(k, kl));
		want[kvt_primary(k, kl)]++;
	}
	/* and in bulk */
	for (int i = 60; i < 150; i++) {
		size_t kl = key_of(i, k, sizeof(k));
		get_equals(kv, k, kl, v, val_of(i, v, sizeof(v)));
		want[kvt_primary(k, kl)]++;
	}
	replica_reads(kv, got);
	for (int r = 0; r < 3; r++) {
		ck_assert_int_eq(got[r], want[r]);
		ck_assert_int_gt(want[r], 20); /* the keys do spread */
	}
	kv_close(kv);
}
END_TEST

START_TEST(random_policy_reads_every_replica)
{
	kv_t *kv = open_kv("rnd", "random", NULL);
	long long got[3];

	put_ok(kv, "k", 1, "v", 1);
	for (int i = 0; i < 300; i++)
		get_equals(kv, "k", 1, "v", 1);
	replica_reads(kv, got);
	ck_assert_int_eq(got[0] + got[1] + got[2], 300);
	/* the chance that one replica gets none of 300 uniform picks is
	 * 3 * (2/3)^300, about 1e-52 */
	for (int r = 0; r < 3; r++)
		ck_assert_int_gt(got[r], 0);
	kv_close(kv);
}
END_TEST

START_TEST(predict_always_fast_reads_the_primary)
{
	char err[512], k[32], v[64];
	const char *model = test_tmp_path("fast.h5");

	ck_assert_msg(kvt_constant_model(model, 0, err, sizeof(err)) == 0, "%s", err);
	kv_t *kv = open_kv("fast", "predict", test_tmp_path("fast.h5"));
	for (int i = 0; i < 60; i++)
		put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 60; i++) {
			size_t kl = key_of(i, k, sizeof(k));
			ck_assert_int_eq(served_by(kv, k, kl, v, val_of(i, v, sizeof(v))),
					 kvt_primary(k, kl));
		}
	char *s = stats(kv);
	stat_eq(s, -1, "reads", 180);
	stat_eq(s, -1, "reroutes", 0);
	stat_eq(s, -1, "predicted_slow", 0);
	stat_eq(s, -1, "predictor_errors", 0);
	for (int r = 0; r < 3; r++) {
		stat_eq(s, r, "probes", 0);
		stat_eq(s, r, "predicted_slow", 0);
	}
	char kind[32];
	ck_assert_int_eq(kvt_stat_str(s, -1, "kind", kind, sizeof(kind)), 0);
	ck_assert_str_eq(kind, "in-process");
	kv_free(s);
	kv_close(kv);
}
END_TEST

/* A model that says slow for everything: DESIGN.md's rule sends each
 * read to its primary. Nobody is passed over (the primary is read; the
 * replicas after it were never in the way), so the probe rule, which
 * needs 8 pass-overs in a row, never fires, however many reads: every
 * replica is predicted slow once per read, and read only as a primary.
 * Ten reads of a key on each replica: */
START_TEST(predict_always_slow_reads_the_primary_and_never_probes)
{
	char err[512], k[3][32];
	size_t kl[3];

	ck_assert_msg(kvt_constant_model(test_tmp_path("slow.h5"), 1, err, sizeof(err)) == 0,
		      "%s", err);
	kv_t *kv = open_kv("slow", "predict", test_tmp_path("slow.h5"));
	for (int r = 0; r < 3; r++) {
		kl[r] = key_on(r, k[r], sizeof(k[r]));
		put_ok(kv, k[r], kl[r], "v", 1);
	}
	for (int i = 0; i < 10; i++)
		for (int r = 0; r < 3; r++)
			ck_assert_int_eq(served_by(kv, k[r], kl[r], "v", 1), r);
	char *s = stats(kv);
	stat_eq(s, -1, "reads", 30);
	stat_eq(s, -1, "predicted_slow", 90);
	stat_eq(s, -1, "reroutes", 0);
	stat_eq(s, -1, "predictor_errors", 0);
	for (int r = 0; r < 3; r++) {
		stat_eq(s, r, "reads", 10);
		stat_eq(s, r, "predicted_slow", 30);
		stat_eq(s, r, "probes", 0);
	}
	kv_free(s);
	kv_close(kv);
}
END_TEST

START_TEST(predict_with_the_default_model_reports_it)
{
	kv_t *kv = open_kv("def", "predict", NULL);
	char kind[32], model[4200];

	put_ok(kv, "k", 1, "v", 1);
	for (int i = 0; i < 50; i++)
		get_equals(kv, "k", 1, "v", 1);
	char *s = stats(kv);
	ck_assert_int_eq(kvt_stat_str(s, -1, "kind", kind, sizeof(kind)), 0);
	ck_assert_str_eq(kind, "in-process");
	ck_assert_int_eq(kvt_stat_str(s, -1, "model", model, sizeof(model)), 0);
	ck_assert_str_eq(model, default_model());
	stat_eq(s, -1, "reads", 50);
	stat_eq(s, -1, "predictor_errors", 0);
	/* every read is on the replica it went to */
	ck_assert_int_eq(kvt_stat(s, 0, "reads") + kvt_stat(s, 1, "reads") +
			 kvt_stat(s, 2, "reads"), 50);
	kv_free(s);
	kv_close(kv);
}
END_TEST

/* ---- the predictor through a daemon (scripted) ------------------------ */

/* A handle with the predict policy on the scripted daemon at sock. */
static kv_t *
open_kv_daemon(const char *name, const char *sock)
{
	char s[4200], *err = NULL;
	kv_options_t *o;
	kv_t *kv;

	snprintf(s, sizeof(s), "%s", sock);
	o = kvt_options(case_dir(name), "predict");
	kv_options_set_daemon_socket(o, s);
	kv = kv_open(o, &err);
	kv_options_destroy(o);
	ck_assert_msg(kv != NULL, "kv_open on %s: %s", s, err ? err : "no message");
	return kv;
}

static struct kvt_pred *
start_pred(const char *const *script)
{
	char err[512];
	struct kvt_pred *p = kvt_pred_start(test_tmp_path("pred.sock"), script, 30000, err,
					    sizeof(err));

	ck_assert_msg(p != NULL, "%s", err);
	return p;
}

static void
assert_rows(struct kvt_pred *p, const int *want, int n)
{
	ck_assert_msg(kvt_pred_problem(p) == NULL, "%s", kvt_pred_problem(p));
	ck_assert_int_eq(kvt_pred_requests(p), n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(kvt_pred_rows(p, i) == want[i], "request %d: %d rows, expected %d",
			      i + 1, kvt_pred_rows(p, i), want[i]);
}

START_TEST(predict_asks_about_all_replicas_at_once_and_takes_the_first_fast)
{
	/* one question per read, about the three replicas from the primary on:
	 * primary fast; primary slow, next fast; two slow, third fast; all
	 * slow; primary fast, the others slow (counted, though not in the way) */
	static const char *const script[] = {"fff", "sff", "ssf", "sss", "fss", NULL};
	static const int rows[] = {3, 3, 3, 3, 3};
	struct kvt_pred *pred = start_pred(script);
	kv_t *kv = open_kv_daemon("d", test_tmp_path("pred.sock"));
	const char *key = "k";
	int p = kvt_primary(key, 1);
	char kind[32];

	put_ok(kv, key, 1, "v", 1);
	ck_assert_int_eq(served_by(kv, key, 1, "v", 1), p);
	ck_assert_int_eq(served_by(kv, key, 1, "v", 1), (p + 1) % 3);
	ck_assert_int_eq(served_by(kv, key, 1, "v", 1), (p + 2) % 3);
	ck_assert_int_eq(served_by(kv, key, 1, "v", 1), p);
	ck_assert_int_eq(served_by(kv, key, 1, "v", 1), p);
	assert_rows(pred, rows, 5);

	char *s = stats(kv);
	ck_assert_int_eq(kvt_stat_str(s, -1, "kind", kind, sizeof(kind)), 0);
	ck_assert_str_eq(kind, "iolatd");
	ck_assert(strstr(s, "\"connected\": true") != NULL);
	stat_eq(s, -1, "model_generation", KVT_PRED_GENERATION);
	stat_eq(s, -1, "predicted_slow", 0 + 1 + 2 + 3 + 2);
	stat_eq(s, -1, "reroutes", 2);
	stat_eq(s, -1, "predictor_errors", 0);
	stat_eq(s, p, "predicted_slow", 3);
	stat_eq(s, (p + 1) % 3, "predicted_slow", 3);
	stat_eq(s, (p + 2) % 3, "predicted_slow", 2);
	kv_free(s);
	kv_close(kv);
	kvt_pred_free(pred);
}
END_TEST

/* The probe rule, by hand. Key a's order is 2, 0, 1; key b's 0, 1, 2;
 * key c's 1, 2, 0. s = the pass-over counts of replicas (0, 1, 2) after
 * the read (KV_PROBE_AFTER = 8).
 *   read  answers   read on                                   s
 *   1-8   a "sff"   0: 2 slow is passed over, 0 fast          (0, 0, k)
 *   9     b "fss"   0: fast, before 2, which is due but waits (0, 0, 8)
 *   10    c "ssf"   2: 1 slow, passed over; 2 slow and due:   (0, 1, 0)
 *                   a probe, before 0, which is fast
 *   11    a "sff"   0: 2 passed over again                    (0, 1, 1)
 * predicted slow: replica 1 in reads 9 and 10, replica 2 in all 11;
 * reroutes: every read but 9. */
_Static_assert(KV_PROBE_AFTER == 8, "the table above is worked for 8");

START_TEST(a_replica_passed_over_8_times_is_probed)
{
	static const char *const script[] = {"sff", "sff", "sff", "sff", "sff", "sff",
					     "sff", "sff", "fss", "ssf", "sff", NULL};
	static const int rows[] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
	struct kvt_pred *pred = start_pred(script);
	kv_t *kv = open_kv_daemon("d", test_tmp_path("pred.sock"));
	char ka[32], kb[32], kc[32];
	size_t la = key_on(2, ka, sizeof(ka)), lb = key_on(0, kb, sizeof(kb));
	size_t lc = key_on(1, kc, sizeof(kc));

	put_ok(kv, ka, la, "a", 1);
	put_ok(kv, kb, lb, "b", 1);
	put_ok(kv, kc, lc, "c", 1);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(served_by(kv, ka, la, "a", 1), 0);
	ck_assert_int_eq(served_by(kv, kb, lb, "b", 1), 0);
	ck_assert_int_eq(served_by(kv, kc, lc, "c", 1), 2);
	ck_assert_int_eq(served_by(kv, ka, la, "a", 1), 0);
	assert_rows(pred, rows, 11);

	char *s = stats(kv);
	stat_eq(s, 0, "probes", 0);
	stat_eq(s, 1, "probes", 0);
	stat_eq(s, 2, "probes", 1);
	stat_eq(s, 0, "predicted_slow", 0);
	stat_eq(s, 1, "predicted_slow", 2);
	stat_eq(s, 2, "predicted_slow", 11);
	stat_eq(s, -1, "predicted_slow", 13);
	stat_eq(s, -1, "reroutes", 10);
	stat_eq(s, 0, "reads", 10);
	stat_eq(s, 1, "reads", 0);
	stat_eq(s, 2, "reads", 1);
	kv_free(s);
	kv_close(kv);
	kvt_pred_free(pred);
}
END_TEST

START_TEST(reads_go_on_when_the_daemon_is_gone)
{
	struct kvt_pred *pred = start_pred(NULL); /* every answer fast */
	kv_t *kv = open_kv_daemon("d", test_tmp_path("pred.sock"));
	char k[32], v[64];

	for (int i = 0; i < 10; i++)
		put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
	for (int i = 0; i < 5; i++) {
		size_t kl = key_of(i, k, sizeof(k));
		ck_assert_int_eq(served_by(kv, k, kl, v, val_of(i, v, sizeof(v))),
				 kvt_primary(k, kl));
	}
	kvt_pred_stop(pred);
	/* each read: the question fails, the read goes to the primary */
	for (int i = 5; i < 10; i++) {
		size_t kl = key_of(i, k, sizeof(k));
		ck_assert_int_eq(served_by(kv, k, kl, v, val_of(i, v, sizeof(v))),
				 kvt_primary(k, kl));
	}
	ck_assert_int_eq(kvt_pred_requests(pred), 5);
	char *s = stats(kv);
	stat_eq(s, -1, "reads", 10);
	stat_eq(s, -1, "predictor_errors", 5);
	ck_assert(strstr(s, "\"connected\": false") != NULL);
	kv_free(s);
	kv_close(kv);
	kvt_pred_free(pred);
}
END_TEST

START_TEST(a_daemon_that_stops_answering_delays_a_read_not_blocks_it)
{
	static const char *const script[] = {"f", "-", NULL};
	struct kvt_pred *pred = start_pred(script);
	kv_t *kv = open_kv_daemon("d", test_tmp_path("pred.sock"));

	put_ok(kv, "k", 1, "v", 1);
	get_equals(kv, "k", 1, "v", 1);
	/* never answered: kvclient gives up on the daemon (a hang here ends
	 * in the test case's timeout) and reads the primary */
	ck_assert_int_eq(served_by(kv, "k", 1, "v", 1), kvt_primary("k", 1));
	char *s = stats(kv);
	stat_eq(s, -1, "predictor_errors", 1);
	kv_free(s);
	kv_close(kv);
	ck_assert_int_eq(kvt_pred_requests(pred), 2);
	kvt_pred_free(pred);
}
END_TEST

/* kv_stats_json on one thread while reads on another ask the daemon,
 * which goes away half-way: every stats text is JSON, every read
 * answers. (The ThreadSanitizer build also sees the predictor's state
 * read under its lock.) */
struct stats_reader {
	kv_t *kv;
	atomic_int stop;
	int texts, bad;
};

static void *
read_stats(void *arg)
{
	struct stats_reader *sr = arg;

	while (!atomic_load(&sr->stop)) {
		char *s = kv_stats_json(sr->kv);
		if (s == NULL || !kvt_json_valid(s) || strstr(s, "\"kind\": \"iolatd\"") == NULL)
			sr->bad++;
		sr->texts++;
		kv_free(s);
	}
	return NULL;
}

START_TEST(stats_from_another_thread_while_reads_ask_the_daemon)
{
	struct kvt_pred *pred = start_pred(NULL);
	kv_t *kv = open_kv_daemon("d", test_tmp_path("pred.sock"));
	struct stats_reader sr = {.kv = kv};
	pthread_t t;

	put_ok(kv, "k", 1, "v", 1);
	ck_assert_int_eq(pthread_create(&t, NULL, read_stats, &sr), 0);
	for (int i = 0; i < 200; i++) {
		if (i == 100)
			kvt_pred_stop(pred);
		get_equals(kv, "k", 1, "v", 1);
	}
	atomic_store(&sr.stop, 1);
	pthread_join(t, NULL);
	ck_assert_int_eq(sr.bad, 0);
	ck_assert_int_gt(sr.texts, 0);
	char *s = stats(kv);
	stat_eq(s, -1, "reads", 200);
	stat_eq(s, -1, "predictor_errors", 100);
	kv_free(s);
	kv_close(kv);
	kvt_pred_free(pred);
}
END_TEST

/* ---- stats ------------------------------------------------------------- */

START_TEST(json_checker_tells_json_from_not)
{
	ck_assert(kvt_json_valid("{\"a\": [1, -2.5e3, true, null, \"x\\n\\u00e9\"], \"b\": {}}"));
	ck_assert(kvt_json_valid(" [] "));
	ck_assert(!kvt_json_valid("{\"a\": 1,}"));
	ck_assert(!kvt_json_valid("{\"a\" 1}"));
	ck_assert(!kvt_json_valid("[1, 2"));
	ck_assert(!kvt_json_valid("{\"a\": \"tab\there\"}"));
	ck_assert(!kvt_json_valid("{\"a\": 01}"));
	ck_assert(!kvt_json_valid("{} {}"));
	ck_assert(!kvt_json_valid("{\"a\": \"\\x\"}"));
}
END_TEST

START_TEST(stats_json_is_json_with_the_documented_keys)
{
	static const char *const top[] = {"policy", "reads", "reroutes", "predicted_slow",
					  "hedged_reads", "hedge_wins", "predictor_errors",
					  "predictor"};
	static const char *const per[] = {"replica", "path", "state", "error", "reads",
					  "read_errors", "not_found", "puts", "deletes",
					  "write_errors", "outstanding", "predicted_slow",
					  "probes", "hedged_to", "read_us_avg", "read_us_p50",
					  "read_us_p95", "read_us_p99", "history"};
	/* a path with the characters JSON must escape */
	const char *dir = test_tmp_path("q\"uo\\te");
	kv_options_t *o = kvt_options(dir, "predict");
	char *err = NULL, path[4200], state[16];

	kv_options_set_model_file(o, default_model());
	kv_t *kv = kv_open(o, &err);
	kv_options_destroy(o);
	ck_assert_msg(kv != NULL, "%s", err);
	put_ok(kv, "k", 1, "v", 1);
	put_ok(kv, "k2", 2, "v", 1);
	get_equals(kv, "k", 1, "v", 1);
	get_missing(kv, "nope", 4);

	char *s = stats(kv);
	ck_assert(strstr(s, "\"replicas\": [{") != NULL);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		ck_assert_msg(kvt_stat_value(s, -1, top[i]) != NULL, "no %s in %s", top[i], s);
	for (int r = 0; r < 3; r++) {
		for (size_t i = 0; i < sizeof(per) / sizeof(per[0]); i++)
			ck_assert_msg(kvt_stat_value(s, r, per[i]) != NULL, "no %s in replica %d: %s",
				      per[i], r, s);
		stat_eq(s, r, "replica", r);
		stat_eq(s, r, "puts", 2);
		stat_eq(s, r, "outstanding", 0);
		ck_assert_int_eq(kvt_stat_str(s, r, "state", state, sizeof(state)), 0);
		ck_assert_str_eq(state, "ok");
		ck_assert(strncmp(kvt_stat_value(s, r, "error"), "null", 4) == 0);
		/* the path, escaped; kvt_stat_str keeps the backslashes */
		ck_assert_int_eq(kvt_stat_str(s, r, "path", path, sizeof(path)), 0);
		ck_assert(strstr(path, "q\\\"uo\\\\te/r") != NULL);
	}
	stat_eq(s, -1, "reads", 2);
	kv_free(s);
	kv_close(kv);
}
END_TEST

/* ---- the read log ------------------------------------------------------ */

START_TEST(read_log_holds_each_replica_reads_and_writes)
{
	enum { PUTS = 40, GETS = 70, DELS = 5 };
	kv_options_t *o = kvt_options(case_dir("log"), "primary");
	char *err = NULL, k[32], v[64];
	long long want_reads[3] = {0, 0, 0}, hist[3][3];
	uint32_t last[3][3] = {{0}};

	kv_options_set_read_log(o, test_tmp_path("kvlog"));
	kv_t *kv = kv_open(o, &err);
	kv_options_destroy(o);
	ck_assert_msg(kv != NULL, "%s", err);
	for (int i = 0; i < PUTS; i++)
		put_ok(kv, k, key_of(i, k, sizeof(k)), v, val_of(i, v, sizeof(v)));
	for (int i = 0; i < GETS; i++) {
		size_t kl = key_of(i, k, sizeof(k)); /* 30 of them missing */
		void *got = NULL;
		size_t len;
		ck_assert_int_eq(kv_get(kv, k, kl, &got, &len, &err), i < PUTS ? 0 : 1);
		kv_free(got);
		want_reads[kvt_primary(k, kl)]++;
	}
	for (int i = 0; i < DELS; i++)
		ck_assert_int_eq(kv_delete(kv, k, key_of(i, k, sizeof(k)), &err), 0);
	char *s = stats(kv);
	for (int r = 0; r < 3; r++)
		ck_assert_int_eq(kvt_stat_list(s, r, "latency_us", hist[r], 3), 0);
	kv_free(s);
	kv_close(kv); /* flushes the logs */

	for (int r = 0; r < 3; r++) {
		char path[4200], e[512];
		struct trace t;
		size_t writes = 0, reads = 0, put_bytes = 0;
		snprintf(path, sizeof(path), "%s.r%d.trace", test_tmp_path("kvlog"), r);
		ck_assert_msg(trace_read(path, &t, e, sizeof(e)) == 0, "%s", e);
		ck_assert_int_eq(t.format, TRACE_REPLAYED);
		ck_assert_uint_eq(t.n, PUTS + DELS + (size_t)want_reads[r]);
		ck_assert_uint_eq(t.n_reads, (size_t)want_reads[r]);
		for (size_t i = 0; i < t.n; i++) {
			const struct trace_io *io = &t.io[i];
			/* a measured latency: 0 would mean "none" (raw traces) */
			ck_assert_msg(io->latency_us > 0, "%s: line %zu has latency 0", path, i + 1);
			if (i > 0)
				ck_assert(io->ts_ms >= t.io[i - 1].ts_ms);
			if (io->io_type == 1) {
				reads++;
				ck_assert_uint_eq(io->size, 4096);
			} else {
				writes++;
				put_bytes += io->size;
			}
			last[r][0] = last[r][1];
			last[r][1] = last[r][2];
			last[r][2] = io->latency_us;
		}
		ck_assert_uint_eq(reads, (size_t)want_reads[r]);
		ck_assert_uint_eq(writes, PUTS + DELS);
		/* puts are key + value bytes, deletes the key's */
		size_t want_bytes = 0;
		for (int i = 0; i < PUTS; i++)
			want_bytes += key_of(i, k, sizeof(k)) + val_of(i, v, sizeof(v));
		ck_assert_uint_eq(put_bytes, want_bytes + DELS * 9);
		/* the features saw the latencies the log holds: the replica's
		 * history (newest first) is the log's last three lines */
		for (int j = 0; j < 3; j++)
			ck_assert_int_eq(hist[r][j], last[r][2 - j]);
		trace_free(&t);
	}
}
END_TEST

START_TEST(read_log_in_a_missing_directory_is_refused)
{
	kv_options_t *o = kvt_options(case_dir("x"), "primary");

	kv_options_set_read_log(o, test_tmp_path("no/such/dir/log"));
	char *err = open_error(o);
	assert_error_has(err, "read log");
	assert_error_has(err, "no/such/dir/log.r0.trace");
	assert_error_has(err, "No such file");
	kv_free(err);
}
END_TEST

/* ---- bad calls --------------------------------------------------------- */

START_TEST(a_null_handle_is_an_error_for_every_call)
{
	char *err = NULL;
	void *v = NULL;
	size_t len = 0;

	ck_assert_int_eq(kv_put(NULL, "k", 1, "v", 1, &err), -1);
	assert_error_has(err, "NULL handle");
	ck_assert_int_eq(kv_get(NULL, "k", 1, &v, &len, &err), -1);
	assert_error_has(err, "NULL handle");
	ck_assert_int_eq(kv_delete(NULL, "k", 1, &err), -1);
	assert_error_has(err, "NULL handle");
	kv_free(err);
	ck_assert_ptr_null(kv_stats_json(NULL));
	kv_close(NULL);
	kv_free(NULL);
	/* and with err NULL: no message, the same status */
	ck_assert_int_eq(kv_put(NULL, "k", 1, "v", 1, NULL), -1);
	ck_assert_int_eq(kv_get(NULL, "k", 1, &v, &len, NULL), -1);
	ck_assert_int_eq(kv_delete(NULL, "k", 1, NULL), -1);
	/* option setters on NULL do nothing */
	kv_options_set_replica_path(NULL, 0, "x");
	kv_options_set_policy(NULL, "primary");
	kv_options_set_model_file(NULL, "x");
	kv_options_set_daemon_socket(NULL, "x");
	kv_options_set_read_log(NULL, "x");
	kv_options_set_sync(NULL, 1);
	kv_options_set_create_if_missing(NULL, 1);
	kv_options_destroy(NULL);
}
END_TEST

START_TEST(bad_keys_are_refused_by_put_get_and_delete)
{
	kv_t *kv = open_kv("k", "primary", NULL);
	char *err = NULL, *big = calloc(1, KV_MAX_KEY + 1);
	void *v;
	size_t len;

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(kv_put(kv, NULL, 1, "v", 1, &err), -1);
	assert_error_has(err, "NULL key");
	ck_assert_int_eq(kv_get(kv, NULL, 1, &v, &len, &err), -1);
	assert_error_has(err, "NULL key");
	ck_assert_int_eq(kv_delete(kv, NULL, 1, &err), -1);
	assert_error_has(err, "NULL key");

	ck_assert_int_eq(kv_put(kv, "k", 0, "v", 1, &err), -1);
	assert_error_has(err, "key of 0 bytes");
	assert_error_has(err, "1..65536");
	ck_assert_int_eq(kv_get(kv, "k", 0, &v, &len, &err), -1);
	assert_error_has(err, "key of 0 bytes");
	ck_assert_int_eq(kv_delete(kv, "k", 0, &err), -1);
	assert_error_has(err, "key of 0 bytes");

	ck_assert_int_eq(kv_put(kv, big, KV_MAX_KEY + 1, "v", 1, &err), -1);
	assert_error_has(err, "key of 65537 bytes");
	ck_assert_int_eq(kv_get(kv, big, KV_MAX_KEY + 1, &v, &len, &err), -1);
	assert_error_has(err, "key of 65537 bytes");
	ck_assert_int_eq(kv_delete(kv, big, KV_MAX_KEY + 1, &err), -1);
	assert_error_has(err, "key of 65537 bytes");
	kv_free(err);
	/* err NULL: the same refusals, no message */
	ck_assert_int_eq(kv_put(kv, NULL, 1, "v", 1, NULL), -1);
	ck_assert_int_eq(kv_get(kv, "k", 0, &v, &len, NULL), -1);
	ck_assert_int_eq(kv_delete(kv, big, KV_MAX_KEY + 1, NULL), -1);
	ck_assert_int_eq(kv_get(kv, "k", 1, NULL, NULL, NULL), -1);

	/* nothing reached a replica */
	char *s = stats(kv);
	for (int r = 0; r < 3; r++) {
		stat_eq(s, r, "puts", 0);
		stat_eq(s, r, "reads", 0);
		stat_eq(s, r, "deletes", 0);
	}
	kv_free(s);
	free(big);
	kv_close(kv);
}
END_TEST

START_TEST(bad_values_and_result_pointers_are_refused)
{
	kv_t *kv = open_kv("val", "primary", NULL);
	char *err = NULL, small[8] = "v";
	void *v;
	size_t len;

	/* the length is judged before the bytes are read: an 8-byte buffer
	 * claiming 64 MiB + 1 is never touched (ASan would see it) */
	ck_assert_int_eq(kv_put(kv, "k", 1, small, KV_MAX_VALUE + 1u, &err), -1);
	assert_error_has(err, "value of 67108865 bytes");
	ck_assert_int_eq(kv_put(kv, "k", 1, small, SIZE_MAX, &err), -1);
	assert_error_has(err, "the limit is 67108864");
	ck_assert_int_eq(kv_put(kv, "k", 1, NULL, 5, &err), -1);
	assert_error_has(err, "NULL value of 5 bytes");

	put_ok(kv, "k", 1, "v", 1);
	ck_assert_int_eq(kv_get(kv, "k", 1, NULL, &len, &err), -1);
	assert_error_has(err, "NULL val or vlen");
	ck_assert_int_eq(kv_get(kv, "k", 1, &v, NULL, &err), -1);
	assert_error_has(err, "NULL val or vlen");
	kv_free(err);
	get_equals(kv, "k", 1, "v", 1);
	kv_close(kv);
}
END_TEST

START_TEST(use_after_close_is_an_error)
{
	kv_t *kv = open_kv("uac", "primary", NULL);
	char *err = NULL;
	void *v = NULL;
	size_t len = 0;

	put_ok(kv, "k", 1, "v", 1);
	kv_close(kv);
	/* kv now points at freed memory: the calls must not read it */
	ck_assert_int_eq(kv_get(kv, "k", 1, &v, &len, &err), -1);
	assert_error_has(err, "closed");
	ck_assert_int_eq(kv_put(kv, "k", 1, "v", 1, &err), -1);
	assert_error_has(err, "closed");
	ck_assert_int_eq(kv_delete(kv, "k", 1, &err), -1);
	assert_error_has(err, "closed");
	kv_free(err);
	ck_assert_ptr_null(kv_stats_json(kv));
	kv_close(kv); /* a second close does nothing */

	/* a pointer kv_open never returned */
	kv_t *bogus = (kv_t *)&err;
	err = NULL;
	ck_assert_int_eq(kv_get(bogus, "k", 1, &v, &len, &err), -1);
	assert_error_has(err, "not one kv_open returned");
	kv_free(err);
	kv_close(bogus);
}
END_TEST

START_TEST(an_earlier_error_message_is_replaced)
{
	char *err = NULL;

	/* a caller that does not free between calls: the message is
	 * replaced, not leaked (LeakSanitizer checks in the ASan build) */
	ck_assert_int_eq(kv_put(NULL, "k", 1, "v", 1, &err), -1);
	ck_assert_int_eq(kv_put(NULL, NULL, 1, "v", 1, &err), -1);
	assert_error_has(err, "NULL handle");
	kv_free(err);
}
END_TEST

START_TEST(kv_open_refuses_bad_options)
{
	char *err;
	kv_options_t *o;
	char longpath[5000];

	err = NULL;
	ck_assert_ptr_null(kv_open(NULL, &err));
	assert_error_has(err, "NULL options");
	kv_free(err);
	ck_assert_ptr_null(kv_open(NULL, NULL));

	o = kvt_options(case_dir("o"), "primary");
	kv_options_set_replica_path(o, 1, NULL);
	err = open_error(o);
	assert_error_has(err, "no path for replica 1");
	kv_free(err);

	o = kv_options_create();
	err = open_error(o);
	assert_error_has(err, "no path for replica 0");
	kv_free(err);

	o = kvt_options(case_dir("o"), "primary");
	kv_options_set_replica_path(o, 2, kvt_replica_path(case_dir("o"), 0));
	err = open_error(o);
	assert_error_has(err, "replicas 0 and 2 have the same path");
	assert_error_has(err, "/o/r0");
	kv_free(err);

	o = kvt_options(case_dir("o"), "fastest");
	err = open_error(o);
	assert_error_has(err, "unknown policy 'fastest'");
	assert_error_has(err, "primary, random, hedge, predict");
	kv_free(err);

	o = kvt_options(case_dir("o"), "a policy name longer than sixteen bytes");
	err = open_error(o);
	assert_error_has(err, "unknown policy");
	kv_free(err);

	/* indexes out of 0..2 are ignored, not written out of bounds */
	o = kvt_options(case_dir("o"), "primary");
	kv_options_set_replica_path(o, 3, "/nowhere");
	kv_options_set_replica_path(o, -1, "/nowhere");
	err = open_error(o);
	ck_assert_ptr_null(err);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	o = kvt_options(case_dir("o"), "primary");
	kv_options_set_replica_path(o, 1, longpath);
	err = open_error(o);
	assert_error_has(err, "the path of replica 1 is over 4095 bytes");
	kv_free(err);

	o = kvt_options(case_dir("o"), "predict");
	kv_options_set_model_file(o, default_model());
	kv_options_set_daemon_socket(o, test_tmp_path("sock"));
	err = open_error(o);
	assert_error_has(err, "both a model file and a daemon socket");
	kv_free(err);
}
END_TEST

START_TEST(kv_open_refuses_a_model_it_cannot_use)
{
	char *err, e[512];
	kv_options_t *o;
	struct model *f;

	o = kvt_options(case_dir("m"), "predict");
	kv_options_set_model_file(o, test_tmp_path("no-such-model.h5"));
	err = open_error(o);
	assert_error_has(err, "predictor");
	assert_error_has(err, "no-such-model.h5");
	kv_free(err);

	o = kvt_options(case_dir("m"), "predict");
	kv_options_set_model_file(o, test_write_file("junk.h5", "not a model", 11));
	err = open_error(o);
	assert_error_has(err, "junk.h5");
	kv_free(err);

	static const uint32_t widths[3] = {8, 16, 1};
	f = test_random_float_model(2, widths, 3);
	ck_assert_int_eq(mf_save(f, test_tmp_path("float.h5"), e, sizeof(e)), 0);
	model_free(f);
	o = kvt_options(case_dir("m"), "predict");
	kv_options_set_model_file(o, test_tmp_path("float.h5"));
	err = open_error(o);
	assert_error_has(err, "float.h5");
	assert_error_has(err, "float32");
	assert_error_has(err, "calibrate");
	kv_free(err);

	/* a daemon socket nobody listens on */
	o = kvt_options(case_dir("m"), "predict");
	kv_options_set_daemon_socket(o, test_tmp_path("nobody.sock"));
	err = open_error(o);
	assert_error_has(err, "iolatd");
	assert_error_has(err, "nobody.sock");
	kv_free(err);

	/* nothing opened, nothing left behind: the replicas were not created */
	struct stat st;
	ck_assert_int_ne(stat(kvt_replica_path(case_dir("m"), 0), &st), 0);
}
END_TEST

START_TEST(kv_open_fails_when_no_replica_opens)
{
	kv_options_t *o = kvt_options(case_dir("none"), "primary");

	kv_options_set_create_if_missing(o, 0);
	char *err = open_error(o);
	assert_error_has(err, "no replica opens");
	assert_error_has(err, "replica 0");
	assert_error_has(err, "/none/r0");
	kv_free(err);
}
END_TEST

/* A replica path under a regular file cannot be created: the handle
 * opens degraded on the two others. */
START_TEST(a_replica_that_does_not_open_is_set_aside)
{
	const char *dir = case_dir("deg");
	char bad[4200], *err = NULL, state[16], why[600];
	kv_options_t *o = kvt_options(dir, "primary");

	snprintf(bad, sizeof(bad), "%s/r1", test_write_file("a-file", "x", 1));
	kv_options_set_replica_path(o, 1, bad);
	kv_t *kv = kv_open(o, &err);
	kv_options_destroy(o);
	ck_assert_msg(kv != NULL, "%s", err);
	ck_assert_ptr_null(err);

	ck_assert_int_eq(kv_put(kv, "k", 1, "v", 1, &err), -1);
	assert_error_has(err, "replica 1");
	assert_error_has(err, bad);
	assert_error_has(err, "2 of 3");
	kv_free(err);
	err = NULL;
	/* the others hold it, whichever is the key's primary */
	char k[32], v[64];
	for (int i = 0; i < 30; i++) {
		size_t kl = key_of(i, k, sizeof(k)), vl = val_of(i, v, sizeof(v));
		ck_assert_int_eq(kv_put(kv, k, kl, v, vl, &err), -1);
		kv_free(err);
		err = NULL;
	}
	get_equals(kv, "k", 1, "v", 1);
	for (int i = 0; i < 30; i++) {
		size_t kl = key_of(i, k, sizeof(k));
		get_equals(kv, k, kl, v, val_of(i, v, sizeof(v)));
	}
	ck_assert_int_eq(kv_delete(kv, "k", 1, &err), -1);
	assert_error_has(err, "delete done on only 2 of 3");
	kv_free(err);
	get_missing(kv, "k", 1);

	char *s = stats(kv);
	ck_assert_int_eq(kvt_stat_str(s, 1, "state", state, sizeof(state)), 0);
	ck_assert_str_eq(state, "failed");
	ck_assert_int_eq(kvt_stat_str(s, 1, "error", why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "open") != NULL, "error of replica 1: %s", why);
	stat_eq(s, 1, "reads", 0);
	stat_eq(s, 1, "puts", 0);
	for (int r = 0; r < 3; r += 2) {
		ck_assert_int_eq(kvt_stat_str(s, r, "state", state, sizeof(state)), 0);
		ck_assert_str_eq(state, "ok");
		stat_eq(s, r, "puts", 31);
	}
	kv_free(s);
	kv_close(kv);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

struct worker {
	kv_t *kv;
	int id;
	int bad; /* values that did not come back */
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char k[32], v[64], *err = NULL;

	for (int i = 0; i < 150; i++) {
		size_t kl = key_of(w->id * 1000 + i, k, sizeof(k));
		size_t vl = val_of(w->id * 1000 + i, v, sizeof(v));
		void *got = NULL;
		size_t len = 0;
		if (kv_put(w->kv, k, kl, v, vl, &err) != 0 ||
		    kv_get(w->kv, k, kl, &got, &len, &err) != 0 || len != vl ||
		    memcmp(got, v, vl) != 0)
			w->bad++;
		kv_free(got);
	}
	kv_free(err);
	return NULL;
}

START_TEST(four_threads_share_one_handle)
{
	for (int p = 0; p < 4; p++) {
		kv_t *kv = open_kv(policies[p], policies[p], NULL);
		struct worker w[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			w[i] = (struct worker){kv, i, 0};
			ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			ck_assert_int_eq(w[i].bad, 0);
		}
		char *s = stats(kv);
		stat_eq(s, -1, "reads", 600);
		long long sum = 0;
		for (int r = 0; r < 3; r++) {
			stat_eq(s, r, "puts", 600);
			sum += kvt_stat(s, r, "reads");
		}
		/* a hedged read may add a second replica read, still running */
		if (strcmp(policies[p], "hedge") == 0) {
			ck_assert_int_ge(sum, 600);
			ck_assert_int_le(sum, 600 + kvt_stat(s, -1, "hedged_reads"));
		} else {
			ck_assert_int_eq(sum, 600);
		}
		kv_free(s);
		kv_close(kv);
	}
}
END_TEST

Suite *
kvclient_suite(void)
{
	Suite *s = suite_create("kvclient");
	TCase *tc;

	tc = tcase_create("values");
	tcase_set_timeout(tc, 120); /* a 64 MiB value, three times, under ASan */
	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, put_then_get_returns_the_value_under_every_policy);
	tcase_add_test(tc, get_of_a_missing_key_returns_1_under_every_policy);
	tcase_add_test(tc, delete_then_get_returns_1_and_deletes_on_every_replica);
	tcase_add_test(tc, values_of_0_bytes_and_of_KV_MAX_VALUE);
	tcase_add_test(tc, binary_keys_with_nul_bytes_are_distinct);
	tcase_add_test(tc, a_put_is_on_all_three_replicas_read_with_rocksdb_alone);
	tcase_add_test(tc, a_reopened_store_keeps_its_values);
	tcase_add_test(tc, four_threads_share_one_handle);
	suite_add_tcase(s, tc);

	tc = tcase_create("routing");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, fnv1a_reference_values);
	tcase_add_test(tc, primary_policy_reads_the_fnv1a_replica);
	tcase_add_test(tc, random_policy_reads_every_replica);
	tcase_add_test(tc, predict_always_fast_reads_the_primary);
	tcase_add_test(tc, predict_always_slow_reads_the_primary_and_never_probes);
	tcase_add_test(tc, predict_with_the_default_model_reports_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon_predictor");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, predict_asks_about_all_replicas_at_once_and_takes_the_first_fast);
	tcase_add_test(tc, a_replica_passed_over_8_times_is_probed);
	tcase_add_test(tc, reads_go_on_when_the_daemon_is_gone);
	tcase_add_test(tc, a_daemon_that_stops_answering_delays_a_read_not_blocks_it);
	tcase_add_test(tc, stats_from_another_thread_while_reads_ask_the_daemon);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats_and_log");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, json_checker_tells_json_from_not);
	tcase_add_test(tc, stats_json_is_json_with_the_documented_keys);
	tcase_add_test(tc, read_log_holds_each_replica_reads_and_writes);
	tcase_add_test(tc, read_log_in_a_missing_directory_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_calls");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(tc, a_null_handle_is_an_error_for_every_call);
	tcase_add_test(tc, bad_keys_are_refused_by_put_get_and_delete);
	tcase_add_test(tc, bad_values_and_result_pointers_are_refused);
	tcase_add_test(tc, use_after_close_is_an_error);
	tcase_add_test(tc, an_earlier_error_message_is_replaced);
	tcase_add_test(tc, kv_open_refuses_bad_options);
	tcase_add_test(tc, kv_open_refuses_a_model_it_cannot_use);
	tcase_add_test(tc, kv_open_fails_when_no_replica_opens);
	tcase_add_test(tc, a_replica_that_does_not_open_is_set_aside);
	suite_add_tcase(s, tc);
	return s;
}
