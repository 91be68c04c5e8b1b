/* test_ftp_parser.c: FTP line reader, command, PORT/EPRT and target parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ftp/ftp.h"

static int feed_all(struct ftp_line_reader *r, const char *text, size_t *used)
{
	return ftp_line_feed(r, (const uint8_t *)text, strlen(text), used);
}

static void test_lines_split_anywhere(void **state)
{
	const char *stream = "USER manage\r\nPASS !manage\r\n";
	size_t cut;

	(void)state;
	/* Every split point of the stream yields the same two lines. */
	for (cut = 0; cut <= strlen(stream); cut++) {
		struct ftp_line_reader r;
		char lines[2][FTP_LINE_MAX];
		size_t off = 0, used, nlines = 0;
		size_t parts[2] = { cut, strlen(stream) - cut };
		size_t p;

		ftp_line_reader_init(&r);
		for (p = 0; p < 2; p++) {
			size_t end = off + parts[p];

			while (off < end) {
				int rc = ftp_line_feed(&r,
					(const uint8_t *)stream + off,
					end - off, &used);

				off += used;
				if (rc == FTP_LINE_READY)
					memcpy(lines[nlines++], r.line,
					       strlen(r.line) + 1);
			}
		}
		assert_int_equal(nlines, 2);
		assert_string_equal(lines[0], "USER manage");
		assert_string_equal(lines[1], "PASS !manage");
	}
}

static void test_line_length_limit(void **state)
{
	char line[FTP_LINE_MAX + 4];
	struct ftp_line_reader r;
	size_t used, len;

	(void)state;
	/* FTP_LINE_MAX counts CR LF: content of MAX - 2 fits, MAX - 1 not. */
	for (len = FTP_LINE_MAX - 3; len <= FTP_LINE_MAX - 1; len++) {
		int want = len <= FTP_LINE_MAX - 2 ? FTP_LINE_READY
						   : FTP_LINE_TOO_LONG;

		memset(line, 'A', len);
		memcpy(line + len, "\r\n", 3);
		ftp_line_reader_init(&r);
		assert_int_equal(feed_all(&r, line, &used), want);
		assert_int_equal(used, len + 2);
	}
	/* After an overlong line, the next one is read normally. */
	assert_int_equal(feed_all(&r, "NOOP\r\n", &used), FTP_LINE_READY);
	assert_string_equal(r.line, "NOOP");
}

static void test_telnet_iac_dropped(void **state)
{
	struct ftp_line_reader r;
	size_t used;

	(void)state;
	ftp_line_reader_init(&r);
	/* IAC IP, IAC DM (synch before ABOR), IAC WILL x, IAC IAC. */
	assert_int_equal(feed_all(&r, "\xff\xf4\xff\xf2" "AB\xff\xfb\x01OR"
				  "\xff\xff\r\n", &used), FTP_LINE_READY);
	assert_string_equal(r.line, "ABOR\xff");
}

static void test_commands(void **state)
{
	struct ftp_command c;
	char arg[FTP_ARG_MAX + 8];
	size_t n;

	(void)state;
	assert_int_equal(ftp_command_parse("stor flash", &c), 0);
	assert_string_equal(c.verb, "STOR");
	assert_string_equal(c.arg, "flash");
	assert_int_equal(ftp_command_parse("PASS", &c), 0);
	assert_false(c.has_arg);
	assert_int_equal(ftp_command_parse("PASS ", &c), 0);
	assert_true(c.has_arg);
	assert_string_equal(c.arg, "");
	assert_int_equal(ftp_command_parse("NO", &c), -EINVAL);
	assert_int_equal(ftp_command_parse("ABCDE", &c), -EINVAL);
	assert_int_equal(ftp_command_parse("ST0R x", &c), -EINVAL);
	assert_int_equal(ftp_command_parse("STOR a\tb", &c), -EINVAL);
	/* Argument length: just under, at, over the limit. */
	for (n = FTP_ARG_MAX - 2; n <= FTP_ARG_MAX; n++) {
		memcpy(arg, "STOR ", 5);
		memset(arg + 5, 'x', n);
		arg[5 + n] = '\0';
		assert_int_equal(ftp_command_parse(arg, &c),
				 n < FTP_ARG_MAX ? 0 : -E2BIG);
	}
}

static void test_port_and_eprt(void **state)
{
	struct sockaddr_storage a, peer;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a;
	socklen_t len;

	(void)state;
	assert_int_equal(ftp_port_parse("127,0,0,1,15,160", &a, &len), 0);
	assert_int_equal(ntohs(sin->sin_port), 4000);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(ftp_port_parse("127,0,0,1,15", &a, &len), -EINVAL);
	assert_int_equal(ftp_port_parse("127,0,0,1,15,160,1", &a, &len),
			 -EINVAL);
	assert_int_equal(ftp_port_parse("127,0,0,256,15,160", &a, &len),
			 -EINVAL);
	assert_int_equal(ftp_port_parse("127,0,0,1,0,0", &a, &len), -EINVAL);
	assert_int_equal(ftp_port_parse("127,,0,1,1,1", &a, &len), -EINVAL);
	assert_int_equal(ftp_eprt_parse("|1|127.0.0.1|4000|", &a, &len), 0);
	assert_int_equal(ntohs(sin->sin_port), 4000);
	assert_int_equal(ftp_eprt_parse("|2|::1|4000|", &a, &len), 0);
	assert_int_equal(a.ss_family, AF_INET6);
	assert_int_equal(ftp_eprt_parse("|1|::1|4000|", &a, &len), -EINVAL);
	assert_int_equal(ftp_eprt_parse("|3|1.2.3.4|4000|", &a, &len),
			 -EINVAL);
	assert_int_equal(ftp_eprt_parse("|1|1.2.3.4|65536|", &a, &len),
			 -EINVAL);
	assert_int_equal(ftp_eprt_parse("|1|1.2.3.4|4000", &a, &len), -EINVAL);
	assert_int_equal(ftp_eprt_parse("|1|1.2.3.4|4000|x", &a, &len),
			 -EINVAL);
	/* Same host: ports ignored, v4-mapped v6 equals v4. */
	ftp_eprt_parse("|1|127.0.0.1|1|", &a, &len);
	ftp_eprt_parse("|2|::ffff:127.0.0.1|2|", &peer, &len);
	assert_true(ftp_same_host(&a, &peer));
	ftp_eprt_parse("|1|127.0.0.2|1|", &peer, &len);
	assert_false(ftp_same_host(&a, &peer));
}

static void test_targets(void **state)
{
	static const char *refused[] = { "flash:", "Flash", "/flash",
					 "../flash", "flash:forc", "license",
					 "flash ", "" };
	bool force;
	size_t i;

	(void)state;
	assert_int_equal(ftp_target_parse("flash", &force), 0);
	assert_false(force);
	assert_int_equal(ftp_target_parse("flash:force", &force), 0);
	assert_true(force);
	for (i = 0; i < ARRAY_SIZE(refused); i++)
		assert_int_equal(ftp_target_parse(refused[i], &force),
				 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split_anywhere),
		cmocka_unit_test(test_line_length_limit),
		cmocka_unit_test(test_telnet_iac_dropped),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_port_and_eprt),
		cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
