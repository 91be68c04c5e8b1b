/* test_ssh_line_editor.c: an SSH shell's keystrokes to lines, with echo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ssh/shell.h"

#define LINES_MAX 8

struct result {
	char lines[LINES_MAX][SHELL_LINE_MAX + 16];
	size_t n;
	struct buf echo;
};

/* Feeds text in pieces of at most step bytes; lines (or "<too long>",
 * "<eof>") go to r->lines, echo to r->echo. */
static void run(const char *text, size_t len, size_t step, bool terminal,
		struct result *r)
{
	struct line_editor ed;
	size_t off = 0;

	memset(r->lines, 0, sizeof(r->lines));
	r->n = 0;
	buf_init(&r->echo, 1 << 20);
	line_editor_init(&ed, terminal);
	while (off < len) {
		size_t end = off + step < len ? off + step : len;

		while (off < end) {
			size_t used = 0;
			int rc = line_editor_feed(&ed, text + off, end - off,
						  &used, &r->echo);

			assert_true(used > 0 && used <= end - off);
			off += used;
			if (rc == LINE_MORE || r->n == LINES_MAX)
				continue;
			if (rc == LINE_DONE)
				strcpy(r->lines[r->n++], ed.line);
			else if (rc == LINE_TOO_LONG)
				strcpy(r->lines[r->n++], "<too long>");
			else
				strcpy(r->lines[r->n++], "<eof>");
		}
	}
	if (line_editor_finish(&ed) == LINE_DONE && r->n < LINES_MAX)
		strcpy(r->lines[r->n++], ed.line);
}

static void echo_is(struct result *r, const char *want)
{
	assert_int_equal(r->echo.len, strlen(want));
	assert_memory_equal(r->echo.data, want, r->echo.len);
	buf_free(&r->echo);
}

static void test_line_ends_split_anywhere(void **state)
{
	static const char text[] = "show versions\r\nshow events\r\0exit\n";
	struct result r;
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(text); step++) {
		run(text, sizeof(text) - 1, step, true, &r);
		assert_int_equal(r.n, 3);
		assert_string_equal(r.lines[0], "show versions");
		assert_string_equal(r.lines[1], "show events");
		assert_string_equal(r.lines[2], "exit");
		echo_is(&r, "show versions\r\nshow events\r\nexit\r\n");
	}
}

static void test_terminal_erase_kill_and_escapes(void **state)
{
	/* DEL and ^H erase; ^U kills the line; an arrow key and ESC O P
	 * (F1) are swallowed whole; a tab is a space. */
	static const char text[] = "show vx\x7f" "ersionz\bs\r"
				   "junk\x15set\x1b[Acli\x1bOP\t-x\r";
	struct result r;

	(void)state;
	run(text, sizeof(text) - 1, 3, true, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.lines[0], "show versions");
	assert_string_equal(r.lines[1], "setcli -x");
	echo_is(&r, "show vx\b \bersionz\b \bs\r\n"
		    "junk\b \b\b \b\b \b\b \bsetcli -x\r\n");
}

static void test_erase_takes_a_whole_utf8_character(void **state)
{
	static const char text[] = "a\xc3\xa9\x7f" "b\r";
	struct result r;

	(void)state;
	run(text, sizeof(text) - 1, 1, true, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.lines[0], "ab");
	buf_free(&r.echo);
}

static void test_ctrl_c_drops_the_line_and_ctrl_d_ends(void **state)
{
	static const char text[] = "show junk\x03" "a\x04" "b\r\x04";
	struct result r;

	(void)state;
	run(text, sizeof(text) - 1, 64, true, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.lines[0], "");	/* a new prompt, no command */
	assert_string_equal(r.lines[1], "ab");	/* ^D inside a line: nothing */
	assert_string_equal(r.lines[2], "<eof>");
	echo_is(&r, "show junk^C\r\nab\r\n");
}

static void test_pipe_no_echo_controls_kept(void **state)
{
	static const char text[] = "show\x7f\x03 versions\r\nexit";
	struct result r;

	(void)state;
	run(text, sizeof(text) - 1, 5, false, &r);
	assert_int_equal(r.n, 2);
	/* kept for the lexer to refuse: a pipe has no keys to edit with */
	assert_string_equal(r.lines[0], "show\x7f\x03 versions");
	assert_string_equal(r.lines[1], "exit");	/* unfinished at EOF */
	echo_is(&r, "");
}

static void test_line_limit_under_at_over(void **state)
{
	static char text[3 * (SHELL_LINE_MAX + 2) + 1];
	struct result r;
	size_t off = 0;

	(void)state;
	memset(text, 'a', SHELL_LINE_MAX - 1);
	off += SHELL_LINE_MAX - 1;
	text[off++] = '\r';
	memset(text + off, 'b', SHELL_LINE_MAX);
	off += SHELL_LINE_MAX;
	text[off++] = '\r';
	memset(text + off, 'c', SHELL_LINE_MAX + 1);
	off += SHELL_LINE_MAX + 1;
	text[off++] = '\r';
	run(text, off, 100, true, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(strlen(r.lines[0]), SHELL_LINE_MAX - 1);
	assert_int_equal(strlen(r.lines[1]), SHELL_LINE_MAX);
	assert_string_equal(r.lines[2], "<too long>");
	/* what went past the limit was not echoed */
	assert_int_equal(r.echo.len, 3 * SHELL_LINE_MAX - 1 + 3 * 2);
	buf_free(&r.echo);
}

static void test_crlf_for_a_raw_terminal(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(text_crlf("a\nb\r\nc\xff\n", 8, &b), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "a\r\nb\r\nc\xff\r\n", 10);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends_split_anywhere),
		cmocka_unit_test(test_terminal_erase_kill_and_escapes),
		cmocka_unit_test(test_erase_takes_a_whole_utf8_character),
		cmocka_unit_test(test_ctrl_c_drops_the_line_and_ctrl_d_ends),
		cmocka_unit_test(test_pipe_no_echo_controls_kept),
		cmocka_unit_test(test_line_limit_under_at_over),
		cmocka_unit_test(test_crlf_for_a_raw_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
