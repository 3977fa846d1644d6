/* Three replicas under DIR: one put, one get, the counters.
 * usage: kvclient_example DIR [MODEL]
 * MODEL is an int8 model file (default: the installed default model). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <kvclient.h>

int
main(int argc, char **argv)
{
	char path[3][4096], *err = NULL, *stats;
	kv_options_t *opt;
	kv_t *kv;
	void *val;
	size_t vlen;
	int status = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s DIR [MODEL]\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* In production, each replica on its own device. */
	opt = kv_options_create();
	for (int r = 0; r < 3; r++) {
		snprintf(path[r], sizeof(path[r]), "%s/replica%d", argv[1], r);
		kv_options_set_replica_path(opt, r, path[r]);
	}
	kv_options_set_policy(opt, "predict");
	if (argc == 3)
		kv_options_set_model_file(opt, argv[2]);
	kv = kv_open(opt, &err);
	kv_options_destroy(opt);
	if (kv == NULL) {
		fprintf(stderr, "kv_open: %s\n", err);
		kv_free(err);
		return 1;
	}

	if (kv_put(kv, "hello", 5, "world", 5, &err) != 0) {
		/* err names each replica that failed */
		fprintf(stderr, "kv_put: %s\n", err);
		kv_free(err);
		err = NULL;
		status = 1;
	}
	switch (kv_get(kv, "hello", 5, &val, &vlen, &err)) {
	case 0:
		printf("hello = %.*s\n", (int)vlen, (char *)val);
		kv_free(val);
		break;
	case 1:
		printf("hello: not found\n");
		break;
	default:
		fprintf(stderr, "kv_get: %s\n", err);
		kv_free(err);
		status = 1;
	}

	stats = kv_stats_json(kv);
	if (stats != NULL) {
		printf("%s\n", stats);
		kv_free(stats);
	}
	kv_close(kv);
	return status;
}
