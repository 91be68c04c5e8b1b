/*
 * ops_upload.c: the FTP server's and the SFTP subsystem's way into the
 * update engine. Both are thin: logins go to config, bytes to the engine,
 * and a load that activated a new bank restarts the MC once the client
 * has its reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"

static int ftp_authenticate(void *ctx, const char *user, const char *password,
			    const char *peer, bool *may_flash, struct err *e)
{
	struct controller *c = ctx;
	unsigned roles = 0;
	int rc;

	rc = config_auth_login(c->config, user, password, CONFIG_IFACE_FTP,
			       peer, &roles, e);
	if (rc == CONFIG_ERR_AUTH)
		return FTP_AUTH_BAD;
	if (rc < 0)
		return FTP_AUTH_REFUSED;
	*may_flash = (roles & CONFIG_ROLE_MANAGE) != 0;
	return 0;
}

static void ftp_login_text(void *ctx, struct buf *out)
{
	struct controller *c = ctx;
	struct flash_status st;
	struct err e;

	if (flash_store_status(c->store, &st, &e) < 0)
		st.bundle_version[0] = '\0';
	buf_appendf(out,
		"Controller %c of %s %s, running bundle %s.\n"
		"To update this controller's firmware:\n"
		"  ftp> bin\n"
		"  ftp> put <bundle file> flash        a newer bundle\n"
		"  ftp> put <bundle file> flash:force  also the same or an "
		"older one\n"
		"The bundle is verified as it arrives (signature, model, "
		"every component's\n"
		"size and sha256), written to the inactive bank, read back "
		"and activated.\n"
		"The result is shown here; then the management controller "
		"restarts.\n"
		"Only the flash targets exist: nothing can be read or listed.",
		c->id, CONTROLLER_VENDOR, CONTROLLER_MODEL,
		st.bundle_version[0] ? st.bundle_version : "none");
}

/*
 * The readiness check before an upload: every failing condition with what
 * to do, in one message the client sees (an FTP 4xx/5xx reply, an SFTP
 * error) and the event log keeps. Returns true when refused.
 */
static bool refused(struct controller *c, const char *source,
		    const char *user, struct err *e)
{
	struct readiness *r = malloc(sizeof(*r));
	struct buf why;
	size_t i;
	int rc;

	if (!r) {
		err_set(e, -ENOMEM, "out of memory");
		return true;
	}
	controller_readiness(c, r);
	/* A load running here is the engine's to refuse: its reply says
	 * whose load and how far it is. */
	for (i = rc = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].id, "local-code-load") != 0) {
			r->reasons[rc] = r->reasons[i];
			rc++;
		}
	r->nreasons = (size_t)rc;
	if (r->nreasons == 0) {
		free(r);
		return false;
	}
	rc = r->reasons[0].code;
	/* The most useful first: a message is cut at ERR_MESSAGE_MAX. */
	buf_init(&why, 4 * ERR_MESSAGE_MAX);
	buf_appendf(&why, "Firmware update refused (put it to flash:force to "
		    "load anyway):");
	for (i = 0; i < r->nreasons; i++)
		buf_appendf(&why, " %s %s", r->reasons[i].text,
			    r->reasons[i].action);
	err_set(e, rc, "%s", why.data ? why.data : "Firmware update refused.");
	controller_event(c, EVENTS_WARNING, EVENTS_CODE_FIRMWARE_UPDATE,
			 "A firmware update from %s by %s was refused: %s",
			 source, user, r->nreasons ? r->reasons[0].text : "");
	buf_free(&why);
	free(r);
	return true;
}

void *controller_upload_begin(struct controller *c, const char *source,
			      const char *user, bool force, struct err *e)
{
	bool restarting;

	pthread_mutex_lock(&c->lock);
	restarting = c->restarting;
	pthread_mutex_unlock(&c->lock);
	if (restarting) {
		err_set(e, -EBUSY, "The management controller is restarting; "
			"try again when it is back.");
		return NULL;
	}
	/* flash:force bypasses the partner and readiness checks, as the
	 * family's does: the field's way to recover a pair. */
	if (!force && refused(c, source, user, e))
		return NULL;
	return update_begin(c->update, source, user, force, e);
}

static void *ftp_begin(void *ctx, const char *user, bool force,
		       struct err *e)
{
	return controller_upload_begin(ctx, "FTP", user, force, e);
}

static int ftp_pull(void *ctx, void *job, bundle_pull_fn pull, void *arg,
		    struct err *e)
{
	(void)ctx;
	return update_pull(job, pull, arg, e);
}

static int ftp_finish(void *ctx, void *job, struct buf *report,
		      void (*keepalive)(void *session, const char *line),
		      void *session, struct err *e)
{
	(void)ctx;
	return update_finish(job, report, keepalive, session, e);
}

static void ftp_abort(void *ctx, void *job, const char *why)
{
	(void)ctx;
	update_abort(job, why);
}

void controller_upload_restart(struct controller *c)
{
	if (update_restart_pending(c->update))
		controller_schedule_stop(c, CONTROLLER_EXIT_RESTART,
					 CONTROLLER_RESTART_DELAY,
					 "a new bundle was activated");
}

static void ftp_done(void *ctx)
{
	controller_upload_restart(ctx);
}

/* The client that loaded has read its reply and gone: its restart need
 * not wait out the delay. */
static void ftp_session_end(void *ctx)
{
	struct controller *c = ctx;

	if (update_restart_pending(c->update))
		controller_stop_now(c, "the FTP client that loaded has quit");
}

const struct ftp_ops controller_ftp_ops = {
	.authenticate = ftp_authenticate,
	.login_text = ftp_login_text,
	.upload_begin = ftp_begin,
	.upload_pull = ftp_pull,
	.upload_finish = ftp_finish,
	.upload_abort = ftp_abort,
	.upload_done = ftp_done,
	.session_end = ftp_session_end,
};

/* SFTP hands only the upload back, so it carries its controller. */
struct sftp_upload {
	struct controller *c;
	struct update_job *job;
};

static void *sftp_begin(void *ctx, const char *target, const char *user,
			enum shell_role role, struct err *e)
{
	struct sftp_upload *u;

	if (role != SHELL_ROLE_MANAGE) {
		err_set(e, -EPERM, "User %s has the monitor role and may not "
			"load firmware.", user);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	u->c = ctx;
	u->job = controller_upload_begin(ctx, "SFTP", user,
					 !strcmp(target, FTP_TARGET_FORCE), e);
	if (!u->job) {
		free(u);
		return NULL;
	}
	return u;
}

static int sftp_feed(void *upload, const void *data, size_t len,
		     struct err *e)
{
	struct sftp_upload *u = upload;

	return update_feed(u->job, data, len, e);
}

static int sftp_finish(void *upload, struct buf *report, struct err *e)
{
	struct sftp_upload *u = upload;
	struct controller *c = u->c;
	int rc = update_finish(u->job, report, NULL, NULL, e);

	free(u);
	if (rc == 0)
		controller_upload_restart(c);
	return rc;
}

static void sftp_abort(void *upload, const char *why)
{
	struct sftp_upload *u = upload;

	update_abort(u->job, why);
	free(u);
}

static void sftp_progress(void *ctx, struct buf *out)
{
	struct controller *c = ctx;
	struct update_status st, partner;
	bool known;

	update_status_get(c->update, &st);
	known = controller_partner_update_status(c, &partner);
	update_progress_xml(&st, c->id, known ? &partner : NULL,
			    c->id == 'A' ? 'B' : 'A', out);
}

static void sftp_last(void *ctx, struct buf *out)
{
	update_last_report(((struct controller *)ctx)->update, out);
}

static unsigned sftp_packet_seconds(void *ctx)
{
	struct controller *c = ctx;

	return config_get_uint(c->config, CONFIG_SFTP_PACKET_SECONDS);
}

const struct sftp_ops controller_sftp_ops = {
	.packet_seconds = sftp_packet_seconds,
	.upload_begin = sftp_begin,
	.upload_feed = sftp_feed,
	.upload_finish = sftp_finish,
	.upload_abort = sftp_abort,
	.progress_xml = sftp_progress,
	.last_codeload_text = sftp_last,
};
