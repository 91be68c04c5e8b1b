/*
 * readback.c: an image read back from the device while it is still being
 * written. Each finished range is pushed to the device, its pages dropped,
 * then read back and fed to the image's sha256, so reading early ranges
 * overlaps writing later ones. Reads only: never writes, never counts a
 * fault step, never decides anything but whether the image reads back.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash/flash_impl.h"

struct flash_readback {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;
	/* The image, under mu: set by the installer, then by the thread. */
	bool pending;		/* begun and not yet collected */
	bool done;		/* the thread has a verdict */
	bool cancel;
	bool complete;		/* every byte is written */
	uint64_t written;	/* bytes the writer has finished */
	int rc;
	struct err err;
	/* Fixed while pending. */
	int fd;
	int bank;
	uint64_t base;		/* the image's first byte in fd */
	uint64_t limit;		/* bytes to read at most (block: its size) */
	char path[PATH_MAX];
	char name[BUNDLE_NAME_MAX];
	uint64_t size;
	uint8_t sha256[32];
	/* The thread's own. */
	uint64_t pos;		/* read back and hashed so far */
	EVP_MD_CTX *md;
	uint8_t *chunk;
};

/* What the thread may read next: whole ranges of whole pages, or the rest
 * once the image is complete (a partial page is dropped only then). */
static bool range_ready(const struct flash_readback *r)
{
	uint64_t upto = r->written & ~(uint64_t)(FLASH_IO_ALIGN - 1);

	return r->complete || upto - r->pos >= FLASH_READBACK_RANGE;
}

static int fail(struct flash_readback *r, const char *doing, int err_no)
{
	return err_set(&r->err, FLASH_ERR_READBACK, "%s %s in bank %d: %s",
		       doing, r->name, r->bank, strerror(err_no));
}

/*
 * Reads [r->pos, end) back from the device, or to the end of the file when
 * last. sync_file_range with WAIT_AFTER leaves the range's pages clean, so
 * DONTNEED can drop every one of them and the reads that follow come from
 * the device, not from the pages we wrote.
 */
static int read_range(struct flash_readback *r, uint64_t end, bool last)
{
	unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			 SYNC_FILE_RANGE_WAIT_AFTER;
	off_t from = (off_t)(r->base + r->pos);
	off_t len = last ? (r->limit == UINT64_MAX ? 0
			    : (off_t)(r->limit - r->pos))
			 : (off_t)(end - r->pos);

	if (sync_file_range(r->fd, from, len, flags) < 0)
		return fail(r, "writing back", errno);
	posix_fadvise(r->fd, from, len, POSIX_FADV_DONTNEED);
	while (last || r->pos < end) {
		size_t want = FLASH_READBACK_CHUNK;
		bool stop;
		ssize_t n;

		if (!last && end - r->pos < want)
			want = (size_t)(end - r->pos);
		if (r->limit - r->pos < want)
			want = (size_t)(r->limit - r->pos);
		n = want ? pread(r->fd, r->chunk, want,
				 (off_t)(r->base + r->pos)) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(r, "reading back", errno);
		if (n == 0 && !last)
			return err_set(&r->err, FLASH_ERR_READBACK,
				       "%s in bank %d reads back only %llu "
				       "bytes of %llu written", r->name,
				       r->bank, (unsigned long long)r->pos,
				       (unsigned long long)end);
		if (n == 0)
			break;
		EVP_DigestUpdate(r->md, r->chunk, (size_t)n);
		r->pos += (uint64_t)n;
		pthread_mutex_lock(&r->mu);
		stop = r->cancel;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			return err_set(&r->err, FLASH_ERR_READBACK,
				       "read-back of %s cancelled", r->name);
	}
	/* What we read we will not need again; keep the cache for others. */
	posix_fadvise(r->fd, from, len, POSIX_FADV_DONTNEED);
	return 0;
}

/* The whole image is read: size, sha256, and still the file named. */
static int verdict(struct flash_readback *r)
{
	struct stat by_fd, by_name;
	uint8_t sha[32];

	EVP_DigestFinal_ex(r->md, sha, NULL);
	if (r->pos != r->size)
		return err_set(&r->err, FLASH_ERR_READBACK,
			       "%s in bank %d reads back %llu bytes, the "
			       "signed manifest says %llu", r->name, r->bank,
			       (unsigned long long)r->pos,
			       (unsigned long long)r->size);
	if (memcmp(sha, r->sha256, 32))
		return err_set(&r->err, FLASH_ERR_READBACK,
			       "%s in bank %d reads back with a sha256 that "
			       "differs from the signed manifest", r->name,
			       r->bank);
	if (fstat(r->fd, &by_fd) < 0 || stat(r->path, &by_name) < 0 ||
	    by_fd.st_dev != by_name.st_dev || by_fd.st_ino != by_name.st_ino)
		return err_set(&r->err, FLASH_ERR_READBACK,
			       "%s in bank %d was replaced while it was read "
			       "back", r->name, r->bank);
	return 0;
}

static void *readback_main(void *p)
{
	struct flash_readback *r = p;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->quit && !(r->pending && !r->done &&
				     (r->cancel || range_ready(r))))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->quit)
			break;
		bool last = r->complete;
		uint64_t end = last ? r->written
				    : r->written &
				      ~(uint64_t)(FLASH_IO_ALIGN - 1);
		int rc = -1;

		if (!r->cancel) {
			pthread_mutex_unlock(&r->mu);
			rc = read_range(r, end, last);
			if (rc == 0 && last)
				rc = verdict(r);
			pthread_mutex_lock(&r->mu);
		} else {
			err_set(&r->err, FLASH_ERR_READBACK,
				"read-back of %s cancelled", r->name);
		}
		if (rc < 0 || last) {
			r->rc = rc < 0 ? r->err.code : 0;
			r->done = true;
			pthread_cond_broadcast(&r->cv);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct flash_readback *flash_readback_new(void)
{
	struct flash_readback *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->md = EVP_MD_CTX_new();
	if (!r->md || posix_memalign((void **)&r->chunk, FLASH_IO_ALIGN,
				     FLASH_READBACK_CHUNK) != 0) {
		EVP_MD_CTX_free(r->md);
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, readback_main, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r->chunk);
		EVP_MD_CTX_free(r->md);
		free(r);
		return NULL;
	}
	return r;
}

int flash_readback_begin(struct flash_readback *r,
			 const struct flash_extent *x, int bank,
			 const struct bundle_component *c, struct err *e)
{
	const char *path = x->path;
	int fd;

	pthread_mutex_lock(&r->mu);
	/* The installer collects each image's verdict before the next. */
	if (r->pending) {
		pthread_mutex_unlock(&r->mu);
		return err_set(e, FLASH_ERR_USAGE, "read-back still pending");
	}
	pthread_mutex_unlock(&r->mu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (!EVP_DigestInit_ex(r->md, EVP_sha256(), NULL)) {
		close(fd);
		return err_set(e, FLASH_ERR_IO, "%s: sha256 unavailable",
			       path);
	}
	posix_fadvise(fd, (off_t)x->base, x->len == UINT64_MAX ? 0 :
		      (off_t)x->len, POSIX_FADV_SEQUENTIAL);
	pthread_mutex_lock(&r->mu);
	r->fd = fd;
	r->base = x->base;
	r->limit = x->len;
	r->bank = bank;
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->name, sizeof(r->name), "%s", c->name);
	r->size = c->size;
	memcpy(r->sha256, c->sha256, 32);
	r->pos = r->written = 0;
	r->rc = 0;
	r->done = r->cancel = r->complete = false;
	r->pending = true;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void flash_readback_written(struct flash_readback *r, uint64_t upto,
			    bool complete)
{
	pthread_mutex_lock(&r->mu);
	if (r->pending) {
		r->written = upto;
		r->complete = complete;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Ends the image's read-back, cancelled or not: 0, or its error in e. */
static int collect(struct flash_readback *r, bool cancel, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	if (!r->pending) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	if (cancel) {
		r->cancel = true;
		pthread_cond_broadcast(&r->cv);
	}
	while (!r->done)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->rc < 0 && e) {
		*e = r->err;
		rc = r->rc;
	}
	close(r->fd);
	r->fd = -1;
	r->pending = false;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int flash_readback_wait(struct flash_readback *r, struct err *e)
{
	return collect(r, false, e);
}

void flash_readback_cancel(struct flash_readback *r)
{
	collect(r, true, NULL);
}

void flash_readback_free(struct flash_readback *r)
{
	if (!r)
		return;
	flash_readback_cancel(r);
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->chunk);
	EVP_MD_CTX_free(r->md);
	free(r);
}
