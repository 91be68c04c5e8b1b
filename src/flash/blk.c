/*
 * blk.c: the block backend (docs/flash.md "Storage backends"): each bank a
 * raw partition, or a file standing in for one; the boot records in a
 * small partition of their own. Owns the byte layout of both; never
 * decides which bank is active (bootrec.c, boot.c do, as for dir).
 *
 * A bank holds entries one after another from offset 0: the images in
 * manifest order, then manifest.sig, then manifest.json. Each entry is a
 * FLASH_BLK_HEADER (4096-byte) header region, then its data, padded to
 * the next 4096 bytes. The header (integers little-endian):
 *   0   8  magic "TNDMIMAG"
 *   8   4  format version (FLASH_FORMAT_VERSION)
 *   12  4  header length (192)
 *   16  8  generation: random, one per install; every entry of a bank
 *          carries the first entry's, so an older install's entries
 *          further on are never taken for this one's
 *   24  8  data size in bytes
 *   32  8  write time, seconds since the epoch (export stamps it)
 *   40  4  component flags (the manifest's: bit 0 executable)
 *   44  4  entry index: 0, 1, 2... in bank order
 *   48 32  sha256 of the data (an image's from the signed manifest)
 *   80 32  name (the component's, or manifest.sig / manifest.json),
 *          NUL-padded
 *   112 76 reserved, zero
 *   188 4  CRC32C of bytes 0..187
 * A bank is read by walking entries from 0 until a header that is not
 * valid, of another generation, or out of order. Clearing a bank zeroes
 * the first header. manifest.json is written last, its data made durable
 * before its header: a bank without a valid manifest.json entry is empty
 * or incomplete, as a dir bank without manifest.json is.
 *
 * Boot record partition: slot 0 at offset 0, slot 1 at FLASH_BLK_SLOT,
 * each the 64-byte record of bootrec.c zero-padded to a 4096-byte
 * write, fsynced; a torn write spoils only the slot being written.
 *
 * Writes are buffered and fsynced on the device (through powerloss.c, so
 * the fault points hold); read-backs drop the device's cached pages first,
 * as the dir backend does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flash/flash_impl.h"

#define BLK_MAGIC	"TNDMIMAG"
#define BLK_HDR_LEN	192
#define BLK_CRC_OFF	188
#define BLK_NAME_LEN	32
/* Entries a bank can hold: every component and the manifest's two. */
#define BLK_ENTRIES_MAX	(BUNDLE_COMPONENTS_MAX + 2)

struct blk_header {
	uint64_t gen, size;
	int64_t mtime;
	uint32_t flags, index;
	uint8_t sha256[32];
	char name[BLK_NAME_LEN + 1];
};

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
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t align_up(uint64_t n)
{
	return (n + FLASH_IO_ALIGN - 1) & ~(uint64_t)(FLASH_IO_ALIGN - 1);
}

static void header_encode(const struct blk_header *h, uint8_t *out)
{
	memset(out, 0, FLASH_BLK_HEADER);
	memcpy(out, BLK_MAGIC, 8);
	put32(out + 8, FLASH_FORMAT_VERSION);
	put32(out + 12, BLK_HDR_LEN);
	put64(out + 16, h->gen);
	put64(out + 24, h->size);
	put64(out + 32, (uint64_t)h->mtime);
	put32(out + 40, h->flags);
	put32(out + 44, h->index);
	memcpy(out + 48, h->sha256, 32);
	memcpy(out + 80, h->name, strnlen(h->name, BLK_NAME_LEN));
	put32(out + BLK_CRC_OFF, crc32c(0, out, BLK_CRC_OFF));
}

static bool header_decode(const uint8_t *p, struct blk_header *h)
{
	if (memcmp(p, BLK_MAGIC, 8) || get32(p + 8) != FLASH_FORMAT_VERSION ||
	    get32(p + 12) != BLK_HDR_LEN ||
	    crc32c(0, p, BLK_CRC_OFF) != get32(p + BLK_CRC_OFF))
		return false;
	h->gen = get64(p + 16);
	h->size = get64(p + 24);
	h->mtime = (int64_t)get64(p + 32);
	h->flags = get32(p + 40);
	h->index = get32(p + 44);
	memcpy(h->sha256, p + 48, 32);
	memcpy(h->name, p + 80, BLK_NAME_LEN);
	h->name[BLK_NAME_LEN] = '\0';
	return true;
}

int flash_blk_dev_open(const char *path, int flags, uint64_t *size,
		       struct err *e)
{
	struct stat st;
	int fd;

	fd = (flags & O_ACCMODE) == O_RDONLY
	     ? open(path, flags | O_CLOEXEC)
	     : powerloss_open(path, flags | O_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0)
		goto io;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			goto io;
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		close(fd);
		return err_set(e, FLASH_ERR_USAGE, "%s: neither a block device "
			       "nor a file standing in for one", path);
	}
	return fd;
io:
	err_set(e, FLASH_ERR_IO, "%s: %s", path, strerror(errno));
	close(fd);
	return e->code;
}

static int pread_full(int fd, void *p, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)p + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the device ends early */
		got += (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *p, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = powerloss_pwrite(fd, (const uint8_t *)p + done,
					     len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	fault_step("write");
	return 0;
}

static int sync_counted(int fd)
{
	if (powerloss_fsync(fd) < 0)
		return -errno;
	fault_step("fsync");
	return 0;
}

/*
 * Walks the bank's entries; fn sees each valid one in order and stops the
 * walk by returning nonzero. Returns what fn returned, 0 at the end, or
 * the error.
 */
static int walk(const struct flash_store *s, int bank,
		int (*fn)(void *ctx, const struct blk_header *h, uint64_t at),
		void *ctx, struct err *e)
{
	uint8_t raw[BLK_HDR_LEN];
	struct blk_header h;
	uint64_t size, at = 0, gen = 0;
	int fd, rc = 0;

	fd = flash_blk_dev_open(s->dev_bank[bank], O_RDONLY, &size, e);
	if (fd < 0)
		return fd;
	for (uint32_t i = 0; i < BLK_ENTRIES_MAX; i++) {
		if (at + FLASH_BLK_HEADER > size)
			break;
		rc = pread_full(fd, raw, sizeof(raw), at);
		if (rc < 0) {
			rc = err_set(e, FLASH_ERR_IO, "bank %d (%s): %s", bank,
				     s->dev_bank[bank], strerror(-rc));
			break;
		}
		if (!header_decode(raw, &h) || h.index != i ||
		    (i > 0 && h.gen != gen) ||
		    h.size > size - at - FLASH_BLK_HEADER)
			break;
		gen = h.gen;
		if ((rc = fn(ctx, &h, at)) != 0)
			break;
		at += FLASH_BLK_HEADER + align_up(h.size);
	}
	close(fd);
	return rc;
}

struct find {
	const char *name;
	struct flash_extent *x;
};

static int find_one(void *ctx, const struct blk_header *h, uint64_t at)
{
	struct find *f = ctx;

	if (strcmp(h->name, f->name))
		return 0;
	f->x->base = at + FLASH_BLK_HEADER;
	f->x->len = f->x->size = h->size;
	f->x->mtime = h->mtime;
	memcpy(f->x->sha256, h->sha256, 32);
	return 1;
}

int flash_blk_locate(const struct flash_store *s, int bank,
		     const char *name, struct flash_extent *x, struct err *e)
{
	struct find f = { .name = name, .x = x };

	memset(x, 0, sizeof(*x));
	snprintf(x->path, sizeof(x->path), "%s", s->dev_bank[bank]);
	return walk(s, bank, find_one, &f, e);
}

int flash_blk_clear(struct flash_store *s, int bank, struct err *e)
{
	uint8_t *zero = calloc(1, FLASH_BLK_HEADER);
	uint64_t size;
	int fd, rc;

	if (!zero)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	fd = flash_blk_dev_open(s->dev_bank[bank], O_RDWR, &size, e);
	if (fd < 0) {
		free(zero);
		return fd;
	}
	rc = pwrite_full(fd, zero, FLASH_BLK_HEADER, 0);
	if (rc == 0)
		rc = sync_counted(fd);
	close(fd);
	free(zero);
	if (rc < 0)
		return err_set(e, rc == -ENOSPC ? FLASH_ERR_NOSPACE
						: FLASH_ERR_IO,
			       "clearing bank %d (%s): %s", bank,
			       s->dev_bank[bank], strerror(-rc));
	return 0;
}

int flash_blk_fits(const struct flash_store *s, int bank,
		   const struct bundle_manifest *m, struct err *e)
{
	uint64_t need = 2 * FLASH_BLK_HEADER + align_up(BUNDLE_MANIFEST_MAX) +
			align_up(BUNDLE_SIGNATURE_MAX), size;
	int fd;

	for (size_t i = 0; i < m->ncomponents; i++)
		need += FLASH_BLK_HEADER + align_up(m->components[i].size);
	fd = flash_blk_dev_open(s->dev_bank[bank], O_RDONLY, &size, e);
	if (fd < 0)
		return fd;
	close(fd);
	if (need > size)
		return err_set(e, FLASH_ERR_NOSPACE, "bundle %s needs %llu "
			       "bytes of bank %d, its partition %s has %llu",
			       m->version, (unsigned long long)need, bank,
			       s->dev_bank[bank], (unsigned long long)size);
	return 0;
}

int flash_blk_writing_start(struct flash_blk_writing *w, struct err *e)
{
	uint8_t r[8];

	memset(w, 0, sizeof(*w));
	if (RAND_bytes(r, sizeof(r)) != 1)
		return err_set(e, FLASH_ERR_IO, "no random generation number");
	w->gen = get64(r);
	return 0;
}

int flash_blk_image_header(int fd, struct flash_blk_writing *w,
			   const char *name, uint64_t size,
			   const uint8_t sha[32], uint32_t flags,
			   uint64_t *base)
{
	struct blk_header h = {
		.gen = w->gen, .size = size, .mtime = (int64_t)time(NULL),
		.flags = flags, .index = w->index,
	};
	uint8_t *raw = malloc(FLASH_BLK_HEADER);
	int rc;

	if (!raw)
		return -ENOMEM;
	memcpy(h.sha256, sha, 32);
	snprintf(h.name, sizeof(h.name), "%s", name);
	header_encode(&h, raw);
	rc = pwrite_full(fd, raw, FLASH_BLK_HEADER, w->next);
	free(raw);
	if (rc < 0)
		return rc;
	*base = w->next + FLASH_BLK_HEADER;
	w->next = *base + align_up(size);
	w->index++;
	return 0;
}

int flash_blk_entry_write(int fd, struct flash_blk_writing *w,
			  const char *name, const void *data, size_t len)
{
	uint8_t sha[32];
	uint64_t base;
	int rc;

	if (!EVP_Digest(data, len, sha, NULL, EVP_sha256(), NULL))
		return -ENOMEM;
	/* Data durable first: a valid header always names whole data. */
	if ((rc = pwrite_full(fd, data, len, w->next + FLASH_BLK_HEADER)) < 0 ||
	    (rc = sync_counted(fd)) < 0 ||
	    (rc = flash_blk_image_header(fd, w, name, len, sha, 0, &base)) < 0)
		return rc;
	return sync_counted(fd);
}

int flash_blk_image_copy(const struct flash_store *s, int from, int fd,
			 struct flash_blk_writing *w,
			 const struct bundle_component *c, struct err *e)
{
	struct flash_extent x;
	uint64_t size, base, done = 0;
	uint8_t *chunk = NULL;
	int src, rc;

	rc = flash_blk_locate(s, from, c->name, &x, e);
	if (rc <= 0)
		return rc < 0 ? rc : err_set(e, FLASH_ERR_CORRUPT, "%s in bank "
					     "%d: image missing", c->name,
					     from);
	src = flash_blk_dev_open(x.path, O_RDONLY, &size, e);
	if (src < 0)
		return src;
	if (posix_memalign((void **)&chunk, FLASH_IO_ALIGN, FLASH_IO_CHUNK)) {
		close(src);
		return err_set(e, FLASH_ERR_IO, "out of memory");
	}
	rc = flash_blk_image_header(fd, w, c->name, c->size, c->sha256,
				    c->flags, &base);
	while (rc == 0 && done < c->size) {
		size_t n = c->size - done < FLASH_IO_CHUNK
			   ? (size_t)(c->size - done) : FLASH_IO_CHUNK;

		rc = pread_full(src, chunk, n, x.base + done);
		if (rc == 0)
			rc = pwrite_full(fd, chunk, n, base + done);
		done += n;
	}
	free(chunk);
	close(src);
	if (rc < 0)
		return err_set(e, rc == -ENOSPC ? FLASH_ERR_NOSPACE
						: FLASH_ERR_IO,
			       "copying %s from bank %d: %s", c->name, from,
			       strerror(-rc));
	return 0;
}

int flash_blk_bootrec_read(const struct flash_store *s, int slot,
			   struct buf *out, struct err *e)
{
	uint8_t raw[FLASH_BOOTREC_SIZE];
	uint64_t size;
	int fd, rc;

	buf_reset(out);
	fd = flash_blk_dev_open(s->dev_bootrec, O_RDONLY, &size, e);
	if (fd < 0)
		return fd;
	rc = pread_full(fd, raw, sizeof(raw), (uint64_t)slot * FLASH_BLK_SLOT);
	close(fd);
	if (rc < 0)
		return err_set(e, FLASH_ERR_IO, "%s: boot record %d: %s",
			       s->dev_bootrec, slot, strerror(-rc));
	return buf_append(out, raw, sizeof(raw)) < 0
	       ? err_set(e, FLASH_ERR_IO, "out of memory") : 0;
}

int flash_blk_bootrec_write(const struct flash_store *s, int slot,
			    const uint8_t *raw, size_t len, struct err *e)
{
	uint8_t *slotbuf = calloc(1, FLASH_BLK_SLOT);
	uint64_t size;
	int fd, rc;

	if (!slotbuf)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	memcpy(slotbuf, raw, len);
	fd = flash_blk_dev_open(s->dev_bootrec, O_RDWR, &size, e);
	if (fd < 0) {
		free(slotbuf);
		return fd;
	}
	rc = pwrite_full(fd, slotbuf, FLASH_BLK_SLOT,
			 (uint64_t)slot * FLASH_BLK_SLOT);
	if (rc == 0)
		rc = sync_counted(fd);
	close(fd);
	free(slotbuf);
	if (rc < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", s->dev_bootrec,
			       strerror(-rc));
	return 0;
}

/* The three devices exist, are large enough, and are three. */
static int devices_check(const struct flash_store *s, struct err *e)
{
	const char *paths[3] = { s->dev_bank[0], s->dev_bank[1],
				 s->dev_bootrec };
	const uint64_t min[3] = { FLASH_BLK_BANK_MIN, FLASH_BLK_BANK_MIN,
				  FLASH_BLK_BOOTREC_MIN };
	const char *what[3] = { "bank 0", "bank 1", "the boot records" };
	struct stat st[3];
	uint64_t size;

	for (int i = 0; i < 3; i++) {
		int fd = flash_blk_dev_open(paths[i], O_RDONLY, &size, e);

		if (fd < 0)
			return err_prefix(e, "%s", what[i]);
		fstat(fd, &st[i]);
		close(fd);
		if (size < min[i])
			return err_set(e, FLASH_ERR_USAGE, "%s: %llu bytes is "
				       "too small for %s (at least %llu)",
				       paths[i], (unsigned long long)size,
				       what[i], (unsigned long long)min[i]);
		for (int j = 0; j < i; j++)
			if (S_ISBLK(st[i].st_mode)
			    ? st[i].st_rdev == st[j].st_rdev
			    : st[i].st_dev == st[j].st_dev &&
			      st[i].st_ino == st[j].st_ino)
				return err_set(e, FLASH_ERR_USAGE, "%s and %s "
					       "are the same device: %s and "
					       "%s need partitions of their "
					       "own", paths[j], paths[i],
					       what[j], what[i]);
	}
	return 0;
}

int flash_blk_init(struct flash_store *s, struct err *e)
{
	struct flash_bootrec r;
	bool ours = false;
	struct err le;
	struct buf b;
	int rc = 0;

	if (devices_check(s, e) < 0)
		return e->code;
	/* An existing store is kept as it is, whatever its state. */
	buf_init(&b, FLASH_BOOTREC_SIZE);
	for (int slot = 0; slot < 2 && rc == 0; slot++) {
		if (flash_blk_bootrec_read(s, slot, &b, e) < 0)
			rc = e->code;
		else if (flash_bootrec_decode((const uint8_t *)b.data, b.len,
					      &r, &le) == 0)
			rc = 1;
		else if (le.code == FLASH_ERR_FORMAT)
			rc = err_set(e, FLASH_ERR_FORMAT, "%s: %s; refusing "
				     "the store rather than rewriting it",
				     s->dev_bootrec, le.msg);
		else if (!memcmp(b.data, "TNDMBOOT", 8))
			ours = true;
	}
	buf_free(&b);
	if (rc)
		return rc < 0 ? rc : 0;
	if (ours)
		return err_set(e, FLASH_ERR_CORRUPT, "%s: boot records exist "
			       "but none is valid; not replacing them",
			       s->dev_bootrec);
	/* Fresh: banks emptied first (a partition may hold an old bank),
	 * then record 1 names the empty bank 0, not on trial. */
	for (int bank = 0; bank < FLASH_BANKS; bank++)
		if (flash_blk_clear(s, bank, e) < 0)
			return e->code;
	s->rec = (struct flash_bootrec){ .sequence = 0 };
	s->rec_slot = 1;
	return flash_bootrec_commit(s, 0, false, 0, e) < 0 ? e->code : 0;
}

int flash_blk_image_file(const struct flash_store *s, int bank,
			 const struct bundle_component *c, const char *name,
			 int mode, char *out, size_t outlen, struct err *e)
{
	char tmp[PATH_MAX];
	struct flash_extent x;
	uint8_t *chunk = NULL, sha[32];
	EVP_MD_CTX *md = NULL;
	uint64_t size, done = 0;
	int src = -1, dst = -1, rc;

	if (flash_path(s, out, outlen, "%s", name) < 0 ||
	    flash_path(s, tmp, sizeof(tmp), "%s.tmp", name) < 0)
		return err_set(e, FLASH_ERR_IO, "path too long");
	rc = flash_blk_locate(s, bank, c->name, &x, e);
	if (rc <= 0)
		return rc < 0 ? rc : err_set(e, FLASH_ERR_CORRUPT, "%s in bank "
					     "%d: image missing", c->name,
					     bank);
	if (x.len != c->size)
		return err_set(e, FLASH_ERR_CORRUPT, "%s in bank %d is %llu "
			       "bytes, the signed manifest says %llu", c->name,
			       bank, (unsigned long long)x.len,
			       (unsigned long long)c->size);
	src = flash_blk_dev_open(x.path, O_RDONLY, &size, e);
	if (src < 0)
		return src;
	md = EVP_MD_CTX_new();
	dst = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (!md || dst < 0 || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    posix_memalign((void **)&chunk, FLASH_IO_ALIGN, FLASH_IO_CHUNK)) {
		chunk = NULL;
		rc = err_set(e, FLASH_ERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	flash_drop_cache(src);
	while (done < c->size) {
		size_t n = c->size - done < FLASH_IO_CHUNK
			   ? (size_t)(c->size - done) : FLASH_IO_CHUNK;

		if ((rc = pread_full(src, chunk, n, x.base + done)) < 0 ||
		    write(dst, chunk, n) != (ssize_t)n) {
			rc = err_set(e, FLASH_ERR_IO, "copying %s of bank %d "
				     "to %s: %s", c->name, bank, tmp,
				     strerror(rc < 0 ? -rc : errno));
			goto out;
		}
		EVP_DigestUpdate(md, chunk, n);
		done += n;
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	if (memcmp(sha, c->sha256, 32)) {
		rc = err_set(e, FLASH_ERR_CORRUPT, "%s in bank %d reads back "
			     "with a sha256 that differs from the signed "
			     "manifest", c->name, bank);
		goto out;
	}
	if (close(dst) < 0 || rename(tmp, out) < 0) {
		dst = -1;
		rc = err_set(e, FLASH_ERR_IO, "%s: %s", out, strerror(errno));
		goto out;
	}
	dst = -1;
	rc = 0;
out:
	if (dst >= 0) {
		close(dst);
		unlink(tmp);
	}
	free(chunk);
	EVP_MD_CTX_free(md);
	close(src);
	return rc;
}

int flash_blk_handler_file(const struct flash_store *s, int bank,
			   const struct bundle_component *c, char *out,
			   size_t outlen)
{
	char name[64 + BUNDLE_NAME_MAX];
	struct err e;

	snprintf(name, sizeof(name), "handler.bank%d.%s", bank, c->name);
	if (flash_blk_image_file(s, bank, c, name, 0644, out, outlen,
				 &e) < 0) {
		log_error("component handler's image: %s", e.msg);
		return -1;
	}
	return 0;
}
