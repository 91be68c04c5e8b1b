/*
 * cmd_settings.c: show/set advanced-settings (partner-firmware-upgrade)
 * and show/set protocols. Settings are read and written through the
 * backend by name; a set checks every word first and hands all pairs to
 * the backend at once, so a bad word changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* The backend's advanced settings; NULL with the error set on failure. */
static struct cli_setting_info *advanced_list(struct cli_context *c,
					      size_t *n)
{
	struct cli_setting_info *list;
	struct err e;
	int rc;

	list = calloc(CLI_ADVANCED_SETTINGS_MAX, sizeof(*list));
	if (!list) {
		cli_error(c, CLI_RC_FAILED, "Out of memory.");
		return NULL;
	}
	err_clear(&e);
	*n = 0;
	rc = c->backend->advanced_settings_list(c->backend_ctx, list,
						CLI_ADVANCED_SETTINGS_MAX, n,
						&e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Advanced settings");
		free(list);
		return NULL;
	}
	return list;
}

int cli_advanced_settings_objects(struct cli_context *c)
{
	struct cli_setting_info *list;
	struct cli_object *o;
	size_t n, i;

	list = advanced_list(c, &n);
	if (!list)
		return -1;
	o = cli_result_object(c->result, "advanced-settings-table",
			      "advanced-settings-table",
			      "/meta/advanced-settings-table");
	for (i = 0; o && i < n; i++) {
		if (list[i].kind == CLI_SETTING_SWITCH)
			add_switch(o, list[i].name, list[i].display,
				   strcmp(list[i].value, "enabled") == 0);
		else
			cli_object_add_u(o, list[i].name, list[i].display,
					 CLI_PROP_UINT32, 8,
					 strtoull(list[i].value, NULL, 10));
	}
	free(list);
	return o ? 0 : -1;
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

/* A number for a CLI_SETTING_NUMBER setting: digits only, in range. */
static int arg_number(struct cli_context *c, size_t i,
		      const struct cli_setting_info *k, unsigned *out)
{
	char q[48];
	unsigned long long v = 0;
	const char *p;

	if (i >= c->nargs) {
		cli_error_unexpected(c, NULL, "a number");
		return -1;
	}
	for (p = c->args[i]; *p >= '0' && *p <= '9' && v <= k->max; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p || p == c->args[i] || v < k->min || v > k->max) {
		cli_word_quote(c->args[i], q, sizeof(q));
		cli_error(c, CLI_RC_SYNTAX, "The value %s for '%s' is not a "
			  "number from %u to %u.", q, k->name, k->min, k->max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* `set advanced-settings <name> <value> ...`: every setting the backend
 * lists, switches and numbers alike, several at once, all or none. */
void cli_cmd_set_advanced_settings(struct cli_context *c)
{
	struct cli_setting_info *list;
	const char *names[CLI_ADVANCED_SETTINGS_MAX];
	struct cli_setting pairs[CLI_SETTINGS_MAX];
	const char *words[CLI_SETTINGS_MAX];
	bool seen[CLI_ADVANCED_SETTINGS_MAX] = { false };
	size_t n, i, npairs = 0;

	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL, "a setting and its value");
		return;
	}
	list = advanced_list(c, &n);
	if (!list)
		return;
	for (i = 0; i < n; i++)
		names[i] = list[i].name;
	for (i = 0; i < c->nargs; i += 2) {
		int k = cli_arg_keyword(c, i, names, n, "a setting");
		unsigned number;
		bool on;

		if (k < 0)
			goto out;
		if (npairs == CLI_SETTINGS_MAX) {
			cli_error(c, CLI_RC_SYNTAX, "At most %d settings can "
				  "be set at once.", CLI_SETTINGS_MAX);
			goto out;
		}
		if (seen[k]) {
			cli_error(c, CLI_RC_SYNTAX,
				  "The setting '%s' is given more than once.",
				  names[k]);
			goto out;
		}
		seen[k] = true;
		memset(&pairs[npairs], 0, sizeof(pairs[npairs]));
		snprintf(pairs[npairs].name, sizeof(pairs[npairs].name), "%s",
			 names[k]);
		if (list[k].kind == CLI_SETTING_SWITCH) {
			if (cli_arg_switch(c, i + 1, "enabled|disabled",
					   &on) < 0)
				goto out;
			snprintf(pairs[npairs].value,
				 sizeof(pairs[npairs].value), "%s",
				 on ? "enabled" : "disabled");
		} else {
			if (arg_number(c, i + 1, &list[k], &number) < 0)
				goto out;
			snprintf(pairs[npairs].value,
				 sizeof(pairs[npairs].value), "%u", number);
		}
		words[npairs++] = names[k];
	}
	apply(c, pairs, words, npairs);
out:
	free(list);
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
