/*
 * sshd.c: the SSH server (libssh): password login through shell_ops, then
 * one channel a connection running a shell, one command (exec, with an
 * exit status), or the sftp subsystem. Nothing here parses commands or
 * bundles.
 *
 * A shell runs the shared command loop on the connection's own thread:
 * keystrokes come from the channel's data callback into a line editor,
 * which echoes and edits when the client asked for a pty (its terminal is
 * then raw), and output goes straight back as channel data. No pty and no
 * relay thread: one line in, one packet out for most commands.
 *
 * An exec request runs in the family's one-shot form (oneshot.c): several
 * commands separated by ';', each shown after the prompt, the prompt
 * again at the end. Its exit status: 0 when every command succeeded, 1
 * when the CLI reported an error (SHELL_EXEC_FAILED), 255 when it could
 * not run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "ssh/shell.h"

#define SSHD_INPUT_MAX 8192
#define SSHD_FLUSH_MS 1000	/* for a refusal to reach the client */

struct sshd_server {
	struct sshd_config cfg;
	char hostkey[4096];
	struct shell_service shell;
	struct sftp_service sftp;
	ssh_bind bind;
	pthread_mutex_t bind_mu;
	struct tcp_listener *listener;
};

enum conn_request { REQ_NONE, REQ_SHELL, REQ_EXEC, REQ_SFTP };

struct ssh_conn {
	struct sshd_server *srv;
	struct tcp_conn *conn;
	ssh_session session;
	ssh_event event;
	ssh_channel channel;
	const char *peer;
	char user[SHELL_USER_MAX];
	enum shell_role role;
	bool authenticated;
	int auth_failures;
	bool locked;
	char refusal[ERR_MESSAGE_MAX];	/* why the connection ends early */
	char session_refusal[ERR_MESSAGE_MAX];	/* why its session may not run */
	enum conn_request request;
	bool pty;
	bool channel_eof;
	bool channel_closed;	/* the client sent CLOSE */
	char command[SHELL_LINE_MAX + 1];
	bool command_too_long;
	/* a shell's keystrokes not yet taken by its line editor; what does
	 * not fit stays in libssh's channel buffer (input_held), so the
	 * client waits on its window */
	char input[SSHD_INPUT_MAX];
	size_t input_len;
	size_t input_off;
	bool input_held;
	struct sftp_framer framer;	/* the sftp subsystem's packets */
	struct ssh_server_callbacks_struct server_cb;
	struct ssh_channel_callbacks_struct channel_cb;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The port's own service: SFTP only on the family's SFTP port. */
static const char *conn_iface(const struct ssh_conn *c)
{
	return c->srv->cfg.mode == SSHD_MODE_SFTP_ONLY ? "sftp" : "ssh";
}

/*
 * A refusal the client should read: a banner (OpenSSH shows it at its
 * default log level, before "Permission denied") and the disconnect
 * message, for a client that reads on after the failure.
 */
static void conn_refuse(struct ssh_conn *c, const char *why)
{
	char text[ERR_MESSAGE_MAX + 2];
	ssh_string banner;

	snprintf(c->refusal, sizeof(c->refusal), "%s", why);
	snprintf(text, sizeof(text), "%s\n", why);
	banner = ssh_string_from_char(text);
	if (banner) {
		ssh_send_issue_banner(c->session, banner);
		ssh_string_free(banner);
	}
	ssh_session_set_disconnect_message(c->session, why);
}

static int on_auth_password(ssh_session session, const char *user,
			    const char *password, void *userdata)
{
	struct ssh_conn *c = userdata;
	struct err e = { 0 };
	int rc = SHELL_AUTH_BAD;

	(void)session;
	if (c->locked || c->auth_failures >= SHELL_LOGIN_TRIES_MAX)
		return SSH_AUTH_DENIED;
	/* authenticate() waits after a wrong password (config's A4). */
	if (strlen(user) > SHELL_LOGIN_NAME_MAX) {
		/* No user has such a name: refused at once, nothing hashed,
		 * and no further try on this connection. */
		c->auth_failures = SHELL_LOGIN_TRIES_MAX;
		log_warn_limited("ssh: long login name",
				 "ssh: login name from %s longer than %d "
				 "bytes refused", c->peer,
				 SHELL_LOGIN_NAME_MAX);
		return SSH_AUTH_DENIED;
	}
	if (strlen(user) < SHELL_USER_MAX &&
	    strlen(password) < SHELL_PASSWORD_MAX)
		rc = c->srv->shell.ops->authenticate(c->srv->shell.ctx, user,
						     password, conn_iface(c),
						     c->peer, &c->role, &e);
	if (rc == SHELL_AUTH_OK) {
		snprintf(c->user, sizeof(c->user), "%s", user);
		c->authenticated = true;
		tcp_conn_authenticated(c->conn);
		return SSH_AUTH_SUCCESS;
	}
	c->auth_failures++;
	if (rc == SHELL_AUTH_LOCKED || rc == SHELL_AUTH_REFUSED) {
		c->locked = true;
		log_warn("%s: login from %s refused: %s", conn_iface(c),
			 c->peer, e.msg);
		conn_refuse(c, e.msg);
	}
	return SSH_AUTH_DENIED;
}

/*
 * The user's interface right and the protocol switch, checked as the
 * session starts (one login on port 22 can start a CLI or an SFTP
 * session). A refused request is still accepted, so that the reason can
 * be sent as the session's stderr and exit status: OpenSSH drops what
 * comes with a failed request.
 */
static void session_check(struct ssh_conn *c, const char *iface)
{
	const struct shell_service *svc = &c->srv->shell;
	struct err e = { 0 };

	if (!svc->ops->may_start ||
	    svc->ops->may_start(svc->ctx, c->user, iface, &e) == 0)
		return;
	log_warn("%s: %s session of %s from %s refused: %s", conn_iface(c),
		 iface, c->user, c->peer, e.msg);
	snprintf(c->session_refusal, sizeof(c->session_refusal), "%s",
		 e.msg);
}

static ssh_channel on_channel_open(ssh_session session, void *userdata)
{
	struct ssh_conn *c = userdata;

	/* One channel a connection: what every client here needs. */
	if (!c->authenticated || c->channel)
		return NULL;
	c->channel = ssh_channel_new(session);
	if (c->channel)
		ssh_set_channel_callbacks(c->channel, &c->channel_cb);
	return c->channel;
}

static bool shell_allowed(struct ssh_conn *c)
{
	return c->srv->cfg.mode == SSHD_MODE_ALL && c->request == REQ_NONE;
}

static int on_pty(ssh_session session, ssh_channel channel, const char *term,
		  int width, int height, int pxwidth, int pxheight,
		  void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel, (void)term, (void)width, (void)height;
	(void)pxwidth, (void)pxheight;
	if (!shell_allowed(c))
		return SSH_ERROR;
	c->pty = true;
	return SSH_OK;
}

static int on_pty_resize(ssh_session session, ssh_channel channel, int width,
			 int height, int pxwidth, int pxheight, void *userdata)
{
	(void)session, (void)channel, (void)width, (void)height;
	(void)pxwidth, (void)pxheight, (void)userdata;
	return SSH_OK;
}

static int on_shell(ssh_session session, ssh_channel channel, void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	if (!shell_allowed(c))
		return SSH_ERROR;
	session_check(c, "ssh");
	c->request = REQ_SHELL;
	return SSH_OK;
}

static int on_exec(ssh_session session, ssh_channel channel,
		   const char *command, void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	if (!shell_allowed(c))
		return SSH_ERROR;
	session_check(c, "ssh");
	c->command_too_long = strlen(command) > SHELL_LINE_MAX;
	snprintf(c->command, sizeof(c->command), "%s", command);
	c->request = REQ_EXEC;
	return SSH_OK;
}

/* The sftp subsystem's bytes: seen where they lie, none consumed; the
 * subsystem has libssh read each packet once it is whole (sftp_frame.c). */
static int on_sftp_data(ssh_session session, ssh_channel channel, void *data,
			uint32_t len, int is_stderr, void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	if (!is_stderr)
		sftp_framer_scan(&c->framer, data, len);
	return 0;
}

static int on_subsystem(ssh_session session, ssh_channel channel,
			const char *subsystem, void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	if (c->request != REQ_NONE || strcmp(subsystem, "sftp") != 0 ||
	    !c->srv->sftp.ops)
		return SSH_ERROR;
	session_check(c, "sftp");
	c->request = REQ_SFTP;
	/* Before the reply: the client's first packet finds it in place. */
	c->channel_cb.channel_data_function = on_sftp_data;
	return SSH_OK;
}

static void on_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	c->channel_eof = true;
}

static void on_close(ssh_session session, ssh_channel channel,
		     void *userdata)
{
	struct ssh_conn *c = userdata;

	(void)session, (void)channel;
	c->channel_closed = true;
}

/* A shell's keystrokes, as much as fits; libssh keeps the rest and
 * offers it again, oldest first, with the next packet. */
static int on_data(ssh_session session, ssh_channel channel, void *data,
		   uint32_t len, int is_stderr, void *userdata)
{
	struct ssh_conn *c = userdata;
	size_t take;

	(void)session, (void)channel, (void)is_stderr;
	if (c->input_off == c->input_len)
		c->input_off = c->input_len = 0;
	take = sizeof(c->input) - c->input_len;
	if (take >= len)
		take = len;
	else
		c->input_held = true;
	memcpy(c->input + c->input_len, data, take);
	c->input_len += take;
	return (int)take;
}

/*
 * What libssh kept back: before the callback was set, or while we were
 * full. The callback is off during the read: a read that finds the
 * buffer short handles the next packets, and on_data would then fill
 * input[] under us, leaving the bytes read no room (they were lost).
 * Without it, new data joins libssh's buffer behind the held bytes, and
 * the read takes no more than there is room for, oldest first.
 */
static void input_pull(struct ssh_conn *c)
{
	ssh_channel_data_callback data_fn = c->channel_cb.channel_data_function;

	if (c->input_off == c->input_len)
		c->input_off = c->input_len = 0;
	c->channel_cb.channel_data_function = NULL;
	while (c->input_len < sizeof(c->input)) {
		int n = ssh_channel_read_nonblocking(
			c->channel, c->input + c->input_len,
			(uint32_t)(sizeof(c->input) - c->input_len), 0);

		if (n <= 0) {
			c->input_held = false;
			break;
		}
		c->input_len += (size_t)n;
	}
	c->channel_cb.channel_data_function = data_fn;
}

/* The channel or the connection has closed: no one to write to. */
static bool conn_closed(struct ssh_conn *c)
{
	return c->channel_closed ||
	       (ssh_get_status(c->session) & (SSH_CLOSED | SSH_CLOSED_ERROR));
}

/*
 * Channel data under the write deadline. libssh waits for the client's
 * window without end, so only what the window takes is written and more
 * window is awaited here, with a deadline that restarts as the client
 * takes data; a client that takes none is cut. (TCP output that stalls
 * inside libssh is the listener's watch.)
 */
static int conn_write(struct ssh_conn *c, const char *data, size_t len)
{
	int64_t write_ms = (int64_t)(c->srv->cfg.admission.write_seconds
					     ? c->srv->cfg.admission.write_seconds
					     : TCP_WRITE_SECONDS) * 1000;
	int64_t deadline = now_ms() + write_ms;

	while (len > 0) {
		uint32_t window = ssh_channel_window_size(c->channel);
		int64_t left = deadline - now_ms();
		size_t n;

		if (window == 0) {
			if (left <= 0) {
				tcp_conn_cut(c->conn, "cut: it stopped "
					     "reading");
				return -1;
			}
			if (conn_closed(c) ||
			    ssh_event_dopoll(c->event,
					     left < 200 ? (int)left : 200) ==
				    SSH_ERROR)
				return -1;
			continue;
		}
		n = len < window ? len : window;
		if (ssh_channel_write(c->channel, data, (uint32_t)n) ==
		    SSH_ERROR)
			return -1;
		data += n;
		len -= n;
		deadline = now_ms() + write_ms;
	}
	return 0;
}

static void send_exit(struct ssh_conn *c, int status)
{
	int64_t i;

	ssh_channel_request_send_exit_status(c->channel, status);
	ssh_channel_send_eof(c->channel);
	ssh_channel_close(c->channel);
	/* Wait (briefly) for the client's CLOSE: hanging up before it
	 * can lose the exit status on the way. */
	for (i = 0; i < 40 && !c->channel_closed; i++)
		if (ssh_event_dopoll(c->event, 50) == SSH_ERROR)
			break;
}

/* A one-shot command's output to the client; for `ssh -t host command`
 * the client's terminal is raw, so line ends become CR LF. */
static int exec_write(void *arg, const char *data, size_t len)
{
	struct ssh_conn *c = arg;
	struct buf crlf;
	int rc;

	if (!c->pty)
		return conn_write(c, data, len);
	buf_init(&crlf, 2 * len + 16);
	rc = text_crlf(data, len, &crlf);
	if (rc == 0)
		rc = conn_write(c, crlf.data, crlf.len);
	buf_free(&crlf);
	return rc;
}

static void run_exec(struct ssh_conn *c)
{
	const struct shell_service *svc = &c->srv->shell;
	struct err e = { 0 };
	struct buf out;
	void *session;
	int status;

	/* One command's output and the framing around it. */
	buf_init(&out, SHELL_OUTPUT_MAX + 2 * SHELL_LINE_MAX + 64);
	session = svc->ops->session_open(svc->ctx, c->user, c->role, "ssh",
					 c->peer, &e);
	if (!session) {
		buf_appendf(&out, "Error: %s\n", e.msg);
		exec_write(c, out.data, out.len);
		status = 255;
	} else if (c->command_too_long) {
		buf_appendf(&out, "Error: The command line is longer than %d "
			    "characters.\n", SHELL_LINE_MAX);
		exec_write(c, out.data, out.len);
		status = 1;
	} else {
		status = shell_oneshot_run(svc, session, c->command,
					   strlen(c->command), &out,
					   exec_write, c);
	}
	if (session)
		svc->ops->session_close(session);
	buf_free(&out);
	if (status >= 0)
		send_exit(c, status);
}

/* The shell's side of the command loop: lines from the channel through
 * the line editor, output (after any echo) back in one write. */
struct ssh_shell_io {
	struct shell_io io;
	struct ssh_conn *conn;
	struct line_editor ed;
	struct buf out;
};

static bool conn_gone(struct ssh_conn *c)
{
	return c->channel_eof || c->channel_closed ||
	       (ssh_get_status(c->session) & (SSH_CLOSED | SSH_CLOSED_ERROR));
}

static int shell_flush(struct ssh_shell_io *s)
{
	int rc = 0;

	if (s->out.len && conn_write(s->conn, s->out.data, s->out.len) < 0)
		rc = -1;
	buf_reset(&s->out);
	return rc;
}

static int shell_write(struct shell_io *io, const char *data, size_t len)
{
	struct ssh_shell_io *s = (struct ssh_shell_io *)io;
	int rc = s->ed.terminal ? text_crlf(data, len, &s->out)
				: buf_append(&s->out, data, len);

	return shell_flush(s) < 0 || rc < 0 ? -1 : 0;
}

/* A LINE_* status as the loop wants it; the line copied out. */
static int shell_line(struct ssh_shell_io *s, int status, char *line)
{
	switch (status) {
	case LINE_DONE:
		memcpy(line, s->ed.line, s->ed.len + 1);
		return (int)s->ed.len;
	case LINE_TOO_LONG:
		return SHELL_READ_TOO_LONG;
	default:
		shell_flush(s);
		return SHELL_READ_CLOSED;
	}
}

static int shell_read_line(struct shell_io *io, char *line, int timeout_ms)
{
	struct ssh_shell_io *s = (struct ssh_shell_io *)io;
	struct ssh_conn *c = s->conn;
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int64_t left;

		if (c->input_off < c->input_len) {
			size_t used = 0;
			int rc = line_editor_feed(&s->ed, c->input + c->input_off,
						  c->input_len - c->input_off,
						  &used, &s->out);

			c->input_off += used;
			if (rc != LINE_MORE)
				return shell_line(s, rc, line);
			continue;
		}
		if (c->input_held) {
			input_pull(c);
			continue;
		}
		/* A dead socket (the client vanished, or the listener's
		 * shutdown() at stop) closes no channel and dopoll need not
		 * report it: checked on every turn. */
		if (conn_gone(c))
			return shell_line(s, line_editor_finish(&s->ed), line);
		if (shell_flush(s) < 0)
			return SHELL_READ_CLOSED;
		left = deadline - now_ms();
		if (left <= 0)
			return SHELL_READ_TIMEOUT;
		if (ssh_event_dopoll(c->event, left < 200 ? (int)left : 200) ==
		    SSH_ERROR)
			return SHELL_READ_CLOSED;
	}
}

/* No password prompt on an authenticated SSH session. */
static int shell_secret(struct shell_io *io, bool on)
{
	(void)io, (void)on;
	return 0;
}

/* The session banner, then the shared command loop on this thread. */
static void run_shell(struct ssh_conn *c)
{
	struct ssh_shell_io *s = calloc(1, sizeof(*s));
	struct buf banner;

	if (!s)
		return;
	s->conn = c;
	s->io.read_line = shell_read_line;
	s->io.write = shell_write;
	s->io.secret = shell_secret;
	s->io.iface = "ssh";
	s->io.peer = c->peer;
	line_editor_init(&s->ed, c->pty);
	buf_init(&s->out, 2 * (size_t)SHELL_OUTPUT_MAX + 64 * 1024);
	/* Without a terminal a script reads the output: no banner, and each
	 * line comes back after its prompt, as in the one-shot form. */
	s->io.echo_lines = !c->pty;
	if (c->pty) {
		buf_init(&banner, 64 * 1024);
		c->srv->shell.ops->banner(c->srv->shell.ctx, &banner);
		if (banner.len)
			shell_write(&s->io, banner.data, banner.len);
		buf_free(&banner);
	}
	/* Keystrokes that came with the request (a script's piped commands)
	 * wait in the channel's buffer: the callback gets them first. */
	c->input_held = true;
	c->channel_cb.channel_data_function = on_data;
	shell_session_run(&c->srv->shell, &s->io, c->user, c->role);
	c->channel_cb.channel_data_function = NULL;
	shell_flush(s);
	buf_free(&s->out);
	free(s);
	if (!c->channel_closed)
		send_exit(c, 0);
}

static void conn_callbacks(struct ssh_conn *c)
{
	c->server_cb.userdata = c;
	c->server_cb.auth_password_function = on_auth_password;
	c->server_cb.channel_open_request_session_function = on_channel_open;
	ssh_callbacks_init(&c->server_cb);
	c->channel_cb.userdata = c;
	c->channel_cb.channel_pty_request_function = on_pty;
	c->channel_cb.channel_pty_window_change_function = on_pty_resize;
	c->channel_cb.channel_shell_request_function = on_shell;
	c->channel_cb.channel_exec_request_function = on_exec;
	c->channel_cb.channel_subsystem_request_function = on_subsystem;
	c->channel_cb.channel_eof_function = on_eof;
	c->channel_cb.channel_close_function = on_close;
	ssh_callbacks_init(&c->channel_cb);
}

static void sshd_serve(void *arg, struct tcp_conn *conn)
{
	struct sshd_server *srv = arg;
	struct ssh_conn *c = calloc(1, sizeof(*c));
	const char *peer = tcp_conn_peer(conn);
	int fd = tcp_conn_fd(conn);
	int64_t deadline = now_ms() + SHELL_LOGIN_SECONDS * 1000;
	int rc;

	if (!c)
		return;
	c->srv = srv;
	c->conn = conn;
	c->peer = peer;
	conn_callbacks(c);
	c->session = ssh_new();
	if (!c->session)
		goto out;
	/* libssh owns the socket from here on and closes it: give it a copy
	 * and keep ours for the listener's shutdown(). */
	pthread_mutex_lock(&srv->bind_mu);
	rc = ssh_bind_accept_fd(srv->bind, c->session, dup(fd));
	pthread_mutex_unlock(&srv->bind_mu);
	if (rc != SSH_OK)
		goto out;
	ssh_set_server_callbacks(c->session, &c->server_cb);
	if (ssh_handle_key_exchange(c->session) != SSH_OK) {
		char what[ERR_MESSAGE_MAX];

		/* Cut by the admission policy: logged there already. */
		snprintf(what, sizeof(what), "key exchange failed: %s",
			 ssh_get_error(c->session));
		if (!tcp_conn_is_cut(conn))
			tcp_conn_log(conn, what);
		goto out;
	}
	ssh_set_auth_methods(c->session, SSH_AUTH_METHOD_PASSWORD);
	c->event = ssh_event_new();
	if (!c->event || ssh_event_add_session(c->event, c->session) != SSH_OK)
		goto out;
	while (c->request == REQ_NONE) {
		if (ssh_event_dopoll(c->event, 200) == SSH_ERROR)
			goto out;
		if (c->locked || c->auth_failures >= SHELL_LOGIN_TRIES_MAX ||
		    now_ms() > deadline)
			goto out;
		if (c->channel && ssh_channel_is_closed(c->channel))
			goto out;
	}
	if (c->session_refusal[0]) {
		char line[ERR_MESSAGE_MAX + 16];

		snprintf(line, sizeof(line), "Error: %s\n", c->session_refusal);
		ssh_channel_write_stderr(c->channel, line,
					 (uint32_t)strlen(line));
		send_exit(c, 1);
		goto out;
	}
	switch (c->request) {
	case REQ_EXEC:
		run_exec(c);
		break;
	case REQ_SHELL:
		run_shell(c);
		break;
	case REQ_SFTP:
		sftp_subsystem_run(&srv->sftp, c->session, c->event,
				   c->channel, &c->framer, c->user, c->role);
		break;
	default:
		break;
	}
out:
	/* A refusal's banner or stderr line still queued: sent first, which
	 * also lets the disconnect message after it leave at once (libssh
	 * writes straight through only once the socket was seen writable). */
	if (c->refusal[0])
		ssh_blocking_flush(c->session, SSHD_FLUSH_MS);
	if (c->event) {
		ssh_event_remove_session(c->event, c->session);
		ssh_event_free(c->event);
	}
	if (c->session) {
		ssh_disconnect(c->session);
		ssh_free(c->session);
	}
	free(c);
}

struct sshd_server *sshd_server_start(const struct sshd_config *cfg,
				      struct err *e)
{
	struct sshd_server *srv = calloc(1, sizeof(*srv));
	const char *name = cfg->mode == SSHD_MODE_SFTP_ONLY ? "sftp" : "ssh";
	bool no = false;

	if (!srv) {
		err_set(e, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	srv->cfg = *cfg;
	snprintf(srv->hostkey, sizeof(srv->hostkey), "%s", cfg->hostkey_path);
	srv->cfg.hostkey_path = srv->hostkey;
	srv->shell = *cfg->shell;
	if (cfg->sftp)
		srv->sftp = *cfg->sftp;
	srv->cfg.shell = &srv->shell;
	srv->cfg.sftp = &srv->sftp;
	ssh_init();
	srv->bind = ssh_bind_new();
	if (!srv->bind ||
	    ssh_bind_options_set(srv->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
				 &no) < 0 ||
	    ssh_bind_options_set(srv->bind, SSH_BIND_OPTIONS_HOSTKEY,
				 srv->hostkey) < 0) {
		err_set(e, -EINVAL, "%s: cannot use host key %s: %s", name,
			srv->hostkey,
			srv->bind ? ssh_get_error(srv->bind) : "no memory");
		goto fail;
	}
	pthread_mutex_init(&srv->bind_mu, NULL);
	srv->listener = tcp_listener_start(&(struct tcp_listener_cfg){
		.name = name, .address = cfg->address, .port = cfg->port,
		.max_sessions = SHELL_SESSIONS_MAX, .nodelay = true,
		.admission = cfg->admission, .serve = sshd_serve,
		.arg = srv }, e);
	if (!srv->listener) {
		pthread_mutex_destroy(&srv->bind_mu);
		goto fail;
	}
	return srv;
fail:
	if (srv->bind)
		ssh_bind_free(srv->bind);
	ssh_finalize();
	free(srv);
	return NULL;
}

uint16_t sshd_server_port(const struct sshd_server *srv)
{
	return tcp_listener_port(srv->listener);
}

void sshd_server_close(struct sshd_server *srv)
{
	tcp_listener_close(srv->listener);
}

void sshd_server_stop(struct sshd_server *srv)
{
	if (!srv)
		return;
	tcp_listener_stop(srv->listener);
	ssh_bind_free(srv->bind);
	pthread_mutex_destroy(&srv->bind_mu);
	ssh_finalize();
	free(srv);
}
