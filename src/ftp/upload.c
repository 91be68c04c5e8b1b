/*
 * upload.c: STOR flash / flash:force. The update engine pulls the data
 * connection through ftp_ops on this thread, each read going straight into
 * the verifier's buffer, while we watch for a dropped control connection
 * and a stalled upload; then we answer with the code load's report, in a
 * reply whose code never says success for a load that failed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ftp/ftp.h"

/*
 * The FTP reply for a failed code load, by the cause's errno. A flash
 * error is permanent (5xx), not 451: lftp answers a 4xx to STOR by
 * uploading again, which would flash again. 450 (busy) is meant to be
 * retried; nothing was written.
 */
static int failure_code(int code)
{
	switch (-code) {
	case ENOSPC:
		return 552;
	case EIO:
		return 551;
	case EBUSY:
		return 450;
	case ETIMEDOUT:
	case ECONNRESET:
		return 426;
	default:
		return 554;
	}
}

/* 1: more data read into buf (*n); 0: end of data; <0: failure. */
static int data_read(struct ftp_session *s, int fd, uint8_t *buf, size_t len,
		     size_t *n, struct err *e)
{
	int stall = s->cfg->upload_stall_seconds;
	int64_t deadline = ftp_now() + stall;

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
			return err_set(e, -ETIMEDOUT, "the upload stalled: no "
				       "data for %d seconds", stall);
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
 * reason: so read and drop the rest, then answer. But never more than
 * FTP_DRAIN_MAX bytes or FTP_DRAIN_SECONDS: a stream that is not a bundle
 * may be endless, and the next operator's upload waits for this one.
 */
static void drain(struct ftp_session *s, int fd)
{
	int64_t deadline = ftp_now() + FTP_DRAIN_SECONDS;
	uint64_t dropped = 0;
	struct err ignored;
	size_t n;

	while (dropped < FTP_DRAIN_MAX && ftp_now() < deadline &&
	       data_read(s, fd, s->chunk, FTP_CHUNK, &n, &ignored) > 0)
		dropped += n;
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

/* Writes all of text to the control connection within FTP_WRITE_SECONDS. */
static int ctrl_write(struct ftp_session *s, const char *text, size_t len)
{
	int64_t deadline = ftp_now() + FTP_WRITE_SECONDS;

	while (len > 0) {
		struct pollfd pfd = { .fd = s->ctrl, .events = POLLOUT };
		int64_t now = ftp_now();
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now) * 1000) <= 0)
			continue;
		n = send(s->ctrl, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -EIO;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The reply to STOR while the code load finishes (docs/ftp.md "Long code
 * loads"). Its code must say whether the load worked, so nothing is sent
 * until the outcome is known, for up to reply_hold_seconds. A load that
 * runs longer opens a 226- reply, as the family does, and sends a progress
 * line each FTP_KEEPALIVE_SECONDS, so that no client takes the silence for
 * a dead server and uploads again. Lines come from the engine's progress
 * and, should one step stay silent (a long fsync), from a ticker thread.
 */
struct reply_hold {
	struct ftp_session *s;
	pthread_mutex_t lock;	/* the fields below and writes to ctrl */
	pthread_cond_t wake;
	int64_t data_end;	/* when the last byte had arrived */
	int64_t last_line;
	bool opened;		/* "226-" is on the wire */
	bool finished;		/* the outcome is known: the ticker stops */
	char status[FTP_LINE_MAX / 2];	/* the latest progress line */
};

/* With h->lock held: the next line, if one is due. */
static void hold_write_due(struct reply_hold *h)
{
	struct ftp_session *s = h->s;
	int64_t now = ftp_now();
	char text[FTP_LINE_MAX];
	int n;

	if (!h->opened && now - h->data_end < s->cfg->reply_hold_seconds)
		return;
	if (h->opened && now - h->last_line < FTP_KEEPALIVE_SECONDS)
		return;
	h->last_line = now;
	if (!h->opened) {
		static const char first[] = "226-File Transfer Complete. "
					    "Starting Operation:\r\n";

		h->opened = true;
		s->open_code = 226;
		if (ctrl_write(s, first, sizeof(first) - 1) < 0)
			return;
	}
	/* A line that starts with a digit would end the reply for some. */
	n = snprintf(text, sizeof(text), "%s%s\r\n",
		     (*h->status >= '0' && *h->status <= '9') ? " " : "",
		     h->status);
	if (n > 0 && (size_t)n < sizeof(text))
		ctrl_write(s, text, (size_t)n);
}

/* The engine's keepalive: a progress line, on the session's thread. */
static void progress_line(void *arg, const char *line)
{
	struct reply_hold *h = arg;

	pthread_mutex_lock(&h->lock);
	snprintf(h->status, sizeof(h->status), "%s", line);
	hold_write_due(h);
	pthread_mutex_unlock(&h->lock);
}

static void *hold_ticker(void *arg)
{
	struct reply_hold *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->finished) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&h->wake, &h->lock, &until);
		if (!h->finished)
			hold_write_due(h);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Runs the finish with the ticker beside it; 0 or the finish's error. */
static int finish_held(struct ftp_session *s, void *job, struct buf *report,
		       struct reply_hold *h, struct err *e)
{
	const struct ftp_ops *ops = s->cfg->ops;
	pthread_condattr_t attr;
	pthread_t ticker;
	bool ticking;
	int rc;

	h->s = s;
	h->data_end = ftp_now();
	snprintf(h->status, sizeof(h->status), "STATUS: working.");
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &attr);
	pthread_condattr_destroy(&attr);
	/* Without the ticker, progress lines still keep clients waiting. */
	ticking = pthread_create(&ticker, NULL, hold_ticker, h) == 0;
	rc = ops->upload_finish(s->cfg->ctx, job, report, progress_line, h, e);
	pthread_mutex_lock(&h->lock);
	h->finished = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	if (ticking)
		pthread_join(ticker, NULL);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	return rc;
}

/*
 * The code load failed after a 226- reply was opened. curl and lftp end
 * a reply at the first "NNN " line whatever its code, so the last line
 * carries the failure's code; inetutils ftp, Python's ftplib and other
 * strict readers wait for "226 ", which would say success: they get the
 * connection closed instead, which each reports as a failure (inetutils:
 * "421 Service not available"). RFC 959 wants the same code on the last
 * line; no code can be both, and a success for a failed load is worse.
 */
static void reply_late_failure(struct ftp_session *s, int code,
			       struct buf *report, const char *why)
{
	buf_append_str(report, "Codeload failed: the firmware was not "
		       "changed.\n");
	s->open_code = code;	/* the begun reply ends with this code */
	ftp_reply_lines(s, code, NULL, report->data, why);
	log_warn("ftp: %s: the code load failed after its 226- reply had "
		 "begun; closing the control connection", s->peer_text);
	s->quit = true;
}

void ftp_upload(struct ftp_session *s, bool force)
{
	const struct ftp_ops *ops = s->cfg->ops;
	struct data_source src = { .s = s };
	struct reply_hold hold = { .opened = false };
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
	rc = finish_held(s, job, &report, &hold, &e);
	if (rc == 0) {
		ftp_reply_lines(s, 226, "File Transfer Complete. Starting "
				"Operation:", report.data,
				"Operation complete.");
		s->loaded = true;
		if (ops->upload_done)
			ops->upload_done(s->cfg->ctx);
	} else if (hold.opened) {
		reply_late_failure(s, failure_code(e.code), &report,
				   e.msg[0] ? e.msg : "Codeload failed.");
	} else {
		ftp_reply_lines(s, failure_code(e.code), "Codeload failed: "
				"the firmware was not changed.", report.data,
				e.msg[0] ? e.msg : "Codeload failed.");
	}
	buf_free(&report);
}
