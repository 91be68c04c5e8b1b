/*
 * cmd_hardware.c: the family's show commands for the enclosure's hardware
 * and storage, which monitoring clients poll. Tandem answers with what it
 * really has (the enclosure, its two controller modules) and with the
 * family's empty list where it has no such hardware (disks, fans, pools):
 * never an invented value (docs/compat.md, "Hardware and storage"). Also
 * the controller's clock, which the same clients compare with their own.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char controllers[] = { 'A', 'B' };

/*
 * The lists Tandem has nothing in: the command's object word, the
 * basetype the family's objects of that list carry (what clients match),
 * and the noun of the Info line.
 */
static const struct {
	const char *object, *basetype, *noun;
} empty_lists[] = {
	{ "controller-statistics", "controller-statistics",
	  "controller statistics" },
	{ "disk-group-statistics", "disk-group-statistics",
	  "disk group statistics" },
	{ "disk-groups", "disk-groups", "disk groups" },
	{ "disk-statistics", "disk-statistics", "disk statistics" },
	{ "disks", "drives", "disks" },
	{ "fans", "fan", "fans" },
	{ "pools", "pools", "pools" },
	{ "ports", "port", "host ports" },
	{ "power-supplies", "power-supplies", "power supplies" },
	{ "sas-link-health", "expander-ports", "SAS expander ports" },
	{ "sensor-status", "sensors", "sensors" },
	{ "vdisks", "virtual-disks", "vdisks" },
	{ "volume-statistics", "volume-statistics", "volume statistics" },
	{ "volumes", "volumes", "volumes" },
};

static bool no_args(struct cli_context *c)
{
	if (c->nargs == 0)
		return true;
	cli_error_unexpected(c, c->args[0], "nothing");
	return false;
}

/* The family leaves the recommendation empty while health is OK. */
const char *cli_health_recommendation(enum cli_health h)
{
	if (h == CLI_HEALTH_OK || h == CLI_HEALTH_NA)
		return "";
	return "- See the health reason and the event log (show events).";
}

/*
 * An empty list (our form; the family's is not known, docs/compat.md): no
 * data object, an Info line saying so, then Success. The Info line makes
 * the XML reply carry two OBJECTs, which clients that turn the XML into
 * JSON need in order to see a list (a lone OBJECT becomes an object, not
 * an array); JSON carries the basetype as an empty array.
 */
void cli_cmd_show_hardware_list(struct cli_context *c)
{
	const char *object = c->command ? c->command->object : NULL;
	size_t i;

	if (!no_args(c))
		return;
	for (i = 0; object && i < ARRAY_SIZE(empty_lists); i++)
		if (strcmp(empty_lists[i].object, object) == 0)
			break;
	if (!object || i == ARRAY_SIZE(empty_lists)) {
		cli_error(c, CLI_RC_FAILED, "No list is known for '%s'.",
			  object ? object : "");
		return;
	}
	c->result->list_basetype = empty_lists[i].basetype;
	cli_result_info(c->result, "No %s were found.", empty_lists[i].noun);
}

/* The enclosure Tandem manages: one, its health the system's. */
void cli_cmd_show_enclosures(struct cli_context *c)
{
	struct cli_system y;
	struct cli_object *o;
	struct cli_property *p;
	struct err e;
	int rc;

	if (!no_args(c))
		return;
	memset(&y, 0, sizeof(y));
	err_clear(&e);
	rc = c->backend->system_get(c->backend_ctx, &y, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Enclosures");
		return;
	}
	c->result->list_basetype = "enclosures";
	o = cli_result_object(c->result, "enclosures", "enclosures",
			      "/meta/enclosures");
	if (!o)
		return;
	o->style = CLI_CONSOLE_TABLE;
	p = cli_object_add(o, "durable-id", "Durable ID", CLI_PROP_STRING, 20,
			   "enclosure_1");
	if (p)
		p->draw = p->console = false;
	cli_object_add_u(o, "enclosure-id", "Enclosure ID", CLI_PROP_UINT32, 4,
			 1);
	cli_object_add_enum(o, "status", "Status", 8, "Up", 1);
	cli_object_add(o, "vendor", "Vendor", CLI_PROP_STRING, 9,
		       y.vendor_name[0] ? y.vendor_name : "N/A");
	cli_object_add(o, "model", "Model", CLI_PROP_STRING, 33,
		       y.product_id[0] ? y.product_id : "N/A");
	cli_object_add(o, "midplane-serial-number", "Midplane Serial Number",
		       CLI_PROP_STRING, 33,
		       y.midplane_serial_number[0] ? y.midplane_serial_number
						   : "N/A");
	cli_object_add_enum(o, "health", "Health", 10, cli_health_name(y.health),
			    (uint32_t)y.health);
	cli_object_add(o, "health-reason", "Health Reason", CLI_PROP_STRING,
		       80, y.health_reason);
	cli_object_add(o, "health-recommendation", "Health Recommendation",
		       CLI_PROP_STRING, 900,
		       cli_health_recommendation(y.health));
}

static void fru_object(struct cli_context *c, const struct cli_system *y,
		       const struct cli_controller *k)
{
	/* FRU status of a module by its controller's status. */
	static const char *const fru_status[] = { "OK", "Fault", "Absent" };
	struct cli_object *o;
	char description[CLI_FIELD_MAX + 16];

	o = cli_result_object(c->result, "enclosure-fru", "fru",
			      "/meta/enclosure-fru");
	if (!o)
		return;
	snprintf(o->title, sizeof(o->title), "FRU");
	snprintf(description, sizeof(description), "%s Controller",
		 y->product_id[0] ? y->product_id : "Tandem");
	cli_object_add(o, "name", "Name", CLI_PROP_STRING, 32, "RAID_IOM");
	cli_object_add(o, "description", "Description", CLI_PROP_STRING, 64,
		       description);
	cli_object_add(o, "part-number", "Part Number", CLI_PROP_STRING, 32,
		       "N/A");
	cli_object_add(o, "serial-number", "Serial Number", CLI_PROP_STRING,
		       32, k->serial_number[0] ? k->serial_number : "N/A");
	cli_object_add(o, "fru-shortname", "FRU Shortname", CLI_PROP_STRING,
		       16, "RAID IOM");
	cli_object_add(o, "fru-location", "FRU Location", CLI_PROP_STRING, 32,
		       k->position_top ? "UPPER IOM SLOT" : "LOWER IOM SLOT");
	cli_object_add(o, "fru-status", "FRU Status", CLI_PROP_STRING, 8,
		       (unsigned)k->status < ARRAY_SIZE(fru_status)
			       ? fru_status[k->status] : "N/A");
	cli_object_add_u(o, "enclosure-id", "Enclosure ID", CLI_PROP_UINT32, 4,
			 1);
}

/* The field-replaceable units Tandem knows: its two controller modules. */
void cli_cmd_show_frus(struct cli_context *c)
{
	struct cli_system y;
	struct err e;
	size_t i;
	int rc;

	if (!no_args(c))
		return;
	memset(&y, 0, sizeof(y));
	err_clear(&e);
	rc = c->backend->system_get(c->backend_ctx, &y, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "FRUs");
		return;
	}
	c->result->list_basetype = "enclosure-fru";
	for (i = 0; i < ARRAY_SIZE(controllers); i++) {
		struct cli_controller k;

		memset(&k, 0, sizeof(k));
		err_clear(&e);
		rc = c->backend->controller_get(c->backend_ctx, controllers[i],
						&k, &e);
		if (rc == CLI_BACKEND_UNAVAILABLE) {
			cli_warning_partner(c, controllers[i], &e);
			continue;
		}
		if (rc < 0) {
			cli_error_backend(c, rc, &e, "FRUs");
			return;
		}
		k.controller_id = controllers[i];
		fru_object(c, &y, &k);
	}
}

/* The controller's clock (controllers keep UTC), as clients read it. */
void cli_cmd_show_controller_date(struct cli_context *c)
{
	struct cli_object *o;
	char stamp[32];
	time_t now;

	if (!no_args(c))
		return;
	now = c->backend->now(c->backend_ctx);
	cli_time_format(now, stamp);
	o = cli_result_object(c->result, "time-settings-table",
			      "controller-date", "/meta/time-settings-table");
	if (!o)
		return;
	cli_object_add(o, "date-time", "Controller Date", CLI_PROP_STRING, 20,
		       stamp);
	cli_object_add_u(o, "date-time-numeric", "Controller Date",
			 CLI_PROP_UINT32, 20, now < 0 ? 0 : (uint64_t)now);
	cli_object_add(o, "time-zone-offset", "Time Zone Offset",
		       CLI_PROP_STRING, 6, "+00:00");
	if (o->nprops >= 2)
		o->props[1].console = false;
}
