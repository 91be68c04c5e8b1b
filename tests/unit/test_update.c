/*
 * test_update.c: the update engine over a real flash store in a temporary
 * directory, with real signed bundles: one job at a time, the family's
 * report lines and return codes, progress, events, and that nothing
 * changes the running versions when a load fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bundle/bundle.h"
#include "flash/flash.h"
#include "update/update.h"

static struct {
	char dir[64];
	char key[128];
	struct bundle_keyring ring;
	struct flash_store *store;
	struct update_engine *u;
	char events[8][ERR_MESSAGE_MAX + 128];
	size_t nevents;
	const char *partner;		/* the partner's bundle, for accept */
	const char *compat;		/* the next bundle's partner_compat */
} fx;

/* The daemon's pairing check in small: the partner's running bundle
 * against the bundle's partner_compat list. */
static int accept_pairing(void *ctx, const struct bundle_manifest *m,
			  struct err *e)
{
	(void)ctx;
	if (!fx.partner || bundle_manifest_tolerates(m, fx.partner))
		return 0;
	return err_set(e, -EPERM, "it does not tolerate partner bundle %s",
		       fx.partner);
}

static void on_event(void *ctx, enum update_severity sev, int code,
		     const char *msg)
{
	(void)ctx;
	(void)sev;
	assert_int_equal(code, UPDATE_EVENT_CODE);
	snprintf(fx.events[fx.nevents % 8], sizeof(fx.events[0]), "%s", msg);
	fx.nevents++;
}

/* A signed bundle of version v whose sc image depends on seed. */
static struct buf bundle(const char *v, int seed)
{
	struct bundle_create_spec spec = {
		.key_path = fx.key, .version = v,
		.build_date = "Tue Dec  1 08:00:00 UTC 2026",
		.models = { "2324sa" }, .nmodels = 1,
	};
	char mc[128], sc[128], out[128];
	uint8_t data[3000];
	struct buf b;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	snprintf(mc, sizeof(mc), "%s/mc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(mc, data, sizeof(data), 0644, &e), 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i + (size_t)seed);
	snprintf(sc, sizeof(sc), "%s/sc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(sc, data, sizeof(data), 0644, &e), 0);
	spec.components[0] = (struct bundle_create_component){ "mc", "M1", mc,
							       0 };
	spec.components[1] = (struct bundle_create_component){ "sc", v, sc, 0 };
	spec.ncomponents = 2;
	if (fx.compat) {
		spec.partner_compat[0] = fx.compat;
		spec.npartner_compat = 1;
	}
	snprintf(out, sizeof(out), "%s/b.tar", fx.dir);
	assert_int_equal(bundle_create(&spec, out, &e), 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(out, 1 << 20, &b, &e), 0);
	return b;
}

static int setup(void **state)
{
	struct update_config cfg = { 0 };
	char kd[96];
	struct err e;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tandem-up-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(kd, sizeof(kd), "%s/keys", fx.dir);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	assert_int_equal(bundle_keyring_add_dir(&fx.ring, kd, &e), 0);
	snprintf(fx.key, sizeof(fx.key), "%s/bundle.key", kd);
	assert_int_equal(flash_store_init(fx.dir, &e), 0);
	assert_int_equal(flash_store_open(fx.dir, &fx.store, &e), 0);
	cfg.store = fx.store;
	cfg.keys = &fx.ring;
	cfg.model = "2324sa";
	cfg.controller = 'A';
	cfg.event = on_event;
	cfg.accept = accept_pairing;
	fx.u = update_engine_new(&cfg, &e);
	assert_non_null(fx.u);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	update_engine_free(fx.u);
	flash_store_close(fx.store);
	fs_remove_tree(fx.dir);
	return 0;
}

/* Runs a whole load in 1000-byte chunks; returns finish's result. */
static int load(const struct buf *b, bool force, struct buf *report)
{
	struct update_job *j;
	struct err e;
	size_t off;

	err_clear(&e);
	j = update_begin(fx.u, "FTP", "manage", force, &e);
	assert_non_null(j);
	for (off = 0; off < b->len; off += 1000) {
		size_t n = b->len - off < 1000 ? b->len - off : 1000;

		if (update_feed(j, b->data + off, n, &e) < 0) {
			update_abort(j, e.msg);
			return e.code;
		}
	}
	return update_finish(j, report, NULL, NULL, &e);
}

static void installed(char *out, size_t len)
{
	struct flash_status st;
	struct err e;

	assert_int_equal(flash_store_status(fx.store, &st, &e), 0);
	snprintf(out, len, "%s", st.bundle_version);
}

static void confirm(void)
{
	struct err e;

	assert_int_equal(flash_store_confirm(fx.store, &e), 0);
}

static void test_load_reports_the_family_lines(void **state)
{
	struct buf b = bundle("TS250P002", 1), r;
	struct update_status st;
	char v[BUNDLE_VERSION_MAX];

	(void)state;
	buf_init(&r, UPDATE_REPORT_MAX);
	assert_int_equal(load(&b, false, &r), 0);
	assert_non_null(strstr(r.data, "Codeload completed successfully.\n"));
	assert_non_null(strstr(r.data, "RETURN_CODE: 9\n"));
	assert_non_null(strstr(r.data, "loading bundle TS250P002"));
	assert_non_null(strstr(r.data, "MC Software: SUCCESSFUL"));
	assert_true(update_restart_pending(fx.u));
	installed(v, sizeof(v));
	assert_string_equal(v, "TS250P002");
	update_status_get(fx.u, &st);
	assert_int_equal(st.state, UPDATE_IDLE);
	assert_true(st.have_last && st.last_ok);
	assert_int_equal(st.last_return_code, UPDATE_RC_LOADED);
	assert_int_equal(st.percent, 100);
	assert_true(fx.nevents >= 2);
	assert_non_null(strstr(fx.events[(fx.nevents - 1) % 8],
			       "TS250P002 activated"));

	/* The same bundle again: a successful no-op, as the family says. */
	confirm();
	buf_reset(&r);
	assert_int_equal(load(&b, false, &r), 0);
	assert_non_null(strstr(r.data, "Not attempted (Versions match)\n"));
	assert_non_null(strstr(r.data, "RETURN_CODE: 8\n"));
	assert_null(strstr(r.data, "Codeload completed"));
	buf_reset(&r);
	assert_int_equal(update_last_report(fx.u, &r), 0);
	assert_non_null(strstr(r.data, "Not attempted (Versions match)"));
	buf_free(&r);
	buf_free(&b);
}

static void test_older_needs_force(void **state)
{
	struct buf nw = bundle("TS250P005", 5), old, r;
	char v[BUNDLE_VERSION_MAX];

	(void)state;
	buf_init(&r, UPDATE_REPORT_MAX);
	assert_int_equal(load(&nw, false, &r), 0);
	confirm();
	old = bundle("TS250P002", 2);
	buf_reset(&r);
	assert_int_equal(load(&old, false, &r), -EPERM);
	assert_int_equal(update_last_report(fx.u, &r), 0);
	assert_non_null(strstr(r.data, "RETURN_CODE: 22\n"));
	assert_non_null(strstr(r.data, "flash:force"));
	installed(v, sizeof(v));
	assert_string_equal(v, "TS250P005");
	buf_reset(&r);
	assert_int_equal(load(&old, true, &r), 0);
	assert_non_null(strstr(r.data, "Codeload completed successfully."));
	installed(v, sizeof(v));
	assert_string_equal(v, "TS250P002");
	buf_free(&r);
	buf_free(&old);
	buf_free(&nw);
}

/* A bundle that rules out the partner's bundle is refused before a byte
 * is written, with the reason and RETURN_CODE 22; flash:force loads it. */
static void test_pairing_ruled_out_needs_force(void **state)
{
	struct buf b, r;
	char v[BUNDLE_VERSION_MAX];

	(void)state;
	fx.compat = "TS251*";
	b = bundle("TS251P001", 7);
	buf_init(&r, UPDATE_REPORT_MAX);
	fx.partner = "TS250P001";
	assert_int_equal(load(&b, false, &r), -EPERM);
	assert_int_equal(update_last_report(fx.u, &r), 0);
	assert_non_null(strstr(r.data, "does not tolerate partner bundle "
			       "TS250P001"));
	assert_non_null(strstr(r.data, "RETURN_CODE: 22\n"));
	installed(v, sizeof(v));
	assert_string_equal(v, "");
	fx.partner = "TS251P000";	/* a partner the list names */
	buf_reset(&r);
	assert_int_equal(load(&b, false, &r), 0);
	installed(v, sizeof(v));
	assert_string_equal(v, "TS251P001");
	confirm();
	fx.compat = "TS252*";
	buf_free(&b);
	b = bundle("TS252P001", 8);
	fx.partner = "TS251P001";
	buf_reset(&r);
	assert_int_equal(load(&b, false, &r), -EPERM);
	buf_reset(&r);
	assert_int_equal(load(&b, true, &r), 0);
	installed(v, sizeof(v));
	assert_string_equal(v, "TS252P001");
	fx.partner = NULL;
	fx.compat = NULL;
	buf_free(&r);
	buf_free(&b);
}

static void test_one_job_at_a_time(void **state)
{
	struct update_job *j, *k;
	struct update_status st;
	struct buf x;
	struct err e;

	(void)state;
	j = update_begin(fx.u, "SFTP", "manage", false, &e);
	assert_non_null(j);
	k = update_begin(fx.u, "FTP", "other", false, &e);
	assert_null(k);
	assert_int_equal(e.code, -EBUSY);
	assert_non_null(strstr(e.msg, "already in progress"));
	update_status_get(fx.u, &st);
	assert_int_equal(st.state, UPDATE_RUNNING);
	assert_string_equal(st.source, "SFTP");
	buf_init(&x, 8192);
	assert_int_equal(update_progress_xml(&st, 'A', NULL, 'B', &x), 0);
	assert_non_null(strstr(x.data, "name=\"controller-a-progress\""));
	assert_non_null(strstr(x.data, ">codeload</PROPERTY>"));
	update_abort(j, "the client went away");
	update_status_get(fx.u, &st);
	assert_int_equal(st.state, UPDATE_IDLE);
	assert_false(st.last_ok);
	assert_int_equal(st.last_return_code, UPDATE_RC_ABORTED);
	buf_reset(&x);
	assert_int_equal(update_progress_xml(&st, 'A', NULL, 'B', &x), 0);
	assert_non_null(strstr(x.data, ">none</PROPERTY>"));
	buf_free(&x);
	/* Free again: a new job may start. */
	j = update_begin(fx.u, "FTP", "manage", false, &e);
	assert_non_null(j);
	update_abort(j, "test over");
}

static void test_bad_bundles_change_nothing(void **state)
{
	struct buf good = bundle("TS250P003", 3), bad, r;
	char v[BUNDLE_VERSION_MAX];
	int rc;

	(void)state;
	buf_init(&r, UPDATE_REPORT_MAX);
	assert_int_equal(load(&good, false, &r), 0);
	confirm();
	bad = bundle("TS250P004", 4);
	/* Truncated: the verifier's verdict at finish. */
	bad.len -= 1500;
	buf_reset(&r);
	rc = load(&bad, false, &r);
	assert_int_equal(rc, -EINVAL);
	buf_reset(&r);
	assert_int_equal(update_last_report(fx.u, &r), 0);
	assert_non_null(strstr(r.data, "RETURN_CODE: 20\n"));
	installed(v, sizeof(v));
	assert_string_equal(v, "TS250P003");
	/* Tampered payload byte near the end. */
	bad.len += 1500;
	bad.data[bad.len - 2000] ^= 1;
	buf_reset(&r);
	rc = load(&bad, false, &r);
	assert_int_equal(rc, -EINVAL);
	buf_reset(&r);
	assert_int_equal(update_last_report(fx.u, &r), 0);
	assert_non_null(strstr(r.data, "RETURN_CODE: 20\n"));
	installed(v, sizeof(v));
	assert_string_equal(v, "TS250P003");
	buf_free(&r);
	buf_free(&bad);
	buf_free(&good);
}

/* The outcome survives the MC restart that follows a load. */
static void test_last_load_is_kept_across_restarts(void **state)
{
	struct buf b = bundle("TS250P006", 6), r;
	struct update_config cfg = { 0 };
	struct update_status st;
	struct update_engine *again;
	const char *tail;
	char path[128];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/last-codeload.json", fx.dir);
	update_engine_free(fx.u);
	cfg.store = fx.store;
	cfg.keys = &fx.ring;
	cfg.model = "2324sa";
	cfg.controller = 'B';
	cfg.last_path = path;
	fx.u = update_engine_new(&cfg, &e);
	assert_non_null(fx.u);
	buf_init(&r, UPDATE_REPORT_MAX);
	assert_int_equal(load(&b, false, &r), 0);

	again = update_engine_new(&cfg, &e);
	assert_non_null(again);
	update_status_get(again, &st);
	assert_true(st.have_last && st.last_ok);
	assert_int_equal(st.last_return_code, UPDATE_RC_LOADED);
	assert_string_equal(st.last_version, "TS250P006");
	/* Shown with its completion, not as a load at 0%. */
	assert_int_equal(st.percent, 100);
	buf_reset(&r);
	assert_int_equal(update_last_report(again, &r), 0);
	assert_non_null(strstr(r.data, "Codeload completed successfully.\n"));
	/* Who supplied it survives the restart: PFU starts from it. */
	assert_string_equal(st.last_source, "FTP");
	/* PFU's outcome joins the report, and survives a restart too. */
	assert_int_equal(update_last_report_append(again, "Partner: Codeload "
						   "completed successfully.",
						   &e), 0);
	update_engine_free(again);
	again = update_engine_new(&cfg, &e);
	assert_non_null(again);
	buf_reset(&r);
	assert_int_equal(update_last_report(again, &r), 0);
	assert_non_null(strstr(r.data, "Codeload completed successfully.\n"));
	tail = "\nPartner: Codeload completed successfully.\n";
	assert_true(r.len > strlen(tail));
	assert_string_equal(r.data + r.len - strlen(tail), tail);
	update_engine_free(again);

	/* A damaged record is ignored, not trusted. */
	assert_int_equal(fs_atomic_write(path, "{\"ok\": tru", 11, 0644, &e),
			 0);
	again = update_engine_new(&cfg, &e);
	update_status_get(again, &st);
	assert_false(st.have_last);
	update_engine_free(again);
	buf_free(&r);
	buf_free(&b);
}

/* Nothing to append to before the first load: refused, nothing made. */
static void test_report_append_needs_a_load(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(update_last_report_append(fx.u, "Partner: x", &e),
			 -ENOENT);
}

/* `get progress`: the partner reads codeload while PFU works on it. */
static void test_progress_shows_pfu_on_partner(void **state)
{
	struct update_status mine = { .state = UPDATE_IDLE, .stage = "idle" };
	struct update_status partner = mine;
	const char *b_obj;
	struct buf out;

	(void)state;
	buf_init(&out, 16 * 1024);
	partner.pfu_active = true;
	assert_int_equal(update_progress_xml(&mine, 'A', &partner, 'B', &out),
			 0);
	b_obj = strstr(out.data, "name=\"controller-b-progress\"");
	assert_non_null(b_obj);
	/* B's object shows it, A's (before it) does not. */
	assert_true(strstr(out.data, ">codeload<") > b_obj);
	partner.pfu_active = false;
	buf_reset(&out);
	assert_int_equal(update_progress_xml(&mine, 'A', &partner, 'B', &out),
			 0);
	assert_null(strstr(out.data, ">codeload<"));
	buf_free(&out);
}

static void test_labels(void **state)
{
	(void)state;
	assert_string_equal(update_component_label("mc"),
			    "Management Controller");
	assert_string_equal(update_component_label("zz"), "zz");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_load_reports_the_family_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_needs_force, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_pairing_ruled_out_needs_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_job_at_a_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_bad_bundles_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_last_load_is_kept_across_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_report_append_needs_a_load, setup, teardown),
		cmocka_unit_test(test_progress_shows_pfu_on_partner),
		cmocka_unit_test(test_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
