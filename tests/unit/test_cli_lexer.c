/* test_cli_lexer.c: the lexer refuses control bytes, NUL included, and
 * names where they are; tabs separate words; nothing is dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int split(const char *line, size_t len, struct cli_words *w,
		 char *why, size_t whylen)
{
	why[0] = '\0';
	return cli_words_split(line, len, w, why, whylen);
}

static void test_nul_inside_a_word_is_refused_with_position(void **state)
{
	static const char line[] = "create user na\0me";
	struct cli_words w;
	char why[CLI_TEXT_MAX];

	(void)state;
	assert_int_equal(split(line, sizeof(line) - 1, &w, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "The command contains a control character "
			    "(0x00) at byte 15.");
}

static void test_every_control_byte_refused_everywhere(void **state)
{
	struct cli_words w;
	char line[16], why[CLI_TEXT_MAX], want[CLI_TEXT_MAX];

	(void)state;
	for (unsigned ch = 0; ch < 0x80; ch++) {
		bool control = (ch < 0x20 && ch != '\t' && ch != '\n' &&
				ch != '\r') || ch == 0x7f;

		if (!control)
			continue;
		/* first byte, inside a word, inside a quoted word */
		for (size_t at = 0; at < 3; at++) {
			static const char *const shapes[] = {
				"Xshow", "shoXw", "set \"aXb\"",
			};
			const char *x;
			size_t len;

			snprintf(line, sizeof(line), "%s", shapes[at]);
			len = strlen(line);
			x = strchr(line, 'X');
			line[x - line] = (char)ch;
			assert_int_equal(split(line, len, &w, why,
					       sizeof(why)), -1);
			snprintf(want, sizeof(want), "The command contains a "
				 "control character (0x%02x) at byte %zu.",
				 ch, (size_t)(x - line) + 1);
			assert_string_equal(why, want);
		}
	}
}

static void test_tabs_and_line_endings_still_accepted(void **state)
{
	static const char line[] = "show\tversions \"a\tb\"\r\n";
	struct cli_words w;
	char why[CLI_TEXT_MAX];

	(void)state;
	assert_int_equal(split(line, sizeof(line) - 1, &w, why, sizeof(why)),
			 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.word[0], "show");
	assert_string_equal(w.word[1], "versions");
	assert_string_equal(w.word[2], "a\tb");
	/* a CR or LF inside the line is not a line ending */
	assert_int_equal(split("show\rversions", 13, &w, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "The command contains a control character "
			    "(0x0d) at byte 5.");
}

static void test_utf8_is_not_a_control(void **state)
{
	static const char line[] = "set system name \"B\xc3\xbcro\"";
	struct cli_words w;
	char why[CLI_TEXT_MAX];

	(void)state;
	assert_int_equal(split(line, sizeof(line) - 1, &w, why, sizeof(why)),
			 0);
	assert_string_equal(w.word[3], "B\xc3\xbcro");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nul_inside_a_word_is_refused_with_position),
		cmocka_unit_test(test_every_control_byte_refused_everywhere),
		cmocka_unit_test(test_tabs_and_line_endings_still_accepted),
		cmocka_unit_test(test_utf8_is_not_a_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
