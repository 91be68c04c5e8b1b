/*
 * test_pfu_glue.c: PFU on a real controller (src/daemon/pfu_glue.c): the
 * trigger read from the update engine's persisted last load and the flash
 * store across the MC restart (P1): an operator's load, restarted into
 * and confirmed, makes this controller the initiator; a load pushed by
 * the partner never does. Without a partner link nothing is sent.
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
#include <time.h>

#include "daemon/controller.h"
#include "daemon/peer.h"

#define WAIT_REAL_MS 20000

struct fixture {
	char dir[64];
	char path[96];
	struct controller c;
};

static void start(struct fixture *f)
{
	struct err e;

	if (controller_open(&f->c, f->path, 'A', "127.0.0.2", false, 0,
			    &e) < 0)
		fail_msg("controller_open: %s", e.msg);
	controller_started(&f->c);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char keys[160];
	struct err e;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-pfu-glue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/a", f->dir);
	snprintf(keys, sizeof(keys), "%s/config/keys", f->path);
	assert_int_equal(fs_mkdir_p(keys, 0700, &e), 0);
	assert_int_equal(bundle_key_generate(keys, &e), 0);
	start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	controller_close(&f->c);
	assert_int_equal(fs_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

static void bundle_make(struct fixture *f, const char *version, char *out,
			size_t outlen)
{
	struct bundle_create_spec spec = {
		.version = version,
		.build_date = "Wed Jun 02 09:00:00 UTC 2021",
		.models = { CONTROLLER_MODEL }, .nmodels = 1,
		.ncomponents = 2,
	};
	char key[160], mc[128], sc[128];
	uint8_t data[3000];
	struct err e;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (uint8_t)version[8]);
	snprintf(key, sizeof(key), "%s/config/keys/bundle.key", f->path);
	snprintf(mc, sizeof(mc), "%s/mc.bin", f->dir);
	snprintf(sc, sizeof(sc), "%s/sc.bin", f->dir);
	assert_int_equal(fs_atomic_write(mc, "#!/bin/sh\nexit 0\n", 18, 0755,
					 &e), 0);
	assert_int_equal(fs_atomic_write(sc, data, sizeof(data), 0644, &e),
			 0);
	spec.key_path = key;
	spec.components[0] = (struct bundle_create_component){
		"mc", version, mc, BUNDLE_FLAG_EXECUTABLE };
	spec.components[1] = (struct bundle_create_component){
		"sc", version, sc, 0 };
	snprintf(out, outlen, "%s/%s.tar", f->dir, version);
	if (bundle_create(&spec, out, &e) < 0)
		fail_msg("bundle_create: %s", e.msg);
}

/* A whole code load from source, then the MC restart that follows. */
static void load_and_restart(struct fixture *f, const char *version,
			     const char *source)
{
	struct update_job *job;
	struct buf data, report;
	char path[160];
	struct err e;

	bundle_make(f, version, path, sizeof(path));
	buf_init(&data, 1 << 20);
	buf_init(&report, UPDATE_REPORT_MAX);
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &e), 0);
	job = update_begin(f->c.update, source, "manage", false, &e);
	assert_non_null(job);
	assert_int_equal(update_feed(job, data.data, data.len, &e), 0);
	if (update_finish(job, &report, NULL, NULL, &e) < 0)
		fail_msg("update_finish: %s\n%s", e.msg, report.data);
	buf_free(&data);
	buf_free(&report);
}

static void restart(struct fixture *f)
{
	controller_close(&f->c);
	memset(&f->c, 0, sizeof(f->c));
	start(f);
}

/* Waits (bounded) until the PFU view's reason holds words. */
static void wait_reason(struct fixture *f, const char *status,
			const char *words)
{
	struct timespec ms = { 0, 1000000 };
	struct pfu_view v;

	for (int n = 0; n < WAIT_REAL_MS; n++) {
		controller_pfu_notify(&f->c);
		controller_pfu_view(&f->c, &v);
		if (!strcmp(v.status, status) && strstr(v.reason, words))
			return;
		nanosleep(&ms, NULL);
	}
	fail_msg("PFU %s (%s), never %s (%s)", v.status, v.reason, status,
		 words);
}

struct find {
	unsigned code;
	const char *words;
	bool found;
};

static int find_event(void *ctx, const struct event *ev)
{
	struct find *q = ctx;

	if (ev->code == q->code && strstr(ev->message, q->words))
		q->found = true;
	return 0;
}

static bool logged(struct fixture *f, unsigned code, const char *words)
{
	struct find q = { code, words, false };

	events_each(f->c.events, 0, EVENTS_SEVERITY_ALL, find_event, &q);
	return q.found;
}

/* P1: an operator's load, restarted into and confirmed, initiates. */
static void test_operator_load_after_restart_initiates(void **state)
{
	struct fixture *f = *state;
	struct update_status partner;
	struct pfu_view v;

	wait_reason(f, "Idle", "no bundle installed");
	load_and_restart(f, "TS250P003", "FTP");
	/* Before the MC restart: the new bundle is not yet running. */
	wait_reason(f, "Idle", "restart into bundle TS250P003");
	restart(f);
	/* Past the trigger; alone, there is no partner to bring. */
	wait_reason(f, "Idle", "partner has not been seen");
	assert_false(logged(f, EVENTS_CODE_PFU, "completed on local"));
	controller_pfu_view(&f->c, &v);
	assert_true(v.enabled);
	assert_int_equal(v.limit, 3);
	assert_false(controller_partner_update_status(&f->c, &partner));
}

/* P1: a load pushed by the partner never makes this one an initiator. */
static void test_partner_load_never_initiates(void **state)
{
	struct fixture *f = *state;

	load_and_restart(f, "TS250P003", "partner");
	assert_false(logged(f, EVENTS_CODE_PFU, "PFU completed on local "
			    "controller, SUCCESS"));
	restart(f);
	wait_reason(f, "Idle", "installed by the partner, not an operator");
	/* The partner's side of a PFU ends when it confirms itself. */
	assert_true(logged(f, EVENTS_CODE_PFU, "Partner Firmware Update "
			   "progress: PFU completed on local controller, "
			   "SUCCESS"));
}

/* PFU off: the view says so, whatever was loaded. */
static void test_disabled_setting(void **state)
{
	struct fixture *f = *state;
	struct err e;

	assert_int_equal(config_set_bool(f->c.config,
					 CONFIG_PARTNER_FIRMWARE_UPGRADE,
					 false, &e), 0);
	wait_reason(f, "Disabled", "partner-firmware-upgrade is disabled");
}

/* Roll back with no earlier bundle: refused, named, nothing changes. */
static void test_rollback_without_previous_is_refused(void **state)
{
	struct fixture *f = *state;
	struct flash_status st;
	struct err e;

	load_and_restart(f, "TS250P003", "FTP");
	restart(f);
	assert_int_equal(controller_pfu_rollback(&f->c, &e),
			 FLASH_ERR_NO_PREVIOUS);
	assert_non_null(strstr(e.msg, "holds no bundle"));
	assert_int_equal(flash_store_status(f->c.store, &st, &e), 0);
	assert_string_equal(st.bundle_version, "TS250P003");
}

/* Roll back: the previous bundle active and confirmed, the MC restarts,
 * the report says so, and the controller no longer initiates. */
static void test_rollback_returns_to_previous_bundle(void **state)
{
	struct fixture *f = *state;
	struct flash_status st;
	struct buf report;
	struct err e;

	load_and_restart(f, "TS250P003", "FTP");
	restart(f);
	load_and_restart(f, "TS250P004", "FTP");
	restart(f);
	wait_reason(f, "Idle", "partner has not been seen");
	assert_int_equal(controller_pfu_rollback(&f->c, &e), 0);
	assert_int_equal(flash_store_status(f->c.store, &st, &e), 0);
	assert_string_equal(st.bundle_version, "TS250P003");
	assert_string_equal(st.previous_version, "TS250P004");
	assert_false(st.trial);
	assert_true(logged(f, EVENTS_CODE_DAEMON_STOP, "restarting in 2 s: "
			   "PFU roll-back"));
	buf_init(&report, UPDATE_REPORT_MAX);
	assert_int_equal(update_last_report(f->c.update, &report), 0);
	assert_non_null(strstr(report.data, "Partner: this controller rolled "
			       "back to its previous bundle."));
	buf_free(&report);
	wait_reason(f, "Idle", "not installed by the last code load");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_operator_load_after_restart_initiates),
		T(test_partner_load_never_initiates),
		T(test_disabled_setting),
		T(test_rollback_without_previous_is_refused),
		T(test_rollback_returns_to_previous_bundle),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
