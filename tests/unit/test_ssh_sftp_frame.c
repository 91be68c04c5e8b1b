/* test_ssh_sftp_frame.c: whole SFTP packets found before libssh reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ssh/shell.h"

/* One packet of length n (type byte and n - 1 payload bytes) at p. */
static size_t packet(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (n) {
		p[4] = 6;	/* SSH_FXP_WRITE */
		memset(p + 5, 0xaa, n - 1);
	}
	return 4 + (size_t)n;
}

/* Every prefix of three packets: whole ones counted, the rest partial. */
static void test_every_prefix(void **state)
{
	uint8_t data[4 + 5 + 4 + 1 + 4 + 300];
	size_t ends[3], len = 0;

	(void)state;
	len += packet(data + len, 5);
	ends[0] = len;
	len += packet(data + len, 1);
	ends[1] = len;
	len += packet(data + len, 300);
	ends[2] = len;
	for (size_t n = 0; n <= len; n++) {
		struct sftp_framer f = { .taken = 7 };
		size_t want = 0, whole = 0;

		for (size_t k = 0; k < 3; k++)
			if (ends[k] <= n) {
				want++;
				whole = ends[k];
			}
		sftp_framer_scan(&f, data, n);
		assert_false(f.bad);
		assert_int_equal(f.complete, want);
		assert_int_equal(f.partial, n - whole);
		assert_int_equal(f.taken, 7);	/* the caller's count */
	}
}

/* SFTP_PACKET_MAX is taken whole; one more byte, or 0, is refused as soon
 * as its 4-byte length is seen, whatever follows. */
static void test_length_limit(void **state)
{
	uint8_t *data = malloc(4 + SFTP_PACKET_MAX + 4);
	struct sftp_framer f;
	size_t len;

	(void)state;
	assert_non_null(data);
	len = packet(data, SFTP_PACKET_MAX - 1);
	sftp_framer_scan(&f, data, len);
	assert_false(f.bad);
	assert_int_equal(f.complete, 1);
	len = packet(data, SFTP_PACKET_MAX);
	sftp_framer_scan(&f, data, len);
	assert_false(f.bad);
	assert_int_equal(f.complete, 1);
	assert_int_equal(f.partial, 0);
	sftp_framer_scan(&f, data, 4);
	assert_false(f.bad);
	assert_int_equal(f.partial, 4);
	packet(data, SFTP_PACKET_MAX + 1);
	sftp_framer_scan(&f, data, 4);
	assert_true(f.bad);
	assert_int_equal(f.bad_length, SFTP_PACKET_MAX + 1);
	memcpy(data, "\xff\xff\xff\xff", 4);	/* the 5-byte header attack */
	sftp_framer_scan(&f, data, 5);
	assert_true(f.bad);
	assert_int_equal(f.bad_length, 0xffffffffu);
	/* Behind a good packet, a bad length still ends the session. */
	len = packet(data, 1);
	memset(data + len, 0, 4);
	sftp_framer_scan(&f, data, len + 4);
	assert_true(f.bad);
	assert_int_equal(f.bad_length, 0);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_length_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
