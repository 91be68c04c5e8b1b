/* test_update_tool.c: `tandem update`'s pure parts: --host parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tool/update.h"

static void ok(const char *host, bool http, const char *addr,
	       unsigned port)
{
	char got[64];
	unsigned p = 0;

	assert_int_equal(update_host_split(host, http, got, sizeof(got), &p),
			 0);
	assert_string_equal(got, addr);
	assert_int_equal(p, port);
}

static void bad(const char *host)
{
	char got[64];
	unsigned p = 0;

	assert_int_equal(update_host_split(host, false, got, sizeof(got), &p),
			 -1);
}

static void test_host_forms(void **state)
{
	(void)state;
	ok("127.0.0.2", false, "127.0.0.2", 443);
	ok("127.0.0.2", true, "127.0.0.2", 80);
	ok("127.0.0.2:20443", false, "127.0.0.2", 20443);
	ok("array.example", false, "array.example", 443);
	ok("[::1]:8443", false, "::1", 8443);
	ok("[::1]", true, "::1", 80);
	ok("fe80::1", false, "fe80::1", 443);	/* bare IPv6: no port */
	ok("h:65535", false, "h", 65535);	/* the last port */
	ok("h:1", false, "h", 1);
}

static void test_host_refused(void **state)
{
	unsigned p;

	(void)state;
	bad("");
	bad(":443");
	bad("h:");
	bad("h:0");
	bad("h:65536");			/* one over the last port */
	bad("h:44x");
	bad("h:-1");
	bad("[::1");
	bad("[::1]x");
	bad("[]:443");
	/* At and over the buffer: 63 bytes and the NUL fit, 64 do not. */
	{
		char host[80], out[64];

		memset(host, 'a', 63);
		host[63] = '\0';
		assert_int_equal(update_host_split(host, false, out,
						   sizeof(out), &p), 0);
		assert_int_equal(strlen(out), 63);
		memset(host, 'a', 64);
		host[64] = '\0';
		assert_int_equal(update_host_split(host, false, out,
						   sizeof(out), &p), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_forms),
		cmocka_unit_test(test_host_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
