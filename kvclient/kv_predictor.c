/* The predictor behind the "predict" policy: the int8 engine in process
 * on a model file, or iolatd over protocol v1 (one PREDICT frame carries
 * the vectors of every replica asked about, one round trip per read). */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "kv_internal.h"
#include "model.h"
#include "model_file.h"

#define RECONNECT_NS 1000000000u /* at most one reconnect a second */
#define ANSWER_MS 100 /* a daemon slower than this is treated as down:
		       * the read must not wait on it */

struct kv_predictor {
	struct model *model;        /* in process */
	char path[KV_PATH_MAX];
	struct proto_client *client; /* through iolatd; NULL while down */
	pthread_mutex_t lock;       /* one request at a time on the socket */
	uint64_t last_connect_ns;
	uint32_t generation;
	char last_error[256];
};

struct kv_predictor *
kv_predictor_open(const char *model, const char *daemon, char **err)
{
	struct kv_predictor *p = calloc(1, sizeof(*p));
	char e[PROTO_ERRLEN > 512 ? PROTO_ERRLEN : 512];

	if (p == NULL) {
		kv_set_error(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	if (daemon != NULL && daemon[0]) {
		snprintf(p->path, sizeof(p->path), "%s", daemon);
		p->client = proto_client_connect(daemon, e);
		if (p->client == NULL) {
			kv_set_error(err, "predictor: iolatd at %s: %s", daemon, e);
			goto fail;
		}
		proto_client_set_timeout(p->client, ANSWER_MS);
		p->last_connect_ns = kv_now_ns();
		return p;
	}
	snprintf(p->path, sizeof(p->path), "%s", model);
	p->model = mf_load(model, e, sizeof(e));
	if (p->model == NULL) {
		kv_set_error(err, "predictor: %s", e);
		goto fail;
	}
	if (p->model->kind != MODEL_INT8) {
		kv_set_error(err, "predictor: %s is a float32 model: calibrate it "
			     "(iolatd calibrate) into an int8 one", model);
		goto fail;
	}
	if (p->model->n_features != FEAT_N) {
		kv_set_error(err, "predictor: %s takes %u features, the client computes %d",
			     model, (unsigned)p->model->n_features, FEAT_N);
		goto fail;
	}
	return p;
fail:
	kv_predictor_close(p);
	return NULL;
}

static int
decide_daemon(struct kv_predictor *p, const int32_t (*features)[FEAT_N], int n,
	      uint8_t *slow)
{
	uint8_t scores[KV_REPLICAS];
	char e[PROTO_ERRLEN];
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if (p->client == NULL && kv_now_ns() - p->last_connect_ns >= RECONNECT_NS) {
		p->last_connect_ns = kv_now_ns();
		p->client = proto_client_connect(p->path, e);
		if (p->client == NULL)
			snprintf(p->last_error, sizeof(p->last_error), "%s", e);
		else
			proto_client_set_timeout(p->client, ANSWER_MS);
	}
	if (p->client != NULL) {
		rc = proto_client_predict(p->client, &features[0][0], (uint16_t)n, FEAT_N, slow,
					  scores, &p->generation);
		if (rc != 0) {
			snprintf(p->last_error, sizeof(p->last_error), "%s",
				 proto_client_error(p->client));
			/* the stream may be out of step: start a fresh one */
			proto_client_close(p->client);
			p->client = NULL;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc == 0 ? 0 : -1;
}

int
kv_predictor_decide(struct kv_predictor *p, const int32_t (*features)[FEAT_N], int n,
		    uint8_t *slow)
{
	if (p->model == NULL)
		return decide_daemon(p, features, n, slow);
	for (int i = 0; i < n; i++) {
		int8_t scratch[QM_SCRATCH_BYTES];
		struct qm_result r;
		qm_predict(&p->model->qm, features[i], FEAT_N, scratch, &r);
		slow[i] = (uint8_t)r.decision;
	}
	return 0;
}

char *
kv_predictor_json(struct kv_predictor *p)
{
	char buf[KV_PATH_MAX + 512];
	size_t n = 0;

	/* paths are the caller's; escape the two characters JSON needs */
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"kind\": \"%s\", \"%s\": \"",
			      p->model ? "in-process" : "iolatd",
			      p->model ? "model" : "socket");
	for (const char *c = p->path; *c && n < sizeof(buf) - 128; c++) {
		if (*c == '"' || *c == '\\')
			buf[n++] = '\\';
		if ((unsigned char)*c >= 0x20)
			buf[n++] = *c;
	}
	if (p->model) {
		snprintf(buf + n, sizeof(buf) - n, "\"}");
	} else {
		/* a read on another thread may be changing both: wait for it
		 * (at most one answer's timeout) */
		pthread_mutex_lock(&p->lock);
		int connected = p->client != NULL;
		uint32_t generation = p->generation;
		pthread_mutex_unlock(&p->lock);
		snprintf(buf + n, sizeof(buf) - n, "\", \"connected\": %s, \"model_generation\": %u}",
			 connected ? "true" : "false", generation);
	}
	return strdup(buf);
}

void
kv_predictor_close(struct kv_predictor *p)
{
	if (p == NULL)
		return;
	if (p->model)
		model_free(p->model);
	if (p->client)
		proto_client_close(p->client);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
