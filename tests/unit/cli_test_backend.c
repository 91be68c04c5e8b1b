/*
 * cli_test_backend.c: fixed, in-memory data behind struct cli_backend for
 * the unit tests, cli-run and the fuzz target. Changes (settings, users)
 * stay in the struct so tests can check what a command did.
 */
#include <stdio.h>
#include <string.h>

#include "cli_test_backend.h"

/* What tandemd serves (src/daemon/backend.c). */
static const char *const supported[] = {
	CLI_SETTING_PFU, "wbi-http", "wbi-https", "cli-telnet", "cli-ssh",
	"ftp", "sftp",
	"pfu-attempt-limit",
};

void cli_test_backend_init(struct cli_test_backend *b)
{
	static const char *const initial[CLI_TEST_SETTINGS][2] = {
		{ CLI_SETTING_PFU, "enabled" },
		{ "wbi-http", "disabled" }, { "wbi-https", "enabled" },
		{ "cli-telnet", "disabled" }, { "cli-ssh", "enabled" },
		{ "smis", "disabled" }, { "usmis", "disabled" },
		{ "slp", "disabled" }, { "ftp", "disabled" },
		{ "sftp", "enabled" }, { "snmp", "disabled" },
		{ "debug-interface", "disabled" },
		{ "inband-ses", "disabled" },
		{ "activity-progress", "disabled" },
		{ "pfu-attempt-limit", "3" },
	};
	size_t i;

	memset(b, 0, sizeof(*b));
	b->partner_up = true;
	for (i = 0; i < CLI_TEST_SETTINGS; i++) {
		snprintf(b->settings[i].name, sizeof(b->settings[i].name),
			 "%s", initial[i][0]);
		snprintf(b->settings[i].value, sizeof(b->settings[i].value),
			 "%s", initial[i][1]);
	}
	snprintf(b->users[0].name, sizeof(b->users[0].name), "manage");
	b->users[0].role = CLI_ROLE_MANAGE;
	b->users[0].interfaces = CLI_INTERFACE_ALL;
	snprintf(b->passwords[0], sizeof(b->passwords[0]), "!manage");
	snprintf(b->users[1].name, sizeof(b->users[1].name), "monitor");
	b->users[1].role = CLI_ROLE_MONITOR;
	b->users[1].interfaces = CLI_INTERFACE_CLI | CLI_INTERFACE_WBI;
	snprintf(b->passwords[1], sizeof(b->passwords[1]), "!monitor");
	b->nusers = 2;
}

static struct cli_setting *setting_find(struct cli_test_backend *b,
					const char *name)
{
	size_t i;

	for (i = 0; i < CLI_TEST_SETTINGS; i++)
		if (strcmp(b->settings[i].name, name) == 0)
			return &b->settings[i];
	return NULL;
}

const char *cli_test_backend_setting(const struct cli_test_backend *b,
				     const char *name)
{
	return setting_find((struct cli_test_backend *)b, name)->value;
}

static time_t tb_now(void *ctx)
{
	(void)ctx;
	return CLI_TEST_NOW;
}

static char tb_local(void *ctx)
{
	(void)ctx;
	return 'A';
}

#define PFU_FAILURE "controller B's MC flash failed: write error at block 12"
#define PFU_ADVICE "Roll forward: fix controller B and put the bundle to " \
	"its flash:force. Roll back: run 'rollback firmware' here."

static int partner_check(struct cli_test_backend *b, char id, struct err *e)
{
	if (id == 'B' && !b->partner_up)
		return err_set(e, CLI_BACKEND_UNAVAILABLE,
			       "no heartbeat from the partner controller for 3 s");
	return 0;
}

static int tb_versions(void *ctx, char id, struct cli_versions *v,
		       struct err *e)
{
	struct cli_test_backend *b = ctx;

	if (partner_check(b, id, e) < 0)
		return e->code;
	snprintf(v->sc_cpu_type, sizeof(v->sc_cpu_type), "N/A");
	snprintf(v->bundle_version, sizeof(v->bundle_version), "%s",
		 id == 'A' ? "TS252P005" : "TS251R004-05");
	snprintf(v->bundle_base_version, sizeof(v->bundle_base_version),
		 "TS25x");
	snprintf(v->build_date, sizeof(v->build_date),
		 "Wed Sep 19 13:36:08 UTC 2018");
	snprintf(v->sc_fw, sizeof(v->sc_fw), "%s",
		 id == 'A' ? "TSS252P005" : "TSS251R004");
	snprintf(v->mc_fw, sizeof(v->mc_fw), "%s",
		 id == 'A' ? "TSM252P005" : "TSM251R004");
	snprintf(v->mc_loader, sizeof(v->mc_loader), "1.0");
	snprintf(v->fw_default_platform_brand,
		 sizeof(v->fw_default_platform_brand), "N/A");
	snprintf(v->pld_rev, sizeof(v->pld_rev), "N/A");
	snprintf(v->hw_rev, sizeof(v->hw_rev), "N/A");
	/* Left empty on purpose: shown as N/A. */
	return 0;
}

static int tb_controller(void *ctx, char id, struct cli_controller *k,
			 struct err *e)
{
	struct cli_test_backend *b = ctx;

	(void)e;
	k->controller_id = id;
	k->position_top = id == 'A';
	if (id == 'B' && !b->partner_up) {
		/* As tandemd: the partner listed Down, its serial kept. */
		snprintf(k->serial_number, sizeof(k->serial_number),
			 "TANDEM-B-0002");
		k->status = CLI_CONTROLLER_DOWN;
		k->health = CLI_HEALTH_UNKNOWN;
		snprintf(k->health_reason, sizeof(k->health_reason),
			 "no heartbeat from the partner controller for 3 s");
		return 0;
	}
	snprintf(k->serial_number, sizeof(k->serial_number), "%s",
		 id == 'A' ? "TANDEM-A-0001" : "TANDEM-B-0002");
	snprintf(k->sc_fw, sizeof(k->sc_fw), "%s",
		 id == 'A' ? "TSS252P005" : "TSS251R004");
	snprintf(k->ip_address, sizeof(k->ip_address), "%s",
		 id == 'A' ? "127.0.0.2" : "127.0.0.3");
	k->status = CLI_CONTROLLER_OPERATIONAL;
	k->health = CLI_HEALTH_OK;
	k->position_top = id == 'A';
	return 0;
}

static int tb_system(void *ctx, struct cli_system *y, struct err *e)
{
	struct cli_test_backend *b = ctx;

	(void)e;
	snprintf(y->system_name, sizeof(y->system_name), "Uninitialized Name");
	snprintf(y->system_contact, sizeof(y->system_contact),
		 "Uninitialized Contact");
	snprintf(y->system_location, sizeof(y->system_location),
		 "Uninitialized Location");
	snprintf(y->system_information, sizeof(y->system_information),
		 "Uninitialized Info");
	snprintf(y->midplane_serial_number, sizeof(y->midplane_serial_number),
		 "00TANDEM0001");
	snprintf(y->vendor_name, sizeof(y->vendor_name), "Tandem");
	snprintf(y->product_id, sizeof(y->product_id), "TANDEM-SIM");
	snprintf(y->product_brand, sizeof(y->product_brand), "Tandem");
	y->health = b->partner_up && !b->pfu_halted ? CLI_HEALTH_OK :
		    CLI_HEALTH_DEGRADED;
	if (!b->partner_up)
		snprintf(y->health_reason, sizeof(y->health_reason),
			 "The partner controller is not reachable <B & link>.");
	else if (b->pfu_halted)
		snprintf(y->health_reason, sizeof(y->health_reason),
			 "Partner firmware upgrade halted: %s", PFU_FAILURE);
	snprintf(y->other_mc_status, sizeof(y->other_mc_status), "%s",
		 b->partner_up ? "Operational" : "Not Operational");
	y->other_mc_status_numeric = b->partner_up ? 4760 : 0;
	snprintf(y->pfu_status, sizeof(y->pfu_status), "%s",
		 b->pfu_halted ? "Halted" : "Idle");
	return 0;
}

static int tb_setting_get(void *ctx, const char *name, char *value,
			  size_t len, struct err *e)
{
	struct cli_setting *s = setting_find(ctx, name);

	if (!s)
		return err_set(e, CLI_BACKEND_NOT_FOUND, "no setting '%s'",
			       name);
	snprintf(value, len, "%s", s->value);
	return 0;
}

static int tb_settings_set(void *ctx, const struct cli_setting *pairs,
			   size_t n, struct err *e)
{
	struct cli_test_backend *b = ctx;
	size_t i, j;

	if (b->fail_settings)
		return err_set(e, CLI_BACKEND_FAILED,
			       "config write failed: No space left on device");
	for (i = 0; i < n; i++) {
		bool ok = false;

		if (!setting_find(b, pairs[i].name))
			return err_set(e, CLI_BACKEND_NOT_FOUND,
				       "no setting '%s'", pairs[i].name);
		for (j = 0; j < ARRAY_SIZE(supported); j++)
			ok |= strcmp(supported[j], pairs[i].name) == 0;
		if (!ok && strcmp(pairs[i].value, "enabled") == 0)
			return err_set(e, CLI_BACKEND_REFUSED,
				       "'%s' is not provided by this controller",
				       pairs[i].name);
	}
	for (i = 0; i < n; i++)
		snprintf(setting_find(b, pairs[i].name)->value,
			 CLI_FIELD_MAX, "%s", pairs[i].value);
	return 0;
}

static int tb_events(void *ctx, cli_event_fn fn, void *arg, struct err *e)
{
	static const struct cli_event events[] = {
		{ CLI_TEST_NOW - 60, 269, "A1437", 'A',
		  CLI_SEVERITY_INFORMATIONAL,
		  "Partner Firmware Update progress: PFU completed on local controller, SUCCESS" },
		{ CLI_TEST_NOW - 120, 237, "B212", 'B', CLI_SEVERITY_WARNING,
		  "Firmware update progress: the partner's MC flash was retried" },
		{ CLI_TEST_NOW - 180, 269, "A1436", 'A', CLI_SEVERITY_CRITICAL,
		  "PFU halted after 3 failed attempts: partner MC flash failed" },
		{ CLI_TEST_NOW - 240, 237, "A1435", 'A', CLI_SEVERITY_ERROR,
		  "Firmware update failed: bundle signature <not> \"valid\" & rejected" },
	};
	size_t i;
	int rc;

	(void)ctx;
	(void)e;
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		rc = fn(arg, &events[i]);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static int tb_firmware(void *ctx, struct cli_firmware_status *f,
		       struct err *e)
{
	struct cli_test_backend *b = ctx;

	(void)e;
	snprintf(f->activity, sizeof(f->activity), "none");
	snprintf(f->stage, sizeof(f->stage), "idle");
	snprintf(f->bundle_version, sizeof(f->bundle_version), "TS252P005");
	f->bytes_done = 73400320;
	f->bytes_total = 73400320;
	f->percent = 100;
	snprintf(f->completion_status, sizeof(f->completion_status),
		 "Success");
	snprintf(f->last_outcome, sizeof(f->last_outcome),
		 "Codeload completed successfully.");
	snprintf(f->pfu_status, sizeof(f->pfu_status), "Idle");
	f->pfu_attempts = 0;
	f->pfu_attempts_max = 3;
	snprintf(f->pfu_reason, sizeof(f->pfu_reason), "N/A");
	if (b->pfu_halted) {
		snprintf(f->partner_outcome, sizeof(f->partner_outcome),
			 "Partner: Codeload failed: %s", PFU_FAILURE);
		snprintf(f->pfu_status, sizeof(f->pfu_status), "Halted");
		f->pfu_attempts = 3;
		snprintf(f->pfu_target, sizeof(f->pfu_target), "TS252P005");
		f->pfu_halted = true;
		snprintf(f->pfu_reason, sizeof(f->pfu_reason), "%s",
			 PFU_FAILURE);
		snprintf(f->pfu_advice, sizeof(f->pfu_advice), "%s",
			 PFU_ADVICE);
	}
	snprintf(f->steps[0].name, sizeof(f->steps[0].name), "MC Software");
	snprintf(f->steps[0].status, sizeof(f->steps[0].status), "OK");
	snprintf(f->steps[1].name, sizeof(f->steps[1].name), "SC Software");
	snprintf(f->steps[1].status, sizeof(f->steps[1].status), "OK");
	snprintf(f->steps[2].name, sizeof(f->steps[2].name), "EC Software");
	snprintf(f->steps[2].status, sizeof(f->steps[2].status), "N/A");
	f->nsteps = 3;
	return 0;
}

static int tb_users(void *ctx, cli_user_fn fn, void *arg, struct err *e)
{
	struct cli_test_backend *b = ctx;
	size_t i;

	(void)e;
	for (i = 0; i < b->nusers; i++)
		if (fn(arg, &b->users[i]) != 0)
			break;
	return 0;
}

static int user_index(struct cli_test_backend *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nusers; i++)
		if (strcmp(b->users[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int tb_user_create(void *ctx, const struct cli_user *u,
			  const char *password, struct err *e)
{
	struct cli_test_backend *b = ctx;

	if (user_index(b, u->name) >= 0)
		return err_set(e, CLI_BACKEND_EXISTS,
			       "the user '%s' already exists", u->name);
	if (b->nusers == CLI_TEST_USERS_MAX)
		return err_set(e, CLI_BACKEND_REFUSED,
			       "no more than %d users", CLI_TEST_USERS_MAX);
	b->users[b->nusers] = *u;
	snprintf(b->passwords[b->nusers], sizeof(b->passwords[0]), "%s",
		 password);
	b->nusers++;
	return 0;
}

static int tb_user_delete(void *ctx, const char *name, struct err *e)
{
	struct cli_test_backend *b = ctx;
	int i = user_index(b, name);

	if (i < 0)
		return err_set(e, CLI_BACKEND_NOT_FOUND,
			       "there is no user '%s'", name);
	memmove(&b->users[i], &b->users[i + 1],
		(b->nusers - (size_t)i - 1) * sizeof(b->users[0]));
	memmove(&b->passwords[i], &b->passwords[i + 1],
		(b->nusers - (size_t)i - 1) * sizeof(b->passwords[0]));
	b->nusers--;
	return 0;
}

static int tb_user_password(void *ctx, const char *name,
			    const char *password, struct err *e)
{
	struct cli_test_backend *b = ctx;
	int i = user_index(b, name);

	if (i < 0)
		return err_set(e, CLI_BACKEND_NOT_FOUND,
			       "there is no user '%s'", name);
	snprintf(b->passwords[i], sizeof(b->passwords[0]), "%s", password);
	return 0;
}

static int tb_restart(void *ctx, enum cli_processor what,
		      enum cli_target t, struct err *e)
{
	struct cli_test_backend *b = ctx;

	if (t != CLI_TARGET_A && !b->partner_up)
		return err_set(e, CLI_BACKEND_UNAVAILABLE,
			       "controller B does not answer on the partner link");
	snprintf(b->last_action, sizeof(b->last_action), "restart %s %d",
		 what == CLI_PROCESSOR_MC ? "mc" : "sc", (int)t);
	return 0;
}

static int tb_shutdown(void *ctx, enum cli_target t, struct err *e)
{
	struct cli_test_backend *b = ctx;

	if (t != CLI_TARGET_A && !b->partner_up)
		return err_set(e, CLI_BACKEND_UNAVAILABLE,
			       "controller B does not answer on the partner link");
	snprintf(b->last_action, sizeof(b->last_action), "shutdown %d",
		 (int)t);
	return 0;
}

/* As tandemd lists them: PFU's switch, then its attempt limit. */
static int tb_advanced_list(void *ctx, struct cli_setting_info *out,
			    size_t max, size_t *n, struct err *e)
{
	struct cli_test_backend *b = ctx;

	(void)e;
	*n = 0;
	if (max < 2)
		return 0;
	memset(out, 0, 2 * sizeof(*out));
	out[0].name = CLI_SETTING_PFU;
	out[0].display = "Partner Firmware Upgrade";
	out[0].kind = CLI_SETTING_SWITCH;
	snprintf(out[0].value, sizeof(out[0].value), "%s",
		 setting_find(b, CLI_SETTING_PFU)->value);
	out[1].name = "pfu-attempt-limit";
	out[1].display = "PFU Attempt Limit";
	out[1].kind = CLI_SETTING_NUMBER;
	out[1].min = 1;
	out[1].max = 20;
	snprintf(out[1].value, sizeof(out[1].value), "%s",
		 setting_find(b, "pfu-attempt-limit")->value);
	*n = 2;
	return 0;
}

static void tb_reason(struct cli_readiness *r, const char *id,
		      const char *text, const char *action)
{
	struct cli_readiness_reason *x = &r->reasons[r->nreasons++];

	r->pass = false;
	snprintf(x->id, sizeof(x->id), "%s", id);
	snprintf(x->text, sizeof(x->text), "%s", text);
	snprintf(x->risk, sizeof(x->risk),
		 "The controllers may be left running different firmware.");
	x->risk_numeric = 2;
	snprintf(x->action, sizeof(x->action), "%s", action);
}

static int tb_readiness(void *ctx, struct cli_readiness *r, struct err *e)
{
	struct cli_test_backend *b = ctx;

	(void)e;
	memset(r, 0, sizeof(*r));
	r->pass = true;
	if (!b->partner_up)
		tb_reason(r, "partner-down", "Controller B is not available: "
			  "no heartbeat for 3 s <link & B>.",
			  "Bring the partner controller back, or load with "
			  "flash:force.");
	if (b->pfu_halted)
		tb_reason(r, "pfu-halted", "Partner firmware upgrade halted: "
			  PFU_FAILURE ".", PFU_ADVICE);
	return 0;
}

static int tb_rollback(void *ctx, struct err *e)
{
	struct cli_test_backend *b = ctx;

	if (b->rollback_fails)
		return err_set(e, CLI_BACKEND_REFUSED, "there is no previous "
			       "bundle in the other bank");
	snprintf(b->last_action, sizeof(b->last_action), "rollback");
	return 0;
}

const struct cli_backend cli_test_backend_ops = {
	.now = tb_now,
	.local_controller = tb_local,
	.versions_get = tb_versions,
	.controller_get = tb_controller,
	.system_get = tb_system,
	.setting_get = tb_setting_get,
	.settings_set = tb_settings_set,
	.events_iterate = tb_events,
	.firmware_status_get = tb_firmware,
	.users_iterate = tb_users,
	.user_create = tb_user_create,
	.user_delete = tb_user_delete,
	.user_set_password = tb_user_password,
	.restart = tb_restart,
	.shutdown = tb_shutdown,
	.advanced_settings_list = tb_advanced_list,
	.readiness_get = tb_readiness,
	.firmware_rollback = tb_rollback,
};
