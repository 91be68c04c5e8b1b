/*
 * update_follow.c: after the controller took the bundle, `tandem update`
 * waits for its MC to restart (the connection is refused, or the old
 * session key no longer is good), logs in again, and reads
 * `/api/show/versions` and `/firmware/progress` until both controllers run
 * the bundle, PFU halts, or time runs out. A controller that cannot be
 * reached meanwhile is restarting: it is tried again until the deadline.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tool/update.h"

int64_t update_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool expired(const struct update_follow *f)
{
	return update_now_ms() >= f->deadline_ms;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The session key was refused: HTTP 401 or the family's error status
 * (-10027 for an expired session). */
static bool key_refused(long status, json_t *reply)
{
	json_t *st = update_status_object(reply);

	return status == 401 || status == 403 ||
	       (st && !strcmp(str(st, "response-type"), "Error") &&
		json_integer_value(json_object_get(st, "return-code")) ==
		-10027);
}

enum poll_rc { POLL_OK, POLL_DOWN, POLL_KEY, POLL_FAILED };

/* One GET: POLL_DOWN when the controller cannot be reached (restarting),
 * POLL_KEY when it wants a new login. */
static int poll_get(struct update_follow *f, const char *path, json_t **out,
		    struct err *e)
{
	long status = 0;
	int rc = update_client_get(f->client, path, &status, out, e);

	if (rc == UPDATE_HTTP_UNREACHABLE || rc == UPDATE_HTTP_TIMEOUT)
		return POLL_DOWN;
	if (rc < 0)
		return POLL_FAILED;
	if (key_refused(status, *out)) {
		json_decref(*out);
		*out = NULL;
		return POLL_KEY;
	}
	if (status != 200) {
		err_set(e, -1, "%s%s answered HTTP %ld",
			update_client_base(f->client), path, status);
		json_decref(*out);
		*out = NULL;
		return POLL_FAILED;
	}
	return POLL_OK;
}

/* Phase 1: the MC that took the bundle goes away. */
static int wait_restart(struct update_follow *f)
{
	update_show_stage(f->show, "restarting", -1);
	while (!expired(f)) {
		json_t *reply = NULL;
		struct err e = { 0 };
		int rc = poll_get(f, "/firmware/progress", &reply, &e);

		json_decref(reply);
		if (rc == POLL_DOWN || rc == POLL_KEY)
			return UPDATE_EXIT_OK;
		pause_ms(UPDATE_POLL_MS);
	}
	update_show_fail(f->show, "timed out: controller %c's "
			 "management controller did not restart after the "
			 "load (--timeout %u)", f->loaded, f->opt->timeout);
	return UPDATE_EXIT_TIMEOUT;
}

/* Logs in again once the controller answers; 0, or an exit code. */
static int relogin(struct update_follow *f)
{
	struct err e = { 0 };

	while (!expired(f)) {
		int rc = update_client_login(f->client, &e);

		if (rc == 0)
			return 0;
		if (rc == UPDATE_EXIT_LOGIN) {
			update_show_fail(f->show, "login refused "
					 "after the restart: %s", e.msg);
			return UPDATE_EXIT_LOGIN;
		}
		if (rc == UPDATE_HTTP_TLS) {
			update_show_fail(f->show, "%s", e.msg);
			return UPDATE_EXIT_CONNECT;
		}
		update_show_stage(f->show, "restarting", -1);
		pause_ms(UPDATE_POLL_MS);
	}
	return UPDATE_EXIT_TIMEOUT;
}

/* The bundle each controller runs, from show versions ("" if it did not
 * answer, as a partner restarting does not). */
static void versions(json_t *doc, char a[64], char b[64])
{
	json_t *arr = json_object_get(doc, "versions"), *o;
	size_t i;

	a[0] = b[0] = '\0';
	json_array_foreach(arr, i, o) {
		const char *name = str(o, "object-name");
		char *to = !strcmp(name, "controller-a-versions") ? a :
			   !strcmp(name, "controller-b-versions") ? b : NULL;

		if (to)
			snprintf(to, 64, "%s", str(o, "bundle-version"));
	}
}

static json_t *controller_entry(json_t *progress, char id)
{
	json_t *arr = json_object_get(progress, "controllers"), *o;
	char want[2] = { id, '\0' };
	size_t i;

	json_array_foreach(arr, i, o)
		if (!strcmp(str(o, "controller"), want))
			return o;
	return NULL;
}

/* Stages whose percent means something. */
static bool moving(const char *stage)
{
	return !strcmp(stage, "receiving") || !strcmp(stage, "verifying") ||
	       !strcmp(stage, "flashing") || !strcmp(stage, "activating");
}

/* Both controllers confirmed on target: none still on trial (a bundle
 * on trial may yet be rolled back by its loader). */
static bool settled(json_t *progress, const char *target)
{
	for (char id = 'A'; id <= 'B'; id++) {
		json_t *c = controller_entry(progress, id);

		if (!c || json_is_true(json_object_get(c, "on-trial")) ||
		    strcmp(str(c, "bundle-version"), target) != 0)
			return false;
	}
	return true;
}

/* Phase 2: 1 while it goes on, else an exit code (told). */
static int judge(struct update_follow *f, json_t *doc, json_t *progress)
{
	char a[64], b[64], stage[96];
	char partner = f->loaded == 'A' ? 'B' : 'A';
	const char *mine, *theirs, *pfu;
	json_t *p = json_object_get(progress, "pfu"), *pe;

	versions(doc, a, b);
	mine = f->loaded == 'A' ? a : b;
	theirs = f->loaded == 'A' ? b : a;
	if (!f->target[0] && mine[0])
		snprintf(f->target, sizeof(f->target), "%s", mine);
	if (mine[0] && strcmp(mine, f->target) != 0) {
		update_show_fail(f->show, "load failed: "
				 "controller %c came back running %s, not %s "
				 "(see 'show events' on it)", f->loaded, mine,
				 f->target);
		return UPDATE_EXIT_LOAD;
	}
	pfu = str(p, "status");
	if (mine[0] && !strcmp(theirs, f->target) &&
	    settled(progress, f->target) && strcmp(pfu, "Pending") != 0 &&
	    strcmp(pfu, "Sending") != 0) {
		update_show_line(f->show, "done: controllers A and B both run "
				 "%s", f->target);
		return UPDATE_EXIT_OK;
	}
	if (!strcmp(pfu, "Halted")) {
		update_show_fail(f->show, "PFU halted after %lld "
				 "attempt(s): controller %c still runs %s: %s",
				 (long long)json_integer_value(
					 json_object_get(p, "attempts")),
				 partner, theirs[0] ? theirs : "(unknown)",
				 str(p, "message"));
		return UPDATE_EXIT_PFU;
	}
	if (!strcmp(pfu, "Disabled") && theirs[0]) {
		update_show_fail(f->show, "PFU is disabled: "
				 "controller %c stays on %s (enable it with "
				 "'set advanced-settings partner-firmware-upgrade "
				 "enabled', or load controller %c yourself)",
				 partner, theirs, partner);
		return UPDATE_EXIT_PFU;
	}
	/* PFU is done (or never began) and the partner, up, is elsewhere. */
	if (theirs[0] && strcmp(theirs, f->target) != 0 &&
	    (!strcmp(pfu, "Complete") || !strcmp(pfu, "Idle"))) {
		if (!f->stalled_ms)
			f->stalled_ms = update_now_ms();
		if (update_now_ms() - f->stalled_ms >=
		    UPDATE_SETTLE_SECONDS * 1000) {
			update_show_fail(f->show, "PFU is %s but controller %c "
					 "runs %s, not %s: %s", pfu, partner,
					 theirs, f->target,
					 str(p, "message")[0] ?
					 str(p, "message") : "no reason given");
			return UPDATE_EXIT_PFU;
		}
	} else {
		f->stalled_ms = 0;
	}
	pe = controller_entry(progress, partner);
	if (!theirs[0])
		snprintf(stage, sizeof(stage), "PFU %s: controller %c "
			 "restarting", pfu[0] ? pfu : "-", partner);
	else
		snprintf(stage, sizeof(stage), "PFU %s: controller %c %s",
			 pfu[0] ? pfu : "-", partner,
			 pe ? str(pe, "stage") : "");
	update_show_stage(f->show, stage, pe && theirs[0] &&
			  moving(str(pe, "stage")) ?
			  (int)json_integer_value(json_object_get(pe,
							"percent")) : -1);
	return 1;
}

int update_follow_run(struct update_follow *f)
{
	int rc;

	if (f->restarts)
		update_show_line(f->show, "controller %c: management "
				 "controller restarting", f->loaded);
	rc = f->restarts ? wait_restart(f) : 0;
	if (rc)
		return rc;
	rc = relogin(f);
	if (rc == UPDATE_EXIT_TIMEOUT)
		goto timeout;
	if (rc)
		return rc;
	while (!expired(f)) {
		json_t *doc = NULL, *progress = NULL;
		struct err e = { 0 };
		int a = poll_get(f, "/api/show/versions", &doc, &e);
		int b = a == POLL_OK ? poll_get(f, "/firmware/progress",
						&progress, &e) : a;

		if (a == POLL_OK && b == POLL_OK)
			rc = judge(f, doc, progress);
		else
			rc = 1;
		json_decref(doc);
		json_decref(progress);
		if (rc != 1)
			return rc;
		if (a == POLL_KEY || b == POLL_KEY || a == POLL_DOWN ||
		    b == POLL_DOWN) {
			/* Restarted again (or its session was dropped): the
			 * connection may even have waited in the listen
			 * queue for the new MC, which refuses the old key. */
			update_show_stage(f->show, "restarting", -1);
			rc = relogin(f);
			if (rc == UPDATE_EXIT_TIMEOUT)
				break;
			if (rc)
				return rc;
			continue;
		}
		if (a == POLL_FAILED || b == POLL_FAILED)
			update_show_stage(f->show, "waiting for the controller",
					  -1);
		pause_ms(UPDATE_POLL_MS);
	}
timeout:
	update_show_fail(f->show, "timed out after %u s: the "
			 "controllers do not both run %s yet (see 'show "
			 "firmware-update-status')", f->opt->timeout,
			 f->target[0] ? f->target : "the bundle");
	return UPDATE_EXIT_TIMEOUT;
}
