/*
 * listener.h: a TCP listener that gives each connection its own thread, at
 * most max_sessions at once, and on stop ends them all (shutdown() of their
 * sockets wakes any blocked read). Every listener (FTP, SSH, SFTP, telnet,
 * and later HTTP and the partner link) gets the one admission policy here;
 * it knows nothing of what is spoken on the connections.
 *
 * The admission policy (DESIGN.md, Security), so that no client that has
 * not logged in can keep an operator out:
 * - A connection has TCP_LOGIN_SECONDS from accept() to authenticate (the
 *   SSH key exchange included); then the listener cuts it (shutdown()).
 * - At most TCP_SOURCE_MAX unauthenticated connections from one address;
 *   one more is refused.
 * - A full listener makes room by cutting an unauthenticated connection:
 *   the oldest of the source holding the most; a logged-in session is
 *   never displaced, and a new connection is refused only when every
 *   session is logged in.
 * - Output that makes no progress for TCP_WRITE_SECONDS ends the
 *   connection: tcp_conn_send() for the writes a session makes itself,
 *   and a watch over the socket's unsent bytes for those a library makes.
 */
#ifndef TANDEM_COMMON_LISTENER_H
#define TANDEM_COMMON_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Limits of the admission policy (settings: tandemd --login-seconds,
 * --write-seconds, --source-max). */
#define TCP_LOGIN_SECONDS	60	/* accept() to authenticated */
#define TCP_WRITE_SECONDS	60	/* output without progress */
#define TCP_SOURCE_MAX		4	/* unauthenticated, per address */
#define TCP_SECONDS_MAX		86400	/* largest deadline a setting takes */
/* Slots for connections cut but not yet ended, beyond max_sessions: a
 * cut thread needs a moment to notice, and the new connection should not
 * wait for it; once these are used up too, new ones wait in the backlog. */
#define TCP_LEAVING_MAX		16
#define TCP_ACCEPT_PAUSE_MS	250	/* after EMFILE/ENFILE: stop accepting */
#define TCP_WATCH_MS		500	/* how often stalled output is checked */
#define TCP_LOG_WINDOW_SECONDS	60	/* one refusal warning per window */
#define TCP_PEER_MAX		64	/* numeric address, with its NUL */

struct tcp_listener;
/* One accepted connection, as its session sees it. */
struct tcp_conn;

/* Serves one connection on its own thread; the listener closes it after. */
typedef void (*tcp_serve_fn)(void *arg, struct tcp_conn *conn);
/* Tells a connection over the limit why; the listener closes fd after. */
typedef void (*tcp_refuse_fn)(void *arg, int fd);

/* The admission settings; 0 in a field: its TCP_* default. */
struct tcp_admission {
	unsigned login_seconds;
	unsigned write_seconds;
	unsigned source_max;
};

struct tcp_listener_cfg {
	const char *name;	/* starts errors and log lines: "ftp" */
	const char *address;	/* numeric IPv4 or IPv6 */
	uint16_t port;		/* 0: any free port (tests) */
	unsigned max_sessions;
	bool nodelay;		/* interactive: no Nagle delay on replies */
	struct tcp_admission admission;
	tcp_serve_fn serve;
	tcp_refuse_fn refuse;	/* NULL: close without a word */
	void *arg;		/* given to serve and refuse */
};

/* ---- the policy, pure: unit-tested without sockets ---- */

/* One slot as the policy sees it. */
struct tcp_slot_state {
	bool live;		/* a session runs and has not been cut */
	bool leaving;		/* cut or ended; its thread not yet joined */
	bool authenticated;
	int64_t started_ms;	/* monotonic, at accept() */
	const char *peer;	/* the source: numeric address */
};

enum tcp_admit {
	TCP_ADMIT = 0,		/* into *slot */
	TCP_ADMIT_EVICT = 1,	/* into *slot once *victim is cut */
	TCP_REFUSE_SOURCE = -1,	/* the source is at its TCP_SOURCE_MAX */
	TCP_REFUSE_FULL = -2,	/* every session is logged in */
	TCP_REFUSE_NO_ROOM = -3, /* cut sessions have not ended yet */
};

/*
 * Where a new connection from peer goes among n slots, of which at most
 * max_live may be live: a TCP_ADMIT* with the free slot (and the victim
 * to cut for it), or a TCP_REFUSE_*.
 */
enum tcp_admit tcp_admission_choose(const struct tcp_slot_state *slots,
				    size_t n, unsigned max_live,
				    unsigned source_max, const char *peer,
				    size_t *slot, size_t *victim);

/* ---- listener.c ---- */

struct tcp_listener *tcp_listener_start(const struct tcp_listener_cfg *cfg,
					struct err *e);
uint16_t tcp_listener_port(const struct tcp_listener *l);
/* Live sessions: those running and not cut. */
unsigned tcp_listener_sessions(struct tcp_listener *l);
/*
 * _close: stop accepting (the port refuses at once) and cut every session;
 * does not wait, so a session may close its own listener. _stop: close,
 * then wait for the session threads and free; never from a session.
 */
void tcp_listener_close(struct tcp_listener *l);
void tcp_listener_stop(struct tcp_listener *l);

/* The connection's socket, for reads; writes go through tcp_conn_send. */
int tcp_conn_fd(const struct tcp_conn *c);
/* The peer's numeric address. */
const char *tcp_conn_peer(const struct tcp_conn *c);
/* The client has logged in: no login deadline, never evicted. */
void tcp_conn_authenticated(struct tcp_conn *c);
/*
 * Sends all of data, or fails (-ETIMEDOUT, -EPIPE...) when the client has
 * taken nothing for the listener's write deadline; the connection is cut
 * then, so the session's next read ends too.
 */
int tcp_conn_send(struct tcp_conn *c, const void *data, size_t len);
/* Ends the connection from the session's side: a write that libssh or
 * another library made has missed its deadline. why ends the log line
 * ("cut: ..."). */
void tcp_conn_cut(struct tcp_conn *c, const char *why);
/* Logs what ended a connection before its login ("key exchange failed:
 * ..."), under the same once-a-window limit as refusals: a client can
 * open and drop connections faster than anyone reads a log. */
void tcp_conn_log(struct tcp_conn *c, const char *what);
/* Whether the listener (or tcp_conn_cut) ended it: the failure that
 * follows is the policy's doing, already logged. */
bool tcp_conn_is_cut(struct tcp_conn *c);

#endif
