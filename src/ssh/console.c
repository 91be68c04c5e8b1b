/*
 * console.c: the login and command loop on a pair of file descriptors: the
 * controller's console (a terminal, or a pty under the simulator). On a
 * terminal the kernel's line discipline echoes and edits; we only turn
 * echo off for the password.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ssh/shell.h"

struct console_io {
	struct shell_io io;
	int in_fd;
	int out_fd;
	int stop_fd;		/* readable: the daemon is stopping */
	char in[1024];
	size_t in_len;
	size_t in_off;
	char line[SHELL_LINE_MAX + 1];
	size_t len;
	bool overflow;
	bool closed;		/* input ended: no one left to log in */
};

static int console_write(struct shell_io *io, const char *data, size_t len)
{
	struct console_io *c = (struct console_io *)io;

	return fs_write_all(c->out_fd, data, len) < 0 ? -1 : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line from the buffered input, or -1 when it holds no whole line. */
static int take_line(struct console_io *c, char *line)
{
	while (c->in_off < c->in_len) {
		char ch = c->in[c->in_off++];

		if (ch == '\n') {
			int n = (int)c->len;
			bool overflow = c->overflow;

			if (n > 0 && c->line[n - 1] == '\r')
				n--;
			c->line[n] = '\0';
			memcpy(line, c->line, (size_t)n + 1);
			c->len = 0;
			c->overflow = false;
			return overflow ? SHELL_READ_TOO_LONG : n;
		}
		if (c->len >= SHELL_LINE_MAX) {
			c->overflow = true;
			continue;
		}
		c->line[c->len++] = ch;
	}
	return -100;
}

static int read_line_raw(struct console_io *c, char *line, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = c->in_fd, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		int64_t left;
		ssize_t n;
		int rc = take_line(c, line);

		if (rc != -100)
			return rc;
		left = deadline - now_ms();
		if (left <= 0)
			return SHELL_READ_TIMEOUT;
		rc = poll(pfd, c->stop_fd >= 0 ? 2 : 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return SHELL_READ_CLOSED;
		if (rc == 0)
			return SHELL_READ_TIMEOUT;
		if (c->stop_fd >= 0 && pfd[1].revents) {
			c->closed = true;
			return SHELL_READ_CLOSED;
		}
		n = read(c->in_fd, c->in, sizeof(c->in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			c->closed = true;
			return SHELL_READ_CLOSED;
		}
		c->in_len = (size_t)n;
		c->in_off = 0;
	}
}

static int console_read_line(struct shell_io *io, char *line, int timeout_ms)
{
	return read_line_raw((struct console_io *)io, line, timeout_ms);
}

/* On a terminal the line discipline echoes: turn that off and back on. */
static int console_secret(struct shell_io *io, bool on)
{
	struct console_io *c = (struct console_io *)io;
	struct termios t;

	if (tcgetattr(c->in_fd, &t) < 0)
		return 0;	/* a pipe or socket echoes nothing */
	if (on)
		t.c_lflag &= ~(tcflag_t)ECHO;
	else
		t.c_lflag |= ECHO;
	tcsetattr(c->in_fd, TCSANOW, &t);
	return 0;
}

static void console_io_init(struct console_io *c, int in_fd, int out_fd,
			    int stop_fd, const char *iface, const char *peer)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->stop_fd = stop_fd;
	c->io.read_line = console_read_line;
	c->io.write = console_write;
	c->io.secret = console_secret;
	c->io.iface = iface;
	c->io.peer = peer;
}

void console_run(const struct shell_service *svc, int in_fd, int out_fd,
		 bool loop, int stop_fd)
{
	struct console_io *c = malloc(sizeof(*c));

	if (!c)
		return;
	do {
		console_io_init(c, in_fd, out_fd, stop_fd, "console",
				"console");
		shell_session_run(svc, &c->io, NULL, SHELL_ROLE_MONITOR);
	} while (loop && !c->closed);
	free(c);
}
