/*
 * floor.c: the security floor, the highest security_version this
 * controller has activated and confirmed (docs/flash.md "Security floor").
 * Owns flash/security-floor; must not write a boot record or a bank.
 *
 * File: flash/security-floor, one line, the floor in decimal ("7\n"), no
 * sign, no leading zeros, at most UINT32_MAX; anything else is refused as
 * corrupt (never read as 0). Written only through fs_atomic_write.
 * Absent (a store older than the floor, or nothing confirmed with a
 * security version yet): 0.
 *
 * Invariants (tests name them):
 *   F1  The floor is raised only after the boot record that confirms the
 *       bank is durable; a bank on trial never raises it, so the bank the
 *       loader falls back to is never below it.
 *   F2  The floor never goes down: a raise writes only a larger value.
 *   F3  What the checks use is the larger of the file and, when the
 *       active bank is confirmed, that bank's security_version: a cut
 *       between the confirming record and the floor's write loses
 *       nothing, and the next confirm writes the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flash/flash_impl.h"

/* The file's text: "4294967295\n" and a margin to tell "too long". */
#define FLASH_FLOOR_FILE_MAX	32

int flash_floor_parse(const char *text, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len < 2 || text[len - 1] != '\n' || len - 1 > 10 ||
	    (text[0] == '0' && len != 2))
		return -1;
	for (i = 0; i + 1 < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int flash_floor_read(const struct flash_store *s, uint32_t *out,
		     struct err *e)
{
	char path[PATH_MAX];
	struct buf text;
	int rc = 0;

	*out = 0;
	flash_path(s, path, sizeof(path), "%s", FLASH_FLOOR_FILE);
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 :
		       err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	buf_init(&text, FLASH_FLOOR_FILE_MAX);
	if (fs_read_file(path, FLASH_FLOOR_FILE_MAX, &text, e) < 0)
		rc = err_set(e, FLASH_ERR_CORRUPT, "security floor %s: %s; "
			     "nothing is installed or rolled back until it "
			     "is repaired", path, e->msg);
	else if (flash_floor_parse(text.data ? text.data : "", text.len,
				   out) < 0)
		rc = err_set(e, FLASH_ERR_CORRUPT, "security floor %s is not "
			     "one decimal number and a newline; nothing is "
			     "installed or rolled back until it is repaired",
			     path);
	buf_free(&text);
	return rc;
}

/* A bank's security_version; an empty or unreadable bank declares 0. */
static uint32_t bank_security_version(const struct flash_store *s, int bank)
{
	struct bundle_manifest *m = malloc(sizeof(*m));
	uint32_t v = 0;
	bool present;
	struct err e;

	if (m && flash_bank_manifest(s, bank, m, &present, &e) == 0 &&
	    present)
		v = m->security_version;
	free(m);
	return v;
}

int flash_floor_get(const struct flash_store *s,
		    const struct flash_bootrec *rec, uint32_t *floor,
		    struct err *e)
{
	uint32_t active;

	if (flash_floor_read(s, floor, e) < 0)
		return e->code;
	if (!rec->trial) {		/* F3 */
		active = bank_security_version(s, (int)rec->bank);
		if (active > *floor)
			*floor = active;
	}
	return 0;
}

int flash_floor_raise(struct flash_store *s, struct err *e)
{
	char path[PATH_MAX], text[FLASH_FLOOR_FILE_MAX];
	uint32_t file, active;
	int n;

	if (s->rec.trial)		/* F1 */
		return 0;
	if (flash_floor_read(s, &file, e) < 0)
		return e->code;
	active = bank_security_version(s, (int)s->rec.bank);
	if (active <= file)		/* F2 */
		return 0;
	n = snprintf(text, sizeof(text), "%u\n", active);
	flash_path(s, path, sizeof(path), "%s", FLASH_FLOOR_FILE);
	if (fs_atomic_write(path, text, (size_t)n, 0644, e) < 0) {
		e->code = FLASH_ERR_IO;
		return err_prefix(e, "bank %u is confirmed, but raising the "
				  "security floor from %u to %u failed (the "
				  "next confirm raises it)", s->rec.bank,
				  file, active);
	}
	return 0;
}

int flash_store_security(struct flash_store *s, struct flash_security *out,
			 struct err *e)
{
	struct flash_bootrec rec;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->rec_mu);
	rc = flash_bootrec_load(s, e);
	rec = s->rec;
	pthread_mutex_unlock(&s->rec_mu);
	if (rc < 0)
		return e->code;
	out->active = bank_security_version(s, (int)rec.bank);
	out->previous = bank_security_version(s, 1 - (int)rec.bank);
	if (flash_floor_read(s, &out->floor_file, e) < 0 ||
	    flash_floor_get(s, &rec, &out->floor, e) < 0)
		return e->code;
	return 0;
}
