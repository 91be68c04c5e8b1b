/*
 * ops_http.c: what the HTTP(S) server calls (struct http_ops): the digest
 * login through config (its lockout, interface WBI), uploads into the one
 * update engine as FTP and SFTP do (ops_upload.c: readiness check unless
 * forced, MC restart after the reply), and the progress document built
 * from the facts SFTP's `get progress` reads.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"
#include "daemon/peer.h"
#include "http/http.h"

static int http_login(void *ctx, const char *digest, const char *peer,
		      struct http_session_info *out, struct err *e)
{
	struct controller *c = ctx;
	char user[CONFIG_USER_NAME_MAX];
	unsigned roles = 0;
	int rc;

	rc = config_auth_login_digest(c->config, digest, CONFIG_IFACE_WBI,
				      peer, user, &roles, e);
	if (rc == CONFIG_ERR_LOCKED_OUT)
		return -EAGAIN;
	if (rc < 0)
		return -EACCES;
	snprintf(out->user, sizeof(out->user), "%s", user);
	out->role = (roles & CONFIG_ROLE_MANAGE) ? CLI_ROLE_MANAGE
						 : CLI_ROLE_MONITOR;
	return 0;
}

static bool http_may_serve(void *ctx, bool tls)
{
	struct controller *c = ctx;

	return config_get_bool(c->config, tls ? CONFIG_PROTO_HTTPS
					      : CONFIG_PROTO_HTTP);
}

static int http_session_check(void *ctx, const char *user,
			      enum cli_role *role)
{
	struct controller *c = ctx;
	struct config_user u;
	struct err e;

	if (config_auth_may_use(c->config, user, CONFIG_IFACE_WBI, &e) < 0 ||
	    config_user_get(c->config, user, &u) < 0)
		return -EACCES;
	*role = (u.roles & CONFIG_ROLE_MANAGE) ? CLI_ROLE_MANAGE
					       : CLI_ROLE_MONITOR;
	return 0;
}

/* An upload carries its controller: the seam hands back only it. */
struct http_upload_job {
	struct controller *c;
	struct update_job *job;
};

static void *http_upload_begin(void *ctx, const char *user, bool force,
			       struct err *e)
{
	struct http_upload_job *u = calloc(1, sizeof(*u));

	if (!u) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	u->c = ctx;
	u->job = controller_upload_begin(ctx, "HTTP", user, force, e);
	if (!u->job) {
		free(u);
		return NULL;
	}
	return u;
}

static int http_upload_feed(void *upload, const void *data, size_t len,
			    struct err *e)
{
	struct http_upload_job *u = upload;

	return update_feed(u->job, data, len, e);
}

static int last_return_code(struct controller *c)
{
	struct update_status st;

	update_status_get(c->update, &st);
	return st.have_last ? st.last_return_code : 0;
}

static int http_upload_finish(void *upload, struct buf *report,
			      int *return_code, struct err *e)
{
	struct http_upload_job *u = upload;
	struct controller *c = u->c;
	int rc = update_finish(u->job, report, NULL, NULL, e);

	free(u);
	*return_code = last_return_code(c);
	return rc;
}

static void http_upload_abort(void *upload, const char *why,
			      struct buf *report, int *return_code)
{
	struct http_upload_job *u = upload;
	struct controller *c = u->c;

	update_abort(u->job, why);
	free(u);
	if (report)
		update_last_report(c->update, report);
	if (return_code)
		*return_code = last_return_code(c);
}

static void http_upload_replied(void *ctx)
{
	controller_upload_restart(ctx);
}

/* The stage words of /firmware/progress (docs/http.md). */
static const char *local_stage(struct controller *c,
			       const struct update_status *st, bool pfu)
{
	bool restarting;

	pthread_mutex_lock(&c->lock);
	restarting = c->restarting;
	pthread_mutex_unlock(&c->lock);
	if (restarting)
		return "restarting";
	if (st->state == UPDATE_RUNNING && st->stage &&
	    strcmp(st->stage, "done") != 0)
		return st->stage;
	if (st->state == UPDATE_RUNNING)
		return "activating";
	return pfu ? "pfu" : "idle";
}

static json_t *local_entry(struct controller *c, bool pfu)
{
	struct update_status st;
	struct flash_status fs;
	struct err e;

	update_status_get(c->update, &st);
	if (flash_store_status(c->store, &fs, &e) < 0)
		memset(&fs, 0, sizeof(fs));
	return json_pack("{s:s#, s:b, s:s, s:I, s:I, s:i, s:s, s:b}",
			 "controller", &c->id, (size_t)1,
			 "reachable", 1,
			 "stage", local_stage(c, &st, pfu),
			 "bytes", (json_int_t)st.bytes_received,
			 "total", (json_int_t)st.bytes_total,
			 "percent", st.state == UPDATE_RUNNING ?
				    (int)st.percent : 0,
			 "bundle-version", fs.bundle_version,
			 "on-trial", fs.trial);
}

static json_t *partner_entry(struct controller *c, bool pfu)
{
	char id = c->id == 'A' ? 'B' : 'A';
	struct peer_view peer;
	const char *stage = "idle";

	controller_peer_view(c, &peer);
	if (peer.up && peer.updating)
		stage = peer.stage[0] ? peer.stage : "receiving";
	else if (pfu)
		stage = peer.up ? "pfu" : "restarting";
	return json_pack("{s:s#, s:b, s:s, s:I, s:I, s:i, s:s, s:b}",
			 "controller", &id, (size_t)1,
			 "reachable", peer.up,
			 "stage", stage,
			 "bytes", (json_int_t)0,
			 "total", (json_int_t)0,
			 "percent", peer.up && peer.updating ?
				    (int)peer.percent : 0,
			 "bundle-version", peer.ever_seen ?
					   peer.bundle_version : "",
			 "on-trial", peer.up && peer.trial);
}

/* PFU's status word as the progress document spells it. */
static const char *pfu_word(const struct pfu_view *v)
{
	if (!v->enabled)
		return "Disabled";
	if (v->halted)
		return "Halted";
	if (!strcmp(v->status, "Complete"))
		return "Complete";
	if (v->running || !strcmp(v->status, "In Progress"))
		return "Sending";
	if (!strcmp(v->status, "Waiting") || !strcmp(v->status, "Backoff"))
		return "Pending";
	return "Idle";
}

static int http_progress_json(void *ctx, struct buf *out)
{
	struct controller *c = ctx;
	struct update_status st;
	struct pfu_view pv;
	char message[2 * PEER_TEXT_MAX + 2];
	struct buf last;
	json_t *root, *ctls, *mine, *theirs;
	char *text;
	bool pfu;
	int rc;

	controller_pfu_view(c, &pv);
	pfu = pv.running;
	/* A halt says what failed and the ways out. */
	snprintf(message, sizeof(message), "%s%s%s", pv.reason,
		 pv.halted && pv.advice[0] && pv.reason[0] ? " " : "",
		 pv.halted ? pv.advice : "");
	update_status_get(c->update, &st);
	buf_init(&last, UPDATE_REPORT_MAX + 1);
	update_last_report(c->update, &last);
	mine = local_entry(c, pfu);
	theirs = partner_entry(c, pfu);
	ctls = json_array();
	if (c->id == 'A') {
		json_array_append_new(ctls, mine);
		json_array_append_new(ctls, theirs);
	} else {
		json_array_append_new(ctls, theirs);
		json_array_append_new(ctls, mine);
	}
	root = json_pack("{s:o, s:{s:s, s:i, s:i, s:s, s:s}, s:s, s:s}",
			 "controllers", ctls,
			 "pfu", "status", pfu_word(&pv),
			 "attempts", (int)pv.attempts,
			 "limit", (int)pv.limit,
			 "target", pv.target,
			 "message", message,
			 "codeload", st.state == UPDATE_RUNNING || pfu ?
				     "codeload" : "none",
			 "last-codeload", last.data ? last.data : "");
	buf_free(&last);
	if (!root)
		return -ENOMEM;
	text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(1));
	json_decref(root);
	if (!text)
		return -ENOMEM;
	rc = buf_append_str(out, text);
	free(text);
	return rc;
}

const struct http_ops controller_http_ops = {
	.login = http_login,
	.may_serve = http_may_serve,
	.session_check = http_session_check,
	.upload_begin = http_upload_begin,
	.upload_feed = http_upload_feed,
	.upload_finish = http_upload_finish,
	.upload_abort = http_upload_abort,
	.upload_replied = http_upload_replied,
	.progress_json = http_progress_json,
};
