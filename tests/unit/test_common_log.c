/* test_common_log.c: log lines escaped, repeated warnings limited and
 * summarised, the log file capped and rotated (under, at and over). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static char dir[] = "/tmp/test_common_log.XXXXXX";
static int saved_stderr = -1;
static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static const char *escaped(const char *in, size_t len)
{
	static char out[256];

	log_escape(in, len, out, sizeof(out));
	return out;
}

#define ESC(lit) escaped(lit, sizeof(lit) - 1)

static void test_escape_controls_and_bad_utf8(void **state)
{
	(void)state;
	assert_string_equal(ESC("plain text 123"), "plain text 123");
	assert_string_equal(ESC("\x1b[2J\x1b]0;owned\x07"),
			    "\\x1b[2J\\x1b]0;owned\\x07");
	assert_string_equal(ESC("a\nb\rc\td\x7f"), "a\\x0ab\\x0dc\\x09d\\x7f");
	assert_string_equal(ESC("na\0me"), "na\\x00me");
	/* a literal backslash cannot pose as an escape */
	assert_string_equal(ESC("\\x1b"), "\\\\x1b");
	/* well-formed UTF-8 passes: 2, 3 and 4 bytes */
	assert_string_equal(ESC("B\xc3\xbcro \xe2\x82\xac \xf0\x9f\x98\x80"),
			    "B\xc3\xbcro \xe2\x82\xac \xf0\x9f\x98\x80");
	/* C1 CSI, overlong '/', a surrogate, past U+10FFFF, stray bytes */
	assert_string_equal(ESC("\xc2\x9b"), "\\xc2\\x9b");
	assert_string_equal(ESC("\xc0\xaf"), "\\xc0\\xaf");
	assert_string_equal(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	assert_string_equal(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
	assert_string_equal(ESC("\xff\x80"), "\\xff\\x80");
	/* a character cut short at the end */
	assert_string_equal(ESC("ok\xe2\x82"), "ok\\xe2\\x82");
}

static void test_escape_never_overruns_or_splits(void **state)
{
	char out[8];

	(void)state;
	/* "ab" + "\x1b" needs 6 bytes with the NUL: an escape is whole */
	for (size_t outlen = 1; outlen <= sizeof(out); outlen++) {
		size_t n;

		memset(out, 'Z', sizeof(out));
		n = log_escape("ab\x1b" "cd", 5, out, outlen);
		assert_int_equal(out[n], '\0');
		assert_true(n < outlen);
		/* the escape goes in whole at 7 bytes, or not at all */
		assert_int_equal(n, outlen < 7 ? (outlen - 1 < 2 ? outlen - 1 : 2)
					       : outlen - 1);
		if (outlen < sizeof(out))
			assert_int_equal(out[outlen], 'Z');
	}
	assert_int_equal(log_escape("abc", 3, out, 0), 0);
}

/* Points the log at dir/name; returns its path in path. */
static void log_to(const char *name, size_t cap, char *path, size_t len)
{
	struct err e = { 0 };

	snprintf(path, len, "%s/%s", dir, name);
	assert_int_equal(log_open_file(path, cap, LOG_FILE_KEEP_DEFAULT, &e),
			 0);
}

static size_t slurp(const char *path, char *out, size_t max)
{
	int fd = open(path, O_RDONLY);
	size_t got = 0;

	if (fd < 0)
		return (size_t)-1;
	assert_int_equal(fs_read_all(fd, out, max - 1, &got), 0);
	close(fd);
	out[got] = '\0';
	return got;
}

static void test_hostile_text_stays_one_line(void **state)
{
	char path[512], text[4096];

	(void)state;
	log_to("escape.log", LOG_FILE_MAX_DEFAULT, path, sizeof(path));
	log_warn("ssh: key exchange with %s failed: %s", "127.0.0.9",
		 "SSH-2.0-\x1b[31mred\x1b[0m\r\nforged: line\xff");
	assert_true(slurp(path, text, sizeof(text)) != (size_t)-1);
	assert_string_equal(text,
		"t: warning: ssh: key exchange with 127.0.0.9 failed: "
		"SSH-2.0-\\x1b[31mred\\x1b[0m\\x0d\\x0aforged: line\\xff\n");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_limiter_burst_then_summary(void **state)
{
	char path[512], text[16384];

	(void)state;
	log_set_clock(fake_clock);
	fake_now = 1000000;
	log_to("limit.log", LOG_FILE_MAX_DEFAULT, path, sizeof(path));
	/* just under and at the burst: all shown */
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		log_warn_limited("listener refused", "refused %d", i);
	slurp(path, text, sizeof(text));
	assert_int_equal(count(text, "refused "), LOG_LIMIT_BURST);
	/* over it: counted, not shown; another key is not held back */
	for (int i = 0; i < 20; i++) {
		fake_now += 100;
		log_warn_limited("listener refused", "refused %d", 100 + i);
	}
	log_warn_limited("other", "other key");
	slurp(path, text, sizeof(text));
	assert_int_equal(count(text, "refused "), LOG_LIMIT_BURST);
	assert_int_equal(count(text, "other key"), 1);
	assert_int_equal(count(text, "suppressed"), 0);
	/* the window ends: the next line of any kind brings the summary */
	fake_now += LOG_LIMIT_WINDOW_SECONDS * 1000 - 2000 - 1;
	log_info("still inside the window");
	slurp(path, text, sizeof(text));
	assert_int_equal(count(text, "suppressed"), 0);
	fake_now += 1;
	log_info("window over");
	slurp(path, text, sizeof(text));
	assert_non_null(strstr(text, "t: warning: listener refused: (20 "
			       "similar messages suppressed in the last 60 "
			       "s)\nt: window over\n"));
	/* a new window shows the burst again */
	log_warn_limited("listener refused", "refused again");
	slurp(path, text, sizeof(text));
	assert_int_equal(count(text, "refused again"), 1);
	/* one over the burst, then flushed at shutdown */
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		log_warn_limited("listener refused", "refused more");
	log_flush_limits();
	slurp(path, text, sizeof(text));
	assert_non_null(strstr(text, "listener refused: (1 similar messages "
			       "suppressed in the last 0 s)\n"));
	log_set_clock(NULL);
}

static void test_limiter_table_full_summarises_evicted(void **state)
{
	char path[512], text[65536], key[32];

	(void)state;
	log_set_clock(fake_clock);
	log_to("evict.log", LOG_FILE_MAX_DEFAULT, path, sizeof(path));
	for (int k = 0; k <= LOG_LIMIT_SLOTS; k++) {
		fake_now += 10;
		snprintf(key, sizeof(key), "key %d", k);
		for (int i = 0; i <= LOG_LIMIT_BURST; i++)
			log_warn_limited(key, "message of %s", key);
	}
	slurp(path, text, sizeof(text));
	/* key 0 was the oldest: it made room and said what it hid */
	assert_non_null(strstr(text, "key 0: (1 similar messages suppressed"));
	assert_null(strstr(text, "key 1: (1 similar"));
	log_set_clock(NULL);
}

static void test_rotation_under_at_over_cap(void **state)
{
	char path[512], old[600], text[8192], line[LOG_LINE_MAX];
	struct stat st;

	(void)state;
	log_to("rot.log", LOG_FILE_MIN, path, sizeof(path));
	snprintf(old, sizeof(old), "%s.1", path);
	memset(line, 'x', 1000);
	line[1000] = '\0';
	/* 4 lines of 1004 bytes ("t: " + 1000 + LF): under the cap */
	for (int i = 0; i < 4; i++)
		log_info("%s", line);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4016);
	/* a line that ends exactly at the cap stays */
	line[76] = '\0';
	log_info("%s", line);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, LOG_FILE_MIN);
	assert_int_equal(stat(old, &st), -1);
	/* one byte over: the file moves to .1, the line starts a new one */
	log_info("y");
	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(st.st_size, LOG_FILE_MIN);
	assert_int_equal(slurp(path, text, sizeof(text)), 5);
	assert_string_equal(text, "t: y\n");
	/* a writer beside us (a library on stderr) counts towards the cap */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 5 + 77);
}

static void test_rotation_keeps_the_newest_files(void **state)
{
	char path[512], name[600], line[LOG_LINE_MAX], text[8192];
	struct stat st;

	(void)state;
	log_to("keep.log", LOG_FILE_MIN, path, sizeof(path));
	memset(line, 'k', 1000);
	line[1000] = '\0';
	for (int i = 0; i < 5 * (LOG_FILE_KEEP_DEFAULT + 2); i++)
		log_info("%d %s", i % 10, line);
	for (unsigned k = 1; k <= LOG_FILE_KEEP_DEFAULT + 1; k++) {
		snprintf(name, sizeof(name), "%s.%u", path, k);
		assert_int_equal(stat(name, &st),
				 k <= LOG_FILE_KEEP_DEFAULT ? 0 : -1);
		if (k <= LOG_FILE_KEEP_DEFAULT)
			assert_true(st.st_size <= LOG_FILE_MIN);
	}
	/* the newest line is in the live file */
	slurp(path, text, sizeof(text));
	assert_non_null(strstr(text, "t: 9 kkk"));
}

static void test_open_file_refuses_bad_settings(void **state)
{
	struct err e = { 0 };
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.log", dir);
	assert_int_equal(log_open_file(path, LOG_FILE_MIN - 1, 1, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "below 4096 bytes"));
	assert_int_equal(log_open_file(path, LOG_FILE_MIN,
				       LOG_FILE_KEEP_MAX + 1, &e), -EINVAL);
	snprintf(path, sizeof(path), "%s/no/such/dir.log", dir);
	assert_int_equal(log_open_file(path, LOG_FILE_MIN, 1, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "cannot open"));
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	log_set_program("t");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls_and_bad_utf8),
		cmocka_unit_test(test_escape_never_overruns_or_splits),
		cmocka_unit_test(test_hostile_text_stays_one_line),
		cmocka_unit_test(test_limiter_burst_then_summary),
		cmocka_unit_test(test_limiter_table_full_summarises_evicted),
		cmocka_unit_test(test_rotation_under_at_over_cap),
		cmocka_unit_test(test_rotation_keeps_the_newest_files),
		cmocka_unit_test(test_open_file_refuses_bad_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
