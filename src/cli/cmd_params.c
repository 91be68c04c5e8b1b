/*
 * cmd_params.c: set and show cli-parameters, the per-session settings
 * (output mode, pager, ...). They live in the session, not the backend:
 * each login starts from the defaults, as on the family's arrays. A set
 * works on a copy and keeps it only if every word was right.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_parameters_default(struct cli_parameters *p)
{
	memset(p, 0, sizeof(*p));
	p->output = CLI_OUTPUT_CONSOLE;
	p->pager = true;
	p->brief = false;
	p->timeout = 1800;
	p->base = 10;
	p->precision = 1;
	p->fahrenheit = false;
	snprintf(p->units, sizeof(p->units), "auto");
	snprintf(p->locale, sizeof(p->locale), "English");
}

static int parse_number(struct cli_context *c, size_t i, unsigned min,
			unsigned max, const char *what, unsigned *out)
{
	char expected[96];
	uint64_t v;

	snprintf(expected, sizeof(expected), "%s from %u to %u", what, min,
		 max);
	if (i >= c->nargs || !u64_parse(c->args[i], max, &v) || v < min) {
		cli_error_unexpected(c, i < c->nargs ? c->args[i] : NULL,
				     expected);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

void cli_cmd_set_cli_parameters(struct cli_context *c)
{
	/* Order matters only for display; exact words win over prefixes. */
	static const char *const words[] = {
		"console", "api", "api-embed", "json", "ipa", "wbi",
		"pager", "brief", "timeout", "base", "precision",
		"temperature-scale", "units", "locale",
	};
	static const char *const bases[] = { "2", "10" };
	static const char *const scales[] = {
		"celsius", "c", "fahrenheit", "f",
	};
	static const char *const units[] = { "auto", "MB", "GB", "TB" };
	static const char *const locales[] = { "English", "en" };
	struct cli_parameters p = *c->params;
	bool mode_seen = false;
	size_t i;
	int k;

	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL,
				     "an output mode (console, api, api-embed, json) or a parameter (pager, brief, timeout, base, precision, temperature-scale, units, locale)");
		return;
	}
	for (i = 0; i < c->nargs; i++) {
		k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
				    "an output mode or a parameter");
		if (k < 0)
			return;
		if (k <= 5) {
			if (mode_seen) {
				cli_error(c, CLI_RC_SYNTAX,
					  "Only one output mode may be given.");
				return;
			}
			mode_seen = true;
			/* ipa and wbi are the XML forms web clients ask for. */
			p.output = k <= 3 ? (enum cli_output_mode)k
					  : CLI_OUTPUT_API;
			continue;
		}
		i++;
		switch (k) {
		case 6:
			if (cli_arg_switch(c, i, "enabled|disabled",
					   &p.pager) < 0)
				return;
			break;
		case 7:
			if (cli_arg_switch(c, i, "enabled|disabled",
					   &p.brief) < 0)
				return;
			break;
		case 8:
			if (parse_number(c, i, CLI_TIMEOUT_MIN,
					 CLI_TIMEOUT_MAX, "seconds",
					 &p.timeout) < 0)
				return;
			break;
		case 9:
			k = cli_arg_keyword(c, i, bases, ARRAY_SIZE(bases),
					    "a base");
			if (k < 0)
				return;
			p.base = k == 0 ? 2 : 10;
			break;
		case 10:
			if (parse_number(c, i, 1, 10, "a precision",
					 &p.precision) < 0)
				return;
			break;
		case 11:
			k = cli_arg_keyword(c, i, scales, ARRAY_SIZE(scales),
					    "a temperature scale");
			if (k < 0)
				return;
			p.fahrenheit = k >= 2;
			break;
		case 12:
			k = cli_arg_keyword(c, i, units, ARRAY_SIZE(units),
					    "units");
			if (k < 0)
				return;
			snprintf(p.units, sizeof(p.units), "%s", units[k]);
			break;
		default:
			if (cli_arg_keyword(c, i, locales, ARRAY_SIZE(locales),
					    "a locale") < 0)
				return;
			break;
		}
	}
	*c->params = p;
}

void cli_cmd_show_cli_parameters(struct cli_context *c)
{
	static const char *const output_display[] = {
		"Console", "api", "api-embed", "json",
	};
	const struct cli_parameters *p = c->params;
	struct cli_object *o;

	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	o = cli_result_object(c->result, "cli-parameters", "cli-parameters",
			      "/meta/cli-parameters");
	if (!o)
		return;
	cli_object_add_u(o, "timeout", "Timeout", CLI_PROP_UINT32, 10,
			 p->timeout);
	cli_object_add_enum(o, "output-format", "Output Format", 12,
			    output_display[p->output], (uint32_t)p->output);
	cli_object_add_enum(o, "brief-mode", "Brief Mode", 8,
			    p->brief ? "Enabled" : "Disabled", p->brief);
	cli_object_add_u(o, "base", "Base", CLI_PROP_UINT32, 8, p->base);
	cli_object_add_enum(o, "pager", "Pager", 8,
			    p->pager ? "Enabled" : "Disabled", p->pager);
	cli_object_add(o, "locale", "Locale", CLI_PROP_STRING, 20, p->locale);
	cli_object_add_u(o, "precision", "Precision", CLI_PROP_UINT32, 8,
			 p->precision);
	cli_object_add(o, "units", "Units", CLI_PROP_STRING, 8, p->units);
	cli_object_add_enum(o, "temperature-scale", "Temperature Scale", 12,
			    p->fahrenheit ? "Fahrenheit" : "Celsius",
			    p->fahrenheit);
	cli_object_add(o, "user", "User", CLI_PROP_STRING, 32, c->user);
	cli_object_add(o, "roles", "Roles", CLI_PROP_STRING, 16,
		       c->role == CLI_ROLE_MANAGE ? "manage" : "monitor");
}
