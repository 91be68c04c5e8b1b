/*
 * pfu.c: the PFU policy thread. It decides when to bring the partner to
 * this controller's bundle, counts and persists attempts, backs off and
 * halts; everything it does to the world goes through struct pfu_ops. It
 * never writes flash or speaks the link itself.
 *
 * Invariants (tests/unit/test_pfu.c names them):
 *   P1  Only a controller whose running, confirmed bundle was installed by
 *       an operator (not pushed by its partner) initiates, and only while
 *       partner-firmware-upgrade is enabled.
 *   P2  An attempt is counted and persisted before the bundle is sent; an
 *       attempt found in flight at start-up counts as failed. So no crash
 *       lets more than `limit` attempts reach the partner.
 *   P3  An attempt succeeds only when the partner, after its restart,
 *       runs the target version of every component and is not on trial.
 *   P4  After `limit` failed attempts the record is halted: no further
 *       push, however long it runs, until a reset (new target, PFU
 *       re-enabled, the partner seen running the target).
 *   P5  Nothing is sent to a partner that is down, unhealthy, on trial,
 *       loading code, or ruled out by the bundle; the view says why.
 *   P6  A partner's copy of a record never lowers the count or lifts a
 *       halt, unless it carries a newer reset generation.
 *
 * Only the policy thread touches the records; other threads hand it
 * records from the partner (inbox) and read the published view.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfu/pfu_impl.h"

static const char *const state_words[PFU_STATE_COUNT] = {
	[PFU_STATE_IDLE] = "Idle",
	[PFU_STATE_DISABLED] = "Disabled",
	[PFU_STATE_WAITING] = "Waiting",
	[PFU_STATE_SENDING] = "In Progress",
	[PFU_STATE_VERIFYING] = "In Progress",
	[PFU_STATE_BACKOFF] = "Backoff",
	[PFU_STATE_HALTED] = "Halted",
	[PFU_STATE_COMPLETE] = "Complete",
};

/* Names in state-change events, where the two "In Progress" differ. */
static const char *const state_names[PFU_STATE_COUNT] = {
	[PFU_STATE_IDLE] = "Idle",
	[PFU_STATE_DISABLED] = "Disabled",
	[PFU_STATE_WAITING] = "Waiting",
	[PFU_STATE_SENDING] = "Sending",
	[PFU_STATE_VERIFYING] = "Verifying",
	[PFU_STATE_BACKOFF] = "Backoff",
	[PFU_STATE_HALTED] = "Halted",
	[PFU_STATE_COMPLETE] = "Complete",
};

const char *pfu_state_name(enum pfu_state s)
{
	return s < PFU_STATE_COUNT ? state_words[s] : "Unknown";
}

void pfu_emit(struct pfu *p, enum events_severity sev, unsigned code,
	      const char *fmt, ...)
{
	char msg[EVENTS_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->ops->event(p->ctx, sev, code, msg);
}

void pfu_report(struct pfu *p, const char *fmt, ...)
{
	char line[PFU_REASON_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->ops->report(p->ctx, line);
}

struct pfu_record *pfu_current(struct pfu *p)
{
	return p->cur >= 0 ? &p->recs[p->cur] : NULL;
}

void pfu_enter_state(struct pfu *p, enum pfu_state st, const char *advice,
		     const char *fmt, ...)
{
	struct pfu_record *r = pfu_current(p);
	enum pfu_state old;
	char why[PFU_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->mu);
	old = p->state;
	p->state = st;
	snprintf(p->reason, sizeof(p->reason), "%s", why);
	snprintf(p->advice, sizeof(p->advice), "%s", advice ? advice : "");
	if (r)
		p->shown = *r;
	else
		memset(&p->shown, 0, sizeof(p->shown));
	pthread_mutex_unlock(&p->mu);
	if (old != st)
		pfu_emit(p, EVENTS_INFORMATIONAL, EVENTS_CODE_STATE,
			 "PFU state: %s -> %s (%s)", state_names[old],
			 state_names[st], why[0] ? why : "no reason given");
}

bool pfu_stopping(struct pfu *p)
{
	bool s;

	pthread_mutex_lock(&p->mu);
	s = p->stop;
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* One tick, or less when notified. False once the policy is stopping. */
bool pfu_wait_tick(struct pfu *p)
{
	struct timespec until;
	uint64_t seen;
	unsigned ms = p->cfg.tick_ms ? p->cfg.tick_ms : PFU_TICK_MS_DEFAULT;
	bool go_on;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	seen = p->notified;
	while (!p->stop && p->notified == seen)
		if (pthread_cond_timedwait(&p->cond, &p->mu, &until) ==
		    ETIMEDOUT)
			break;
	go_on = !p->stop;
	pthread_mutex_unlock(&p->mu);
	return go_on;
}

/* Persists every record; 0 or the error (then nothing is sent). */
static int save(struct pfu *p, struct err *e)
{
	int rc = pfu_records_save(p->path, p->recs, p->nrecs, e);

	if (rc < 0)
		pfu_emit(p, EVENTS_ERROR, PFU_EVENT_CODE, "Partner Firmware "
			 "Update progress: could not record PFU attempts: %s",
			 e->msg);
	return rc;
}

static void mirror(struct pfu *p, const struct pfu_record *r)
{
	struct buf b;

	if (!p->ops->record_send)
		return;
	buf_init(&b, PFU_RECORD_JSON_MAX);
	if (pfu_record_encode(r, &b) == 0)
		p->ops->record_send(p->ctx, b.data, b.len);
	buf_free(&b);
}

int pfu_save_and_mirror(struct pfu *p, struct pfu_record *r)
{
	struct err e;
	int rc = save(p, &e);

	if (rc == 0)
		mirror(p, r);
	return rc;
}

static int find(struct pfu *p, const char *target, const char *partner)
{
	for (size_t i = 0; i < p->nrecs; i++)
		if (!strcmp(p->recs[i].target, target) &&
		    !strcmp(p->recs[i].partner, partner))
			return (int)i;
	return -1;
}

/* A new key: the oldest record makes room (a new target resets). */
static int insert(struct pfu *p, const struct pfu_record *r)
{
	if (p->nrecs == PFU_RECORDS_MAX) {
		memmove(&p->recs[0], &p->recs[1],
			sizeof(p->recs[0]) * (PFU_RECORDS_MAX - 1));
		p->nrecs--;
		if (p->cur >= 0)
			p->cur--;
	}
	p->recs[p->nrecs] = *r;
	return (int)p->nrecs++;
}

/* Takes what the partner sent and what pfu_rollback() did. */
static void drain_inbox(struct pfu *p)
{
	struct pfu_record in[PFU_RECORDS_MAX];
	size_t n;
	bool send_all, rolled, changed = false;

	pthread_mutex_lock(&p->mu);
	n = p->ninbox;
	memcpy(in, p->inbox, sizeof(in[0]) * n);
	p->ninbox = 0;
	send_all = p->send_all;
	p->send_all = false;
	rolled = p->rollback_done;
	p->rollback_done = false;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		int at = find(p, in[i].target, in[i].partner);

		if (at < 0) {
			/* Not ours to act on until we hold that key; an
			 * attempt in flight there is the partner's to judge. */
			insert(p, &in[i]);
			changed = true;
		} else if (pfu_record_merge(&p->recs[at], &in[i])) {
			changed = true;
		}
	}
	if (rolled && pfu_current(p) && !pfu_current(p)->rolled_back) {
		pfu_current(p)->rolled_back = true;
		changed = true;
	}
	if (changed) {
		struct err e;

		save(p, &e);
	}
	if (send_all)
		for (size_t i = 0; i < p->nrecs; i++)
			mirror(p, &p->recs[i]);
}

/* One look at the world; an attempt when everything allows it. */
static void step(struct pfu *p)
{
	struct pfu_local local;
	struct peer_view peer;
	struct pfu_record *r, fresh;
	char why[PFU_REASON_MAX];
	unsigned limit;
	bool enabled;
	struct err e;
	int at;

	drain_inbox(p);
	enabled = p->ops->enabled(p->ctx);
	limit = p->ops->limit(p->ctx);
	pthread_mutex_lock(&p->mu);
	p->enabled = enabled;
	p->limit = limit;
	pthread_mutex_unlock(&p->mu);
	if (!enabled) {
		bool marked = false;

		/* A later enable resets every open record, even after a
		 * restart in between. */
		for (size_t i = 0; i < p->nrecs; i++)
			if (!p->recs[i].paused && !p->recs[i].complete) {
				p->recs[i].paused = true;
				marked = true;
			}
		if (marked)
			save(p, &e);
		p->seen_disabled = true;
		pfu_enter_state(p, PFU_STATE_DISABLED, NULL,
				"partner-firmware-upgrade is disabled");
		return;
	}
	memset(&local, 0, sizeof(local));
	err_clear(&e);
	if (p->ops->local(p->ctx, &local, &e) < 0) {
		pfu_enter_state(p, PFU_STATE_IDLE, NULL, "this controller's "
				"bundle is not known: %s", e.msg);
		return;
	}
	if (!local.trigger) {			/* P1 */
		p->cur = -1;
		pfu_enter_state(p, PFU_STATE_IDLE, NULL, "%s", local.why_not);
		return;
	}
	p->ops->peer(p->ctx, &peer);
	if (!peer.ever_seen || !peer.serial[0]) {
		/* A controller alone (no partner yet) has nothing to do. */
		p->cur = -1;
		pfu_enter_state(p, PFU_STATE_IDLE, NULL, "the partner has not "
				"been seen on the link%s%.160s",
				peer.down_reason[0] ? ": " : "",
				peer.down_reason);
		return;
	}
	at = find(p, local.bundle_version, peer.serial);
	if (at < 0) {				/* a new target: a new count */
		memset(&fresh, 0, sizeof(fresh));
		snprintf(fresh.target, sizeof(fresh.target), "%s",
			 local.bundle_version);
		snprintf(fresh.partner, sizeof(fresh.partner), "%s",
			 peer.serial);
		at = insert(p, &fresh);
	}
	p->cur = at;
	r = &p->recs[at];
	if (p->seen_disabled || r->paused) {	/* re-enabled: reset */
		bool had = r->attempts || r->halted;

		p->seen_disabled = false;
		if (had)
			pfu_record_reset(r);
		r->paused = false;
		pfu_save_and_mirror(p, r);
		if (had)
			pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE,
				 "Partner Firmware Update progress: PFU "
				 "re-enabled; the attempt count for bundle %s "
				 "starts again.", r->target);
	}
	if (pfu_partner_runs(&peer, &local) && !peer.trial && !peer.updating) {
		pfu_partner_matches(p, r);
		pfu_enter_state(p, PFU_STATE_COMPLETE, NULL,
				"the partner runs %s", r->target);
		return;
	}
	if (r->complete) {
		/* Done for this target, never pushed again; but if the
		 * partner has moved since (this controller forced back to an
		 * older bundle, say), say why they differ, not "completed". */
		if (pfu_preflight(p, &peer, r->target, why, sizeof(why))) {
			pfu_enter_state(p, PFU_STATE_WAITING, NULL, "%s", why);
			return;
		}
		pfu_enter_state(p, PFU_STATE_COMPLETE, NULL, "PFU to %s "
				"completed earlier; the partner runs %s now",
				r->target, peer.bundle_version);
		return;
	}
	if (r->in_flight) {		/* P2: the attempt at a crash counts */
		char where[PFU_REASON_MAX];

		snprintf(where, sizeof(where), "%s", r->where[0] ? r->where :
			 "sending the bundle");
		pfu_attempt_failed(p, r, &local, limit, where, "this "
				   "controller restarted during the attempt");
		return;
	}
	if (r->halted || r->attempts >= limit) {	/* P4 */
		char advice[PFU_REASON_MAX];

		if (!r->halted) {
			r->halted = true;
			pfu_save_and_mirror(p, r);
		}
		pfu_advice(r, &local, advice, sizeof(advice));
		pfu_enter_state(p, PFU_STATE_HALTED, advice, "%u attempts "
				"failed; last while %s: %s", r->attempts,
				r->where, r->reason);
		if (!r->rolled_back && p->ops->auto_rollback(p->ctx))
			pfu_rollback_now(p, r, &local, "automatic");
		return;
	}
	if (p->ops->now(p->ctx) < r->next_attempt) {
		pfu_enter_state(p, PFU_STATE_BACKOFF, NULL, "attempt %u of %u "
				"failed while %s: %s", r->attempts, limit,
				r->where, r->reason);
		return;
	}
	if (pfu_preflight(p, &peer, r->target, why, sizeof(why))) {	/* P5 */
		pfu_enter_state(p, PFU_STATE_WAITING, NULL, "%s", why);
		return;
	}
	pthread_mutex_lock(&p->mu);
	if (p->rollback_running) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->attempting = true;		/* pfu_rollback() now refuses */
	pthread_mutex_unlock(&p->mu);
	pfu_attempt(p, r, &local, limit);
	pthread_mutex_lock(&p->mu);
	p->attempting = false;
	pthread_mutex_unlock(&p->mu);
}

static void *run(void *arg)
{
	struct pfu *p = arg;

	do
		step(p);
	while (pfu_wait_tick(p));
	return NULL;
}

struct pfu *pfu_new(const struct pfu_config *cfg, struct err *e)
{
	pthread_condattr_t ca;
	struct pfu *p;
	int n;

	p = calloc(1, sizeof(*p));
	if (!p) {
		err_set(e, -ENOMEM, "PFU: out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->ops = cfg->ops;
	p->ctx = cfg->ctx;
	p->cur = -1;
	/* The view is right from the start, before the first pass. */
	p->enabled = cfg->ops->enabled(cfg->ctx);
	p->limit = cfg->ops->limit(cfg->ctx);
	p->state = p->enabled ? PFU_STATE_IDLE : PFU_STATE_DISABLED;
	n = snprintf(p->path, sizeof(p->path), "%s/%s", cfg->dir,
		     PFU_FILE_NAME);
	if (n < 0 || (size_t)n >= sizeof(p->path)) {
		err_set(e, -ENAMETOOLONG, "%s: path too long", cfg->dir);
		free(p);
		return NULL;
	}
	if (pfu_records_load(p->path, p->recs, &p->nrecs, e) < 0) {
		char aside[PATH_MAX + 16];

		/* Moved aside loudly, never silently replaced (STYLE.md). */
		snprintf(aside, sizeof(aside), "%s.corrupt", p->path);
		if (rename(p->path, aside) < 0) {
			err_prefix(e, "PFU records unreadable and could not "
				   "be moved aside");
			free(p);
			return NULL;
		}
		pfu_emit(p, EVENTS_ERROR, PFU_EVENT_CODE, "Partner Firmware "
			 "Update progress: attempt records unreadable (%s); "
			 "moved to %s", e->msg, aside);
		p->nrecs = 0;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		err_set(e, -EAGAIN, "PFU: could not start its thread");
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

void pfu_free(struct pfu *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void pfu_notify(struct pfu *p)
{
	pthread_mutex_lock(&p->mu);
	p->notified++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

void pfu_view(struct pfu *p, struct pfu_view *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->mu);
	snprintf(out->status, sizeof(out->status), "%s",
		 pfu_state_name(p->state));
	out->enabled = p->enabled;
	out->running = p->state == PFU_STATE_SENDING ||
		       p->state == PFU_STATE_VERIFYING ||
		       p->state == PFU_STATE_BACKOFF;
	out->halted = p->state == PFU_STATE_HALTED;
	snprintf(out->target, sizeof(out->target), "%s", p->shown.target);
	snprintf(out->partner_serial, sizeof(out->partner_serial), "%s",
		 p->shown.partner);
	out->attempts = p->shown.attempts;
	out->limit = p->limit;
	out->next_attempt = p->state == PFU_STATE_BACKOFF ?
			    (time_t)p->shown.next_attempt : 0;
	snprintf(out->reason, sizeof(out->reason), "%s", p->reason);
	snprintf(out->advice, sizeof(out->advice), "%s", p->advice);
	pthread_mutex_unlock(&p->mu);
}

bool pfu_busy(struct pfu *p)
{
	bool busy;

	pthread_mutex_lock(&p->mu);
	busy = p->attempting;
	pthread_mutex_unlock(&p->mu);
	return busy;
}

int pfu_rollback(struct pfu *p, struct err *e)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	if (p->attempting || p->rollback_running) {
		pthread_mutex_unlock(&p->mu);
		return err_set(e, -EBUSY, "a PFU attempt is in progress; "
			       "roll back once it has ended");
	}
	p->rollback_running = true;
	pthread_mutex_unlock(&p->mu);
	pfu_emit(p, EVENTS_WARNING, PFU_EVENT_CODE, "Partner Firmware Update "
		 "progress: roll-back requested: returning this controller to "
		 "its previous bundle so both controllers match.");
	rc = p->ops->rollback(p->ctx, e);
	if (rc == 0)
		p->ops->report(p->ctx, "Partner: this controller rolled back "
			       "to its previous bundle.");
	pthread_mutex_lock(&p->mu);
	p->rollback_running = false;
	p->rollback_done = rc == 0;
	p->notified++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int pfu_record_receive(struct pfu *p, const void *json, size_t len,
		       struct err *e)
{
	struct pfu_record r;

	if (pfu_record_decode(json, len, &r, e) < 0)
		return e->code;
	pthread_mutex_lock(&p->mu);
	if (p->ninbox == PFU_RECORDS_MAX) {
		memmove(&p->inbox[0], &p->inbox[1],
			sizeof(p->inbox[0]) * (PFU_RECORDS_MAX - 1));
		p->ninbox--;
	}
	p->inbox[p->ninbox++] = r;
	p->notified++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void pfu_records_send_all(struct pfu *p)
{
	pthread_mutex_lock(&p->mu);
	p->send_all = true;
	p->notified++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}
