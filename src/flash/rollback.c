/*
 * rollback.c: returning a controller to the bundle in its other bank, on
 * an operator's or PFU's request. It writes only the boot record (I2),
 * never a bank, and holds flash/lock as an install does (I6), so it never
 * flips under an install writing that bank. A bank below the security
 * floor is never made active again (floor.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "flash/flash_impl.h"

/* The other bank, checked whole against its signed manifest. */
static int bank_usable(struct flash_store *s, int bank,
		       struct bundle_manifest *m, struct err *e)
{
	bool present;

	if (flash_bank_manifest(s, bank, m, &present, e) < 0) {
		e->code = FLASH_ERR_CORRUPT;
		return err_prefix(e, "cannot roll back to bank %d", bank);
	}
	if (!present)
		return err_set(e, FLASH_ERR_NO_PREVIOUS, "cannot roll back: "
			       "bank %d holds no bundle (no earlier bundle "
			       "was installed, or it was incomplete)", bank);
	if (!flash_bank_has(s, bank, FLASH_MANIFEST_SIG))
		return err_set(e, FLASH_ERR_CORRUPT, "cannot roll back to "
			       "bank %d (bundle %s): manifest.sig missing",
			       bank, m->version);
	for (size_t i = 0; i < m->ncomponents; i++)
		if (flash_image_check(s, bank, &m->components[i], e) < 0) {
			e->code = FLASH_ERR_CORRUPT;
			return err_prefix(e, "cannot roll back to bank %d "
					  "(bundle %s)", bank, m->version);
		}
	return 0;
}

int flash_store_rollback(struct flash_store *s, char *version,
			 size_t versionlen, struct err *e)
{
	struct bundle_manifest *m;
	char path[PATH_MAX];
	uint32_t floor = 0;
	int fd, bank, rc;

	flash_path(s, path, sizeof(path), "lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = err_set(e, errno == EWOULDBLOCK ? FLASH_ERR_BUSY :
			     FLASH_ERR_IO, "cannot roll back: an install is "
			     "writing this flash store");
		close(fd);
		return rc;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		close(fd);
		return err_set(e, FLASH_ERR_IO, "out of memory");
	}
	pthread_mutex_lock(&s->rec_mu);
	rc = flash_bootrec_load(s, e);
	bank = 1 - (int)s->rec.bank;
	if (rc == 0)
		rc = flash_floor_get(s, &s->rec, &floor, e);
	pthread_mutex_unlock(&s->rec_mu);
	/* Checked without rec_mu (it reads every image): the flock keeps
	 * installs away, and the bank is checked again below. */
	if (rc == 0)
		rc = bank_usable(s, bank, m, e);
	if (rc == 0 && m->security_version < floor)
		rc = err_set(e, FLASH_ERR_SECURITY, "cannot roll back to bank "
			     "%d (bundle %s): its security version %u is "
			     "below this controller's security floor %u",
			     bank, m->version, m->security_version, floor);
	if (rc == 0) {
		pthread_mutex_lock(&s->rec_mu);
		rc = flash_bootrec_load(s, e);
		if (rc == 0 && 1 - (int)s->rec.bank != bank)
			rc = err_set(e, FLASH_ERR_BUSY, "cannot roll back: "
				     "the active bank changed meanwhile");
		if (rc == 0)
			rc = flash_bootrec_commit(s, (uint32_t)bank, false, 0,
						  e);
		/* Made active confirmed: it may raise the floor, as a
		 * confirm does (floor.c F1). */
		if (rc == 0)
			rc = flash_floor_raise(s, e);
		pthread_mutex_unlock(&s->rec_mu);
	}
	if (rc == 0 && version)
		snprintf(version, versionlen, "%s", m->version);
	free(m);
	close(fd);			/* drops the flock */
	return rc;
}
