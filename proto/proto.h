/* Wire protocol v1 (../shared/DESIGN.md): the frame codec. Turns bytes
 * into frames and back; no I/O, and no allocation anywhere. Every integer
 * on the wire is little-endian and is read and written byte by byte.
 *
 * Flags: a request's flags field is decoded but ignored, whatever its
 * value (room for later versions); every frame encoded here carries 0. */
#ifndef IOLAT_PROTO_H
#define IOLAT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x314C4F49u /* "IOL1" in wire order */
#define PROTO_VERSION 1
#define PROTO_HEADER_LEN 16
#define PROTO_MAX_BODY 65536
#define PROTO_MAX_FRAME (PROTO_HEADER_LEN + PROTO_MAX_BODY)
#define PROTO_MAX_COUNT 1024
/* Longest error message: the body (u16 code, u16 length, bytes) must fit. */
#define PROTO_MAX_ERROR_MESSAGE (PROTO_MAX_BODY - 4)
/* Size of the message buffer of struct proto_fault. */
#define PROTO_FAULT_LEN 160

enum proto_opcode {
	PROTO_OP_PREDICT = 0x01,
	PROTO_OP_PING = 0x02,
	PROTO_OP_INFO = 0x03,
	PROTO_OP_STATS = 0x04,
	PROTO_OP_RELOAD = 0x05,
	PROTO_OP_PREDICT_REPLY = 0x81,
	PROTO_OP_PING_REPLY = 0x82,
	PROTO_OP_INFO_REPLY = 0x83,
	PROTO_OP_STATS_REPLY = 0x84,
	PROTO_OP_RELOAD_REPLY = 0x85,
	PROTO_OP_ERROR = 0xFF,
};

/* The reply opcode of a request opcode is the request's with bit 7 set. */
#define PROTO_REPLY_BIT 0x80

enum proto_error_code {
	PROTO_E_BAD_MAGIC = 1,
	PROTO_E_BAD_VERSION = 2,
	PROTO_E_UNKNOWN_OPCODE = 3,
	PROTO_E_TOO_LARGE = 4,
	PROTO_E_BAD_SHAPE = 5,
	PROTO_E_PERMISSION = 6,
	PROTO_E_RELOAD_FAILED = 7,
	PROTO_E_OVERLOADED = 8,
	PROTO_E_INTERNAL = 9,
};

/* Results of the parsers. */
enum proto_parse_status {
	PROTO_PARSE_ERROR = -1,   /* fault filled in */
	PROTO_PARSE_NEED_MORE = 0, /* nothing consumed; call again with more bytes */
	PROTO_PARSE_FRAME = 1,    /* frame filled in */
};

/* Results of the encoders other than a byte count. */
enum proto_encode_status {
	PROTO_ENCODE_NO_ROOM = -1, /* the frame does not fit the caller's buffer */
	PROTO_ENCODE_INVALID = -2, /* arguments the protocol cannot carry */
};

struct proto_header {
	uint32_t magic;
	uint8_t version;
	uint8_t opcode;
	uint16_t flags;
	uint32_t request_id;
	uint32_t body_len;
};

/* One frame inside the caller's buffer: body points at body_len bytes
 * there (NULL when empty) and lives as long as that buffer. */
struct proto_frame {
	struct proto_header header;
	const uint8_t *body;
};

/* Why a frame was refused: the error code to send back, whether the
 * connection must then be closed, the request id to echo (0 when the
 * header cannot be trusted: bad magic or version) and a message. */
struct proto_fault {
	uint16_t code;
	uint8_t close;
	uint32_t request_id;
	char message[PROTO_FAULT_LEN];
};

/* A validated PREDICT request body. features points at count * n_features
 * little-endian int32 inside the frame (unaligned); read them with
 * proto_predict_row. */
struct proto_predict_request {
	uint16_t count;
	uint16_t n_features;
	const uint8_t *features;
};

/* A decoded 0x81 reply. pairs points at count (decision, score) byte
 * pairs inside the frame; read them with proto_predict_reply_get. */
struct proto_predict_reply {
	uint16_t count;
	uint32_t generation;
	const uint8_t *pairs;
};

/* "bad magic", "bad version", ... for codes 1..9; "unknown error" else. */
const char *proto_error_name(unsigned code);

/* 1 when the daemon closes the connection after this error (1, 2, 4). */
int proto_error_closes(unsigned code);

/* Writes / reads the 16 header bytes, field by field, little-endian. */
void proto_header_encode(const struct proto_header *h, uint8_t out[PROTO_HEADER_LEN]);
void proto_header_decode(const uint8_t in[PROTO_HEADER_LEN], struct proto_header *h);

/* The server's stream parser. buf holds len received bytes starting at a
 * frame boundary. Returns PROTO_PARSE_FRAME with one request frame and
 * *consumed its length, PROTO_PARSE_NEED_MORE (*consumed 0), or
 * PROTO_PARSE_ERROR with *fault filled in. A closing fault (bad magic or
 * version, too large) is reported as soon as the bytes show it and sets
 * *consumed to len: the stream cannot be resynchronised. Any other fault
 * waits for the whole bad frame and consumes exactly it, so the next
 * frame parses. A PREDICT frame's body is checked by
 * proto_predict_validate, which needs the model's width. */
int proto_parse_request(const uint8_t *buf, size_t len, struct proto_frame *frame,
			size_t *consumed, struct proto_fault *fault);

/* The client's stream parser: as proto_parse_request for reply frames
 * (0x81..0x85, 0xFF). A reply whose body does not match its opcode is a
 * fault with code PROTO_E_BAD_SHAPE (the frame is consumed). */
int proto_parse_reply(const uint8_t *buf, size_t len, struct proto_frame *frame,
		      size_t *consumed, struct proto_fault *fault);

/* Checks a PREDICT frame against a model of model_n_features inputs:
 * count 1..1024, n_features equal, body_len == 4 + count*n_features*4.
 * Returns 0 and fills *req, or -1 with *fault (code 5, keep) saying which
 * rule failed and the values found. */
int proto_predict_validate(const struct proto_frame *frame, uint16_t model_n_features,
			   struct proto_predict_request *req, struct proto_fault *fault);

/* Copies row `row` (< req->count) of a validated request into
 * out[0..n_features). */
void proto_predict_row(const struct proto_predict_request *req, uint16_t row, int32_t *out);

/* Encoders. Each writes one whole frame (header and body, flags 0) at out,
 * which has room for cap bytes, and returns the bytes written, or a
 * negative enum proto_encode_status (out then holds nothing useful). */

/* PREDICT request: count rows of n_features int32 each, row after row.
 * Invalid: count 0 or over 1024, n_features 0, body over 64 KiB. */
int proto_encode_predict(uint8_t *out, size_t cap, uint32_t request_id,
			 const int32_t *features, uint16_t count, uint16_t n_features);

/* A request with an empty body: PING, INFO, STATS or RELOAD (else invalid). */
int proto_encode_request(uint8_t *out, size_t cap, uint8_t opcode, uint32_t request_id);

/* 0x81: decisions (0 fast, 1 slow) and scores of count predictions. */
int proto_encode_predict_reply(uint8_t *out, size_t cap, uint32_t request_id,
			       uint32_t generation, const uint8_t *decisions,
			       const uint8_t *scores, uint16_t count);

/* 0x82, the empty reply to a PING. */
int proto_encode_ping_reply(uint8_t *out, size_t cap, uint32_t request_id);

/* 0x83, 0x84 or 0x85 with len bytes of UTF-8 JSON (not NUL-terminated on
 * the wire). Invalid: another opcode, len over 64 KiB. */
int proto_encode_json_reply(uint8_t *out, size_t cap, uint8_t opcode, uint32_t request_id,
			    const char *json, size_t len);

/* 0xFF with code and message. The message is cut, at a UTF-8 character
 * boundary, to what fits in cap and in PROTO_MAX_ERROR_MESSAGE; only a cap
 * under 20 bytes is no room. Invalid: code 0. */
int proto_encode_error(uint8_t *out, size_t cap, uint32_t request_id, uint16_t code,
		       const char *message);

/* Reply decoders, for frames from proto_parse_reply (which has checked
 * that the body's shape matches the opcode, so these cannot fail on such
 * frames). Each returns 0, or -1 when the frame is not of its kind or its
 * body is malformed. */

/* 0x81: *r points into the frame's body. */
int proto_decode_predict_reply(const struct proto_frame *frame, struct proto_predict_reply *r);

/* The decision (0 or 1) and score of prediction i (< r->count). */
void proto_predict_reply_get(const struct proto_predict_reply *r, uint16_t i,
			     uint8_t *decision, uint8_t *score);

/* 0x83..0x85: *json points at *len bytes of valid UTF-8 in the body. */
int proto_decode_json_reply(const struct proto_frame *frame, const char **json, size_t *len);

/* 0xFF: the code (1..9 known, others passed on) and the message, *message
 * pointing at *len bytes in the body (not NUL-terminated). */
int proto_decode_error(const struct proto_frame *frame, uint16_t *code, const char **message,
		       size_t *len);

/* 1 when the len bytes at s are well-formed UTF-8 (RFC 3629). */
int proto_utf8_valid(const uint8_t *s, size_t len);

#endif
