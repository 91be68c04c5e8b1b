/*
 * backend.c: the CLI's view of this controller (struct cli_backend) over
 * the real parts: versions from the flash store, settings and users from
 * config, events from the event log, code load progress from the update
 * engine; the partner and PFU from controller_peer_view() and
 * controller_pfu_view(), so the CLI shows both controllers as the link
 * last reported them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/controller.h"
#include "daemon/peer.h"

/* The family's numeric twin of other-MC-status "Operational" (sample). */
#define OTHER_MC_OPERATIONAL	4760

static const char *peer_down_reason(const struct peer_view *p)
{
	return p->down_reason[0] ? p->down_reason :
	       "the partner controller does not answer";
}

static int partner_unavailable(const struct peer_view *p, struct err *e)
{
	return err_set(e, CLI_BACKEND_UNAVAILABLE, "%s", peer_down_reason(p));
}

static time_t be_now(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static char be_local(void *ctx)
{
	return ((struct controller *)ctx)->id;
}

/* A copy, not printf: the API's most polled answers are made of these. */
static void field(char *dst, const char *src)
{
	size_t n;

	if (!src || !*src)
		src = "N/A";
	n = strlen(src);
	if (n > CLI_FIELD_MAX - 1)
		n = CLI_FIELD_MAX - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const struct flash_component_state *component(
	const struct flash_status *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ncomponents; i++)
		if (!strcmp(st->components[i].name, name))
			return &st->components[i];
	return NULL;
}

static const char *component_version(const struct flash_status *st,
				     const char *name)
{
	const struct flash_component_state *cs = component(st, name);

	return cs ? cs->version : NULL;
}

static const char *peer_component(const struct peer_view *p,
				  const char *name)
{
	size_t i;

	for (i = 0; i < p->ncomponents && i < BUNDLE_COMPONENTS_MAX; i++)
		if (!strcmp(p->components[i].name, name))
			return p->components[i].version;
	return NULL;
}

/* Fields Tandem has no counterpart for stay N/A (docs/compat.md); the
 * rest are the running bundle's, mapped the same way on both sides. */
static void versions_fill(struct cli_versions *out, const char *bundle,
			  const char *build_date, const char *sc,
			  const char *mc, const char *ec, const char *cpld)
{
	memset(out, 0, sizeof(*out));
	field(out->sc_cpu_type, NULL);
	field(out->bundle_version, bundle);
	field(out->bundle_base_version, NULL);
	field(out->build_date, build_date);
	field(out->sc_fw, sc);
	field(out->sc_baselevel, NULL);
	field(out->sc_memory, NULL);
	field(out->sc_fu_version, NULL);
	field(out->sc_loader, NULL);
	field(out->capi_version, NULL);
	field(out->mc_fw, mc);
	field(out->mc_loader, NULL);
	field(out->mc_base_fw, NULL);
	field(out->fw_default_platform_brand, NULL);
	field(out->ec_fw, ec);
	field(out->pld_rev, cpld);
	field(out->pm_cpld_version, NULL);
	field(out->prm_version, NULL);
	field(out->hw_rev, NULL);
}

static int be_versions(void *ctx, char ctl, struct cli_versions *out,
		       struct err *e)
{
	struct controller *c = ctx;
	struct flash_status st;

	if (ctl != c->id) {
		struct peer_view p;

		controller_peer_view(c, &p);
		if (!p.up)
			return partner_unavailable(&p, e);
		versions_fill(out, p.bundle_version, p.build_date,
			      peer_component(&p, "sc"),
			      peer_component(&p, "mc"),
			      peer_component(&p, "ec"),
			      peer_component(&p, "cpld"));
		field(out->mc_loader, p.mc_loader);
		return 0;
	}
	if (flash_store_status(c->store, &st, e) < 0)
		return CLI_BACKEND_FAILED;
	/* What the devices run, where a handler can say (docs/handlers.md). */
	controller_handler_versions(c, &st, true);
	versions_fill(out, st.bundle_version, st.build_date,
		      component_version(&st, "sc"),
		      component_version(&st, "mc"),
		      component_version(&st, "ec"),
		      component_version(&st, "cpld"));
	field(out->mc_loader, CONTROLLER_VERSION);
	return 0;
}

static enum cli_health peer_health(enum peer_health h)
{
	switch (h) {
	case PEER_HEALTH_OK:
		return CLI_HEALTH_OK;
	case PEER_HEALTH_DEGRADED:
		return CLI_HEALTH_DEGRADED;
	case PEER_HEALTH_FAULT:
		return CLI_HEALTH_FAULT;
	default:
		return CLI_HEALTH_UNKNOWN;
	}
}

/* The partner as the link last reported it: Not Installed without a
 * link configured, Down while the link is down (its serial kept). */
static void partner_controller(struct controller *c,
			       struct cli_controller *out)
{
	struct peer_view p;

	controller_peer_view(c, &p);
	out->controller_id = c->id == 'A' ? 'B' : 'A';
	out->position_top = out->controller_id == 'A';
	field(out->sc_cpu_type, NULL);
	field(out->serial_number, p.ever_seen ? p.serial : NULL);
	field(out->ip_address, p.ever_seen ? p.address : NULL);
	field(out->sc_fw, p.up ? peer_component(&p, "sc") : NULL);
	if (!p.up) {
		out->status = p.configured ? CLI_CONTROLLER_DOWN :
			      CLI_CONTROLLER_NOT_INSTALLED;
		out->health = p.configured ? CLI_HEALTH_UNKNOWN :
			      CLI_HEALTH_NA;
		snprintf(out->health_reason, sizeof(out->health_reason),
			 "%s", peer_down_reason(&p));
		return;
	}
	out->status = CLI_CONTROLLER_OPERATIONAL;
	out->health = peer_health(p.health);
	snprintf(out->health_reason, sizeof(out->health_reason), "%s",
		 p.health_reason);
}

static int be_controller(void *ctx, char ctl, struct cli_controller *out,
			 struct err *e)
{
	struct controller *c = ctx;
	struct flash_status st;

	memset(out, 0, sizeof(*out));
	if (ctl != c->id) {
		partner_controller(c, out);
		return 0;
	}
	out->controller_id = c->id;
	field(out->serial_number, c->serial);
	field(out->sc_cpu_type, NULL);
	field(out->ip_address, c->address);
	out->status = CLI_CONTROLLER_OPERATIONAL;
	out->position_top = c->id == 'A';
	if (flash_store_status(c->store, &st, e) < 0) {
		field(out->sc_fw, NULL);
		out->health = CLI_HEALTH_FAULT;
		snprintf(out->health_reason, sizeof(out->health_reason),
			 "The flash store cannot be read: %.180s", e->msg);
		return 0;
	}
	controller_handler_versions(c, &st, false);
	field(out->sc_fw, component_version(&st, "sc"));
	out->health = st.trial ? CLI_HEALTH_DEGRADED : CLI_HEALTH_OK;
	if (st.trial)
		snprintf(out->health_reason, sizeof(out->health_reason),
			 "Bundle %s is on trial and not yet confirmed.",
			 st.bundle_version);
	return 0;
}

/* The partner's PFU is updating this controller, or halted doing so. */
static bool partner_pfu_active(const struct peer_view *p)
{
	static const char *const quiet[] = { "", "Idle", "Disabled",
					     "Complete" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quiet); i++)
		if (!strcmp(p->pfu_status, quiet[i]))
			return false;
	return true;
}

static int be_system(void *ctx, struct cli_system *out, struct err *e)
{
	struct controller *c = ctx;
	struct cli_controller self;
	struct peer_view p;
	struct pfu_view f;

	memset(out, 0, sizeof(*out));
	config_get_string(c->config, CONFIG_SYSTEM_NAME, out->system_name,
			  sizeof(out->system_name));
	config_get_string(c->config, CONFIG_SYSTEM_CONTACT,
			  out->system_contact, sizeof(out->system_contact));
	config_get_string(c->config, CONFIG_SYSTEM_LOCATION,
			  out->system_location, sizeof(out->system_location));
	config_get_string(c->config, CONFIG_SYSTEM_INFORMATION,
			  out->system_information,
			  sizeof(out->system_information));
	field(out->midplane_serial_number, c->midplane_serial);
	field(out->vendor_name, CONTROLLER_VENDOR);
	field(out->product_id, CONTROLLER_MODEL);
	field(out->product_brand, CONTROLLER_VENDOR);
	controller_peer_view(c, &p);
	controller_pfu_view(c, &f);
	be_controller(c, c->id, &self, e);
	/* The worst of: this controller, the partner, PFU. */
	out->health = self.health;
	snprintf(out->health_reason, sizeof(out->health_reason), "%s",
		 self.health_reason);
	if (p.configured && (!p.up || p.health != PEER_HEALTH_OK) &&
	    out->health == CLI_HEALTH_OK) {
		out->health = p.up && p.health == PEER_HEALTH_FAULT ?
			      CLI_HEALTH_FAULT : CLI_HEALTH_DEGRADED;
		if (p.up)
			snprintf(out->health_reason,
				 sizeof(out->health_reason),
				 "Controller %c: %.200s", p.id,
				 p.health_reason);
		else
			snprintf(out->health_reason,
				 sizeof(out->health_reason),
				 "Controller %c is not available: %.200s.",
				 p.id, peer_down_reason(&p));
	}
	if (f.halted && out->health == CLI_HEALTH_OK) {
		out->health = CLI_HEALTH_DEGRADED;
		snprintf(out->health_reason, sizeof(out->health_reason),
			 "Partner firmware upgrade halted: %.200s", f.reason);
	}
	field(out->other_mc_status, p.up ? "Operational" : "Not Operational");
	out->other_mc_status_numeric = p.up ? OTHER_MC_OPERATIONAL : 0;
	field(out->pfu_status, f.status);
	/* PFU is the enclosure's: on the controller being updated (its own
	 * PFU idle), the system shows what the partner's PFU is doing. */
	if (!f.running && !f.halted && p.up && partner_pfu_active(&p)) {
		field(out->pfu_status, p.pfu_status);
		if (!strcmp(p.pfu_status, "Halted") &&
		    out->health == CLI_HEALTH_OK) {
			out->health = CLI_HEALTH_DEGRADED;
			snprintf(out->health_reason,
				 sizeof(out->health_reason),
				 "Partner firmware upgrade halted on controller "
				 "%c (show firmware-update-status there).",
				 p.id);
		}
	}
	return 0;
}

/* The CLI names settings as the XML does (cli-telnet, wbi-http...). */
static const struct config_key_info *key_for(const char *name)
{
	const struct config_key_info *k;
	size_t n, i;

	k = config_keys(&n);
	for (i = 0; i < n; i++)
		if ((k[i].xml_name && !strcmp(k[i].xml_name, name)) ||
		    !strcmp(k[i].name, name))
			return &k[i];
	return NULL;
}

/* Services this build really runs; the others read Disabled. */
static bool served(enum config_key key)
{
	return key == CONFIG_PROTO_SSH || key == CONFIG_PROTO_SFTP ||
	       key == CONFIG_PROTO_TELNET || key == CONFIG_PROTO_FTP ||
	       key == CONFIG_PROTO_HTTP || key == CONFIG_PROTO_HTTPS ||
	       !(key >= CONFIG_PROTO_FIRST && key <= CONFIG_PROTO_LAST);
}

static int be_setting_get(void *ctx, const char *name, char *value,
			  size_t len, struct err *e)
{
	struct controller *c = ctx;
	const struct config_key_info *k = key_for(name);

	if (!k)
		return err_set(e, CLI_BACKEND_NOT_FOUND, "no setting '%s'",
			       name);
	if (k->type == CONFIG_BOOL) {
		bool on = served(k->key) && config_get_bool(c->config, k->key);

		snprintf(value, len, "%s", on ? "enabled" : "disabled");
		return 0;
	}
	if (config_get_text(c->config, k->name, value, len, e) < 0)
		return CLI_BACKEND_FAILED;
	return 0;
}

/* The settings `set advanced-settings` takes: every enclosure-wide one of
 * the advanced-settings group, whatever its type (the table decides). */
static bool advanced(const struct config_key_info *k)
{
	return !strcmp(k->group, "advanced-settings") &&
	       k->scope == CONFIG_SCOPE_ENCLOSURE &&
	       (k->type == CONFIG_BOOL || k->type == CONFIG_UINT);
}

static int be_advanced_list(void *ctx, struct cli_setting_info *out,
			    size_t max, size_t *n, struct err *e)
{
	struct controller *c = ctx;
	const struct config_key_info *k;
	size_t count, i;

	(void)e;
	k = config_keys(&count);
	*n = 0;
	for (i = 0; i < count && *n < max; i++) {
		struct cli_setting_info *x = &out[*n];

		if (!advanced(&k[i]))
			continue;
		memset(x, 0, sizeof(*x));
		x->name = k[i].xml_name ? k[i].xml_name : k[i].name;
		x->display = k[i].display;
		if (k[i].type == CONFIG_BOOL) {
			x->kind = CLI_SETTING_SWITCH;
			snprintf(x->value, sizeof(x->value), "%s",
				 config_get_bool(c->config, k[i].key) ?
				 "enabled" : "disabled");
		} else {
			x->kind = CLI_SETTING_NUMBER;
			x->min = k[i].min_uint;
			x->max = k[i].max_uint;
			snprintf(x->value, sizeof(x->value), "%u",
				 config_get_uint(c->config, k[i].key));
		}
		(*n)++;
	}
	return 0;
}

/* One pair checked without changing anything: its key, or an error. */
static int setting_check(const struct cli_setting *pair,
			 const struct config_key_info **key, struct err *e)
{
	const struct config_key_info *k = key_for(pair->name);
	bool on;

	*key = k;
	if (!k || (k->type != CONFIG_BOOL && !advanced(k)))
		return err_set(e, CLI_BACKEND_NOT_FOUND, "no setting '%s'",
			       pair->name);
	if (k->type == CONFIG_UINT) {
		char *end;
		unsigned long v = strtoul(pair->value, &end, 10);

		if (!pair->value[0] || *end || pair->value[0] == '-' ||
		    v < k->min_uint || v > k->max_uint)
			return err_set(e, CLI_BACKEND_FAILED, "'%s' is not a "
				       "number from %u to %u", pair->value,
				       k->min_uint, k->max_uint);
		return 0;
	}
	if (config_parse_switch(pair->value, &on) < 0)
		return err_set(e, CLI_BACKEND_FAILED, "'%s' is not enabled "
			       "or disabled", pair->value);
	if (on && !served(k->key))
		return err_set(e, CLI_BACKEND_REFUSED, "%s is not provided "
			       "by this controller, so it cannot be enabled.",
			       k->display);
	return 0;
}

static int be_settings_set(void *ctx, const struct cli_setting *pairs,
			   size_t n, struct err *e)
{
	struct controller *c = ctx;
	const struct config_key_info *keys[CLI_SETTINGS_MAX];
	char old[CLI_SETTINGS_MAX][CLI_FIELD_MAX];
	size_t i;
	int rc;

	if (n > CLI_SETTINGS_MAX)
		n = CLI_SETTINGS_MAX;
	/* Check every pair before changing anything: all or none. */
	for (i = 0; i < n; i++) {
		rc = setting_check(&pairs[i], &keys[i], e);
		if (rc < 0)
			return rc;
		if (config_get_text(c->config, keys[i]->name, old[i],
				    sizeof(old[i]), e) < 0)
			return CLI_BACKEND_FAILED;
	}
	for (i = 0; i < n; i++) {
		if (config_set_text(c->config, keys[i]->name, pairs[i].value,
				    e) < 0) {
			struct err undo;

			while (i-- > 0)
				config_set_text(c->config, keys[i]->name,
						old[i], &undo);
			return CLI_BACKEND_FAILED;
		}
	}
	return 0;
}

struct events_walk {
	cli_event_fn fn;
	void *arg;
};

static int event_one(void *ctx, const struct event *ev)
{
	struct events_walk *w = ctx;
	struct cli_event out = { 0 };

	out.time = (time_t)ev->time;
	out.code = ev->code;
	snprintf(out.event_id, sizeof(out.event_id), "%c%llu", ev->controller,
		 (unsigned long long)ev->seq);
	out.controller = ev->controller;
	switch (ev->severity) {
	case EVENTS_WARNING:
		out.severity = CLI_SEVERITY_WARNING;
		break;
	case EVENTS_ERROR:
		out.severity = CLI_SEVERITY_ERROR;
		break;
	case EVENTS_CRITICAL:
		out.severity = CLI_SEVERITY_CRITICAL;
		break;
	default:
		out.severity = CLI_SEVERITY_INFORMATIONAL;
		break;
	}
	snprintf(out.message, sizeof(out.message), "%.*s",
		 (int)sizeof(out.message) - 1, ev->message);
	return w->fn(w->arg, &out);
}

static int be_events(void *ctx, cli_event_fn fn, void *arg, struct err *e)
{
	struct controller *c = ctx;
	struct events_walk w = { fn, arg };
	int rc = events_each(c->events, 0, EVENTS_SEVERITY_ALL, event_one,
			     &w);

	if (rc < 0)
		return err_set(e, CLI_BACKEND_FAILED, "the event log cannot "
			       "be read");
	return 0;
}

static int be_firmware(void *ctx, struct cli_firmware_status *out,
		       struct err *e)
{
	struct controller *c = ctx;
	struct update_status st;
	struct pfu_view f;
	struct buf report;

	(void)e;
	memset(out, 0, sizeof(*out));
	update_status_get(c->update, &st);
	field(out->activity, st.state == UPDATE_RUNNING ? "codeload" : "none");
	field(out->stage, st.stage);
	field(out->bundle_version, st.last_version[0] && st.state !=
	      UPDATE_RUNNING ? st.last_version : NULL);
	out->bytes_done = st.bytes_received;
	out->bytes_total = st.bytes_total;
	out->percent = st.state == UPDATE_RUNNING || st.have_last ?
		       st.percent : 0;
	field(out->completion_status, st.state == UPDATE_RUNNING ?
	      "In Progress" : !st.have_last ? NULL :
	      st.last_ok ? "Success" : "Failed");
	if (st.have_last)
		snprintf(out->last_outcome, sizeof(out->last_outcome),
			 "%.200s (RETURN_CODE: %d)", st.last_message,
			 st.last_return_code);
	else
		field(out->last_outcome, NULL);
	controller_pfu_view(c, &f);
	field(out->pfu_status, f.status);
	out->pfu_attempts = f.attempts;
	out->pfu_attempts_max = f.limit;
	snprintf(out->pfu_reason, sizeof(out->pfu_reason), "%s", f.reason);
	field(out->pfu_target, f.target);
	out->pfu_halted = f.halted;
	snprintf(out->pfu_advice, sizeof(out->pfu_advice), "%s", f.advice);
	/* One step per line of the last report's component summary. */
	buf_init(&report, UPDATE_REPORT_MAX);
	if (st.have_last && update_last_report(c->update, &report) == 0) {
		const char *p = strstr(report.data, "Load Summary:\n");
		const char *partner = strstr(report.data, "\nPartner: ");

		/* PFU appends the partner's outcome to the report it began
		 * from: its last such line. */
		while (partner) {
			const char *next = strstr(partner + 1, "\nPartner: ");
			size_t len;

			if (!next) {
				partner++;
				len = strcspn(partner, "\n");
				snprintf(out->partner_outcome,
					 sizeof(out->partner_outcome), "%.*s",
					 (int)(len < CLI_TEXT_MAX - 1 ? len :
					       CLI_TEXT_MAX - 1), partner);
			}
			partner = next;
		}

		p = p ? p + strlen("Load Summary:\n") : NULL;
		while (p && *p && out->nsteps < CLI_FW_STEPS_MAX) {
			const char *nl = strchr(p, '\n'), *colon;
			struct cli_fw_step *s = &out->steps[out->nsteps];

			colon = strstr(p, " Software: ");
			if (!nl || !colon || colon > nl)
				break;
			snprintf(s->name, sizeof(s->name), "%.*s Software",
				 (int)(colon - p), p);
			colon += strlen(" Software: ");
			snprintf(s->status, sizeof(s->status), "%s",
				 !strncmp(colon, "SUCCESSFUL", 10) ? "OK" :
				 !strncmp(colon, "NOT ATTEMPTED", 13) ? "N/A" :
				 "Failed");
			out->nsteps++;
			p = nl + 1;
		}
	}
	buf_free(&report);
	return 0;
}

struct users_walk {
	cli_user_fn fn;
	void *arg;
};

static int be_users(void *ctx, cli_user_fn fn, void *arg, struct err *e)
{
	struct controller *c = ctx;
	struct config_user list[CONFIG_USERS_MAX];
	size_t n = config_users_list(c->config, list, CONFIG_USERS_MAX), i;
	int rc;

	(void)e;
	for (i = 0; i < n; i++) {
		struct cli_user u = { 0 };

		snprintf(u.name, sizeof(u.name), "%.*s", (int)sizeof(u.name) - 1,
			 list[i].name);
		u.role = (list[i].roles & CONFIG_ROLE_MANAGE) ?
			 CLI_ROLE_MANAGE : CLI_ROLE_MONITOR;
		u.interfaces = ((list[i].interfaces & CONFIG_IFACE_CLI) ?
				CLI_INTERFACE_CLI : 0) |
			       ((list[i].interfaces & CONFIG_IFACE_WBI) ?
				CLI_INTERFACE_WBI : 0) |
			       ((list[i].interfaces & CONFIG_IFACE_FTP) ?
				CLI_INTERFACE_FTP : 0);
		u.output = (unsigned)list[i].output;	/* same order */
		rc = fn(arg, &u);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

/* config's errors in the CLI's terms; the message is kept. */
static int config_rc(int rc)
{
	switch (rc) {
	case CONFIG_ERR_USER_EXISTS:
		return CLI_BACKEND_EXISTS;
	case CONFIG_ERR_NO_USER:
		return CLI_BACKEND_NOT_FOUND;
	case CONFIG_ERR_LAST_MANAGER:
	case CONFIG_ERR_TOO_MANY:
		return CLI_BACKEND_REFUSED;
	default:
		return CLI_BACKEND_FAILED;
	}
}

static int be_user_create(void *ctx, const struct cli_user *user,
			  const char *password, struct err *e)
{
	struct controller *c = ctx;
	struct config_user u;
	int rc;

	config_user_defaults(&u, user->name, user->role == CLI_ROLE_MANAGE ?
			     CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR :
			     CONFIG_ROLE_MONITOR);
	u.interfaces = ((user->interfaces & CLI_INTERFACE_CLI) ?
			CONFIG_IFACE_CLI : 0) |
		       ((user->interfaces & CLI_INTERFACE_WBI) ?
			CONFIG_IFACE_WBI : 0) |
		       ((user->interfaces & CLI_INTERFACE_FTP) ?
			CONFIG_IFACE_FTP : 0);
	rc = config_user_create(c->config, &u, password, e);
	return rc < 0 ? config_rc(rc) : 0;
}

static int be_user_delete(void *ctx, const char *name, struct err *e)
{
	int rc = config_user_delete(((struct controller *)ctx)->config, name,
				    e);

	return rc < 0 ? config_rc(rc) : 0;
}

static int be_user_password(void *ctx, const char *name,
			    const char *password, struct err *e)
{
	int rc = config_user_set_password(((struct controller *)ctx)->config,
					  name, password, e);

	return rc < 0 ? config_rc(rc) : 0;
}

static int be_user_output(void *ctx, const struct cli_user *user,
			  struct err *e)
{
	int rc = config_user_set_output(((struct controller *)ctx)->config,
					user->name,
					(enum config_output)user->output, e);

	return rc < 0 ? config_rc(rc) : 0;
}

/* restart and shutdown act on this controller only: the partner is
 * restarted or shut down from its own CLI. */
static int local_target(struct controller *c, enum cli_target t,
			struct err *e)
{
	char other = c->id == 'A' ? 'B' : 'A';
	bool mine = (t == CLI_TARGET_A && c->id == 'A') ||
		    (t == CLI_TARGET_B && c->id == 'B');

	if (!mine)
		return err_set(e, CLI_BACKEND_REFUSED, "controller %c "
			       "is restarted or shut down from its own "
			       "CLI; this controller acts on itself only",
			       other);
	return 0;
}

static int be_restart(void *ctx, enum cli_processor what,
		      enum cli_target t, struct err *e)
{
	struct controller *c = ctx;

	if (what == CLI_PROCESSOR_SC)
		return err_set(e, CLI_BACKEND_REFUSED, "This controller has "
			       "no storage controller processor to restart: "
			       "Tandem is the management controller only.");
	if (local_target(c, t, e) < 0)
		return CLI_BACKEND_REFUSED;
	controller_schedule_stop(c, CONTROLLER_EXIT_RESTART,
				 CONTROLLER_RESTART_DELAY,
				 "restart mc requested from the CLI");
	return 0;
}

static int be_shutdown(void *ctx, enum cli_target t, struct err *e)
{
	struct controller *c = ctx;

	if (local_target(c, t, e) < 0)
		return CLI_BACKEND_REFUSED;
	controller_schedule_stop(c, 0, CONTROLLER_RESTART_DELAY,
				 "shutdown requested from the CLI");
	return 0;
}

static int be_readiness(void *ctx, struct cli_readiness *out,
			struct err *e)
{
	struct readiness *r = malloc(sizeof(*r));
	size_t i;

	if (!r)
		return err_set(e, CLI_BACKEND_FAILED, "out of memory");
	controller_readiness(ctx, r);
	memset(out, 0, sizeof(*out));
	out->pass = r->pass;
	for (i = 0; i < r->nreasons && i < CLI_READINESS_MAX; i++) {
		struct cli_readiness_reason *x = &out->reasons[i];

		snprintf(x->id, sizeof(x->id), "%s", r->reasons[i].id);
		snprintf(x->text, sizeof(x->text), "%s", r->reasons[i].text);
		snprintf(x->risk, sizeof(x->risk), "%s",
			 readiness_risk_text(r->reasons[i].risk));
		x->risk_numeric = (uint32_t)r->reasons[i].risk;
		snprintf(x->action, sizeof(x->action), "%s",
			 r->reasons[i].action);
	}
	out->nreasons = i;
	free(r);
	return 0;
}

/* controller_pfu_rollback() reactivates the other bank and schedules the
 * restart into it; a refusal (nothing changed) is told as such. */
static int be_rollback(void *ctx, struct err *e)
{
	int rc = controller_pfu_rollback(ctx, e);

	if (rc < 0)
		return rc == -ENOSYS || rc == -EBUSY || rc == -ENOENT ||
		       rc == -ENOTCONN ? CLI_BACKEND_REFUSED :
		       CLI_BACKEND_FAILED;
	return 0;
}

const struct cli_backend controller_cli_backend = {
	.now = be_now,
	.local_controller = be_local,
	.versions_get = be_versions,
	.controller_get = be_controller,
	.system_get = be_system,
	.setting_get = be_setting_get,
	.settings_set = be_settings_set,
	.events_iterate = be_events,
	.firmware_status_get = be_firmware,
	.users_iterate = be_users,
	.user_create = be_user_create,
	.user_delete = be_user_delete,
	.user_set_password = be_user_password,
	.user_set_output = be_user_output,
	.restart = be_restart,
	.shutdown = be_shutdown,
	.advanced_settings_list = be_advanced_list,
	.readiness_get = be_readiness,
	.firmware_rollback = be_rollback,
};
