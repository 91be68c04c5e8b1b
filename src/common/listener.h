/*
 * listener.h: a TCP listener that gives each connection its own thread, at
 * most max_sessions at once, and on stop ends them all (shutdown() of their
 * sockets wakes any blocked read). The shell transports and FTP share it;
 * it knows nothing of what is spoken on the connections.
 */
#ifndef TANDEM_COMMON_LISTENER_H
#define TANDEM_COMMON_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

struct tcp_listener;

/* Serves one connection on its own thread; the listener closes fd after. */
typedef void (*tcp_serve_fn)(void *arg, int fd, const char *peer);
/* Tells a connection over the limit why; the listener closes fd after. */
typedef void (*tcp_refuse_fn)(void *arg, int fd);

struct tcp_listener_cfg {
	const char *name;	/* starts errors and log lines: "ftp" */
	const char *address;	/* numeric IPv4 or IPv6 */
	uint16_t port;		/* 0: any free port (tests) */
	unsigned max_sessions;
	bool nodelay;		/* interactive: no Nagle delay on replies */
	tcp_serve_fn serve;
	tcp_refuse_fn refuse;	/* NULL: log a warning and close */
	void *arg;		/* given to serve and refuse */
};

/* listener.c */
struct tcp_listener *tcp_listener_start(const struct tcp_listener_cfg *cfg,
					struct err *e);
uint16_t tcp_listener_port(const struct tcp_listener *l);
unsigned tcp_listener_sessions(struct tcp_listener *l);
/*
 * _close: stop accepting (the port refuses at once) and cut every session;
 * does not wait, so a session may close its own listener. _stop: close,
 * then wait for the session threads and free; never from a session.
 */
void tcp_listener_close(struct tcp_listener *l);
void tcp_listener_stop(struct tcp_listener *l);

#endif
