/* kv_options: plain storage; kv_open judges the values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"

kv_options_t *
kv_options_create(void)
{
	kv_options_t *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	snprintf(o->policy, sizeof(o->policy), "predict");
	o->create_if_missing = 1;
	return o;
}

/* A path too long for the buffer is kept as a marker kv_open refuses,
 * never silently cut. */
static void
set_string(char *dst, size_t cap, const char *src)
{
	if (src == NULL)
		dst[0] = '\0';
	else if (strlen(src) >= cap)
		snprintf(dst, cap, "%s", "\001too long");
	else
		snprintf(dst, cap, "%s", src);
}

void
kv_options_set_replica_path(kv_options_t *o, int replica, const char *path)
{
	if (o == NULL || replica < 0 || replica >= KV_REPLICAS)
		return;
	set_string(o->path[replica], sizeof(o->path[replica]), path);
}

void
kv_options_set_policy(kv_options_t *o, const char *policy)
{
	if (o != NULL)
		set_string(o->policy, sizeof(o->policy), policy);
}

void
kv_options_set_model_file(kv_options_t *o, const char *path)
{
	if (o != NULL)
		set_string(o->model, sizeof(o->model), path);
}

void
kv_options_set_daemon_socket(kv_options_t *o, const char *path)
{
	if (o != NULL)
		set_string(o->daemon, sizeof(o->daemon), path);
}

void
kv_options_set_read_log(kv_options_t *o, const char *prefix)
{
	if (o != NULL)
		set_string(o->log_prefix, sizeof(o->log_prefix), prefix);
}

void
kv_options_set_sync(kv_options_t *o, int sync)
{
	if (o != NULL)
		o->sync = sync != 0;
}

void
kv_options_set_create_if_missing(kv_options_t *o, int create)
{
	if (o != NULL)
		o->create_if_missing = create != 0;
}

void
kv_options_destroy(kv_options_t *o)
{
	free(o);
}
