/*
 * test_link_frame.c: the link's frame encoder and push parser, and the
 * HELLO payload: every split of a multi-frame stream, every prefix, the
 * limits just under, at and over, and each refusal's code and message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "link/link.h"

#define SEEN_MAX 16

/* What the parser handed over, copied. */
struct seen {
	unsigned n;
	unsigned type[SEEN_MAX];
	size_t len[SEEN_MAX];
	uint8_t *payload[SEEN_MAX];
	unsigned stop_after;	/* 0: never stop */
};

static int collect(void *arg, unsigned type, const uint8_t *payload,
		   size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < SEEN_MAX);
	assert_non_null(payload);
	s->type[s->n] = type;
	s->len[s->n] = len;
	s->payload[s->n] = malloc(len ? len : 1);
	assert_non_null(s->payload[s->n]);
	memcpy(s->payload[s->n], payload, len);
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return -ECANCELED;
	return 0;
}

static void seen_free(struct seen *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->payload[i]);
	memset(s, 0, sizeof(*s));
}

/* The stream: five frames, empty ones and one of the largest size. */
static const unsigned stream_types[] = {
	LINK_FRAME_HELLO, LINK_FRAME_HEARTBEAT, LINK_FRAME_BUNDLE_DATA,
	LINK_FRAME_BUNDLE_END, LINK_FRAME_STATE,
};
static const size_t stream_lens[] = { 17, 0, 3000, 0, 5 };

static uint8_t pattern(unsigned frame, size_t i)
{
	return (uint8_t)(frame * 31 + i * 7 + (i >> 8));
}

static void stream_make(struct buf *out)
{
	buf_init(out, 1 << 20);
	for (unsigned f = 0; f < ARRAY_SIZE(stream_types); f++) {
		uint8_t *p = malloc(stream_lens[f] + 1);

		for (size_t i = 0; i < stream_lens[f]; i++)
			p[i] = pattern(f, i);
		assert_int_equal(link_frame_encode(out, stream_types[f], p,
						   stream_lens[f]), 0);
		free(p);
	}
}

static void stream_check(const struct seen *s)
{
	assert_int_equal(s->n, ARRAY_SIZE(stream_types));
	for (unsigned f = 0; f < s->n; f++) {
		assert_int_equal(s->type[f], stream_types[f]);
		assert_int_equal(s->len[f], stream_lens[f]);
		for (size_t i = 0; i < s->len[f]; i++)
			assert_int_equal(s->payload[f][i], pattern(f, i));
	}
}

static void test_encode_layout(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_EVENT, "abc", 3), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "\x05\x00\x00\x00\x03" "abc", 8);
	buf_free(&b);
}

static void test_encode_refusals(void **state)
{
	static uint8_t big[LINK_FRAME_MAX + 1];
	struct buf b;

	(void)state;
	buf_init(&b, 2 * LINK_FRAME_MAX);
	assert_int_equal(link_frame_encode(&b, 0, NULL, 0), -EINVAL);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_TYPE_MAX + 1, NULL,
					   0), -EINVAL);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_BUNDLE_DATA, big,
					   LINK_FRAME_MAX + 1), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_BUNDLE_DATA, big,
					   LINK_FRAME_MAX), 0);
	assert_int_equal(b.len, LINK_FRAME_HEADER + LINK_FRAME_MAX);
	buf_free(&b);
	/* Over the buffer's cap: nothing appended, not even the header. */
	buf_init(&b, 10);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_EVENT, "abcdefgh",
					   8), -ENOMEM);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_every_split(void **state)
{
	struct buf b;

	(void)state;
	stream_make(&b);
	for (size_t i = 0; i <= b.len; i++) {
		struct link_parser p;
		struct seen s = { 0 };
		struct err e = { 0 };

		link_parser_init(&p);
		assert_int_equal(link_parser_push(&p, b.data, i, collect, &s,
						  &e), 0);
		assert_int_equal(link_parser_push(&p, b.data + i, b.len - i,
						  collect, &s, &e), 0);
		stream_check(&s);
		/* Nothing held once every frame is out. */
		assert_null(p.payload);
		assert_int_equal(p.header_len, 0);
		seen_free(&s);
		link_parser_free(&p);
	}
	buf_free(&b);
}

static void test_every_three_way_split_and_bytewise(void **state)
{
	struct buf b;
	struct link_parser p;
	struct seen s = { 0 };
	struct err e = { 0 };

	(void)state;
	stream_make(&b);
	for (size_t i = 0; i <= b.len; i += 37)
		for (size_t j = i; j <= b.len; j += 13) {
			link_parser_init(&p);
			assert_int_equal(link_parser_push(&p, b.data, i,
							  collect, &s, &e), 0);
			assert_int_equal(link_parser_push(&p, b.data + i,
							  j - i, collect, &s,
							  &e), 0);
			assert_int_equal(link_parser_push(&p, b.data + j,
							  b.len - j, collect,
							  &s, &e), 0);
			stream_check(&s);
			seen_free(&s);
			link_parser_free(&p);
		}
	/* One byte at a time: every prefix, each frame once complete. */
	link_parser_init(&p);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(link_parser_push(&p, b.data + i, 1, collect,
						  &s, &e), 0);
	stream_check(&s);
	seen_free(&s);
	link_parser_free(&p);
	buf_free(&b);
}

static void test_prefix_holds_no_frame(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(link_frame_encode(&b, LINK_FRAME_EVENT, "{}", 2), 0);
	for (size_t i = 0; i < b.len; i++) {
		struct link_parser p;
		struct seen s = { 0 };
		struct err e = { 0 };

		link_parser_init(&p);
		assert_int_equal(link_parser_push(&p, b.data, i, collect, &s,
						  &e), 0);
		assert_int_equal(s.n, 0);
		link_parser_free(&p);
	}
	buf_free(&b);
}

static void refusal(const uint8_t *header, const char *expect)
{
	struct link_parser p;
	struct seen s = { 0 };
	struct err e = { 0 };

	link_parser_init(&p);
	assert_int_equal(link_parser_push(&p, header, LINK_FRAME_HEADER,
					  collect, &s, &e), -EPROTO);
	assert_non_null(strstr(e.msg, expect));
	assert_int_equal(s.n, 0);
	/* Refused once, refused for good: no resynchronising on junk. */
	assert_int_equal(link_parser_push(&p, "\x02\0\0\0\0", 5, collect, &s,
					  &e), -EPROTO);
	assert_int_equal(s.n, 0);
	link_parser_free(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	refusal((const uint8_t *)"\x00\0\0\0\0", "unknown type 0");
	refusal((const uint8_t *)"\x0d\0\0\0\0", "unknown type 13");
	refusal((const uint8_t *)"\xff\0\0\0\0", "unknown type 255");
	/* LINK_FRAME_MAX + 1 = 0x40001 */
	refusal((const uint8_t *)"\x07\x00\x04\x00\x01",
		"BUNDLE_DATA payload of 262145 bytes is over the limit");
	refusal((const uint8_t *)"\x07\xff\xff\xff\xff",
		"payload of 4294967295 bytes");
}

static void test_largest_frame(void **state)
{
	struct link_parser p;
	struct seen s = { 0 };
	struct err e = { 0 };

	(void)state;
	link_parser_init(&p);
	/* Exactly LINK_FRAME_MAX: accepted, assembled over two pushes. */
	assert_int_equal(link_parser_push(&p, "\x07\x00\x04\x00\x00", 5,
					  collect, &s, &e), 0);
	{
		uint8_t *data = calloc(1, LINK_FRAME_MAX);

		assert_int_equal(link_parser_push(&p, data, 1000, collect, &s,
						  &e), 0);
		assert_int_equal(s.n, 0);
		assert_int_equal(link_parser_push(&p, data,
						  LINK_FRAME_MAX - 1000,
						  collect, &s, &e), 0);
		free(data);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.len[0], LINK_FRAME_MAX);
	seen_free(&s);
	link_parser_free(&p);
}

static void test_handler_stops(void **state)
{
	struct buf b;
	struct link_parser p;
	struct seen s = { .stop_after = 2 };
	struct err e = { 0 };

	(void)state;
	stream_make(&b);
	link_parser_init(&p);
	assert_int_equal(link_parser_push(&p, b.data, b.len, collect, &s, &e),
			 -ECANCELED);
	assert_int_equal(s.n, 2);
	seen_free(&s);
	link_parser_free(&p);
	buf_free(&b);
}

static void test_hello_round_trip(void **state)
{
	struct link_hello h = { .controller = 'A', .protocol = LINK_PROTOCOL,
				.serial = "SN-A-0001",
				.midplane_serial = "MP-77" }, back;
	struct err e = { 0 };
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(link_hello_encode(&h, &b), 0);
	assert_int_equal(link_hello_parse((const uint8_t *)b.data, b.len,
					  &back, &e), 0);
	assert_int_equal(back.controller, 'A');
	assert_int_equal(back.protocol, LINK_PROTOCOL);
	assert_string_equal(back.serial, "SN-A-0001");
	assert_string_equal(back.midplane_serial, "MP-77");
	buf_free(&b);
}

static void hello_bad(const char *json, const char *expect)
{
	struct link_hello h;
	struct err e = { 0 };

	assert_int_equal(link_hello_parse((const uint8_t *)json, strlen(json),
					  &h, &e), -EPROTO);
	assert_non_null(strstr(e.msg, expect));
}

static void test_hello_refusals(void **state)
{
	(void)state;
	hello_bad("{", "not JSON");
	hello_bad("[1]", "not a JSON object");
	hello_bad("{\"controller\":\"A\",\"serial\":\"\","
		  "\"midplane_serial\":\"\"}", "no protocol");
	hello_bad("{\"protocol\":1,\"controller\":\"C\",\"serial\":\"\","
		  "\"midplane_serial\":\"\"}", "not \"A\" or \"B\"");
	hello_bad("{\"protocol\":1,\"controller\":\"AB\",\"serial\":\"\","
		  "\"midplane_serial\":\"\"}", "\"controller\" is 2 bytes");
	hello_bad("{\"protocol\":1,\"controller\":\"A\",\"serial\":"
		  "\"01234567890123456789012345678901\",\"midplane_serial\":"
		  "\"\"}", "\"serial\" is 32 bytes, over 31");
	hello_bad("{\"protocol\":1,\"controller\":\"A\",\"serial\":\"a\\nb\","
		  "\"midplane_serial\":\"\"}", "control byte");
	hello_bad("{\"protocol\":1,\"controller\":\"A\",\"serial\":\"x\"}",
		  "no string \"midplane_serial\"");
}

static void test_hello_serial_at_limit(void **state)
{
	/* LINK_SERIAL_MAX - 1 = 31 bytes: the longest accepted. */
	const char *json = "{\"protocol\":1,\"controller\":\"B\",\"serial\":"
			   "\"0123456789012345678901234567890\","
			   "\"midplane_serial\":\"\"}";
	struct link_hello h;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(link_hello_parse((const uint8_t *)json, strlen(json),
					  &h, &e), 0);
	assert_int_equal(strlen(h.serial), LINK_SERIAL_MAX - 1);
	assert_int_equal(h.controller, 'B');
	assert_string_equal(h.midplane_serial, "");
}

static void test_hello_check(void **state)
{
	struct link_hello ours = { .controller = 'B', .protocol = 1,
				   .midplane_serial = "MP1" };
	struct link_hello peer = { .controller = 'A', .protocol = 1,
				   .midplane_serial = "MP1" };
	struct err e = { 0 };

	(void)state;
	assert_int_equal(link_hello_check(&ours, &peer, &e), 0);
	peer.midplane_serial[0] = '\0';	/* unknown on one side: no verdict */
	assert_int_equal(link_hello_check(&ours, &peer, &e), 0);
	snprintf(peer.midplane_serial, sizeof(peer.midplane_serial), "MP2");
	assert_int_equal(link_hello_check(&ours, &peer, &e), -EPERM);
	assert_non_null(strstr(e.msg, "midplane MP2"));
	snprintf(peer.midplane_serial, sizeof(peer.midplane_serial), "MP1");
	peer.controller = 'B';
	assert_int_equal(link_hello_check(&ours, &peer, &e), -EPERM);
	assert_non_null(strstr(e.msg, "controller B, as we are"));
	peer.controller = 'A';
	peer.protocol = 2;
	assert_int_equal(link_hello_check(&ours, &peer, &e), -EPERM);
	assert_non_null(strstr(e.msg, "protocol 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_every_three_way_split_and_bytewise),
		cmocka_unit_test(test_prefix_holds_no_frame),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_largest_frame),
		cmocka_unit_test(test_handler_stops),
		cmocka_unit_test(test_hello_round_trip),
		cmocka_unit_test(test_hello_refusals),
		cmocka_unit_test(test_hello_serial_at_limit),
		cmocka_unit_test(test_hello_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
