/* test_ssh_telnet.c: the telnet parser (lines, IAC, options, limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ssh/shell.h"

/* Feeds text split at cut; collects up to 4 lines (or "<too long>"). */
static size_t lines_of(const uint8_t *text, size_t len, size_t cut,
		       char out[4][SHELL_LINE_MAX + 16], struct telnet_parser *p)
{
	size_t parts[2] = { cut, len - cut }, off = 0, n = 0, i;

	telnet_parser_init(p);
	for (i = 0; i < 2; i++) {
		size_t end = off + parts[i];

		while (off < end) {
			size_t used = 0;
			int rc = telnet_parser_feed(p, text + off, end - off,
						    &used);

			assert_true(used > 0 && used <= end - off);
			off += used;
			if (rc == TELNET_LINE && n < 4)
				strcpy(out[n++], p->line);
			else if (rc == TELNET_TOO_LONG && n < 4)
				strcpy(out[n++], "<too long>");
		}
	}
	return n;
}

static void test_line_ends_split_anywhere(void **state)
{
	static const uint8_t text[] = "manage\r\n!manage\r\0show\rexit\n";
	char out[4][SHELL_LINE_MAX + 16];
	struct telnet_parser p;
	size_t cut, len = sizeof(text) - 1;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		assert_int_equal(lines_of(text, len, cut, out, &p), 4);
		assert_string_equal(out[0], "manage");
		assert_string_equal(out[1], "!manage");
		assert_string_equal(out[2], "show");
		assert_string_equal(out[3], "exit");
		assert_int_equal(p.reply_len, 0);
	}
}

static void test_iac_stripped_and_options_answered(void **state)
{
	/* IAC WILL TTYPE, IAC DO SGA, a subnegotiation, IAC IAC, IAC NOP. */
	static const uint8_t text[] = "ma\xff\xfb\x18n\xff\xfd\x03"
				      "a\xff\xfa\x18\x01\xff\xf0g\xff\xff"
				      "e\xff\xf1\r\n";
	static const uint8_t answers[] = { 0xff, 0xfe, 0x18, 0xff, 0xfb, 0x03 };
	char out[4][SHELL_LINE_MAX + 16];
	struct telnet_parser p;
	size_t cut, len = sizeof(text) - 1;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		assert_int_equal(lines_of(text, len, cut, out, &p), 1);
		assert_string_equal(out[0], "manag\xff" "e");
		assert_int_equal(p.reply_len, sizeof(answers));
		assert_memory_equal(p.reply, answers, sizeof(answers));
		assert_true(p.sga_on);
	}
}

static void test_echo_negotiation_never_loops(void **state)
{
	static const uint8_t do_echo[] = { 0xff, 0xfd, 0x01 };
	static const uint8_t dont_echo[] = { 0xff, 0xfe, 0x01 };
	struct telnet_parser p;
	size_t used;

	(void)state;
	telnet_parser_init(&p);
	/* Unasked DO ECHO is refused. */
	telnet_parser_feed(&p, do_echo, 3, &used);
	assert_int_equal(p.reply_len, 3);
	assert_int_equal(p.reply[1], TELNET_WONT);
	p.reply_len = 0;
	/* Our WILL ECHO, acknowledged by DO ECHO: nothing more said. */
	telnet_parser_echo(&p, true);
	telnet_parser_echo(&p, true);
	assert_int_equal(p.reply_len, 3);
	assert_int_equal(p.reply[1], TELNET_WILL);
	p.reply_len = 0;
	telnet_parser_feed(&p, do_echo, 3, &used);
	assert_int_equal(p.reply_len, 0);
	telnet_parser_echo(&p, false);
	assert_int_equal(p.reply[1], TELNET_WONT);
	p.reply_len = 0;
	telnet_parser_feed(&p, dont_echo, 3, &used);
	assert_int_equal(p.reply_len, 0);
	assert_false(p.echo_on);
}

/* Erase keys edit; other control bytes stay, for the lexer to refuse. */
static void test_erase_and_controls(void **state)
{
	static const uint8_t text[] = "showX\x7f vY\x08" "ersions\x01\x1b\t!"
				      "\xff\xf7\r\n" "junk\xff\xf8ok\r\n";
	char out[4][SHELL_LINE_MAX + 16];
	struct telnet_parser p;

	(void)state;
	assert_int_equal(lines_of(text, sizeof(text) - 1, 3, out, &p), 2);
	assert_string_equal(out[0], "show versions\x01\x1b\t");
	assert_string_equal(out[1], "ok");
}

/* A NUL inside a line reaches the CLI (which refuses it); CR NUL ends one. */
static void test_nul_kept_inside_a_line(void **state)
{
	static const uint8_t text[] = "create user na\0me\r\0next\r\n";
	struct telnet_parser p;
	size_t used = 0;

	(void)state;
	telnet_parser_init(&p);
	assert_int_equal(telnet_parser_feed(&p, text, sizeof(text) - 1, &used),
			 TELNET_LINE);
	assert_int_equal(p.len, 17);
	assert_memory_equal(p.line, "create user na\0me", 17);
	assert_int_equal(telnet_parser_feed(&p, text + used,
					    sizeof(text) - 1 - used, &used),
			 TELNET_LINE);
	assert_string_equal(p.line, "next");
}

/* Too long is said at the byte that passes the limit, not at the line's
 * end; the rest of that line is dropped as it comes. */
static void test_too_long_reported_at_once(void **state)
{
	static uint8_t text[SHELL_LINE_MAX + 64];
	struct telnet_parser p;
	size_t used = 0, off;

	(void)state;
	memset(text, 'n', sizeof(text));
	telnet_parser_init(&p);
	assert_int_equal(telnet_parser_feed(&p, text, sizeof(text), &used),
			 TELNET_TOO_LONG);
	assert_int_equal(used, SHELL_LINE_MAX + 1);
	off = used;
	assert_int_equal(telnet_parser_feed(&p, text + off,
					    sizeof(text) - off, &used),
			 TELNET_MORE);
	assert_int_equal(telnet_parser_feed(&p, (const uint8_t *)"nn\r\nok\r\n",
					    8, &used), TELNET_LINE);
	assert_string_equal(p.line, "ok");
}

static void test_line_limit_under_at_over(void **state)
{
	uint8_t text[SHELL_LINE_MAX + 8];
	char out[4][SHELL_LINE_MAX + 16];
	struct telnet_parser p;
	size_t n;

	(void)state;
	for (n = SHELL_LINE_MAX - 1; n <= SHELL_LINE_MAX + 1; n++) {
		memset(text, 'a', n);
		memcpy(text + n, "\r\nok\r\n", 6);
		assert_int_equal(lines_of(text, n + 6, n / 2, out, &p), 2);
		if (n <= SHELL_LINE_MAX)
			assert_int_equal(strlen(out[0]), n);
		else
			assert_string_equal(out[0], "<too long>");
		assert_string_equal(out[1], "ok");
	}
}

static void test_reply_queue_is_bounded(void **state)
{
	uint8_t flood[3 * 100];
	struct telnet_parser p;
	size_t i, used;

	(void)state;
	for (i = 0; i < 100; i++) {
		flood[3 * i] = 0xff;
		flood[3 * i + 1] = 0xfb;	/* WILL x: we answer DONT x */
		flood[3 * i + 2] = (uint8_t)(i + 10);
	}
	telnet_parser_init(&p);
	assert_int_equal(telnet_parser_feed(&p, flood, sizeof(flood), &used),
			 TELNET_MORE);
	assert_int_equal(used, sizeof(flood));
	assert_true(p.reply_len <= sizeof(p.reply));
	assert_int_equal(p.reply_len % 3, 0);
}

static void test_escape_crlf_and_iac(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(telnet_escape("a\nb\r\nc\xff", 7, &b), 0);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data, "a\r\nb\r\nc\xff\xff", 9);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends_split_anywhere),
		cmocka_unit_test(test_iac_stripped_and_options_answered),
		cmocka_unit_test(test_echo_negotiation_never_loops),
		cmocka_unit_test(test_erase_and_controls),
		cmocka_unit_test(test_line_limit_under_at_over),
		cmocka_unit_test(test_nul_kept_inside_a_line),
		cmocka_unit_test(test_too_long_reported_at_once),
		cmocka_unit_test(test_reply_queue_is_bounded),
		cmocka_unit_test(test_escape_crlf_and_iac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
