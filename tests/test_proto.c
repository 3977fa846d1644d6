/* Wire protocol v1: the frame codec against bytes written out by hand
 * from the table of DESIGN.md, and the client against a fake server
 * thread on a socketpair that answers with hand-built frames. */
#define _GNU_SOURCE
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "helpers.h"
#include "json.h"
#include "proto.h"
#include "suites.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A PING, id 7: the example of the man page. */
static const uint8_t ping_7[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x02, 0x00, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* PREDICT, id 0x01020304, count 1, n_features 2, features {1, -2}. */
static const uint8_t predict_1x2[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x01, 0x00, 0x00,
	0x04, 0x03, 0x02, 0x01, 0x0C, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x02, 0x00,
	0x01, 0x00, 0x00, 0x00, 0xFE, 0xFF, 0xFF, 0xFF,
};

/* PREDICT, id 2, count 1, n_features 8, features 1..8. */
static const uint8_t predict_1x8[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x01, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x08, 0x00,
	0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x03, 0, 0, 0, 0x04, 0, 0, 0,
	0x05, 0, 0, 0, 0x06, 0, 0, 0, 0x07, 0, 0, 0, 0x08, 0, 0, 0,
};

/* 0x81, id 9, generation 0x0A0B0C0D, decisions {1, 0}, scores {200, 3}. */
static const uint8_t predict_reply_9[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x81, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x0D, 0x0C, 0x0B, 0x0A,
	0x01, 0xC8, 0x00, 0x03,
};

/* 0x83, id 1, {"a":1}. */
static const uint8_t info_reply_1[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x83, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
	'{', '"', 'a', '"', ':', '1', '}',
};

/* 0xFF, id 5, code 5, "count 0". */
static const uint8_t error_reply_5[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0xFF, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x07, 0x00, 'c', 'o', 'u', 'n', 't', ' ', '0',
};

/* Opcode 0x07 (unknown), id 3, a 3-byte body. */
static const uint8_t unknown_op_3[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x07, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0xAA, 0xBB, 0xCC,
};

/* PING, id 4, with a 2-byte body. */
static const uint8_t ping_with_body_4[] = {
	0x49, 0x4F, 0x4C, 0x31, 0x01, 0x02, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00,
};

static void
assert_bytes(const uint8_t *got, int n, const uint8_t *want, size_t want_len)
{
	ck_assert_int_eq(n, (int)want_len);
	for (size_t i = 0; i < want_len; i++)
		ck_assert_msg(got[i] == want[i], "byte %zu is 0x%02X, expected 0x%02X", i,
			      got[i], want[i]);
}

static int
parse_req(const uint8_t *b, size_t len, struct proto_frame *f, size_t *used,
	  struct proto_fault *fault)
{
	return proto_parse_request(b, len, f, used, fault);
}

/* --- header and encoders --- */

START_TEST(header_of_ping_7_is_the_documented_bytes)
{
	uint8_t out[64];

	assert_bytes(out, proto_encode_request(out, sizeof(out), PROTO_OP_PING, 7), ping_7,
		     sizeof(ping_7));
}
END_TEST

START_TEST(header_fields_are_little_endian)
{
	static const uint8_t in[16] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0x05, 0x34, 0x12,
					0x78, 0x56, 0x34, 0x12, 0x00, 0x01, 0x00, 0x00 };
	struct proto_header h;
	uint8_t out[16];

	proto_header_decode(in, &h);
	ck_assert_uint_eq(h.magic, 0x314C4F49u);
	ck_assert_uint_eq(h.version, 1);
	ck_assert_uint_eq(h.opcode, 0x05);
	ck_assert_uint_eq(h.flags, 0x1234);
	ck_assert_uint_eq(h.request_id, 0x12345678u);
	ck_assert_uint_eq(h.body_len, 256);
	proto_header_encode(&h, out);
	assert_bytes(out, 16, in, sizeof(in));
}
END_TEST

START_TEST(encodes_predict_request)
{
	const int32_t features[] = { 1, -2 };
	uint8_t out[64];

	assert_bytes(out, proto_encode_predict(out, sizeof(out), 0x01020304, features, 1, 2),
		     predict_1x2, sizeof(predict_1x2));
}
END_TEST

START_TEST(encodes_empty_requests)
{
	static const uint8_t ops[] = { PROTO_OP_INFO, PROTO_OP_STATS, PROTO_OP_RELOAD };
	uint8_t want[16] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0, 0x00, 0x00,
			     0xEF, 0xBE, 0xAD, 0xDE, 0x00, 0x00, 0x00, 0x00 };
	uint8_t out[16];

	for (size_t i = 0; i < LEN(ops); i++) {
		want[5] = ops[i];
		assert_bytes(out, proto_encode_request(out, sizeof(out), ops[i], 0xDEADBEEF),
			     want, sizeof(want));
	}
	ck_assert_int_eq(proto_encode_request(out, sizeof(out), PROTO_OP_PREDICT, 1),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_request(out, 15, PROTO_OP_PING, 1), PROTO_ENCODE_NO_ROOM);
}
END_TEST

START_TEST(encodes_predict_reply)
{
	const uint8_t decisions[] = { 1, 0 }, scores[] = { 200, 3 };
	uint8_t out[64];

	assert_bytes(out, proto_encode_predict_reply(out, sizeof(out), 9, 0x0A0B0C0D, decisions,
						     scores, 2),
		     predict_reply_9, sizeof(predict_reply_9));
}
END_TEST

START_TEST(encodes_ping_reply)
{
	static const uint8_t want[] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0x82, 0x00, 0x00,
					0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint8_t out[16];

	assert_bytes(out, proto_encode_ping_reply(out, sizeof(out), 7), want, sizeof(want));
}
END_TEST

START_TEST(encodes_json_replies)
{
	uint8_t out[64], want[sizeof(info_reply_1)];

	assert_bytes(out, proto_encode_json_reply(out, sizeof(out), 0x83, 1, "{\"a\":1}", 7),
		     info_reply_1, sizeof(info_reply_1));
	memcpy(want, info_reply_1, sizeof(want));
	want[5] = 0x84;
	assert_bytes(out, proto_encode_json_reply(out, sizeof(out), 0x84, 1, "{\"a\":1}", 7),
		     want, sizeof(want));
	want[5] = 0x85;
	assert_bytes(out, proto_encode_json_reply(out, sizeof(out), 0x85, 1, "{\"a\":1}", 7),
		     want, sizeof(want));
	ck_assert_int_eq(proto_encode_json_reply(out, sizeof(out), 0x82, 1, "{}", 2),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_json_reply(out, 22, 0x83, 1, "{\"a\":1}", 7),
			 PROTO_ENCODE_NO_ROOM);
}
END_TEST

START_TEST(encodes_error_reply)
{
	uint8_t out[64];

	assert_bytes(out, proto_encode_error(out, sizeof(out), 5, PROTO_E_BAD_SHAPE, "count 0"),
		     error_reply_5, sizeof(error_reply_5));
}
END_TEST

START_TEST(error_message_is_cut_to_fit_at_a_character_boundary)
{
	/* "abcd\xC3\xA9" is "abcde" with an acute accent: 6 bytes. 25 bytes
	 * leave room for 5, which would split the accent: 4 are sent. */
	static const uint8_t want[] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0xFF, 0x00, 0x00,
					0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
					0x09, 0x00, 0x04, 0x00, 'a', 'b', 'c', 'd' };
	static uint8_t big[PROTO_MAX_FRAME + 100];
	static char long_message[70000];
	uint8_t out[25];

	assert_bytes(out, proto_encode_error(out, sizeof(out), 1, 9, "abcd\xC3\xA9"), want,
		     sizeof(want));
	ck_assert_int_eq(proto_encode_error(out, 20, 1, 9, "abc"), 20);
	ck_assert_int_eq(proto_encode_error(out, 19, 1, 9, ""), PROTO_ENCODE_NO_ROOM);
	ck_assert_int_eq(proto_encode_error(out, sizeof(out), 1, 0, "x"), PROTO_ENCODE_INVALID);
	memset(long_message, 'x', sizeof(long_message) - 1);
	ck_assert_int_eq(proto_encode_error(big, sizeof(big), 1, 9, long_message),
			 PROTO_MAX_FRAME);
	ck_assert_uint_eq(big[18], 0xFC); /* 65532 */
	ck_assert_uint_eq(big[19], 0xFF);
}
END_TEST

START_TEST(encoders_refuse_what_the_protocol_cannot_carry)
{
	static int32_t features[PROTO_MAX_COUNT * 17];
	static uint8_t out[PROTO_MAX_FRAME + 1024];
	const uint8_t d[2] = { 2, 0 }, s[2] = { 0, 0 };

	ck_assert_int_eq(proto_encode_predict(out, sizeof(out), 1, features, 0, 8),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_predict(out, sizeof(out), 1, features, 1025, 8),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_predict(out, sizeof(out), 1, features, 1, 0),
			 PROTO_ENCODE_INVALID);
	/* 1024 rows of 16 features: 4 + 65536 bytes, one row of 16 too many. */
	ck_assert_int_eq(proto_encode_predict(out, sizeof(out), 1, features, 1024, 16),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_predict(out, sizeof(out), 1, features, 1023, 16),
			 16 + 4 + 1023 * 16 * 4);
	ck_assert_int_eq(proto_encode_predict(out, 16 + 4 + 8 - 1, 1, features, 1, 2),
			 PROTO_ENCODE_NO_ROOM);
	ck_assert_int_eq(proto_encode_predict_reply(out, sizeof(out), 1, 0, d, s, 2),
			 PROTO_ENCODE_INVALID);
	ck_assert_int_eq(proto_encode_predict_reply(out, sizeof(out), 1, 0, s, s, 0),
			 PROTO_ENCODE_INVALID);
}
END_TEST

/* --- request parser --- */

START_TEST(parses_every_request)
{
	uint8_t buf[16];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	ck_assert_int_eq(parse_req(predict_1x2, sizeof(predict_1x2), &f, &used, &fault),
			 PROTO_PARSE_FRAME);
	ck_assert_uint_eq(used, sizeof(predict_1x2));
	ck_assert_uint_eq(f.header.opcode, PROTO_OP_PREDICT);
	ck_assert_uint_eq(f.header.request_id, 0x01020304u);
	ck_assert_uint_eq(f.header.body_len, 12);
	ck_assert_ptr_eq(f.body, predict_1x2 + 16);
	for (uint8_t op = PROTO_OP_PING; op <= PROTO_OP_RELOAD; op++) {
		memcpy(buf, ping_7, 16);
		buf[5] = op;
		ck_assert_int_eq(parse_req(buf, 16, &f, &used, &fault), PROTO_PARSE_FRAME);
		ck_assert_uint_eq(used, 16);
		ck_assert_uint_eq(f.header.opcode, op);
		ck_assert_uint_eq(f.header.request_id, 7);
		ck_assert_ptr_null(f.body);
	}
}
END_TEST

START_TEST(ignores_nonzero_request_flags)
{
	uint8_t buf[16];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	memcpy(buf, ping_7, 16);
	buf[6] = 0xFF;
	buf[7] = 0x80;
	ck_assert_int_eq(parse_req(buf, 16, &f, &used, &fault), PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.flags, 0x80FF);
	ck_assert_uint_eq(f.header.opcode, PROTO_OP_PING);
}
END_TEST

START_TEST(waits_for_the_whole_frame)
{
	struct proto_frame f;
	struct proto_fault fault;
	size_t used = 99;

	for (size_t n = 0; n < sizeof(predict_1x2); n++) {
		ck_assert_int_eq(parse_req(predict_1x2, n, &f, &used, &fault),
				 PROTO_PARSE_NEED_MORE);
		ck_assert_uint_eq(used, 0);
	}
}
END_TEST

static void
assert_fault(const uint8_t *b, size_t len, unsigned code, int close, size_t consumed)
{
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	ck_assert_int_eq(parse_req(b, len, &f, &used, &fault), PROTO_PARSE_ERROR);
	ck_assert_uint_eq(fault.code, code);
	ck_assert_int_eq(fault.close, close);
	ck_assert_uint_eq(used, consumed);
}

START_TEST(bad_magic_is_error_1_and_closes)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	assert_fault(http, sizeof(http) - 1, PROTO_E_BAD_MAGIC, 1, sizeof(http) - 1);
	/* Seen from the first wrong byte, without waiting for a header. */
	assert_fault(http, 1, PROTO_E_BAD_MAGIC, 1, 1);
	assert_fault((const uint8_t *)"IOL2", 4, PROTO_E_BAD_MAGIC, 1, 4);
	parse_req(http, 3, &f, &used, &fault);
	ck_assert_str_eq(fault.message, "bad magic, expected \"IOL1\" (49 4F 4C 31)");
	ck_assert_uint_eq(fault.request_id, 0);
}
END_TEST

START_TEST(bad_version_is_error_2_and_closes)
{
	uint8_t buf[16];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	memcpy(buf, ping_7, 16);
	buf[4] = 2;
	assert_fault(buf, 16, PROTO_E_BAD_VERSION, 1, 16);
	assert_fault(buf, 5, PROTO_E_BAD_VERSION, 1, 5);
	buf[4] = 0;
	parse_req(buf, 16, &f, &used, &fault);
	ck_assert_str_eq(fault.message, "version 0, expected 1");
}
END_TEST

START_TEST(unknown_opcode_is_error_3_and_keeps_the_stream)
{
	uint8_t buf[sizeof(unknown_op_3) + sizeof(ping_7)];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	memcpy(buf, unknown_op_3, sizeof(unknown_op_3));
	memcpy(buf + sizeof(unknown_op_3), ping_7, sizeof(ping_7));
	/* The bad frame's body must be there to be skipped. */
	ck_assert_int_eq(parse_req(buf, 18, &f, &used, &fault), PROTO_PARSE_NEED_MORE);
	assert_fault(buf, sizeof(buf), PROTO_E_UNKNOWN_OPCODE, 0, sizeof(unknown_op_3));
	parse_req(buf, sizeof(buf), &f, &used, &fault);
	ck_assert_str_eq(fault.message, "unknown opcode 0x07");
	ck_assert_uint_eq(fault.request_id, 3);
	ck_assert_int_eq(parse_req(buf + used, sizeof(buf) - used, &f, &used, &fault),
			 PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.opcode, PROTO_OP_PING);
	ck_assert_uint_eq(f.header.request_id, 7);
	/* A reply opcode is not a request. */
	memcpy(buf, ping_7, 16);
	buf[5] = 0x82;
	assert_fault(buf, 16, PROTO_E_UNKNOWN_OPCODE, 0, 16);
}
END_TEST

START_TEST(body_len_65537_is_error_4_and_closes)
{
	static const uint8_t hdr[16] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0x01, 0x00, 0x00,
					 0x0B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00 };
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;
	uint8_t ok[16];

	/* Refused from the header alone: the body never needs to arrive. */
	assert_fault(hdr, 16, PROTO_E_TOO_LARGE, 1, 16);
	parse_req(hdr, 16, &f, &used, &fault);
	ck_assert_uint_eq(fault.request_id, 11);
	ck_assert_str_eq(fault.message, "body_len 65537 exceeds the limit of 65536");
	/* 65536 itself is allowed: the parser waits for it. */
	memcpy(ok, hdr, 16);
	ok[14] = 0x01;
	ok[15] = 0x00;
	ok[12] = 0x00;
	ck_assert_int_eq(parse_req(ok, 16, &f, &used, &fault), PROTO_PARSE_NEED_MORE);
}
END_TEST

START_TEST(body_on_empty_request_is_error_5_and_keeps_the_stream)
{
	uint8_t buf[sizeof(ping_with_body_4) + sizeof(ping_7)];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	memcpy(buf, ping_with_body_4, sizeof(ping_with_body_4));
	memcpy(buf + sizeof(ping_with_body_4), ping_7, sizeof(ping_7));
	assert_fault(buf, sizeof(buf), PROTO_E_BAD_SHAPE, 0, sizeof(ping_with_body_4));
	parse_req(buf, sizeof(buf), &f, &used, &fault);
	ck_assert_str_eq(fault.message, "PING takes an empty body, got 2 bytes");
	ck_assert_uint_eq(fault.request_id, 4);
	ck_assert_int_eq(parse_req(buf + used, sizeof(buf) - used, &f, &used, &fault),
			 PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.request_id, 7);
}
END_TEST

START_TEST(parses_two_frames_in_one_buffer)
{
	uint8_t buf[sizeof(predict_1x2) + sizeof(ping_7)];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used, at = 0;

	memcpy(buf, predict_1x2, sizeof(predict_1x2));
	memcpy(buf + sizeof(predict_1x2), ping_7, sizeof(ping_7));
	ck_assert_int_eq(parse_req(buf, sizeof(buf), &f, &used, &fault), PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.opcode, PROTO_OP_PREDICT);
	at += used;
	ck_assert_int_eq(parse_req(buf + at, sizeof(buf) - at, &f, &used, &fault),
			 PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.opcode, PROTO_OP_PING);
	at += used;
	ck_assert_uint_eq(at, sizeof(buf));
	ck_assert_int_eq(parse_req(buf + at, 0, &f, &used, &fault), PROTO_PARSE_NEED_MORE);
}
END_TEST

/* Feeds stream to the parser as a server would, the bytes arriving in
 * pieces ending at cuts[0..n_cuts) then the rest, and writes one line per
 * frame or fault into log. */
static void
feed(const uint8_t *stream, size_t len, const size_t *cuts, size_t n_cuts, char *log,
     size_t logcap)
{
	uint8_t buf[256];
	size_t have = 0, sent = 0, at = 0;

	log[0] = '\0';
	for (size_t k = 0; k <= n_cuts; k++) {
		size_t end = k < n_cuts ? cuts[k] : len;

		ck_assert_uint_le(have + end - sent, sizeof(buf));
		memcpy(buf + have, stream + sent, end - sent);
		have += end - sent;
		sent = end;
		for (;;) {
			struct proto_frame f;
			struct proto_fault fault;
			size_t used;
			int r = parse_req(buf + at, have - at, &f, &used, &fault);
			size_t l = strlen(log);

			if (r == PROTO_PARSE_NEED_MORE)
				break;
			if (r == PROTO_PARSE_FRAME)
				snprintf(log + l, logcap - l, "frame %02X id %u len %u\n",
					 f.header.opcode, (unsigned)f.header.request_id,
					 (unsigned)f.header.body_len);
			else
				snprintf(log + l, logcap - l, "fault %u close %u id %u %s\n",
					 fault.code, fault.close, (unsigned)fault.request_id,
					 fault.message);
			at += used;
			if (r == PROTO_PARSE_ERROR && fault.close)
				return;
		}
	}
}

START_TEST(frame_split_at_every_byte_parses_the_same)
{
	uint8_t stream[256];
	size_t len = 0;
	char whole[1024], split[1024];

	memcpy(stream + len, predict_1x8, sizeof(predict_1x8)), len += sizeof(predict_1x8);
	memcpy(stream + len, unknown_op_3, sizeof(unknown_op_3)), len += sizeof(unknown_op_3);
	memcpy(stream + len, ping_7, sizeof(ping_7)), len += sizeof(ping_7);
	memcpy(stream + len, ping_with_body_4, sizeof(ping_with_body_4)),
		len += sizeof(ping_with_body_4);
	memcpy(stream + len, predict_1x2, sizeof(predict_1x2)), len += sizeof(predict_1x2);
	feed(stream, len, NULL, 0, whole, sizeof(whole));
	ck_assert_str_eq(whole, "frame 01 id 2 len 36\n"
				"fault 3 close 0 id 3 unknown opcode 0x07\n"
				"frame 02 id 7 len 0\n"
				"fault 5 close 0 id 4 PING takes an empty body, got 2 bytes\n"
				"frame 01 id 16909060 len 12\n");
	for (size_t cut = 0; cut <= len; cut++) {
		feed(stream, len, &cut, 1, split, sizeof(split));
		ck_assert_msg(strcmp(split, whole) == 0, "split at %zu:\n%s", cut, split);
	}
	{
		size_t every[256];

		for (size_t i = 0; i < len; i++)
			every[i] = i;
		feed(stream, len, every, len, split, sizeof(split));
		ck_assert_str_eq(split, whole);
	}
}
END_TEST

START_TEST(closing_fault_is_found_at_every_split)
{
	uint8_t stream[64];
	size_t len = sizeof(ping_7) + 16;
	char whole[512], split[512];

	memcpy(stream, ping_7, 16);
	memcpy(stream + 16, ping_7, 16);
	stream[16 + 4] = 9; /* second frame: version 9 */
	feed(stream, len, NULL, 0, whole, sizeof(whole));
	ck_assert_str_eq(whole, "frame 02 id 7 len 0\n"
				"fault 2 close 1 id 0 version 9, expected 1\n");
	for (size_t cut = 0; cut <= len; cut++) {
		feed(stream, len, &cut, 1, split, sizeof(split));
		ck_assert_msg(strcmp(split, whole) == 0, "split at %zu:\n%s", cut, split);
	}
}
END_TEST

/* --- PREDICT validation --- */

static int
validate(const uint8_t *frame, size_t len, uint16_t model_n, struct proto_predict_request *req,
	 struct proto_fault *fault)
{
	struct proto_frame f;
	size_t used;

	ck_assert_int_eq(parse_req(frame, len, &f, &used, fault), PROTO_PARSE_FRAME);
	return proto_predict_validate(&f, model_n, req, fault);
}

static void
assert_shape_fault(const uint8_t *frame, size_t len, uint16_t model_n, const char *message)
{
	struct proto_predict_request req;
	struct proto_fault fault;

	ck_assert_int_eq(validate(frame, len, model_n, &req, &fault), -1);
	ck_assert_uint_eq(fault.code, PROTO_E_BAD_SHAPE);
	ck_assert_int_eq(fault.close, 0);
	ck_assert_str_eq(fault.message, message);
}

START_TEST(accepts_predict_of_the_model_shape)
{
	struct proto_predict_request req;
	struct proto_fault fault;
	int32_t row[8];

	ck_assert_int_eq(validate(predict_1x8, sizeof(predict_1x8), 8, &req, &fault), 0);
	ck_assert_uint_eq(req.count, 1);
	ck_assert_uint_eq(req.n_features, 8);
	proto_predict_row(&req, 0, row);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(row[i], i + 1);
}
END_TEST

START_TEST(reads_negative_and_extreme_features)
{
	static const uint8_t frame[] = {
		0x49, 0x4F, 0x4C, 0x31, 0x01, 0x01, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0x7F,
	};
	struct proto_predict_request req;
	struct proto_fault fault;
	int32_t v;

	/* count 2, n_features 1: INT32_MIN, INT32_MAX. */
	ck_assert_int_eq(validate(frame, sizeof(frame), 1, &req, &fault), 0);
	proto_predict_row(&req, 0, &v);
	ck_assert_int_eq(v, INT32_MIN);
	proto_predict_row(&req, 1, &v);
	ck_assert_int_eq(v, INT32_MAX);
}
END_TEST

START_TEST(predict_of_wrong_shape_is_error_5)
{
	uint8_t b[sizeof(predict_1x8)];

	memcpy(b, predict_1x8, sizeof(b));
	assert_shape_fault(b, sizeof(b), 7, "n_features 8, the model has 7");
	b[16] = 0; /* count 0 */
	assert_shape_fault(b, sizeof(b), 8, "count 0, expected 1..1024");
	b[16] = 0x01; /* count 1025 */
	b[17] = 0x04;
	assert_shape_fault(b, sizeof(b), 8, "count 1025, expected 1..1024");
	b[16] = 2; /* count 2: 68 bytes expected, 36 there */
	b[17] = 0;
	assert_shape_fault(b, sizeof(b), 8, "body is 36 bytes, expected 4 + 2*8*4 = 68");
	b[12] = 2; /* body_len 2 */
	assert_shape_fault(b, 18, 8, "body is 2 bytes, expected at least 4 (count, n_features)");
}
END_TEST

/* --- replies --- */

START_TEST(decodes_predict_reply)
{
	struct proto_frame f;
	struct proto_fault fault;
	struct proto_predict_reply r;
	uint8_t d, s;
	size_t used;

	ck_assert_int_eq(proto_parse_reply(predict_reply_9, sizeof(predict_reply_9), &f, &used,
					   &fault), PROTO_PARSE_FRAME);
	ck_assert_uint_eq(used, sizeof(predict_reply_9));
	ck_assert_uint_eq(f.header.request_id, 9);
	ck_assert_int_eq(proto_decode_predict_reply(&f, &r), 0);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(r.generation, 0x0A0B0C0Du);
	proto_predict_reply_get(&r, 0, &d, &s);
	ck_assert_uint_eq(d, 1);
	ck_assert_uint_eq(s, 200);
	proto_predict_reply_get(&r, 1, &d, &s);
	ck_assert_uint_eq(d, 0);
	ck_assert_uint_eq(s, 3);
}
END_TEST

START_TEST(decodes_ping_json_and_error_replies)
{
	static const uint8_t pong[] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0x82, 0x00, 0x00,
					0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	struct proto_frame f;
	struct proto_fault fault;
	struct proto_predict_reply r;
	const char *text;
	uint16_t code;
	size_t used, len;

	ck_assert_int_eq(proto_parse_reply(pong, sizeof(pong), &f, &used, &fault),
			 PROTO_PARSE_FRAME);
	ck_assert_uint_eq(f.header.opcode, 0x82);
	ck_assert_int_eq(proto_decode_predict_reply(&f, &r), -1);
	ck_assert_int_eq(proto_parse_reply(info_reply_1, sizeof(info_reply_1), &f, &used,
					   &fault), PROTO_PARSE_FRAME);
	ck_assert_int_eq(proto_decode_json_reply(&f, &text, &len), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(text, "{\"a\":1}", 7), 0);
	ck_assert_int_eq(proto_decode_error(&f, &code, &text, &len), -1);
	ck_assert_int_eq(proto_parse_reply(error_reply_5, sizeof(error_reply_5), &f, &used,
					   &fault), PROTO_PARSE_FRAME);
	ck_assert_int_eq(proto_decode_error(&f, &code, &text, &len), 0);
	ck_assert_uint_eq(code, 5);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(text, "count 0", 7), 0);
}
END_TEST

START_TEST(rejects_malformed_replies)
{
	uint8_t b[64];
	struct proto_frame f;
	struct proto_fault fault;
	size_t used;

	memcpy(b, predict_reply_9, sizeof(predict_reply_9));
	b[24] = 2; /* decision 2 */
	ck_assert_int_eq(proto_parse_reply(b, sizeof(predict_reply_9), &f, &used, &fault),
			 PROTO_PARSE_ERROR);
	ck_assert_uint_eq(fault.code, PROTO_E_BAD_SHAPE);
	ck_assert_str_eq(fault.message, "PREDICT reply decision 0 is 2, expected 0 or 1");
	ck_assert_uint_eq(used, sizeof(predict_reply_9));
	memcpy(b, predict_reply_9, sizeof(predict_reply_9));
	b[16] = 3; /* count 3 in a body of 2 */
	ck_assert_int_eq(proto_parse_reply(b, sizeof(predict_reply_9), &f, &used, &fault),
			 PROTO_PARSE_ERROR);
	ck_assert_str_eq(fault.message, "PREDICT reply body is 12 bytes, expected 8 + 3*2 = 14");
	memcpy(b, info_reply_1, sizeof(info_reply_1));
	b[18] = 0xC0; /* overlong: not UTF-8 */
	ck_assert_int_eq(proto_parse_reply(b, sizeof(info_reply_1), &f, &used, &fault),
			 PROTO_PARSE_ERROR);
	memcpy(b, error_reply_5, sizeof(error_reply_5));
	b[18] = 8; /* message length 8 in a body of 4 + 7 */
	ck_assert_int_eq(proto_parse_reply(b, sizeof(error_reply_5), &f, &used, &fault),
			 PROTO_PARSE_ERROR);
	ck_assert_int_eq(proto_parse_reply(ping_7, sizeof(ping_7), &f, &used, &fault),
			 PROTO_PARSE_ERROR);
	ck_assert_uint_eq(fault.code, PROTO_E_UNKNOWN_OPCODE);
}
END_TEST

START_TEST(error_codes_have_names_and_only_1_2_4_close)
{
	static const char *const names[] = { "unknown error", "bad magic", "bad version",
		"unknown opcode", "frame too large", "bad shape", "permission denied",
		"reload failed", "overloaded", "internal error", "unknown error" };

	for (unsigned code = 0; code < LEN(names); code++) {
		ck_assert_str_eq(proto_error_name(code), names[code]);
		ck_assert_int_eq(proto_error_closes(code), code == 1 || code == 2 || code == 4);
	}
}
END_TEST

START_TEST(server_error_codes_6_to_9_round_trip)
{
	uint8_t out[64];
	struct proto_frame f;
	struct proto_fault fault;
	const char *text;
	uint16_t code;
	size_t used, len;

	for (uint16_t c = PROTO_E_PERMISSION; c <= PROTO_E_INTERNAL; c++) {
		int n = proto_encode_error(out, sizeof(out), 77, c, proto_error_name(c));

		ck_assert_uint_eq(out[16], c);
		ck_assert_uint_eq(out[17], 0);
		ck_assert_int_eq(proto_parse_reply(out, (size_t)n, &f, &used, &fault),
				 PROTO_PARSE_FRAME);
		ck_assert_int_eq(proto_decode_error(&f, &code, &text, &len), 0);
		ck_assert_uint_eq(code, c);
		ck_assert_uint_eq(len, strlen(proto_error_name(c)));
		ck_assert_uint_eq(f.header.request_id, 77);
	}
}
END_TEST

START_TEST(utf8_check_follows_rfc_3629)
{
#define U(s) (const uint8_t *)(s), sizeof(s) - 1
	ck_assert(proto_utf8_valid(U("")));
	ck_assert(proto_utf8_valid(U("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")));
	ck_assert(!proto_utf8_valid(U("\xC0\x80")));         /* overlong NUL */
	ck_assert(!proto_utf8_valid(U("\xE0\x80\x80")));     /* overlong */
	ck_assert(!proto_utf8_valid(U("\xED\xA0\x80")));     /* surrogate */
	ck_assert(!proto_utf8_valid(U("\xF4\x90\x80\x80"))); /* over U+10FFFF */
	ck_assert(!proto_utf8_valid(U("\xE2\x82")));         /* cut short */
	ck_assert(!proto_utf8_valid(U("\x80")));
#undef U
}
END_TEST

/* --- the client against a fake server thread --- */

struct peer {
	int fd;
	pthread_t thread;
	void (*script)(struct peer *);
	char failure[256];
};

/* Peer-side I/O: poll with a timeout so that a broken client fails the
 * test instead of hanging it. Returns 0, or -1 on EOF, error or timeout. */
static int
peer_read(struct peer *p, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 5000) != 1)
			return -1;
		r = read(p->fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int
peer_write(struct peer *p, const uint8_t *buf, size_t n)
{
	return write(p->fd, buf, n) == (ssize_t)n ? 0 : -1;
}

static void
put_le(uint8_t *b, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Reads one request; returns its id, or fails the peer. */
static int
peer_request(struct peer *p, uint8_t *hdr, uint8_t *body, size_t cap, uint32_t *id)
{
	uint32_t len;

	if (peer_read(p, hdr, 16) < 0) {
		snprintf(p->failure, sizeof(p->failure), "peer: no request header");
		return -1;
	}
	len = hdr[12] | (uint32_t)hdr[13] << 8 | (uint32_t)hdr[14] << 16 | (uint32_t)hdr[15] << 24;
	*id = hdr[8] | (uint32_t)hdr[9] << 8 | (uint32_t)hdr[10] << 16 | (uint32_t)hdr[11] << 24;
	if (len > cap || peer_read(p, body, len) < 0) {
		snprintf(p->failure, sizeof(p->failure), "peer: bad body of %u bytes", len);
		return -1;
	}
	return (int)len;
}

/* A hand-built reply header. */
static void
reply_header(uint8_t *b, uint8_t opcode, uint32_t id, uint32_t body_len)
{
	static const uint8_t start[6] = { 0x49, 0x4F, 0x4C, 0x31, 0x01, 0x00 };

	memcpy(b, start, 6);
	b[5] = opcode;
	b[6] = b[7] = 0;
	put_le(b + 8, id, 4);
	put_le(b + 12, body_len, 4);
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;

	p->script(p);
	return NULL;
}

static struct proto_client *
peer_start(struct peer *p, void (*script)(struct peer *))
{
	struct proto_client *c;
	char err[PROTO_ERRLEN];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[1];
	p->script = script;
	p->failure[0] = '\0';
	c = proto_client_from_fd(sv[0], err);
	ck_assert_msg(c != NULL, "%s", err);
	proto_client_set_timeout(c, 5000);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
	return c;
}

static void
peer_finish(struct peer *p)
{
	pthread_join(p->thread, NULL);
	if (p->fd >= 0)
		close(p->fd);
	ck_assert_msg(p->failure[0] == '\0', "%s", p->failure);
}

static void
peer_close(struct peer *p)
{
	close(p->fd);
	p->fd = -1;
}

/* Expects PREDICT id 1 of 2 rows {1,2,3}, {-1,0,INT32_MAX}; replies
 * generation 42, decisions {0, 1}, scores {10, 255}. */
static void
script_predict(struct peer *p)
{
	static const uint8_t want[] = {
		0x49, 0x4F, 0x4C, 0x31, 0x01, 0x01, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x03, 0x00,
		0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x03, 0, 0, 0,
		0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F,
	};
	static const uint8_t reply[] = {
		0x49, 0x4F, 0x4C, 0x31, 0x01, 0x81, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,
		0x00, 0x0A, 0x01, 0xFF,
	};
	uint8_t got[sizeof(want)];

	if (peer_read(p, got, sizeof(got)) < 0 || memcmp(got, want, sizeof(want)) != 0) {
		snprintf(p->failure, sizeof(p->failure), "peer: not the expected PREDICT bytes");
		return;
	}
	peer_write(p, reply, sizeof(reply));
}

START_TEST(client_predict_sends_the_documented_bytes_and_waits_for_the_reply)
{
	const int32_t features[] = { 1, 2, 3, -1, 0, INT32_MAX };
	uint8_t decisions[2], scores[2];
	uint32_t generation = 0;
	struct peer p;
	struct proto_client *c = peer_start(&p, script_predict);

	ck_assert_int_eq(proto_client_predict(c, features, 2, 3, decisions, scores, &generation),
			 PROTO_CLIENT_OK);
	ck_assert_uint_eq(generation, 42);
	ck_assert_uint_eq(decisions[0], 0);
	ck_assert_uint_eq(scores[0], 10);
	ck_assert_uint_eq(decisions[1], 1);
	ck_assert_uint_eq(scores[1], 255);
	ck_assert_uint_eq(proto_client_pending(c), 0);
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

#define PIPELINED 1000

/* Answers PIPELINED predictions one by one: generation = first feature,
 * decision = its low bit, score = its low byte. Checks the ids go 1, 2... */
static void
script_pipeline(struct peer *p)
{
	uint8_t hdr[16], body[64], reply[16 + 10];

	for (uint32_t i = 0; i < PIPELINED; i++) {
		uint32_t id, f0;

		if (peer_request(p, hdr, body, sizeof(body), &id) != 4 + 8 * 4)
			return;
		if (id != i + 1 || hdr[5] != 0x01) {
			snprintf(p->failure, sizeof(p->failure), "peer: request %u has id %u",
				 i, id);
			return;
		}
		f0 = body[4] | (uint32_t)body[5] << 8;
		reply_header(reply, 0x81, id, 10);
		put_le(reply + 16, 1, 2);
		put_le(reply + 18, 0, 2);
		put_le(reply + 20, f0, 4);
		reply[24] = (uint8_t)(f0 & 1);
		reply[25] = (uint8_t)f0;
		if (peer_write(p, reply, sizeof(reply)) < 0) {
			snprintf(p->failure, sizeof(p->failure), "peer: write failed");
			return;
		}
	}
}

START_TEST(client_pipelines_1000_requests_answered_in_order)
{
	struct proto_reply *r = malloc(sizeof(*r));
	struct peer p;
	struct proto_client *c = peer_start(&p, script_pipeline);

	for (uint32_t i = 0; i < PIPELINED; i++) {
		int32_t features[8] = { (int32_t)i, 1, 2, 3, 4, 5, 6, 7 };
		uint32_t id;

		ck_assert_int_eq(proto_client_send_predict(c, &id, features, 1, 8),
				 PROTO_CLIENT_OK);
		ck_assert_uint_eq(id, i + 1);
	}
	ck_assert_uint_eq(proto_client_pending(c), PIPELINED);
	ck_assert_int_eq(proto_client_flush(c), PROTO_CLIENT_OK);
	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_ERR_USAGE);
	for (uint32_t i = 0; i < PIPELINED; i++) {
		ck_assert_int_eq(proto_client_recv(c, r), PROTO_CLIENT_OK);
		ck_assert_uint_eq(r->request_id, i + 1);
		ck_assert_uint_eq(r->opcode, 0x81);
		ck_assert_uint_eq(r->count, 1);
		ck_assert_uint_eq(r->generation, i);
		ck_assert_uint_eq(r->decisions[0], i & 1);
		ck_assert_uint_eq(r->scores[0], i & 0xFF);
	}
	ck_assert_uint_eq(proto_client_pending(c), 0);
	ck_assert_int_eq(proto_client_recv(c, r), PROTO_CLIENT_ERR_USAGE);
	proto_client_close(c);
	peer_finish(&p);
	free(r);
}
END_TEST

/* RELOAD id 1 -> error 6; PING id 2 -> 0x82; PREDICT id 3 -> error 5. */
static void
script_errors(struct peer *p)
{
	static const char msg[] = "uid 1000 may not reload";
	uint8_t hdr[16], body[64], out[64];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) != 0 || hdr[5] != 0x05)
		goto bad;
	reply_header(out, 0xFF, id, 4 + sizeof(msg) - 1);
	put_le(out + 16, 6, 2);
	put_le(out + 18, sizeof(msg) - 1, 2);
	memcpy(out + 20, msg, sizeof(msg) - 1);
	peer_write(p, out, 20 + sizeof(msg) - 1);
	if (peer_request(p, hdr, body, sizeof(body), &id) != 0 || hdr[5] != 0x02)
		goto bad;
	reply_header(out, 0x82, id, 0);
	peer_write(p, out, 16);
	if (peer_request(p, hdr, body, sizeof(body), &id) < 0 || hdr[5] != 0x01)
		goto bad;
	reply_header(out, 0xFF, id, 4 + 7);
	put_le(out + 16, 5, 2);
	put_le(out + 18, 7, 2);
	memcpy(out + 20, "count 9", 7);
	peer_write(p, out, 20 + 7);
	return;
bad:
	if (p->failure[0] == '\0')
		snprintf(p->failure, sizeof(p->failure), "peer: unexpected request");
}

START_TEST(client_reports_error_reply_and_stays_usable)
{
	struct proto_reply *r = malloc(sizeof(*r));
	const int32_t features[8] = { 0 };
	char *json = (char *)"unchanged";
	struct peer p;
	struct proto_client *c = peer_start(&p, script_errors);

	ck_assert_int_eq(proto_client_reload(c, &json), PROTO_CLIENT_ERR_SERVER);
	ck_assert_ptr_null(json);
	ck_assert_uint_eq(proto_client_server_code(c), 6);
	ck_assert_str_eq(proto_client_error(c),
			 "server error 6 (permission denied): uid 1000 may not reload");
	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_OK);
	ck_assert_int_eq(proto_client_send_predict(c, NULL, features, 1, 8), PROTO_CLIENT_OK);
	ck_assert_int_eq(proto_client_recv(c, r), PROTO_CLIENT_ERR_SERVER);
	ck_assert_uint_eq(r->opcode, 0xFF);
	ck_assert_uint_eq(r->request_id, 3);
	ck_assert_uint_eq(r->error_code, 5);
	ck_assert_str_eq(r->error_message, "count 9");
	proto_client_close(c);
	peer_finish(&p);
	free(r);
}
END_TEST

/* Reads a PING, sends 10 bytes of the reply's header and closes. */
static void
script_close_mid_reply(struct peer *p)
{
	uint8_t hdr[16], body[1], out[16];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) < 0)
		return;
	reply_header(out, 0x82, id, 0);
	peer_write(p, out, 10);
	peer_close(p);
}

START_TEST(client_reports_peer_closing_mid_reply)
{
	struct peer p;
	struct proto_client *c = peer_start(&p, script_close_mid_reply);

	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_ERR_CLOSED);
	ck_assert_str_eq(proto_client_error(c), "server closed the connection in the middle "
						"of a reply (10 bytes of it received)");
	/* The connection stays dead, with the same answer. */
	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_ERR_CLOSED);
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

static void
script_close_before_reply(struct peer *p)
{
	uint8_t hdr[16], body[1];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) == 0)
		peer_close(p);
}

START_TEST(client_reports_peer_closing_before_reply)
{
	struct peer p;
	struct proto_client *c = peer_start(&p, script_close_before_reply);
	char *json;

	ck_assert_int_eq(proto_client_stats(c, &json), PROTO_CLIENT_ERR_CLOSED);
	ck_assert_str_eq(proto_client_error(c),
			 "server closed the connection with 1 replies outstanding");
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

/* Reads a request and never answers; returns when the client hangs up. */
static void
script_silent(struct peer *p)
{
	uint8_t hdr[16], body[1];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) == 0)
		peer_read(p, hdr, 1);
}

START_TEST(client_times_out_on_a_silent_server)
{
	struct peer p;
	struct proto_client *c = peer_start(&p, script_silent);

	proto_client_set_timeout(c, 50);
	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_ERR_TIMEOUT);
	ck_assert_str_eq(proto_client_error(c), "timed out waiting for the reply to request 1");
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

/* Answers request 1 as if it were request 2. */
static void
script_wrong_id(struct peer *p)
{
	uint8_t hdr[16], body[1], out[16];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) < 0)
		return;
	reply_header(out, 0x82, id + 1, 0);
	peer_write(p, out, 16);
}

START_TEST(client_rejects_a_reply_out_of_order)
{
	struct peer p;
	struct proto_client *c = peer_start(&p, script_wrong_id);

	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_ERR_PROTOCOL);
	ck_assert_str_eq(proto_client_error(c),
			 "reply (opcode 0x82) for request 2, expected request 1");
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

static void
script_info(struct peer *p)
{
	uint8_t hdr[16], body[1], out[64];
	uint32_t id;

	if (peer_request(p, hdr, body, sizeof(body), &id) < 0 || hdr[5] != 0x03) {
		snprintf(p->failure, sizeof(p->failure), "peer: expected INFO");
		return;
	}
	reply_header(out, 0x83, id, 13);
	memcpy(out + 16, "{\"version\":1}", 13);
	peer_write(p, out, 16 + 13);
}

START_TEST(client_info_returns_the_json_as_a_string)
{
	struct peer p;
	struct proto_client *c = peer_start(&p, script_info);
	char *json = NULL;

	ck_assert_int_eq(proto_client_info(c, &json), PROTO_CLIENT_OK);
	ck_assert_str_eq(json, "{\"version\":1}");
	free(json);
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

/* Expects nothing at all: the client hangs up without sending a byte. */
static void
script_nothing(struct peer *p)
{
	uint8_t b;

	if (peer_read(p, &b, 1) == 0)
		snprintf(p->failure, sizeof(p->failure), "peer: the client sent bytes");
}

START_TEST(client_refuses_requests_it_cannot_encode)
{
	static int32_t features[PROTO_MAX_COUNT * 16];
	struct peer p;
	struct proto_client *c = peer_start(&p, script_nothing);
	uint8_t d[1], s[1];

	ck_assert_int_eq(proto_client_predict(c, features, 0, 8, d, s, NULL),
			 PROTO_CLIENT_ERR_USAGE);
	ck_assert_str_eq(proto_client_error(c), "count 0, expected 1..1024");
	ck_assert_int_eq(proto_client_send_predict(c, NULL, features, 1024, 16),
			 PROTO_CLIENT_ERR_USAGE);
	ck_assert_str_eq(proto_client_error(c), "1024 rows of 16 features make a 65540-byte "
						"body, over the limit of 65536");
	ck_assert_uint_eq(proto_client_pending(c), 0);
	proto_client_close(c);
	peer_finish(&p);
}
END_TEST

START_TEST(client_connect_names_the_path_on_failure)
{
	char err[PROTO_ERRLEN], path[200];

	snprintf(path, sizeof(path), "%s", test_tmp_path("missing.sock"));
	ck_assert_ptr_null(proto_client_connect(path, err));
	ck_assert_msg(strstr(err, "missing.sock: connect: No such file or directory") != NULL,
		      "%s", err);
}
END_TEST

static void *
accept_and_pong(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	uint8_t hdr[16];

	if (fd >= 0 && read(fd, hdr, 16) == 16) {
		hdr[5] = 0x82;
		if (write(fd, hdr, 16) != 16)
			hdr[0] = 0;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

START_TEST(client_connects_to_a_unix_socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[PROTO_ERRLEN];
	struct proto_client *c;
	pthread_t t;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", test_tmp_path("s.sock"));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, accept_and_pong, &lfd), 0);
	c = proto_client_connect(sa.sun_path, err);
	ck_assert_msg(c != NULL, "%s", err);
	proto_client_set_timeout(c, 5000);
	ck_assert_int_eq(proto_client_ping(c), PROTO_CLIENT_OK);
	proto_client_close(c);
	pthread_join(t, NULL);
	close(lfd);
}
END_TEST

/* By hand: a"b\c, a newline and a unit separator become
 * "a\"b\\c\u000a\u001f": 1 + 1 + 2 + 1 + 2 + 1 + 6 + 6 + 1 = 21 bytes. */
START_TEST(json_quote_escapes_quotes_backslashes_and_controls)
{
	static const char want[] = "\"a\\\"b\\\\c\\u000a\\u001f\"";
	char out[64];

	ck_assert_uint_eq(sizeof(want) - 1, 21);
	ck_assert_uint_eq(json_quote(out, sizeof(out), "a\"b\\c\n\x1f"), 21);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(json_quote(NULL, 0, "x"), 3);
	ck_assert_uint_eq(json_quote(out, sizeof(out), ""), 2);
	ck_assert_str_eq(out, "\"\"");
}
END_TEST

/* Like snprintf: a short buffer gets what fits and a NUL, the return is
 * the whole length. */
START_TEST(json_quote_cuts_like_snprintf)
{
	char out[5];

	memset(out, 'Z', sizeof(out));
	ck_assert_uint_eq(json_quote(out, sizeof(out), "abcdef"), 8);
	ck_assert_str_eq(out, "\"abc");
}
END_TEST

Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *codec = tcase_create("codec");
	TCase *parser = tcase_create("parser");
	TCase *client = tcase_create("client");

	tcase_add_test(codec, header_of_ping_7_is_the_documented_bytes);
	tcase_add_test(codec, header_fields_are_little_endian);
	tcase_add_test(codec, encodes_predict_request);
	tcase_add_test(codec, encodes_empty_requests);
	tcase_add_test(codec, encodes_predict_reply);
	tcase_add_test(codec, encodes_ping_reply);
	tcase_add_test(codec, encodes_json_replies);
	tcase_add_test(codec, encodes_error_reply);
	tcase_add_test(codec, error_message_is_cut_to_fit_at_a_character_boundary);
	tcase_add_test(codec, encoders_refuse_what_the_protocol_cannot_carry);
	tcase_add_test(codec, decodes_predict_reply);
	tcase_add_test(codec, decodes_ping_json_and_error_replies);
	tcase_add_test(codec, rejects_malformed_replies);
	tcase_add_test(codec, error_codes_have_names_and_only_1_2_4_close);
	tcase_add_test(codec, server_error_codes_6_to_9_round_trip);
	tcase_add_test(codec, utf8_check_follows_rfc_3629);
	suite_add_tcase(s, codec);

	tcase_add_test(parser, parses_every_request);
	tcase_add_test(parser, ignores_nonzero_request_flags);
	tcase_add_test(parser, waits_for_the_whole_frame);
	tcase_add_test(parser, bad_magic_is_error_1_and_closes);
	tcase_add_test(parser, bad_version_is_error_2_and_closes);
	tcase_add_test(parser, unknown_opcode_is_error_3_and_keeps_the_stream);
	tcase_add_test(parser, body_len_65537_is_error_4_and_closes);
	tcase_add_test(parser, body_on_empty_request_is_error_5_and_keeps_the_stream);
	tcase_add_test(parser, parses_two_frames_in_one_buffer);
	tcase_add_test(parser, frame_split_at_every_byte_parses_the_same);
	tcase_add_test(parser, closing_fault_is_found_at_every_split);
	tcase_add_test(parser, accepts_predict_of_the_model_shape);
	tcase_add_test(parser, reads_negative_and_extreme_features);
	tcase_add_test(parser, predict_of_wrong_shape_is_error_5);
	suite_add_tcase(s, parser);

	tcase_add_checked_fixture(client, test_fixture_setup, test_fixture_teardown);
	tcase_add_test(client, client_predict_sends_the_documented_bytes_and_waits_for_the_reply);
	tcase_add_test(client, client_pipelines_1000_requests_answered_in_order);
	tcase_add_test(client, client_reports_error_reply_and_stays_usable);
	tcase_add_test(client, client_reports_peer_closing_mid_reply);
	tcase_add_test(client, client_reports_peer_closing_before_reply);
	tcase_add_test(client, client_times_out_on_a_silent_server);
	tcase_add_test(client, client_rejects_a_reply_out_of_order);
	tcase_add_test(client, client_info_returns_the_json_as_a_string);
	tcase_add_test(client, client_refuses_requests_it_cannot_encode);
	tcase_add_test(client, client_connect_names_the_path_on_failure);
	tcase_add_test(client, client_connects_to_a_unix_socket_path);
	tcase_add_test(codec, json_quote_escapes_quotes_backslashes_and_controls);
	tcase_add_test(codec, json_quote_cuts_like_snprintf);
	suite_add_tcase(s, client);
	return s;
}
