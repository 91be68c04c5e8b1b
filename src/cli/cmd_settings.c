/*
 * cmd_settings.c: show/set advanced-settings (partner-firmware-upgrade)
 * and show/set protocols. Settings are read and written through the
 * backend by name; a set checks every word first and hands all pairs to
 * the backend at once, so a bad word changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct protocol {
	const char *property;	/* show protocols name, backend setting */
	const char *parameter;	/* set protocols word */
	const char *display;
};

/* The family's order (MSA-REFERENCE.md, show protocols). */
static const struct protocol protocols[] = {
	{ "wbi-http", "http", "Web Browser Interface (HTTP)" },
	{ "wbi-https", "https", "Secure Web Browser Interface (HTTPS)" },
	{ "cli-telnet", "telnet", "Command Line Interface (Telnet)" },
	{ "cli-ssh", "ssh", "Secure Command Line Interface (SSH)" },
	{ "smis", "smis",
	  "Storage Management Initiative Specification (SMI-S)" },
	{ "usmis", "usmis",
	  "Unsecure Storage Management Initiative Specification (SMI-S 5988)" },
	{ "slp", "slp", "Service Location Protocol (SLP)" },
	{ "ftp", "ftp", "File Transfer Protocol (FTP)" },
	{ "sftp", "sftp", "Secure File Transfer Protocol (SFTP)" },
	{ "snmp", "snmp", "Simple Network Management Protocol (SNMP)" },
	{ "debug-interface", "debug", "Service Debug (Debug)" },
	{ "inband-ses", "ses", "In-band SES Management (Inband-SES)" },
	{ "activity-progress", "activity",
	  "Activity Progress Reporting (activity)" },
};

/* Reads an enabled/disabled setting; -1 with the error set on failure. */
static int setting_read(struct cli_context *c, const char *name, bool *on)
{
	char value[CLI_FIELD_MAX] = "";
	struct err e;
	int rc;

	err_clear(&e);
	rc = c->backend->setting_get(c->backend_ctx, name, value,
				     sizeof(value), &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, name);
		return -1;
	}
	if (strcmp(value, "enabled") != 0 && strcmp(value, "disabled") != 0) {
		cli_error(c, CLI_RC_FAILED,
			  "The setting '%s' holds an unexpected value.", name);
		return -1;
	}
	*on = strcmp(value, "enabled") == 0;
	return 0;
}

static void add_switch(struct cli_object *o, const char *name,
		       const char *display, bool on)
{
	cli_object_add_enum(o, name, display, 8, on ? "Enabled" : "Disabled",
			    on ? 1 : 0);
}

int cli_advanced_settings_objects(struct cli_context *c)
{
	struct cli_object *o;
	bool on;

	if (setting_read(c, CLI_SETTING_PFU, &on) < 0)
		return -1;
	o = cli_result_object(c->result, "advanced-settings-table",
			      "advanced-settings-table",
			      "/meta/advanced-settings-table");
	if (!o)
		return -1;
	add_switch(o, CLI_SETTING_PFU, "Partner Firmware Upgrade", on);
	return 0;
}

int cli_protocols_objects(struct cli_context *c)
{
	struct cli_object *o;
	bool on[ARRAY_SIZE(protocols)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(protocols); i++)
		if (setting_read(c, protocols[i].property, &on[i]) < 0)
			return -1;
	o = cli_result_object(c->result, "security-communications-protocols",
			      "services-security-protocols",
			      "/meta/security-communications-protocols");
	if (!o)
		return -1;
	snprintf(o->title, sizeof(o->title), "Service and Security Protocols");
	for (i = 0; i < ARRAY_SIZE(protocols); i++)
		add_switch(o, protocols[i].property, protocols[i].display,
			   on[i]);
	return 0;
}

void cli_cmd_show_advanced_settings(struct cli_context *c)
{
	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	cli_advanced_settings_objects(c);
}

void cli_cmd_show_protocols(struct cli_context *c)
{
	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	cli_protocols_objects(c);
}

/* Hands the checked pairs to the backend and reports each change. */
static void apply(struct cli_context *c, const struct cli_setting *pairs,
		  const char *const *words, size_t n)
{
	struct err e;
	size_t i;
	int rc;

	err_clear(&e);
	rc = c->backend->settings_set(c->backend_ctx, pairs, n, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The settings were not changed");
		return;
	}
	for (i = 0; i < n; i++)
		cli_result_info(c->result,
				"Parameter '%s' was set to '%s'.", words[i],
				pairs[i].value);
	cli_success(c, "The settings were changed successfully.");
}

void cli_cmd_set_advanced_settings(struct cli_context *c)
{
	static const char *const params[] = { CLI_SETTING_PFU };
	struct cli_setting pair;
	const char *word = CLI_SETTING_PFU;
	bool on;

	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL,
				     "partner-firmware-upgrade enabled|disabled");
		return;
	}
	if (cli_arg_keyword(c, 0, params, ARRAY_SIZE(params),
			    "a setting") < 0 ||
	    cli_arg_switch(c, 1, "enabled|disabled", &on) < 0)
		return;
	if (c->nargs > 2) {
		cli_error_unexpected(c, c->args[2], "nothing more");
		return;
	}
	memset(&pair, 0, sizeof(pair));
	snprintf(pair.name, sizeof(pair.name), "%s", CLI_SETTING_PFU);
	snprintf(pair.value, sizeof(pair.value), "%s",
		 on ? "enabled" : "disabled");
	apply(c, &pair, &word, 1);
}

void cli_cmd_set_protocols(struct cli_context *c)
{
	const char *names[ARRAY_SIZE(protocols)];
	struct cli_setting pairs[ARRAY_SIZE(protocols)];
	const char *words[ARRAY_SIZE(protocols)];
	bool seen[ARRAY_SIZE(protocols)] = { false };
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(protocols); i++)
		names[i] = protocols[i].parameter;
	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL,
				     "a protocol and enabled|disabled");
		return;
	}
	for (i = 0; i < c->nargs; i += 2) {
		int k = cli_arg_keyword(c, i, names, ARRAY_SIZE(names),
					"a protocol");
		bool on;

		if (k < 0 || cli_arg_switch(c, i + 1, "enabled|disabled",
					    &on) < 0)
			return;
		if (seen[k]) {
			cli_error(c, CLI_RC_SYNTAX,
				  "The protocol '%s' is given more than once.",
				  names[k]);
			return;
		}
		seen[k] = true;
		memset(&pairs[n], 0, sizeof(pairs[n]));
		snprintf(pairs[n].name, sizeof(pairs[n].name), "%s",
			 protocols[k].property);
		snprintf(pairs[n].value, sizeof(pairs[n].value), "%s",
			 on ? "enabled" : "disabled");
		words[n++] = names[k];
	}
	apply(c, pairs, words, n);
}
