/*
 * attempt.c: one PFU attempt and what follows it: the pre-flight, the
 * count persisted before the push (P2), the wait for the partner's return
 * (P3), back-off or halt (P4), the automatic roll-back. It decides nothing
 * about when to attempt; that is pfu.c's step.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pfu/pfu_impl.h"

/* The partner runs the target version of every component, confirmed. */
bool pfu_partner_runs(const struct peer_view *peer,
		      const struct pfu_local *local)
{
	if (!peer->up || !local->ncomponents)
		return false;
	for (size_t i = 0; i < local->ncomponents; i++) {
		const struct peer_component *want = &local->components[i];
		bool found = false;

		for (size_t j = 0; j < peer->ncomponents && !found; j++)
			found = !strcmp(peer->components[j].name,
					want->name) &&
				!strcmp(peer->components[j].version,
					want->version);
		if (!found)
			return false;
	}
	return true;
}

/* Pre-flight (P5): NULL when the partner may be taken down now. */
const char *pfu_preflight(struct pfu *p, const struct peer_view *peer,
			  const char *target, char *why, size_t whylen)
{
	if (!peer->up) {
		snprintf(why, whylen, "partner link down%s%.160s",
			 peer->down_reason[0] ? ": " : "", peer->down_reason);
		return why;
	}
	if (peer->health != PEER_HEALTH_OK) {
		snprintf(why, whylen, "partner not healthy%s%.160s",
			 peer->health_reason[0] ? ": " : "",
			 peer->health_reason);
		return why;
	}
	if (peer->trial) {
		snprintf(why, whylen, "partner runs bundle %s on trial "
			 "(not yet confirmed)", peer->bundle_version);
		return why;
	}
	if (peer->updating) {
		snprintf(why, whylen, "a code load is running on the "
			 "partner (%s)", peer->update_source[0] ?
			 peer->update_source : "source unknown");
		return why;
	}
	/* Never a downgrade: the partner's engine would refuse it without
	 * force, and which controller is right is the operator's call. */
	if (peer->bundle_version[0] &&
	    bundle_version_compare(peer->bundle_version, target) > 0) {
		snprintf(why, whylen, "the partner runs bundle %s, newer "
			 "than %s; PFU does not downgrade it",
			 peer->bundle_version, target);
		return why;
	}
	if (p->ops->partner_tolerated) {
		char reason[PFU_REASON_MAX] = "";

		if (!p->ops->partner_tolerated(p->ctx, peer, reason,
					       sizeof(reason))) {
			snprintf(why, whylen, "the bundle does not allow the "
				 "partner's bundle %s during the update: %s",
				 peer->bundle_version, reason);
			return why;
		}
	}
	return NULL;
}

void pfu_advice(const struct pfu_record *r,
		const struct pfu_local *local, char *out, size_t len)
{
	snprintf(out, len, "Roll forward: fix the partner or flash it to "
		 "%s by hand (that clears the halt). Or roll back: return "
		 "this controller to %s (`rollback firmware`, or set "
		 "pfu-auto-rollback).", r->target,
		 local->previous_version[0] ? local->previous_version :
		 "its previous bundle");
}

void pfu_rollback_now(struct pfu *p, struct pfu_record *r,
		      const struct pfu_local *local, const char *how)
{
	struct err e;

	r->rolled_back = true;		/* once, whatever its outcome */
	pfu_save_and_mirror(p, r);
	pfu_emit(p, EVENTS_WARNING, PFU_EVENT_CODE, "Partner Firmware Update "
		 "progress: %s roll-back: returning this controller to bundle "
		 "%s so both controllers match.", how,
		 local->previous_version[0] ? local->previous_version :
		 "(previous)");
	err_clear(&e);
	if (p->ops->rollback(p->ctx, &e) < 0) {
		pfu_emit(p, EVENTS_ERROR, PFU_EVENT_CODE, "Partner Firmware "
			 "Update progress: roll-back failed: %s", e.msg);
		pfu_report(p, "Partner: roll-back failed: %s", e.msg);
		return;
	}
	pfu_report(p, "Partner: this controller rolled back to %s.",
		   local->previous_version[0] ? local->previous_version :
		   "its previous bundle");
}

/* A failed attempt: back off, or halt at the limit (P4). */
void pfu_attempt_failed(struct pfu *p, struct pfu_record *r,
			const struct pfu_local *local, unsigned limit,
			const char *where, const char *reason)
{
	int64_t now = p->ops->now(p->ctx);

	r->in_flight = false;
	snprintf(r->where, sizeof(r->where), "%s", where);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	if (r->attempts >= limit) {
		char advice[PFU_REASON_MAX];

		r->halted = true;
		pfu_save_and_mirror(p, r);
		pfu_emit(p, EVENTS_WARNING, PFU_EVENT_CODE, "Partner Firmware "
			 "Update progress: PFU attempt %u of %u failed: %s",
			 r->attempts, limit, reason);
		pfu_emit(p, EVENTS_CRITICAL, PFU_EVENT_CODE, "Partner Firmware "
			 "Update halted after %u failed attempts to bring the "
			 "partner controller (%s) to bundle %s; last failure "
			 "while %s: %s", r->attempts, r->partner, r->target,
			 where, reason);
		pfu_report(p, "Partner: Codeload failed: %s", reason);
		pfu_advice(r, local, advice, sizeof(advice));
		pfu_enter_state(p, PFU_STATE_HALTED, advice, "%u attempts "
				"failed; last while %s: %s", r->attempts,
				where, reason);
		return;
	}
	{
		unsigned base = p->ops->backoff_seconds(p->ctx);
		unsigned shift = r->attempts - 1 < PFU_BACKOFF_DOUBLINGS ?
				 r->attempts - 1 : PFU_BACKOFF_DOUBLINGS;

		r->next_attempt = now + ((int64_t)base << shift);
	}
	pfu_save_and_mirror(p, r);
	pfu_emit(p, EVENTS_WARNING, PFU_EVENT_CODE, "Partner Firmware "
		 "Update progress: PFU attempt %u of %u failed: %s",
		 r->attempts, limit, reason);
	pfu_enter_state(p, PFU_STATE_BACKOFF, NULL, "attempt %u of %u failed "
			"while %s: %s", r->attempts, limit, where, reason);
}

/* After an accepted push: the partner's return, judged by P3. */
static void verify_return(struct pfu *p, struct pfu_record *r,
			  const struct pfu_local *local, unsigned limit)
{
	unsigned wait = p->ops->partner_wait_seconds(p->ctx);
	int64_t deadline = p->ops->now(p->ctx) + wait;
	bool restarted = false;
	struct peer_view peer;
	char why[PFU_REASON_MAX];

	pfu_enter_state(p, PFU_STATE_VERIFYING, NULL, "attempt %u of %u: "
			"waiting for the partner to restart on %s",
			r->attempts, limit, r->target);
	for (;;) {
		p->ops->peer(p->ctx, &peer);
		if (!peer.up) {
			restarted = true;
		} else if (pfu_partner_runs(&peer, local)) {
			restarted = true;
			if (!peer.trial && !peer.updating)
				break;
		} else if (restarted && !peer.trial && !peer.updating) {
			snprintf(why, sizeof(why), "the partner restarted on "
				 "bundle %s, not %s", peer.bundle_version,
				 r->target);
			pfu_attempt_failed(p, r, local, limit,
					   "restarting the partner", why);
			return;
		}
		if (p->ops->now(p->ctx) >= deadline) {
			if (!restarted)
				snprintf(why, sizeof(why), "the partner did "
					 "not restart within %u s", wait);
			else if (!peer.up)
				snprintf(why, sizeof(why), "the partner did "
					 "not come back within %u s%s%.160s",
					 wait, peer.down_reason[0] ? ": " : "",
					 peer.down_reason);
			else
				snprintf(why, sizeof(why), "the partner did "
					 "not confirm bundle %s within %u s",
					 r->target, wait);
			pfu_attempt_failed(p, r, local, limit,
					   "waiting for the partner", why);
			return;
		}
		if (!pfu_wait_tick(p))
			return;		/* in flight on disk: counts (P2) */
	}
	r->in_flight = false;
	r->reason[0] = r->where[0] = '\0';
	r->complete = true;
	pfu_save_and_mirror(p, r);
	pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE, "Partner Firmware "
		 "Update progress: the partner controller runs bundle %s and "
		 "is confirmed, SUCCESS", r->target);
	pfu_report(p, "Partner: Codeload completed successfully.");
	pfu_enter_state(p, PFU_STATE_COMPLETE, NULL, "the partner runs %s",
			r->target);
}

/* One attempt (P2: counted and persisted before anything is sent). */
void pfu_attempt(struct pfu *p, struct pfu_record *r,
		 const struct pfu_local *local, unsigned limit)
{
	struct pfu_push_result res;
	struct err e;
	int rc;

	r->attempts++;
	r->in_flight = true;
	snprintf(r->where, sizeof(r->where), "sending the bundle");
	if (pfu_save_and_mirror(p, r) < 0) {
		r->attempts--;
		r->in_flight = false;
		pfu_enter_state(p, PFU_STATE_WAITING, NULL, "the attempt could "
				"not be recorded; nothing sent");
		return;
	}
	pfu_enter_state(p, PFU_STATE_SENDING, NULL, "attempt %u of %u: "
			"sending bundle %s", r->attempts, limit, r->target);
	pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE, "Partner Firmware "
		 "Update progress: PFU sending package to partner SC (bundle "
		 "%s, attempt %u of %u)", r->target, r->attempts, limit);
	memset(&res, 0, sizeof(res));
	err_clear(&e);
	rc = p->ops->push(p->ctx, r->target, r->attempts, &res, &e);
	if (pfu_stopping(p))
		return;			/* in flight on disk: counts (P2) */
	if (rc < 0) {
		pfu_attempt_failed(p, r, local, limit, "sending the bundle",
				   e.msg[0] ? e.msg : "the transfer failed");
		return;
	}
	if (!res.ok) {
		char why[PFU_REASON_MAX];

		if (res.message[0])
			snprintf(why, sizeof(why), "%s", res.message);
		else
			snprintf(why, sizeof(why), "the partner refused the "
				 "bundle (return code %d)", res.code);
		pfu_attempt_failed(p, r, local, limit,
				   "installing on the partner", why);
		return;
	}
	pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE, "Partner Firmware "
		 "Update progress: PFU send package done, SUCCESS");
	snprintf(r->where, sizeof(r->where), "waiting for the partner");
	/* On disk too: an attempt this controller's restart cuts from now
	 * on failed while waiting, not while sending. */
	pfu_save_and_mirror(p, r);
	verify_return(p, r, local, limit);
}

/* Resets the record: a re-enable or a manual flash (a newer generation). */
void pfu_record_reset(struct pfu_record *r)
{
	r->attempts = 0;
	r->halted = r->in_flight = r->rolled_back = r->paused = false;
	r->next_attempt = 0;
	r->reason[0] = r->where[0] = '\0';
	r->generation++;
}

/* The partner already runs the target: complete, with no push. */
void pfu_partner_matches(struct pfu *p, struct pfu_record *r)
{
	if (r->complete)
		return;
	if (r->halted || r->attempts) {
		bool halted = r->halted;

		/* A halt cleared by a manual flash starts a new generation;
		 * otherwise the attempts made (one in flight when this
		 * controller restarted may have done it) stay on record. */
		if (halted) {
			pfu_record_reset(r);
		} else {
			r->in_flight = r->paused = false;
			r->next_attempt = 0;
		}
		r->complete = true;
		pfu_save_and_mirror(p, r);
		pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE, "Partner "
			 "Firmware Update progress: the partner controller "
			 "runs bundle %s%s; PFU complete.", r->target, halted ?
			 " after a manual flash; the halt is cleared" : "");
		pfu_report(p, "Partner: Codeload completed successfully.");
		return;
	}
	r->complete = true;
	pfu_save_and_mirror(p, r);
	pfu_emit(p, EVENTS_INFORMATIONAL, PFU_EVENT_CODE, "Partner Firmware "
		 "Update progress: the partner controller already runs bundle "
		 "%s: Not attempted (Versions match)", r->target);
	pfu_report(p, "Partner: Not attempted (Versions match).");
}

