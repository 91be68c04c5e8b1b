/*
 * session.c: login and the command loop, the same on every transport. It
 * speaks to the transport through struct shell_io and to the CLI through
 * struct shell_ops; it never parses a command itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ssh/shell.h"

#define QUOTE_(x) #x
#define QUOTE(x) QUOTE_(x)	/* a limit's value inside a message */

int shell_io_write_str(struct shell_io *io, const char *s)
{
	return io->write(io, s, strlen(s));
}

unsigned shell_idle_seconds(const struct shell_service *svc)
{
	unsigned s = svc->ops->idle_seconds ? svc->ops->idle_seconds(svc->ctx)
					    : 0;

	return s ? s : SHELL_IDLE_SECONDS;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before the deadline, at least 1 so reads can fail. */
static int left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 1;
}

/*
 * Why a login name is refused before any password is asked, or NULL. No
 * user can have such a name (CONFIG_USER_NAME_MAX), so nothing is hashed.
 */
static const char *login_name_refused(const char *name, int n)
{
	if (n == SHELL_READ_TOO_LONG || n > SHELL_LOGIN_NAME_MAX)
		return "Login name too long (at most "
		       QUOTE(SHELL_LOGIN_NAME_MAX) " characters).\n";
	for (int i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] == 0x7f)
			return "Login name contains a control character.\n";
	return NULL;
}

/*
 * 0 and the user and role, or -1 when the connection should end: after
 * SHELL_LOGIN_TRIES_MAX wrong logins, a lockout, SHELL_LOGIN_SECONDS, or
 * a login name longer than a line. An empty user name only asks again.
 */
static int login(const struct shell_service *svc, struct shell_io *io,
		 char *user, enum shell_role *role)
{
	int64_t deadline = now_ms() + SHELL_LOGIN_SECONDS * 1000;
	char line[SHELL_LINE_MAX + 1];
	int tries = 0, n, rc;

	while (tries < SHELL_LOGIN_TRIES_MAX) {
		struct err e = { 0 };

		if (shell_io_write_str(io, SHELL_LOGIN_PROMPT) < 0)
			return -1;
		const char *refused;

		n = io->read_line(io, line, left_ms(deadline));
		if (n == SHELL_READ_CLOSED || n == SHELL_READ_TIMEOUT)
			return -1;
		if (n == 0)
			continue;
		refused = login_name_refused(line, n);
		if (refused) {
			/* Said at once; a name over a line is a flood: hang up. */
			tries++;
			if (shell_io_write_str(io, refused) < 0 ||
			    n == SHELL_READ_TOO_LONG)
				return -1;
			continue;
		}
		memcpy(user, line, (size_t)n + 1);
		if (io->secret(io, true) < 0 ||
		    shell_io_write_str(io, SHELL_PASSWORD_PROMPT) < 0)
			return -1;
		n = io->read_line(io, line, left_ms(deadline));
		/* The user's Enter was not echoed either. */
		if (io->secret(io, false) < 0 ||
		    shell_io_write_str(io, "\n") < 0 ||
		    n == SHELL_READ_CLOSED || n == SHELL_READ_TIMEOUT)
			return -1;
		tries++;
		rc = SHELL_AUTH_BAD;
		if (n >= 0 && (size_t)n < SHELL_PASSWORD_MAX && user[0])
			rc = svc->ops->authenticate(svc->ctx, user, line,
						    io->iface, io->peer, role,
						    &e);
		memset(line, 0, sizeof(line));
		if (rc == SHELL_AUTH_OK) {
			if (io->conn)
				tcp_conn_authenticated(io->conn);
			return 0;
		}
		/* authenticate() waited after a wrong password (guessing is
		 * slow); a wrong password's message tells nothing, a lockout
		 * says why and for how long. */
		if (rc == SHELL_AUTH_LOCKED || rc == SHELL_AUTH_REFUSED) {
			log_warn_limited("shell: login refused",
					 "%s: login from %s refused: %s",
					 io->iface, io->peer, e.msg);
			shell_io_write_str(io, rc == SHELL_AUTH_LOCKED ?
					   "Login locked out: " :
					   "Login refused: ");
			shell_io_write_str(io, e.msg);
			shell_io_write_str(io, ".\n");
			return -1;
		}
		if (shell_io_write_str(io, "Login incorrect\n") < 0)
			return -1;
	}
	return -1;
}

static void command_loop(const struct shell_service *svc, struct shell_io *io,
			 void *session)
{
	int idle_ms = (int)shell_idle_seconds(svc) * 1000;
	char line[SHELL_LINE_MAX + 1];
	struct buf out;

	buf_init(&out, SHELL_OUTPUT_MAX + 1024);
	for (;;) {
		int n, rc = SHELL_EXEC_OK;

		/* Output and the next prompt leave in one write. */
		svc->ops->prompt(session, &out);
		if (io->write(io, out.data, out.len) < 0)
			break;
		buf_reset(&out);
		n = io->read_line(io, line, idle_ms);
		if (n == SHELL_READ_TIMEOUT) {
			shell_io_write_str(io, "\nSession idle too long; "
					   "logged out.\n");
			break;
		}
		if (n == SHELL_READ_CLOSED)
			break;
		if (io->echo_lines && n >= 0) {
			buf_append(&out, line, (size_t)n);
			buf_append(&out, "\n", 1);
		} else if (io->echo_lines && n == SHELL_READ_TOO_LONG) {
			buf_append(&out, "\n", 1);
		}
		if (n == SHELL_READ_TOO_LONG) {
			buf_appendf(&out, "Error: The command line is longer "
				    "than %d characters.\n", SHELL_LINE_MAX);
		} else if (n > 0) {
			rc = svc->ops->execute(session, line, (size_t)n, &out);
		}
		if (rc == SHELL_EXEC_EXIT) {
			if (out.len)
				io->write(io, out.data, out.len);
			break;
		}
	}
	buf_free(&out);
}

void shell_session_run(const struct shell_service *svc, struct shell_io *io,
		       const char *user, enum shell_role role)
{
	char name[SHELL_USER_MAX];
	struct err e = { 0 };
	void *session;

	if (!user) {
		struct buf banner;

		buf_init(&banner, 64 * 1024);
		svc->ops->banner(svc->ctx, &banner);
		if (banner.len && io->write(io, banner.data, banner.len) < 0) {
			buf_free(&banner);
			return;
		}
		buf_free(&banner);
		if (login(svc, io, name, &role) < 0)
			return;
		user = name;
	}
	session = svc->ops->session_open(svc->ctx, user, role, io->iface,
					 io->peer, &e);
	if (!session) {
		char msg[ERR_MESSAGE_MAX + 16];

		snprintf(msg, sizeof(msg), "Error: %s\n", e.msg);
		shell_io_write_str(io, msg);
		return;
	}
	command_loop(svc, io, session);
	svc->ops->session_close(session);
}
