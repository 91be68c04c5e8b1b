/*
 * test_pfu.c: the PFU policy (src/pfu/) against a scripted partner: the
 * real policy thread and the real pfu.json, a fake partner whose view is a
 * function of a fast clock (one policy second is one real millisecond), so
 * back-offs and deadlines of minutes pass in a fraction of a second.
 * Tests name the invariants of src/pfu/pfu.c (P1..P6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfu/pfu.h"

#define OLD "TS250P001"
#define NEW "TS252P005"
#define EVENTS_KEPT 256
#define WAIT_REAL_MS 20000	/* a state must arrive within this */

enum partner_script {
	PARTNER_GOOD = 0,	/* installs, restarts, confirms */
	PARTNER_FLASH_FAILS,	/* refuses with its own error */
	PARTNER_BACK_OLD,	/* restarts, comes back on the old bundle */
	PARTNER_HANGS,		/* accepts, never comes back */
	PARTNER_TRIAL_ROLLS_BACK,	/* on trial, never confirms, and its
					 * loader returns it to the old bank */
	PARTNER_STAYS_TRIAL,	/* on trial, never confirms */
};

struct fake {
	pthread_mutex_t mu;
	char dir[64];
	int64_t base_ms;
	bool enabled, auto_rollback;
	unsigned limit, backoff, wait;
	struct pfu_local local;
	struct peer_view peer;		/* steady view */
	enum partner_script script;
	int64_t pushed_at;		/* -1: no push to act out */
	bool saw_down;			/* the restart was seen since the push */
	unsigned pushes, rollbacks, records_sent;
	bool on_push_check_file;	/* P2: check pfu.json at each push */
	bool file_ok_at_push;
	char events[EVENTS_KEPT][EVENTS_MESSAGE_MAX];
	enum events_severity sev[EVENTS_KEPT];
	size_t nevents;
	struct buf report;
};

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t fake_now(void *ctx)
{
	struct fake *f = ctx;

	return real_ms() - f->base_ms;
}

static bool op_enabled(void *ctx)
{
	struct fake *f = ctx;
	bool v;

	pthread_mutex_lock(&f->mu);
	v = f->enabled;
	pthread_mutex_unlock(&f->mu);
	return v;
}

static unsigned op_limit(void *ctx) { return ((struct fake *)ctx)->limit; }
static unsigned op_backoff(void *ctx)
{
	return ((struct fake *)ctx)->backoff;
}
static unsigned op_wait(void *ctx) { return ((struct fake *)ctx)->wait; }

static bool op_auto_rollback(void *ctx)
{
	struct fake *f = ctx;
	bool v;

	pthread_mutex_lock(&f->mu);
	v = f->auto_rollback;
	pthread_mutex_unlock(&f->mu);
	return v;
}

static int op_local(void *ctx, struct pfu_local *out, struct err *e)
{
	struct fake *f = ctx;

	(void)e;
	pthread_mutex_lock(&f->mu);
	*out = f->local;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void set_versions(struct peer_view *v, const char *version)
{
	snprintf(v->bundle_version, sizeof(v->bundle_version), "%s", version);
	v->ncomponents = 2;
	snprintf(v->components[0].name, sizeof(v->components[0].name), "mc");
	snprintf(v->components[1].name, sizeof(v->components[1].name), "sc");
	for (int i = 0; i < 2; i++)
		snprintf(v->components[i].version,
			 sizeof(v->components[i].version), "%s", version);
}

/* The partner after a push: the old view for 2 s, down 3 s, on trial 3 s. */
static void op_peer(void *ctx, struct peer_view *out)
{
	struct fake *f = ctx;
	int64_t t;

	pthread_mutex_lock(&f->mu);
	*out = f->peer;
	if (f->pushed_at >= 0) {
		t = fake_now(f) - f->pushed_at;
		if (f->script == PARTNER_HANGS && t >= 2) {
			out->up = false;
		} else if (f->script == PARTNER_TRIAL_ROLLS_BACK && t >= 5 &&
			   t < 12) {
			out->up = t < 10;	/* its loader reboots it */
			set_versions(out, NEW);
			out->trial = true;
		} else if (f->script == PARTNER_STAYS_TRIAL && t >= 5) {
			set_versions(out, NEW);
			out->trial = true;
		} else if (t >= 2 && (t < 5 || !f->saw_down)) {
			/* A fake second is a real millisecond: under load the
			 * PFU thread may look only after the window, so the
			 * restart lasts until it has been seen once. */
			out->up = false;
			f->saw_down = true;
		} else if (t >= 5 && f->script == PARTNER_GOOD) {
			set_versions(out, NEW);
			out->trial = t < 8;
			if (t >= 8) {
				f->peer = *out;	/* settled */
				f->pushed_at = -1;
			}
		} else if (t >= 5) {
			f->pushed_at = -1;	/* back on the old bank */
		}
	}
	pthread_mutex_unlock(&f->mu);
}

static int op_push(void *ctx, const char *target, unsigned attempt,
		   struct pfu_push_result *res, struct err *e)
{
	struct fake *f = ctx;
	char path[128];
	struct pfu_record recs[PFU_RECORDS_MAX];
	size_t n;
	struct err le;

	(void)e;
	assert_string_equal(target, NEW);
	snprintf(path, sizeof(path), "%s/%s", f->dir, PFU_FILE_NAME);
	pthread_mutex_lock(&f->mu);
	f->pushes++;
	if (f->on_push_check_file) {
		/* P2: on disk before a byte is sent. */
		f->file_ok_at_push =
			pfu_records_load(path, recs, &n, &le) == 0 && n >= 1 &&
			recs[n - 1].attempts == attempt &&
			recs[n - 1].in_flight;
	}
	if (f->script == PARTNER_FLASH_FAILS) {
		res->ok = false;
		res->code = 23;
		snprintf(res->message, sizeof(res->message),
			 "Firmware update failed: mc: write failed "
			 "(Input/output error)");
	} else {
		res->ok = true;
		res->code = 9;
		f->pushed_at = fake_now(f);
		f->saw_down = false;
	}
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void op_report(void *ctx, const char *line)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->mu);
	buf_appendf(&f->report, "%s\n", line);
	pthread_mutex_unlock(&f->mu);
}

static void op_event(void *ctx, enum events_severity sev, unsigned code,
		     const char *message)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->mu);
	if (code != EVENTS_CODE_STATE)
		assert_int_equal(code, 269);
	if (f->nevents < EVENTS_KEPT) {
		snprintf(f->events[f->nevents], EVENTS_MESSAGE_MAX, "%s",
			 message);
		f->sev[f->nevents++] = sev;
	}
	pthread_mutex_unlock(&f->mu);
}

static int op_rollback(void *ctx, struct err *e)
{
	struct fake *f = ctx;

	(void)e;
	pthread_mutex_lock(&f->mu);
	f->rollbacks++;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void op_record_send(void *ctx, const char *json, size_t len)
{
	struct fake *f = ctx;
	struct pfu_record r;
	struct err e;

	assert_int_equal(pfu_record_decode(json, len, &r, &e), 0);
	pthread_mutex_lock(&f->mu);
	f->records_sent++;
	pthread_mutex_unlock(&f->mu);
}

static const struct pfu_ops fake_ops = {
	.enabled = op_enabled,
	.limit = op_limit,
	.backoff_seconds = op_backoff,
	.partner_wait_seconds = op_wait,
	.auto_rollback = op_auto_rollback,
	.local = op_local,
	.peer = op_peer,
	.push = op_push,
	.report = op_report,
	.event = op_event,
	.rollback = op_rollback,
	.record_send = op_record_send,
	.now = fake_now,
};

static struct pfu *start(struct fake *f)
{
	struct pfu_config cfg = {
		.dir = f->dir, .ops = &fake_ops, .ctx = f, .tick_ms = 1,
	};
	struct err e;
	struct pfu *p = pfu_new(&cfg, &e);

	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_pfu.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->base_ms = real_ms();
	f->enabled = true;
	f->limit = 3;
	f->backoff = 10;
	f->wait = 60;
	f->pushed_at = -1;
	buf_init(&f->report, 64 * 1024);
	/* This controller: the operator's NEW, confirmed; OLD before. */
	set_versions(&f->peer, NEW);
	f->local.ncomponents = f->peer.ncomponents;
	memcpy(f->local.components, f->peer.components,
	       sizeof(f->local.components));
	snprintf(f->local.bundle_version, sizeof(f->local.bundle_version),
		 NEW);
	snprintf(f->local.previous_version,
		 sizeof(f->local.previous_version), OLD);
	f->local.trigger = true;
	/* The partner: up, healthy, confirmed, on OLD. */
	memset(&f->peer, 0, sizeof(f->peer));
	f->peer.up = f->peer.ever_seen = true;
	f->peer.id = 'B';
	snprintf(f->peer.serial, sizeof(f->peer.serial), "TDB0001");
	f->peer.health = PEER_HEALTH_OK;
	set_versions(&f->peer, OLD);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	fs_remove_tree(f->dir);
	buf_free(&f->report);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

static bool status_is(struct pfu *p, const char *status)
{
	struct pfu_view v;

	pfu_view(p, &v);
	return !strcmp(v.status, status);
}

/* Waits (bounded) for the policy to show a status. */
static void wait_status(struct pfu *p, const char *status)
{
	int64_t until = real_ms() + WAIT_REAL_MS;
	struct timespec ms = { 0, 1000000 };
	struct pfu_view v;

	while (!status_is(p, status)) {
		if (real_ms() > until) {
			pfu_view(p, &v);
			fail_msg("PFU status %s (%s), never %s", v.status,
				 v.reason, status);
		}
		nanosleep(&ms, NULL);
	}
}

/* Lets `seconds` of the policy's clock pass (it keeps running). */
static void let_pass(struct fake *f, int64_t seconds)
{
	int64_t until = fake_now(f) + seconds;
	struct timespec ms = { 0, 1000000 };

	while (fake_now(f) < until)
		nanosleep(&ms, NULL);
}

static unsigned pushes(struct fake *f)
{
	unsigned n;

	pthread_mutex_lock(&f->mu);
	n = f->pushes;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static unsigned rollbacks(struct fake *f)
{
	unsigned n;

	pthread_mutex_lock(&f->mu);
	n = f->rollbacks;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static bool has_event(struct fake *f, enum events_severity sev,
		      const char *words)
{
	bool found = false;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nevents && !found; i++)
		found = f->sev[i] == sev && strstr(f->events[i], words);
	pthread_mutex_unlock(&f->mu);
	return found;
}

static bool report_has(struct fake *f, const char *words)
{
	bool found;

	pthread_mutex_lock(&f->mu);
	found = f->report.data && strstr(f->report.data, words);
	pthread_mutex_unlock(&f->mu);
	return found;
}

static struct pfu_record on_disk(struct fake *f)
{
	struct pfu_record recs[PFU_RECORDS_MAX];
	char path[128];
	struct err e;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", f->dir, PFU_FILE_NAME);
	assert_int_equal(pfu_records_load(path, recs, &n, &e), 0);
	assert_true(n <= 1);
	if (n == 0)
		memset(&recs[0], 0, sizeof(recs[0]));	/* not yet written */
	return recs[0];
}

static void set_script(struct fake *f, enum partner_script s)
{
	pthread_mutex_lock(&f->mu);
	f->script = s;
	pthread_mutex_unlock(&f->mu);
}

/* P3: one push, the partner restarts, confirms: complete. */
static void test_healthy_pfu_one_push(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->on_push_check_file = true;
	p = start(f);
	wait_status(p, "Complete");
	let_pass(f, 100);
	assert_int_equal(pushes(f), 1);
	assert_true(f->file_ok_at_push);
	pfu_view(p, &v);
	assert_string_equal(v.target, NEW);
	assert_string_equal(v.partner_serial, "TDB0001");
	assert_int_equal(v.attempts, 1);
	assert_true(has_event(f, EVENTS_INFORMATIONAL,
			      "PFU sending package to partner SC"));
	assert_true(has_event(f, EVENTS_INFORMATIONAL,
			      "PFU send package done, SUCCESS"));
	assert_true(report_has(f, "Partner: Codeload completed "
			       "successfully."));
	assert_true(on_disk(f).complete);
	assert_false(on_disk(f).in_flight);
	assert_true(f->records_sent > 0);
	pfu_free(p);
}

/* P4: exactly `limit` pushes, a critical halt, then nothing more. */
static void test_flash_keeps_failing_halts(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_FLASH_FAILS;
	p = start(f);
	wait_status(p, "Halted");
	assert_int_equal(pushes(f), 3);
	let_pass(f, 2000);	/* far beyond every back-off */
	assert_int_equal(pushes(f), 3);
	pfu_view(p, &v);
	assert_true(v.halted);
	assert_int_equal(v.attempts, 3);
	assert_int_equal(v.limit, 3);
	assert_non_null(strstr(v.reason, "write failed"));
	assert_non_null(strstr(v.reason, "installing on the partner"));
	assert_non_null(strstr(v.advice, "Roll forward"));
	assert_non_null(strstr(v.advice, "roll back"));
	assert_non_null(strstr(v.advice, OLD));
	assert_true(has_event(f, EVENTS_WARNING, "PFU attempt 1 of 3 failed: "
			      "Firmware update failed: mc: write failed"));
	assert_true(has_event(f, EVENTS_WARNING, "PFU attempt 2 of 3 failed"));
	assert_true(has_event(f, EVENTS_CRITICAL, "Partner Firmware Update "
			      "halted after 3 failed attempts"));
	assert_true(report_has(f, "Partner: Codeload failed: Firmware update "
			       "failed: mc: write failed"));
	assert_true(on_disk(f).halted);
	assert_int_equal(on_disk(f).attempts, 3);
	assert_int_equal(rollbacks(f), 0);	/* auto roll-back is off */
	pfu_free(p);
	/* A restart does not start counting again. */
	p = start(f);
	wait_status(p, "Halted");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 3);
	pfu_free(p);
}

/* P3: back on the old bundle after the restart is a failed attempt. */
static void test_partner_back_on_old_version_fails(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_BACK_OLD;
	f->limit = 1;
	p = start(f);
	wait_status(p, "Halted");
	assert_int_equal(pushes(f), 1);
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "the partner restarted on bundle "
			       OLD ", not " NEW));
	pfu_free(p);
}

/* P3: a new bundle on trial that the partner never confirms (its loader
 * rolls it back) is a failure, not a success seen too early. */
static void test_partner_trial_rolled_back_fails(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_TRIAL_ROLLS_BACK;
	f->limit = 1;
	p = start(f);
	wait_status(p, "Halted");
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "the partner restarted on bundle "
			       OLD ", not " NEW));
	assert_false(report_has(f, "completed successfully"));
	pfu_free(p);
}

/* P3: on trial until the deadline: failed, and said so. */
static void test_partner_never_confirms_fails(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_STAYS_TRIAL;
	f->limit = 1;
	p = start(f);
	wait_status(p, "Halted");
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "did not confirm bundle " NEW
			       " within 60 s"));
	pfu_free(p);
}

/* A partner that never returns fails at the deadline, with why. */
static void test_partner_never_back_fails_at_deadline(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_HANGS;
	f->limit = 1;
	p = start(f);
	wait_status(p, "Halted");
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "did not come back within 60 s"));
	pfu_free(p);
}

/* P2: a crash during an attempt counts it; the limit holds. */
static void test_crash_mid_attempt_keeps_limit(void **state)
{
	struct fake *f = *state;
	struct pfu *p;

	f->script = PARTNER_FLASH_FAILS;
	f->wait = 100000;
	p = start(f);
	/* Attempt 1 fails; attempt 2 is accepted and never returns. */
	while (pushes(f) < 1)
		let_pass(f, 1);
	set_script(f, PARTNER_HANGS);
	wait_status(p, "In Progress");
	while (pushes(f) < 2)
		let_pass(f, 1);
	wait_status(p, "In Progress");
	pfu_free(p);			/* the initiator dies here */
	assert_true(on_disk(f).in_flight);
	assert_int_equal(on_disk(f).attempts, 2);
	/* Back up: the in-flight attempt counts, one more is allowed. */
	pthread_mutex_lock(&f->mu);
	f->pushed_at = -1;
	f->script = PARTNER_FLASH_FAILS;
	pthread_mutex_unlock(&f->mu);
	p = start(f);
	wait_status(p, "Halted");
	let_pass(f, 1000);
	assert_int_equal(pushes(f), 3);
	assert_int_equal(on_disk(f).attempts, 3);
	assert_true(has_event(f, EVENTS_WARNING, "PFU attempt 2 of 3 failed: "
			      "this controller restarted during the "
			      "attempt"));
	pfu_free(p);
}

static void partner_waits(struct fake *f, void (*make)(struct peer_view *),
			  const char *why)
{
	struct pfu *p;
	struct pfu_view v;

	pthread_mutex_lock(&f->mu);
	make(&f->peer);
	pthread_mutex_unlock(&f->mu);
	p = start(f);
	wait_status(p, "Waiting");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 0);
	pfu_view(p, &v);
	if (!strstr(v.reason, why))
		fail_msg("reason '%s' lacks '%s'", v.reason, why);
	/* Once the partner serves again, the attempt goes. */
	pthread_mutex_lock(&f->mu);
	f->peer.up = true;
	f->peer.trial = f->peer.updating = false;
	f->peer.health = PEER_HEALTH_OK;
	pthread_mutex_unlock(&f->mu);
	pfu_notify(p);
	wait_status(p, "Complete");
	assert_int_equal(pushes(f), 1);
	pfu_free(p);
}

static void make_trial(struct peer_view *v) { v->trial = true; }
static void make_updating(struct peer_view *v)
{
	v->updating = true;
	snprintf(v->update_source, sizeof(v->update_source), "FTP");
}
static void make_down(struct peer_view *v)
{
	v->up = false;
	snprintf(v->down_reason, sizeof(v->down_reason), "3 heartbeats "
		 "missed");
}
static void make_unhealthy(struct peer_view *v)
{
	v->health = PEER_HEALTH_FAULT;
	snprintf(v->health_reason, sizeof(v->health_reason), "disk group "
		 "critical");
}

/* P5 */
static void test_waits_partner_on_trial(void **state)
{
	partner_waits(*state, make_trial, "on trial");
}
static void test_waits_partner_updating(void **state)
{
	partner_waits(*state, make_updating, "code load is running");
}
static void test_waits_partner_down(void **state)
{
	partner_waits(*state, make_down, "partner link down: 3 heartbeats");
}
static void test_waits_partner_unhealthy(void **state)
{
	partner_waits(*state, make_unhealthy, "not healthy: disk group");
}

static bool intolerant(void *ctx, const struct peer_view *peer, char *why,
		       size_t whylen)
{
	(void)ctx;
	snprintf(why, whylen, "partner %s is older than 1.0",
		 peer->bundle_version);
	return false;
}

/* P5: a bundle that rules the partner's version out is not pushed. */
static void test_waits_bundle_rules_partner_out(void **state)
{
	struct fake *f = *state;
	struct pfu_ops ops = fake_ops;
	struct pfu_config cfg = {
		.dir = f->dir, .ops = &ops, .ctx = f, .tick_ms = 1,
	};
	struct pfu_view v;
	struct err e;
	struct pfu *p;

	ops.partner_tolerated = intolerant;
	p = pfu_new(&cfg, &e);
	assert_non_null(p);
	wait_status(p, "Waiting");
	let_pass(f, 100);
	assert_int_equal(pushes(f), 0);
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "is older than 1.0"));
	pfu_free(p);
}

/* P5: a partner on a newer bundle is not brought down to this one. */
static void test_newer_partner_not_downgraded(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	set_versions(&f->peer, "TS253P001");
	p = start(f);
	wait_status(p, "Waiting");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 0);
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "newer than " NEW));
	pfu_free(p);
}

/* Versions match: nothing sent, the record complete. */
static void test_versions_match_sends_nothing(void **state)
{
	struct fake *f = *state;
	struct pfu *p;

	set_versions(&f->peer, NEW);
	p = start(f);
	wait_status(p, "Complete");
	let_pass(f, 100);
	assert_int_equal(pushes(f), 0);
	assert_true(report_has(f, "Not attempted (Versions match)"));
	assert_true(on_disk(f).complete);
	assert_int_equal(on_disk(f).attempts, 0);
	pfu_free(p);
}

/* A completed record whose partner later runs a newer bundle (this
 * controller forced back): the answer gives the reason, not "completed". */
static void test_complete_then_partner_newer_says_why(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	set_versions(&f->peer, NEW);
	p = start(f);
	wait_status(p, "Complete");
	pthread_mutex_lock(&f->mu);
	set_versions(&f->peer, "TS253P001");
	pthread_mutex_unlock(&f->mu);
	wait_status(p, "Waiting");
	let_pass(f, 100);
	assert_int_equal(pushes(f), 0);
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "newer than " NEW));
	assert_true(on_disk(f).complete);
	pfu_free(p);
}

/* P1: a controller its partner updated never initiates. */
static void test_updated_by_partner_never_initiates(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->local.trigger = false;
	snprintf(f->local.why_not, sizeof(f->local.why_not),
		 "bundle " NEW " was installed by the partner");
	p = start(f);
	wait_status(p, "Idle");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 0);
	pfu_view(p, &v);
	assert_non_null(strstr(v.reason, "installed by the partner"));
	pfu_free(p);
}

/* Alone: a partner never seen is nothing to bring; no record made. */
static void test_partner_never_seen_is_idle(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;
	char path[128];

	f->peer.ever_seen = f->peer.up = false;
	f->peer.serial[0] = '\0';
	p = start(f);
	let_pass(f, 200);
	pfu_view(p, &v);
	assert_string_equal(v.status, "Idle");
	assert_non_null(strstr(v.reason, "not been seen"));
	assert_int_equal(pushes(f), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, PFU_FILE_NAME);
	assert_int_equal(access(path, F_OK), -1);
	pfu_free(p);
}

/* P1: disabled, nothing happens. */
static void test_disabled_does_nothing(void **state)
{
	struct fake *f = *state;
	struct pfu *p;

	f->enabled = false;
	p = start(f);
	wait_status(p, "Disabled");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 0);
	pfu_free(p);
}

/* P4 reset: re-enabling PFU starts the count again. */
static void test_reenable_resets(void **state)
{
	struct fake *f = *state;
	struct pfu *p;

	f->script = PARTNER_FLASH_FAILS;
	f->limit = 2;
	p = start(f);
	wait_status(p, "Halted");
	assert_int_equal(pushes(f), 2);
	pthread_mutex_lock(&f->mu);
	f->enabled = false;
	pthread_mutex_unlock(&f->mu);
	wait_status(p, "Disabled");
	pfu_free(p);		/* the reset survives a restart too */
	set_script(f, PARTNER_GOOD);
	pthread_mutex_lock(&f->mu);
	f->enabled = true;
	pthread_mutex_unlock(&f->mu);
	p = start(f);
	wait_status(p, "Complete");
	assert_int_equal(pushes(f), 3);
	assert_true(has_event(f, EVENTS_INFORMATIONAL, "PFU re-enabled"));
	assert_true(on_disk(f).generation >= 1);
	pfu_free(p);
}

/* Roll forward: the partner flashed by hand to the target clears a halt. */
static void test_manual_flash_clears_halt(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct pfu_view v;

	f->script = PARTNER_FLASH_FAILS;
	f->limit = 1;
	p = start(f);
	wait_status(p, "Halted");
	pthread_mutex_lock(&f->mu);
	set_versions(&f->peer, NEW);
	pthread_mutex_unlock(&f->mu);
	pfu_notify(p);
	wait_status(p, "Complete");
	pfu_view(p, &v);
	assert_false(v.halted);
	assert_int_equal(pushes(f), 1);
	assert_true(has_event(f, EVENTS_INFORMATIONAL, "the halt is cleared"));
	assert_true(report_has(f, "Partner: Codeload completed "
			       "successfully."));
	assert_false(on_disk(f).halted);
	assert_true(on_disk(f).complete);
	pfu_free(p);
}

/* Roll back, automatic: once, and not again after a restart. */
static void test_auto_rollback_once(void **state)
{
	struct fake *f = *state;
	struct pfu *p;

	f->script = PARTNER_FLASH_FAILS;
	f->limit = 1;
	f->auto_rollback = true;
	p = start(f);
	wait_status(p, "Halted");
	while (!on_disk(f).rolled_back)
		let_pass(f, 1);
	let_pass(f, 200);
	assert_int_equal(rollbacks(f), 1);
	pfu_free(p);
	p = start(f);
	wait_status(p, "Halted");
	let_pass(f, 200);
	assert_int_equal(rollbacks(f), 1);
	assert_true(report_has(f, "rolled back to " OLD));
	pfu_free(p);
}

/* Roll back by command: refused during an attempt, else done. */
static void test_rollback_command(void **state)
{
	struct fake *f = *state;
	struct pfu *p;
	struct err e;

	f->script = PARTNER_HANGS;
	f->wait = 100000;
	p = start(f);
	while (pushes(f) < 1)
		let_pass(f, 1);
	assert_int_equal(pfu_rollback(p, &e), -EBUSY);
	assert_int_equal(rollbacks(f), 0);
	pfu_free(p);
	f->pushed_at = -1;
	f->script = PARTNER_FLASH_FAILS;
	f->limit = 2;
	p = start(f);
	wait_status(p, "Halted");
	assert_int_equal(pfu_rollback(p, &e), 0);
	assert_int_equal(rollbacks(f), 1);
	while (!on_disk(f).rolled_back)
		let_pass(f, 1);
	pfu_free(p);
}

/* P6: encode/decode and the merge rules. */
static void test_record_merge_rules(void **state)
{
	struct pfu_record a = { .target = NEW, .partner = "TDB0001",
				.attempts = 1, .generation = 2 };
	struct pfu_record b = a, c;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, PFU_RECORD_JSON_MAX);
	b.attempts = 3;
	b.halted = true;
	snprintf(b.reason, sizeof(b.reason), "write failed");
	assert_int_equal(pfu_record_encode(&b, &out), 0);
	assert_int_equal(pfu_record_decode(out.data, out.len, &c, &e), 0);
	assert_int_equal(memcmp(&b, &c, sizeof(b)), 0);
	assert_true(pfu_record_merge(&a, &c));
	assert_int_equal(a.attempts, 3);
	assert_true(a.halted);
	assert_string_equal(a.reason, "write failed");
	/* A lower count or no halt from the same generation: no change. */
	c.attempts = 1;
	c.halted = false;
	assert_false(pfu_record_merge(&a, &c));
	assert_int_equal(a.attempts, 3);
	/* An older generation never undoes anything. */
	c.generation = 1;
	assert_false(pfu_record_merge(&a, &c));
	/* A newer one (a reset there) wins whole. */
	c.generation = 3;
	c.attempts = 0;
	assert_true(pfu_record_merge(&a, &c));
	assert_int_equal(a.attempts, 0);
	assert_false(a.halted);
	/* Another key is not merged. */
	snprintf(c.target, sizeof(c.target), "OTHER");
	c.attempts = 9;
	assert_false(pfu_record_merge(&a, &c));
	/* Every prefix of a valid record is refused, never half taken. */
	for (size_t n = 0; n < out.len; n++)
		assert_true(pfu_record_decode(out.data, n, &c, &e) < 0);
	assert_int_equal(pfu_record_decode(out.data, out.len, &c, &e), 0);
	/* Bad input: a clear error. */
	assert_true(pfu_record_decode("{\"target\":\"x\"}", 14, &c, &e) < 0);
	assert_non_null(strstr(e.msg, "PFU record"));
	assert_true(pfu_record_decode("nope", 4, &c, &e) < 0);
	assert_non_null(strstr(e.msg, "not JSON"));
	{
		char big[PFU_RECORD_JSON_MAX + 2];

		memset(big, ' ', sizeof(big));
		assert_int_equal(pfu_record_decode(big, sizeof(big), &c, &e),
				 -EMSGSIZE);
	}
	buf_free(&out);
}

/* P6: the partner's copy keeps a replaced initiator within the limit. */
static void test_partner_copy_halts_new_initiator(void **state)
{
	struct fake *f = *state;
	struct pfu_record r = { .target = NEW, .partner = "TDB0001",
				.attempts = 3, .halted = true };
	struct buf out;
	struct pfu *p;
	struct err e;

	f->peer.up = false;	/* the record arrives as the link comes up */
	p = start(f);
	wait_status(p, "Waiting");
	buf_init(&out, PFU_RECORD_JSON_MAX);
	assert_int_equal(pfu_record_encode(&r, &out), 0);
	assert_int_equal(pfu_record_receive(p, out.data, out.len, &e), 0);
	assert_true(pfu_record_receive(p, "{}", 2, &e) < 0);
	while (on_disk(f).attempts != 3)
		let_pass(f, 1);
	pthread_mutex_lock(&f->mu);
	f->peer.up = true;
	pthread_mutex_unlock(&f->mu);
	wait_status(p, "Halted");
	let_pass(f, 200);
	assert_int_equal(pushes(f), 0);
	buf_free(&out);
	pfu_free(p);
}

/* A corrupt pfu.json is moved aside loudly, not silently reset. */
static void test_corrupt_file_moved_aside(void **state)
{
	struct fake *f = *state;
	char path[128], aside[160];
	struct pfu *p;
	struct err e;

	snprintf(path, sizeof(path), "%s/%s", f->dir, PFU_FILE_NAME);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	assert_int_equal(fs_atomic_write(path, "{\"records\":7}", 13, 0644,
					 &e), 0);
	f->enabled = false;
	p = start(f);
	wait_status(p, "Disabled");
	assert_true(has_event(f, EVENTS_ERROR, "attempt records unreadable"));
	assert_int_equal(access(aside, F_OK), 0);
	pfu_free(p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_healthy_pfu_one_push),
		T(test_flash_keeps_failing_halts),
		T(test_partner_back_on_old_version_fails),
		T(test_partner_never_back_fails_at_deadline),
		T(test_partner_trial_rolled_back_fails),
		T(test_partner_never_confirms_fails),
		T(test_crash_mid_attempt_keeps_limit),
		T(test_waits_partner_on_trial),
		T(test_waits_partner_updating),
		T(test_waits_partner_down),
		T(test_waits_partner_unhealthy),
		T(test_waits_bundle_rules_partner_out),
		T(test_newer_partner_not_downgraded),
		T(test_versions_match_sends_nothing),
		T(test_complete_then_partner_newer_says_why),
		T(test_updated_by_partner_never_initiates),
		T(test_partner_never_seen_is_idle),
		T(test_disabled_does_nothing),
		T(test_reenable_resets),
		T(test_manual_flash_clears_halt),
		T(test_auto_rollback_once),
		T(test_rollback_command),
		T(test_record_merge_rules),
		T(test_partner_copy_halts_new_initiator),
		T(test_corrupt_file_moved_aside),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
