/*
 * store.c: opening a controller's flash store and everything that reads it
 * or flips only its boot record (status, confirm, check). Writing a bank is
 * install.c's; choosing the bank at boot is boot.c's.
 *
 * Layout of <state>/flash:
 *   bootrec.0, bootrec.1   boot records (bootrec.c)
 *   bank0/, bank1/         one full image set each, named by component,
 *                          plus manifest.json and manifest.sig (the exact
 *                          signed bytes); manifest.json is written last.
 *                          That is the whole signed bundle: export.c
 *                          rebuilds it from the active bank on demand.
 *   last-result            the loader's last rollback, as text
 *   lock                   flock()ed by a running install
 *   security-floor         the security floor (floor.c)
 *   storage.json           a block store's devices (storage.c); there,
 *                          bootrec.N and bankN/ are partitions (blk.c)
 *
 * Invariants (tests name them):
 *   I1  An install writes only the inactive bank; the active bank's files
 *       are never opened for writing, truncated or unlinked.
 *   I2  The newest valid boot record is never overwritten: a write goes to
 *       the other slot with sequence + 1.
 *   I3  A bank is activated only after every image in it was fsynced and
 *       read back with the signed sha256, and its manifest written last.
 *   I4  While the active bank is on trial no install runs, so the other
 *       bank is always the known-good fallback the loader rolls back to.
 *   I5  A store of a newer format is refused, never rewritten.
 *   I6  At most one install holds a store (flock on flash/lock).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash/flash_impl.h"

static int store_dir(const char *dir, char *out, size_t outlen,
		     struct err *e)
{
	int n = snprintf(out, outlen, "%s/flash", dir);

	if (n < 0 || (size_t)n >= outlen)
		return err_set(e, FLASH_ERR_USAGE, "%s: path too long", dir);
	return 0;
}

int flash_store_init(const char *dir, struct err *e)
{
	struct flash_store s = { .rec_slot = 1 };
	char path[PATH_MAX];
	struct err le;
	int rc;

	if (store_dir(dir, s.dir, sizeof(s.dir), e) < 0)
		return e->code;
	/* A block store made before is kept as it is, on its devices. */
	if (flash_storage_load(&s, e) < 0)
		return e->code;
	if (s.backend == FLASH_BACKEND_BLOCK)
		return flash_blk_init(&s, e) < 0 ? e->code : 0;
	if (fs_mkdir_p(s.dir, 0755, e) < 0)
		goto io;
	for (int i = 0; i < FLASH_BANKS; i++) {
		flash_path(&s, path, sizeof(path), "bank%d", i);
		if (fs_mkdir_p(path, 0755, e) < 0)
			goto io;
	}
	/* An existing store is kept as it is, whatever its state. */
	rc = flash_bootrec_load(&s, &le);
	if (rc == 0)
		return 0;
	if (rc == FLASH_ERR_FORMAT) {
		*e = le;
		return rc;
	}
	flash_path(&s, path, sizeof(path), "bootrec.0");
	if (access(path, F_OK) == 0 ||
	    (flash_path(&s, path, sizeof(path), "bootrec.1"),
	     access(path, F_OK) == 0))
		return err_set(e, FLASH_ERR_CORRUPT,
			       "%s: boot records exist but none is valid; "
			       "not replacing them", s.dir);
	/* Fresh: record 1 names the empty bank 0, not on trial. */
	s.rec = (struct flash_bootrec){ .sequence = 0 };
	/* Durable as it returns: the record's rename by the fsync of flash/
	 * that ends its atomic write, flash/ and the banks by fs_mkdir_p's
	 * fsync of each new directory's parent. */
	return flash_bootrec_commit(&s, 0, false, 0, e) < 0 ? e->code : 0;
io:
	e->code = FLASH_ERR_IO;
	return e->code;
}

int flash_store_open(const char *dir, struct flash_store **out,
		     struct err *e)
{
	struct flash_store *s;
	struct stat st;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	if (store_dir(dir, s->dir, sizeof(s->dir), e) < 0)
		goto fail;
	if (stat(s->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, FLASH_ERR_NOT_INIT,
			"%s: no flash store (run 'tandem flash init %s')",
			s->dir, dir);
		goto fail;
	}
	if (flash_storage_load(s, e) < 0 || flash_bootrec_load(s, e) < 0)
		goto fail;
	pthread_mutex_init(&s->status_mu, NULL);
	pthread_mutex_init(&s->rec_mu, NULL);
	s->watch_fd = -1;
	*out = s;
	return 0;
fail:
	free(s);
	return e->code;
}

void flash_store_close(struct flash_store *s)
{
	if (s) {
		flash_watch_close(s);
		pthread_mutex_destroy(&s->status_mu);
		pthread_mutex_destroy(&s->rec_mu);
	}
	free(s);
}

static int status_read(struct flash_store *s, struct flash_status *out,
		       struct err *e)
{
	struct bundle_manifest *m;
	bool present;
	int bank, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->rec_mu);
	if (flash_bootrec_load(s, e) < 0) {
		pthread_mutex_unlock(&s->rec_mu);
		return e->code;
	}
	bank = (int)s->rec.bank;
	out->active_bank = bank;
	out->trial = s->rec.trial;
	out->boot_count = s->rec.boot_count;
	out->sequence = s->rec.sequence;
	pthread_mutex_unlock(&s->rec_mu);
	m = malloc(sizeof(*m));
	if (!m)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	rc = flash_bank_manifest(s, bank, m, &present, e);
	if (rc == 0 && present) {
		snprintf(out->bundle_version, sizeof(out->bundle_version), "%s",
			 m->version);
		snprintf(out->build_date, sizeof(out->build_date), "%s",
			 m->build_date);
		for (size_t i = 0; i < m->ncomponents; i++) {
			struct flash_component_state *c = &out->components[i];

			snprintf(c->name, sizeof(c->name), "%s",
				 m->components[i].name);
			snprintf(c->version, sizeof(c->version), "%s",
				 m->components[i].version);
			c->size = m->components[i].size;
			memcpy(c->sha256, m->components[i].sha256, 32);
			c->flags = m->components[i].flags;
			c->bank = bank;
		}
		out->ncomponents = m->ncomponents;
	}
	if (rc == 0) {
		struct err le;

		/* The other bank only informs; a damaged one is no error. */
		if (flash_bank_manifest(s, 1 - bank, m, &present, &le) == 0 &&
		    present)
			snprintf(out->previous_version,
				 sizeof(out->previous_version), "%s",
				 m->version);
	}
	free(m);
	return rc;
}

static void stamp_files(const struct flash_store *s,
			struct flash_file_stamp st[FLASH_STATUS_FILES])
{
	static const char *const names[FLASH_STATUS_FILES] = {
		"bootrec.0", "bootrec.1", "bank0/" FLASH_MANIFEST_JSON,
		"bank1/" FLASH_MANIFEST_JSON,
	};
	char path[PATH_MAX];
	struct stat sb;

	memset(st, 0, sizeof(*st) * FLASH_STATUS_FILES);
	for (int i = 0; i < FLASH_STATUS_FILES; i++) {
		flash_path(s, path, sizeof(path), "%s", names[i]);
		if (stat(path, &sb) < 0) {
			st[i].err = errno;
			continue;
		}
		st[i].dev = sb.st_dev;
		st[i].ino = sb.st_ino;
		st[i].size = sb.st_size;
		st[i].mtime = sb.st_mtim;
		st[i].ctime = sb.st_ctim;
	}
}

/*
 * Read again only when one of the files it comes from changed: an install
 * or confirm here, or `tandem flash` run beside the daemon. The stamps are
 * taken before the read, so a change during it shows at the next call.
 */
int flash_store_status(struct flash_store *s, struct flash_status *out,
		       struct err *e)
{
	struct flash_file_stamp now[FLASH_STATUS_FILES];
	bool quiet;
	int rc;

	/* A device's stamps do not change with what is written to it; its
	 * records and manifest headers are a few small reads. */
	if (s->backend == FLASH_BACKEND_BLOCK)
		return status_read(s, out, e);
	/* Watched: the kept status stands unless an event that counts
	 * waits. Events are read only under status_mu, and the status read
	 * again before it is let go, so a thread that finds none waiting
	 * and then takes status_mu never gets a status older than an event
	 * another thread read. Looking (a syscall) is outside the lock: a
	 * thread preempted on its way out of one would keep the others
	 * waiting. */
	quiet = atomic_load(&s->watching) && !flash_watch_pending(s);
	pthread_mutex_lock(&s->status_mu);
	if (atomic_load(&s->watching)) {
		if (!quiet && flash_watch_changed(s))
			s->status_valid = false;
		if (s->status_valid && atomic_load(&s->watching)) {
			*out = s->status;
			pthread_mutex_unlock(&s->status_mu);
			return 0;
		}
	}
	stamp_files(s, now);
	if (s->status_valid &&
	    memcmp(now, s->status_stamps, sizeof(now)) == 0) {
		*out = s->status;
		pthread_mutex_unlock(&s->status_mu);
		return 0;
	}
	s->status_reads++;
	rc = status_read(s, out, e);
	s->status_valid = rc == 0;
	if (rc == 0) {
		memcpy(s->status_stamps, now, sizeof(now));
		s->status = *out;
	}
	pthread_mutex_unlock(&s->status_mu);
	return rc;
}

int flash_store_confirm(struct flash_store *s, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&s->rec_mu);
	if (flash_bootrec_load(s, e) < 0)
		rc = e->code;
	else if (s->rec.trial)
		rc = flash_bootrec_commit(s, s->rec.bank, false, 0, e);
	/* Only once the confirming record is durable (floor.c F1); also
	 * when already confirmed, to finish a raise a cut interrupted. */
	if (rc == 0)
		rc = flash_floor_raise(s, e);
	pthread_mutex_unlock(&s->rec_mu);
	return rc;
}

/* One bank against its manifest; 0 if intact (or empty). */
static int check_bank(struct flash_store *s, int bank, struct buf *report,
		      struct err *e)
{
	struct bundle_manifest *m;
	bool present;
	int rc, bad = 0;

	m = malloc(sizeof(*m));
	if (!m)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	rc = flash_bank_manifest(s, bank, m, &present, e);
	if (rc < 0) {
		buf_appendf(report, "bank %d: %s\n", bank, e->msg);
		goto out;
	}
	if (!present) {
		buf_appendf(report, "bank %d: empty or incomplete (no "
			    "manifest)\n", bank);
		goto out;
	}
	buf_appendf(report, "bank %d: bundle %s, %zu components\n", bank,
		    m->version, m->ncomponents);
	if (!flash_bank_has(s, bank, FLASH_MANIFEST_SIG)) {
		buf_appendf(report, "  manifest.sig: missing\n");
		rc = err_set(e, FLASH_ERR_CORRUPT,
			     "bank %d: manifest.sig missing", bank);
		bad++;
	}
	for (size_t i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];
		struct err le;

		if (flash_image_check(s, bank, c, &le) < 0) {
			buf_appendf(report, "  %-12s %-16s FAILED: %s\n",
				    c->name, c->version, le.msg);
			if (!bad++)
				rc = err_set(e, FLASH_ERR_CORRUPT, "%s",
					     le.msg);
		} else {
			buf_appendf(report, "  %-12s %-16s ok\n", c->name,
				    c->version);
		}
	}
out:
	free(m);
	return rc;
}

int flash_store_check(struct flash_store *s, struct buf *report,
		      struct err *e)
{
	struct flash_bootrec rec;
	struct err other;
	int active, rc;

	pthread_mutex_lock(&s->rec_mu);
	rc = flash_bootrec_load(s, e);
	rec = s->rec;
	pthread_mutex_unlock(&s->rec_mu);
	if (rc < 0)
		return e->code;
	active = (int)rec.bank;
	buf_appendf(report, "boot record: sequence %llu, active bank %d%s\n",
		    (unsigned long long)rec.sequence, active,
		    rec.trial ? " (on trial)" : "");
	rc = check_bank(s, active, report, e);
	check_bank(s, 1 - active, report, &other);
	buf_appendf(report, "active bank %d: %s\n", active,
		    rc == 0 ? "intact" : "DAMAGED");
	if (rc < 0) {
		e->code = FLASH_ERR_CORRUPT;
		return err_prefix(e, "active bank %d", active);
	}
	return 0;
}

/* Block: no file to name, so a checked copy of the image (blk.c). */
static int block_image_path(struct flash_store *s, int bank,
			    const char *component, char *out, size_t outlen)
{
	struct bundle_manifest m;
	bool present;
	struct err e;

	if (flash_bank_manifest(s, bank, &m, &present, &e) < 0 || !present)
		return -1;
	for (size_t i = 0; i < m.ncomponents; i++)
		if (!strcmp(m.components[i].name, component))
			return flash_blk_handler_file(s, bank,
						      &m.components[i], out,
						      outlen);
	return -1;
}

int flash_store_image_path(struct flash_store *s, const char *component,
			   char *out, size_t outlen)
{
	char path[PATH_MAX];
	int bank;

	if (!bundle_name_valid(component) ||
	    !strcmp(component, FLASH_MANIFEST_JSON) ||
	    !strcmp(component, FLASH_MANIFEST_SIG))
		return -1;
	pthread_mutex_lock(&s->rec_mu);
	bank = (int)s->rec.bank;
	pthread_mutex_unlock(&s->rec_mu);
	if (s->backend == FLASH_BACKEND_BLOCK)
		return block_image_path(s, bank, component, out, outlen);
	if (flash_bank_file(s, bank, component, path,
			    sizeof(path)) < 0 || access(path, F_OK) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s", path) >= outlen)
		return -1;
	return 0;
}

int flash_store_last_result(struct flash_store *s, struct buf *out)
{
	char path[PATH_MAX];
	struct err e;

	buf_reset(out);
	flash_path(s, path, sizeof(path), "last-result");
	if (access(path, F_OK) < 0)
		return 0;
	return fs_read_file(path, FLASH_NOTE_MAX, out, &e) < 0 ? -1 : 0;
}

int flash_store_active_manifest(struct flash_store *s,
				struct bundle_manifest *out, struct err *e)
{
	struct flash_status st;
	bool present = false;

	if (flash_store_status(s, &st, e) < 0)
		return e->code;
	if (flash_bank_manifest(s, st.active_bank, out, &present, e) < 0)
		return e->code;
	if (!present)
		return err_set(e, FLASH_ERR_NOT_INIT, "the active bank is "
			       "empty");
	return 0;
}
