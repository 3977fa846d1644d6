/* libFuzzer target of the frame codec (tests/fuzz/run.sh builds and runs
 * it). Input: one byte choosing the chunk size (1..256) and the model
 * width, then a byte stream. The stream goes to the request parser and to
 * the reply parser, whole and in chunks, each window copied to a buffer of
 * its exact size so that any read past it is caught by ASan. Checked:
 * consumed never exceeds the input, a frame lies inside it, faults carry
 * codes 1..9 with the right close flag, chunking does not change what is
 * parsed, and valid frames re-encode to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

#define MAX_EVENTS 4096

/* What one parse call produced, for comparing whole and chunked runs. */
struct event {
	int status;
	uint8_t opcode;
	uint16_t code;
	uint32_t request_id;
};

typedef int (*parse_fn)(const uint8_t *, size_t, struct proto_frame *, size_t *,
			struct proto_fault *);

static void
check_request_frame(const struct proto_frame *f, uint16_t model_n)
{
	static uint8_t again[PROTO_MAX_FRAME];
	static int32_t rows[PROTO_MAX_COUNT * 16];
	struct proto_predict_request req;
	struct proto_fault fault;

	CHECK(f->header.opcode >= PROTO_OP_PREDICT && f->header.opcode <= PROTO_OP_RELOAD);
	if (f->header.opcode != PROTO_OP_PREDICT) {
		CHECK(f->header.body_len == 0);
		return;
	}
	if (proto_predict_validate(f, model_n, &req, &fault) < 0) {
		CHECK(fault.code == PROTO_E_BAD_SHAPE && !fault.close);
		CHECK(strlen(fault.message) < sizeof(fault.message));
		return;
	}
	CHECK(model_n > 0 && req.n_features == model_n);
	CHECK(req.count >= 1 && req.count <= PROTO_MAX_COUNT);
	CHECK(f->header.body_len == 4 + (uint32_t)req.count * req.n_features * 4);
	if ((size_t)req.count * req.n_features > sizeof(rows) / sizeof(rows[0]))
		return;
	for (uint16_t i = 0; i < req.count; i++)
		proto_predict_row(&req, i, rows + (size_t)i * req.n_features);
	if (f->header.flags == 0) {
		int n = proto_encode_predict(again, sizeof(again), f->header.request_id, rows,
					     req.count, req.n_features);

		CHECK(n == (int)(PROTO_HEADER_LEN + f->header.body_len));
		CHECK(memcmp(again + PROTO_HEADER_LEN, f->body, f->header.body_len) == 0);
	}
}

static void
check_reply_frame(const struct proto_frame *f)
{
	static uint8_t again[PROTO_MAX_FRAME], d[PROTO_MAX_COUNT], s[PROTO_MAX_COUNT];
	struct proto_predict_reply r;
	const char *text;
	uint16_t code;
	size_t len;
	int n;

	switch (f->header.opcode) {
	case PROTO_OP_PREDICT_REPLY:
		CHECK(proto_decode_predict_reply(f, &r) == 0);
		CHECK(r.count >= 1 && r.count <= PROTO_MAX_COUNT);
		CHECK(r.pairs + 2u * r.count == f->body + f->header.body_len);
		for (uint16_t i = 0; i < r.count; i++)
			proto_predict_reply_get(&r, i, &d[i], &s[i]);
		n = proto_encode_predict_reply(again, sizeof(again), f->header.request_id,
					       r.generation, d, s, r.count);
		CHECK(n == (int)(PROTO_HEADER_LEN + f->header.body_len));
		CHECK(memcmp(again + PROTO_HEADER_LEN + 4, f->body + 4, f->header.body_len - 4) == 0);
		break;
	case PROTO_OP_PING_REPLY:
		CHECK(f->header.body_len == 0);
		break;
	case PROTO_OP_INFO_REPLY:
	case PROTO_OP_STATS_REPLY:
	case PROTO_OP_RELOAD_REPLY:
		CHECK(proto_decode_json_reply(f, &text, &len) == 0);
		CHECK(len == f->header.body_len);
		break;
	case PROTO_OP_ERROR:
		CHECK(proto_decode_error(f, &code, &text, &len) == 0);
		CHECK(code != 0 && (const uint8_t *)text + len == f->body + f->header.body_len);
		break;
	default:
		CHECK(!"reply parser returned a frame of an unknown opcode");
	}
}

/* Parses stream as it arrives chunk bytes at a time (chunk 0: all at
 * once); returns the number of events written to ev. */
static size_t
run(parse_fn parse, int replies, const uint8_t *stream, size_t n, size_t chunk,
    uint16_t model_n, struct event *ev)
{
	size_t at = 0, received = 0, count = 0;

	while (received < n) {
		received = chunk == 0 || n - received < chunk ? n : received + chunk;
		for (;;) {
			size_t len = received - at, used = 0;
			uint8_t *win = malloc(len ? len : 1);
			struct proto_frame f;
			struct proto_fault fault;
			int r;

			CHECK(win != NULL);
			memcpy(win, stream + at, len);
			r = parse(win, len, &f, &used, &fault);
			CHECK(used <= len);
			if (r == PROTO_PARSE_NEED_MORE) {
				CHECK(used == 0);
				free(win);
				break;
			}
			CHECK(count < MAX_EVENTS);
			ev[count] = (struct event){ .status = r };
			if (r == PROTO_PARSE_FRAME) {
				CHECK(f.header.magic == PROTO_MAGIC && f.header.version == 1);
				CHECK(f.header.body_len <= PROTO_MAX_BODY);
				CHECK(used == PROTO_HEADER_LEN + f.header.body_len);
				CHECK(f.header.body_len == 0 ? f.body == NULL
							     : f.body == win + PROTO_HEADER_LEN);
				ev[count].opcode = f.header.opcode;
				ev[count].request_id = f.header.request_id;
				if (replies)
					check_reply_frame(&f);
				else
					check_request_frame(&f, model_n);
			} else {
				CHECK(r == PROTO_PARSE_ERROR);
				CHECK(fault.code >= 1 && fault.code <= 9);
				CHECK(fault.close == proto_error_closes(fault.code));
				CHECK(strlen(fault.message) < sizeof(fault.message));
				CHECK(fault.close || used >= PROTO_HEADER_LEN);
				ev[count].code = fault.code;
				ev[count].request_id = fault.request_id;
			}
			free(win);
			count++;
			at += used;
			if (r == PROTO_PARSE_ERROR && fault.close)
				return count;
		}
	}
	return count;
}

static void
same_events(const struct event *a, size_t na, const struct event *b, size_t nb)
{
	CHECK(na == nb);
	for (size_t i = 0; i < na; i++) {
		CHECK(a[i].status == b[i].status && a[i].code == b[i].code);
		CHECK(a[i].opcode == b[i].opcode);
		/* Bad magic and version report id 0 whenever they are seen. */
		CHECK(a[i].request_id == b[i].request_id);
	}
}

static void
check_error_encoder(const uint8_t *s, size_t n)
{
	static uint8_t out[PROTO_MAX_FRAME];
	char message[512];
	size_t m = n < sizeof(message) - 1 ? n : sizeof(message) - 1;
	size_t cap = PROTO_HEADER_LEN + 4 + (n ? s[0] : 0);
	int w;

	memcpy(message, s, m);
	message[m] = '\0';
	w = proto_encode_error(out, cap, 1, PROTO_E_INTERNAL, message);
	CHECK(w >= PROTO_HEADER_LEN + 4 && (size_t)w <= cap);
	CHECK((size_t)w - PROTO_HEADER_LEN - 4 <= strlen(message));
	if (proto_utf8_valid((const uint8_t *)message, strlen(message)))
		CHECK(proto_utf8_valid(out + PROTO_HEADER_LEN + 4,
				       (size_t)w - PROTO_HEADER_LEN - 4));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event whole[MAX_EVENTS], split[MAX_EVENTS];
	size_t chunk, nw, ns;
	uint16_t model_n;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	model_n = (uint16_t)(data[0] % 17); /* 0: no request validates */
	data++;
	size--;
	nw = run(proto_parse_request, 0, data, size, 0, model_n, whole);
	ns = run(proto_parse_request, 0, data, size, chunk, model_n, split);
	same_events(whole, nw, split, ns);
	nw = run(proto_parse_reply, 1, data, size, 0, 0, whole);
	ns = run(proto_parse_reply, 1, data, size, chunk, 0, split);
	same_events(whole, nw, split, ns);
	check_error_encoder(data, size);
	return 0;
}
