/*
 * test_cli_readiness.c: controller_readiness() on a real controller, and
 * the upload seams (src/daemon/ops_upload.c) that refuse an unforced load
 * when it fails: the client's error names the reason and what to do, the
 * event log keeps it, nothing starts; flash:force goes on to the engine.
 * A standalone controller (no partner link) has no partner conditions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_daemon_fixture.h"
#include "daemon/peer.h"

struct fixture {
	struct cli_daemon_fixture d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	cli_daemon_fixture_open(&f->d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cli_daemon_fixture_close(&f->d);
	free(f);
	return 0;
}

static bool has_reason(const struct readiness *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->nreasons; i++)
		if (!strcmp(r->reasons[i].id, id))
			return true;
	return false;
}

struct event_find {
	const char *text;
	bool found;
};

static int event_match(void *ctx, const struct event *ev)
{
	struct event_find *w = ctx;

	if (strstr(ev->message, w->text) && ev->severity == EVENTS_WARNING)
		w->found = true;
	return 0;
}

static bool logged(struct controller *c, const char *text)
{
	struct event_find w = { text, false };

	events_each(c->events, 0, EVENTS_SEVERITY_ALL, event_match, &w);
	return w.found;
}

static void test_standalone_passes(void **state)
{
	struct fixture *f = *state;
	struct readiness r;
	struct peer_view p;

	controller_peer_view(&f->d.controller, &p);
	assert_false(p.configured);
	assert_int_equal(controller_readiness(&f->d.controller, &r), 0);
	assert_true(r.pass);
	assert_int_equal(r.nreasons, 0);
}

/* A load running here: the check fails; an upload is refused by the
 * engine itself (whose reply says whose load and how far), forced or
 * not, and goes through once the load ends. */
static void test_refused_while_loading(void **state)
{
	struct fixture *f = *state;
	struct controller *c = &f->d.controller;
	struct readiness r;
	struct err e;
	void *u, *job;
	int force;

	err_clear(&e);
	u = controller_sftp_ops.upload_begin(c, FTP_TARGET_FLASH, "manage",
					     SHELL_ROLE_MANAGE, &e);
	if (!u)
		fail_msg("upload_begin: %s", e.msg);
	assert_int_equal(controller_readiness(c, &r), -EBUSY);
	assert_false(r.pass);
	assert_true(has_reason(&r, "local-code-load"));
	assert_non_null(strstr(r.reasons[0].text,
			       "A code load from SFTP is running on controller A."));
	for (force = 0; force < 2; force++) {
		err_clear(&e);
		job = controller_ftp_ops.upload_begin(c, "manage", force, &e);
		assert_null(job);
		assert_int_equal(e.code, -EBUSY);
		assert_non_null(strstr(e.msg, "A code load is already in "
				       "progress (SFTP, user manage"));
	}
	controller_sftp_ops.upload_abort(u, "test over");
	assert_int_equal(controller_readiness(c, &r), 0);
	err_clear(&e);
	job = controller_ftp_ops.upload_begin(c, "manage", false, &e);
	if (!job)
		fail_msg("upload_begin: %s", e.msg);
	controller_ftp_ops.upload_abort(c, job, "test over");
}

/* Loaded and not yet restarted: the new bank is on trial, so another
 * unforced load waits until this one is proven. */
static void test_refused_on_trial(void **state)
{
	struct fixture *f = *state;
	struct controller *c = &f->d.controller;
	struct readiness r;
	struct err e;
	void *u;

	cli_daemon_fixture_load(c, f->d.dir, "TS251P001");
	assert_int_equal(controller_readiness(c, &r), -EBUSY);
	assert_true(has_reason(&r, "local-trial"));
	assert_non_null(strstr(r.reasons[0].text, "Controller A runs bundle "
			       "TS251P001 on trial; it is not yet confirmed."));
	err_clear(&e);
	u = controller_sftp_ops.upload_begin(c, FTP_TARGET_FLASH, "manage",
					     SHELL_ROLE_MANAGE, &e);
	assert_null(u);
	assert_int_equal(e.code, -EBUSY);	/* FTP 450: try again later */
	assert_string_equal(e.msg, "Firmware update refused (put it to "
			    "flash:force to load anyway): Controller A runs "
			    "bundle TS251P001 on trial; it is not yet "
			    "confirmed. Wait until the controller confirms "
			    "the bundle, or restart its management "
			    "controller.");
	/* The same through FTP; forced, it goes on to the flash store,
	 * which keeps the known-good bank itself. */
	err_clear(&e);
	assert_null(controller_ftp_ops.upload_begin(c, "manage", false, &e));
	assert_non_null(strstr(e.msg, "Firmware update refused"));
	err_clear(&e);
	assert_null(controller_ftp_ops.upload_begin(c, "manage", true, &e));
	assert_null(strstr(e.msg, "Firmware update refused"));
	assert_non_null(strstr(e.msg, "is on trial until the controller "
			       "confirms itself healthy"));
	assert_true(logged(c, "A firmware update from SFTP by manage was "
			   "refused: Controller A runs bundle TS251P001 on "
			   "trial"));
	/* After the restart confirms it, the check passes again. */
	controller_close(c);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/a", f->d.dir);
		if (controller_open(c, path, 'A', "127.0.0.2", true, 0,
				    &e) < 0)
			fail_msg("controller_open: %s", e.msg);
	}
	controller_started(c);
	assert_int_equal(controller_readiness(c, &r), 0);
}

/* The CLI's answer is the daemon's check, reason for reason. */
static void test_cli_backend_matches(void **state)
{
	struct fixture *f = *state;
	struct controller *c = &f->d.controller;
	struct cli_readiness *out = calloc(1, sizeof(*out));
	struct err e;

	assert_non_null(out);
	cli_daemon_fixture_load(c, f->d.dir, "TS251P001");
	err_clear(&e);
	assert_int_equal(controller_cli_backend.readiness_get(c, out, &e), 0);
	assert_false(out->pass);
	assert_int_equal(out->nreasons, 1);
	assert_string_equal(out->reasons[0].id, "local-trial");
	assert_int_equal(out->reasons[0].risk_numeric,
			 READINESS_RISK_MISMATCH);
	assert_string_equal(out->reasons[0].risk,
			    "The controllers may be left running different "
			    "firmware.");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_standalone_passes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_while_loading,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_on_trial, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cli_backend_matches,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
