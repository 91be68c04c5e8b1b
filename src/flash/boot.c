/*
 * boot.c: what tandem-loader asks at every start: which bank to run, and
 * whether the trial bank has had its chances. Counts boots and rolls back;
 * never writes a bank.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "flash/flash_impl.h"

static void bank_version(struct flash_store *s, int bank, char *out,
			 size_t outlen)
{
	struct bundle_manifest m;
	bool present;
	struct err e;

	if (flash_bank_manifest(s, bank, &m, &present, &e) < 0)
		snprintf(out, outlen, "damaged");
	else
		snprintf(out, outlen, "%s", present ? m.version : "empty");
}

/* The note goes down before the flip, so a rollback never goes unsaid. */
static int rollback(struct flash_store *s, struct flash_boot_choice *out,
		    struct err *e)
{
	char bad[BUNDLE_VERSION_MAX], good[BUNDLE_VERSION_MAX];
	char note[FLASH_NOTE_MAX], path[PATH_MAX], when[64];
	int from = (int)s->rec.bank, to = 1 - from;
	time_t now = time(NULL);
	struct tm tm;
	int n;

	bank_version(s, from, bad, sizeof(bad));
	bank_version(s, to, good, sizeof(good));
	snprintf(out->reason, sizeof(out->reason),
		 "bank %d (bundle %s) started %u times without confirming "
		 "itself healthy; rolled back to bank %d (bundle %s)", from,
		 bad, s->rec.boot_count, to, good);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(note, sizeof(note), "%s rollback: %s\n", when,
		     out->reason);
	flash_path(s, path, sizeof(path), "last-result");
	if (fs_atomic_write(path, note, (size_t)n, 0644, e) < 0) {
		e->code = FLASH_ERR_IO;
		return err_prefix(e, "recording the rollback");
	}
	if (flash_bootrec_commit(s, (uint32_t)to, false, 0, e) < 0)
		return e->code;
	out->rolled_back = true;
	return 0;
}

/* The first component the bank's manifest flags executable, if any. */
static int find_executable(struct flash_store *s, int bank,
			   struct flash_boot_choice *out, struct err *e)
{
	struct bundle_manifest m;
	bool present;

	out->mc_image[0] = '\0';
	if (flash_bank_manifest(s, bank, &m, &present, e) < 0)
		return e->code;
	if (!present)
		return 0;
	for (size_t i = 0; i < m.ncomponents; i++) {
		if (!(m.components[i].flags & BUNDLE_FLAG_EXECUTABLE))
			continue;
		if (s->backend == FLASH_BACKEND_BLOCK) {
			char name[32];

			snprintf(name, sizeof(name), "mc.bank%d", bank);
			return flash_blk_image_file(s, bank, &m.components[i],
						    name, 0755, out->mc_image,
						    sizeof(out->mc_image), e);
		}
		if (flash_bank_file(s, bank, m.components[i].name,
				    out->mc_image, sizeof(out->mc_image)) < 0)
			return err_set(e, FLASH_ERR_IO, "path too long");
		return 0;
	}
	return 0;
}

int flash_store_boot(struct flash_store *s, struct flash_boot_choice *out,
		     struct err *e)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->rec_mu);
	if (flash_bootrec_load(s, e) < 0) {
		rc = e->code;
	} else if (s->rec.trial && s->rec.boot_count >= FLASH_BOOT_TRIES) {
		if (rollback(s, out, e) < 0)
			rc = e->code;
	} else if (s->rec.trial) {
		/* Counted before the bank runs: a crash still counts. */
		if (flash_bootrec_commit(s, s->rec.bank, true,
					 s->rec.boot_count + 1, e) < 0)
			rc = e->code;
	}
	out->bank = (int)s->rec.bank;
	pthread_mutex_unlock(&s->rec_mu);
	if (rc < 0)
		return rc;
	return find_executable(s, out->bank, out, e);
}
