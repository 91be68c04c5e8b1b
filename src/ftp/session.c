/*
 * session.c: one FTP control connection from greeting to close: reads
 * command lines under idle and total deadlines and writes replies. What a
 * command does lives in commands.c; this file never touches an upload.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ftp/ftp.h"

int64_t ftp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Replies go out under the listener's write deadline: a client that
 * stops reading them is cut, not waited for. */
static int send_all(struct ftp_session *s, const char *data, size_t len)
{
	return tcp_conn_send(s->conn, data, len) < 0 ? -1 : 0;
}

int ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
{
	char line[FTP_LINE_MAX];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%03d ",
		     s->open_code ? s->open_code : code);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	s->open_code = 0;
	/* Room for CRLF was kept above. */
	n = (int)strlen(line);
	line[n++] = '\r';
	line[n++] = '\n';
	return send_all(s, line, (size_t)n);
}

/*
 * A multi-line reply: "code-first", then each line of body as it is (a line
 * that starts with a digit gets a leading space, so no client mistakes it
 * for the end), then "code last".
 */
int ftp_reply_lines(struct ftp_session *s, int code, const char *first,
		    const char *body, const char *last)
{
	struct buf out;
	const char *p = body ? body : "";
	int rc;

	if (s->open_code)
		code = s->open_code;
	buf_init(&out, 1 << 20);
	if (!s->open_code)
		buf_appendf(&out, "%03d-%s\r\n", code, first);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n && p[n - 1] == '\r')
			n--;
		buf_appendf(&out, "%s%.*s\r\n",
			    (*p >= '0' && *p <= '9') ? " " : "", (int)n, p);
		p += nl ? (size_t)(nl - p) + 1 : strlen(p);
	}
	buf_appendf(&out, "%03d %s\r\n", code, last);
	s->open_code = 0;
	rc = out.data ? send_all(s, out.data, out.len) : -1;
	buf_free(&out);
	return rc;
}

/*
 * A progress line while a long code load finishes: opens a 226- reply
 * (which then must end with 226, even on failure, whose text says so) so
 * clients that give up on a silent connection keep waiting.
 */
void ftp_reply_keepalive(void *session, const char *line)
{
	struct ftp_session *s = session;
	char text[FTP_LINE_MAX];
	int n;

	if (!s->open_code) {
		s->open_code = 226;
		n = snprintf(text, sizeof(text),
			     "226-File Transfer Complete. Starting "
			     "Operation:\r\n");
		send_all(s, text, (size_t)n);
	}
	n = snprintf(text, sizeof(text), "%s%s\r\n",
		     (*line >= '0' && *line <= '9') ? " " : "", line);
	if (n > 0 && (size_t)n < sizeof(text))
		send_all(s, text, (size_t)n);
}

/* 1: a line is ready; 0: the peer closed; -ETIMEDOUT; -EIO. */
static int read_line(struct ftp_session *s)
{
	for (;;) {
		struct pollfd pfd = { .fd = s->ctrl, .events = POLLIN };
		int64_t now, deadline;
		size_t used;
		ssize_t n;
		int rc;

		if (s->in_off < s->in_len) {
			rc = ftp_line_feed(&s->reader, s->in + s->in_off,
					   s->in_len - s->in_off, &used);
			s->in_off += used;
			if (rc == FTP_LINE_READY)
				return 1;
			if (rc == FTP_LINE_TOO_LONG) {
				ftp_reply(s, 500, "Command line too long.");
				continue;
			}
		}
		now = ftp_now();
		deadline = s->last_command + FTP_IDLE_SECONDS;
		if (s->started + FTP_SESSION_SECONDS < deadline)
			deadline = s->started + FTP_SESSION_SECONDS;
		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now) * 1000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return -ETIMEDOUT;
		n = recv(s->ctrl, s->in, sizeof(s->in), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			return 0;
		s->in_len = (size_t)n;
		s->in_off = 0;
	}
}

/* The session thread. Owns s and frees it. */
void *ftp_session_main(void *arg)
{
	struct ftp_session *s = arg;
	struct ftp_command cmd;

	s->started = s->last_command = ftp_now();
	s->pasv_fd = -1;
	ftp_line_reader_init(&s->reader);
	ftp_reply(s, 220, "%s", s->cfg->greeting ? s->cfg->greeting
						 : "FTP server ready.");
	while (!s->quit && !ftp_server_stopping(s->server)) {
		int rc = read_line(s);

		if (rc == -ETIMEDOUT) {
			ftp_reply(s, 421, "Timeout: closing the control "
				  "connection.");
			break;
		}
		if (rc <= 0)
			break;
		if (ftp_command_parse(s->reader.line, &cmd) < 0)
			ftp_reply(s, 500, "Syntax error, command "
				  "unrecognized.");
		else
			ftp_command_dispatch(s, &cmd);
		/* Only a logged-in client's commands keep it: before login
		 * the listener's deadline runs, whatever (NOOP...) it sends. */
		if (s->state == FTP_STATE_READY)
			s->last_command = ftp_now();
	}
	ftp_data_reset(s);
	/* Only a QUIT says the client has read everything it wanted. */
	if (s->loaded && s->quit && s->cfg->ops->session_end)
		s->cfg->ops->session_end(s->cfg->ctx);
	return NULL;
}
