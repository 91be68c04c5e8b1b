/*
 * partner.h: this controller's side of the partner link (DESIGN.md
 * "Partner link and PFU"): what each controller tells the other over
 * src/link/ and what it does with what it hears. Each side sends a STATE
 * (versions, health, update engine, PFU, free space) when the link comes up
 * and whenever it changes, and keeps the partner's as a struct peer_view;
 * every local event is forwarded and stored in the partner's log with its
 * origin; enclosure-scope settings are mirrored, newest change wins; and a
 * bundle can be pushed to the partner's update engine (PFU).
 *
 * Threads: the link's reader thread runs the handlers; one worker thread
 * sends STATE, SETTINGS and EVENT frames, so no CLI or transport thread
 * ever waits on the link; partner_push_bundle() runs on its caller's.
 */
#ifndef TANDEM_DAEMON_PARTNER_H
#define TANDEM_DAEMON_PARTNER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "common/listener.h"
#include "daemon/peer.h"

/* Limits of this part. */
#define PARTNER_HEARTBEAT_MS	1000	/* --heartbeat-ms default */
#define PARTNER_HEARTBEAT_MIN_MS 50
#define PARTNER_HEARTBEAT_MAX_MS 60000
#define PARTNER_KEY_MAX		64	/* enclosure key bytes */
/* Events read from the log at a time, report bytes kept from a RESULT. */
#define PARTNER_EVENTS_BATCH	64
#define PARTNER_RESULT_TEXT_MAX	4096
#define PARTNER_REFUSED_EVENT_SECONDS 60	/* one refusal event a minute */
#define PARTNER_PUSH_SECONDS	900	/* deadline of a whole push */
/* A push's hand-off from the export to its sender thread: slots of bytes
 * read and checked, not yet sent. */
#define PARTNER_PUSH_SLOTS	4
#define PARTNER_PUSH_SLOT_BYTES	(1024 * 1024)
/* Seconds from a pushed bundle's activation to the MC restart at the
 * latest. The receiver restarts as soon as the sender has read its RESULT
 * and closed the link; this bounds the wait for a sender that never does
 * (an FTP client gets CONTROLLER_RESTART_DELAY the same way). */
#define PARTNER_RESTART_DELAY	2
/* The sender's quick-redial window once its partner restarts into a pushed
 * bundle (link_redial_quickly). */
#define PARTNER_RESTART_REDIAL_MS 3000

struct controller;
struct partner;

/* How tandemd was told to reach its partner (main.c's flags). */
struct partner_config {
	const char *partner_address;	/* A: --partner ADDR */
	uint16_t partner_port;
	bool listen;			/* B: --link-port given */
	uint16_t listen_port;		/* 0: any free port */
	const uint8_t *key;		/* --enclosure-key, decoded */
	size_t key_len;
	unsigned heartbeat_ms;		/* 0: PARTNER_HEARTBEAT_MS */
	struct tcp_admission admission;	/* B's listener: the daemon's */
};

/* What the partner answered a push with (LINK_FRAME_BUNDLE_RESULT). */
struct partner_push_result {
	bool ok;			/* installed, or already running it */
	int code;			/* RETURN_CODE: 9 loaded, 8 versions
					   match, update.h's failures */
	char message[ERR_MESSAGE_MAX];	/* the partner's own reason */
	char report[PARTNER_RESULT_TEXT_MAX];	/* its code load report */
};

/* Told when the peer view changes (link up/down, a new STATE). Runs on
 * the link's reader thread: it must not block or call the link. */
typedef void (*partner_view_fn)(void *ctx);
/* A PFU_RECORD frame from the partner (JSON text, len bytes). Runs on the
 * link's reader thread. */
typedef void (*partner_record_fn)(void *ctx, const char *json, size_t len);
/* The link came up: on the worker thread, once per connection, after this
 * side's STATE and settings went out; it may send (partner_send_record). */
typedef void (*partner_up_fn)(void *ctx);

/* partner.c */
/* Reads the enclosure key file (`tandem enclosure init`'s: hex digits,
 * 16 to PARTNER_KEY_MAX bytes) into key. */
int partner_key_load(const char *path, uint8_t *key, size_t *key_len,
		     struct err *e);
/* Starts the link and the worker; prints "link listening on ADDR:PORT"
 * (B). Sets c->partner. */
int partner_start(struct controller *c, const struct partner_config *cfg,
		  struct err *e);
/* Stops the link and the worker; joins every thread. NULL: nothing.
 * Whoever calls partner_push_bundle() must have returned first. */
/* First step of a stop: a push under way ends (-ESHUTDOWN) and no new
 * one starts, so PFU can be stopped before the link. */
void partner_quiesce(struct partner *p);
bool partner_is_stopping(struct partner *p);
void partner_stop(struct partner *p);
/* A snapshot of the partner (peer.h); up=false when the link is down. */
void partner_view_get(struct partner *p, struct peer_view *out);
/* Counts view changes: a waiter compares it against the one it saw. */
uint64_t partner_view_generation(struct partner *p);
/* Waits until the generation differs from seen or timeout_ms passes:
 * 0 changed, -ETIMEDOUT. */
int partner_view_wait(struct partner *p, uint64_t seen, unsigned timeout_ms);
/* One callback each (NULL clears it). */
void partner_on_view_change(struct partner *p, partner_view_fn fn,
			    void *ctx);
void partner_on_up(struct partner *p, partner_up_fn fn, void *ctx);
/* B: the port the link listens on (for --link-port 0); 0 on A. */
uint16_t partner_listen_port(struct partner *p);
/* Drops the current connection (a reconnect follows): fault injection
 * ("partner link drop") and tests. */
void partner_link_drop(struct partner *p, const char *why);
/* Local state changed (a code load began, PFU moved): send a STATE now
 * rather than at the next heartbeat. Safe from any thread. */
void partner_state_changed(struct partner *p);

/* partner_transfer.c */
/*
 * Streams the active bank's signed bundle (flash_store_bundle_export) to
 * the partner as BUNDLE_BEGIN {"target","size","attempt"}, DATA..., END
 * and waits for its BUNDLE_RESULT, the link dropping, or
 * PARTNER_PUSH_SECONDS. 0 when the partner answered (out->ok says how;
 * a refusal is the partner's own message), negative with e otherwise:
 * -ENOTCONN (link down or dropped), -ETIMEDOUT, -EBUSY (a push runs),
 * or the export's error (this bank's bundle could not be read, or an image
 * does not match its signed manifest: checked as it streams; found after
 * BEGIN, an ABORT ends the transfer before its END, so the partner drops
 * its job and activates nothing).
 * The partner installs without force: the same bundle is a successful
 * no-op (code 8), an older one is refused by the version rules.
 */
int partner_push_bundle(struct partner *p, const char *target,
			unsigned attempt, struct partner_push_result *out,
			struct err *e);
/* PFU's attempt record to the partner (LINK_FRAME_PFU_RECORD). */
int partner_send_record(struct partner *p, const char *json, size_t len,
			struct err *e);
void partner_on_record(struct partner *p, partner_record_fn fn, void *ctx);

#endif
