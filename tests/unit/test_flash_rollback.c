/*
 * test_flash_rollback.c: flash_store_rollback, PFU's roll-back way out:
 * the other bank becomes active and confirmed through the boot record
 * alone (I2), only after its images match its signed manifest; an empty
 * or damaged bank is refused and nothing changes; a power cut at every
 * I/O step leaves the old or the new bank active, never none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flash_fixture.h"

static struct flash_fixture fx;

static void install(const char *v)
{
	flash_fixture_install(&fx, fx.s, v);
}

static int setup(void **state)
{
	(void)state;
	flash_fixture_setup(&fx, "test_flash_rb");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	flash_fixture_teardown(&fx);
	return 0;
}

static struct flash_status status_of(void)
{
	struct flash_store *s;
	struct flash_status st;
	struct err e;

	/* A fresh open: what the next start reads from disk. */
	assert_int_equal(flash_store_open(fx.dir, &s, &e), 0);
	assert_int_equal(flash_store_status(s, &st, &e), 0);
	flash_store_close(s);
	return st;
}

static void test_rollback_returns_to_previous_bank(void **state)
{
	struct flash_status before, after;
	char version[BUNDLE_VERSION_MAX];
	struct err e;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	before = status_of();
	assert_string_equal(before.bundle_version, "TS250P002");
	assert_string_equal(before.previous_version, "TS250P001");
	assert_int_equal(flash_store_rollback(fx.s, version, sizeof(version),
					      &e), 0);
	assert_string_equal(version, "TS250P001");
	after = status_of();
	assert_string_equal(after.bundle_version, "TS250P001");
	assert_string_equal(after.previous_version, "TS250P002");
	assert_int_equal(after.active_bank, 1 - before.active_bank);
	assert_false(after.trial);		/* confirmed before: kept so */
	assert_true(after.sequence == before.sequence + 1);	/* I2 */
	/* And forward again: the bank it left is intact. */
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e), 0);
	assert_string_equal(status_of().bundle_version, "TS250P002");
}

static void test_rollback_refuses_empty_bank(void **state)
{
	struct flash_status before;
	struct err e;

	(void)state;
	install("TS250P001");
	before = status_of();
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_NO_PREVIOUS);
	assert_non_null(strstr(e.msg, "holds no bundle"));
	assert_true(status_of().sequence == before.sequence);
	assert_string_equal(status_of().bundle_version, "TS250P001");
}

static void test_rollback_refuses_damaged_bank(void **state)
{
	struct flash_status before;
	char path[PATH_MAX];
	struct err e;
	FILE *f;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	before = status_of();
	/* One byte of the previous bank's sc image changes. */
	flash_bank_file(fx.s, 1 - before.active_bank, "sc", path,
			sizeof(path));
	f = fopen(path, "r+b");
	assert_non_null(f);
	fputc(0xff, f);
	fclose(f);
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "cannot roll back to bank"));
	assert_non_null(strstr(e.msg, "TS250P001"));
	assert_true(status_of().sequence == before.sequence);
	assert_string_equal(status_of().bundle_version, "TS250P002");
}

/* A cut at every step of the rollback: old or new active, never none. */
static void test_rollback_powercut_every_step(void **state)
{
	struct flash_status before, st;
	int cuts = 0, done = 0;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	before = status_of();
	for (unsigned long cut = 1; cut < 50 && !done; cut++) {
		char spec[32];
		struct err e;
		pid_t pid;
		int status;

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "powercut=%lu", cut);
			if (fault_arm(spec, &e) < 0)
				_exit(3);
			_exit(flash_store_rollback(fx.s, NULL, 0, &e) == 0 ?
			      0 : 4);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		st = status_of();
		assert_false(st.trial);
		if (WEXITSTATUS(status) == 0) {
			assert_string_equal(st.bundle_version, "TS250P001");
			done = 1;
			break;
		}
		assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		cuts++;
		assert_true(!strcmp(st.bundle_version, "TS250P002") ||
			    !strcmp(st.bundle_version, "TS250P001"));
		if (strcmp(st.bundle_version, "TS250P002")) {
			/* It moved before the cut: back, for the next cut. */
			assert_int_equal(flash_store_rollback(fx.s, NULL, 0,
							      &e), 0);
			assert_string_equal(status_of().bundle_version,
					    "TS250P002");
		}
		assert_int_equal(status_of().active_bank, before.active_bank);
	}
	assert_true(done);
	/* The boot record write: write, fsync, rename, fsync of flash/. */
	assert_int_equal(cuts, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_rollback_returns_to_previous_bank, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_rollback_refuses_empty_bank, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rollback_refuses_damaged_bank, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rollback_powercut_every_step, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
