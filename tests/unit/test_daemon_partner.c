/*
 * test_daemon_partner.c: two controllers in one process joined by a real
 * partner link over loopback (src/daemon/partner*.c over src/link/): the
 * peer view filled from STATE, and bundle pushes: a newer bundle installed
 * on the partner (T2: its restart scheduled), the same one a no-op, an
 * older one and one signed by a key the partner does not trust refused
 * with the partner's own reason and an event, a busy partner answering
 * busy, and a link dropped mid-transfer aborting the partner's job (T1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"

static struct {
	char dir[64];
	char key[128];		/* trusted by both */
	char key2[128];		/* trusted by A only */
	uint8_t link_key[32];
	struct controller a, b;
} fx;

static void start_b(uint16_t port)
{
	struct partner_config pb = { .listen = true, .listen_port = port,
				     .key = fx.link_key,
				     .key_len = sizeof(fx.link_key),
				     .heartbeat_ms = 100 };
	struct err e;

	err_clear(&e);
	if (partner_start(&fx.b, &pb, &e) < 0)
		fail_msg("partner_start B: %s", e.msg);
}

/* A signed bundle of version v (sc image from seed, size bytes). */
static void bundle(const char *v, const char *key, size_t size,
		   struct buf *out)
{
	struct bundle_create_spec spec = {
		.key_path = key, .version = v,
		.build_date = "Tue Dec  1 08:00:00 UTC 2026",
		.models = { CONTROLLER_MODEL }, .nmodels = 1,
	};
	char mc[128], sc[128], path[128];
	uint8_t *data = malloc(size);
	struct err e;

	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 13 + (size_t)v[8]);
	snprintf(mc, sizeof(mc), "%s/mc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(mc, "#!/bin/sh\n", 10, 0755, &e), 0);
	snprintf(sc, sizeof(sc), "%s/sc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(sc, data, size, 0644, &e), 0);
	free(data);
	spec.components[0] = (struct bundle_create_component){ "mc", "M1", mc,
							       0 };
	spec.components[1] = (struct bundle_create_component){ "sc", v, sc, 0 };
	spec.ncomponents = 2;
	snprintf(path, sizeof(path), "%s/b.tar", fx.dir);
	assert_int_equal(bundle_create(&spec, path, &e), 0);
	buf_init(out, 64 << 20);
	assert_int_equal(fs_read_file(path, 64 << 20, out, &e), 0);
}

/* Installs v on c as an operator would, and confirms it. */
static void install(struct controller *c, const char *v, const char *key,
		    size_t size)
{
	struct update_job *j;
	struct buf b, report;
	struct err e;

	bundle(v, key, size, &b);
	buf_init(&report, UPDATE_REPORT_MAX);
	err_clear(&e);
	j = update_begin(c->update, "FTP", "manage", true, &e);
	assert_non_null(j);
	if (update_feed(j, b.data, b.len, &e) < 0)
		fail_msg("feed: %s", e.msg);
	if (update_finish(j, &report, NULL, NULL, &e) < 0)
		fail_msg("finish: %s", e.msg);
	assert_int_equal(flash_store_confirm(c->store, &e), 0);
	buf_free(&b);
	buf_free(&report);
}

static void running(struct controller *c, char *out, size_t len,
		    bool *trial)
{
	struct flash_status st;
	struct err e;

	assert_int_equal(flash_store_status(c->store, &st, &e), 0);
	snprintf(out, len, "%s", st.bundle_version);
	*trial = st.trial;
}

static void open_side(struct controller *c, char id)
{
	char path[128];
	struct err e;

	snprintf(path, sizeof(path), "%s/%c", fx.dir, id);
	err_clear(&e);
	if (controller_open(c, path, id, "127.0.0.1", false, 0, &e) < 0)
		fail_msg("controller_open: %s", e.msg);
	assert_int_equal(bundle_keyring_add_dir(&c->keys, fx.dir, &e), 0);
}

/* Waits (bounded) until A's view of B is up with a STATE read. */
static void wait_linked(void)
{
	for (int i = 0; i < 200; i++) {
		struct peer_view v;
		uint64_t g = partner_view_generation(fx.a.partner);

		controller_peer_view(&fx.a, &v);
		if (v.up && v.ever_seen)
			return;
		partner_view_wait(fx.a.partner, g, 100);
	}
	fail_msg("the partner link did not come up");
}

static int setup(void **state)
{
	struct partner_config pa = { .partner_address = "127.0.0.1",
				     .key = fx.link_key,
				     .key_len = sizeof(fx.link_key),
				     .heartbeat_ms = 100 };
	char kd[96];
	struct err e;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	memset(fx.link_key, 0x5a, sizeof(fx.link_key));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tandem-partner-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	/* key 1 as fx.dir/bundle.pub (both trust fx.dir), key 2 apart. */
	assert_int_equal(bundle_key_generate(fx.dir, &e), 0);
	snprintf(fx.key, sizeof(fx.key), "%s/bundle.key", fx.dir);
	snprintf(kd, sizeof(kd), "%s/k2", fx.dir);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	snprintf(fx.key2, sizeof(fx.key2), "%s/bundle.key", kd);
	open_side(&fx.a, 'A');
	open_side(&fx.b, 'B');
	assert_int_equal(bundle_keyring_add_dir(&fx.a.keys, kd, &e), 0);
	install(&fx.a, "TS250P002", fx.key, 3000);
	install(&fx.b, "TS250P001", fx.key, 3000);
	start_b(0);
	pa.partner_port = partner_listen_port(fx.b.partner);
	if (partner_start(&fx.a, &pa, &e) < 0)
		fail_msg("partner_start A: %s", e.msg);
	wait_linked();
	return 0;
}

/* Fault points are armed before any thread runs, as tandemd arms them. */
static int setup_slow_flash(void **state)
{
	struct err e;

	assert_int_equal(fault_arm("slow-flash=20", &e), 0);
	return setup(state);
}

static int teardown(void **state)
{
	(void)state;
	partner_stop(fx.a.partner);
	partner_stop(fx.b.partner);
	fault_arm("", NULL);
	controller_close(&fx.a);
	controller_close(&fx.b);
	fs_remove_tree(fx.dir);
	return 0;
}

struct found {
	const char *text;
	bool seen;
	unsigned count;
};

static int find_text(void *ctx, const struct event *ev)
{
	struct found *f = ctx;

	if (strstr(ev->message, f->text)) {
		f->seen = true;
		f->count++;
	}
	return 0;
}

static bool logged(struct controller *c, const char *text)
{
	struct found f = { text, false, 0 };

	events_each(c->events, 0, EVENTS_SEVERITY_ALL, find_text, &f);
	return f.seen;
}

static unsigned logged_times(struct controller *c, const char *text)
{
	struct found f = { text, false, 0 };

	events_each(c->events, 0, EVENTS_SEVERITY_ALL, find_text, &f);
	return f.count;
}

/* Waits (bounded) until c's scheduled stop is due at once. */
static bool stop_now_becomes(struct controller *c)
{
	for (int i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };
		bool now;

		pthread_mutex_lock(&c->lock);
		now = c->stop_now;
		pthread_mutex_unlock(&c->lock);
		if (now)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_peer_view_from_state(void **state)
{
	struct peer_view v;

	(void)state;
	controller_peer_view(&fx.a, &v);
	assert_true(v.up);
	assert_int_equal(v.id, 'B');
	assert_string_equal(v.serial, fx.b.serial);
	assert_string_equal(v.bundle_version, "TS250P001");
	assert_int_equal(v.ncomponents, 3);	/* bundle.xml, mc, sc */
	assert_string_equal(v.mc_loader, CONTROLLER_VERSION);
	assert_int_equal(v.health, PEER_HEALTH_OK);
	assert_false(v.trial);
	assert_false(v.updating);
	assert_true(v.free_bytes > 0);
	assert_string_equal(v.down_reason, "");

	/* B goes away: A's view says so and why, and keeps what B last
	 * reported (P3); A logs it once. */
	partner_stop(fx.b.partner);
	for (int i = 0; i < 200 && v.up; i++) {
		uint64_t g = partner_view_generation(fx.a.partner);

		controller_peer_view(&fx.a, &v);
		if (v.up)
			partner_view_wait(fx.a.partner, g, 100);
	}
	assert_false(v.up);
	assert_true(v.ever_seen);
	assert_true(v.down_reason[0] != '\0');
	assert_string_equal(v.bundle_version, "TS250P001");
	assert_string_equal(v.serial, fx.b.serial);
	assert_true(logged(&fx.a, "Partner controller B is down: "));
}

static void test_push_installs_on_the_partner(void **state)
{
	struct partner_push_result r;
	struct err e;
	char v[BUNDLE_VERSION_MAX];
	bool trial, restarting;
	int status, i;

	(void)state;
	err_clear(&e);
	if (partner_push_bundle(fx.a.partner, "TS250P002", 1, &r, &e) < 0)
		fail_msg("push: %s", e.msg);
	assert_true(r.ok);
	assert_int_equal(r.code, UPDATE_RC_LOADED);
	assert_non_null(strstr(r.report, "Codeload completed successfully."));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P002");
	assert_true(trial);
	/* T2: B restarts into it, as after an operator's load. */
	pthread_mutex_lock(&fx.b.lock);
	restarting = fx.b.restarting;
	status = fx.b.exit_status;
	pthread_mutex_unlock(&fx.b.lock);
	assert_true(restarting);
	assert_int_equal(status, CONTROLLER_EXIT_RESTART);
	assert_true(logged(&fx.b, "receiving bundle TS250P002 from "
			   "controller A (attempt 1"));
	/* A read the RESULT and closed the link: B's restart is due now,
	 * not after its fallback delay. */
	assert_true(stop_now_becomes(&fx.b));
	assert_true(logged(&fx.a, "Partner controller B is down: it "
			   "restarts into the bundle it was sent."));
	/* B expected that close: no warning that A went down. A redials
	 * at once; B's "up" of the new connection comes after its down()
	 * of the old one (link.c I1), where the event would be. */
	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		if (logged_times(&fx.b, "Partner controller A is up") >= 2)
			break;
		nanosleep(&ts, NULL);
	}
	assert_true(i < 500);
	assert_false(logged(&fx.b, "Partner controller A is down"));
}

static void test_push_same_bundle_is_a_no_op(void **state)
{
	struct partner_push_result r;
	struct err e;

	(void)state;
	install(&fx.b, "TS250P002", fx.key, 3000);
	err_clear(&e);
	if (partner_push_bundle(fx.a.partner, "TS250P002", 1, &r, &e) < 0)
		fail_msg("push: %s", e.msg);
	assert_true(r.ok);
	assert_int_equal(r.code, UPDATE_RC_VERSIONS_MATCH);
	assert_false(fx.b.restarting);
}

static void test_push_older_is_refused(void **state)
{
	struct partner_push_result r;
	struct err e;
	char v[BUNDLE_VERSION_MAX];
	bool trial;

	(void)state;
	install(&fx.b, "TS250P003", fx.key, 3000);
	err_clear(&e);
	assert_int_equal(partner_push_bundle(fx.a.partner, "TS250P002", 2, &r,
					     &e), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, UPDATE_RC_VERSION);
	assert_non_null(strstr(r.message, "older than the installed"));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P003");
	assert_false(trial);
	assert_true(logged(&fx.b, "Partner firmware update: the bundle "
			   "TS250P002 from controller A was refused"));
}

static void test_push_untrusted_key_is_refused(void **state)
{
	struct partner_push_result r;
	struct err e;
	char v[BUNDLE_VERSION_MAX];
	bool trial;

	(void)state;
	install(&fx.a, "TS250P004", fx.key2, 3000);
	err_clear(&e);
	assert_int_equal(partner_push_bundle(fx.a.partner, "TS250P004", 1, &r,
					     &e), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, UPDATE_RC_VERIFY);
	assert_non_null(strstr(r.message, "key"));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P001");
	assert_false(fx.b.restarting);
	assert_true(logged(&fx.b, "TS250P004 from controller A was refused"));
}

static void test_push_to_a_busy_partner(void **state)
{
	struct partner_push_result r;
	struct update_job *j;
	struct err e;

	(void)state;
	err_clear(&e);
	j = update_begin(fx.b.update, "FTP", "manage", false, &e);
	assert_non_null(j);
	assert_int_equal(partner_push_bundle(fx.a.partner, "TS250P002", 1, &r,
					     &e), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, UPDATE_RC_BUSY);
	assert_non_null(strstr(r.message, "already in progress"));
	update_abort(j, "test over");
}

struct pusher {
	int rc;
	struct err e;
	struct partner_push_result r;
};

static void *push_main(void *arg)
{
	struct pusher *p = arg;

	err_clear(&p->e);
	p->rc = partner_push_bundle(fx.a.partner, "TS250P005", 1, &p->r,
				    &p->e);
	return NULL;
}

static void test_link_drop_mid_transfer_aborts(void **state)
{
	struct update_status us;
	struct pusher p = { 0 };
	pthread_t t;
	char v[BUNDLE_VERSION_MAX];
	bool trial;
	int i;

	(void)state;
	/* Slow flash (setup_slow_flash): the transfer is still running on B
	 * when the link drops. */
	install(&fx.a, "TS250P005", fx.key, 4 << 20);
	assert_int_equal(pthread_create(&t, NULL, push_main, &p), 0);
	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		update_status_get(fx.b.update, &us);
		if (us.state == UPDATE_RUNNING && us.bytes_received > 0)
			break;
		nanosleep(&ts, NULL);
	}
	assert_true(i < 500);
	partner_link_drop(fx.b.partner, "test: link cut");
	pthread_join(t, NULL);
	assert_int_equal(p.rc, -ENOTCONN);
	/* B hears of the drop on its own reader thread, after its feed. */
	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		update_status_get(fx.b.update, &us);
		if (us.state == UPDATE_IDLE)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(us.state, UPDATE_IDLE);
	assert_false(us.last_ok);
	assert_non_null(strstr(us.last_message, "partner link dropped"));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P001");
	assert_false(trial);
	assert_false(fx.b.restarting);
	/* The link comes back by itself. */
	wait_linked();
}

/* The enclosure key file: hex digits as `tandem enclosure init` writes
 * them, LINK_KEY_MIN to PARTNER_KEY_MAX bytes; anything else is refused
 * by name. */
static void test_key_file(void **state)
{
	static const struct {
		const char *text;
		int rc;
		size_t len;
	} cases[] = {
		{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		  0, 32 },
		{ "00112233445566778899aabbccddeeff", 0, 16 },
		{ "00112233445566778899aabbccddee", -EINVAL, 0 },	/* 15 */
		{ "00112233445566778899aabbccddeeff0", -EINVAL, 0 },	/* odd */
		{ "0011223344556677889zaabbccddeeff", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	char dir[64], path[128];
	uint8_t key[PARTNER_KEY_MAX];
	struct err e;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tandem-key-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/enclosure.key", dir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = 0;

		assert_int_equal(fs_atomic_write(path, cases[i].text,
						 strlen(cases[i].text), 0600,
						 &e), 0);
		err_clear(&e);
		assert_int_equal(partner_key_load(path, key, &len, &e),
				 cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(len, cases[i].len);
			assert_int_equal(key[0], 0x00);
			assert_int_equal(key[15], 0xff);
		} else {
			assert_non_null(strstr(e.msg, "not an enclosure key"));
		}
	}
	snprintf(path, sizeof(path), "%s/none.key", dir);
	assert_true(partner_key_load(path, key, &(size_t){ 0 }, &e) < 0);
	assert_non_null(strstr(e.msg, "none.key"));
	fs_remove_tree(dir);
}

struct records {
	pthread_mutex_t lock;
	char last[256];
	unsigned ups;
};

static struct records rec = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A's on_up: tells B its record, as PFU does when the link comes up. */
static void send_record_on_up(void *ctx)
{
	static const char json[] = "{\"target\":\"TS250P002\"}";
	struct err e;

	(void)ctx;
	pthread_mutex_lock(&rec.lock);
	rec.ups++;
	pthread_mutex_unlock(&rec.lock);
	err_clear(&e);
	partner_send_record(fx.a.partner, json, strlen(json), &e);
}

static void record_in(void *ctx, const char *json, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&rec.lock);
	snprintf(rec.last, sizeof(rec.last), "%.*s", (int)len, json);
	pthread_mutex_unlock(&rec.lock);
}

/* PFU's hooks: told once per link up on the worker, where it may send;
 * a PFU_RECORD reaches the partner's handler as sent. */
static void test_pfu_record_on_link_up(void **state)
{
	bool got = false;

	(void)state;
	partner_on_record(fx.b.partner, record_in, NULL);
	partner_on_up(fx.a.partner, send_record_on_up, NULL);
	partner_link_drop(fx.a.partner, "test: reconnect");
	for (int i = 0; i < 500 && !got; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		pthread_mutex_lock(&rec.lock);
		got = strcmp(rec.last, "{\"target\":\"TS250P002\"}") == 0;
		pthread_mutex_unlock(&rec.lock);
		nanosleep(&ts, NULL);
	}
	assert_true(got);
	/* The reconnect's, and the first one's if its worker had not run
	 * yet when the hook was set: once per connection, never more. */
	pthread_mutex_lock(&rec.lock);
	assert_true(rec.ups >= 1 && rec.ups <= 2);
	pthread_mutex_unlock(&rec.lock);
}

/* Waits (bounded) until c's setting name reads want. */
static bool setting_becomes(struct controller *c, const char *name,
			    const char *want)
{
	for (int i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };
		char text[CONFIG_STRING_MAX];
		struct err e;

		if (config_get_text(c->config, name, text, sizeof(text),
				    &e) == 0 && !strcmp(text, want))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Both changed while apart: when the link returns, each setting holds
 * the newest change on both controllers, whichever side made it. */
static void test_settings_converge_when_the_link_returns(void **state)
{
	uint16_t port = partner_listen_port(fx.b.partner);
	struct err e;

	(void)state;
	partner_stop(fx.b.partner);
	assert_int_equal(config_set_text(fx.b.config, "system-name", "bee",
					 &e), 0);
	assert_int_equal(config_set_text(fx.b.config, "pfu-attempt-limit",
					 "7", &e), 0);
	/* Later, on A: newer than B's change of the same setting. */
	assert_int_equal(config_set_text(fx.a.config, "system-name", "ay",
					 &e), 0);
	assert_int_equal(config_set_text(fx.a.config, "ftp", "enabled", &e),
			 0);
	/* Controller scope: never mirrored. */
	assert_int_equal(config_set_text(fx.a.config,
					 "login-lockout-threshold", "9", &e),
			 0);
	start_b(port);
	assert_true(setting_becomes(&fx.b, "system-name", "ay"));
	assert_true(setting_becomes(&fx.b, "ftp", "Enabled"));
	assert_true(setting_becomes(&fx.a, "pfu-attempt-limit", "7"));
	assert_true(setting_becomes(&fx.a, "system-name", "ay"));
	assert_int_equal(config_get_uint(fx.b.config,
					 CONFIG_LOGIN_LOCKOUT_THRESHOLD), 5);
}

/* A RESULT that activated nothing leaves the link up and B as it is:
 * a record B sends after its RESULT reaches A, and A's answer, sent after
 * A read both, still finds the link up. */
static void test_push_no_op_keeps_the_link(void **state)
{
	struct partner_push_result r;
	struct err e;
	bool got = false;

	(void)state;
	install(&fx.b, "TS250P002", fx.key, 3000);
	partner_on_record(fx.a.partner, record_in, NULL);
	err_clear(&e);
	if (partner_push_bundle(fx.a.partner, "TS250P002", 1, &r, &e) < 0)
		fail_msg("push: %s", e.msg);
	assert_int_equal(r.code, UPDATE_RC_VERSIONS_MATCH);
	assert_int_equal(partner_send_record(fx.b.partner, "{\"after\":1}",
					     11, &e), 0);
	for (int i = 0; i < 500 && !got; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		pthread_mutex_lock(&rec.lock);
		got = strcmp(rec.last, "{\"after\":1}") == 0;
		pthread_mutex_unlock(&rec.lock);
		if (!got)
			nanosleep(&ts, NULL);
	}
	assert_true(got);
	assert_int_equal(partner_send_record(fx.a.partner, "{}", 2, &e), 0);
	assert_false(logged(&fx.a, "Partner controller B is down"));
	assert_false(fx.b.stop_now);
}

/* A's bank damaged after it was installed, one byte flipped: the push
 * sends it (A's export checks sizes only), B's engine finds the image's
 * sha256 differs from the signed manifest in its read-back and refuses:
 * nothing activated, B runs what it ran. */
static void test_damaged_source_is_refused_by_b(void **state)
{
	struct partner_push_result r;
	char path[PATH_MAX], v[BUNDLE_VERSION_MAX];
	struct err e;
	bool trial;
	FILE *f;
	int byte;

	(void)state;
	install(&fx.a, "TS250P005", fx.key, 4 << 20);
	assert_int_equal(flash_store_image_path(fx.a.store, "sc", path,
						sizeof(path)), 0);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 3 << 20, SEEK_SET), 0);
	byte = fgetc(f);
	assert_int_equal(fseek(f, 3 << 20, SEEK_SET), 0);
	assert_int_not_equal(fputc(byte ^ 0xff, f), EOF);
	assert_int_equal(fclose(f), 0);
	err_clear(&e);
	if (partner_push_bundle(fx.a.partner, "TS250P005", 1, &r, &e) < 0)
		fail_msg("push: %s", e.msg);
	assert_false(r.ok);
	assert_int_equal(r.code, UPDATE_RC_VERIFY);
	assert_non_null(strstr(r.message, "component 'sc': sha256 mismatch"));
	assert_true(logged(&fx.b, "TS250P005 from controller A was refused"));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P001");
	assert_false(trial);
	assert_false(fx.b.restarting);
}

/* A's bank damaged after it was installed, an image cut short: the export
 * finds it as it streams, the push fails naming it and ends with an ABORT
 * before its END, and B drops its job: nothing activated, B runs what it
 * ran. */
static void test_short_source_aborts_before_b_activates(void **state)
{
	struct partner_push_result r;
	struct update_status us;
	char path[PATH_MAX], v[BUNDLE_VERSION_MAX];
	struct err e;
	bool trial;
	int i;

	(void)state;
	install(&fx.a, "TS250P005", fx.key, 4 << 20);
	assert_int_equal(flash_store_image_path(fx.a.store, "sc", path,
						sizeof(path)), 0);
	assert_int_equal(truncate(path, 3 << 20), 0);
	err_clear(&e);
	assert_true(partner_push_bundle(fx.a.partner, "TS250P005", 1, &r,
					&e) < 0);
	assert_non_null(strstr(e.msg, "cannot be exported"));
	assert_non_null(strstr(e.msg, "sc in bank"));
	/* B had begun (the manifest and mc went out) and was told why. */
	for (i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000000 };

		update_status_get(fx.b.update, &us);
		if (us.state == UPDATE_IDLE &&
		    strstr(us.last_message, "abandoned"))
			break;
		nanosleep(&ts, NULL);
	}
	assert_non_null(strstr(us.last_message, "the partner abandoned the "
			       "transfer: this controller's bundle cannot be "
			       "exported"));
	assert_false(us.last_ok);
	assert_true(logged(&fx.b, "receiving bundle TS250P005"));
	running(&fx.b, v, sizeof(v), &trial);
	assert_string_equal(v, "TS250P001");
	assert_false(trial);
	assert_false(fx.b.restarting);
}

static int count_bytes(void *ctx, const void *data, size_t len,
		       struct err *e)
{
	(void)data;
	(void)e;
	*(uint64_t *)ctx += len;
	return 0;
}

/* BEGIN's size, known before any image is read, is what the export
 * then writes. */
static void test_push_begin_size_is_the_export_size(void **state)
{
	struct partner_push_result r;
	uint64_t size = 0;
	char text[96];
	struct err e;

	(void)state;
	install(&fx.a, "TS250P005", fx.key, (1 << 20) + 777);
	err_clear(&e);
	assert_int_equal(flash_store_bundle_export(fx.a.store, count_bytes,
						   &size, &e), 0);
	if (partner_push_bundle(fx.a.partner, "TS250P005", 1, &r, &e) < 0)
		fail_msg("push: %s", e.msg);
	assert_true(r.ok);
	snprintf(text, sizeof(text), "(attempt 1, %llu bytes)",
		 (unsigned long long)size);
	assert_true(logged(&fx.b, text));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file),
		cmocka_unit_test_setup_teardown(test_pfu_record_on_link_up,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_view_from_state,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_settings_converge_when_the_link_returns, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_push_installs_on_the_partner, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_push_same_bundle_is_a_no_op, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_push_no_op_keeps_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_older_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_push_untrusted_key_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_to_a_busy_partner,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_link_drop_mid_transfer_aborts, setup_slow_flash,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_damaged_source_is_refused_by_b, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_short_source_aborts_before_b_activates, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_push_begin_size_is_the_export_size, setup,
			teardown),
	};

	/* As tandemd: a peer's closed socket is an error return, not a
	 * signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
