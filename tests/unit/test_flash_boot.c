/*
 * test_flash_boot.c: what tandem-loader asks at each start
 * (flash_store_boot): a trial bank's boots are counted before it runs, and
 * after FLASH_BOOT_TRIES unconfirmed ones the store rolls back to the
 * other bank, says why, and is off trial. A confirmed bank is never
 * rewritten by a boot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash/flash_impl.h"

struct fixture {
	char dir[64];
	struct flash_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_flash_boot.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(flash_store_init(f->dir, &e), 0);
	assert_int_equal(flash_store_open(f->dir, &f->s, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	flash_store_close(f->s);
	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

/* The record on disk, as the next loader start reads it. */
static struct flash_bootrec on_disk(struct fixture *f)
{
	struct flash_store *s;
	struct flash_bootrec r;
	struct err e;

	assert_int_equal(flash_store_open(f->dir, &s, &e), 0);
	r = s->rec;
	flash_store_close(s);
	return r;
}

/* A confirmed bank boots as it is: no boot record is written. */
static void test_confirmed_bank_is_not_counted(void **state)
{
	struct fixture *f = *state;
	struct flash_boot_choice c;
	uint64_t seq = on_disk(f).sequence;
	struct err e;

	for (int n = 0; n < FLASH_BOOT_TRIES + 2; n++) {
		assert_int_equal(flash_store_boot(f->s, &c, &e), 0);
		assert_false(c.rolled_back);
	}
	assert_true(on_disk(f).sequence == seq);
	assert_false(on_disk(f).trial);
}

static void test_trial_boots_counted_then_rolled_back(void **state)
{
	struct fixture *f = *state;
	struct flash_boot_choice c;
	struct flash_bootrec r;
	int trial_bank = 1 - (int)f->s->rec.bank;
	struct buf note;
	struct err e;

	/* An install activated the other bank on trial. */
	assert_int_equal(flash_bootrec_commit(f->s, (uint32_t)trial_bank, true,
					      0, &e), 0);
	for (uint32_t n = 1; n <= FLASH_BOOT_TRIES; n++) {
		assert_int_equal(flash_store_boot(f->s, &c, &e), 0);
		assert_false(c.rolled_back);
		assert_int_equal(c.bank, trial_bank);
		/* Counted on disk before the bank runs: a crash counts. */
		r = on_disk(f);
		assert_true(r.trial);
		assert_int_equal(r.bank, trial_bank);
		assert_int_equal(r.boot_count, n);
	}
	assert_int_equal(flash_store_boot(f->s, &c, &e), 0);
	assert_true(c.rolled_back);
	assert_int_equal(c.bank, 1 - trial_bank);
	assert_non_null(strstr(c.reason, "started 3 times without confirming"));
	r = on_disk(f);
	assert_false(r.trial);
	assert_int_equal(r.bank, 1 - trial_bank);
	assert_int_equal(r.boot_count, 0);
	/* The reason is kept for tandemd to log. */
	buf_init(&note, 4096);
	assert_int_equal(flash_store_last_result(f->s, &note), 0);
	assert_non_null(strstr(note.data, "rollback: "));
	assert_non_null(strstr(note.data, c.reason));
	buf_free(&note);
	/* And the bank it returned to is not on trial: no more counting. */
	assert_int_equal(flash_store_boot(f->s, &c, &e), 0);
	assert_false(c.rolled_back);
	assert_true(on_disk(f).sequence == r.sequence);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_confirmed_bank_is_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_trial_boots_counted_then_rolled_back, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
