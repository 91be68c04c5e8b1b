/* test_flash_bootrec.c: boot record layout, CRC, format and slot choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash/flash_impl.h"

static void test_roundtrip_and_crc(void **state)
{
	struct flash_bootrec r = { .format = 1, .sequence = 0x0102030405ULL,
				   .bank = 1, .trial = true,
				   .boot_count = 2 }, out;
	uint8_t raw[FLASH_BOOTREC_SIZE];
	struct err e;

	(void)state;
	flash_bootrec_encode(&r, raw);
	assert_memory_equal(raw, "TNDMBOOT", 8);
	assert_int_equal(flash_bootrec_decode(raw, sizeof(raw), &out, &e), 0);
	assert_true(out.sequence == r.sequence && out.bank == 1 &&
		    out.trial && out.boot_count == 2);
	for (size_t i = 12; i < sizeof(raw); i++) {	/* any flip is caught */
		raw[i] ^= 0x04;
		assert_int_equal(flash_bootrec_decode(raw, sizeof(raw), &out,
						      &e), FLASH_ERR_CORRUPT);
		raw[i] ^= 0x04;
	}
	assert_int_equal(flash_bootrec_decode(raw, sizeof(raw) - 1, &out, &e),
			 FLASH_ERR_CORRUPT);
}

static void test_newer_format_refused(void **state)
{
	struct flash_bootrec r = { .format = FLASH_FORMAT_VERSION + 1,
				   .sequence = 1 }, out;
	uint8_t raw[FLASH_BOOTREC_SIZE];
	struct err e;

	(void)state;
	flash_bootrec_encode(&r, raw);
	assert_int_equal(flash_bootrec_decode(raw, sizeof(raw), &out, &e),
			 FLASH_ERR_FORMAT);
	/* I5: even with a length this build does not know. */
	assert_int_equal(flash_bootrec_decode(raw, 40, &out, &e),
			 FLASH_ERR_FORMAT);
}

/* I2: the newest record is never the one overwritten. */
static void test_commit_alternates_slots(void **state)
{
	char dir[] = "/tmp/test_flash_bootrec.XXXXXX";
	struct flash_store *s;
	struct err e;
	int slot;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(flash_store_init(dir, &e), 0);
	assert_int_equal(flash_store_open(dir, &s, &e), 0);
	slot = s->rec_slot;
	/* Five commits whatever sequence the fresh store starts from. */
	for (int n = 0; n < 5; n++) {
		uint64_t seq = s->rec.sequence + 1;

		assert_int_equal(flash_bootrec_commit(s, n % 2, true,
						      (uint32_t)n, &e), 0);
		assert_int_equal(s->rec_slot, 1 - slot);
		slot = s->rec_slot;
		/* Reloaded from disk: the newer copy, in the other slot. */
		memset(&s->rec, 0, sizeof(s->rec));
		s->rec_slot = -1;
		assert_int_equal(flash_bootrec_load(s, &e), 0);
		assert_true(s->rec.sequence == seq && s->rec_slot == slot);
		assert_int_equal(s->rec.bank, n % 2);
		assert_int_equal(s->rec.boot_count, (uint32_t)n);
	}
	assert_int_equal(flash_store_confirm(s, &e), 0);
	assert_false(s->rec.trial);
	flash_store_close(s);
	assert_int_equal(fs_remove_tree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_crc),
		cmocka_unit_test(test_newer_format_refused),
		cmocka_unit_test(test_commit_alternates_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
