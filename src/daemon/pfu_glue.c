/*
 * pfu_glue.c: the PFU policy (src/pfu/) wired to this controller: its
 * settings, flash store, update engine, event log and the partner as the
 * link reports it. The policy decides; this file only answers its ops.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/controller.h"
#include "daemon/peer.h"
#include "pfu/pfu.h"

static bool glue_enabled(void *ctx)
{
	struct controller *c = ctx;

	return config_get_bool(c->config, CONFIG_PARTNER_FIRMWARE_UPGRADE);
}

static unsigned glue_limit(void *ctx)
{
	return config_get_uint(((struct controller *)ctx)->config,
			       CONFIG_PFU_ATTEMPT_LIMIT);
}

static unsigned glue_backoff(void *ctx)
{
	return config_get_uint(((struct controller *)ctx)->config,
			       CONFIG_PFU_BACKOFF_SECONDS);
}

static unsigned glue_wait(void *ctx)
{
	return config_get_uint(((struct controller *)ctx)->config,
			       CONFIG_PFU_PARTNER_WAIT_SECONDS);
}

static bool glue_auto_rollback(void *ctx)
{
	return config_get_bool(((struct controller *)ctx)->config,
			       CONFIG_PFU_AUTO_ROLLBACK);
}

/* Whether a code load's source is an operator's (not the partner's). */
static bool operator_source(const char *source)
{
	return !strcmp(source, "FTP") || !strcmp(source, "SFTP") ||
	       !strcmp(source, "HTTP") || !strcmp(source, "HTTPS");
}

/*
 * The trigger (P1): the last code load, kept across the MC restart by
 * the update engine, came from an operator, installed a new bank, is the
 * bundle now running, and that bundle is confirmed.
 */
static int glue_local(void *ctx, struct pfu_local *out, struct err *e)
{
	struct controller *c = ctx;
	struct update_status up;
	struct flash_status st;

	if (flash_store_status(c->store, &st, e) < 0)
		return e->code;
	snprintf(out->bundle_version, sizeof(out->bundle_version), "%s",
		 st.bundle_version);
	snprintf(out->previous_version, sizeof(out->previous_version), "%s",
		 st.previous_version);
	for (size_t i = 0; i < st.ncomponents; i++) {
		snprintf(out->components[i].name,
			 sizeof(out->components[i].name), "%s",
			 st.components[i].name);
		snprintf(out->components[i].version,
			 sizeof(out->components[i].version), "%s",
			 st.components[i].version);
	}
	out->ncomponents = st.ncomponents;
	update_status_get(c->update, &up);
	out->trigger = false;
	if (!st.bundle_version[0])
		snprintf(out->why_not, sizeof(out->why_not), "no bundle "
			 "installed");
	else if (!up.have_last || !up.last_ok ||
		 up.last_return_code != UPDATE_RC_LOADED ||
		 strcmp(up.last_version, st.bundle_version))
		snprintf(out->why_not, sizeof(out->why_not), "bundle %s was "
			 "not installed by the last code load",
			 st.bundle_version);
	else if (!operator_source(up.last_source))
		snprintf(out->why_not, sizeof(out->why_not), "bundle %s was "
			 "installed by the %s, not an operator",
			 st.bundle_version, up.last_source[0] ?
			 up.last_source : "an unknown source");
	else if (update_restart_pending(c->update))
		snprintf(out->why_not, sizeof(out->why_not), "waiting for "
			 "this controller to restart into bundle %s",
			 st.bundle_version);
	else if (st.trial)
		snprintf(out->why_not, sizeof(out->why_not), "bundle %s is "
			 "on trial, not yet confirmed", st.bundle_version);
	else
		out->trigger = true;
	return 0;
}

static void glue_peer(void *ctx, struct peer_view *out)
{
	controller_peer_view(ctx, out);
}

/* The active bank's signed bundle over the link; the partner's own
 * verdict and reason come back in res. */
static int glue_push(void *ctx, const char *target, unsigned attempt,
		     struct pfu_push_result *res, struct err *e)
{
	struct controller *c = ctx;
	struct partner_push_result out;
	int rc;

	if (!c->partner)
		return err_set(e, -ENOTCONN, "no partner link configured");
	rc = partner_push_bundle(c->partner, target, attempt, &out, e);
	if (rc < 0)
		return rc;
	res->ok = out.ok;
	res->code = out.code;
	/* The partner's reason, cut to what a record holds. */
	snprintf(res->message, sizeof(res->message), "%.*s",
		 (int)sizeof(res->message) - 1, out.message);
	return 0;
}

static void glue_record_send(void *ctx, const char *json, size_t len)
{
	struct controller *c = ctx;
	struct err e;

	if (c->partner && partner_send_record(c->partner, json, len, &e) < 0)
		log_info("PFU record not sent to the partner: %s", e.msg);
}

/* A bundle may name the partner versions it tolerates while the two
 * differ: the running bundle's signed manifest says. */
static bool glue_tolerated(void *ctx, const struct peer_view *peer,
			   char *why, size_t whylen)
{
	struct controller *c = ctx;
	struct bundle_manifest *m = malloc(sizeof(*m));
	bool ok = true;
	struct err e;

	if (!m)
		return true;
	/* An unreadable manifest declares nothing; the push's own checks
	 * still stand. */
	if (flash_store_active_manifest(c->store, m, &e) == 0 &&
	    !bundle_manifest_tolerates(m, peer->bundle_version)) {
		snprintf(why, whylen, "bundle %s does not tolerate partner "
			 "bundle %s (its partner compatibility list)",
			 m->version, peer->bundle_version);
		ok = false;
	}
	free(m);
	return ok;
}

static void glue_report(void *ctx, const char *line)
{
	struct controller *c = ctx;
	struct err e;

	if (update_last_report_append(c->update, line, &e) < 0)
		log_warn("PFU: could not add to the last code load report: "
			 "%s", e.msg);
}

static void glue_event(void *ctx, enum events_severity sev, unsigned code,
		       const char *message)
{
	controller_event(ctx, sev, code, "%s", message);
}

static int glue_rollback(void *ctx, struct err *e)
{
	struct controller *c = ctx;
	char version[BUNDLE_VERSION_MAX];

	if (flash_store_rollback(c->store, version, sizeof(version), e) < 0)
		return e->code;
	controller_event(c, EVENTS_WARNING, EVENTS_CODE_PFU, "Partner "
			 "Firmware Update progress: bundle %s is active again; "
			 "the management controller restarts into it.",
			 version);
	controller_schedule_stop(c, CONTROLLER_EXIT_RESTART,
				 CONTROLLER_RESTART_DELAY, "PFU roll-back");
	return 0;
}

static int64_t glue_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static const struct pfu_ops glue_ops = {
	.enabled = glue_enabled,
	.limit = glue_limit,
	.backoff_seconds = glue_backoff,
	.partner_wait_seconds = glue_wait,
	.auto_rollback = glue_auto_rollback,
	.local = glue_local,
	.peer = glue_peer,
	.partner_tolerated = glue_tolerated,
	.push = glue_push,
	.report = glue_report,
	.event = glue_event,
	.rollback = glue_rollback,
	.record_send = glue_record_send,
	.now = glue_now,
};

/* The partner link's calls into PFU (partner.h says on which threads). */
static void link_view_changed(void *ctx)
{
	controller_pfu_notify(ctx);
}

static void link_up(void *ctx)
{
	controller_pfu_link_up(ctx);
}

static void link_record(void *ctx, const char *json, size_t len)
{
	struct err e;

	if (controller_pfu_record_receive(ctx, json, len, &e) < 0)
		log_warn("PFU record from the partner refused: %s", e.msg);
}

void controller_pfu_start(struct controller *c, bool confirmed_now)
{
	struct pfu *p;
	struct pfu_config cfg = { .ops = &glue_ops, .ctx = c };
	struct update_status up;
	char dir[PATH_MAX + 8];
	struct err e;

	/* The partner's side of a PFU: its bundle, pushed by the partner,
	 * is confirmed on this controller now. */
	update_status_get(c->update, &up);
	if (confirmed_now && up.have_last && up.last_ok &&
	    !strcmp(up.last_source, "partner"))
		controller_event(c, EVENTS_INFORMATIONAL, EVENTS_CODE_PFU,
				 "Partner Firmware Update progress: PFU "
				 "completed on local controller, SUCCESS");
	snprintf(dir, sizeof(dir), "%s/config", c->dir);
	cfg.dir = dir;
	p = pfu_new(&cfg, &e);
	if (!p) {
		controller_event(c, EVENTS_ERROR, EVENTS_CODE_PFU, "Partner "
				 "Firmware Update cannot run: %s", e.msg);
		return;
	}
	pthread_rwlock_wrlock(&c->pfu_lock);
	c->pfu = p;
	pthread_rwlock_unlock(&c->pfu_lock);
	if (c->partner) {
		partner_on_view_change(c->partner, link_view_changed, c);
		partner_on_record(c->partner, link_record, c);
		partner_on_up(c->partner, link_up, c);
		/* The link may have come up before PFU was there to hear it. */
		controller_pfu_link_up(c);
	}
}

void controller_pfu_stop(struct controller *c)
{
	struct pfu *p;

	pthread_rwlock_wrlock(&c->pfu_lock);
	p = c->pfu;
	c->pfu = NULL;
	pthread_rwlock_unlock(&c->pfu_lock);
	pfu_free(p);		/* joins its thread, which may push */
}

void controller_pfu_notify(struct controller *c)
{
	pthread_rwlock_rdlock(&c->pfu_lock);
	if (c->pfu)
		pfu_notify(c->pfu);
	pthread_rwlock_unlock(&c->pfu_lock);
}

int controller_pfu_record_receive(struct controller *c, const void *json,
				  size_t len, struct err *e)
{
	int rc;

	pthread_rwlock_rdlock(&c->pfu_lock);
	rc = c->pfu ? pfu_record_receive(c->pfu, json, len, e) :
		      err_set(e, -ENOTCONN, "PFU is not running on this "
			      "controller");
	pthread_rwlock_unlock(&c->pfu_lock);
	return rc;
}

void controller_pfu_link_up(struct controller *c)
{
	pthread_rwlock_rdlock(&c->pfu_lock);
	if (c->pfu) {
		pfu_records_send_all(c->pfu);
		pfu_notify(c->pfu);
	}
	pthread_rwlock_unlock(&c->pfu_lock);
}

int controller_pfu_rollback(struct controller *c, struct err *e)
{
	int rc;

	pthread_rwlock_rdlock(&c->pfu_lock);
	rc = c->pfu ? pfu_rollback(c->pfu, e) :
		      err_set(e, -ENOTCONN, "PFU is not running on this "
			      "controller");
	pthread_rwlock_unlock(&c->pfu_lock);
	return rc;
}

bool controller_partner_update_status(struct controller *c,
				      struct update_status *out)
{
	struct peer_view peer;
	bool busy;

	pthread_rwlock_rdlock(&c->pfu_lock);
	busy = c->pfu && pfu_busy(c->pfu);
	pthread_rwlock_unlock(&c->pfu_lock);

	controller_peer_view(c, &peer);
	memset(out, 0, sizeof(*out));
	if (!peer.up && !busy)
		return false;
	out->state = peer.up && peer.updating ? UPDATE_RUNNING : UPDATE_IDLE;
	out->stage = busy ? "partner firmware update" :
		     out->state == UPDATE_RUNNING ? "code load" : "idle";
	snprintf(out->source, sizeof(out->source), "%s", peer.update_source);
	out->percent = peer.percent;
	out->pfu_active = busy;
	return true;
}

void controller_pfu_view(struct controller *c, struct pfu_view *out)
{
	pthread_rwlock_rdlock(&c->pfu_lock);
	if (c->pfu) {
		pfu_view(c->pfu, out);
		pthread_rwlock_unlock(&c->pfu_lock);
		return;
	}
	pthread_rwlock_unlock(&c->pfu_lock);
	memset(out, 0, sizeof(*out));
	out->enabled = config_get_bool(c->config,
				       CONFIG_PARTNER_FIRMWARE_UPGRADE);
	out->limit = config_get_uint(c->config, CONFIG_PFU_ATTEMPT_LIMIT);
	snprintf(out->status, sizeof(out->status), "%s",
		 out->enabled ? "Idle" : "Disabled");
}
