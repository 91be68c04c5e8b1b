/*
 * pipe.c: receiving and verifying an upload at the same time. The session
 * thread fills buffers from the data connection while a feeder thread
 * hands the full ones to the update engine (hashing, flash writes); a few
 * buffers between them bound the memory, so nothing is held whole.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ftp/ftp.h"

struct ftp_pipe {
	const struct ftp_ops *ops;
	void *ctx;
	void *job;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	uint8_t *buf[FTP_PIPE_BUFFERS];
	size_t len[FTP_PIPE_BUFFERS];
	unsigned head;		/* next buffer to fill */
	unsigned tail;		/* next buffer to feed */
	unsigned full;		/* buffers waiting to be fed */
	bool eof;
	bool failed;
	struct err e;		/* the feed's error, once failed */
};

static void *feeder(void *arg)
{
	struct ftp_pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		unsigned i;
		int rc;

		while (p->full == 0 && !p->eof)
			pthread_cond_wait(&p->changed, &p->mu);
		if (p->full == 0)
			break;
		i = p->tail;
		pthread_mutex_unlock(&p->mu);
		rc = p->ops->upload_feed(p->ctx, p->job, p->buf[i], p->len[i],
					 &p->e);
		pthread_mutex_lock(&p->mu);
		p->tail = (p->tail + 1) % FTP_PIPE_BUFFERS;
		p->full--;
		if (rc < 0) {
			p->failed = true;
			pthread_cond_broadcast(&p->changed);
			break;
		}
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pipe_free(struct ftp_pipe *p)
{
	size_t i;

	for (i = 0; i < FTP_PIPE_BUFFERS; i++)
		free(p->buf[i]);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

struct ftp_pipe *ftp_pipe_start(const struct ftp_ops *ops, void *ctx,
				void *job, struct err *e)
{
	struct ftp_pipe *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p) {
		err_set(e, -ENOMEM, "out of memory for the upload");
		return NULL;
	}
	p->ops = ops;
	p->ctx = ctx;
	p->job = job;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->changed, NULL);
	err_clear(&p->e);
	for (i = 0; i < FTP_PIPE_BUFFERS; i++) {
		p->buf[i] = malloc(FTP_CHUNK);
		if (!p->buf[i]) {
			pipe_free(p);
			err_set(e, -ENOMEM, "out of memory for the upload");
			return NULL;
		}
	}
	if (pthread_create(&p->thread, NULL, feeder, p) != 0) {
		pipe_free(p);
		err_set(e, -EAGAIN, "cannot start the upload's feeder thread");
		return NULL;
	}
	return p;
}

uint8_t *ftp_pipe_buffer(struct ftp_pipe *p)
{
	uint8_t *b = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->full == FTP_PIPE_BUFFERS && !p->failed)
		pthread_cond_wait(&p->changed, &p->mu);
	if (!p->failed)
		b = p->buf[p->head];
	pthread_mutex_unlock(&p->mu);
	return b;
}

void ftp_pipe_push(struct ftp_pipe *p, size_t len)
{
	pthread_mutex_lock(&p->mu);
	p->len[p->head] = len;
	p->head = (p->head + 1) % FTP_PIPE_BUFFERS;
	p->full++;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->mu);
}

bool ftp_pipe_failed(struct ftp_pipe *p)
{
	bool failed;

	pthread_mutex_lock(&p->mu);
	failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	return failed;
}

int ftp_pipe_finish(struct ftp_pipe *p, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	p->eof = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (p->failed) {
		*e = p->e;
		rc = e->code < 0 ? e->code : -EIO;
	}
	pipe_free(p);
	return rc;
}
