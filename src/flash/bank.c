/*
 * bank.c: the files of one bank (bank0/, bank1/): clearing it, naming its
 * images, loading its manifest and reading images back through the page
 * cache's back door. Never decides which bank is active.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash/flash_impl.h"

/* A path under <state>/flash; -1 if it would not fit. */
int flash_path(const struct flash_store *s, char *out, size_t outlen,
	       const char *fmt, ...)
{
	char tail[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return -1;
	n = snprintf(out, outlen, "%s/%s", s->dir, tail);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int flash_bank_file(const struct flash_store *s, int bank, const char *name,
		    char *out, size_t outlen)
{
	return flash_path(s, out, outlen, "bank%d/%s", bank, name);
}

/*
 * Asks the kernel to forget the file's clean pages, so the next read comes
 * from the device instead of memory that still holds what we wrote.
 */
void flash_drop_cache(int fd)
{
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static int unlink_counted(const char *path)
{
	if (powerloss_unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fault_step("unlink");
	return 0;
}

/*
 * Empties a bank that is about to be written. The manifest goes first: a bank without one is incomplete, so a cut
 * halfway through never leaves a bank that looks whole.
 */
int flash_bank_clear(struct flash_store *s, int bank, struct err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	int rc;

	if (s->backend == FLASH_BACKEND_BLOCK)
		return flash_blk_clear(s, bank, e);
	flash_path(s, dir, sizeof(dir), "bank%d", bank);
	flash_bank_file(s, bank, FLASH_MANIFEST_JSON, path, sizeof(path));
	if ((rc = unlink_counted(path)) < 0)
		goto fail;
	if ((rc = fs_fsync_dir(dir)) < 0)
		goto fail;
	dp = opendir(dir);
	if (!dp) {
		rc = -errno;
		goto fail;
	}
	while ((d = readdir(dp)) != NULL) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (flash_bank_file(s, bank, d->d_name, path, sizeof(path)) < 0)
			continue;
		if ((rc = unlink_counted(path)) < 0) {
			closedir(dp);
			goto fail;
		}
	}
	closedir(dp);
	/* The other files' removal needs no fsync of its own: with
	 * manifest.json durably gone the bank is incomplete whatever comes
	 * back at a cut, and the directory fsync that ends the install's
	 * manifest.sig write (install.c, bank_seal) makes it durable before
	 * manifest.json can mark the bank whole again. */
	return 0;
fail:
	return err_set(e, rc == -ENOSPC ? FLASH_ERR_NOSPACE : FLASH_ERR_IO,
		       "clearing bank %d: %s", bank, strerror(-rc));
}

int flash_image_locate(const struct flash_store *s, int bank,
		       const char *name, struct flash_extent *x,
		       struct err *e)
{
	struct stat st;

	if (s->backend == FLASH_BACKEND_BLOCK)
		return flash_blk_locate(s, bank, name, x, e);
	memset(x, 0, sizeof(*x));
	if (flash_bank_file(s, bank, name, x->path, sizeof(x->path)) < 0)
		return err_set(e, FLASH_ERR_IO, "%s: path too long", name);
	if (stat(x->path, &st) < 0)
		return errno == ENOENT ? 0
		       : err_set(e, FLASH_ERR_IO, "%s: %s", x->path,
				 strerror(errno));
	x->len = UINT64_MAX;
	x->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
	x->mtime = st.st_mtime;
	return 1;
}

bool flash_bank_has(const struct flash_store *s, int bank, const char *name)
{
	struct flash_extent x;
	struct err e;

	return flash_image_locate(s, bank, name, &x, &e) > 0;
}

/* The manifest a bank was written from; *present false if it has none. */
int flash_bank_manifest(const struct flash_store *s, int bank,
			struct bundle_manifest *m, bool *present,
			struct err *e)
{
	struct flash_extent x;
	struct buf b;
	int rc;

	*present = false;
	memset(m, 0, sizeof(*m));
	rc = flash_image_locate(s, bank, FLASH_MANIFEST_JSON, &x, e);
	if (rc == 0)
		return 0;
	buf_init(&b, BUNDLE_MANIFEST_MAX);
	if (rc > 0)
		rc = flash_bank_read(s, bank, FLASH_MANIFEST_JSON,
				     BUNDLE_MANIFEST_MAX, &b, e);
	if (rc == 0)
		rc = bundle_manifest_parse((const uint8_t *)b.data, b.len, m,
					   e);
	buf_free(&b);
	if (rc < 0) {
		e->code = FLASH_ERR_CORRUPT;
		return err_prefix(e, "bank %d manifest", bank);
	}
	*present = true;
	return 0;
}

/*
 * A file as the device gives it back: its cached pages are dropped first,
 * then it is read in large aligned chunks, each handed to fn. What was read
 * is dropped again after: we will not need it, and others keep the cache.
 */
static int read_back_each(const struct flash_extent *x,
			  void (*fn)(void *arg, const uint8_t *p, size_t n),
			  void *arg, struct err *e)
{
	const char *path = x->path;
	uint64_t pos = 0;
	uint8_t *chunk = NULL;
	off_t from = (off_t)x->base;
	off_t span = x->len == UINT64_MAX ? 0 : (off_t)x->len;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	posix_fadvise(fd, from, span, POSIX_FADV_DONTNEED);
	posix_fadvise(fd, from, span, POSIX_FADV_SEQUENTIAL);
	if (posix_memalign((void **)&chunk, FLASH_IO_ALIGN,
			   FLASH_READBACK_CHUNK) != 0) {
		chunk = NULL;
		rc = err_set(e, FLASH_ERR_IO, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		size_t want = x->len - pos < FLASH_READBACK_CHUNK
			      ? (size_t)(x->len - pos) : FLASH_READBACK_CHUNK;
		ssize_t n = want ? pread(fd, chunk, want,
					 (off_t)(x->base + pos)) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(e, FLASH_ERR_IO, "%s: read failed: %s",
				     path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		fn(arg, chunk, (size_t)n);
		pos += (uint64_t)n;
	}
	posix_fadvise(fd, from, span, POSIX_FADV_DONTNEED);
out:
	free(chunk);
	close(fd);
	return rc;
}

struct image_sha {
	EVP_MD_CTX *md;
	uint64_t size;
};

static void sha_piece(void *arg, const uint8_t *p, size_t n)
{
	struct image_sha *h = arg;

	EVP_DigestUpdate(h->md, p, n);
	h->size += n;
}

/* SHA-256 and size of an image as the device gives it back. */
int flash_image_hash(const struct flash_extent *x, uint8_t sha[32],
		     uint64_t *size, struct err *e)
{
	const char *path = x->path;
	struct image_sha h = { .md = EVP_MD_CTX_new() };
	int rc;

	if (!h.md || !EVP_DigestInit_ex(h.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h.md);
		return err_set(e, FLASH_ERR_IO, "%s: out of memory", path);
	}
	rc = read_back_each(x, sha_piece, &h, e);
	if (rc == 0) {
		EVP_DigestFinal_ex(h.md, sha, NULL);
		*size = h.size;
	}
	EVP_MD_CTX_free(h.md);
	return rc;
}

static void crc_piece(void *arg, const uint8_t *p, size_t n)
{
	uint32_t *crc = arg;

	*crc = crc32c(*crc, p, n);
}

/* CRC-32C of an image as the device gives it back. */
int flash_image_crc(const struct flash_extent *x, uint32_t *crc,
		    struct err *e)
{
	*crc = 0;
	return read_back_each(x, crc_piece, crc, e);
}

static void buf_piece(void *arg, const uint8_t *p, size_t n)
{
	buf_append(arg, p, n);
}

/* A block entry's bytes are checked against its header's sha256: a small
 * file read whole is never half of one write and half of another. */
int flash_bank_read(const struct flash_store *s, int bank, const char *name,
		    size_t max, struct buf *out, struct err *e)
{
	struct flash_extent x;
	uint8_t sha[32];
	int rc;

	if (s->backend == FLASH_BACKEND_DIR) {
		flash_bank_file(s, bank, name, x.path, sizeof(x.path));
		return fs_read_file(x.path, max, out, e);
	}
	rc = flash_image_locate(s, bank, name, &x, e);
	if (rc == 0)
		return err_set(e, FLASH_ERR_CORRUPT, "%s: missing", name);
	if (rc < 0)
		return rc;
	if (x.len > max)
		return err_set(e, FLASH_ERR_CORRUPT, "%s: %llu bytes, more "
			       "than %zu", name, (unsigned long long)x.len,
			       max);
	buf_reset(out);
	rc = read_back_each(&x, buf_piece, out, e);
	if (rc == 0 && (out->len != x.len ||
			!EVP_Digest(out->data, out->len, sha, NULL,
				    EVP_sha256(), NULL) ||
			memcmp(sha, x.sha256, 32)))
		rc = err_set(e, FLASH_ERR_CORRUPT, "%s reads back with a "
			     "sha256 that differs from its header", name);
	return rc;
}



/* Reads one image of a bank back against its signed size and sha256. */
int flash_image_check(const struct flash_store *s, int bank,
		      const struct bundle_component *c, struct err *e)
{
	struct flash_extent x;
	uint8_t sha[32];
	uint64_t size;
	int rc;

	rc = flash_image_locate(s, bank, c->name, &x, e);
	if (rc <= 0)
		return rc < 0 ? (e->code = FLASH_ERR_READBACK,
				 err_prefix(e, "%s in bank %d", c->name, bank))
		       : err_set(e, FLASH_ERR_READBACK,
				 "%s in bank %d: image missing", c->name, bank);
	/* The wrong size needs no read to be wrong. */
	if (x.size != UINT64_MAX && x.size != c->size)
		return err_set(e, FLASH_ERR_READBACK,
			       "%s in bank %d reads back %llu bytes, the "
			       "signed manifest says %llu", c->name, bank,
			       (unsigned long long)x.size,
			       (unsigned long long)c->size);
	if (flash_image_hash(&x, sha, &size, e) < 0) {
		e->code = FLASH_ERR_READBACK;
		return err_prefix(e, "reading back %s in bank %d", c->name,
				  bank);
	}
	if (size != c->size)
		return err_set(e, FLASH_ERR_READBACK,
			       "%s in bank %d reads back %llu bytes, the "
			       "signed manifest says %llu", c->name, bank,
			       (unsigned long long)size,
			       (unsigned long long)c->size);
	if (memcmp(sha, c->sha256, 32))
		return err_set(e, FLASH_ERR_READBACK,
			       "%s in bank %d reads back with a sha256 that "
			       "differs from the signed manifest", c->name,
			       bank);
	return 0;
}
