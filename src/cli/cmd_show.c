/*
 * cmd_show.c: show versions, controllers, system and configuration. Each
 * builds objects from the backend's plain data; none prints. A partner
 * that cannot be reached turns the reply into a Warning naming it, with
 * the local controller's objects still there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char controllers[] = { 'A', 'B' };

/* Empty text is shown as N/A: a version we cannot know is not "". */
static const char *or_na(const char *s)
{
	return s[0] ? s : "N/A";
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
			cli_warning_partner(c, controllers[i], &e);
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

const char *cli_health_name(enum cli_health h)
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
	/* Real counts: Tandem attaches no disks, pools or disk groups. */
	cli_object_add_u(o, "disks", "Disks", CLI_PROP_UINT32, 24, 0);
	cli_object_add_u(o, "number-of-storage-pools", "Virtual Pools",
			 CLI_PROP_UINT32, 24, 0);
	cli_object_add_u(o, "virtual-disks", "Disk Groups", CLI_PROP_UINT32,
			 24, 0);
	cli_object_add_enum(o, "status", "Status", 10,
			    (unsigned)k->status < ARRAY_SIZE(status)
				    ? status[k->status] : "Unknown",
			    (uint32_t)k->status);
	cli_object_add(o, "sc-fw", "Storage Controller Code Version",
		       CLI_PROP_STRING, 21, or_na(k->sc_fw));
	cli_object_add(o, "sc-cpu-type", "Storage Controller CPU Type",
		       CLI_PROP_STRING, 17, or_na(k->sc_cpu_type));
	cli_object_add(o, "part-number", "Part Number", CLI_PROP_STRING, 32,
		       "N/A");
	cli_object_add_enum(o, "health", "Health", 10, cli_health_name(k->health),
			    (uint32_t)k->health);
	cli_object_add(o, "health-reason", "Health Reason", CLI_PROP_STRING,
		       80, k->health_reason);
	cli_object_add(o, "health-recommendation", "Health Recommendation",
		       CLI_PROP_STRING, 900,
		       cli_health_recommendation(k->health));
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
			cli_warning_partner(c, controllers[i], &e);
			continue;
		}
		if (rc < 0) {
			cli_error_backend(c, rc, &e, "Controllers");
			return -1;
		}
		k.controller_id = controllers[i];
		controller_object(c, &k);
		if (k.status != CLI_CONTROLLER_OPERATIONAL) {
			err_set(&e, CLI_BACKEND_UNAVAILABLE, "%s",
				k.health_reason);
			cli_warning_partner(c, controllers[i], &e);
		}
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
	cli_object_add_enum(o, "health", "Health", 10, cli_health_name(y.health),
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

static const char *status_name(enum cli_controller_status s)
{
	static const char *const names[] = {
		"Operational", "Down", "Not Installed",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "Unknown";
}

/*
 * The family's `show redundancy-mode` (object system-redundancy; names,
 * order and numbers as the family's, docs/compat.md), built from both
 * controllers' status and the other MC's: nothing of it is stored.
 */
void cli_cmd_show_redundancy_mode(struct cli_context *c)
{
	struct cli_controller k[2];
	struct cli_firmware_status *f;
	struct cli_system y;
	struct cli_object *o;
	const char *mode, *status;
	uint32_t mode_n, status_n;
	/* Display names are kept by pointer: static text. */
	static const struct {
		const char *status, *status_display, *serial, *serial_display;
	} names[] = {
		{ "controller-a-status", "Controller A Status",
		  "controller-a-serial-number", "Controller A Serial Number" },
		{ "controller-b-status", "Controller B Status",
		  "controller-b-serial-number", "Controller B Serial Number" },
	};
	char local;
	bool ready;
	size_t i;
	struct err e;
	int rc;

	if (!no_args(c, NULL, 0))
		return;
	local = c->backend->local_controller(c->backend_ctx);
	for (i = 0; i < ARRAY_SIZE(controllers); i++) {
		memset(&k[i], 0, sizeof(k[i]));
		err_clear(&e);
		rc = c->backend->controller_get(c->backend_ctx, controllers[i],
						&k[i], &e);
		if (rc == CLI_BACKEND_UNAVAILABLE) {
			k[i].status = CLI_CONTROLLER_DOWN;
			snprintf(k[i].health_reason,
				 sizeof(k[i].health_reason), "%.200s", e.msg);
		} else if (rc < 0) {
			cli_error_backend(c, rc, &e, "Redundancy");
			return;
		}
	}
	memset(&y, 0, sizeof(y));
	err_clear(&e);
	rc = c->backend->system_get(c->backend_ctx, &y, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Redundancy");
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		cli_error(c, CLI_RC_FAILED, "Out of memory.");
		return;
	}
	err_clear(&e);
	rc = c->backend->firmware_status_get(c->backend_ctx, f, &e);
	ready = rc == 0 && strcmp(f->activity, "codeload") != 0;
	free(f);
	if (k[0].status == CLI_CONTROLLER_OPERATIONAL &&
	    k[1].status == CLI_CONTROLLER_OPERATIONAL) {
		mode = "Active-Active ULP", mode_n = 8;
		status = "Redundant", status_n = 2;
	} else if (k[0].status == CLI_CONTROLLER_NOT_INSTALLED ||
		   k[1].status == CLI_CONTROLLER_NOT_INSTALLED) {
		mode = "Single Controller", mode_n = 9;
		status = "Operational but not redundant", status_n = 0;
	} else {
		mode = "Failed Over", mode_n = 10;
		status = "Operational but not redundant", status_n = 0;
	}
	o = cli_result_object(c->result, "redundancy", "system-redundancy",
			      "/meta/redundancy");
	if (!o)
		return;
	snprintf(o->title, sizeof(o->title), "System Redundancy");
	cli_object_add_enum(o, "redundancy-mode", "Controller Redundancy Mode",
			    140, mode, mode_n);
	cli_object_add_enum(o, "redundancy-status",
			    "Controller Redundancy Status", 140, status,
			    status_n);
	for (i = 0; i < ARRAY_SIZE(controllers); i++) {
		cli_object_add_enum(o, names[i].status, names[i].status_display,
				    40, status_name(k[i].status),
				    (uint32_t)k[i].status);
		cli_object_add(o, names[i].serial, names[i].serial_display,
			       CLI_PROP_STRING, 32, or_na(k[i].serial_number));
	}
	cli_object_add_enum(o, "other-MC-status", "Other MC Status", 40,
			    or_na(y.other_mc_status),
			    y.other_mc_status_numeric);
	cli_object_add_enum(o, "system-ready", "System Ready", 40,
			    ready ? "Ready" : "Not Ready", ready ? 1 : 0);
	for (i = 0; i < o->nprops; i++)
		o->props[i].sort = "nosort";
	for (i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controllers[i] != local &&
		    k[i].status != CLI_CONTROLLER_OPERATIONAL) {
			err_set(&e, CLI_BACKEND_UNAVAILABLE, "%s",
				k[i].health_reason);
			cli_warning_partner(c, controllers[i], &e);
		}
}
