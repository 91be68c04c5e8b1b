/*
 * enclosure_console.c: each controller's serial console. `up` holds a pty
 * per controller for its whole run, gives its slave to every tandemd it
 * starts (tandemd --console) and relays the master to one operator at a
 * time through the unix socket run/<c>.console; `tandem enclosure console`
 * is that operator's end. Output nobody is attached to is dropped, as a
 * serial line's would be.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tool/enclosure.h"
#include "tool/tool.h"

static int console_path(const char *dir, char id, struct sockaddr_un *sa,
			struct err *e)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (tool_path(sa->sun_path, sizeof(sa->sun_path), "%s/run/%c.console",
		      dir, id) < 0)
		return err_set(e, -ENAMETOOLONG, "%s/run/%c.console: longer "
			       "than a unix socket path may be (%zu bytes); "
			       "use a shorter --dir", dir, id,
			       sizeof(sa->sun_path) - 1);
	return 0;
}

/* The line as a fresh terminal: canonical, echo, CR read as NL. */
void enclosure_console_reset(struct enclosure_controller *c)
{
	struct termios t;

	if (tcgetattr(c->pty_slave, &t) < 0)
		return;
	t.c_iflag |= ICRNL;
	t.c_oflag |= OPOST | ONLCR;
	t.c_lflag |= ICANON | ECHO | ECHOE | ISIG;
	tcsetattr(c->pty_slave, TCSANOW, &t);
	/* What was typed while the MC was off is lost, as on the hardware. */
	tcflush(c->pty_slave, TCIFLUSH);
}

int enclosure_console_open(const char *dir, struct enclosure_controller *c,
			   struct err *e)
{
	struct sockaddr_un sa;
	char *name;

	c->console_client = -1;
	c->pty_slave = -1;
	c->console_listen = -1;
	c->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_master < 0 || grantpt(c->pty_master) < 0 ||
	    unlockpt(c->pty_master) < 0 || !(name = ptsname(c->pty_master)))
		return err_set(e, -errno, "controller %c: no pty for its "
			       "console: %s", c->id - 32, strerror(errno));
	c->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave < 0)
		return err_set(e, -errno, "%s: %s", name, strerror(errno));
	fcntl(c->pty_master, F_SETFL, O_NONBLOCK);
	enclosure_console_reset(c);
	if (console_path(dir, c->id, &sa, e) < 0)
		return e->code;
	unlink(sa.sun_path);
	c->console_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				   SOCK_NONBLOCK, 0);
	if (c->console_listen < 0 ||
	    bind(c->console_listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->console_listen, 4) < 0)
		return err_set(e, -errno, "%s: %s", sa.sun_path,
			       strerror(errno));
	return 0;
}

void enclosure_console_close(const char *dir, struct enclosure_controller *c)
{
	struct sockaddr_un sa;
	struct err e;

	if (c->console_client >= 0)
		close(c->console_client);
	if (c->console_listen >= 0) {
		close(c->console_listen);
		if (console_path(dir, c->id, &sa, &e) == 0)
			unlink(sa.sun_path);
	}
	if (c->pty_slave >= 0)
		close(c->pty_slave);
	if (c->pty_master >= 0)
		close(c->pty_master);
	c->console_client = c->console_listen = -1;
	c->pty_slave = c->pty_master = -1;
}

size_t enclosure_console_pollfds(struct enclosure_controller *c,
				 struct pollfd *out)
{
	size_t n = 0;

	out[n++] = (struct pollfd){ .fd = c->console_listen, .events = POLLIN };
	out[n++] = (struct pollfd){ .fd = c->pty_master, .events = POLLIN };
	out[n++] = (struct pollfd){ .fd = c->console_client, .events = POLLIN };
	return n;
}

static void client_say(int fd, const char *text)
{
	if (send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;	/* the client is going anyway */
}

void enclosure_console_events(struct enclosure_controller *c,
			      const struct pollfd *fds, size_t n)
{
	char chunk[ENCLOSURE_CONSOLE_CHUNK];
	ssize_t got;

	if (n < 3)
		return;
	if (fds[0].revents & POLLIN) {
		int fd = accept4(c->console_listen, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			/* The newest attach wins: a stale one never locks
			 * the operator out of the console. */
			if (c->console_client >= 0) {
				client_say(c->console_client, "\r\n[console "
					   "taken over by another attach]\r\n");
				close(c->console_client);
			}
			c->console_client = fd;
			snprintf(chunk, sizeof(chunk), "[console of controller "
				 "%c; Ctrl-] detaches]\r\n", c->id - 32);
			client_say(fd, chunk);
			return;	/* fds[2] named the old client */
		}
	}
	if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		got = read(c->pty_master, chunk, sizeof(chunk));
		/* No one attached, or one who does not read: dropped, as a
		 * serial line's output is. */
		if (got > 0 && c->console_client >= 0 &&
		    send(c->console_client, chunk, (size_t)got,
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN) {
			close(c->console_client);
			c->console_client = -1;
			return;
		}
	}
	if (c->console_client >= 0 && fds[2].fd == c->console_client &&
	    (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
		got = recv(c->console_client, chunk, sizeof(chunk),
			   MSG_DONTWAIT);
		if (got == 0 || (got < 0 && errno != EAGAIN)) {
			close(c->console_client);
			c->console_client = -1;
		} else if (got > 0 &&
			   write(c->pty_master, chunk, (size_t)got) < 0) {
			/* The line's input buffer is full: typed-ahead is
			 * lost, as on a serial line. */
		}
	}
}

/* ---- `tandem enclosure console`: the operator's end ---- */

static struct termios console_saved;
static bool console_raw;

static void console_restore(void)
{
	if (console_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &console_saved);
	console_raw = false;
}

static int64_t console_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Relays until detach; the tool's exit status. */
static int console_relay(int sock, char id)
{
	char chunk[ENCLOSURE_CONSOLE_CHUNK];
	bool input = true;
	int64_t quiet_since = 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = input ? STDIN_FILENO : -1, .events = POLLIN },
		};
		int timeout = -1, rc;
		ssize_t n, i;

		if (!input) {
			int64_t left = quiet_since + ENCLOSURE_CONSOLE_LINGER_MS
				       - console_now_ms();

			if (left <= 0)
				return TOOL_EXIT_OK;
			timeout = (int)left;
		}
		rc = poll(pfd, 2, timeout);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return TOOL_EXIT_FAILURE;
		if (pfd[0].revents) {
			n = read(sock, chunk, sizeof(chunk));
			if (n <= 0) {
				console_restore();
				fprintf(stderr, "\n[console of controller %c "
					"closed: the enclosure stopped, or "
					"another attach took it]\n", id - 32);
				return TOOL_EXIT_FAILURE;
			}
			if (fs_write_all(STDOUT_FILENO, chunk, (size_t)n) < 0)
				return TOOL_EXIT_FAILURE;
			quiet_since = console_now_ms();
		}
		if (input && pfd[1].revents) {
			n = read(STDIN_FILENO, chunk, sizeof(chunk));
			if (n <= 0) {
				/* The script has said everything: show the
				 * answers until the line goes quiet. */
				input = false;
				quiet_since = console_now_ms();
				continue;
			}
			for (i = 0; i < n; i++)
				if (chunk[i] == ENCLOSURE_CONSOLE_DETACH)
					break;
			if (i > 0 && fs_write_all(sock, chunk, (size_t)i) < 0)
				return TOOL_EXIT_FAILURE;
			if (i < n)
				return TOOL_EXIT_OK;
		}
	}
}

int tool_enclosure_console(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = ENCLOSURE_DEFAULT_DIR;
	struct sockaddr_un sa;
	struct err e;
	int c, sock, rc;
	char id;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: tandem enclosure console [--dir DIR] "
				"a|b\n  Attaches to the controller's serial "
				"console; Ctrl-] detaches\n  (or, when stdin "
				"is not a terminal, its end and %d ms of "
				"quiet).\n", ENCLOSURE_CONSOLE_LINGER_MS);
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (strcmp(argv[optind], "a") &&
				   strcmp(argv[optind], "b"))) {
		tool_usage_error("enclosure console: needs a or b");
		return TOOL_EXIT_USAGE;
	}
	id = argv[optind][0];
	if (console_path(dir, id, &sa, &e) < 0) {
		fprintf(stderr, "tandem enclosure console: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "tandem enclosure console: no enclosure is up "
			"in %s (%s: %s)\n", dir, sa.sun_path, strerror(errno));
		if (sock >= 0)
			close(sock);
		return TOOL_EXIT_FAILURE;
	}
	if (isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &console_saved) == 0) {
		struct termios raw = console_saved;

		/* Every key goes to the controller's line, as a serial
		 * terminal's would; its line discipline echoes and edits. */
		cfmakeraw(&raw);
		console_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	rc = console_relay(sock, id);
	console_restore();
	close(sock);
	if (rc == TOOL_EXIT_OK)
		fprintf(stderr, "\n[detached from controller %c]\n",
			id - 32);
	return rc;
}
