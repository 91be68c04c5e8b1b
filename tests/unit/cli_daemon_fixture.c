/*
 * cli_daemon_fixture.c: a controller as tandemd --simulator opens it, on a
 * scratch directory, behind its real CLI backend. Replaces only what would
 * differ between runs (clock, serials, event times); must not invent
 * state the daemon does not have.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_daemon_fixture.h"

static time_t fixture_now(void *ctx)
{
	(void)ctx;
	return CLI_FIXTURE_NOW;
}

struct fixture_walk {
	cli_event_fn fn;
	void *arg;
	unsigned n;
};

/* The log's order and content (newest first), at fixed times one step
 * apart, going back from the fixture's clock. */
static int fixture_event(void *ctx, const struct cli_event *ev)
{
	struct fixture_walk *w = ctx;
	struct cli_event copy = *ev;

	copy.time = CLI_FIXTURE_NOW - (time_t)++w->n * CLI_FIXTURE_EVENT_STEP;
	return w->fn(w->arg, &copy);
}

static int fixture_events(void *ctx, cli_event_fn fn, void *arg,
			  struct err *e)
{
	struct fixture_walk w = { fn, arg, 0 };

	return controller_cli_backend.events_iterate(ctx, fixture_event, &w,
						     e);
}

const struct cli_backend *cli_daemon_fixture_ops(void)
{
	static struct cli_backend ops;

	ops = controller_cli_backend;
	ops.now = fixture_now;
	ops.events_iterate = fixture_events;
	return &ops;
}

/*
 * Fixture key pair: a fixed key (test data only, trusted by no product)
 * so that the key id in the code load report stays the same.
 */
static const char fixture_private_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIA/KzDofOCVyVefOEaUEygMSZ7miupsIpVFDSSsolumn\n"
	"-----END PRIVATE KEY-----\n";
static const char fixture_public_key[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAQeUbvd5xg688l9gxBz8iu2nRhZ/pa1MLdQM86TkRlz0=\n"
	"-----END PUBLIC KEY-----\n";

static void file_put(const char *dir, const char *name, const void *data,
		     size_t len)
{
	char path[160];
	struct err e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(fs_atomic_write(path, data, len, 0600, &e), 0);
}

static void text_put(const char *dir, const char *name, const char *text)
{
	file_put(dir, name, text, strlen(text));
}

/* A bundle as `tandem bundle create` makes it, from fixed bytes. */
static void bundle_make(const char *dir, const char *out,
			const char *version)
{
	struct bundle_create_spec spec = {
		.version = version,
		.build_date = "Wed Jun 02 09:00:00 UTC 2021",
		.models = { CONTROLLER_MODEL }, .nmodels = 1,
		.ncomponents = 2,
	};
	char key[128], mc[128], sc[128], mc_version[BUNDLE_VERSION_MAX],
	     sc_version[BUNDLE_VERSION_MAX];
	uint8_t data[3000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	text_put(dir, "bundle.key", fixture_private_key);
	file_put(dir, "mc.bin", "#!/bin/sh\nexit 0\n", 18);
	file_put(dir, "sc.bin", data, sizeof(data));
	snprintf(key, sizeof(key), "%s/bundle.key", dir);
	snprintf(mc, sizeof(mc), "%s/mc.bin", dir);
	snprintf(sc, sizeof(sc), "%s/sc.bin", dir);
	spec.key_path = key;
	/* Component versions follow the bundle's: TS250P003 has TSM250P003. */
	snprintf(mc_version, sizeof(mc_version), "TSM%s", version + 2);
	snprintf(sc_version, sizeof(sc_version), "TSS%s", version + 2);
	spec.components[0] = (struct bundle_create_component){
		"mc", mc_version, mc, BUNDLE_FLAG_EXECUTABLE };
	spec.components[1] = (struct bundle_create_component){
		"sc", sc_version, sc, 0 };
	struct err e;

	if (bundle_create(&spec, out, &e) < 0)
		fail_msg("bundle_create: %s", e.msg);
}

/* The bundle through the update engine, as an FTP STOR hands it over. */
static void code_load(struct controller *c, const char *path)
{
	struct update_job *job;
	struct buf data, report;
	struct err e;

	buf_init(&data, 1 << 20);
	buf_init(&report, UPDATE_REPORT_MAX);
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &e), 0);
	job = update_begin(c->update, "FTP", "manage", false, &e);
	if (!job)
		fail_msg("update_begin: %s", e.msg);
	assert_int_equal(update_feed(job, data.data, data.len, &e), 0);
	if (update_finish(job, &report, NULL, NULL, &e) < 0)
		fail_msg("update_finish: %s\n%s", e.msg, report.data);
	assert_true(update_restart_pending(c->update));
	buf_free(&data);
	buf_free(&report);
}

static void controller_start(struct cli_daemon_fixture *f)
{
	char path[128];
	struct err e;

	snprintf(path, sizeof(path), "%s/a", f->dir);
	if (controller_open(&f->controller, path, 'A', "127.0.0.2", true, 0,
			    &e) < 0)
		fail_msg("controller_open: %s", e.msg);
	controller_started(&f->controller);
}

/*
 * A controller's life up to the golden: first start (as `tandem
 * enclosure init` leaves it: identity and trusted key in config), a code
 * load over the update engine, the MC restart into the new bank, which
 * confirms it. Lived once, in a template directory; each fixture then
 * opens a copy of the state it left, as the running tandemd holds it
 * (the copy spares every golden the password hashing of the default
 * users and the code load).
 */
static char template_dir[64];

static void template_remove(void)
{
	fs_remove_tree(template_dir);
}

void cli_daemon_fixture_load(struct controller *c, const char *dir,
			     const char *version)
{
	char bundle[160];

	snprintf(bundle, sizeof(bundle), "%s/b.tar", dir);
	bundle_make(dir, bundle, version);
	code_load(c, bundle);
}

static void template_make(void)
{
	struct cli_daemon_fixture f;
	char path[128];
	struct err e;

	snprintf(template_dir, sizeof(template_dir),
		 "/tmp/tandem-cli-golden-XXXXXX");
	assert_non_null(mkdtemp(template_dir));
	atexit(template_remove);
	snprintf(f.dir, sizeof(f.dir), "%s", template_dir);
	snprintf(path, sizeof(path), "%s/a/config/keys", f.dir);
	assert_int_equal(fs_mkdir_p(path, 0700, &e), 0);
	text_put(path, "fixture.pub", fixture_public_key);
	snprintf(path, sizeof(path), "%s/a/config", f.dir);
	text_put(path, "serial", CLI_FIXTURE_SERIAL "\n");
	text_put(path, "midplane-serial", CLI_FIXTURE_MIDPLANE "\n");
	controller_start(&f);
	cli_daemon_fixture_load(&f.controller, f.dir, CLI_FIXTURE_BUNDLE);
	controller_close(&f.controller);
	controller_start(&f);
	controller_close(&f.controller);
}

void cli_daemon_fixture_open(struct cli_daemon_fixture *f)
{
	char command[256], path[128];
	struct err e;

	if (!template_dir[0])
		template_make();
	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-cli-golden-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(command, sizeof(command), "cp -a %s/a %s/a", template_dir,
		 f->dir);
	assert_int_equal(system(command), 0);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	if (controller_open(&f->controller, path, 'A', "127.0.0.2", true, 0,
			    &e) < 0)
		fail_msg("controller_open: %s", e.msg);
}

void cli_daemon_fixture_close(struct cli_daemon_fixture *f)
{
	controller_close(&f->controller);
	assert_int_equal(fs_remove_tree(f->dir), 0);
}
