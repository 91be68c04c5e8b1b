/*
 * internal.h: what the link's files share and nobody else sees: one
 * connection (socket + TLS) and the link that manages them.
 */
#ifndef TANDEM_LINK_INTERNAL_H
#define TANDEM_LINK_INTERNAL_H

#include <pthread.h>
#include <openssl/ssl.h>

#include "link/link.h"

#define LINK_READ_CHUNK		(32 * 1024)	/* bytes one read asks for */
#define LINK_SESSIONS_MAX	4	/* B: live connections at once */

/*
 * One connection. Its owner (the reader thread) frees it after it has
 * left the link (link->cur is no longer it) and no other thread uses it
 * (users is 0). ssl is touched only under ssl_mu; a frame is written
 * whole under write_mu; the rest under link->mu.
 */
struct link_conn {
	struct link *link;
	int fd;
	SSL *ssl;
	struct tcp_conn *tcp;		/* B: the listener's; A: NULL */
	char peer[TCP_PEER_MAX];
	pthread_mutex_t ssl_mu;
	/* under ssl_mu: the first fatal TLS error, which a call on the
	 * other thread meets again with an empty error queue */
	char tls_failure[160];
	pthread_mutex_t write_mu;
	struct buf out;			/* the frame being written */
	/* under link->mu */
	unsigned users;			/* senders holding it */
	bool dropped;			/* shut down; why says why */
	char why[LINK_WHY_MAX];
	int64_t last_rx_ms;		/* a frame came in */
	bool in_handler;		/* frame() runs: not judged */
};

struct link {
	char controller;
	struct link_hello ours;
	char *listen_address, *partner_address;
	uint16_t listen_port, partner_port;
	unsigned heartbeat_ms, heartbeat_missed;
	unsigned backoff_min_ms, backoff_max_ms;
	int64_t login_ms, write_ms;
	struct tcp_admission admission;
	struct link_handlers handlers;
	void *ctx;
	SSL_CTX *tls;
	int wake_fd;			/* eventfd: readable once stopping */
	struct tcp_listener *listener;	/* B */
	pthread_t dialer, heart;
	bool dialer_started, heart_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;		/* any change under mu */
	bool stopping;
	struct link_conn *cur;		/* up: from up() to down() */
	int64_t quick_until_ms;		/* A: redial quickly until then */
};

/* link.c */
/* The dialer's next pause after waiting waited ms: doubled up to max_ms,
 * back to min_ms after a connection that came up. */
unsigned link_backoff_next(unsigned waited, unsigned min_ms, unsigned max_ms,
			   bool was_up);
/* The dialer's pause before its next dial at now_ms: LINK_REDIAL_QUICK_MS
 * (never more than backoff) inside a quick-redial window that ends at
 * quick_until_ms, else backoff. */
unsigned link_redial_pause(int64_t now_ms, int64_t quick_until_ms,
			   unsigned backoff);
/* The end of a quick-redial window of window_ms asked for at now_ms: at
 * most LINK_REDIAL_QUICK_WINDOW_MAX_MS later. */
int64_t link_redial_until(int64_t now_ms, unsigned window_ms);

/* conn.c */
int64_t link_now_ms(void);
struct link_conn *link_conn_new(struct link *l, int fd, struct tcp_conn *tcp,
				const char *peer, struct err *e);
void link_conn_free(struct link_conn *c);
/* Waits for events on the connection's socket until deadline_ms (< 0:
 * none): 0, -ETIMEDOUT, or -ECANCELED when the link is stopping. */
int link_conn_wait(struct link_conn *c, short events, int64_t deadline_ms);
int link_conn_handshake(struct link_conn *c, bool server,
			int64_t deadline_ms, struct err *e);
/* Up to cap bytes: > 0, 0 when the peer closed, or negative with e. */
ssize_t link_conn_read(struct link_conn *c, void *data, size_t cap,
		       int64_t deadline_ms, struct err *e);
/* All of len bytes, each write making progress within the link's write
 * deadline. Caller holds write_mu. */
int link_conn_write(struct link_conn *c, const void *data, size_t len,
		    struct err *e);
/* Encodes and writes one frame. Takes write_mu; with try, gives up at
 * once (-EBUSY) when another frame is being written. */
int link_conn_send(struct link_conn *c, unsigned type, const void *payload,
		   size_t len, bool try, struct err *e);
/* Shuts the socket down (once) so every read and write on it ends; why
 * is kept for down(). Caller holds link->mu. */
void link_conn_drop_locked(struct link_conn *c, const char *why);

#endif
