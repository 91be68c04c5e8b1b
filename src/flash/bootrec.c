/*
 * bootrec.c: the two boot records, flash/bootrec.0 and bootrec.1. Owns their
 * byte layout and the rule for picking one; never touches a bank.
 *
 * Layout (FLASH_BOOTREC_SIZE = 64 bytes, integers little-endian):
 *   0   8  magic "TNDMBOOT"
 *   8   4  format version (FLASH_FORMAT_VERSION)
 *   12  4  record length (64)
 *   16  8  sequence number, +1 on every write
 *   24  4  active bank (0 or 1)
 *   28  4  flags: bit 0 = trial (the active bank is not yet confirmed)
 *   32  4  boot count: boots of the trial bank so far
 *   36 24  reserved, zero
 *   60  4  CRC32C of bytes 0..59
 *
 * The newest valid record (highest sequence with a good CRC) wins; a
 * record whose CRC fails is ignored. A record that carries our magic and a
 * newer format version refuses the store outright (it may mean anything).
 * Every write goes to the slot that does not hold the newest record, so a
 * cut mid-write leaves the newest one intact (invariant I2 in store.c).
 * The block backend keeps the two slots in a partition of their own
 * (blk.c); the records and this rule are the same.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flash/flash_impl.h"

#define BOOTREC_MAGIC		"TNDMBOOT"
#define BOOTREC_CRC_OFFSET	60
#define BOOTREC_FLAG_TRIAL	0x1u

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void flash_bootrec_encode(const struct flash_bootrec *r,
			  uint8_t out[FLASH_BOOTREC_SIZE])
{
	memset(out, 0, FLASH_BOOTREC_SIZE);
	memcpy(out, BOOTREC_MAGIC, 8);
	put32(out + 8, r->format);
	put32(out + 12, FLASH_BOOTREC_SIZE);
	put64(out + 16, r->sequence);
	put32(out + 24, r->bank);
	put32(out + 28, r->trial ? BOOTREC_FLAG_TRIAL : 0);
	put32(out + 32, r->boot_count);
	put32(out + BOOTREC_CRC_OFFSET,
	      crc32c(0, out, BOOTREC_CRC_OFFSET));
}

/*
 * 0 for a good record, FLASH_ERR_FORMAT for one from a newer format,
 * FLASH_ERR_CORRUPT for anything else (short, bad magic, bad CRC, bad bank).
 */
int flash_bootrec_decode(const uint8_t *p, size_t len,
			 struct flash_bootrec *out, struct err *e)
{
	uint32_t format, flags;

	if (len < 12 || memcmp(p, BOOTREC_MAGIC, 8))
		return err_set(e, FLASH_ERR_CORRUPT, "not a boot record");
	format = get32(p + 8);
	if (format > FLASH_FORMAT_VERSION)
		return err_set(e, FLASH_ERR_FORMAT,
			       "boot record format %u is newer than this "
			       "build's %d", format, FLASH_FORMAT_VERSION);
	if (len != FLASH_BOOTREC_SIZE || get32(p + 12) != FLASH_BOOTREC_SIZE)
		return err_set(e, FLASH_ERR_CORRUPT,
			       "boot record is %zu bytes, not %d", len,
			       FLASH_BOOTREC_SIZE);
	if (crc32c(0, p, BOOTREC_CRC_OFFSET) != get32(p + BOOTREC_CRC_OFFSET))
		return err_set(e, FLASH_ERR_CORRUPT, "boot record CRC fails");
	flags = get32(p + 28);
	out->format = format;
	out->sequence = get64(p + 16);
	out->bank = get32(p + 24);
	out->trial = flags & BOOTREC_FLAG_TRIAL;
	out->boot_count = get32(p + 32);
	if (out->bank >= FLASH_BANKS || format == 0 ||
	    (flags & ~BOOTREC_FLAG_TRIAL))
		return err_set(e, FLASH_ERR_CORRUPT,
			       "boot record names bank %u or flags %#x",
			       out->bank, flags);
	return 0;
}

/* Reads both slots and keeps the newest valid one in s->rec. */
int flash_bootrec_load(struct flash_store *s, struct err *e)
{
	struct flash_bootrec r, best = { 0 };
	int slot, best_slot = -1;
	struct err le;
	struct buf b;
	char path[PATH_MAX];

	buf_init(&b, FLASH_BOOTREC_SIZE * 4);
	for (slot = 0; slot < 2; slot++) {
		if (s->backend == FLASH_BACKEND_BLOCK) {
			snprintf(path, sizeof(path), "%.4000s slot %d",
				 s->dev_bootrec, slot);
			if (flash_blk_bootrec_read(s, slot, &b, &le) < 0)
				continue;
		} else {
			flash_path(s, path, sizeof(path), "bootrec.%d", slot);
			if (fs_read_file(path, FLASH_BOOTREC_SIZE * 4, &b,
					 &le) < 0)
				continue;
		}
		if (flash_bootrec_decode((const uint8_t *)b.data, b.len, &r,
					 &le) < 0) {
			if (le.code == FLASH_ERR_FORMAT) {
				buf_free(&b);
				return err_set(e, FLASH_ERR_FORMAT,
					       "%s: %s; refusing the store "
					       "rather than rewriting it", path,
					       le.msg);
			}
			continue;
		}
		if (best_slot < 0 || r.sequence > best.sequence) {
			best = r;
			best_slot = slot;
		}
	}
	buf_free(&b);
	if (best_slot < 0)
		return err_set(e, FLASH_ERR_CORRUPT,
			       "%s: neither boot record is valid",
			       s->backend == FLASH_BACKEND_BLOCK ?
			       s->dev_bootrec : s->dir);
	s->rec = best;
	s->rec_slot = best_slot;
	return 0;
}

/* Writes the next record into the slot not holding the newest one. */
int flash_bootrec_commit(struct flash_store *s, uint32_t bank, bool trial,
			 uint32_t boot_count, struct err *e)
{
	struct flash_bootrec next = {
		.format = FLASH_FORMAT_VERSION,
		.sequence = s->rec.sequence + 1,
		.bank = bank,
		.trial = trial,
		.boot_count = boot_count,
	};
	uint8_t raw[FLASH_BOOTREC_SIZE];
	char path[PATH_MAX];
	int slot = 1 - s->rec_slot;
	int injected = fault_write_errno(FLASH_FAULT_BOOTREC);

	flash_bootrec_encode(&next, raw);
	flash_path(s, path, sizeof(path), "bootrec.%d", slot);
	if (injected)
		return err_set(e, FLASH_ERR_IO, "writing boot record %d: %s",
			       slot, strerror(injected));
	if (s->backend == FLASH_BACKEND_BLOCK
	    ? flash_blk_bootrec_write(s, slot, raw, sizeof(raw), e) < 0
	    : fs_atomic_write(path, raw, sizeof(raw), 0644, e) < 0) {
		e->code = FLASH_ERR_IO;
		return err_prefix(e, "writing boot record %d", slot);
	}
	s->rec = next;
	s->rec_slot = slot;
	return 0;
}
