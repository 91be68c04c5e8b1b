/*
 * readiness.c: whether a code load may start now, and if not, every
 * reason with what to do about it. One list of conditions serves `check
 * firmware-upgrade-health` and the upload paths (which refuse unless
 * forced), so the two never disagree. Reads state only; changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "daemon/controller.h"
#include "daemon/peer.h"

const char *readiness_risk_text(enum readiness_risk risk)
{
	switch (risk) {
	case READINESS_RISK_MISMATCH:
		return "The controllers may be left running different firmware.";
	case READINESS_RISK_OUTAGE:
		return "Both controllers may be out of service at once.";
	case READINESS_RISK_LOAD_FAILS:
	default:
		return "The code load may fail.";
	}
}

static void reason(struct readiness *r, const char *id, int code,
		   enum readiness_risk risk, const char *action,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void reason(struct readiness *r, const char *id, int code,
		   enum readiness_risk risk, const char *action,
		   const char *fmt, ...)
{
	struct readiness_reason *x;
	va_list ap;

	r->pass = false;
	if (r->nreasons == READINESS_REASONS_MAX)
		return;
	x = &r->reasons[r->nreasons++];
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->code = code;
	x->risk = risk;
	snprintf(x->action, sizeof(x->action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
}

/* The running bundle's images: what a new bundle of this line needs. */
static uint64_t bundle_estimate(const struct flash_status *st)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < st->ncomponents; i++)
		total += st->components[i].size;
	return total;
}

static void local_conditions(struct controller *c, struct readiness *r,
			     uint64_t *need)
{
	struct flash_status st;
	struct update_status us;
	struct statvfs fs;
	struct err e;

	update_status_get(c->update, &us);
	if (us.state == UPDATE_RUNNING)
		reason(r, "local-code-load", -EBUSY, READINESS_RISK_LOAD_FAILS,
		       "Wait for it to finish (show firmware-update-status).",
		       "A code load from %s is running on controller %c.",
		       us.source[0] ? us.source : "a client", c->id);
	err_clear(&e);
	if (flash_store_status(c->store, &st, &e) < 0) {
		reason(r, "local-store", -EIO, READINESS_RISK_LOAD_FAILS,
		       "Check the controller's event log; restart the "
		       "management controller if it persists.",
		       "The flash store of controller %c cannot be read: "
		       "%.150s", c->id, e.msg);
		return;
	}
	if (st.trial)
		reason(r, "local-trial", -EBUSY, READINESS_RISK_MISMATCH,
		       "Wait until the controller confirms the bundle, or "
		       "restart its management controller.",
		       "Controller %c runs bundle %s on trial; it is not yet "
		       "confirmed.", c->id, st.bundle_version);
	*need = bundle_estimate(&st);
	if (statvfs(c->dir, &fs) < 0) {
		reason(r, "local-space", -EIO, READINESS_RISK_LOAD_FAILS,
		       "Check the controller's storage.",
		       "The free space of controller %c cannot be read: %s.",
		       c->id, strerror(errno));
		return;
	}
	if ((uint64_t)fs.f_bavail * fs.f_frsize < *need)
		reason(r, "local-space", -ENOSPC, READINESS_RISK_LOAD_FAILS,
		       "Free space in the controller's store, then check "
		       "again.",
		       "Controller %c has %llu bytes free; a bundle needs "
		       "about %llu.", c->id,
		       (unsigned long long)fs.f_bavail * fs.f_frsize,
		       (unsigned long long)*need);
}

static void partner_conditions(struct controller *c, struct readiness *r,
			       uint64_t need)
{
	struct peer_view p;
	struct pfu_view f;

	controller_pfu_view(c, &f);
	if (f.running)
		reason(r, "pfu-running", -EBUSY, READINESS_RISK_OUTAGE,
		       "Wait for PFU to finish (show firmware-update-status).",
		       "Partner firmware upgrade is updating the partner "
		       "controller%s%s.", f.target[0] ? " to " : "", f.target);
	if (f.halted)
		reason(r, "pfu-halted", -EAGAIN, READINESS_RISK_MISMATCH,
		       f.advice[0] ? f.advice :
		       "Fix the partner and flash it by hand, or run "
		       "'rollback firmware'.",
		       "Partner firmware upgrade halted%s%s.",
		       f.reason[0] ? ": " : "", f.reason);
	controller_peer_view(c, &p);
	if (!p.configured)
		return;
	if (!p.up) {
		reason(r, "partner-down", -EAGAIN, READINESS_RISK_OUTAGE,
		       "Bring the partner controller back and check the "
		       "partner link, or "
		       "load with flash:force to update this controller "
		       "alone.",
		       "Controller %c is not available: %s.", p.id,
		       p.down_reason[0] ? p.down_reason : "no reason given");
		return;
	}
	if (p.health == PEER_HEALTH_FAULT)
		reason(r, "partner-fault", -EAGAIN, READINESS_RISK_OUTAGE,
		       "Resolve the partner's fault first (show controllers).",
		       "Controller %c reports a fault%s%s.", p.id,
		       p.health_reason[0] ? ": " : "", p.health_reason);
	if (p.updating)
		reason(r, "partner-code-load", -EBUSY, READINESS_RISK_OUTAGE,
		       "Wait for it to finish (show firmware-update-status).",
		       "A code load from %s is running on controller %c.",
		       p.update_source[0] ? p.update_source : "a client",
		       p.id);
	if (p.trial)
		reason(r, "partner-trial", -EBUSY, READINESS_RISK_MISMATCH,
		       "Wait until the partner confirms its bundle.",
		       "Controller %c runs bundle %s on trial; it is not yet "
		       "confirmed.", p.id, p.bundle_version);
	if (p.free_bytes < need)
		reason(r, "partner-space", -ENOSPC, READINESS_RISK_MISMATCH,
		       "Free space in the partner's store, then check again.",
		       "Controller %c has %llu bytes free; a bundle needs "
		       "about %llu.", p.id,
		       (unsigned long long)p.free_bytes,
		       (unsigned long long)need);
}

int controller_readiness(struct controller *c, struct readiness *out)
{
	uint64_t need = 0;

	memset(out, 0, sizeof(*out));
	out->pass = true;
	local_conditions(c, out, &need);
	partner_conditions(c, out, need);
	/* A pairing the new bundle rules out is known only once its
	 * manifest arrives: the upload path checks that. */
	return out->pass ? 0 : out->reasons[0].code;
}

int controller_pairing_accept(void *ctx, const struct bundle_manifest *m,
			      struct err *e)
{
	struct controller *c = ctx;
	struct peer_view peer;

	controller_peer_view(c, &peer);
	/* Nothing known of a partner, or it already runs this bundle: no
	 * mixed state to rule out. */
	if (!peer.configured || !peer.ever_seen || !peer.bundle_version[0] ||
	    !strcmp(peer.bundle_version, m->version) ||
	    bundle_manifest_tolerates(m, peer.bundle_version))
		return 0;
	return err_set(e, -EPERM, "it does not tolerate partner controller "
		       "%c running bundle %s while the two differ (its "
		       "partner compatibility list); flash:force loads it "
		       "anyway", peer.id, peer.bundle_version);
}
