/* Request handling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "textbuf.h"

/* Room for the largest frame, so an encoder never runs out. */
static int
reserve(struct outbuf *b, size_t need)
{
	if (b->cap - b->len >= need)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < need)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

void
outbuf_free(struct outbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int
append_error(struct handler *h, struct outbuf *out, uint32_t id, uint16_t code,
	     const char *message)
{
	int n;

	if (reserve(out, PROTO_HEADER_LEN + 4 + PROTO_FAULT_LEN + 256) != 0)
		return -1;
	n = proto_encode_error(out->data + out->len, out->cap - out->len, id, code, message);
	if (n < 0)
		return -1;
	out->len += (size_t)n;
	if (code < STATS_ERROR_CODES)
		h->stats->errors[code]++;
	return 0;
}

int
handler_fault(struct handler *h, const struct proto_fault *fault, struct outbuf *out)
{
	return append_error(h, out, fault->request_id, fault->code, fault->message);
}

static int
append_json(struct outbuf *out, uint8_t opcode, uint32_t id, const char *json, size_t len)
{
	int n;

	if (reserve(out, PROTO_HEADER_LEN + len) != 0)
		return -1;
	n = proto_encode_json_reply(out->data + out->len, out->cap - out->len, opcode, id,
				    json, len);
	if (n < 0)
		return -1;
	out->len += (size_t)n;
	return 0;
}

static int
info(struct handler *h, uint32_t id, struct outbuf *out)
{
	const struct model *m = h->predictor->model;
	char json[16384];
	struct textbuf t = {json, sizeof(json), 0, 0};

	textbuf_put(&t, "{\"version\": \"%s\", \"model_generation\": %u, \"file\": ",
		    h->version, h->predictor->generation);
	textbuf_put_json_string(&t, h->predictor->path);
	textbuf_put(&t, ", \"kind\": \"int8\", \"n_features\": %u, \"feature_names\": [",
		    m->n_features);
	for (uint32_t j = 0; j < m->n_features; j++) {
		if (j > 0)
			textbuf_put(&t, ", ");
		textbuf_put_json_string(&t, m->feature_names[j]);
	}
	textbuf_put(&t, "], \"calibration_mode\": ");
	textbuf_put_json_string(&t, m->calibration_mode);
	textbuf_put(&t, "}");
	if (t.full)
		return append_error(h, out, id, PROTO_E_INTERNAL, "INFO does not fit");
	return append_json(out, PROTO_OP_INFO_REPLY, id, json, t.len);
}

static int
stats(struct handler *h, uint32_t id, struct outbuf *out)
{
	char json[8192];
	int n = stats_json(h->stats, h->predictor->generation, json, sizeof(json));

	if (n < 0)
		return append_error(h, out, id, PROTO_E_INTERNAL, "STATS does not fit");
	return append_json(out, PROTO_OP_STATS_REPLY, id, json, (size_t)n);
}

static int
reload(struct handler *h, uint32_t id, long peer_uid, struct outbuf *out)
{
	char err[512], json[64];

	if (peer_uid != 0 && (peer_uid < 0 || peer_uid != h->own_uid))
		return append_error(h, out, id, PROTO_E_PERMISSION,
				    "RELOAD is for root and the daemon's own user");
	if (h->reload(h->reload_ctx, err, sizeof(err)) != 0)
		return append_error(h, out, id, PROTO_E_RELOAD_FAILED, err);
	int n = snprintf(json, sizeof(json), "{\"model_generation\": %u}",
			 h->predictor->generation);
	return append_json(out, PROTO_OP_RELOAD_REPLY, id, json, (size_t)n);
}

static int
predict(struct handler *h, const struct proto_frame *frame, struct outbuf *out)
{
	struct proto_predict_request req;
	struct proto_fault fault;
	int32_t *x = h->rows;
	uint8_t decisions[PROTO_MAX_COUNT], scores[PROTO_MAX_COUNT];
	uint32_t slow, n = h->predictor->model->n_features;
	int len;

	if (proto_predict_validate(frame, (uint16_t)n, &req, &fault) != 0)
		return handler_fault(h, &fault, out);
	for (uint16_t i = 0; i < req.count; i++)
		proto_predict_row(&req, i, x + (size_t)i * n);
	if (predictor_predict(h->predictor, x, req.count, n, decisions, scores, &slow) != 0)
		return append_error(h, out, frame->header.request_id, PROTO_E_INTERNAL,
				    "prediction failed");
	if (reserve(out, PROTO_HEADER_LEN + 8 + 2 * (size_t)req.count) != 0)
		return -1;
	len = proto_encode_predict_reply(out->data + out->len, out->cap - out->len,
					 frame->header.request_id, h->predictor->generation,
					 decisions, scores, req.count);
	if (len < 0)
		return -1;
	out->len += (size_t)len;
	h->stats->predictions += req.count;
	h->stats->slow_predictions += slow;
	return 0;
}

int
handler_frame(struct handler *h, const struct proto_frame *frame, long peer_uid,
	      struct outbuf *out)
{
	uint32_t id = frame->header.request_id;

	h->stats->frames++;
	switch (frame->header.opcode) {
	case PROTO_OP_PREDICT:
		return predict(h, frame, out);
	case PROTO_OP_PING:
		if (reserve(out, PROTO_HEADER_LEN) != 0)
			return -1;
		out->len += (size_t)proto_encode_ping_reply(out->data + out->len,
							    out->cap - out->len, id);
		return 0;
	case PROTO_OP_INFO:
		return info(h, id, out);
	case PROTO_OP_STATS:
		return stats(h, id, out);
	case PROTO_OP_RELOAD:
		return reload(h, id, peer_uid, out);
	}
	/* The parser refuses unknown opcodes; this is a safety net. */
	return append_error(h, out, id, PROTO_E_UNKNOWN_OPCODE, "unknown opcode");
}
