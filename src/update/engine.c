/*
 * engine.c: one code load at a time. A job wraps a flash install, keeps
 * the progress readers see, and turns the outcome into the family's report
 * and an event. The flash store does the verifying and writing; this part
 * decides what the operator and the event log are told.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "update/update.h"

struct update_engine {
	struct update_config cfg;
	char *last_path;
	pthread_mutex_t lock;		/* guards status, last_report, job */
	struct update_status status;
	struct update_job *job;
	char *last_report;
	bool restart_pending;
};

struct update_job {
	struct update_engine *u;
	struct flash_install *fi;
	void (*keepalive)(void *arg, const char *line);
	void *keepalive_arg;
	time_t last_keepalive;
	enum flash_stage stage;
	int failed;		/* flash error that stopped the feed, or 0 */
	bool handler_failed;	/* a component handler refused the bank */
	bool handled[BUNDLE_COMPONENTS_MAX];	/* installed by a handler */
};

static void emit(struct update_engine *u, enum update_severity sev,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void emit(struct update_engine *u, enum update_severity sev,
		 const char *fmt, ...)
{
	char msg[ERR_MESSAGE_MAX + 128];
	va_list ap;

	if (!u->cfg.event)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	u->cfg.event(u->cfg.ctx, sev, UPDATE_EVENT_CODE, msg);
}

static const char *stage_name(enum flash_stage st)
{
	switch (st) {
	case FLASH_STAGE_RECEIVING:
		return "receiving";
	case FLASH_STAGE_READBACK:
		return "verifying";
	case FLASH_STAGE_ACTIVATING:
		return "activating";
	case FLASH_STAGE_DONE:
		break;
	}
	return "done";
}

/* Receiving is most of the work; read-back and activation the rest. */
static unsigned stage_percent(enum flash_stage st, uint64_t done,
			      uint64_t total)
{
	unsigned part = total ? (unsigned)(done * 100 / total) : 0;

	if (part > 100)
		part = 100;
	switch (st) {
	case FLASH_STAGE_RECEIVING:
		return part * 80 / 100;
	case FLASH_STAGE_READBACK:
		return 80 + part * 18 / 100;
	case FLASH_STAGE_ACTIVATING:
		return 99;
	case FLASH_STAGE_DONE:
		break;
	}
	return 100;
}

/*
 * Called by the flash store on the thread feeding or finishing the job;
 * while receiving, with each piece of component data as it arrives.
 */
static void on_progress(void *arg, enum flash_stage st, uint64_t done,
			uint64_t total)
{
	struct update_job *j = arg;
	struct update_engine *u = j->u;
	unsigned pct = stage_percent(st, done, total);
	time_t now;

	pthread_mutex_lock(&u->lock);
	u->status.stage = stage_name(st);
	if (st == FLASH_STAGE_RECEIVING) {
		u->status.bytes_received = done;
		u->status.bytes_total = total;
	}
	u->status.percent = pct;
	pthread_mutex_unlock(&u->lock);
	j->stage = st;
	if (!j->keepalive || st == FLASH_STAGE_RECEIVING)
		return;

	/*
	 * Clients give up on a silent control connection; while the
	 * read-back and activation run, say how far along they are.
	 */
	now = time(NULL);
	if (now - j->last_keepalive >= UPDATE_KEEPALIVE_SECONDS) {
		char line[96];

		snprintf(line, sizeof(line), "STATUS: %s, %u%% complete.",
			 stage_name(st), pct);
		j->keepalive(j->keepalive_arg, line);
		j->last_keepalive = now;
	}
}

/* Called with the lock held, after a job ended. */
static int last_save(struct update_engine *u, struct err *e)
{
	struct update_status *st = &u->status;
	json_t *o;
	char *text;
	int rc;

	if (!u->last_path)
		return 0;
	o = json_pack("{s:b, s:i, s:s, s:s, s:s, s:I, s:s}", "ok",
		      st->last_ok, "return_code", st->last_return_code,
		      "version", st->last_version, "source", st->last_source,
		      "message", st->last_message, "finished",
		      (json_int_t)st->last_finished, "report",
		      u->last_report ? u->last_report : "");
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!text)
		rc = err_set(e, -ENOMEM, "%s: out of memory", u->last_path);
	else
		rc = fs_atomic_write(u->last_path, text, strlen(text), 0644,
				     e);
	if (rc < 0)
		log_warn("update: could not keep the last code load's report "
			 "in %s: %s", u->last_path, e->msg);
	free(text);
	json_decref(o);
	return rc;
}

static void last_load(struct update_engine *u)
{
	struct update_status *st = &u->status;
	json_t *o, *report;
	struct buf b;
	struct err e;
	const char *version = "", *message = "", *source = "";
	json_int_t finished = 0;
	int ok = 0, rc = 0;

	buf_init(&b, UPDATE_REPORT_MAX * 2);
	if (!u->last_path || fs_read_file(u->last_path, UPDATE_REPORT_MAX * 2,
					  &b, &e) < 0) {
		buf_free(&b);
		return;
	}
	o = json_loadb(b.data, b.len, 0, NULL);
	/* "source" is absent from records older than it: unknown. */
	if (o && json_unpack(o, "{s:b, s:i, s:s, s?s, s:s, s:I, s:o}", "ok",
			     &ok, "return_code", &rc, "version", &version,
			     "source", &source, "message", &message,
			     "finished", &finished, "report", &report) == 0 &&
	    json_is_string(report)) {
		st->have_last = true;
		st->last_ok = ok;
		st->last_return_code = rc;
		snprintf(st->last_version, sizeof(st->last_version), "%s",
			 version);
		snprintf(st->last_message, sizeof(st->last_message), "%s",
			 message);
		snprintf(st->last_source, sizeof(st->last_source), "%s",
			 source);
		st->last_finished = (time_t)finished;
		/* As job_end left it: a finished load's progress is whole. */
		st->percent = ok ? 100 : 0;
		u->last_report = strdup(json_string_value(report));
	} else {
		log_warn("update: %s is not a code load record; ignored",
			 u->last_path);
	}
	json_decref(o);
	buf_free(&b);
}

struct update_engine *update_engine_new(const struct update_config *cfg,
					struct err *e)
{
	struct update_engine *u;

	if (!cfg->store || !cfg->keys) {
		err_set(e, -EINVAL, "update engine: a flash store and "
			"trusted keys are required");
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		err_set(e, -ENOMEM, "update engine: out of memory");
		return NULL;
	}
	u->cfg = *cfg;
	u->status.stage = "idle";
	if (cfg->last_path) {
		u->last_path = strdup(cfg->last_path);
		u->cfg.last_path = u->last_path;
	}
	pthread_mutex_init(&u->lock, NULL);
	last_load(u);
	return u;
}

void update_engine_free(struct update_engine *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u->last_report);
	free(u->last_path);
	free(u);
}

static int image_path(void *ctx, size_t i, char *out, size_t len)
{
	return flash_install_image_path(ctx, i, out, len);
}

struct active_images {
	struct flash_store *store;
	const struct bundle_manifest *m;
};

static int active_image_path(void *ctx, size_t i, char *out, size_t len)
{
	struct active_images *a = ctx;

	return flash_store_image_path(a->store, a->m->components[i].name,
				      out, len);
}

/*
 * A handler failed part-way: the devices this load touched get the
 * active bank's images again, so they run what stays active.
 * Best effort: what cannot be restored is logged, and the next start
 * tries again (controller_handlers_sync).
 */
static void restore_devices(struct update_job *j,
			    const struct bundle_manifest *loaded)
{
	struct update_engine *u = j->u;
	struct bundle_manifest *m = calloc(1, sizeof(*m));
	bool stale[BUNDLE_COMPONENTS_MAX] = { false };
	struct active_images a;
	struct flash_status st;
	struct err e = { 0 };
	size_t n = 0;

	if (!m || flash_store_status(u->cfg.store, &st, &e) < 0 ||
	    !st.bundle_version[0] ||
	    flash_store_active_manifest(u->cfg.store, m, &e) < 0) {
		free(m);
		return;
	}
	for (size_t i = 0; i < m->ncomponents; i++) {
		char running[BUNDLE_VERSION_MAX];

		/* Touched by this load (the failing one may be half
		 * written), or reporting another version. */
		for (size_t k = 0; k < loaded->ncomponents; k++)
			if (j->handled[k] && !strcmp(loaded->components[k].name,
						     m->components[i].name))
				stale[i] = true;
		if (handler_set_version(u->cfg.handlers, m->components[i].name,
					running, sizeof(running)) != 0 &&
		    strcmp(running, m->components[i].version))
			stale[i] = true;
		n += stale[i];
	}
	a.store = u->cfg.store;
	a.m = m;
	if (n && handler_set_install(u->cfg.handlers, m, stale,
				     st.active_bank, active_image_path, &a,
				     u->cfg.controller, u->cfg.state_dir,
				     &e) < 0)
		emit(u, UPDATE_ERROR, "Firmware update progress: a device "
		     "could not be given back the active bundle %s: %s",
		     m->version, e.msg);
	free(m);
}

/*
 * The bank holds every image, read back: each written component whose
 * type has a handler is installed into its device and verified there
 * (docs/handlers.md). A failure keeps the bank from being activated.
 */
static int run_handlers(void *ctx, struct flash_install *fi,
			const struct flash_install_result *res, int bank,
			struct err *e)
{
	struct update_job *j = ctx;
	struct update_engine *u = j->u;
	const struct bundle_manifest *m = &res->manifest;
	bool written[BUNDLE_COMPONENTS_MAX];

	for (size_t i = 0; i < m->ncomponents; i++) {
		written[i] = res->outcome[i] == FLASH_COMPONENT_INSTALLED;
		j->handled[i] = written[i] &&
				handler_set_find(u->cfg.handlers,
						 m->components[i].name);
	}
	emit(u, UPDATE_INFO, "Firmware update progress: bundle %s is in "
	     "bank %d; running the component handlers.", m->version, bank);
	if (handler_set_install(u->cfg.handlers, m, written, bank, image_path,
				fi, u->cfg.controller, u->cfg.state_dir,
				e) < 0) {
		j->handler_failed = true;
		restore_devices(j, m);
		e->code = FLASH_ERR_IO;
		return e->code;
	}
	return 0;
}

static struct update_job *job_begin(struct update_engine *u,
				     const char *source, const char *user,
				     bool force, bool receive_first,
				     struct err *e)
{
	struct flash_install_options opt = {
		.keys = u->cfg.keys,
		.model = u->cfg.model,
		.force = force,
		.receive_first = receive_first,
		.progress = on_progress,
	};
	struct update_job *j;

	pthread_mutex_lock(&u->lock);
	if (u->job) {
		err_set(e, -EBUSY, "A code load is already in progress "
			"(%s, user %s, %u%%); try again when it has finished.",
			u->status.source, u->status.user, u->status.percent);
		pthread_mutex_unlock(&u->lock);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_unlock(&u->lock);
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	j->u = u;
	u->job = j;
	pthread_mutex_unlock(&u->lock);

	opt.progress_ctx = j;
	if (u->cfg.handlers && u->cfg.handlers->count) {
		opt.before_activate = run_handlers;
		opt.before_activate_ctx = j;
	}
	opt.accept = u->cfg.accept;
	opt.accept_ctx = u->cfg.ctx;
	j->fi = flash_install_begin(u->cfg.store, &opt, e);
	if (!j->fi) {
		int code = e->code;

		pthread_mutex_lock(&u->lock);
		u->job = NULL;
		pthread_mutex_unlock(&u->lock);
		free(j);
		if (code == FLASH_ERR_BUSY || code == FLASH_ERR_TRIAL)
			e->code = -EBUSY;
		else
			e->code = -EIO;
		return NULL;
	}

	pthread_mutex_lock(&u->lock);
	u->status.state = UPDATE_RUNNING;
	snprintf(u->status.source, sizeof(u->status.source), "%s", source);
	snprintf(u->status.user, sizeof(u->status.user), "%s", user);
	u->status.force = force;
	u->status.stage = "receiving";
	u->status.bytes_received = 0;
	u->status.bytes_total = 0;
	u->status.percent = 0;
	u->status.started = time(NULL);
	pthread_mutex_unlock(&u->lock);
	fault_load_source(source);	/* for faults limited to one source */
	emit(u, UPDATE_INFO, "Firmware update progress: a code load started "
	     "(%s, user %s%s).", source, user, force ? ", flash:force" : "");
	return j;
}

struct update_job *update_begin(struct update_engine *u, const char *source,
				const char *user, bool force, struct err *e)
{
	/* A client is sending: the transfer runs at the page cache's pace. */
	return job_begin(u, source, user, force, true, e);
}

struct update_job *update_begin_overlapped(struct update_engine *u,
					   const char *source,
					   const char *user, bool force,
					   struct err *e)
{
	return job_begin(u, source, user, force, false, e);
}


/* The errno-style code a transport maps to its own reply. */
static int transport_code(int flash_code)
{
	switch (flash_code) {
	case FLASH_ERR_NOSPACE:
		return -ENOSPC;
	case FLASH_ERR_IO:
	case FLASH_ERR_READBACK:
		return -EIO;
	case FLASH_ERR_BUSY:
	case FLASH_ERR_TRIAL:
		return -EBUSY;
	case FLASH_ERR_VERSION:
	case FLASH_ERR_SECURITY:
		return -EPERM;
	case FLASH_ERR_VERIFY:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int return_code(int flash_code)
{
	switch (flash_code) {
	case FLASH_ERR_VERIFY:
		return UPDATE_RC_VERIFY;
	case FLASH_ERR_VERSION:
		return UPDATE_RC_VERSION;
	case FLASH_ERR_SECURITY:
		return UPDATE_RC_SECURITY;
	case FLASH_ERR_NOSPACE:
	case FLASH_ERR_IO:
	case FLASH_ERR_READBACK:
		return UPDATE_RC_WRITE;
	case FLASH_ERR_BUSY:
	case FLASH_ERR_TRIAL:
		return UPDATE_RC_BUSY;
	default:
		return UPDATE_RC_STORE;
	}
}

/*
 * The flash store checks as the bytes arrive (signature, model, version,
 * each hash), so a feed can fail long before the end: say why in the
 * transport's terms and remember the cause for the abort that follows.
 */
static int job_failed(struct update_job *j, struct err *e)
{
	j->failed = e->code;
	if (e->code == FLASH_ERR_VERSION)
		err_prefix(e, "Use flash:force to load the same or an older "
			   "version. ");
	e->code = transport_code(j->failed);
	return e->code;
}

int update_feed(struct update_job *j, const void *data, size_t len,
		struct err *e)
{
	if (flash_install_feed(j->fi, data, len, e) == 0)
		return 0;
	return job_failed(j, e);
}

/* The transport's source, and whether the failure was its own. */
struct job_source {
	bundle_pull_fn pull;
	void *arg;
	bool failed;
};

static ssize_t job_pull(void *arg, uint8_t *buf, size_t len, struct err *e)
{
	struct job_source *src = arg;
	ssize_t n = src->pull(src->arg, buf, len, e);

	if (n < 0)
		src->failed = true;
	return n;
}

int update_pull(struct update_job *j, bundle_pull_fn pull, void *arg,
		struct err *e)
{
	struct job_source src = { .pull = pull, .arg = arg };
	int rc = flash_install_pull(j->fi, job_pull, &src, e);

	if (rc == 0 || src.failed)
		return rc;
	return job_failed(j, e);
}

/* Ends the job under the lock and records its outcome for readers. */
static void job_end(struct update_job *j, bool ok, int rc,
		    const char *version, const char *message,
		    const struct buf *report)
{
	struct update_engine *u = j->u;
	struct err le;

	fault_load_source(NULL);
	pthread_mutex_lock(&u->lock);
	u->job = NULL;
	u->status.state = UPDATE_IDLE;
	u->status.stage = "idle";
	u->status.percent = ok ? 100 : u->status.percent;
	u->status.have_last = true;
	u->status.last_ok = ok;
	u->status.last_return_code = rc;
	snprintf(u->status.last_version, sizeof(u->status.last_version), "%s",
		 version);
	snprintf(u->status.last_message, sizeof(u->status.last_message),
		 "%s", message);
	u->status.last_finished = time(NULL);
	memcpy(u->status.last_source, u->status.source,
	       sizeof(u->status.last_source));
	if (report) {
		free(u->last_report);
		u->last_report = strdup(report->data ? report->data : "");
	}
	last_save(u, &le);
	pthread_mutex_unlock(&u->lock);
	if (j->fi)
		flash_install_free(j->fi);
	free(j);
}

void update_abort(struct update_job *j, const char *why)
{
	struct update_engine *u = j->u;
	int rc = j->failed ? return_code(j->failed) : UPDATE_RC_ABORTED;
	struct buf report;

	flash_install_abort(j->fi);

	buf_init(&report, UPDATE_REPORT_MAX);
	buf_appendf(&report, "Codeload failed: %s\nThe firmware was not "
		    "changed.\nRETURN_CODE: %d\n", why, rc);
	emit(u, UPDATE_ERROR, "Firmware update progress: the code load %s: "
	     "%s. The firmware was not changed.",
	     j->failed ? "failed" : "was abandoned", why);
	job_end(j, false, rc, "", why, &report);
	buf_free(&report);
}

static void report_components(const struct flash_install_result *res,
			      struct buf *out)
{
	const struct bundle_manifest *m = &res->manifest;
	size_t i;

	for (i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];

		if (!strcmp(c->name, BUNDLE_XML_COMPONENT))
			continue;
		if (res->outcome[i] == FLASH_COMPONENT_INSTALLED)
			buf_appendf(out, "STATUS: Updated %s firmware to %s.\n",
				    update_component_label(c->name),
				    c->version);
	}
	buf_append_str(out, "Software Component Load Summary:\n");
	for (i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];
		const char *what;
		char label[BUNDLE_NAME_MAX + 8];
		size_t k;

		if (!strcmp(c->name, BUNDLE_XML_COMPONENT))
			continue;
		for (k = 0; c->name[k] && k < BUNDLE_NAME_MAX - 1; k++)
			label[k] = (char)((c->name[k] >= 'a' &&
					   c->name[k] <= 'z') ?
					  c->name[k] - 32 : c->name[k]);
		label[k] = '\0';
		switch (res->outcome[i]) {
		case FLASH_COMPONENT_INSTALLED:
			what = "SUCCESSFUL";
			break;
		case FLASH_COMPONENT_SKIPPED:
			what = "NOT ATTEMPTED (Versions match)";
			break;
		default:
			what = "FAILED";
			break;
		}
		buf_appendf(out, "%s Software: %s\n", label, what);
	}
}

int update_finish(struct update_job *j, struct buf *report,
		  void (*keepalive)(void *arg, const char *line), void *arg,
		  struct err *e)
{
	struct update_engine *u = j->u;
	struct flash_install_result *res;
	struct flash_status before;
	struct err se;
	char ctl = u->cfg.controller;
	int rc;

	res = calloc(1, sizeof(*res));
	if (!res) {
		update_abort(j, "out of memory");
		return err_set(e, -ENOMEM, "out of memory");
	}
	err_clear(&se);
	if (flash_store_status(u->cfg.store, &before, &se) < 0)
		before.bundle_version[0] = '\0';
	j->keepalive = keepalive;
	j->keepalive_arg = arg;
	j->last_keepalive = 0;	/* the first progress line goes at once */

	buf_append_str(report, "Checking bundle integrity...\n");
	rc = flash_install_finish(j->fi, res, e);
	if (rc < 0) {
		int code = e->code;
		int ret = j->handler_failed ? UPDATE_RC_HANDLER :
			  return_code(code);

		buf_appendf(report, "Controller %c: %s\n", ctl, e->msg);
		if (code == FLASH_ERR_VERSION)
			buf_append_str(report, "Use flash:force to load the "
				       "same or an older version.\n");
		buf_appendf(report, "RETURN_CODE: %d\n", ret);
		emit(u, UPDATE_ERROR, "Firmware update progress: the code "
		     "load failed: %s. The firmware was not changed.", e->msg);
		job_end(j, false, ret, res->manifest.version, e->msg, report);
		e->code = transport_code(code);
		free(res);
		return e->code;
	}

	buf_appendf(report, "Bundle %s (built %s) verified, signed by key "
		    "%s.\n", res->manifest.version,
		    res->manifest.build_date[0] ? res->manifest.build_date :
		    "unknown", res->manifest.key_id);
	if (res->manifest.security_version)
		buf_appendf(report, "Bundle security version: %u.\n",
			    res->manifest.security_version);
	if (!res->activated) {
		buf_appendf(report, "Controller %c current bundle: %s\n", ctl,
			    before.bundle_version[0] ? before.bundle_version :
			    "none");
		report_components(res, report);
		buf_append_str(report, "Not attempted (Versions match)\n");
		buf_appendf(report, "RETURN_CODE: %d\n",
			    UPDATE_RC_VERSIONS_MATCH);
		emit(u, UPDATE_INFO, "Firmware update progress: bundle %s is "
		     "already installed; not attempted (versions match).",
		     res->manifest.version);
		job_end(j, true, UPDATE_RC_VERSIONS_MATCH,
			res->manifest.version, "Not attempted (Versions match)",
			report);
		free(res);
		return 0;
	}
	buf_appendf(report, "Controller %c current bundle: %s, loading bundle "
		    "%s\n", ctl, before.bundle_version[0] ?
		    before.bundle_version : "none", res->manifest.version);
	report_components(res, report);
	for (size_t i = 0; i < res->manifest.ncomponents; i++) {
		char running[BUNDLE_VERSION_MAX];

		if (!j->handled[i])
			continue;
		if (handler_set_version(u->cfg.handlers,
					res->manifest.components[i].name,
					running, sizeof(running)) < 1)
			snprintf(running, sizeof(running), "unknown");
		buf_appendf(report, "Component %s: installed and verified by "
			    "its handler; it reports version %s.\n",
			    res->manifest.components[i].name, running);
	}
	buf_append_str(report, "Codeload completed successfully.\n");
	buf_appendf(report, "RETURN_CODE: %d\n", UPDATE_RC_LOADED);
	buf_append_str(report, "Restarting Management Controller...\n");
	emit(u, UPDATE_INFO, "Firmware update progress: the firmware was "
	     "verified and bundle %s activated on controller %c (%zu "
	     "component(s) written, %zu already current); restarting the MC.",
	     res->manifest.version, ctl, res->ninstalled, res->nskipped);
	pthread_mutex_lock(&u->lock);
	u->restart_pending = true;
	pthread_mutex_unlock(&u->lock);
	job_end(j, true, UPDATE_RC_LOADED, res->manifest.version,
		"Codeload completed successfully.", report);
	free(res);
	return 0;
}

void update_status_get(struct update_engine *u, struct update_status *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->status;
	pthread_mutex_unlock(&u->lock);
}

int update_last_report(struct update_engine *u, struct buf *out)
{
	int rc;

	pthread_mutex_lock(&u->lock);
	rc = buf_append_str(out, u->last_report ? u->last_report :
			    "No code load has run since the controller "
			    "started.\n");
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int update_last_report_append(struct update_engine *u, const char *line,
			      struct err *e)
{
	size_t old, add = strlen(line);
	char *grown;
	int rc;

	pthread_mutex_lock(&u->lock);
	if (u->status.state == UPDATE_RUNNING) {
		rc = err_set(e, -EAGAIN, "a code load is running; its report "
			     "is not yet written");
		goto out;
	}
	if (!u->status.have_last || !u->last_report) {
		rc = err_set(e, -ENOENT, "no code load report to add to");
		goto out;
	}
	old = strlen(u->last_report);
	if (old + add + 2 > UPDATE_REPORT_MAX) {
		rc = err_set(e, -EFBIG, "the code load report would pass %d "
			     "bytes", UPDATE_REPORT_MAX);
		goto out;
	}
	grown = realloc(u->last_report, old + add + 2);
	if (!grown) {
		rc = err_set(e, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(grown + old, line, add);
	memcpy(grown + old + add, "\n", 2);
	u->last_report = grown;
	rc = last_save(u, e);
	if (rc < 0) {
		grown[old] = '\0';	/* nothing persisted: nothing changes */
	}
out:
	pthread_mutex_unlock(&u->lock);
	return rc;
}

bool update_restart_pending(struct update_engine *u)
{
	bool r;

	pthread_mutex_lock(&u->lock);
	r = u->restart_pending;
	pthread_mutex_unlock(&u->lock);
	return r;
}
