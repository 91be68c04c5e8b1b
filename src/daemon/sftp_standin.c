/*
 * sftp_standin.c: STAND-IN for src/update until the lead wires it: a code
 * load over SFTP or FTP runs the real bundle verifier (src/bundle) over the
 * stream and reports its verdict, but installs nothing: there is no flash
 * store behind it yet, and the report says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/standin.h"

int standin_keys_load(struct standin *s, const char *dir, struct err *e)
{
	int rc = bundle_keyring_add_dir(&s->keys, dir, e);

	return rc < 0 ? rc : 0;
}

void standin_set_model(struct standin *s, const char *model)
{
	snprintf(s->model, sizeof(s->model), "%s", model ? model : "");
}

void standin_last_bundle(struct standin *s, char *out, size_t max)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, max, "%s", s->last_bundle);
	pthread_mutex_unlock(&s->mu);
}

static void *upload_begin(void *ctx, const char *target, const char *user,
			  enum shell_role role, struct err *e)
{
	struct standin *s = ctx;
	struct bundle_verify_config cfg = { .keys = &s->keys };
	struct standin_upload *u;

	if (role != SHELL_ROLE_MANAGE) {
		err_set(e, -EPERM, "Only a user with the manage role may "
			"update firmware.");
		return NULL;
	}
	if (s->keys.nkeys == 0) {
		err_set(e, -ENOKEY, "No trusted bundle key is configured on "
			"this controller (tandemd --keys DIR).");
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	u->owner = s;
	snprintf(u->target, sizeof(u->target), "%s", target);
	snprintf(u->user, sizeof(u->user), "%s", user);
	u->force = !strcmp(target, "flash:force");
	cfg.model = s->model[0] ? s->model : NULL;
	pthread_mutex_lock(&s->mu);
	if (s->upload) {
		pthread_mutex_unlock(&s->mu);
		free(u);
		err_set(e, -EBUSY, "A firmware update is already in progress "
			"on this controller.");
		return NULL;
	}
	u->verifier = bundle_verifier_new(&cfg, NULL, NULL);
	if (!u->verifier) {
		pthread_mutex_unlock(&s->mu);
		free(u);
		err_set(e, -ENOMEM, "cannot start the bundle verifier");
		return NULL;
	}
	s->upload = u;
	s->bytes = 0;
	pthread_mutex_unlock(&s->mu);
	log_info("code load to %s by %s begins", target, user);
	return u;
}

static int upload_feed(void *upload, const void *data, size_t len,
		       struct err *e)
{
	struct standin_upload *u = upload;
	struct standin *s = u->owner;
	int rc = bundle_verifier_feed(u->verifier, data, len);

	pthread_mutex_lock(&s->mu);
	s->bytes += len;
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		const struct err *ve = bundle_verifier_error(u->verifier);

		return err_set(e, rc, "Codeload failed: bundle rejected (%s): "
			       "%s", bundle_error_name(rc), ve->msg);
	}
	return 0;
}

static void upload_end(struct standin_upload *u, const char *report)
{
	struct standin *s = u->owner;

	pthread_mutex_lock(&s->mu);
	buf_reset(&s->last_report);
	buf_append_str(&s->last_report, report);
	s->upload = NULL;
	pthread_mutex_unlock(&s->mu);
	bundle_verifier_free(u->verifier);
	free(u);
}

static int upload_finish(void *upload, struct buf *report, struct err *e)
{
	struct standin_upload *u = upload;
	const struct bundle_manifest *m;
	int rc = bundle_verifier_finish(u->verifier);
	struct buf text;

	buf_init(&text, 16 * 1024);
	m = bundle_verifier_manifest(u->verifier);
	if (rc < 0) {
		const struct err *ve = bundle_verifier_error(u->verifier);

		buf_appendf(&text, "Checking bundle integrity...\n"
			    "Codeload failed: bundle rejected (%s): %s\n",
			    bundle_error_name(rc), ve->msg);
		err_set(e, rc, "bundle rejected (%s): %s",
			bundle_error_name(rc), ve->msg);
	} else {
		buf_appendf(&text, "Checking bundle integrity...\n"
			    "Bundle %s verified: signature by key %s, "
			    "%zu components.\n"
			    "Stand-in: no flash store is wired into this "
			    "tandemd; nothing was installed.\n",
			    m->version, m->key_id, m->ncomponents);
		pthread_mutex_lock(&u->owner->mu);
		snprintf(u->owner->last_bundle, sizeof(u->owner->last_bundle),
			 "%s", m->version);
		pthread_mutex_unlock(&u->owner->mu);
	}
	buf_append(report, text.data, text.len);
	upload_end(u, text.data);
	buf_free(&text);
	return rc < 0 ? rc : 0;
}

static void upload_abort(void *upload, const char *why)
{
	struct standin_upload *u = upload;
	char text[ERR_MESSAGE_MAX + 64];

	snprintf(text, sizeof(text), "Codeload failed: %s\n",
		 why ? why : "the upload was refused");
	log_info("code load aborted: %s", why ? why : "refused");
	upload_end(u, text);
}

static void progress_xml(void *ctx, struct buf *out)
{
	struct standin *s = ctx;
	bool busy;
	uint64_t bytes;

	pthread_mutex_lock(&s->mu);
	busy = s->upload != NULL;
	bytes = s->bytes;
	pthread_mutex_unlock(&s->mu);
	buf_appendf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
		    "standalone=\"yes\"?>\n<RESPONSE VERSION=\"L100\">\n"
		    "<OBJECT basetype=\"progress\" name=\"progress\" "
		    "oid=\"1\">\n"
		    "<PROPERTY name=\"controller\" type=\"string\">%c"
		    "</PROPERTY>\n"
		    "<PROPERTY name=\"activity\" type=\"string\">%s"
		    "</PROPERTY>\n"
		    "<PROPERTY name=\"bytes-received\" type=\"uint64\">%llu"
		    "</PROPERTY>\n</OBJECT>\n</RESPONSE>\n",
		    s->controller - 'a' + 'A', busy ? "codeload" : "none",
		    (unsigned long long)bytes);
}

static void last_codeload_text(void *ctx, struct buf *out)
{
	struct standin *s = ctx;

	pthread_mutex_lock(&s->mu);
	if (s->last_report.len)
		buf_append(out, s->last_report.data, s->last_report.len);
	else
		buf_append_str(out, "No code load since this controller "
			       "started.\n");
	pthread_mutex_unlock(&s->mu);
}

static const struct sftp_ops sftp_ops = {
	.upload_begin = upload_begin,
	.upload_feed = upload_feed,
	.upload_finish = upload_finish,
	.upload_abort = upload_abort,
	.progress_xml = progress_xml,
	.last_codeload_text = last_codeload_text,
};

const struct sftp_ops *standin_sftp_ops(void)
{
	return &sftp_ops;
}

/* The same code load behind the existing FTP server's seam. */
static int ftp_authenticate(void *ctx, const char *user, const char *password,
			    const char *peer, bool *may_flash, struct err *e)
{
	enum shell_role role;
	int rc = standin_shell_ops()->authenticate(ctx, user, password, "ftp",
						  peer, &role, e);

	*may_flash = rc == SHELL_AUTH_OK && role == SHELL_ROLE_MANAGE;
	return rc == SHELL_AUTH_OK ? 0 : -EACCES;
}

static void ftp_login_text(void *ctx, struct buf *out)
{
	(void)ctx;
	buf_append_str(out, "To update firmware: binary, then put BUNDLE "
		       "flash (or flash:force for the same or an older "
		       "version).\n");
}

static void *ftp_upload_begin(void *ctx, const char *user, bool force,
			      struct err *e)
{
	return upload_begin(ctx, force ? "flash:force" : "flash", user,
			    SHELL_ROLE_MANAGE, e);
}

static int ftp_upload_feed(void *ctx, void *job, const void *data, size_t len,
			   struct err *e)
{
	(void)ctx;
	return upload_feed(job, data, len, e);
}

static int ftp_upload_finish(void *ctx, void *job, struct buf *report,
			     void (*keepalive)(void *session, const char *line),
			     void *session, struct err *e)
{
	(void)ctx, (void)keepalive, (void)session;
	return upload_finish(job, report, e);
}

static void ftp_upload_abort(void *ctx, void *job, const char *why)
{
	(void)ctx;
	upload_abort(job, why);
}

static void ftp_upload_done(void *ctx)
{
	(void)ctx;
}

static const struct ftp_ops ftp_ops = {
	.authenticate = ftp_authenticate,
	.login_text = ftp_login_text,
	.upload_begin = ftp_upload_begin,
	.upload_feed = ftp_upload_feed,
	.upload_finish = ftp_upload_finish,
	.upload_abort = ftp_upload_abort,
	.upload_done = ftp_upload_done,
};

const struct ftp_ops *standin_ftp_ops(void)
{
	return &ftp_ops;
}
