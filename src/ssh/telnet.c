/*
 * telnet.c: the telnet transport: a listener whose connections run the
 * shared login and command loop over the telnet parser. The parser owns the
 * protocol; this file owns the socket, its deadlines and the echo switch
 * around the password.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ssh/shell.h"

struct telnet_server {
	struct shell_service svc;
	struct tcp_listener *listener;
};

struct telnet_conn {
	struct shell_io io;
	struct tcp_conn *conn;
	int fd;			/* for reads; writes go through conn */
	struct telnet_parser parser;
	uint8_t in[1024];
	size_t in_len;
	size_t in_off;
};

/* Under the listener's write deadline: a client that stops reading is
 * cut rather than holding this thread in a send. */
static int send_all(struct telnet_conn *c, const void *data, size_t len)
{
	return tcp_conn_send(c->conn, data, len) < 0 ? -1 : 0;
}

static int flush_replies(struct telnet_conn *c)
{
	int rc = 0;

	if (c->parser.reply_len)
		rc = send_all(c, c->parser.reply, c->parser.reply_len);
	c->parser.reply_len = 0;
	return rc;
}

static int conn_write(struct shell_io *io, const char *data, size_t len)
{
	struct telnet_conn *c = (struct telnet_conn *)io;
	struct buf out;
	int rc;

	buf_init(&out, 2 * (size_t)SHELL_OUTPUT_MAX + 16);
	rc = telnet_escape(data, len, &out);
	if (rc == 0)
		rc = send_all(c, out.data, out.len);
	buf_free(&out);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_line_raw(struct telnet_conn *c, char *line, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		size_t used = 0;
		int rc;

		if (c->in_off < c->in_len) {
			rc = telnet_parser_feed(&c->parser,
						c->in + c->in_off,
						c->in_len - c->in_off, &used);
			c->in_off += used;
			if (flush_replies(c) < 0)
				return SHELL_READ_CLOSED;
			if (rc == TELNET_LINE) {
				memcpy(line, c->parser.line,
				       c->parser.len + 1);
				return (int)c->parser.len;
			}
			if (rc == TELNET_TOO_LONG)
				return SHELL_READ_TOO_LONG;
			continue;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return SHELL_READ_TIMEOUT;
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return SHELL_READ_CLOSED;
		if (rc == 0)
			return SHELL_READ_TIMEOUT;
		n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SHELL_READ_CLOSED;
		c->in_len = (size_t)n;
		c->in_off = 0;
	}
}

static int conn_read_line(struct shell_io *io, char *line, int timeout_ms)
{
	return read_line_raw((struct telnet_conn *)io, line, timeout_ms);
}

/* WILL ECHO: the client stops echoing, and we echo nothing. */
static int conn_secret(struct shell_io *io, bool on)
{
	struct telnet_conn *c = (struct telnet_conn *)io;

	telnet_parser_echo(&c->parser, on);
	return flush_replies(c);
}

static void telnet_serve(void *arg, struct tcp_conn *conn)
{
	struct telnet_server *t = arg;
	struct telnet_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return;
	c->conn = conn;
	c->fd = tcp_conn_fd(conn);
	c->io.read_line = conn_read_line;
	c->io.write = conn_write;
	c->io.secret = conn_secret;
	c->io.iface = "telnet";
	c->io.peer = tcp_conn_peer(conn);
	c->io.conn = conn;
	telnet_parser_init(&c->parser);
	shell_session_run(&t->svc, &c->io, NULL, SHELL_ROLE_MONITOR);
	free(c);
}

struct telnet_server *telnet_server_start(const char *address, uint16_t port,
					  const struct shell_service *svc,
					  const struct tcp_admission *admission,
					  struct err *e)
{
	struct telnet_server *t = calloc(1, sizeof(*t));

	if (!t) {
		err_set(e, -ENOMEM, "telnet: out of memory");
		return NULL;
	}
	t->svc = *svc;
	t->listener = tcp_listener_start(&(struct tcp_listener_cfg){
		.name = "telnet", .address = address, .port = port,
		.max_sessions = SHELL_SESSIONS_MAX, .nodelay = true,
		.admission = *admission, .serve = telnet_serve, .arg = t }, e);
	if (!t->listener) {
		free(t);
		return NULL;
	}
	return t;
}

uint16_t telnet_server_port(const struct telnet_server *t)
{
	return tcp_listener_port(t->listener);
}

void telnet_server_close(struct telnet_server *t)
{
	tcp_listener_close(t->listener);
}

void telnet_server_stop(struct telnet_server *t)
{
	if (!t)
		return;
	tcp_listener_stop(t->listener);
	free(t);
}
