/*
 * daemon.h: tandemd's lifecycle: the listeners of each protocol, opened and
 * closed at run time (`set protocols`), the event loop, and clean shutdown.
 * The CLI, users and firmware come in through the seams of src/ssh
 * (shell_ops, sftp_ops) and src/ftp (ftp_ops), which controller.h
 * implements over the real parts.
 */
#ifndef TANDEM_DAEMON_H
#define TANDEM_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "ftp/ftp.h"
#include "http/http.h"
#include "ssh/shell.h"

enum daemon_protocol {
	DAEMON_PROTO_SSH,
	DAEMON_PROTO_SFTP,
	DAEMON_PROTO_TELNET,
	DAEMON_PROTO_FTP,
	DAEMON_PROTO_HTTP,
	DAEMON_PROTO_HTTPS,
	DAEMON_PROTO_COUNT,
};

struct daemon_config {
	const char *state_dir;		/* <state>/<a|b>/... */
	char controller;		/* 'a' or 'b' */
	const char *address;		/* numeric, e.g. 127.0.0.2 */
	int ports[DAEMON_PROTO_COUNT];	/* 0: any free port; -1: default */
	bool enabled[DAEMON_PROTO_COUNT];	/* at start */
	const char *hostkey_dir;	/* NULL: <state>/<ctl>/config */
	int ftp_reply_hold;		/* ftp_config.reply_hold_seconds */
	int upload_stall;		/* ftp_config.upload_stall_seconds */
	struct tcp_admission admission;	/* every listener's; zeros: defaults */
	/* HTTP and HTTPS (src/http): NULL http: not served. */
	const struct http_ops *http;
	void *http_ctx;
	const struct cli_backend *cli_backend;	/* the API's commands */
	void *cli_ctx;
	const char *web_root;		/* NULL: no web UI files */
	unsigned http_session_seconds;	/* 0: HTTP_SESSION_SECONDS */
	unsigned http_idle_seconds;	/* 0: HTTP_IDLE_SECONDS */
};

struct daemon;

/* daemon.c */
const char *daemon_protocol_name(enum daemon_protocol p);
int daemon_protocol_from_name(const char *name);	/* -1: unknown */
struct daemon *daemon_new(const struct daemon_config *cfg,
			  const struct shell_service *shell,
			  const struct sftp_service *sftp,
			  const struct ftp_ops *ftp, void *ftp_ctx,
			  struct err *e);
/*
 * Opens or closes one protocol's listener ("ssh", "sftp", "telnet", "ftp",
 * "http", "https");
 * closing ends its sessions. Prints "<name> listening on ADDR:PORT" or
 * "<name> closed" on stdout. Safe from any thread. 0 or negative + e.
 */
int daemon_protocol_set(struct daemon *d, const char *name, bool enabled,
			struct err *e);
bool daemon_protocol_enabled(struct daemon *d, enum daemon_protocol p);
uint16_t daemon_protocol_port(struct daemon *d, enum daemon_protocol p);
/* Runs until SIGTERM/SIGINT or daemon_request_stop(); closes everything. */
int daemon_run(struct daemon *d);
void daemon_request_stop(struct daemon *d);
void daemon_free(struct daemon *d);
char daemon_controller(const struct daemon *d);

#endif
