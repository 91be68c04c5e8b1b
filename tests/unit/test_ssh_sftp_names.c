/* test_ssh_sftp_names.c: the names the SFTP subsystem answers to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ssh/shell.h"

static void test_accepted_spellings(void **state)
{
	(void)state;
	assert_string_equal(sftp_target_name("flash"), "flash");
	assert_string_equal(sftp_target_name("/flash"), "flash");
	assert_string_equal(sftp_target_name("./flash"), "flash");
	assert_string_equal(sftp_target_name("//./flash:force"),
			    "flash:force");
	assert_string_equal(sftp_target_name("/progress"), "progress");
	assert_string_equal(sftp_target_name("progress:lastcodeload:text"),
			    "progress:lastcodeload:text");
}

static void test_refused_names(void **state)
{
	static const char *const bad[] = {
		"", "/", "flash2", "Flash", "flash/", "../flash", "a/flash",
		"/etc/passwd", "flash:", "flash:force:x", "progress:", " flash",
		"flash\n", "..", "/../progress",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(sftp_target_name(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_spellings),
		cmocka_unit_test(test_refused_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
