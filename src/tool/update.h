/*
 * update.h: `tandem update`, a bundle loaded into a controller over its
 * HTTP(S) API (PUT /firmware/bundle) and followed through the MC's restart
 * and PFU until both controllers run it (docs/update.md). The parts: the
 * HTTP client (update_http.c, libcurl and jansson), what the operator sees
 * (update_show.c), following the load to its end (update_follow.c), and
 * the command (update_cmd.c). Each failure has its own exit code.
 */
#ifndef TANDEM_UPDATE_TOOL_H
#define TANDEM_UPDATE_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/common.h"

/* Exit codes: one per way an update can end (docs/update.md). */
enum update_exit {
	UPDATE_EXIT_OK = 0,		/* both controllers run the bundle */
	UPDATE_EXIT_OTHER = 1,		/* e.g. the bundle file unreadable */
	UPDATE_EXIT_USAGE = 2,
	UPDATE_EXIT_CONNECT = 3,	/* cannot connect (or TLS refused) */
	UPDATE_EXIT_LOGIN = 4,		/* login refused */
	UPDATE_EXIT_VERIFY = 5,		/* bundle refused by verification */
	UPDATE_EXIT_READINESS = 6,	/* readiness check refused, busy */
	UPDATE_EXIT_LOAD = 7,		/* load failed, or did not come up */
	UPDATE_EXIT_PFU = 8,		/* PFU halted or disabled */
	UPDATE_EXIT_TIMEOUT = 9,
	UPDATE_EXIT_VERSION = 10,	/* not newer, without --force */
};

/* Limits of this part. */
#define UPDATE_TIMEOUT_DEFAULT	1800	/* seconds for the whole update */
#define UPDATE_CONNECT_SECONDS	10	/* one connection attempt */
#define UPDATE_REQUEST_SECONDS	30	/* one request but the upload */
#define UPDATE_POLL_MS		500	/* between progress polls */
/* PFU idle or complete while the partner, reachable, runs another
 * bundle: how long before that is taken as PFU's last word. */
#define UPDATE_SETTLE_SECONDS	60
#define UPDATE_REPLY_MAX	(1u << 20)	/* one API reply */
#define UPDATE_PASSWORD_MAX	128
#define UPDATE_URL_MAX		512

struct update_options {
	const char *host;		/* address, or address:port */
	const char *user;
	char password[UPDATE_PASSWORD_MAX];
	const char *bundle;
	char controller;		/* 'A', 'B', or 0: the one at host */
	bool force;
	bool http;			/* plain HTTP instead of HTTPS */
	bool insecure;			/* accept any certificate (curl -k) */
	const char *cacert;		/* CA file for the controller's cert */
	unsigned timeout;		/* seconds */
	bool terminal;			/* stdout is a terminal: a bar */
};

/* ---- update_http.c: the API client ---- */

/* Outcome of one request: the transport's, before any reply is read. */
enum update_http_rc {
	UPDATE_HTTP_OK = 0,		/* a reply (any HTTP status) */
	UPDATE_HTTP_UNREACHABLE = -1,	/* refused, no route, reset */
	UPDATE_HTTP_TLS = -2,		/* certificate or handshake refused */
	UPDATE_HTTP_TIMEOUT = -3,
	UPDATE_HTTP_FAILED = -4,	/* anything else; message says */
};

struct update_client;

/* --host: "ADDRESS", "ADDRESS:PORT", "[V6]" or "[V6]:PORT" (a bare IPv6
 * address takes the default port: 443, or 80 for http). 0, or -1 for an
 * empty address, a bad or zero port, or one longer than len. Pure. */
int update_host_split(const char *host, bool http, char *addr, size_t len,
		      unsigned *port);

/* Upload progress: bytes sent of total; return nonzero to abort. */
typedef int (*update_sent_fn)(void *arg, uint64_t sent, uint64_t total,
			      bool all_sent);

struct update_client *update_client_new(const struct update_options *o,
					 const char *address, unsigned port,
					 struct err *e);
void update_client_free(struct update_client *c);
/* The URL base, "https://ADDRESS:PORT", for messages. */
const char *update_client_base(const struct update_client *c);
/*
 * GET /api/login/<sha256 of user_password>: 0 with the session key kept,
 * UPDATE_EXIT_LOGIN with the controller's answer, or a transport code.
 */
int update_client_login(struct update_client *c, struct err *e);
/* GET path (datatype json): *out is the parsed reply (caller decrefs)
 * and *status the HTTP status. A transport code, or 0. */
int update_client_get(struct update_client *c, const char *path,
		      long *status, json_t **out, struct err *e);
/* PUT /firmware/bundle[?force=1], the file streamed from fp of size
 * bytes, within seconds; the reply as for update_client_get. */
int update_client_put(struct update_client *c, FILE *fp, uint64_t size,
		      bool force, long seconds, update_sent_fn sent, void *arg,
		      long *status, json_t **out, struct err *e);
/* The status object of a family reply (JSON "status" array, the last),
 * or NULL. */
json_t *update_status_object(json_t *reply);

/* ---- update_show.c: what the operator sees ---- */

struct update_show;

struct update_show *update_show_new(bool terminal);
void update_show_free(struct update_show *s);
/* Upload progress (the bar on a terminal, a line each 10% otherwise). */
void update_show_upload(struct update_show *s, uint64_t sent,
			uint64_t total);
/* A stage (and what it is at): a line when it changes; on a terminal
 * the bar's label. percent < 0: none. */
void update_show_stage(struct update_show *s, const char *stage,
		       int percent);
/* A line of its own (ends any bar first). */
void update_show_line(struct update_show *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Why the update failed, on stderr after "tandem update: ". */
void update_show_fail(struct update_show *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- update_follow.c: the restart and PFU to the end ---- */

struct update_follow {
	const struct update_options *opt;
	struct update_client *client;
	struct update_show *show;
	char target[64];		/* the bundle's version, or "" */
	char loaded;			/* 'A' or 'B': the controller loaded */
	bool restarts;			/* a load was activated: its MC restarts */
	int64_t stalled_ms;		/* since PFU stopped short, or 0 */
	int64_t deadline_ms;		/* monotonic */
};

int64_t update_now_ms(void);
/* Waits for the loaded controller's MC to restart, logs in again and
 * follows PFU until both run the target: an UPDATE_EXIT_* code, with
 * the reason told through show. */
int update_follow_run(struct update_follow *f);

/* ---- update_cmd.c ---- */

int tool_update(int argc, char **argv);

#endif
