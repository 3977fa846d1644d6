/* Wire protocol v1: the frame codec (see proto.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

static const uint8_t magic_bytes[4] = { 0x49, 0x4F, 0x4C, 0x31 }; /* "IOL1" */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Two's complement without relying on implementation-defined conversion. */
static int32_t
i32_of(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

const char *
proto_error_name(unsigned code)
{
	static const char *const names[] = {
		[PROTO_E_BAD_MAGIC] = "bad magic",
		[PROTO_E_BAD_VERSION] = "bad version",
		[PROTO_E_UNKNOWN_OPCODE] = "unknown opcode",
		[PROTO_E_TOO_LARGE] = "frame too large",
		[PROTO_E_BAD_SHAPE] = "bad shape",
		[PROTO_E_PERMISSION] = "permission denied",
		[PROTO_E_RELOAD_FAILED] = "reload failed",
		[PROTO_E_OVERLOADED] = "overloaded",
		[PROTO_E_INTERNAL] = "internal error",
	};

	if (code == 0 || code >= sizeof(names) / sizeof(names[0]))
		return "unknown error";
	return names[code];
}

int
proto_error_closes(unsigned code)
{
	return code == PROTO_E_BAD_MAGIC || code == PROTO_E_BAD_VERSION ||
	       code == PROTO_E_TOO_LARGE;
}

void
proto_header_encode(const struct proto_header *h, uint8_t out[PROTO_HEADER_LEN])
{
	put32(out, h->magic);
	out[4] = h->version;
	out[5] = h->opcode;
	put16(out + 6, h->flags);
	put32(out + 8, h->request_id);
	put32(out + 12, h->body_len);
}

void
proto_header_decode(const uint8_t in[PROTO_HEADER_LEN], struct proto_header *h)
{
	h->magic = get32(in);
	h->version = in[4];
	h->opcode = in[5];
	h->flags = get16(in + 6);
	h->request_id = get32(in + 8);
	h->body_len = get32(in + 12);
}

/* --- parsing --- */

static int
fault_set(struct proto_fault *f, unsigned code, uint32_t request_id, const char *fmt, ...)
{
	va_list ap;

	f->code = (uint16_t)code;
	f->close = (uint8_t)proto_error_closes(code);
	f->request_id = request_id;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* Magic and version are checked on whatever prefix has arrived, so a peer
 * speaking another protocol is refused without waiting for 16 bytes. */
static int
check_prefix(const uint8_t *buf, size_t len, struct proto_fault *fault)
{
	for (size_t i = 0; i < len && i < 4; i++)
		if (buf[i] != magic_bytes[i])
			return fault_set(fault, PROTO_E_BAD_MAGIC, 0,
					 "bad magic, expected \"IOL1\" (49 4F 4C 31)");
	if (len > 4 && buf[4] != PROTO_VERSION)
		return fault_set(fault, PROTO_E_BAD_VERSION, 0, "version %u, expected %u",
				 buf[4], PROTO_VERSION);
	return 0;
}

static const char *
request_name(uint8_t opcode)
{
	switch (opcode) {
	case PROTO_OP_PREDICT: return "PREDICT";
	case PROTO_OP_PING: return "PING";
	case PROTO_OP_INFO: return "INFO";
	case PROTO_OP_STATS: return "STATS";
	case PROTO_OP_RELOAD: return "RELOAD";
	default: return NULL;
	}
}

static int
check_request(const struct proto_frame *frame, struct proto_fault *fault)
{
	const struct proto_header *h = &frame->header;
	const char *name = request_name(h->opcode);

	if (name == NULL)
		return fault_set(fault, PROTO_E_UNKNOWN_OPCODE, h->request_id,
				 "unknown opcode 0x%02X", h->opcode);
	if (h->opcode != PROTO_OP_PREDICT && h->body_len != 0)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "%s takes an empty body, got %u bytes", name,
				 (unsigned)h->body_len);
	return 0;
}

static int
check_predict_reply(const struct proto_frame *frame, struct proto_fault *fault)
{
	const struct proto_header *h = &frame->header;
	uint16_t count;

	if (h->body_len < 8)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "PREDICT reply body is %u bytes, expected at least 8",
				 (unsigned)h->body_len);
	count = get16(frame->body);
	if (count == 0 || count > PROTO_MAX_COUNT)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "PREDICT reply count %u, expected 1..%u", count,
				 PROTO_MAX_COUNT);
	if (h->body_len != 8 + 2u * count)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "PREDICT reply body is %u bytes, expected 8 + %u*2 = %u",
				 (unsigned)h->body_len, count, 8 + 2u * count);
	for (uint16_t i = 0; i < count; i++)
		if (frame->body[8 + 2u * i] > 1)
			return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
					 "PREDICT reply decision %u is %u, expected 0 or 1",
					 i, frame->body[8 + 2u * i]);
	return 0;
}

static int
check_error_reply(const struct proto_frame *frame, struct proto_fault *fault)
{
	const struct proto_header *h = &frame->header;

	if (h->body_len < 4)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "error reply body is %u bytes, expected at least 4",
				 (unsigned)h->body_len);
	if (get16(frame->body) == 0)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "error reply with code 0");
	if (h->body_len != 4u + get16(frame->body + 2))
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "error reply body is %u bytes, expected 4 + %u",
				 (unsigned)h->body_len, get16(frame->body + 2));
	return 0;
}

static int
check_reply(const struct proto_frame *frame, struct proto_fault *fault)
{
	const struct proto_header *h = &frame->header;

	switch (h->opcode) {
	case PROTO_OP_PREDICT_REPLY:
		return check_predict_reply(frame, fault);
	case PROTO_OP_PING_REPLY:
		if (h->body_len != 0)
			return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
					 "PING reply body is %u bytes, expected 0",
					 (unsigned)h->body_len);
		return 0;
	case PROTO_OP_INFO_REPLY:
	case PROTO_OP_STATS_REPLY:
	case PROTO_OP_RELOAD_REPLY:
		if (!proto_utf8_valid(frame->body, h->body_len))
			return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
					 "reply 0x%02X body is not UTF-8", h->opcode);
		return 0;
	case PROTO_OP_ERROR:
		return check_error_reply(frame, fault);
	default:
		return fault_set(fault, PROTO_E_UNKNOWN_OPCODE, h->request_id,
				 "unknown reply opcode 0x%02X", h->opcode);
	}
}

static int
parse_frame(const uint8_t *buf, size_t len, int (*check)(const struct proto_frame *,
							  struct proto_fault *),
	    struct proto_frame *frame, size_t *consumed, struct proto_fault *fault)
{
	struct proto_header *h = &frame->header;

	*consumed = 0;
	if (check_prefix(buf, len, fault) < 0) {
		*consumed = len;
		return PROTO_PARSE_ERROR;
	}
	if (len < PROTO_HEADER_LEN)
		return PROTO_PARSE_NEED_MORE;
	proto_header_decode(buf, h);
	if (h->body_len > PROTO_MAX_BODY) {
		fault_set(fault, PROTO_E_TOO_LARGE, h->request_id,
			  "body_len %u exceeds the limit of %u", (unsigned)h->body_len,
			  PROTO_MAX_BODY);
		*consumed = len;
		return PROTO_PARSE_ERROR;
	}
	if (len - PROTO_HEADER_LEN < h->body_len)
		return PROTO_PARSE_NEED_MORE;
	frame->body = h->body_len ? buf + PROTO_HEADER_LEN : NULL;
	*consumed = PROTO_HEADER_LEN + (size_t)h->body_len;
	return check(frame, fault) < 0 ? PROTO_PARSE_ERROR : PROTO_PARSE_FRAME;
}

int
proto_parse_request(const uint8_t *buf, size_t len, struct proto_frame *frame,
		    size_t *consumed, struct proto_fault *fault)
{
	return parse_frame(buf, len, check_request, frame, consumed, fault);
}

int
proto_parse_reply(const uint8_t *buf, size_t len, struct proto_frame *frame,
		  size_t *consumed, struct proto_fault *fault)
{
	return parse_frame(buf, len, check_reply, frame, consumed, fault);
}

int
proto_predict_validate(const struct proto_frame *frame, uint16_t model_n_features,
		       struct proto_predict_request *req, struct proto_fault *fault)
{
	const struct proto_header *h = &frame->header;
	uint32_t expected;
	uint16_t count, n;

	if (h->opcode != PROTO_OP_PREDICT)
		return fault_set(fault, PROTO_E_INTERNAL, h->request_id,
				 "opcode 0x%02X is not PREDICT", h->opcode);
	if (h->body_len < 4)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "body is %u bytes, expected at least 4 (count, n_features)",
				 (unsigned)h->body_len);
	count = get16(frame->body);
	n = get16(frame->body + 2);
	if (count == 0 || count > PROTO_MAX_COUNT)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "count %u, expected 1..%u", count, PROTO_MAX_COUNT);
	if (n == 0 || n != model_n_features)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "n_features %u, the model has %u", n, model_n_features);
	expected = 4 + (uint32_t)count * n * 4;
	if (h->body_len != expected)
		return fault_set(fault, PROTO_E_BAD_SHAPE, h->request_id,
				 "body is %u bytes, expected 4 + %u*%u*4 = %u",
				 (unsigned)h->body_len, count, n, (unsigned)expected);
	req->count = count;
	req->n_features = n;
	req->features = frame->body + 4;
	return 0;
}

void
proto_predict_row(const struct proto_predict_request *req, uint16_t row, int32_t *out)
{
	const uint8_t *p = req->features + (size_t)row * req->n_features * 4;

	for (uint16_t j = 0; j < req->n_features; j++)
		out[j] = i32_of(get32(p + 4u * j));
}

/* --- encoding --- */

/* Checks the body fits and writes the header; returns the frame length. */
static int
frame_begin(uint8_t *out, size_t cap, uint8_t opcode, uint32_t request_id, size_t body_len)
{
	struct proto_header h = {
		.magic = PROTO_MAGIC,
		.version = PROTO_VERSION,
		.opcode = opcode,
		.flags = 0,
		.request_id = request_id,
		.body_len = (uint32_t)body_len,
	};

	if (body_len > PROTO_MAX_BODY)
		return PROTO_ENCODE_INVALID;
	if (cap < PROTO_HEADER_LEN + body_len)
		return PROTO_ENCODE_NO_ROOM;
	proto_header_encode(&h, out);
	return (int)(PROTO_HEADER_LEN + body_len);
}

int
proto_encode_predict(uint8_t *out, size_t cap, uint32_t request_id,
		     const int32_t *features, uint16_t count, uint16_t n_features)
{
	size_t values = (size_t)count * n_features;
	uint8_t *p;
	int n;

	if (count == 0 || count > PROTO_MAX_COUNT || n_features == 0)
		return PROTO_ENCODE_INVALID;
	n = frame_begin(out, cap, PROTO_OP_PREDICT, request_id, 4 + values * 4);
	if (n < 0)
		return n;
	p = out + PROTO_HEADER_LEN;
	put16(p, count);
	put16(p + 2, n_features);
	for (size_t i = 0; i < values; i++)
		put32(p + 4 + 4 * i, (uint32_t)features[i]);
	return n;
}

int
proto_encode_request(uint8_t *out, size_t cap, uint8_t opcode, uint32_t request_id)
{
	if (opcode < PROTO_OP_PING || opcode > PROTO_OP_RELOAD)
		return PROTO_ENCODE_INVALID;
	return frame_begin(out, cap, opcode, request_id, 0);
}

int
proto_encode_predict_reply(uint8_t *out, size_t cap, uint32_t request_id,
			   uint32_t generation, const uint8_t *decisions,
			   const uint8_t *scores, uint16_t count)
{
	uint8_t *p;
	int n;

	if (count == 0 || count > PROTO_MAX_COUNT)
		return PROTO_ENCODE_INVALID;
	for (uint16_t i = 0; i < count; i++)
		if (decisions[i] > 1)
			return PROTO_ENCODE_INVALID;
	n = frame_begin(out, cap, PROTO_OP_PREDICT_REPLY, request_id, 8 + 2u * count);
	if (n < 0)
		return n;
	p = out + PROTO_HEADER_LEN;
	put16(p, count);
	put16(p + 2, 0);
	put32(p + 4, generation);
	for (uint16_t i = 0; i < count; i++) {
		p[8 + 2u * i] = decisions[i];
		p[9 + 2u * i] = scores[i];
	}
	return n;
}

int
proto_encode_ping_reply(uint8_t *out, size_t cap, uint32_t request_id)
{
	return frame_begin(out, cap, PROTO_OP_PING_REPLY, request_id, 0);
}

int
proto_encode_json_reply(uint8_t *out, size_t cap, uint8_t opcode, uint32_t request_id,
			const char *json, size_t len)
{
	int n;

	if (opcode < PROTO_OP_INFO_REPLY || opcode > PROTO_OP_RELOAD_REPLY)
		return PROTO_ENCODE_INVALID;
	n = frame_begin(out, cap, opcode, request_id, len);
	if (n > 0 && len > 0)
		memcpy(out + PROTO_HEADER_LEN, json, len);
	return n;
}

/* The longest prefix of s (of length len) no longer than max bytes that
 * does not end inside a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	while (n > 0 && n < len && ((uint8_t)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int
proto_encode_error(uint8_t *out, size_t cap, uint32_t request_id, uint16_t code,
		   const char *message)
{
	size_t len = message ? strlen(message) : 0;
	size_t room = cap < PROTO_HEADER_LEN + 4 ? 0 : cap - PROTO_HEADER_LEN - 4;
	int n;

	if (code == 0)
		return PROTO_ENCODE_INVALID;
	if (cap < PROTO_HEADER_LEN + 4)
		return PROTO_ENCODE_NO_ROOM;
	if (room > PROTO_MAX_ERROR_MESSAGE)
		room = PROTO_MAX_ERROR_MESSAGE;
	len = utf8_cut(message ? message : "", len, room);
	n = frame_begin(out, cap, PROTO_OP_ERROR, request_id, 4 + len);
	if (n < 0)
		return n;
	put16(out + PROTO_HEADER_LEN, code);
	put16(out + PROTO_HEADER_LEN + 2, (uint16_t)len);
	if (len > 0)
		memcpy(out + PROTO_HEADER_LEN + 4, message, len);
	return n;
}

/* --- reply decoding --- */

static int
reply_well_formed(const struct proto_frame *frame, uint8_t opcode)
{
	struct proto_fault fault;

	return frame->header.opcode == opcode && check_reply(frame, &fault) == 0;
}

int
proto_decode_predict_reply(const struct proto_frame *frame, struct proto_predict_reply *r)
{
	if (!reply_well_formed(frame, PROTO_OP_PREDICT_REPLY))
		return -1;
	r->count = get16(frame->body);
	r->generation = get32(frame->body + 4);
	r->pairs = frame->body + 8;
	return 0;
}

void
proto_predict_reply_get(const struct proto_predict_reply *r, uint16_t i, uint8_t *decision,
			uint8_t *score)
{
	*decision = r->pairs[2u * i];
	*score = r->pairs[2u * i + 1];
}

int
proto_decode_json_reply(const struct proto_frame *frame, const char **json, size_t *len)
{
	uint8_t op = frame->header.opcode;

	if (op < PROTO_OP_INFO_REPLY || op > PROTO_OP_RELOAD_REPLY ||
	    !reply_well_formed(frame, op))
		return -1;
	*json = (const char *)frame->body;
	*len = frame->header.body_len;
	return 0;
}

int
proto_decode_error(const struct proto_frame *frame, uint16_t *code, const char **message,
		   size_t *len)
{
	if (!reply_well_formed(frame, PROTO_OP_ERROR))
		return -1;
	*code = get16(frame->body);
	*len = get16(frame->body + 2);
	*message = (const char *)frame->body + 4;
	return 0;
}

/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_char_len(const uint8_t *s, size_t len)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
	if (n == 0 || n > len)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

int
proto_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_char_len(s + i, len - i);

		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}
