/*
 * enclosure.h: the simulated enclosure (`tandem enclosure`): a state
 * directory with both controllers' flash and config, and the supervisor
 * that runs each controller's loader as the hardware's power would, holds
 * each controller's serial console and arms fault points in it.
 */
#ifndef TANDEM_TOOL_ENCLOSURE_H
#define TANDEM_TOOL_ENCLOSURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <sys/types.h>
#include <time.h>

#include "common/common.h"

#define ENCLOSURE_MODEL		"2324sa"
#define ENCLOSURE_DEFAULT_DIR	"tandem-enclosure"
/* Seconds before the power-on after a crash or a power cut; an MC restart
 * (exit 75) is powered on at once, as the hardware reboots its MC. */
#define ENCLOSURE_RESTART_DELAY	1
/* The high-port layout: base + 1000 x controller (A 0, B 1) + the
 * family's port modulo 1000, + 100 for SFTP (1022 would meet SSH's 22). */
#define ENCLOSURE_HIGH_PORT_BASE 20000
/* --port-base: the largest base whose B ports stay below 65536. */
#define ENCLOSURE_PORT_BASE_MAX	64000
/* The simulator's component handler in the build tree (meson sets it to
 * the source tree's sim/handlers/; installed: tool_handlers_dir()). */
#ifndef ENCLOSURE_HANDLERS_DIR
#define ENCLOSURE_HANDLERS_DIR	"sim/handlers"
#endif
/* The components the simulator's handler serves. */
#define ENCLOSURE_HANDLED_TYPES	{ "sc", "ec", "cpld" }
/* The project's web UI, which `up` has each tandemd serve (meson sets
 * it to the source tree's web/). */
#ifndef ENCLOSURE_WEB_ROOT
#define ENCLOSURE_WEB_ROOT	"web"
#endif
/* The partner link's port in the standard layout (B listens, A dials). */
#define ENCLOSURE_LINK_PORT	7400
/* `fault`: how long a controller may take to read its faults file. */
#define ENCLOSURE_FAULT_WAIT_SECONDS 20
/* `console`: the detach key (Ctrl-], as telnet's) and, when stdin is not
 * a terminal, the quiet time after its end before detaching. */
#define ENCLOSURE_CONSOLE_DETACH 0x1d
#define ENCLOSURE_CONSOLE_LINGER_MS 1000
#define ENCLOSURE_CONSOLE_CHUNK	4096

/* tandemd's exit status asking to be started again (restart mc). */
#define ENCLOSURE_EXIT_RESTART	75

/* The versions of one release the simulator makes. */
struct enclosure_release {
	const char *bundle, *mc, *sc, *ec;
};
extern const struct enclosure_release enclosure_factory;
extern const struct enclosure_release enclosure_update;
extern const struct enclosure_release enclosure_mc_update;

enum enclosure_service {
	SVC_FTP, SVC_SSH, SVC_TELNET, SVC_SFTP, SVC_LINK, SVC_HTTP, SVC_HTTPS,
	SVC_COUNT,
};

struct enclosure_layout {
	char address[2][16];			/* A, B */
	uint16_t port[2][SVC_COUNT];		/* link: B's listens */
	int standard;				/* the family's ports */
};

/* One controller as `up` runs it. */
struct enclosure_controller {
	char id;		/* 'a' or 'b' */
	pid_t pid;		/* the loader, then (exec) tandemd */
	int off;		/* shut down by the operator */
	time_t power_on_at;	/* a power-on is due (monotonic), or 0 */
	/* The console: up holds both ends of the pty for the whole run, so
	 * the session path stays while the MC restarts. */
	int pty_master, pty_slave;
	int console_listen;	/* run/<c>.console */
	int console_client;	/* the attached operator, or -1 */
};

/* What every power-on passes, worked out once by `up`. */
struct enclosure_run {
	const char *dir;
	char abs_dir[4096];
	struct enclosure_layout layout;
	bool link;		/* A and B joined by the partner link */
	const char *web_root;	/* the web UI's files, for --web-root */
	/* The simulator's component handler (sim/handlers/device-file),
	 * installed in the enclosure's directory; "" when none. */
	char handler[4096 + 32];
};

/* enclosure_init.c */
int enclosure_init(const char *dir, struct err *e);

/* enclosure_layout.c */
/*
 * addresses: NULL for A 127.0.0.2 and B 127.0.0.3, else the two given;
 * port_base: 0 for the family's ports when they can be bound (else the
 * high-port layout), or the base of a high-port layout to use.
 */
void enclosure_layout_pick(struct enclosure_layout *l,
			   const char *const addresses[2], unsigned port_base);
void enclosure_layout_print(const struct enclosure_layout *l, bool link,
			    FILE *out);
const char *enclosure_service_name(enum enclosure_service s);

/* enclosure_conf.c: DIR/<id>.conf, each controller's config file (what
 * its loader and tandemd read); daemon is the tandemd the loader starts
 * when its bank has no MC image. */
int enclosure_conf_path(const char *abs_dir, char id, char *out,
			size_t len);
int enclosure_conf_write(const struct enclosure_run *run, char id,
			 const char *daemon, struct err *e);

/* enclosure_power.c: the supervisor; returns the tool's exit status. */
int enclosure_supervise(struct enclosure_run *run,
			struct enclosure_controller *ctl);
/* run/<c>.pid: the controller's running process, or -1. */
long enclosure_controller_pid(const char *dir, char id);
/* run/up.pid when that process lives, or -1. */
long enclosure_up_pid(const char *dir);

/* enclosure_console.c */
int enclosure_console_open(const char *dir, struct enclosure_controller *c,
			   struct err *e);
void enclosure_console_close(const char *dir, struct enclosure_controller *c);
/* Before each power-on: the line as a fresh terminal, echo on. */
void enclosure_console_reset(struct enclosure_controller *c);
/* The poll loop's share: fds to watch, and what to do when they fire. */
size_t enclosure_console_pollfds(struct enclosure_controller *c,
				 struct pollfd *out);
void enclosure_console_events(struct enclosure_controller *c,
			      const struct pollfd *fds, size_t n);
int tool_enclosure_console(int argc, char **argv);

/* enclosure_fault.c */
int tool_enclosure_fault(int argc, char **argv);

#endif
