/*
 * fuzz_pfu_record.c: libFuzzer target for the PFU_RECORD frame's decoder,
 * which reads what the partner sends. Checks its promises: a record it
 * accepts encodes and decodes to the same record; merging a record into
 * itself changes nothing; a merge never lowers the count or lifts a halt
 * at the same generation (P6).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfu/pfu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfu_record r, again, mine;
	struct buf b;
	struct err e;

	if (pfu_record_decode(data, size, &r, &e) < 0)
		return 0;
	buf_init(&b, PFU_RECORD_JSON_MAX * 8);
	if (pfu_record_encode(&r, &b) < 0 ||
	    pfu_record_decode(b.data, b.len, &again, &e) < 0 ||
	    memcmp(&r, &again, sizeof(r)) != 0)
		__builtin_trap();
	buf_free(&b);
	mine = r;
	if (pfu_record_merge(&mine, &r))
		__builtin_trap();
	memset(&mine, 0, sizeof(mine));
	memcpy(mine.target, r.target, sizeof(mine.target));
	memcpy(mine.partner, r.partner, sizeof(mine.partner));
	mine.generation = r.generation;
	mine.attempts = 1;
	mine.halted = true;
	pfu_record_merge(&mine, &r);
	if (!mine.halted || mine.attempts < 1 || mine.attempts < r.attempts)
		__builtin_trap();
	return 0;
}
