/*
 * test_cli.c: the CLI engine: golden replies of every command in console,
 * api and json modes, rendered through tandemd's own backend over a fresh
 * controller (`ninja cli-golden-update` rewrites them; the test only
 * compares), the parser's limits, keyword prefixes, roles, error forms,
 * and that a failed set changes nothing (the test backend).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli_daemon_fixture.h"
#include "cli_test_backend.h"

struct fixture {
	struct cli_test_backend backend;
	struct cli_daemon_fixture *daemon;	/* or NULL: the test backend */
	struct cli_session *s;
	struct buf out;
	int rc;
};

static struct fixture *fx_new(enum cli_role role, bool partner_up)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	cli_test_backend_init(&f->backend);
	f->backend.partner_up = partner_up;
	f->s = cli_session_new(&cli_test_backend_ops, &f->backend,
			       role == CLI_ROLE_MANAGE ? "manage" : "monitor",
			       role);
	assert_non_null(f->s);
	buf_init(&f->out, CLI_OUTPUT_MAX);
	return f;
}

/* A session on tandemd's own backend (cli_daemon_fixture.c). */
static struct fixture *fx_new_daemon(enum cli_role role)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->daemon = calloc(1, sizeof(*f->daemon));
	assert_non_null(f->daemon);
	cli_daemon_fixture_open(f->daemon);
	f->s = cli_session_new(cli_daemon_fixture_ops(),
			       &f->daemon->controller,
			       role == CLI_ROLE_MANAGE ? "manage" : "monitor",
			       role);
	assert_non_null(f->s);
	buf_init(&f->out, CLI_OUTPUT_MAX);
	return f;
}

static void fx_free(struct fixture *f)
{
	buf_free(&f->out);
	cli_session_free(f->s);
	if (f->daemon) {
		cli_daemon_fixture_close(f->daemon);
		free(f->daemon);
	}
	free(f);
}

/* Runs one line; the reply is in f->out.data ("" if none). */
static const char *run(struct fixture *f, const char *line)
{
	buf_reset(&f->out);
	f->rc = cli_session_execute(f->s, line, strlen(line), &f->out);
	return f->out.data ? f->out.data : "";
}

/* ---- golden files ---- */

/*
 * Each golden is rendered through tandemd's own backend over a fresh
 * controller (cli_daemon_fixture.c), except those marked two_controllers:
 * a partner that answers exists only in the test backend until the
 * partner link is built, so the views of both controllers come from it.
 */
struct golden {
	const char *name;
	const char *pre;		/* run first, reply ignored */
	const char *line;
	enum cli_role role;
	bool two_controllers;		/* the test backend, partner up */
	bool partner_down;		/* the test backend, partner down */
	bool pfu_halted;		/* the test backend, PFU halted */
};

#define M CLI_ROLE_MANAGE
static const struct golden goldens[] = {
	{ "show_versions", NULL, "show versions", M, true },
	{ "show_versions_partner_down", NULL, "show versions", M, false },
	{ "show_controllers", NULL, "show controllers", M, true },
	{ "show_system", NULL, "show system", M, false },
	{ "show_advanced_settings", NULL, "show advanced-settings", M, false },
	{ "set_advanced_settings", NULL,
	  "set advanced-settings partner-firmware-upgrade disabled", M,
	  false },
	{ "show_protocols", NULL, "show protocols", M, false },
	{ "set_protocols", NULL, "set protocols ftp enabled telnet on", M,
	  false },
	{ "show_events", NULL, "show events", M, false },
	{ "show_events_filtered", NULL, "show events last 1 warning", M,
	  false },
	{ "show_firmware_update_status", NULL, "show firmware-update-status",
	  M, false },
	{ "show_configuration", NULL, "show configuration", M, false },
	{ "show_cli_parameters", "set cli-parameters pager off timeout 600",
	  "show cli-parameters", M, false },
	{ "set_cli_parameters", NULL, "set cli-parameters pager off", M,
	  false },
	{ "show_users", "create user roles manage interfaces cli,ftp "
	  "password Secret-1 ops", "show users", M, false },
	{ "create_user", NULL,
	  "create user password Secret-1 roles monitor bob", M, false },
	{ "set_password", NULL, "set password user monitor password N3w-pass",
	  M, false },
	{ "delete_user", NULL, "delete user noprompt monitor", M, false },
	{ "restart", NULL, "restart sc both", M, true },
	{ "restart_sc", NULL, "restart sc a", M, false },
	{ "restart_partner_down", NULL, "restart mc b", M, false },
	/* The daemon's own shutdown a would stop the test: system tests. */
	{ "shutdown", NULL, "shutdown a", M, true },
	{ "shutdown_partner_down", NULL, "shutdown b", M, false },
	{ "help", NULL, "help", M, false },
	{ "help_monitor", NULL, "help", CLI_ROLE_MONITOR, false },
	{ "help_show_events", NULL, "help show events", M, false },
	{ "error_unknown", NULL, "frobnicate the array", M, false },
	{ "error_ambiguous", NULL, "show c", M, false },
	{ "error_parameter", NULL, "set protocols ftp maybe", M, false },
	{ "error_monitor", NULL, "set protocols ftp enabled",
	  CLI_ROLE_MONITOR, false },
	/* Both controllers: partner up, partner down, PFU halted. */
	{ "show_controllers_partner_down", NULL, "show controllers", M, true,
	  true, false },
	{ "show_system_partner_up", NULL, "show system", M, true },
	{ "show_system_pfu_halted", NULL, "show system", M, true, false,
	  true },
	{ "show_redundancy_mode", NULL, "show redundancy-mode", M, true },
	{ "show_redundancy_mode_partner_down", NULL, "show redundancy-mode",
	  M, true, true, false },
	{ "show_redundancy_mode_single", NULL, "show redundancy-mode", M,
	  false },
	{ "check_firmware_upgrade_health", NULL,
	  "check firmware-upgrade-health", M, false },
	{ "check_firmware_upgrade_health_partner_up", NULL,
	  "check firmware-upgrade-health", CLI_ROLE_MONITOR, true },
	{ "check_firmware_upgrade_health_partner_down", NULL,
	  "check firmware-upgrade-health", M, true, true, false },
	{ "check_firmware_upgrade_health_pfu_halted", NULL,
	  "check firmware-upgrade-health", M, true, false, true },
	{ "show_firmware_update_status_pfu_halted", NULL,
	  "show firmware-update-status", M, true, false, true },
	{ "rollback_firmware", NULL, "rollback firmware", M, true, false,
	  true },
	{ "rollback_firmware_daemon", NULL, "rollback firmware noprompt", M,
	  false },
	{ "error_monitor_rollback", NULL, "rollback firmware",
	  CLI_ROLE_MONITOR, true },
	/* Hardware and storage: what Tandem has, and the empty lists. */
	{ "show_enclosures", NULL, "show enclosures", CLI_ROLE_MONITOR,
	  false },
	{ "show_enclosures_pfu_halted", NULL, "show enclosures", M, true,
	  false, true },
	{ "show_frus", NULL, "show frus", M, true },
	{ "show_frus_partner_down", NULL, "show frus", M, true, true, false },
	{ "show_disks", NULL, "show disks", CLI_ROLE_MONITOR, false },
	{ "show_controller_statistics", NULL, "show controller-statistics",
	  M, false },
	{ "show_sensor_status", NULL, "show sensor-status", M, false },
	{ "show_volumes", NULL, "show volumes", M, false },
	{ "show_disk_groups", NULL, "show disk-groups", M, false },
	{ "show_disk_group_statistics", NULL, "show disk-group-statistics",
	  M, false },
	{ "show_disk_statistics", NULL, "show disk-statistics", M, false },
	{ "show_fans", NULL, "show fans", M, false },
	{ "show_pools", NULL, "show pools", M, false },
	{ "show_ports", NULL, "show ports", M, false },
	{ "show_power_supplies", NULL, "show power-supplies", M, false },
	{ "show_sas_link_health", NULL, "show sas-link-health", M, false },
	{ "show_vdisks", NULL, "show vdisks", M, false },
	{ "show_volume_statistics", NULL, "show volume-statistics", M, false },
	{ "show_controller_date", NULL, "show controller-date",
	  CLI_ROLE_MONITOR, false },
	{ "error_show_disks_argument", NULL, "show disks 1.1", M, false },
};
#undef M

static const char *const golden_modes[] = { "console", "api", "json" };

/*
 * Goldens are compared, never written, by the test: `ninja
 * cli-golden-update` runs this program with --update-goldens, which
 * rewrites them for review in git diff and is no test. A leftover
 * CLI_GOLDEN_UPDATE (the old switch) fails the run rather than pass it.
 */
static bool golden_update;
static unsigned golden_written;

static void golden_check(const char *name, const char *mode,
			 const char *got)
{
	char path[512];
	struct buf want;
	struct err e;

	snprintf(path, sizeof(path), "%s/golden/cli/%s.%s.txt", TEST_SRCDIR,
		 name, mode);
	if (golden_update) {
		assert_int_equal(fs_atomic_write(path, got, strlen(got), 0644,
						 &e), 0);
		golden_written++;
		return;
	}
	buf_init(&want, CLI_OUTPUT_MAX);
	if (fs_read_file(path, CLI_OUTPUT_MAX, &want, &e) < 0)
		fail_msg("%s: %s (run `ninja cli-golden-update`)", path,
			 e.msg);
	if (strcmp(want.data ? want.data : "", got) != 0) {
		fprintf(stderr, "--- %s\n%s--- got\n%s", path,
			want.data ? want.data : "", got);
		fail_msg("%s differs", path);
	}
	buf_free(&want);
}

static void test_golden(void **state)
{
	char line[128];
	size_t i, m;

	(void)state;
	if (getenv("CLI_GOLDEN_UPDATE"))
		fail_msg("CLI_GOLDEN_UPDATE is set: goldens are rewritten "
			 "only by `ninja cli-golden-update`, never by a test");
	for (i = 0; i < ARRAY_SIZE(goldens); i++) {
		for (m = 0; m < ARRAY_SIZE(golden_modes); m++) {
			const struct golden *g = &goldens[i];
			struct fixture *f = g->two_controllers ?
					    fx_new(g->role, !g->partner_down) :
					    fx_new_daemon(g->role);

			if (g->two_controllers)
				f->backend.pfu_halted = g->pfu_halted;

			snprintf(line, sizeof(line), "set cli-parameters %s",
				 golden_modes[m]);
			run(f, line);
			if (g->pre)
				run(f, g->pre);
			golden_check(g->name, golden_modes[m], run(f, g->line));
			fx_free(f);
		}
	}
}

static void test_golden_api_embed(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

	(void)state;
	run(f, "set cli-parameters api-embed");
	golden_check("show_versions", "api-embed", run(f, "show versions"));
	fx_free(f);
}

/* ---- parser ---- */

static void test_prefix_and_case(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	char *full;

	(void)state;
	full = strdup(run(f, "show versions"));
	assert_string_equal(run(f, "show version"), full);
	assert_string_equal(run(f, "SHOW VERSIONS"), full);
	assert_string_equal(run(f, "sho ver"), full);
	assert_string_equal(run(f, "  show\tversions  \r\n"), full);
	free(full);
	assert_non_null(strstr(run(f, "s versions"),
			       "Error: The command 's' is ambiguous"));
	/* exact beats prefix: "api" is not ambiguous with api-embed */
	run(f, "set cli-parameters api");
	assert_int_equal(cli_session_parameters(f->s)->output,
			 CLI_OUTPUT_API);
	run(f, "set cli-parameters console");
	assert_non_null(strstr(run(f, "set cli-parameters a"),
			       "is ambiguous"));
	fx_free(f);
}

static void test_errors_name_the_word(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	const char *r;

	(void)state;
	r = run(f, "show nonsense");
	assert_non_null(strstr(r, "Error: The parameter 'nonsense' was not recognized: expected advanced-settings"));
	r = run(f, "show");
	assert_non_null(strstr(r, "Error: The command 'show' is incomplete"));
	r = run(f, "set protocols ftp");
	assert_non_null(strstr(r, "incomplete: expected enabled|disabled"));
	r = run(f, "show versions now");
	assert_non_null(strstr(r, "'now' was not recognized"));
	r = run(f, "show \"unterminated");
	assert_non_null(strstr(r, "not closed"));
	r = run(f, "show \x1b[2Jversions");
	assert_non_null(strstr(r, "control character"));
	/* Bytes that are not printable never come back verbatim. */
	r = run(f, "\xff\xfe\x80");
	assert_non_null(strstr(r, "'?" "?" "?' was not recognized"));
	assert_int_equal(f->rc, CLI_EXECUTE_CONTINUE);
	run(f, "set cli-parameters api");
	r = run(f, "bogus");
	assert_non_null(strstr(r, "<PROPERTY name=\"response-type\" type=\"string\" size=\"12\" draw=\"false\" sort=\"nosort\" display-name=\"Response Type\">Error</PROPERTY>"));
	assert_non_null(strstr(r, ">-1</PROPERTY>"));
	fx_free(f);
}

static void test_line_limits(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	char *line = malloc(CLI_LINE_MAX + 2);
	size_t i;

	(void)state;
	/* "help" + spaces: at the limit it runs, one over it is refused. */
	memset(line, ' ', CLI_LINE_MAX + 1);
	memcpy(line, "help", 4);
	buf_reset(&f->out);
	cli_session_execute(f->s, line, CLI_LINE_MAX, &f->out);
	assert_null(strstr(f->out.data, "Error"));
	buf_reset(&f->out);
	cli_session_execute(f->s, line, CLI_LINE_MAX + 1, &f->out);
	assert_non_null(strstr(f->out.data, "longer than 4096 bytes"));
	/* Words: CLI_WORDS_MAX fit, one more does not. */
	line[0] = '\0';
	for (i = 0; i < CLI_WORDS_MAX; i++)
		strcat(line, i == 0 ? "help" : " x");
	assert_null(strstr(run(f, line), "more than"));
	strcat(line, " x");
	assert_non_null(strstr(run(f, line), "more than 64 words"));
	free(line);
	fx_free(f);
}

/* help lists the commands in alphabetical order of their words, whatever
 * order the table's rows were added in. */
static void test_help_in_order(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	char prev[256] = "", cur[256];
	const char *p = run(f, "help");
	unsigned listed = 0;

	(void)state;
	for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		size_t n = strcspn(p, "\n"), words = 0, i;

		if (*p == ' ' || n == 0 || n >= sizeof(cur) || *p == '#')
			continue;
		/* The command's words: up to the second space. */
		for (i = 0; i < n && words < 2; i++)
			words += p[i] == ' ';
		if (words == 2)
			i--;
		memcpy(cur, p, i);
		cur[i] = '\0';
		if (!strchr("abcdefghijklmnopqrstuvwxyz", cur[0]))
			continue;
		assert_true(strcmp(prev, cur) < 0 ||
			    (fprintf(stderr, "'%s' after '%s'\n", cur, prev),
			     false));
		memcpy(prev, cur, sizeof(prev));
		listed++;
	}
	assert_true(listed > 30);
	fx_free(f);
}

static void test_every_prefix(void **state)
{
	const char *lines[] = {
		"set protocols ftp enabled telnet on",
		"create user interfaces cli,wbi password \"a b\" roles manage x",
		"show events last 3 a critical",
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		for (n = 0; n <= strlen(lines[i]); n++) {
			struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

			buf_reset(&f->out);
			cli_session_execute(f->s, lines[i], n, &f->out);
			assert_int_equal(f->rc, CLI_EXECUTE_CONTINUE);
			if (n > 0 && lines[i][n - 1] != ' ')
				assert_non_null(strstr(f->out.data, ": "));
			fx_free(f);
		}
	}
}

/* ---- behaviour ---- */

static void test_monitor_role(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MONITOR, true);
	const char *denied[] = {
		"set protocols ftp enabled",
		"set advanced-settings partner-firmware-upgrade disabled",
		"create user password x y", "delete user manage",
		"set password password abc", "restart mc a", "shutdown both",
		"rollback firmware", "rollback firmware noprompt",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(denied); i++)
		assert_non_null(strstr(run(f, denied[i]),
				       "Error: Permission denied"));
	assert_string_equal(cli_test_backend_setting(&f->backend, "ftp"),
			    "disabled");
	assert_int_equal(f->backend.nusers, 2);
	assert_string_equal(f->backend.last_action, "");
	assert_non_null(strstr(run(f, "show protocols"), "Success"));
	assert_non_null(strstr(run(f, "show redundancy-mode"), "Success"));
	assert_non_null(strstr(run(f, "check firmware-upgrade-health"),
			       "Overall Health: Pass"));
	assert_non_null(strstr(run(f, "set cli-parameters pager off"),
			       "Success"));
	assert_false(cli_session_parameters(f->s)->pager);
	run(f, "exit");
	assert_int_equal(f->rc, CLI_EXECUTE_EXIT);
	fx_free(f);
}

static void test_set_protocols_all_or_nothing(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

	(void)state;
	assert_non_null(strstr(run(f, "set protocols ftp enabled telnet maybe"),
			       "Error:"));
	assert_string_equal(cli_test_backend_setting(&f->backend, "ftp"),
			    "disabled");
	assert_non_null(strstr(run(f, "set protocols ftp on snmp enabled"),
			       "not provided by this controller"));
	assert_string_equal(cli_test_backend_setting(&f->backend, "ftp"),
			    "disabled");
	assert_non_null(strstr(run(f, "set protocols ftp on ftp off"),
			       "more than once"));
	f->backend.fail_settings = true;
	assert_non_null(strstr(run(f, "set protocols ftp on"),
			       "Error: The settings were not changed: config write failed"));
	f->backend.fail_settings = false;
	assert_non_null(strstr(run(f, "set protocols ftp on telnet enabled"),
			       "Info: Parameter 'ftp' was set to 'enabled'. (2021-06-02 09:51:26)\nInfo: Parameter 'telnet' was set to 'enabled'. (2021-06-02 09:51:26)\nSuccess: Command completed successfully. - The settings were changed successfully. (2021-06-02 09:51:26)\n"));
	assert_string_equal(cli_test_backend_setting(&f->backend, "ftp"),
			    "enabled");
	assert_string_equal(cli_test_backend_setting(&f->backend,
						     "cli-telnet"), "enabled");
	assert_non_null(strstr(run(f, "show protocols"),
			       "File Transfer Protocol (FTP): Enabled"));
	run(f, "set advanced-settings partner-firmware-upgrade off");
	assert_string_equal(cli_test_backend_setting(&f->backend,
						     CLI_SETTING_PFU),
			    "disabled");
	assert_non_null(strstr(run(f, "show advanced-settings"),
			       "Partner Firmware Upgrade: Disabled"));
	fx_free(f);
}

static void test_partner_unavailable(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, false);
	const char *r;

	(void)state;
	r = run(f, "show versions");
	assert_non_null(strstr(r, "Controller A Versions"));
	assert_null(strstr(r, "Controller B Versions"));
	assert_non_null(strstr(r, "Warning: Controller B is not available: no heartbeat"));
	r = run(f, "shutdown both");
	assert_non_null(strstr(r, "Error: The shutdown was not started: the partner controller is not available"));
	assert_string_equal(f->backend.last_action, "");
	assert_non_null(strstr(run(f, "shutdown a"), "Success"));
	assert_string_equal(f->backend.last_action, "shutdown 1");
	fx_free(f);
}

/* The partner's state reaches every answer: redundancy, readiness. */
static void test_redundancy_and_readiness(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	json_error_t je;
	json_t *root, *o, *reasons;
	const char *r;

	(void)state;
	r = run(f, "show redundancy-mode");
	assert_non_null(strstr(r, "Controller Redundancy Status: Redundant\n"));
	assert_non_null(strstr(r, "Controller B Status: Operational\n"));
	f->backend.partner_up = false;
	r = run(f, "show redundancy-mode");
	assert_non_null(strstr(r, "Controller Redundancy Status: Operational but not redundant\n"));
	assert_non_null(strstr(r, "Controller B Status: Down\n"));
	assert_non_null(strstr(r, "Other MC Status: Not Operational\n"));
	assert_non_null(strstr(r, "Warning: Controller B is not available"));
	r = run(f, "show controllers");
	assert_non_null(strstr(r, "Status: Down\n"));
	assert_non_null(strstr(r, "Warning: Controller B is not available: no heartbeat"));
	/* Every failing condition is its own reason object. */
	f->backend.pfu_halted = true;
	run(f, "set cli-parameters json");
	root = json_loads(run(f, "check firmware-upgrade-health"), 0, &je);
	assert_non_null(root);
	o = json_array_get(json_object_get(root, "code-load-readiness"), 0);
	assert_string_equal(json_string_value(json_object_get(o,
			    "overall-health")), "Fail");
	assert_int_equal(json_integer_value(json_object_get(o,
			 "overall-health-numeric")), 1);
	/* Nested in the verdict, as the family's clients read them. */
	assert_null(json_object_get(root, "code-load-readiness-reasons"));
	reasons = json_object_get(o, "code-load-readiness-reasons");
	assert_int_equal(json_array_size(reasons), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(reasons, 0), "reason-id")), "partner-down");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(reasons, 1), "reason-id")), "pfu-halted");
	json_decref(root);
	/* Back to health: a pass carries no reason objects. */
	f->backend.partner_up = true;
	f->backend.pfu_halted = false;
	root = json_loads(run(f, "check firmware-upgrade-health"), 0, &je);
	assert_non_null(root);
	o = json_array_get(json_object_get(root, "code-load-readiness"), 0);
	assert_string_equal(json_string_value(json_object_get(o,
			    "overall-health")), "Pass");
	assert_null(json_object_get(o, "code-load-readiness-reasons"));
	json_decref(root);
	assert_non_null(strstr(run(f, "check firmware-upgrade-health now"),
			       "'now' was not recognized"));
	fx_free(f);
}

static void test_rollback(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

	(void)state;
	assert_non_null(strstr(run(f, "rollback firmware later"),
			       "'later' was not recognized"));
	assert_string_equal(f->backend.last_action, "");
	f->backend.rollback_fails = true;
	assert_non_null(strstr(run(f, "rollback firmware"),
			       "Error: The roll back was not started: there is no previous bundle"));
	assert_string_equal(f->backend.last_action, "");
	f->backend.rollback_fails = false;
	assert_non_null(strstr(run(f, "rollback firmware noprompt"),
			       "Success: Command completed successfully. - Returning this controller to its previous bundle"));
	assert_string_equal(f->backend.last_action, "rollback");
	fx_free(f);
}

/* PFU's state in show firmware-update-status and show system. */
static void test_pfu_halted(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MONITOR, true);
	const char *r;

	(void)state;
	r = run(f, "show firmware-update-status");
	assert_non_null(strstr(r, "PFU Attempts: 0 of 3\n"));
	assert_null(strstr(r, "PFU Ways Out"));
	f->backend.pfu_halted = true;
	r = run(f, "show firmware-update-status");
	assert_non_null(strstr(r, "PFU Status: Halted\n"));
	assert_non_null(strstr(r, "PFU Attempts: 3 of 3\n"));
	assert_non_null(strstr(r, "PFU Ways Out: Roll forward"));
	assert_non_null(strstr(r, "'rollback firmware'"));
	assert_non_null(strstr(run(f, "show system"), "PFU Status: Halted\n"));
	fx_free(f);
}

/* Every enclosure-wide advanced setting of tandemd's config table is
 * shown and set by name, numbers as well as switches, all or none. */
static void test_advanced_settings_generic(void **state)
{
	struct fixture *f = fx_new_daemon(CLI_ROLE_MANAGE);
	struct config *cfg = f->daemon->controller.config;
	const char *r;

	(void)state;
	r = run(f, "show advanced-settings");
	assert_non_null(strstr(r, "Partner Firmware Upgrade: Enabled\n"));
	assert_non_null(strstr(r, "PFU Attempt Limit: 3\n"));
	r = run(f, "set advanced-settings pfu-attempt-limit 7 "
		"partner-firmware-upgrade off");
	assert_non_null(strstr(r, "Info: Parameter 'pfu-attempt-limit' was set to '7'."));
	assert_int_equal(config_get_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT), 7);
	assert_false(config_get_bool(cfg, CONFIG_PARTNER_FIRMWARE_UPGRADE));
	/* Out of range: refused before anything changes. */
	r = run(f, "set advanced-settings partner-firmware-upgrade on "
		"pfu-attempt-limit 21");
	assert_non_null(strstr(r, "Error: The value '21' for 'pfu-attempt-limit' is not a number from 1 to 20."));
	assert_int_equal(config_get_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT), 7);
	assert_false(config_get_bool(cfg, CONFIG_PARTNER_FIRMWARE_UPGRADE));
	/* Controller-scope settings are not advanced settings. */
	r = run(f, "set advanced-settings login-lockout-threshold 9");
	assert_non_null(strstr(r, "'login-lockout-threshold' was not recognized"));
	assert_int_equal(config_get_uint(cfg, CONFIG_LOGIN_LOCKOUT_THRESHOLD),
			 5);
	/* The backend checks on its own too: a number out of range. */
	{
		struct cli_setting pairs[2] = {
			{ "partner-firmware-upgrade", "enabled" },
			{ "pfu-attempt-limit", "0" },
		};
		struct err e;

		err_clear(&e);
		assert_int_equal(controller_cli_backend.settings_set(
			&f->daemon->controller, pairs, 2, &e),
			CLI_BACKEND_FAILED);
		assert_string_equal(e.msg, "'0' is not a number from 1 to 20");
		assert_false(config_get_bool(cfg,
				CONFIG_PARTNER_FIRMWARE_UPGRADE));
	}
	fx_free(f);
}

/* The partner's outcome is what PFU appended to the code load's report
 * (its last "Partner: " line), as tandemd keeps it across restarts. */
static void test_partner_outcome_from_report(void **state)
{
	struct fixture *f = fx_new_daemon(CLI_ROLE_MONITOR);
	struct controller *c = &f->daemon->controller;
	char path[PATH_MAX + 32], dir[PATH_MAX];
	json_t *rec;
	char *text;
	struct err e;

	(void)state;
	assert_non_null(strstr(run(f, "show firmware-update-status"),
			       "Partner Outcome: N/A\n"));
	snprintf(dir, sizeof(dir), "%s", c->dir);
	controller_close(c);
	snprintf(path, sizeof(path), "%s/last-codeload.json", dir);
	rec = json_load_file(path, 0, NULL);
	assert_non_null(rec);
	text = NULL;
	assert_int_equal(asprintf(&text, "%s"
		"Partner: Codeload failed: MC flash write error.\n"
		"Partner: Codeload completed successfully.\n",
		json_string_value(json_object_get(rec, "report"))) > 0, 1);
	json_object_set_new(rec, "report", json_string(text));
	free(text);
	text = json_dumps(rec, 0);
	assert_int_equal(fs_atomic_write(path, text, strlen(text), 0644, &e),
			 0);
	free(text);
	json_decref(rec);
	if (controller_open(c, dir, 'A', "127.0.0.2", true, 0, &e) < 0)
		fail_msg("controller_open: %s", e.msg);
	assert_non_null(strstr(run(f, "show firmware-update-status"),
			       "Partner Outcome: Partner: Codeload completed successfully.\n"));
	fx_free(f);
}

static void test_users(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

	(void)state;
	assert_non_null(strstr(run(f, "create user roles manage bob"),
			       "A password is required"));
	assert_non_null(strstr(run(f, "create user password x bad,name"),
			       "user name is not valid"));
	assert_non_null(strstr(run(f, "create user password \"a\\b\" bob"),
			       "password is not valid"));
	assert_non_null(strstr(run(f, "create user password 123456789012345678901234567890123 bob"),
			       "password is not valid"));
	assert_non_null(strstr(run(f, "create user password 12345678901234567890123456789012 abcdefghijklmnopqrstuvwxyz123"),
			       "Success"));
	assert_non_null(strstr(run(f, "create user password x abcdefghijklmnopqrstuvwxyz1234"),
			       "user name is not valid"));
	assert_int_equal(f->backend.nusers, 3);
	assert_non_null(strstr(run(f, "create user password \"two words\" roles manage bob"),
			       "Success"));
	assert_string_equal(f->backend.passwords[3], "two words");
	assert_int_equal(f->backend.users[3].role, CLI_ROLE_MANAGE);
	assert_non_null(strstr(run(f, "create user password y bob"),
			       "already exists"));
	assert_non_null(strstr(run(f, "delete user manage"),
			       "cannot be deleted"));
	assert_non_null(strstr(run(f, "delete user nobody"),
			       "there is no user 'nobody'"));
	assert_non_null(strstr(run(f, "set password password mine"),
			       "Success"));
	assert_string_equal(f->backend.passwords[0], "mine");
	assert_non_null(strstr(run(f, "delete user bob"), "Success"));
	assert_int_equal(f->backend.nusers, 3);
	fx_free(f);
}

/* set user output-format: syntax, roles, and what show users says. */
static void test_set_user_output_format(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	struct fixture *m = fx_new(CLI_ROLE_MONITOR, true);

	(void)state;
	assert_non_null(strstr(run(f, "set user output-format json"),
			       "expected the user name last"));
	assert_non_null(strstr(run(f, "set user output-format xml monitor"),
			       "expected an output format (console, api, api-embed or json)"));
	assert_non_null(strstr(run(f, "set user output-format api nobody"),
			       "there is no user 'nobody'"));
	assert_non_null(strstr(run(f, "set user output-format api bad,name"),
			       "user name is not valid"));
	assert_int_equal(f->backend.users[1].output, CLI_OUTPUT_CONSOLE);
	assert_non_null(strstr(run(f, "set user output-f api-e monitor"),
			       "was set to 'api-embed'"));
	assert_int_equal(f->backend.users[1].output, CLI_OUTPUT_API_EMBED);
	assert_non_null(strstr(run(f, "show users"), "api-embed"));
	/* monitor (its session is "monitor"): its own only. */
	assert_non_null(strstr(run(m, "set user output-format json manage"),
			       "Permission denied"));
	assert_int_equal(m->backend.users[0].output, CLI_OUTPUT_CONSOLE);
	assert_non_null(strstr(run(m, "set user output-format json monitor"),
			       "Success"));
	assert_int_equal(m->backend.users[1].output, CLI_OUTPUT_JSON);
	fx_free(f);
	fx_free(m);
}

static void test_events_filters(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	const char *r;

	(void)state;
	r = run(f, "show events last 2");
	assert_non_null(strstr(r, "#A1437"));
	assert_non_null(strstr(r, "#B212"));
	assert_null(strstr(r, "#A1436"));
	r = run(f, "show events critical");
	assert_non_null(strstr(r, "#A1436"));
	assert_null(strstr(r, "#A1437"));
	r = run(f, "show events b");
	assert_non_null(strstr(r, "#B212"));
	assert_null(strstr(r, "#A14"));
	assert_non_null(strstr(run(f, "show events last 0"), "Error:"));
	assert_non_null(strstr(run(f, "show events last 1001"), "Error:"));
	assert_null(strstr(run(f, "show events last 1000"), "Error:"));
	assert_non_null(strstr(run(f, "show events last"),
			       "incomplete: expected a number"));
	fx_free(f);
}

static void test_json_parses(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);
	json_error_t je;
	json_t *root, *v, *st;

	(void)state;
	run(f, "set cli-parameters json");
	root = json_loads(run(f, "show versions"), 0, &je);
	assert_non_null(root);
	v = json_array_get(json_object_get(root, "versions"), 1);
	assert_string_equal(json_string_value(json_object_get(v,
			    "bundle-version")), "TS251R004-05");
	assert_string_equal(json_string_value(json_object_get(v, "meta")),
			    "/meta/versions");
	st = json_array_get(json_object_get(root, "status"), 0);
	assert_int_equal(json_integer_value(json_object_get(st,
			 "response-type-numeric")), 0);
	json_decref(root);
	fx_free(f);
}

static void test_output_cap(void **state)
{
	struct fixture *f = fx_new(CLI_ROLE_MANAGE, true);

	(void)state;
	/* A small transport buffer: the reply is replaced by a short error. */
	buf_free(&f->out);
	buf_init(&f->out, 400);
	buf_append_str(&f->out, "keep:");
	f->rc = cli_session_execute(f->s, "show configuration", 18, &f->out);
	assert_int_equal(strncmp(f->out.data, "keep:Error: The reply is too large", 34), 0);
	/* The session goes on: an empty line answers nothing at all. */
	assert_string_equal(run(f, ""), "");
	assert_int_equal(f->rc, CLI_EXECUTE_CONTINUE);
	assert_int_equal(f->out.len, 0);
	fx_free(f);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_api_embed),
		cmocka_unit_test(test_prefix_and_case),
		cmocka_unit_test(test_errors_name_the_word),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_help_in_order),
		cmocka_unit_test(test_monitor_role),
		cmocka_unit_test(test_set_protocols_all_or_nothing),
		cmocka_unit_test(test_partner_unavailable),
		cmocka_unit_test(test_redundancy_and_readiness),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_pfu_halted),
		cmocka_unit_test(test_advanced_settings_generic),
		cmocka_unit_test(test_partner_outcome_from_report),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_set_user_output_format),
		cmocka_unit_test(test_events_filters),
		cmocka_unit_test(test_json_parses),
		cmocka_unit_test(test_output_cap),
	};

	const struct CMUnitTest update[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_api_embed),
	};

	if (argc == 2 && strcmp(argv[1], "--update-goldens") == 0) {
		int rc;

		golden_update = true;
		unsetenv("CLI_GOLDEN_UPDATE");
		rc = cmocka_run_group_tests(update, NULL, NULL);
		printf("rewrote %u goldens: review them with git diff\n",
		       golden_written);
		return rc;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
