/*
 * upload.c: STOR flash / flash:force. The update engine pulls the data
 * connection through ftp_ops on this thread, each read going straight into
 * the verifier's buffer, while we watch for a dropped control connection;
 * then we answer with the code load's report.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ftp/ftp.h"

/* The FTP reply for a failed code load, by the cause's errno. */
static int failure_code(int code)
{
	switch (-code) {
	case ENOSPC:
		return 552;
	case EIO:
		return 451;
	case EBUSY:
		return 450;
	default:
		return 554;
	}
}

/* 1: more data read into buf (*n); 0: end of data; <0: failure. */
static int data_read(struct ftp_session *s, int fd, uint8_t *buf, size_t len,
		     size_t *n, struct err *e)
{
	int64_t deadline = ftp_now() + FTP_DATA_IDLE_SECONDS;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = s->ctrl, .events = POLLRDHUP },
		};
		int64_t now = ftp_now();
		ssize_t got;
		int rc;

		if (ftp_server_stopping(s->server))
			return err_set(e, -ECANCELED, "FTP was disabled "
				       "during the upload");
		if (now >= deadline)
			return err_set(e, -ETIMEDOUT, "no data for %d seconds",
				       FTP_DATA_IDLE_SECONDS);
		rc = poll(pfd, 2, (int)(deadline - now) * 1000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return err_set(e, -ECONNRESET, "the control connection "
				       "was lost during the upload");
		if (rc <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = recv(fd, buf, len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return err_set(e, -ECONNRESET, "the data connection "
				       "failed: %s", strerror(errno));
		*n = (size_t)got;
		return got > 0;
	}
}

/*
 * The bundle was refused before its end (bad signature, wrong model...).
 * Clients read the reply only once they have sent everything, and one
 * whose data connection is cut reports a socket error instead of our
 * reason: so read and drop the rest, then answer.
 */
static void drain(struct ftp_session *s, int fd)
{
	struct err ignored;
	size_t n;

	while (data_read(s, fd, s->chunk, FTP_CHUNK, &n, &ignored) > 0)
		;
}

/* The data connection as the engine's source. */
struct data_source {
	struct ftp_session *s;
	int fd;
	unsigned long long total;
	bool failed;		/* the connection's own failure, in err */
	struct err err;
};

static ssize_t data_pull(void *arg, uint8_t *buf, size_t len, struct err *e)
{
	struct data_source *src = arg;
	size_t n = 0;
	int rc = data_read(src->s, src->fd, buf, len, &n, &src->err);

	if (rc < 0) {
		src->failed = true;
		*e = src->err;
		return rc;
	}
	src->total += n;
	return (ssize_t)n;
}

void ftp_upload(struct ftp_session *s, bool force)
{
	const struct ftp_ops *ops = s->cfg->ops;
	struct data_source src = { .s = s };
	struct buf report;
	struct err e;
	void *job;
	int rc;

	err_clear(&e);
	job = ops->upload_begin(s->cfg->ctx, s->user, force, &e);
	if (!job) {
		ftp_data_reset(s);
		ftp_reply(s, failure_code(e.code), "%s", e.msg);
		return;
	}
	src.fd = ftp_data_open(s, &e);
	if (src.fd < 0) {
		ops->upload_abort(s->cfg->ctx, job, e.msg);
		ftp_reply(s, 425, "Can't open data connection: %s", e.msg);
		return;
	}
	ftp_reply(s, 150, "Ok to send data.");
	err_clear(&src.err);
	rc = ops->upload_pull(s->cfg->ctx, job, data_pull, &src, &e);
	if (rc < 0 && src.failed)
		e = src.err;
	else if (rc < 0)
		drain(s, src.fd);
	close(src.fd);
	if (rc < 0) {
		char line[FTP_LINE_MAX];

		ops->upload_abort(s->cfg->ctx, job, e.msg);
		snprintf(line, sizeof(line), "Received %llu bytes.",
			 src.total);
		ftp_reply_lines(s, failure_code(e.code),
				"Codeload failed: the firmware was not "
				"changed.", line, e.msg);
		return;
	}
	buf_init(&report, 1 << 16);
	err_clear(&e);
	rc = ops->upload_finish(s->cfg->ctx, job, &report,
				ftp_reply_keepalive, s, &e);
	if (rc == 0) {
		ftp_reply_lines(s, 226, "File Transfer Complete. Starting "
				"Operation:", report.data,
				"Operation complete.");
		if (ops->upload_done)
			ops->upload_done(s->cfg->ctx);
	} else {
		ftp_reply_lines(s, failure_code(e.code), "Codeload failed: "
				"the firmware was not changed.", report.data,
				e.msg[0] ? e.msg : "Codeload failed.");
	}
	buf_free(&report);
}
