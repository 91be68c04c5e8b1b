/*
 * export.c: the active bank's signed bundle, rebuilt on demand. A bank holds
 * the exact signed manifest.json and manifest.sig and every image the
 * manifest lists, which is all a receiver verifies (the signature covers the
 * manifest, the manifest each image's size and sha256), so the store keeps
 * no second copy of the bundle. libarchive writes the ustar framing; the
 * images are read in chunks, never whole.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash/flash_impl.h"

#define EXPORT_TAR_BLOCK	512	/* ustar's block */

struct export {
	struct flash_store *s;
	int bank;
	int (*start)(void *ctx, uint64_t size, struct err *e);
	int (*write)(void *ctx, const void *data, size_t len, struct err *e);
	void *ctx;
	struct err werr;	/* the write callback's own error */
	bool wfailed;
	bool stopped;		/* nothing more may go out */
	time_t mtime;
	bool hash;		/* check each image's sha256 as it streams */
	uint8_t *buf[2];	/* this chunk and the one read ahead */
};

static la_ssize_t export_write_cb(struct archive *a, void *p,
				  const void *data, size_t len)
{
	struct export *x = p;

	if (x->stopped) {
		archive_set_error(a, ECANCELED, "export stopped");
		return -1;
	}
	if (x->write(x->ctx, data, len, &x->werr) < 0) {
		x->wfailed = true;
		archive_set_error(a, EIO, "%s", x->werr.msg);
		return -1;
	}
	return (la_ssize_t)len;
}

/* Our error for a libarchive failure: the writer's, if it was the cause. */
static int archive_fail(struct export *x, struct archive *a, const char *what,
			struct err *e)
{
	if (x->wfailed) {
		*e = x->werr;
		return err_prefix(e, "exporting %s", what);
	}
	return err_set(e, FLASH_ERR_IO, "exporting %s: %s", what,
		       archive_error_string(a));
}

static int header(struct export *x, struct archive *a, const char *name,
		  uint64_t size, struct err *e)
{
	struct archive_entry *entry = archive_entry_new();
	int rc = 0;

	if (!entry)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	archive_entry_set_pathname(entry, name);
	archive_entry_set_size(entry, (la_int64_t)size);
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_perm(entry, 0644);
	archive_entry_set_mtime(entry, x->mtime, 0);
	archive_entry_set_uname(entry, "tandem");
	archive_entry_set_gname(entry, "tandem");
	if (archive_write_header(a, entry) != ARCHIVE_OK)
		rc = archive_fail(x, a, name, e);
	archive_entry_free(entry);
	return rc;
}

static int data(struct export *x, struct archive *a, const char *name,
		const void *p, size_t len, struct err *e)
{
	if (len && archive_write_data(a, p, len) != (la_ssize_t)len)
		return archive_fail(x, a, name, e);
	return 0;
}

static int small_member(struct export *x, struct archive *a,
			const char *name, const struct buf *b, struct err *e)
{
	if (header(x, a, name, b->len, e) < 0)
		return e->code;
	return data(x, a, name, b->data, b->len, e);
}

static int image_fail(struct export *x, const struct bundle_component *c,
		      struct err *e, const char *why)
{
	return err_set(e, FLASH_ERR_READBACK,
		       "%s in bank %d %s; export stopped before the bundle was "
		       "complete", c->name, x->bank, why);
}

/* At most *left bytes from *pos on (dir: to the end of the file). */
static ssize_t read_full(int fd, uint8_t *p, size_t len, uint64_t *pos,
			 uint64_t *left)
{
	size_t got = 0;

	if (*left < len)
		len = (size_t)*left;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got,
				  (off_t)(*pos + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*pos += got;
	*left -= got;
	return (ssize_t)got;
}

/*
 * One image as a member. Each chunk is written only once the next one has
 * been read, and the last only after the size (and, with x->hash, the
 * sha256) matched the signed manifest: such a bad image never reaches the
 * receiver as a whole member.
 */
static int image_member(struct export *x, struct archive *a,
			const struct bundle_component *c, EVP_MD_CTX *md,
			struct err *e)
{
	struct flash_extent where;
	const char *path = where.path;
	uint8_t sha[32];
	uint64_t total = 0, pos, left;
	size_t cur = 0, have;
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	rc = flash_image_locate(x->s, x->bank, c->name, &where, e);
	if (rc <= 0)
		return rc < 0 ? rc : image_fail(x, c, e, "is missing");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? image_fail(x, c, e, "is missing")
			: err_set(e, FLASH_ERR_IO, "%s: %s", path,
				  strerror(errno));
	pos = where.base;
	left = where.len;
	if (fstat(fd, &st) < 0 ||
	    (where.len == UINT64_MAX ? (uint64_t)st.st_size : where.size) !=
	    c->size) {
		char why[128];

		snprintf(why, sizeof(why), "is %llu bytes, the signed "
			 "manifest says %llu", (unsigned long long)
			 (where.len == UINT64_MAX ? (uint64_t)st.st_size
						  : where.size),
			 (unsigned long long)c->size);
		rc = image_fail(x, c, e, why);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (x->hash && !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = err_set(e, FLASH_ERR_IO, "sha256 unavailable");
		goto out;
	}
	if ((rc = header(x, a, c->name, c->size, e)) < 0)
		goto out;
	n = read_full(fd, x->buf[cur], FLASH_IO_CHUNK, &pos, &left);
	for (;;) {
		if (n < 0) {
			rc = err_set(e, FLASH_ERR_IO, "reading %s: %s", path,
				     strerror(errno));
			goto out;
		}
		have = (size_t)n;
		if (x->hash)
			EVP_DigestUpdate(md, x->buf[cur], have);
		total += have;
		if (have < FLASH_IO_CHUNK)
			break;
		n = read_full(fd, x->buf[1 - cur], FLASH_IO_CHUNK, &pos,
			      &left);
		if (n == 0)
			break;
		if ((rc = data(x, a, c->name, x->buf[cur], have, e)) < 0)
			goto out;
		cur = 1 - cur;
	}
	if (x->hash)
		EVP_DigestFinal_ex(md, sha, NULL);
	if (total != c->size)
		rc = image_fail(x, c, e, "changed size while it was read");
	else if (x->hash && memcmp(sha, c->sha256, 32))
		rc = image_fail(x, c, e, "reads back with a sha256 that "
				"differs from the signed manifest");
	else
		rc = data(x, a, c->name, x->buf[cur], have, e);
	/* Read for someone else; keep the cache for what runs. */
	posix_fadvise(fd, (off_t)where.base, where.len == UINT64_MAX ? 0 :
		      (off_t)where.len, POSIX_FADV_DONTNEED);
out:
	close(fd);
	return rc;
}

static int bank_file(struct export *x, const char *name, size_t max,
		     struct buf *out, struct err *e)
{
	if (flash_bank_read(x->s, x->bank, name, max, out, e) < 0) {
		e->code = FLASH_ERR_CORRUPT;
		return err_prefix(e, "bank %d", x->bank);
	}
	return 0;
}

static int emit(struct export *x, const struct bundle_manifest *m,
		const struct buf *mj, const struct buf *sig, struct err *e)
{
	struct archive *a = archive_write_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = 0;

	if (!a || !md) {
		rc = err_set(e, FLASH_ERR_IO, "out of memory");
		goto out;
	}
	archive_write_set_format_ustar(a);
	/* No blocking: pieces pass straight to the writer, and the archive
	 * ends with its two zero blocks, like bundle_create's. */
	archive_write_set_bytes_per_block(a, 0);
	if (archive_write_open(a, x, NULL, export_write_cb, NULL) !=
	    ARCHIVE_OK) {
		rc = archive_fail(x, a, "the bundle", e);
		goto out;
	}
	if ((rc = small_member(x, a, FLASH_MANIFEST_JSON, mj, e)) < 0 ||
	    (rc = small_member(x, a, FLASH_MANIFEST_SIG, sig, e)) < 0)
		goto out;
	for (size_t i = 0; i < m->ncomponents; i++)
		if ((rc = image_member(x, a, &m->components[i], md, e)) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = archive_fail(x, a, "the end of the bundle", e);
out:
	if (rc < 0 && a) {
		/* Freeing an open archive closes it: that would pad the cut
		 * member with zeros and end the archive, making a short
		 * image look whole to a reader. The writer refuses it all.
		 * (archive_write_fail would leak libarchive's state.) */
		x->stopped = true;
	}
	EVP_MD_CTX_free(md);
	archive_write_free(a);
	return rc;
}

/* Bytes of one ustar member: its header block, the data padded to
 * whole blocks (the names are short: no extension headers). */
static uint64_t ustar_member(uint64_t len)
{
	return EXPORT_TAR_BLOCK + (len + EXPORT_TAR_BLOCK - 1) /
	       EXPORT_TAR_BLOCK * EXPORT_TAR_BLOCK;
}

/* The size emit() writes: every member, then the two zero blocks. */
static uint64_t export_size(const struct bundle_manifest *m,
			    const struct buf *mj, const struct buf *sig)
{
	uint64_t size = ustar_member(mj->len) + ustar_member(sig->len) +
			2 * EXPORT_TAR_BLOCK;

	for (size_t i = 0; i < m->ncomponents; i++)
		size += ustar_member(m->components[i].size);
	return size;
}

static int export_bank(struct export *x, struct err *e)
{
	struct bundle_manifest *m = malloc(sizeof(*m));
	struct buf mj, sig;
	struct flash_extent where;
	bool present;
	int rc;

	buf_init(&mj, BUNDLE_MANIFEST_MAX);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	if (!m) {
		rc = err_set(e, FLASH_ERR_IO, "out of memory");
		goto out;
	}
	if ((rc = flash_bank_manifest(x->s, x->bank, m, &present, e)) < 0)
		goto out;
	if (!present) {
		rc = err_set(e, FLASH_ERR_NOT_INIT, "the active bank (%d) "
			     "holds no bundle: nothing to export", x->bank);
		goto out;
	}
	if ((rc = bank_file(x, FLASH_MANIFEST_JSON, BUNDLE_MANIFEST_MAX, &mj,
			    e)) < 0 ||
	    (rc = bank_file(x, FLASH_MANIFEST_SIG, BUNDLE_SIGNATURE_MAX, &sig,
			    e)) < 0)
		goto out;
	/* The same bank exports the same bytes: stamp members with its
	 * manifest's time, not now. */
	x->mtime = flash_image_locate(x->s, x->bank, FLASH_MANIFEST_JSON,
				      &where, e) > 0 ? (time_t)where.mtime : 0;
	if (x->start && (rc = x->start(x->ctx, export_size(m, &mj, &sig),
				       e)) < 0)
		goto out;
	rc = emit(x, m, &mj, &sig, e);
out:
	buf_free(&mj);
	buf_free(&sig);
	free(m);
	return rc;
}

int flash_store_bundle_export(struct flash_store *s,
	int (*write)(void *ctx, const void *data, size_t len, struct err *e),
	void *ctx, struct err *e)
{
	return flash_store_bundle_export_sized(s, NULL, write, ctx, true, e);
}

int flash_store_bundle_export_sized(struct flash_store *s,
	int (*start)(void *ctx, uint64_t size, struct err *e),
	int (*write)(void *ctx, const void *data, size_t len, struct err *e),
	void *ctx, bool hash, struct err *e)
{
	struct export x = { .s = s, .start = start, .write = write,
			    .ctx = ctx, .hash = hash };
	char path[PATH_MAX];
	int lock_fd, rc;

	/*
	 * Shared with other exports, exclusive of an install: an install
	 * that activates and a second one that clears this bank cannot run
	 * while we read it.
	 */
	flash_path(s, path, sizeof(path), "lock");
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (flock(lock_fd, LOCK_SH | LOCK_NB) < 0) {
		rc = err_set(e, errno == EWOULDBLOCK ? FLASH_ERR_BUSY
						     : FLASH_ERR_IO,
			     "an install is writing this flash store; export "
			     "once it has ended");
		close(lock_fd);
		return rc;
	}
	pthread_mutex_lock(&s->rec_mu);
	rc = flash_bootrec_load(s, e);
	x.bank = (int)s->rec.bank;
	pthread_mutex_unlock(&s->rec_mu);
	if (rc == 0) {
		if (posix_memalign((void **)&x.buf[0], FLASH_IO_ALIGN,
				   FLASH_IO_CHUNK) != 0 ||
		    posix_memalign((void **)&x.buf[1], FLASH_IO_ALIGN,
				   FLASH_IO_CHUNK) != 0)
			rc = err_set(e, FLASH_ERR_IO, "out of memory");
		else
			rc = export_bank(&x, e);
	}
	free(x.buf[0]);
	free(x.buf[1]);
	close(lock_fd);
	return rc;
}
