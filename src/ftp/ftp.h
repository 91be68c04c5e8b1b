/*
 * ftp.h: the FTP server of a controller (RFC 959 with RFC 2428 EPSV/EPRT).
 * It exists to take firmware: after login, `STOR flash` or `STOR
 * flash:force` streams the upload to the update engine through struct
 * ftp_ops; every other name, and every command that would read or change
 * files, is refused. Each control connection runs on its own thread with
 * blocking sockets and poll() deadlines.
 */
#ifndef TANDEM_FTP_H
#define TANDEM_FTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/common.h"
#include "common/listener.h"

/* Limits of this part (each tested just under, at and just over). */
#define FTP_LINE_MAX		512	/* command line with CRLF */
#define FTP_ARG_MAX		256
#define FTP_SESSIONS_MAX	8
#define FTP_LOGIN_TRIES_MAX	3	/* wrong passwords before we hang up */
#define FTP_IDLE_SECONDS	300	/* no command on the control connection */
#define FTP_SESSION_SECONDS	3600	/* whole session */
#define FTP_DATA_WAIT_SECONDS	60	/* data connection to appear */
/*
 * A code load's data connection that sends nothing for this long is
 * dropped and the code-load lock released (ftp_config.upload_stall_seconds
 * overrides it; tests make it short).
 */
#define FTP_UPLOAD_STALL_SECONDS 30
/*
 * After the data, the reply is held until the code load's outcome is known,
 * so that its code says success or failure. A load that outlasts this opens
 * a 226- reply with progress lines instead (docs/ftp.md "Long code loads"):
 * lftp drops a control connection silent for 300 s and uploads again.
 * ftp_config.reply_hold_seconds overrides it.
 */
#define FTP_REPLY_HOLD_SECONDS	120
#define FTP_KEEPALIVE_SECONDS	20	/* between progress lines after that */
/*
 * A refused upload is read on and dropped so that the client reads our
 * reason rather than a broken connection, but at most this much and for at
 * most this long; then the data connection is closed.
 */
#define FTP_DRAIN_MAX		(UINT64_C(16) << 20)
#define FTP_DRAIN_SECONDS	10
#define FTP_WRITE_SECONDS	10	/* a progress line to the client */
#define FTP_CHUNK		(256 * 1024)
#define FTP_USER_MAX		64
#define FTP_LOGIN_NAME_MAX	29	/* bytes; the family's user names */
#define FTP_PASSWORD_MAX	128

#define FTP_TARGET_FLASH	"flash"
#define FTP_TARGET_FORCE	"flash:force"

/* ---- parser.c: pure, no I/O ---- */

enum ftp_line_status {
	FTP_LINE_MORE = 0,	/* need more bytes */
	FTP_LINE_READY = 1,	/* reader->line holds one command line */
	FTP_LINE_TOO_LONG = -1,	/* over FTP_LINE_MAX; rest of it discarded */
};

/* Splits the control stream into lines; drops Telnet IAC sequences. */
struct ftp_line_reader {
	char line[FTP_LINE_MAX + 1];
	size_t len;
	bool overflow;		/* discarding the rest of a long line */
	int iac;		/* 0, or 1/2 while inside an IAC sequence */
};

struct ftp_command {
	char verb[8];		/* upper-cased, at most 4 letters */
	char arg[FTP_ARG_MAX];
	bool has_arg;
};

void ftp_line_reader_init(struct ftp_line_reader *r);
int ftp_line_feed(struct ftp_line_reader *r, const uint8_t *data, size_t len,
		  size_t *consumed);
int ftp_command_parse(const char *line, struct ftp_command *cmd);
int ftp_port_parse(const char *arg, struct sockaddr_storage *addr,
		   socklen_t *len);
int ftp_eprt_parse(const char *arg, struct sockaddr_storage *addr,
		   socklen_t *len);
int ftp_target_parse(const char *arg, bool *force);
bool ftp_same_host(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b);

/* ---- the seam to the rest of the controller ---- */

/*
 * Implemented by the daemon. Called from session threads, possibly several
 * at once: the implementation serializes what it must.
 */
enum ftp_auth {
	FTP_AUTH_OK = 0,
	FTP_AUTH_BAD = -1,
	FTP_AUTH_REFUSED = -2,
};

struct ftp_ops {
	/* 0 and whether the user may flash; FTP_AUTH_BAD (wrong name or
	 * password, after the growing delay) or FTP_AUTH_REFUSED (locked
	 * out, no FTP right) with a message for the client. */
	int (*authenticate)(void *ctx, const char *user, const char *password,
			    const char *peer, bool *may_flash, struct err *e);
	/* The instructions sent as 230- lines after login. */
	void (*login_text)(void *ctx, struct buf *out);
	/* A code load: begin (fails when one already runs), pull, finish. */
	void *(*upload_begin)(void *ctx, const char *user, bool force,
			      struct err *e);
	/*
	 * All the data, read through pull(arg, buf, len, e) on the session's
	 * thread until it returns 0 (the end) or fails. Fails early when the
	 * bundle is refused; a failure of pull itself is returned as is.
	 */
	int (*upload_pull)(void *ctx, void *job,
			   ssize_t (*pull)(void *arg, uint8_t *buf, size_t len,
					   struct err *e),
			   void *arg, struct err *e);
	/*
	 * End of data: verify, activate, and write the code load's report
	 * (one line per "\n") into report. 0 on success. keepalive() may be
	 * called with a line of progress while the finish runs long.
	 */
	int (*upload_finish)(void *ctx, void *job, struct buf *report,
			     void (*keepalive)(void *session, const char *line),
			     void *session, struct err *e);
	/* Connection lost or transfer refused: undo, keep the active bank. */
	void (*upload_abort)(void *ctx, void *job, const char *why);
	/* After the reply to a successful upload has been sent. */
	void (*upload_done)(void *ctx);
	/* Optional: a session that called upload_done has ended with QUIT:
	 * its client has read all it wanted. */
	void (*session_end)(void *ctx);
};

struct ftp_config {
	const char *address;	/* numeric IPv4 or IPv6 */
	uint16_t port;		/* 0: any free port (tests) */
	const struct ftp_ops *ops;
	void *ctx;
	const char *greeting;	/* text after "220 " */
	int reply_hold_seconds;		/* FTP_REPLY_HOLD_SECONDS; 0: none */
	int upload_stall_seconds;	/* 0: FTP_UPLOAD_STALL_SECONDS */
	struct tcp_admission admission;	/* zeros: the listener's defaults */
};

struct ftp_server;

/* server.c */
struct ftp_server *ftp_server_start(const struct ftp_config *cfg,
				    struct err *e);
uint16_t ftp_server_port(const struct ftp_server *s);
unsigned ftp_server_sessions(struct ftp_server *s);
/* Closes the listener and ends every session; blocks until they are gone. */
void ftp_server_stop(struct ftp_server *s);

/* ---- inside the part ---- */

enum ftp_session_state {
	FTP_STATE_NEED_USER,
	FTP_STATE_NEED_PASS,
	FTP_STATE_READY,
};

struct ftp_server;

struct ftp_session {
	struct ftp_server *server;
	const struct ftp_config *cfg;
	struct tcp_conn *conn;		/* the control connection */
	int ctrl;			/* its socket, for reads */
	struct sockaddr_storage peer;
	struct sockaddr_storage local;
	char peer_text[INET6_ADDRSTRLEN + 8];
	struct ftp_line_reader reader;
	uint8_t in[1024];
	size_t in_len;
	size_t in_off;
	int64_t started;		/* monotonic seconds */
	int64_t last_command;
	enum ftp_session_state state;
	char user[FTP_USER_MAX];
	bool may_flash;
	int login_failures;
	int pasv_fd;			/* listening for a passive connection */
	struct sockaddr_storage port_addr;
	socklen_t port_len;
	bool port_set;
	bool epsv_all;
	bool quit;
	bool loaded;			/* upload_done was called */
	int open_code;			/* a multi-line reply already begun */
	uint8_t *chunk;			/* FTP_CHUNK bytes for uploads */
};

/* session.c */
int64_t ftp_now(void);
void *ftp_session_main(void *arg);
int ftp_reply(struct ftp_session *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ftp_reply_lines(struct ftp_session *s, int code, const char *first,
		    const char *body, const char *last);
void ftp_reply_keepalive(void *session, const char *line);

/* commands.c */
void ftp_command_dispatch(struct ftp_session *s, const struct ftp_command *c);

/* data.c */
void ftp_data_reset(struct ftp_session *s);
int ftp_data_passive(struct ftp_session *s, bool extended);
int ftp_data_active(struct ftp_session *s, const char *arg, bool extended);
int ftp_data_open(struct ftp_session *s, struct err *e);

/* upload.c */
void ftp_upload(struct ftp_session *s, bool force);

/* server.c */
bool ftp_server_stopping(struct ftp_server *srv);

#endif
