/* test_config_user_format.c: the users' stored output format (users.json
 * "output-format"): default, change, persistence, old files, bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/common.h"
#include "config/config.h"
#include "events/events.h"

struct fixture {
	char dir[64];
	char cfgdir[128];
	char users[160];
	struct events_log *events;
	struct config *cfg;
};

static void reopen(struct fixture *f)
{
	struct err e;

	config_close(f->cfg);
	f->cfg = NULL;
	if (config_open(f->cfgdir, f->events, &f->cfg, &e) < 0)
		fail_msg("config_open: %s", e.msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char evpath[160];
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-format-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->cfgdir, sizeof(f->cfgdir), "%s/config", f->dir);
	snprintf(f->users, sizeof(f->users), "%s/users.json", f->cfgdir);
	snprintf(evpath, sizeof(evpath), "%s/events.log", f->dir);
	if (events_open(evpath, 'A', 0, &f->events, NULL, &e) < 0)
		return -1;
	reopen(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	config_close(f->cfg);
	events_close(f->events);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void add_user(struct fixture *f, const char *name)
{
	struct config_user u;
	struct err e;

	config_user_defaults(&u, name, CONFIG_ROLE_MONITOR);
	if (config_user_create(f->cfg, &u, "Script-pass1", &e) < 0)
		fail_msg("create %s: %s", name, e.msg);
}

static enum config_output output_of(struct fixture *f, const char *name)
{
	struct config_user u;

	assert_int_equal(config_user_get(f->cfg, name, &u), 0);
	return u.output;
}

/* users.json rewritten through fn, with a checksum that matches (the
 * format store.c checks: CRC32C of the compact, sorted body). */
static void rewrite_users(struct fixture *f, void (*fn)(json_t *users))
{
	json_t *root = json_load_file(f->users, 0, NULL);
	char sum[9], *text;

	assert_non_null(root);
	fn(json_object_get(root, "users"));
	json_object_del(root, "checksum");
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(sum, sizeof(sum), "%08x", crc32c(0, text, strlen(text)));
	free(text);
	json_object_set_new(root, "checksum", json_string(sum));
	assert_int_equal(json_dump_file(root, f->users, JSON_INDENT(2)), 0);
	json_decref(root);
}

static void test_default_change_persist(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"console", "api", "api-embed", "json",
	};
	struct err e;

	add_user(f, "script");
	add_user(f, "other");
	assert_int_equal(output_of(f, "script"), CONFIG_OUTPUT_CONSOLE);
	for (size_t i = 0; i < 4; i++) {
		enum config_output o;

		assert_int_equal(config_output_parse(names[i], &o, &e), 0);
		assert_int_equal(o, i);
		assert_string_equal(config_output_name(o), names[i]);
		assert_int_equal(config_user_set_output(f->cfg, "script", o,
							&e), 0);
		reopen(f);
		assert_int_equal(output_of(f, "script"), o);
		/* Only that user changed. */
		assert_int_equal(output_of(f, "other"), CONFIG_OUTPUT_CONSOLE);
	}
	/* A change of the other fields keeps it. */
	struct config_user u;

	assert_int_equal(config_user_get(f->cfg, "script", &u), 0);
	u.precision = 3;
	assert_int_equal(config_user_update(f->cfg, &u, &e), 0);
	reopen(f);
	assert_int_equal(output_of(f, "script"), CONFIG_OUTPUT_JSON);
}

static void test_bad_values_change_nothing(void **state)
{
	struct fixture *f = *state;
	enum config_output o = CONFIG_OUTPUT_API;
	struct config_user u;
	struct err e;

	add_user(f, "script");
	assert_int_equal(config_user_set_output(f->cfg, "script",
						CONFIG_OUTPUT_API, &e), 0);
	assert_int_equal(config_output_parse("xml", &o, &e), CONFIG_ERR_VALUE);
	assert_int_equal(config_output_parse("API", &o, &e), CONFIG_ERR_VALUE);
	assert_int_equal(config_output_parse("", &o, &e), CONFIG_ERR_VALUE);
	assert_non_null(strstr(e.msg, "console, api, api-embed or json"));
	assert_int_equal(o, CONFIG_OUTPUT_API);		/* untouched */
	/* Just over the last value: refused by both setters. */
	assert_int_equal(config_user_set_output(f->cfg, "script",
						CONFIG_OUTPUT_JSON + 1, &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_user_get(f->cfg, "script", &u), 0);
	u.output = CONFIG_OUTPUT_JSON + 1;
	assert_int_equal(config_user_update(f->cfg, &u, &e), CONFIG_ERR_VALUE);
	assert_int_equal(config_user_set_output(f->cfg, "nobody",
						CONFIG_OUTPUT_JSON, &e),
			 CONFIG_ERR_NO_USER);
	reopen(f);
	assert_int_equal(output_of(f, "script"), CONFIG_OUTPUT_API);
}

static void drop_format(json_t *users)
{
	size_t i;
	json_t *u;

	json_array_foreach(users, i, u)
		json_object_del(u, "output-format");
}

static void bad_format(json_t *users)
{
	json_object_set_new(json_array_get(users, 0), "output-format",
			    json_string("xml"));
}

/* A users.json from before the field loads, every user on console; an
 * unknown value stops the open with the file named, never read as a
 * default (as any other malformed user field). */
static void test_old_and_bad_files(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = NULL;
	struct err e;

	add_user(f, "script");
	rewrite_users(f, drop_format);
	reopen(f);
	assert_int_equal(output_of(f, "script"), CONFIG_OUTPUT_CONSOLE);
	/* Saved again: the field is written from now on. */
	assert_int_equal(config_user_set_output(f->cfg, "script",
						CONFIG_OUTPUT_API_EMBED, &e),
			 0);
	reopen(f);
	assert_int_equal(output_of(f, "script"), CONFIG_OUTPUT_API_EMBED);
	rewrite_users(f, bad_format);
	config_close(f->cfg);
	f->cfg = NULL;
	assert_int_equal(config_open(f->cfgdir, f->events, &cfg, &e),
			 CONFIG_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "users.json: user 1 is malformed"));
	assert_null(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_change_persist,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values_change_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_and_bad_files, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
