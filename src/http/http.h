/*
 * http.h: the HTTP(S) server (DESIGN.md "Code layout"): the family's XML
 * API (/api/...), Tandem's firmware resources (/firmware/...) and the web
 * UI's static files, on libmicrohttpd. The API hands command lines to the
 * one CLI engine (src/cli) and renders with its renderers; uploads go to
 * the update engine through struct http_ops, which the daemon implements.
 *
 * Connections come in through the common TCP listener (src/common/
 * listener.h), so HTTP and HTTPS obey the one admission policy; each
 * accepted socket is handed to libmicrohttpd (MHD_add_connection).
 */
#ifndef TANDEM_HTTP_H
#define TANDEM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli/cli.h"
#include "common/common.h"
#include "common/listener.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define HTTP_SESSIONS_MAX	64	/* API sessions held at once */
#define HTTP_SESSION_SECONDS	1800	/* idle before a session expires */
#define HTTP_SESSION_SECONDS_MAX 86400
#define HTTP_KEY_BYTES		16	/* random bytes of a session key */
#define HTTP_KEY_TEXT		(2 * HTTP_KEY_BYTES + 1)	/* hex, NUL */
#define HTTP_CONNECTIONS_MAX	32	/* connections per listener */
#define HTTP_THREADS_MAX	8	/* libmicrohttpd's pool, one a core */
/* Connections not logged in per source, unless --source-max says
 * otherwise: a browser opens up to 6 to one host for a page's files, and
 * more while one it reused is closing (Chromium at 6 lost a module of the
 * page in about one load in four); twice that. */
#define HTTP_SOURCE_MAX		12
#define HTTP_IDLE_SECONDS	30	/* keep-alive with no request */
#define HTTP_IDLE_SECONDS_MAX	3600
/* A request that switches its own listener off: how long the close waits
 * for its reply to be sent. */
#define HTTP_CLOSE_REPLY_MS	5000
/* How long stop waits for requests answered on threads of their own (a
 * failed login's delay, a code load's last steps) before it leaves the
 * listener's memory to them rather than free it under them. */
#define HTTP_DEFERRED_WAIT_MS	30000
#define HTTP_URL_MAX		CLI_LINE_MAX	/* a path the router takes */
#define HTTP_STATIC_PATH_MAX	512	/* a static file's path */
#define HTTP_BODY_MAX		4096	/* a body that is not an upload */
/* Body read and dropped after a bundle failed, so that the client sees
 * the reply rather than a reset: clients (curl, browsers) do not read a
 * reply before they have sent their body. Only a manage session gets
 * this far; beyond the limit the reply goes and the connection closes. */
#define HTTP_DRAIN_MAX		((size_t)2 << 30)
/* Read-only API answers kept to be sent again (answers.c): how many,
 * the backend calls one may be built from, the largest setting value
 * and the largest reply kept. */
#define HTTP_ANSWERS_MAX	16
#define HTTP_ANSWER_CALLS_MAX	16
#define HTTP_ANSWER_VALUE_MAX	4096
#define HTTP_ANSWER_SCRATCH	16384	/* a kept call's output, on the stack */
#define HTTP_ANSWER_BYTES_MAX	(64u << 10)
#define HTTP_DIGEST_MD5_HEX	32
#define HTTP_DIGEST_SHA256_HEX	64

/* The family's return code for a session key that is not (or no longer)
 * valid (MSA-REFERENCE.md, "HTTP API"). */
#define HTTP_RC_SESSION		(-10027)
/* A login that failed: the family's Error/1, return-code 2. */
#define HTTP_RC_LOGIN_FAILED	2
/* A login that succeeded: return-code 1, as older firmware answers. */
#define HTTP_RC_LOGIN_OK	1

/* ---- router.c: what a request asks for (pure, no I/O) ---- */

enum http_route_kind {
	HTTP_ROUTE_LOGIN,	/* /api/login/<digest> */
	HTTP_ROUTE_LOGOUT,	/* /api/logout[/<key>] */
	HTTP_ROUTE_EXIT,	/* /api/exit */
	HTTP_ROUTE_COMMAND,	/* /api/<word>/<word>... */
	HTTP_ROUTE_FW_BUNDLE,	/* PUT or POST /firmware/bundle */
	HTTP_ROUTE_FW_PROGRESS,	/* GET /firmware/progress */
	HTTP_ROUTE_STATIC,	/* anything else: a file of the web UI */
};

enum http_route_error {
	HTTP_ROUTE_OK = 0,
	HTTP_ROUTE_BAD_PATH = -1,	/* malformed; 400 */
	HTTP_ROUTE_BAD_METHOD = -2,	/* right path, wrong method; 405 */
	HTTP_ROUTE_NOT_FOUND = -3,	/* no such resource; 404 */
	HTTP_ROUTE_BAD_DIGEST = -4,	/* login with no md5/sha256 hex */
};

struct http_route {
	enum http_route_kind kind;
	/* LOGIN: the digest, lower-case hex; LOGOUT: the key or "". */
	char arg[HTTP_DIGEST_SHA256_HEX + 1];
	/* COMMAND: the words as one CLI line, quoted where needed. */
	char line[HTTP_URL_MAX + 1];
	/* STATIC: the path under the web root, "index.html" for "/". */
	char file[HTTP_STATIC_PATH_MAX];
};

/*
 * Routes a request by method and (already percent-decoded) path. Fills
 * out and returns HTTP_ROUTE_OK, or an http_route_error with why filled
 * (a sentence for the client; never echoes the path).
 */
int http_route_parse(const char *method, const char *path,
		     struct http_route *out, char *why, size_t whylen);
/*
 * The `datatype` header's value (any case) as an output mode: api, xml,
 * ipa -> CLI_OUTPUT_API; api-embed; json. NULL or "" -> api. -1 for any
 * other value.
 */
int http_datatype_parse(const char *value, enum cli_output_mode *out);
/* The static file's Content-Type, by extension. */
const char *http_content_type(const char *file);

/* ---- sessions.c: API session keys and their expiry ---- */

enum http_session_check {
	HTTP_SESSION_OK = 0,
	HTTP_SESSION_UNKNOWN = -1,	/* never issued, or ended */
	HTTP_SESSION_EXPIRED = -2,	/* issued, idle past the timeout */
};

struct http_session_info {
	char user[CLI_USER_NAME_MAX + 1];
	enum cli_role role;
};

struct http_sessions;

/* now: monotonic seconds (NULL: CLOCK_MONOTONIC). */
struct http_sessions *http_sessions_new(unsigned timeout_seconds,
					int64_t (*now)(void));
void http_sessions_free(struct http_sessions *t);
/* A new random key for user; a full table drops the least recently used
 * session. 0 or -ENOMEM / -EIO (no random bytes). */
int http_sessions_create(struct http_sessions *t, const char *user,
			 enum cli_role role, char key[HTTP_KEY_TEXT]);
/* Checks key and, when valid, counts this as activity. */
enum http_session_check http_sessions_use(struct http_sessions *t,
					  const char *key,
					  struct http_session_info *out);
/* Ends the session of key: 0, or -ENOENT. */
int http_sessions_end(struct http_sessions *t, const char *key);
/* Sessions of user end (deleted, password changed): how many. */
size_t http_sessions_end_user(struct http_sessions *t, const char *user);
size_t http_sessions_count(struct http_sessions *t);

/* ---- cert.c: the HTTPS certificate ---- */

#define HTTP_CERT_FILE		"https.crt"
#define HTTP_KEY_FILE		"https.key"
#define HTTP_CERT_DAYS		3650
/* GnuTLS priorities of the HTTPS listener: TLS 1.2 and 1.3 only. */
#define HTTP_TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/*
 * Makes dir/https.key (EC P-256, mode 0600) and dir/https.crt (self-signed,
 * CN and subjectAltName = address) unless both exist. 0 or negative + e.
 */
int http_cert_ensure(const char *dir, const char *address, struct err *e);

/* ---- server.c: the listeners ---- */

/* What the server calls into the controller for. */
struct http_ops {
	/*
	 * A login by digest (hex md5 or sha256 of "user_password") from
	 * peer: 0 with the user and role, or negative with e: -EACCES for
	 * "Authentication Unsuccessful", -EAGAIN while locked out.
	 */
	int (*login)(void *ctx, const char *digest, const char *peer,
		     struct http_session_info *out, struct err *e);
	/* Whether the protocol switch of this listener is on (the session
	 * starts only then). */
	bool (*may_serve)(void *ctx, bool tls);
	/* On every request of a session: the user still exists and has the
	 * wbi interface; *role is its role now. 0, or negative (the session
	 * ends). */
	int (*session_check)(void *ctx, const char *user, enum cli_role *role);
	/* Firmware upload: as the SFTP seam (src/ssh/shell.h). */
	void *(*upload_begin)(void *ctx, const char *user, bool force,
			      struct err *e);
	int (*upload_feed)(void *upload, const void *data, size_t len,
			   struct err *e);
	/* Ends the upload and frees it; report gets the code load text,
	 * *return_code the FTP-side RETURN_CODE. */
	int (*upload_finish)(void *upload, struct buf *report,
			     int *return_code, struct err *e);
	/* The bundle failed (why) or its client went away: nothing is
	 * activated; frees it. report and return_code (may be NULL) get
	 * the code load's text and RETURN_CODE. */
	void (*upload_abort)(void *upload, const char *why,
			     struct buf *report, int *return_code);
	/* The reply of a successful load has been sent: restart if due. */
	void (*upload_replied)(void *ctx);
	/* GET /firmware/progress: the JSON document. */
	int (*progress_json)(void *ctx, struct buf *out);
};

struct http_server_config {
	const char *name;		/* "http" or "https": logs, errors */
	const char *address;
	uint16_t port;			/* 0: any free port */
	bool tls;
	const char *cert_dir;		/* tls: https.crt and https.key */
	const char *web_root;		/* NULL: static files answer 404 */
	struct tcp_admission admission;
	unsigned idle_seconds;		/* keep-alive; 0: HTTP_IDLE_SECONDS */
	const struct cli_backend *backend;
	void *backend_ctx;
	const struct http_ops *ops;
	void *ctx;
	struct http_sessions *sessions;	/* shared by HTTP and HTTPS */
};

struct http_server;

struct http_server *http_server_start(const struct http_server_config *cfg,
				      struct err *e);
uint16_t http_server_port(const struct http_server *s);
/* Stop accepting and cut every connection; does not wait. */
void http_server_close(struct http_server *s);
/* Close, wait for every connection, free; never from a request. */
void http_server_stop(struct http_server *s);

#endif
