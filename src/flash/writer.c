/*
 * writer.c: one image write in flight behind the verifier. Verifying
 * (sha256 of every byte) and writing (copying into the page cache, starting
 * writeback) both cost CPU; on one thread they add up, with this one they
 * overlap. Only one write is ever in flight and the installer waits for it
 * before any other step, so fault steps keep their order.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "flash/flash_impl.h"

struct flash_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool busy, quit;
	int result;		/* of the last write: 0 or -errno */
	/* The job. */
	int fd;
	uint64_t base;		/* where the image starts in fd */
	const void *data;
	size_t len;
	char component[BUNDLE_NAME_MAX];
	uint64_t *off, *kicked;
	uint32_t *crc;
};

/* Starts the device on what is written so far, so fsync finds less to do. */
static void writeback_kick(int fd, uint64_t base, uint64_t upto,
			   uint64_t *kicked)
{
	if (upto - *kicked < FLASH_WRITEBACK_KICK)
		return;
	sync_file_range(fd, (off64_t)(base + *kicked),
			(off64_t)(upto - *kicked),
			SYNC_FILE_RANGE_WRITE);
	*kicked = upto;
}

/* At an explicit offset: the installer reads the same fd for faults. */
static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off,
		      size_t *done)
{
	while (*done < len) {
		ssize_t n = powerloss_pwrite(fd, p + *done, len - *done,
					     (off_t)(off + *done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		*done += (size_t)n;
	}
	return 0;
}

static int write_one(struct flash_writer *w)
{
	size_t done = 0;
	int injected, rc;

	/* What arrived, before it is written: a read-back that fails tells
	 * a bad bundle from damaged flash by it. Here, off the receiving
	 * thread. */
	*w->crc = crc32c(*w->crc, w->data, w->len);
	fault_slow_flash();
	injected = fault_write_errno(w->component);
	if (injected)
		return -injected;
	rc = pwrite_all(w->fd, w->data, w->len, w->base + *w->off, &done);
	if (rc < 0)
		return rc;
	fault_step("write");
	*w->off += w->len;
	if (w->kicked)
		writeback_kick(w->fd, w->base, *w->off, w->kicked);
	return 0;
}

static void *writer_main(void *p)
{
	struct flash_writer *w = p;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mu);
		int rc = write_one(w);
		pthread_mutex_lock(&w->mu);
		w->result = rc;
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct flash_writer *flash_writer_new(void)
{
	struct flash_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

int flash_writer_wait(struct flash_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = w->result;
	w->result = 0;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void flash_writer_start(struct flash_writer *w, int fd, uint64_t base,
			const void *data, size_t len, const char *component,
			uint64_t *off, uint64_t *kicked, uint32_t *crc)
{
	pthread_mutex_lock(&w->mu);
	w->fd = fd;
	w->base = base;
	w->data = data;
	w->len = len;
	snprintf(w->component, sizeof(w->component), "%s", component);
	w->off = off;
	w->kicked = kicked;
	w->crc = crc;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void flash_writer_free(struct flash_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
