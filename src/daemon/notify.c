/*
 * notify.c: the sd_notify side of tandemd (notify.h). Sends datagrams to
 * the manager's NOTIFY_SOCKET through libsystemd; never fails the daemon:
 * a manager that cannot be told is logged once and otherwise ignored.
 * Built only with libsystemd (meson option systemd).
 *
 * libsystemd is loaded (dlopen) only when a manager is there: linked, its
 * chain (libgcrypt, libcap, three compressors) was mapped into every
 * tandemd, about a megabyte of resident pages on a controller that never
 * runs under systemd.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/common.h"
#include "daemon/notify.h"

#define NOTIFY_STATUS_MAX	256	/* bytes of a STATUS= line */

static struct event *watchdog_event;
static bool (*watchdog_alive)(void *);
static void *watchdog_arg;
static bool notify_failed;		/* logged once */
static __typeof__(sd_notify) *notify_fn;
static __typeof__(sd_watchdog_enabled) *watchdog_enabled_fn;

/* Whether a manager listens and libsystemd is loaded to tell it. */
static bool manager(void)
{
	static bool tried;
	void *lib;

	if (tried)
		return notify_fn && watchdog_enabled_fn;
	tried = true;
	if (!getenv("NOTIFY_SOCKET"))
		return false;
	lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_warn("NOTIFY_SOCKET is set but libsystemd cannot be "
			 "loaded: %s", dlerror());
		return false;
	}
	notify_fn = (__typeof__(sd_notify) *)dlsym(lib, "sd_notify");
	watchdog_enabled_fn = (__typeof__(sd_watchdog_enabled) *)dlsym(lib,
		"sd_watchdog_enabled");
	if (!notify_fn || !watchdog_enabled_fn)
		log_warn("libsystemd.so.0 lacks sd_notify or "
			 "sd_watchdog_enabled");
	return notify_fn && watchdog_enabled_fn;
}

static void notify_send(const char *state)
{
	int rc;

	if (!manager())
		return;
	rc = notify_fn(0, state);

	if (rc < 0 && !notify_failed) {
		notify_failed = true;
		log_warn("cannot notify the service manager (%s): %s",
			 getenv("NOTIFY_SOCKET"), strerror(-rc));
	}
}

/* "HEAD\nSTATUS=text": one datagram, so the manager sees both at once. */
static void notify_with_status(const char *head, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void notify_with_status(const char *head, const char *fmt, va_list ap)
{
	char status[NOTIFY_STATUS_MAX], msg[NOTIFY_STATUS_MAX + 64];
	size_t i;

	vsnprintf(status, sizeof(status), fmt, ap);
	/* One line: a newline would start another assignment. */
	for (i = 0; status[i]; i++)
		if (status[i] == '\n')
			status[i] = ' ';
	snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", head, head[0] ? "\n" : "",
		 status);
	notify_send(msg);
}

void notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("READY=1", fmt, ap);
	va_end(ap);
}

void notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	notify_with_status("", fmt, ap);
	va_end(ap);
}

void notify_stopping(const char *status)
{
	char msg[NOTIFY_STATUS_MAX + 32];

	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", status);
	notify_send(msg);
}

static void watchdog_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!watchdog_alive || watchdog_alive(watchdog_arg))
		notify_send("WATCHDOG=1");
}

int notify_watchdog_start(struct event_base *base, bool (*alive)(void *),
			  void *arg)
{
	uint64_t usec = 0;
	struct timeval half;
	int rc;

	if (!manager())
		return 0;
	rc = watchdog_enabled_fn(0, &usec);
	if (rc < 0) {
		log_warn("service manager's watchdog settings: %s",
			 strerror(-rc));
		return 0;
	}
	if (rc == 0 || usec == 0)
		return 0;
	watchdog_alive = alive;
	watchdog_arg = arg;
	half.tv_sec = (time_t)(usec / 2 / 1000000);
	half.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	watchdog_event = event_new(base, -1, EV_PERSIST, watchdog_tick, NULL);
	if (!watchdog_event || event_add(watchdog_event, &half) < 0) {
		log_error("cannot start the watchdog timer (%llu us)",
			  (unsigned long long)usec);
		notify_watchdog_stop();
		return -1;
	}
	/* The first ping at once: the manager's clock started at exec. */
	notify_send("WATCHDOG=1");
	log_info("watchdog: pinging every %llu ms",
		 (unsigned long long)(usec / 2000));
	return 0;
}

void notify_watchdog_stop(void)
{
	if (watchdog_event) {
		event_free(watchdog_event);
		watchdog_event = NULL;
	}
	watchdog_alive = NULL;
}
