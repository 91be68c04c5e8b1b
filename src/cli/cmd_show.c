/*
 * cmd_show.c: show versions, controllers, system and configuration. Each
 * builds objects from the backend's plain data; none prints. A partner
 * that cannot be reached turns the reply into a Warning naming it, with
 * the local controller's objects still there.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char controllers[] = { 'A', 'B' };

/* Empty text is shown as N/A: a version we cannot know is not "". */
static const char *or_na(const char *s)
{
	return s[0] ? s : "N/A";
}

static void partner_warning(struct cli_context *c, char id,
			    const struct err *e)
{
	cli_result_status(c->result, CLI_RESPONSE_WARNING, CLI_RC_UNAVAILABLE,
			  "Controller %c is not available: %s", id,
			  e->msg[0] ? e->msg : "the partner controller does not answer");
}

static void versions_object(struct cli_context *c, char id,
			    const struct cli_versions *v)
{
	struct cli_object *o;
	struct cli_property *p;
	char name[CLI_FIELD_MAX];
	const struct {
		const char *name, *display;
		unsigned size;
		const char *value;
	} rows[] = {
		{ "sc-cpu-type", "Storage Controller CPU Type", 24,
		  v->sc_cpu_type },
		{ "bundle-version", "Bundle Version", 24, v->bundle_version },
		{ "bundle-base-version", "Base Bundle Version", 16,
		  v->bundle_base_version },
		{ "build-date", "Build Date", 24, v->build_date },
		{ "sc-fw", "Storage Controller Code Version", 16, v->sc_fw },
		{ "sc-baselevel", "Storage Controller Code Baselevel", 16,
		  v->sc_baselevel },
		{ "sc-memory", "Memory Controller FPGA Code Version", 16,
		  v->sc_memory },
		{ "sc-fu-version", "FU Version", 16, v->sc_fu_version },
		{ "sc-loader", "Storage Controller Loader Code Version", 16,
		  v->sc_loader },
		{ "capi-version", "CAPI Version", 16, v->capi_version },
		{ "mc-fw", "Management Controller Code Version", 16, v->mc_fw },
		{ "mc-loader", "Management Controller Loader Code Version", 16,
		  v->mc_loader },
		{ "mc-base-fw", "Management Controller Base Version", 16,
		  v->mc_base_fw },
	};
	const struct {
		const char *name, *display;
		const char *value;
	} tail[] = {
		{ "ec-fw", "Expander Controller Code Version", v->ec_fw },
		{ "pld-rev", "CPLD Code Version", v->pld_rev },
		{ "pm-cpld-version", "PM CPLD Code Version", v->pm_cpld_version },
		{ "prm-version", "PRM CPLD Code Version", v->prm_version },
		{ "hw-rev", "Hardware Version", v->hw_rev },
	};
	size_t i;

	snprintf(name, sizeof(name), "controller-%c-versions", id + 32);
	o = cli_result_object(c->result, "versions", name, "/meta/versions");
	if (!o)
		return;
	snprintf(o->title, sizeof(o->title), "Controller %c Versions", id);
	p = cli_object_add(o, "object-name", "Object Name", CLI_PROP_STRING,
			   32, name);
	if (p)
		p->draw = p->console = false;
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		cli_object_add(o, rows[i].name, rows[i].display,
			       CLI_PROP_STRING, rows[i].size,
			       or_na(rows[i].value));
	cli_object_add_enum(o, "fw-default-platform-brand",
			    "Firmware Default Platform Brand", 16,
			    or_na(v->fw_default_platform_brand),
			    v->fw_default_platform_brand_numeric);
	for (i = 0; i < ARRAY_SIZE(tail); i++)
		cli_object_add(o, tail[i].name, tail[i].display,
			       CLI_PROP_STRING, 16, or_na(tail[i].value));
}

/* Returns 0, or -1 when the command failed (error already set). */
static int all_versions(struct cli_context *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(controllers); i++) {
		struct cli_versions v;
		struct err e;
		int rc;

		memset(&v, 0, sizeof(v));
		err_clear(&e);
		rc = c->backend->versions_get(c->backend_ctx, controllers[i],
					      &v, &e);
		if (rc == CLI_BACKEND_UNAVAILABLE) {
			partner_warning(c, controllers[i], &e);
			continue;
		}
		if (rc < 0) {
			cli_error_backend(c, rc, &e, "Versions");
			return -1;
		}
		versions_object(c, controllers[i], &v);
	}
	return 0;
}

static bool no_args(struct cli_context *c, const char *const *allowed,
		    size_t n)
{
	size_t i;

	for (i = 0; i < c->nargs; i++)
		if (cli_arg_keyword(c, i, allowed, n,
				    n ? "an optional keyword" : "nothing") < 0)
			return false;
	return true;
}

void cli_cmd_show_versions(struct cli_context *c)
{
	static const char *const detail[] = { "detail" };

	if (!no_args(c, detail, ARRAY_SIZE(detail)))
		return;
	all_versions(c);
}

static const char *health_name(enum cli_health h)
{
	static const char *const names[] = {
		"OK", "Degraded", "Fault", "Unknown", "N/A",
	};

	return (unsigned)h < ARRAY_SIZE(names) ? names[h] : "Unknown";
}

static void controller_object(struct cli_context *c,
			      const struct cli_controller *k)
{
	static const char *const status[] = {
		"Operational", "Down", "Not Installed",
	};
	struct cli_object *o;
	struct cli_property *p;
	char durable[16], id[2] = { k->controller_id, '\0' };

	o = cli_result_object(c->result, "controllers", "controllers",
			      "/meta/controllers");
	if (!o)
		return;
	snprintf(o->title, sizeof(o->title), "Controllers");
	snprintf(durable, sizeof(durable), "controller_%c",
		 k->controller_id == 'B' ? 'b' : 'a');
	p = cli_object_add(o, "durable-id", "Durable ID", CLI_PROP_STRING, 20,
			   durable);
	if (p)
		p->draw = p->console = false;
	cli_object_add_enum(o, "controller-id", "Controller ID", 2, id,
			    k->controller_id == 'A' ? 1 : 0);
	cli_object_add(o, "serial-number", "Serial Number", CLI_PROP_STRING,
		       24, or_na(k->serial_number));
	cli_object_add(o, "ip-address", "IP Address", CLI_PROP_STRING, 24,
		       or_na(k->ip_address));
	cli_object_add_enum(o, "status", "Status", 10,
			    (unsigned)k->status < ARRAY_SIZE(status)
				    ? status[k->status] : "Unknown",
			    (uint32_t)k->status);
	cli_object_add(o, "sc-fw", "Storage Controller Code Version",
		       CLI_PROP_STRING, 21, or_na(k->sc_fw));
	cli_object_add(o, "sc-cpu-type", "Storage Controller CPU Type",
		       CLI_PROP_STRING, 17, or_na(k->sc_cpu_type));
	cli_object_add_enum(o, "health", "Health", 10, health_name(k->health),
			    (uint32_t)k->health);
	cli_object_add(o, "health-reason", "Health Reason", CLI_PROP_STRING,
		       80, k->health_reason);
	cli_object_add_enum(o, "position", "Position", 2,
			    k->position_top ? "Top" : "Bottom",
			    k->position_top ? 2 : 3);
}

static int all_controllers(struct cli_context *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(controllers); i++) {
		struct cli_controller k;
		struct err e;
		int rc;

		memset(&k, 0, sizeof(k));
		err_clear(&e);
		rc = c->backend->controller_get(c->backend_ctx, controllers[i],
						&k, &e);
		if (rc == CLI_BACKEND_UNAVAILABLE) {
			partner_warning(c, controllers[i], &e);
			continue;
		}
		if (rc < 0) {
			cli_error_backend(c, rc, &e, "Controllers");
			return -1;
		}
		k.controller_id = controllers[i];
		controller_object(c, &k);
	}
	return 0;
}

void cli_cmd_show_controllers(struct cli_context *c)
{
	if (no_args(c, NULL, 0))
		all_controllers(c);
}

static int system_objects(struct cli_context *c)
{
	struct cli_system y;
	struct cli_object *o;
	struct cli_property *p;
	struct err e;
	int rc;

	memset(&y, 0, sizeof(y));
	err_clear(&e);
	rc = c->backend->system_get(c->backend_ctx, &y, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "System");
		return -1;
	}
	o = cli_result_object(c->result, "system", "system-information",
			      "/meta/system");
	if (!o)
		return -1;
	snprintf(o->title, sizeof(o->title), "System Information");
	cli_object_add(o, "system-name", "System Name", CLI_PROP_STRING, 80,
		       y.system_name);
	cli_object_add(o, "system-contact", "System Contact", CLI_PROP_STRING,
		       80, y.system_contact);
	cli_object_add(o, "system-location", "System Location",
		       CLI_PROP_STRING, 80, y.system_location);
	cli_object_add(o, "system-information", "System Information",
		       CLI_PROP_STRING, 80, y.system_information);
	cli_object_add(o, "midplane-serial-number", "Midplane Serial Number",
		       CLI_PROP_STRING, 33, y.midplane_serial_number);
	cli_object_add(o, "vendor-name", "Vendor Name", CLI_PROP_STRING, 17,
		       y.vendor_name);
	cli_object_add(o, "product-id", "Product ID", CLI_PROP_STRING, 17,
		       y.product_id);
	cli_object_add(o, "product-brand", "Product Brand", CLI_PROP_STRING,
		       16, y.product_brand);
	cli_object_add_enum(o, "health", "Health", 10, health_name(y.health),
			    (uint32_t)y.health);
	cli_object_add(o, "health-reason", "Health Reason", CLI_PROP_STRING,
		       80, y.health_reason);
	cli_object_add_enum(o, "other-MC-status", "Other MC Status", 40,
			    or_na(y.other_mc_status),
			    y.other_mc_status_numeric);
	if (o->nprops >= 2) {
		p = &o->props[o->nprops - 2];
		p->sort = p[1].sort = "nosort";
	}
	cli_object_add(o, "pfuStatus", "PFU Status", CLI_PROP_STRING, 80,
		       or_na(y.pfu_status));
	return 0;
}

void cli_cmd_show_system(struct cli_context *c)
{
	if (no_args(c, NULL, 0))
		system_objects(c);
}

/* The family's configuration dump, limited to what Tandem has. */
void cli_cmd_show_configuration(struct cli_context *c)
{
	if (!no_args(c, NULL, 0))
		return;
	if (system_objects(c) < 0 || all_controllers(c) < 0 ||
	    all_versions(c) < 0 || cli_advanced_settings_objects(c) < 0)
		return;
	cli_protocols_objects(c);
}
