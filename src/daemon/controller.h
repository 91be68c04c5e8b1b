/*
 * controller.h: one controller's parts wired together: event log, config,
 * flash store, trusted keys and update engine, and the implementations of
 * the seams the transports and the CLI call (shell_ops, sftp_ops, ftp_ops,
 * cli_backend). src/daemon/main.c builds one and runs it.
 */
#ifndef TANDEM_DAEMON_CONTROLLER_H
#define TANDEM_DAEMON_CONTROLLER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "bundle/bundle.h"
#include "cli/cli.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/partner.h"
#include "events/events.h"
#include "flash/flash.h"
#include "ftp/ftp.h"
#include "http/http.h"
#include "ssh/shell.h"
#include "update/update.h"

#define CONTROLLER_MODEL	"2324sa"
#define CONTROLLER_VENDOR	"Tandem"
#define CONTROLLER_VERSION	"0.1.0"
/* tandemd's exit status asking its supervisor to start it again. */
#define CONTROLLER_EXIT_RESTART	75
/* Seconds between a code load's reply and the MC restart, so the client
 * reads its result before the session drops. */
#define CONTROLLER_RESTART_DELAY 2

struct controller {
	char id;			/* 'A' or 'B' */
	char dir[PATH_MAX];		/* <state>/<a|b> */
	char address[64];
	char serial[32];
	char midplane_serial[32];	/* the enclosure's, "" if not known */
	char model[BUNDLE_NAME_MAX];	/* bundles must name it */
	unsigned idle_override;		/* --idle-seconds, else 0 */
	bool simulator;
	size_t events_max;		/* event log cap; 0: the default */
	time_t started;
	struct events_log *events;
	struct config *config;
	struct flash_store *store;
	struct bundle_keyring keys;
	struct update_engine *update;
	struct handler_set handlers;	/* --handler TYPE:PATH */
	struct pfu *pfu;		/* PFU policy, from controller_started */
	/* Readers of pfu (the link's threads, the CLI) hold it shared; its
	 * stop takes it alone to clear pfu before freeing it. */
	pthread_rwlock_t pfu_lock;
	struct daemon *daemon;
	struct partner *partner;	/* NULL: no partner link configured */
	pthread_mutex_t lock;
	bool restarting;		/* a restart or shutdown is scheduled */
	int exit_status;		/* what main() returns */
	/* controller_schedule_stop()'s timer thread, under lock. */
	pthread_t stop_thread;
	pthread_cond_t stop_cond;
	unsigned stop_delay;
	bool stop_thread_running;
	bool stop_cancel;
	bool stop_now;			/* the delay's client has gone */
};

/* controller.c */
int controller_open(struct controller *c, const char *dir, char id,
		    const char *address, bool simulator, size_t events_max,
		    struct err *e);
void controller_close(struct controller *c);
/* After the listeners are up: confirm a trial boot, note the start. */
void controller_started(struct controller *c);

/* handlers_glue.c: component handlers (docs/handlers.md) */
/* Brings each handled component's device to the active bank's image
 * when its handler reports another version (after a roll-back or a
 * trial that fell back); failures are error events. */
void controller_handlers_sync(struct controller *c);
/* The versions the handlers report, in place of the bank's, for the
 * components they serve; ask: ask them now, else the last answers. */
void controller_handler_versions(struct controller *c,
				 struct flash_status *st, bool ask);
/* Stop after delay seconds with status (restart, or 0 for shutdown). */
void controller_schedule_stop(struct controller *c, int status,
			      unsigned delay, const char *why);
/* A scheduled stop is due at once: the client whose reply its delay left
 * time for has gone (an FTP session that loaded has ended). */
void controller_stop_now(struct controller *c, const char *why);
/* Ends and joins the stop timer: before the daemon is freed. */
void controller_join_threads(struct controller *c);
/* Opens/closes listeners to match the protocol settings. */
void controller_apply_protocols(struct controller *c);
/* config_watch callback: `set protocols` takes effect at once. */
void controller_setting_changed(void *ctx, enum config_key key);
void controller_set_model(struct controller *c, const char *model);

/* identity.c: the serial the board gives. option is "serial" (value is
 * the serial), "serial-file" (a file holding it) or "serial-command" (a
 * /bin/sh command printing it); a bad or missing serial fails. */
#define CONTROLLER_SERIAL_COMMAND_SECONDS 10
#define CONTROLLER_SERIAL_INPUT_MAX	4096	/* bytes read from file/command */
int controller_serial_read(const char *option, const char *value,
			   char *out, size_t outlen, struct err *e);
/* Takes serial as this controller's and keeps it in config/serial. */
int controller_set_serial(struct controller *c, const char *serial,
			  struct err *e);
void controller_event(struct controller *c, enum events_severity sev,
		      unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* pfu_glue.c: the PFU policy on this controller's parts. */
/* Starts the policy; confirmed_now: a trial bank was just confirmed. */
void controller_pfu_start(struct controller *c, bool confirmed_now);
void controller_pfu_stop(struct controller *c);
/* The partner's view or a setting changed: PFU looks again at once. */
void controller_pfu_notify(struct controller *c);
/* The link's PFU_RECORD frame from the partner. */
int controller_pfu_record_receive(struct controller *c, const void *json,
				  size_t len, struct err *e);
/* The link came up: every record goes to the partner. */
void controller_pfu_link_up(struct controller *c);
/* The roll-back way out of a halted PFU (a CLI command calls it). */
int controller_pfu_rollback(struct controller *c, struct err *e);
/* The partner's entry of `get progress`; false when nothing is known. */
bool controller_partner_update_status(struct controller *c,
				      struct update_status *out);

/* backend.c */
extern const struct cli_backend controller_cli_backend;

/* readiness.c: whether a code load may start now (`check
 * firmware-upgrade-health`, and the upload paths unless forced). */
#define READINESS_REASONS_MAX	12
#define READINESS_TEXT_MAX	256

enum readiness_risk {
	READINESS_RISK_LOAD_FAILS = 1,	/* the code load may fail */
	READINESS_RISK_MISMATCH = 2,	/* the pair may end on two versions */
	READINESS_RISK_OUTAGE = 3,	/* both controllers may be down */
};

struct readiness_reason {
	char id[32];			/* "partner-down", ... */
	int code;			/* -errno for a refused upload */
	enum readiness_risk risk;
	char text[READINESS_TEXT_MAX];	/* what is wrong, one sentence */
	char action[READINESS_TEXT_MAX];	/* what to do about it */
};

struct readiness {
	bool pass;
	struct readiness_reason reasons[READINESS_REASONS_MAX];
	size_t nreasons;
};

/* Fills out (always) and returns 0 when a code load may start, else the
 * first reason's code. Partner conditions apply only with a partner link
 * configured. */
int controller_readiness(struct controller *c, struct readiness *out);
/* The update engine's accept hook: a bundle whose partner_compat list
 * rules out the partner's running bundle is refused (unless forced). */
int controller_pairing_accept(void *ctx, const struct bundle_manifest *m,
			      struct err *e);
const char *readiness_risk_text(enum readiness_risk risk);

/* ops_shell.c */
extern const struct shell_ops controller_shell_ops;

/* ops_upload.c */
extern const struct ftp_ops controller_ftp_ops;
extern const struct sftp_ops controller_sftp_ops;
/* Every transport's way into the update engine: the readiness check
 * unless forced, then update_begin (source: "FTP", "SFTP", "HTTP"). */
void *controller_upload_begin(struct controller *c, const char *source,
			      const char *user, bool force, struct err *e);
/* After a load's reply: the MC restarts if a new bank was activated. */
void controller_upload_restart(struct controller *c);

/* ops_http.c */
extern const struct http_ops controller_http_ops;

#endif
