/*
 * shell.h: the CLI's transports: console, telnet, SSH (shell and one
 * command per connection) and the SSH server's SFTP subsystem. They know
 * nothing of commands, users or firmware: everything operator-visible goes
 * through struct shell_ops and struct sftp_ops, which the daemon implements.
 */
#ifndef TANDEM_SHELL_H
#define TANDEM_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/common.h"
#include "common/listener.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define SHELL_SESSIONS_MAX	16	/* per listener */
#define SHELL_LINE_MAX		1024	/* command line, without CR LF */
#define SHELL_USER_MAX		64
#define SHELL_LOGIN_NAME_MAX	29	/* bytes; the family's user names */
#define SHELL_PASSWORD_MAX	128
#define SHELL_LOGIN_TRIES_MAX	3	/* wrong logins before we hang up */
#define SHELL_LOGIN_SECONDS	60	/* to finish logging in */
#define SHELL_IDLE_SECONDS	1800	/* default when ops give none */
#define SHELL_OUTPUT_MAX	(4u << 20)	/* one command's output */
#define SHELL_ONESHOT_MAX	32	/* commands in one SSH exec request */
#define SFTP_IDLE_SECONDS	600	/* no request from an SFTP client */
#define SFTP_READ_MAX		(64 * 1024)	/* one READ reply */
#define SFTP_DOCUMENT_MAX	(1u << 20)	/* progress documents */
/* One SFTP packet: a 256 KiB WRITE (OpenSSH sends 32 KiB, its -B at most
 * 256 KiB) with its header and handle. */
#define SFTP_PACKET_MAX		(256 * 1024 + 1024)
#define SFTP_PACKET_SECONDS	30	/* default: to finish a packet begun */

#define SHELL_LOGIN_PROMPT	"login: "
#define SHELL_PASSWORD_PROMPT	"Password: "

/* ---- the seam to the CLI, config and users ---- */

enum shell_role {
	SHELL_ROLE_MONITOR = 0,	/* may only show */
	SHELL_ROLE_MANAGE = 1,
};

enum shell_auth {
	SHELL_AUTH_OK = 0,
	SHELL_AUTH_BAD = -1,	/* unknown user or wrong password */
	SHELL_AUTH_LOCKED = -2,	/* this source is locked out for now */
	SHELL_AUTH_REFUSED = -3, /* right password, but not this interface */
};

/* What execute() returns. */
enum shell_exec {
	SHELL_EXEC_OK = 0,	/* command done, session goes on */
	SHELL_EXEC_FAILED = 1,	/* command failed (its error is in out) */
	SHELL_EXEC_EXIT = 2,	/* the user asked to leave */
};

/*
 * Implemented by the daemon; called from session threads, several at once.
 * iface is "console", "telnet", "ssh" or "sftp"; peer is the numeric
 * address ("console" on the console).
 */
struct shell_ops {
	/* SHELL_AUTH_OK and the role, or _BAD / _LOCKED / _REFUSED with a
	 * message.
	 * A wrong password returns after the growing delay (config's A4).
	 * iface "ssh" accepts a user who may start any session the SSH
	 * port serves (CLI or SFTP); may_start() then checks the one asked. */
	int (*authenticate)(void *ctx, const char *user, const char *password,
			    const char *iface, const char *peer,
			    enum shell_role *role, struct err *e);
	/* Whether user may start a session of iface ("ssh": a CLI shell or
	 * command, "sftp") now: the user's interfaces and the protocol
	 * switch. 0, or negative with a message for the client. */
	int (*may_start)(void *ctx, const char *user, const char *iface,
			 struct err *e);
	/* A logged-in session: the handle execute/prompt/close take. */
	void *(*session_open)(void *ctx, const char *user,
			      enum shell_role role, const char *iface,
			      const char *peer, struct err *e);
	/* One command line (no CR LF); its output is appended to out. */
	int (*execute)(void *session, const char *line, size_t len,
		       struct buf *out);
	/* The prompt to show before the next line (the family's "# "). */
	void (*prompt)(void *session, struct buf *out);
	/* Text shown before the login prompt (telnet, console) or before
	 * the first prompt (SSH); "" for none. Lines end with "\n". */
	void (*banner)(void *ctx, struct buf *out);
	void (*session_close)(void *session);
	/* Seconds without input before a session is closed; 0: the default. */
	unsigned (*idle_seconds)(void *ctx);
};

struct shell_service {
	const struct shell_ops *ops;
	void *ctx;
};

/*
 * The seam to the update engine and its progress documents, for SFTP.
 * target is "flash" or "flash:force".
 */
struct sftp_ops {
	/* Begin a code load; NULL with a message (busy, not allowed...). */
	void *(*upload_begin)(void *ctx, const char *target, const char *user,
			      enum shell_role role, struct err *e);
	int (*upload_feed)(void *upload, const void *data, size_t len,
			   struct err *e);
	/* End of data: verify and install; the code load's report (lines
	 * ending "\n") goes to report in both outcomes. 0 on success. */
	int (*upload_finish)(void *upload, struct buf *report, struct err *e);
	/* Client gone or stream refused: undo; the active bank is kept. */
	void (*upload_abort)(void *upload, const char *why);
	/* The `get progress` XML document. */
	void (*progress_xml)(void *ctx, struct buf *out);
	/* The `get progress:lastcodeload:text` document. */
	void (*last_codeload_text)(void *ctx, struct buf *out);
	/* Seconds a client has to send the rest of a packet it began;
	 * NULL or 0: SFTP_PACKET_SECONDS. */
	unsigned (*packet_seconds)(void *ctx);
};

struct sftp_service {
	const struct sftp_ops *ops;
	void *ctx;
};

/* ---- telnet_parser.c: pure, no I/O (fuzz target fuzz_telnet) ---- */

enum telnet_status {
	TELNET_MORE = 0,	/* need more bytes */
	TELNET_LINE = 1,	/* p->line holds one line, NUL-terminated */
	TELNET_TOO_LONG = -1,	/* a line passed SHELL_LINE_MAX: dropped */
};

#define TELNET_IAC	255
#define TELNET_DONT	254
#define TELNET_DO	253
#define TELNET_WONT	252
#define TELNET_WILL	251
#define TELNET_SB	250
#define TELNET_EL	248
#define TELNET_EC	247
#define TELNET_SE	240
#define TELNET_OPT_ECHO	1
#define TELNET_OPT_SGA	3

/*
 * Splits the client's stream into lines, strips IAC sequences and answers
 * option requests: the answers are queued in reply[] for the caller to
 * send. We only ever agree to ECHO (while asked for by us) and SGA.
 */
struct telnet_parser {
	char line[SHELL_LINE_MAX + 1];
	size_t len;
	bool overflow;
	bool line_done;		/* line[] was handed out; start over */
	bool after_cr;		/* swallow the LF or NUL after a CR */
	int state;		/* inside IAC / option / subnegotiation */
	uint8_t option_verb;
	bool echo_on;		/* we have said WILL ECHO */
	bool sga_on;
	uint8_t reply[64];
	size_t reply_len;
};

void telnet_parser_init(struct telnet_parser *p);
int telnet_parser_feed(struct telnet_parser *p, const uint8_t *data,
		       size_t len, size_t *consumed);
/* Queue WILL ECHO (true: the client stops echoing) or WONT ECHO. */
void telnet_parser_echo(struct telnet_parser *p, bool server_echoes);
/* Data for the wire: "\n" -> CR LF, 0xFF doubled. */
int telnet_escape(const char *data, size_t len, struct buf *out);

/* ---- session.c: login and the command loop over any transport ---- */

enum shell_read {
	SHELL_READ_CLOSED = -1,
	SHELL_READ_TIMEOUT = -2,
	SHELL_READ_TOO_LONG = -3,
};

struct shell_io {
	/* One line into line[SHELL_LINE_MAX + 1]: its length, or a
	 * SHELL_READ_* code. */
	int (*read_line)(struct shell_io *io, char *line, int timeout_ms);
	/* Echo off (true) before the password prompt is written, so no
	 * keystroke typed after it is ever shown; back on after. */
	int (*secret)(struct shell_io *io, bool on);
	int (*write)(struct shell_io *io, const char *data, size_t len);
	const char *iface;
	const char *peer;
	/* The listener's connection, told when the login succeeds; NULL
	 * on the console. */
	struct tcp_conn *conn;
	/* No terminal echoes the input (SSH without a pty): each line read
	 * is written back after its prompt, so the output reads as a
	 * terminal shows it, the same as a one-shot command's. */
	bool echo_lines;
};

/*
 * Asks for login (unless user is given: SSH authenticated already), then
 * runs commands until exit, idle timeout or loss of the connection.
 */
void shell_session_run(const struct shell_service *svc, struct shell_io *io,
		       const char *user, enum shell_role role);
int shell_io_write_str(struct shell_io *io, const char *s);
unsigned shell_idle_seconds(const struct shell_service *svc);

/* ---- oneshot.c: one command per SSH connection (exec requests) ---- */

/*
 * Splits an exec request's text at each ';' outside a quoted word (the
 * lexer's rule: a word that begins with '"' runs to the next '"') into at
 * most max slices, kept as sent (spaces too; a slice may be blank).
 * Returns the count, or -1 when there are more than max. Pure.
 */
int shell_oneshot_split(const char *text, size_t len, struct slice *out,
			size_t max);
/*
 * Runs the commands of an exec request in session as the family's
 * one-shot form shows them: for each non-blank one the prompt and the
 * command as sent, then its output; after the last, the prompt again
 * (scripts strip the first and the last line). Stops at `exit`. text
 * is at most SHELL_LINE_MAX bytes. Each command's part is built in out
 * (a buffer of SHELL_OUTPUT_MAX and more) and handed to write, which
 * returns negative when the client is gone. Returns the exit status: 0, or 1 when a command failed or there were
 * more than SHELL_ONESHOT_MAX; -1 when write failed.
 */
int shell_oneshot_run(const struct shell_service *svc, void *session,
		      const char *text, size_t len, struct buf *out,
		      int (*write)(void *arg, const char *data, size_t len),
		      void *arg);

/* ---- line_editor.c: an SSH shell's keystrokes to lines ---- */

enum line_status {
	LINE_MORE = 0,		/* need more bytes */
	LINE_DONE = 1,		/* ed->line holds one line, NUL-terminated */
	LINE_TOO_LONG = -1,	/* a line over SHELL_LINE_MAX was dropped */
	LINE_EOF = -2,		/* ^D on an empty line, or input ended */
};

struct line_editor {
	char line[SHELL_LINE_MAX + 1];
	size_t len;
	bool terminal;		/* the client's terminal is raw: echo, edit */
	bool overflow;
	bool line_done;		/* line[] was handed out; start over */
	bool after_cr;		/* swallow the LF or NUL after a CR */
	int state;		/* inside an escape sequence */
};

void line_editor_init(struct line_editor *ed, bool terminal);
/* Feeds bytes up to the end of one line; what a terminal should show goes
 * to echo. Returns a LINE_* status; *consumed says how much was used. */
int line_editor_feed(struct line_editor *ed, const char *data, size_t len,
		     size_t *consumed, struct buf *echo);
/* Input ended: the unfinished line, if any (LINE_DONE), else LINE_EOF. */
int line_editor_finish(struct line_editor *ed);
/* Text for a raw terminal: each bare "\n" becomes "\r\n". */
int text_crlf(const char *data, size_t len, struct buf *out);

/* ---- telnet.c ---- */

struct telnet_server;
struct telnet_server *telnet_server_start(const char *address, uint16_t port,
					  const struct shell_service *svc,
					  const struct tcp_admission *admission,
					  struct err *e);
uint16_t telnet_server_port(const struct telnet_server *t);
void telnet_server_close(struct telnet_server *t);
void telnet_server_stop(struct telnet_server *t);

/* ---- console.c: the login and command loop on a fd pair ---- */

/* Returns when the user logs out, input ends or stop_fd (-1: none)
 * becomes readable. Each login starts over while loop is true (a serial
 * console never goes away). */
void console_run(const struct shell_service *svc, int in_fd, int out_fd,
		 bool loop, int stop_fd);

/* ---- hostkey.c ---- */

/* <dir>/ssh_host_ed25519_key, made (mode 0600) if missing. */
int ssh_hostkey_ensure(const char *dir, char *path, size_t path_max,
		       struct err *e);

/* ---- sshd.c: SSH (shell, exec) and the sftp subsystem ---- */

enum sshd_mode {
	SSHD_MODE_ALL,		/* shell, exec and sftp (port 22) */
	SSHD_MODE_SFTP_ONLY,	/* the family's SFTP port (1022) */
};

struct sshd_config {
	const char *address;
	uint16_t port;		/* 0: any free port */
	const char *hostkey_path;
	enum sshd_mode mode;
	const struct shell_service *shell;
	const struct sftp_service *sftp;
	struct tcp_admission admission;	/* zeros: the listener's defaults */
};

struct sshd_server;
struct sshd_server *sshd_server_start(const struct sshd_config *cfg,
				      struct err *e);
uint16_t sshd_server_port(const struct sshd_server *s);
void sshd_server_close(struct sshd_server *s);
void sshd_server_stop(struct sshd_server *s);

/* ---- sftp_frame.c: pure; whole SFTP packets in a channel's bytes ---- */

struct sftp_framer {
	size_t complete;	/* whole packets at the head, not yet taken */
	size_t partial;		/* bytes of the unfinished one after them */
	bool bad;		/* a length of 0 or over SFTP_PACKET_MAX */
	uint32_t bad_length;
	uint64_t taken;		/* packets handed to libssh so far */
};

void sftp_framer_scan(struct sftp_framer *f, const uint8_t *data, size_t len);

/* ---- sftp.c: the subsystem on an authenticated channel ---- */

struct ssh_session_struct;
struct ssh_channel_struct;
struct ssh_event_struct;
/*
 * Serves the channel until the client leaves, idles SFTP_IDLE_SECONDS,
 * leaves a packet unfinished past its deadline or sends one over
 * SFTP_PACKET_MAX. framer is kept up to date by the channel's data
 * callback (sftp_framer_scan, consuming nothing) from before the client
 * could send its first packet; event polls the session.
 */
void sftp_subsystem_run(const struct sftp_service *svc,
			struct ssh_session_struct *session,
			struct ssh_event_struct *event,
			struct ssh_channel_struct *channel,
			struct sftp_framer *framer, const char *user,
			enum shell_role role);
/* Names the client may use: "flash", "/flash", "./flash"... -> "flash". */
const char *sftp_target_name(const char *path);

#endif
