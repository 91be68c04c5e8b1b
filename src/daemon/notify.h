/*
 * notify.h: tandemd's word to a service manager through the sd_notify
 * protocol (libsystemd): READY=1 once the listeners are open, STATUS=
 * lines, STOPPING=1, and WATCHDOG=1 from the event loop. Built only with
 * -Dsystemd=enabled (or auto and libsystemd found); otherwise every call
 * is an empty inline and no notify code is in the program. Without
 * NOTIFY_SOCKET in the environment each call does nothing (docs/
 * integration.md, "Service").
 */
#ifndef TANDEM_DAEMON_NOTIFY_H
#define TANDEM_DAEMON_NOTIFY_H

#include <stdbool.h>

struct event_base;

#ifdef TANDEM_SYSTEMD
/* notify.c */
/* READY=1 with a STATUS= line (printf-style). */
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1 with a STATUS= line: restart or shutdown. */
void notify_stopping(const char *status);
/*
 * When the manager asked for a watchdog (WATCHDOG_USEC, and WATCHDOG_PID
 * is ours or unset), sends WATCHDOG=1 from base's loop every half
 * interval, each time only after alive(arg) returned true: a loop that is
 * stuck, or a daemon alive() finds stuck, stops the pings and the
 * manager restarts it. 0, also when no watchdog was asked for; -1 when
 * the timer cannot be made (logged).
 */
int notify_watchdog_start(struct event_base *base, bool (*alive)(void *),
			  void *arg);
void notify_watchdog_stop(void);
#else
static inline void notify_ready(const char *fmt, ...) { (void)fmt; }
static inline void notify_status(const char *fmt, ...) { (void)fmt; }
static inline void notify_stopping(const char *status) { (void)status; }
static inline int notify_watchdog_start(struct event_base *base,
					bool (*alive)(void *), void *arg)
{
	(void)base;
	(void)alive;
	(void)arg;
	return 0;
}
static inline void notify_watchdog_stop(void) { }
#endif

#endif
