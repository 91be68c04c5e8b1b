/*
 * pfu.h: partner firmware update (DESIGN.md "Partner link and PFU"). The
 * controller that installed an operator's bundle, restarted into it and
 * confirmed itself brings its partner to the same bundle: pre-flight,
 * counted attempts persisted before each send, back-off, a halt after the
 * limit with the two ways out (roll forward, roll back).
 *
 * The policy runs on its own thread and reaches the world only through
 * struct pfu_ops: tandemd drives it with the partner link and the flash
 * store, the unit tests with a scripted partner. Its attempt records are
 * persisted in <dir>/pfu.json and mirrored to the partner.
 */
#ifndef TANDEM_PFU_H
#define TANDEM_PFU_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/common.h"
#include "daemon/peer.h"
#include "events/events.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define PFU_RECORDS_MAX		8	/* (target, partner) records kept */
#define PFU_FILE_MAX		(16 * 1024)	/* pfu.json bytes */
#define PFU_RECORD_JSON_MAX	2048	/* one record as JSON (a frame) */
#define PFU_REASON_MAX		PEER_TEXT_MAX
#define PFU_SERIAL_MAX		32
#define PFU_BACKOFF_DOUBLINGS	4	/* back-off grows to 16x, no more */
#define PFU_TICK_MS_DEFAULT	1000	/* clock re-read while waiting */
#define PFU_EVENT_CODE		EVENTS_CODE_PFU		/* 269 */
#define PFU_FILE_NAME		"pfu.json"

/* What PFU is doing; pfu_state_name() gives the words of `show system`. */
enum pfu_state {
	PFU_STATE_IDLE = 0,	/* nothing to bring the partner to */
	PFU_STATE_DISABLED,	/* partner-firmware-upgrade is off */
	PFU_STATE_WAITING,	/* pre-flight not met; reason says why */
	PFU_STATE_SENDING,	/* an attempt: the bundle is on its way */
	PFU_STATE_VERIFYING,	/* waiting for the partner's return */
	PFU_STATE_BACKOFF,	/* a failed attempt; the next one later */
	PFU_STATE_HALTED,	/* the limit reached: an operator decides */
	PFU_STATE_COMPLETE,	/* the partner runs the target */
	PFU_STATE_COUNT
};

/*
 * One attempt record, per (target bundle version, partner serial). The
 * JSON form (pfu.json holds {"records":[...]}, a PFU_RECORD frame one):
 *   {"target":"TS252P005","partner":"TDB0011","attempts":2,
 *    "halted":false,"complete":false,"in_flight":false,
 *    "rolled_back":false,"paused":false,"generation":1,
 *    "next_attempt":1733300000,"reason":"...","where":"..."}
 * generation counts resets (re-enable, manual flash): a copy from an
 * older generation never undoes a reset.
 */
struct pfu_record {
	char target[BUNDLE_VERSION_MAX];
	char partner[PFU_SERIAL_MAX];
	unsigned attempts;		/* counted before each send */
	bool halted;
	bool complete;
	bool in_flight;			/* an attempt was sent, no outcome */
	bool rolled_back;		/* the automatic roll-back was done */
	bool paused;			/* PFU was seen disabled since */
	uint64_t generation;
	int64_t next_attempt;		/* policy clock; 0: at once */
	char reason[PFU_REASON_MAX];	/* last failure */
	char where[PFU_REASON_MAX];	/* which step failed */
};

/* This controller as PFU needs it, from the flash store and update engine. */
struct pfu_local {
	char bundle_version[BUNDLE_VERSION_MAX];	/* running, confirmed */
	struct peer_component components[BUNDLE_COMPONENTS_MAX];
	size_t ncomponents;
	char previous_version[BUNDLE_VERSION_MAX];	/* its other bank */
	/* It installed an operator-supplied bundle (FTP, SFTP, HTTP; never
	 * one its partner pushed), restarted into it and confirmed it. */
	bool trigger;
	char why_not[PFU_REASON_MAX];	/* when !trigger: why, for the view */
};

/* The partner's answer to a bundle push. */
struct pfu_push_result {
	bool ok;			/* verified and installed there */
	int code;			/* its RETURN_CODE, 0 if none came */
	char message[PFU_REASON_MAX];	/* its own error where it gave one */
};

/*
 * The policy's world. Every op is called from the policy thread without
 * the policy's lock held (they may call pfu_notify()); enabled and limit
 * also once from pfu_new(), rollback also from pfu_rollback()'s caller.
 * now() is the policy's clock in seconds: wall time in tandemd (so a
 * back-off survives a restart), a fast clock in tests; deadlines and
 * back-offs are measured on it.
 */
struct pfu_ops {
	bool (*enabled)(void *ctx);
	unsigned (*limit)(void *ctx);	/* failed attempts before halt */
	unsigned (*backoff_seconds)(void *ctx);	/* after the first failure */
	unsigned (*partner_wait_seconds)(void *ctx);	/* its return */
	bool (*auto_rollback)(void *ctx);
	int (*local)(void *ctx, struct pfu_local *out, struct err *e);
	void (*peer)(void *ctx, struct peer_view *out);
	/*
	 * Optional: whether the bundle this controller runs tolerates the
	 * partner as it is during the mixed state (a bundle may declare
	 * the partner versions it accepts). NULL: no restriction.
	 */
	bool (*partner_tolerated)(void *ctx, const struct peer_view *peer,
				  char *why, size_t whylen);
	/* Streams the active bank's signed bundle to the partner; blocks
	 * until the partner answers. 0 with res filled (ok or its reason),
	 * or negative with e set when nothing usable came back. */
	int (*push)(void *ctx, const char *target, unsigned attempt,
		    struct pfu_push_result *res, struct err *e);
	/* Appends one line to the last code load report. */
	void (*report)(void *ctx, const char *line);
	void (*event)(void *ctx, enum events_severity sev, unsigned code,
		      const char *message);
	/* Returns this controller to its previous bank (and restarts). */
	int (*rollback)(void *ctx, struct err *e);
	/* Mirrors a record to the partner (a PFU_RECORD frame); may be NULL. */
	void (*record_send)(void *ctx, const char *json, size_t len);
	int64_t (*now)(void *ctx);
};

struct pfu_config {
	const char *dir;	/* holds pfu.json: <state>/<ctl>/config */
	const struct pfu_ops *ops;
	void *ctx;
	/* Real milliseconds between clock reads while waiting, so a fast
	 * test clock is followed closely; 0: PFU_TICK_MS_DEFAULT. */
	unsigned tick_ms;
};

struct pfu;

/* pfu.c */
const char *pfu_state_name(enum pfu_state s);
/* Loads the records (a corrupt pfu.json is moved aside with an error
 * event) and starts the thread. */
struct pfu *pfu_new(const struct pfu_config *cfg, struct err *e);
void pfu_free(struct pfu *p);		/* stops and joins the thread */
/* Something the policy waits on changed: the partner's view, a setting,
 * this controller's bank. Cheap; any thread. */
void pfu_notify(struct pfu *p);
void pfu_view(struct pfu *p, struct pfu_view *out);
/* Whether an attempt is in progress: the partner's `get progress`
 * activity reads codeload while it is. */
bool pfu_busy(struct pfu *p);
/*
 * The roll-back way out of a halt: this controller returns to its
 * previous bank so the pair matches again. -EBUSY while an attempt runs.
 */
int pfu_rollback(struct pfu *p, struct err *e);
/* A PFU_RECORD frame from the partner: merged into ours and persisted. */
int pfu_record_receive(struct pfu *p, const void *json, size_t len,
		       struct err *e);
/* Every record, one JSON each, to send when the link comes up. */
void pfu_records_send_all(struct pfu *p);

/* record.c */
int pfu_record_encode(const struct pfu_record *r, struct buf *out);
int pfu_record_decode(const void *json, size_t len, struct pfu_record *out,
		      struct err *e);
/*
 * Merges their copy into mine (same key): a newer generation wins whole;
 * at the same generation the larger attempt count, and halted and
 * complete win. True when mine changed.
 */
bool pfu_record_merge(struct pfu_record *mine,
		      const struct pfu_record *theirs);
/* pfu.json: up to PFU_RECORDS_MAX records. A missing file is empty. */
int pfu_records_load(const char *path, struct pfu_record *out,
		     size_t *count, struct err *e);
int pfu_records_save(const char *path, const struct pfu_record *recs,
		     size_t count, struct err *e);

#endif
