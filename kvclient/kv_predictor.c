/* The predictor behind the "predict" policy: the int8 engine in process
 * on a model file, or iolatd over protocol v1. One PREDICT frame carries
 * the vectors of every replica a read asks about. Reads of several
 * threads share one connection, pipelined: the thread that finds it free
 * becomes the leader, takes every request queued so far, writes them all
 * at once and reads their replies in order; requests that arrive
 * meanwhile wait for the next leader, and go together. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "kv_internal.h"
#include "model.h"
#include "model_file.h"

#define RECONNECT_NS 1000000000u /* at most one reconnect a second */
#define ANSWER_MS 100 /* a daemon slower than this is treated as down:
		       * the read must not wait on it */

/* One read's question, waiting for a leader to carry it. */
struct waiter {
	const int32_t (*features)[FEAT_N];
	int n;
	uint8_t *slow;
	int done, rc;
	struct waiter *next;
};

struct kv_predictor {
	struct model *model;        /* in process */
	char path[KV_PATH_MAX];
	/* through iolatd */
	pthread_mutex_t lock;       /* the connection: held by the leader */
	struct proto_client *client; /* NULL while down */
	uint64_t last_connect_ns;
	uint32_t generation;
	uint64_t batches, pipelined; /* leader turns; requests sent behind another */
	char last_error[256];
	pthread_mutex_t queue_lock; /* the queue and busy */
	pthread_cond_t queue_done;
	struct waiter *queue, **queue_tail;
	int busy;                   /* a leader is on the connection */
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
	pthread_mutex_init(&p->queue_lock, NULL);
	pthread_cond_init(&p->queue_done, NULL);
	p->queue_tail = &p->queue;
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

/* Called with p->lock held: the connection, reconnected at most once a
 * second while the daemon is down. */
static struct proto_client *
connection(struct kv_predictor *p)
{
	char e[PROTO_ERRLEN];

	if (p->client == NULL && kv_now_ns() - p->last_connect_ns >= RECONNECT_NS) {
		p->last_connect_ns = kv_now_ns();
		p->client = proto_client_connect(p->path, e);
		if (p->client == NULL)
			snprintf(p->last_error, sizeof(p->last_error), "%s", e);
		else
			proto_client_set_timeout(p->client, ANSWER_MS);
	}
	return p->client;
}

/* The leader's turn: every request of batch written, then every reply
 * read, in order. A failure fails the requests not yet answered and
 * drops the connection (the stream may be out of step). */
static void
run_batch(struct kv_predictor *p, struct waiter *batch)
{
	struct proto_client *c;
	struct proto_reply reply;
	struct waiter *w;
	int broken = 0;

	pthread_mutex_lock(&p->lock);
	c = connection(p);
	p->batches++;
	for (w = batch; w && c && !broken; w = w->next) {
		broken = proto_client_send_predict(c, NULL, &w->features[0][0], (uint16_t)w->n,
						   FEAT_N) != 0;
		p->pipelined += w != batch;
	}
	if (broken)
		snprintf(p->last_error, sizeof(p->last_error), "%s", proto_client_error(c));
	for (w = batch; w; w = w->next) {
		w->rc = -1;
		if (c == NULL || broken)
			continue;
		if (proto_client_recv(c, &reply) != 0) {
			snprintf(p->last_error, sizeof(p->last_error), "%s", proto_client_error(c));
			broken = 1;
		} else if (reply.count != w->n) {
			snprintf(p->last_error, sizeof(p->last_error),
				 "iolatd answered %u rows to %d", (unsigned)reply.count, w->n);
			broken = 1;
		} else {
			memcpy(w->slow, reply.decisions, (size_t)w->n);
			p->generation = reply.generation;
			w->rc = 0;
		}
	}
	if (c != NULL && broken) {
		proto_client_close(c);
		p->client = NULL;
	}
	pthread_mutex_unlock(&p->lock);
}

static int
decide_daemon(struct kv_predictor *p, const int32_t (*features)[FEAT_N], int n,
	      uint8_t *slow)
{
	struct waiter me = {features, n, slow, 0, -1, NULL};

	pthread_mutex_lock(&p->queue_lock);
	*p->queue_tail = &me;
	p->queue_tail = &me.next;
	while (!me.done) {
		if (p->busy) {
			pthread_cond_wait(&p->queue_done, &p->queue_lock);
			continue;
		}
		struct waiter *batch = p->queue;
		p->queue = NULL;
		p->queue_tail = &p->queue;
		p->busy = 1;
		pthread_mutex_unlock(&p->queue_lock);
		run_batch(p, batch);
		pthread_mutex_lock(&p->queue_lock);
		for (struct waiter *w = batch, *next; w; w = next) {
			next = w->next; /* w may be gone once done is seen */
			w->done = 1;
		}
		p->busy = 0;
		pthread_cond_broadcast(&p->queue_done);
	}
	pthread_mutex_unlock(&p->queue_lock);
	return me.rc == 0 ? 0 : -1;
}

int
kv_predictor_decide(struct kv_predictor *p, const int32_t (*features)[FEAT_N], int n,
		    uint8_t *slow)
{
	if (p->model == NULL)
		return decide_daemon(p, features, n, slow) == 0 ? n : -1;
	/* In process, rows after the first fast one would go unused: each
	 * costs ~30 ns, a third of what a read adds. */
	for (int i = 0; i < n; i++) {
		int8_t scratch[QM_SCRATCH_BYTES];
		struct qm_result r;
		qm_predict(&p->model->qm, features[i], FEAT_N, scratch, &r);
		slow[i] = (uint8_t)r.decision;
		if (!slow[i])
			return i + 1;
	}
	return n;
}

void
kv_predictor_state(struct kv_predictor *p, struct kv_predictor_state *st)
{
	st->in_process = p->model != NULL;
	st->path = p->path;
	st->connected = 0;
	st->generation = 0;
	st->round_trips = st->pipelined = 0;
	if (p->model)
		return;
	/* a read on another thread may be changing these: wait for it (at
	 * most one answer's timeout) */
	pthread_mutex_lock(&p->lock);
	st->connected = p->client != NULL;
	st->generation = p->generation;
	st->round_trips = p->batches;
	st->pipelined = p->pipelined;
	pthread_mutex_unlock(&p->lock);
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
	pthread_mutex_destroy(&p->queue_lock);
	pthread_cond_destroy(&p->queue_done);
	free(p);
}
