/* test_config_file.c: the config file reader (src/config/conffile.c):
 * entries become options before the command line's, in file order; the
 * limits (line length, entries a section) under, at and over; every error
 * names FILE:LINE and changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conffile.h"

static const struct option opts[] = {
	{ "state", required_argument, NULL, 's' },
	{ "set", required_argument, NULL, 'T' },
	{ "simulator", no_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char path[] = "/tmp/test_config_file.XXXXXX";

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int build(const char *text, struct conffile_args *a, struct err *e,
		 int argc, char **argv)
{
	char *base[] = { "tandemd", "--config", path, NULL };

	write_file(text);
	if (!argv) {
		argv = base;
		argc = 3;
	}
	memset(e, 0, sizeof(*e));
	return conffile_args_build("tandemd", opts, argc, argv, a, e);
}

static void test_entries_first_then_command_line(void **state)
{
	char *argv[] = { "tandemd", "--state", "cli", "--config", path, "-n",
			 "--", "--state", NULL };
	struct conffile_args a;
	struct err e;

	(void)state;
	assert_int_equal(build("; comment\n# comment\n[tandemd]\n"
			       "state = file ; inline\nset = a=1\n"
			       "simulator = yes\nset: b=2\n"
			       "[tandem-loader]\ndaemon = x\n",
			       &a, &e, 8, argv), 0);
	assert_int_equal(a.argc, 10);
	assert_int_equal(a.file_args, 4);
	assert_string_equal(a.argv[0], "tandemd");
	assert_string_equal(a.argv[1], "--state=file");
	assert_string_equal(a.argv[2], "--set=a=1");
	assert_string_equal(a.argv[3], "--simulator");
	assert_string_equal(a.argv[4], "--set=b=2");
	assert_string_equal(a.argv[5], "--state");
	assert_string_equal(a.argv[6], "cli");
	assert_string_equal(a.argv[7], "-n");
	/* After "--" nothing is taken as --config or dropped. */
	assert_string_equal(a.argv[8], "--");
	assert_string_equal(a.argv[9], "--state");
	assert_null(a.argv[10]);
	assert_string_equal(conffile_where(&a, 2) + strlen(path),
			    ":5: set: ");
	assert_string_equal(conffile_where(&a, 3) + strlen(path),
			    ":6: simulator: ");
	assert_string_equal(conffile_where(&a, 5), "");
	assert_string_equal(conffile_where(&a, 0), "");
	conffile_args_free(&a);
}

static void test_switch_false_leaves_it_out(void **state)
{
	struct conffile_args a;
	struct err e;

	(void)state;
	assert_int_equal(build("[tandemd]\nsimulator = off\n", &a, &e, 0,
			       NULL), 0);
	assert_int_equal(a.file_args, 0);
	assert_int_equal(a.argc, 1);
	conffile_args_free(&a);
}

static void expect_error(const char *text, const char *where,
			 const char *what)
{
	struct conffile_args a;
	struct err e;
	char want[512];

	assert_int_equal(build(text, &a, &e, 0, NULL), -1);
	snprintf(want, sizeof(want), "%s%s", path, where);
	assert_non_null(strstr(e.msg, want));
	if (!strstr(e.msg, what))
		fail_msg("'%s' not in '%s'", what, e.msg);
	assert_null(a.argv);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	expect_error("[tandemd]\n\nbogus = 1\n", ":3: bogus: ",
		     "not an option of tandemd");
	expect_error("[tandemd]\nhelp = true\n", ":2: help: ",
		     "not an option");
	expect_error("state = x\n", ":1: state: ", "outside any section");
	expect_error("[tandemd]\n[nobody]\nx = 1\n", ":3: [nobody]: ",
		     "no program reads");
	expect_error("[tandemd]\nsimulator = sometimes\n", ":2: simulator: ",
		     "expected true or false");
	expect_error("[tandemd]\njust words\n", ":2: ", "expected [section]");
	expect_error("[tandemd]\nstate =\n", ":2: state: ", "needs a value");
	expect_error("[tandemd]\nstate = ; a comment\n", ":2: state: ",
		     "needs a value");
	{
		static const char nul[] = "[tandemd]\nstate = a\0b\n";
		char *argv[] = { "tandemd", "--config", path, NULL };
		struct conffile_args a;
		struct err e;
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fwrite(nul, 1, sizeof(nul) - 1, f);
		fclose(f);
		assert_int_equal(conffile_args_build("tandemd", opts, 3, argv,
						     &a, &e), -1);
		assert_non_null(strstr(e.msg, ":2: a NUL byte"));
	}
	/* The first problem is the one told. */
	expect_error("[tandemd]\nfirst = 1\nsecond = 2\n", ":2: first: ",
		     "not an option");
}

/* A line of n bytes: "state = " and x's. */
static void long_line(char *out, size_t n)
{
	strcpy(out, "[tandemd]\nstate = ");
	memset(out + strlen(out), 'x', n - 8);
	strcpy(out + 18 + n - 8, "\n");
}

static void test_line_limit(void **state)
{
	char text[CONFFILE_LINE_MAX + 64];
	struct conffile_args a;
	struct err e;

	(void)state;
	long_line(text, CONFFILE_LINE_MAX - 1);
	assert_int_equal(build(text, &a, &e, 0, NULL), 0);
	conffile_args_free(&a);
	long_line(text, CONFFILE_LINE_MAX);
	assert_int_equal(build(text, &a, &e, 0, NULL), 0);
	assert_int_equal(strlen(a.argv[1]), CONFFILE_LINE_MAX - 8 + 8);
	conffile_args_free(&a);
	long_line(text, CONFFILE_LINE_MAX + 1);
	expect_error(text, ":2: ", "longer than 196 bytes");
}

static void test_entries_limit(void **state)
{
	struct conffile_args a;
	struct buf b;
	struct err e;
	int n;

	(void)state;
	for (n = CONFFILE_ENTRIES_MAX - 1; n <= CONFFILE_ENTRIES_MAX + 1;
	     n++) {
		buf_init(&b, CONFFILE_MAX);
		buf_append_str(&b, "[tandemd]\n");
		for (int i = 0; i < n; i++)
			buf_appendf(&b, "set = k%d=v\n", i);
		if (n <= CONFFILE_ENTRIES_MAX) {
			assert_int_equal(build(b.data, &a, &e, 0, NULL), 0);
			assert_int_equal(a.file_args, n);
			conffile_args_free(&a);
		} else {
			expect_error(b.data, ":258: set: ", "more than 256");
		}
		buf_free(&b);
	}
}

/* [tandem] serves every subcommand with the option; [tandem SUB] is
 * checked in full. */
static void test_shared_tool_section(void **state)
{
	static const struct option update[] = {
		{ "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	char *argv[] = { "update", "--config", path, NULL };
	struct conffile_args a;
	struct err e;

	(void)state;
	write_file("[tandem]\nhost = h1\nstate = not-mine\n"
		   "[tandem update]\nhost = h2\n");
	assert_int_equal(conffile_args_build("tandem update", update, 3, argv,
					     &a, &e), 0);
	assert_int_equal(a.file_args, 2);
	assert_string_equal(a.argv[1], "--host=h1");
	assert_string_equal(a.argv[2], "--host=h2");
	conffile_args_free(&a);
	write_file("[tandem update]\nstate = x\n");
	assert_int_equal(conffile_args_build("tandem update", update, 3, argv,
					     &a, &e), -1);
	assert_non_null(strstr(e.msg, ":2: state: not an option of tandem "
			       "update"));
	/* tandemd does not read [tandem]. */
	assert_int_equal(build("[tandem]\nhost = h\n", &a, &e, 0, NULL), 0);
	assert_int_equal(a.file_args, 0);
	conffile_args_free(&a);
}

static void test_find_order(void **state)
{
	char *with[] = { "p", "--config=/a", NULL };
	char *none[] = { "p", "--no-config", NULL };
	char *plain[] = { "p", NULL };
	char *empty[] = { "p", "--config", NULL };
	char out[64];
	struct err e;

	(void)state;
	setenv(CONFFILE_ENV, "/from-env", 1);
	assert_int_equal(conffile_find(2, with, out, sizeof(out), &e), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(conffile_find(1, plain, out, sizeof(out), &e), 0);
	assert_string_equal(out, "/from-env");
	assert_int_equal(conffile_find(2, none, out, sizeof(out), &e), 0);
	assert_string_equal(out, "");
	assert_int_equal(conffile_find(2, empty, out, sizeof(out), &e), -1);
	unsetenv(CONFFILE_ENV);
}

static void test_get(void **state)
{
	char out[64];
	struct err e;

	(void)state;
	write_file("[tandem-loader]\nstate = no\n[tandemd]\nstate = one\n"
		   "state = two\nfoo = ignored\n");
	assert_int_equal(conffile_get(path, "tandemd", "state", out,
				      sizeof(out), &e), 1);
	assert_string_equal(out, "two");
	assert_int_equal(conffile_get(path, "tandemd", "daemon", out,
				      sizeof(out), &e), 0);
	assert_int_equal(conffile_get("/nonexistent/x.conf", "tandemd",
				      "state", out, sizeof(out), &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/x.conf"));
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_first_then_command_line),
		cmocka_unit_test(test_switch_false_leaves_it_out),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_entries_limit),
		cmocka_unit_test(test_shared_tool_section),
		cmocka_unit_test(test_find_order),
		cmocka_unit_test(test_get),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
