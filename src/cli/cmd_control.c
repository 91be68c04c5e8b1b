/*
 * cmd_control.c: restart, shutdown, help and exit. Restart and shutdown
 * only ask the backend; the backend decides how (and reports a partner
 * that cannot be reached). Help text lives in the command table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

static const char *target_text(enum cli_target t)
{
	return t == CLI_TARGET_A ? "controller A"
	     : t == CLI_TARGET_B ? "controller B" : "controllers A and B";
}

/* Optional a|b|both (default: this controller), then optional noprompt. */
static int parse_target(struct cli_context *c, size_t first, bool required,
			enum cli_target *t)
{
	size_t i = first;

	*t = c->backend->local_controller(c->backend_ctx) == 'B'
		     ? CLI_TARGET_B : CLI_TARGET_A;
	if (i < c->nargs && strcasecmp(c->args[i], "noprompt") != 0) {
		if (cli_arg_target(c, i, t) < 0)
			return -1;
		i++;
	} else if (required) {
		cli_error_unexpected(c, i < c->nargs ? c->args[i] : NULL,
				     "a controller (a, b or both)");
		return -1;
	}
	if (i < c->nargs && strcasecmp(c->args[i], "noprompt") == 0)
		i++;
	if (i < c->nargs) {
		cli_error_unexpected(c, c->args[i], "nothing more");
		return -1;
	}
	return 0;
}

void cli_cmd_restart(struct cli_context *c)
{
	static const char *const what[] = { "mc", "sc" };
	enum cli_target t;
	char detail[CLI_TEXT_MAX];
	struct err e;
	int k, rc;

	k = cli_arg_keyword(c, 0, what, ARRAY_SIZE(what),
			    "the processor to restart");
	if (k < 0 || parse_target(c, 1, false, &t) < 0)
		return;
	err_clear(&e);
	rc = c->backend->restart(c->backend_ctx, (enum cli_processor)k, t, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The restart was not started");
		return;
	}
	snprintf(detail, sizeof(detail), "Restarting the %s of %s.",
		 k == 0 ? "MC" : "SC", target_text(t));
	cli_success(c, detail);
}

void cli_cmd_shutdown(struct cli_context *c)
{
	enum cli_target t;
	char detail[CLI_TEXT_MAX];
	struct err e;
	int rc;

	if (parse_target(c, 0, true, &t) < 0)
		return;
	err_clear(&e);
	rc = c->backend->shutdown(c->backend_ctx, t, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The shutdown was not started");
		return;
	}
	snprintf(detail, sizeof(detail), "Shutting down %s.", target_text(t));
	cli_success(c, detail);
}

static bool allowed(const struct cli_context *c, const struct cli_command *k)
{
	return c->role == CLI_ROLE_MANAGE || k->monitor_ok;
}

/* help lists commands in alphabetical order of their words, as the
 * family's CLI reference does; the table's own order is where each part
 * added its rows. */
static int command_order(const void *a, const void *b)
{
	const struct cli_command *x = *(const struct cli_command *const *)a;
	const struct cli_command *y = *(const struct cli_command *const *)b;
	int d = strcmp(x->verb, y->verb);

	if (d)
		return d;
	if (!x->object || !y->object)
		return !!x->object - !!y->object;
	return strcmp(x->object, y->object);
}

void cli_cmd_help(struct cli_context *c)
{
	const struct cli_command **sorted;
	struct buf text;
	struct cli_object *o;
	size_t i;
	int shown = 0;

	sorted = calloc(cli_commands_count, sizeof(*sorted));
	if (!sorted) {
		cli_error(c, CLI_RC_FAILED, "Out of memory.");
		return;
	}
	for (i = 0; i < cli_commands_count; i++)
		sorted[i] = &cli_commands[i];
	qsort(sorted, cli_commands_count, sizeof(*sorted), command_order);
	buf_init(&text, 64 * 1024);
	for (i = 0; i < cli_commands_count; i++) {
		const struct cli_command *k = sorted[i];
		const char *verb = c->nargs > 0 ? c->args[0] : NULL;
		const char *obj = c->nargs > 1 ? c->args[1] : NULL;
		size_t vl = verb ? strlen(verb) : 0;

		if (!allowed(c, k))
			continue;
		/* help <verb> [<object>]: by prefix, like the commands. */
		if (verb && strncasecmp(k->verb, verb, vl) != 0)
			continue;
		if (obj && (!k->object ||
			    strncasecmp(k->object, obj, strlen(obj)) != 0))
			continue;
		if (c->nargs > 2)
			continue;
		buf_appendf(&text, "%s\n    %s\n", k->syntax, k->summary);
		shown++;
	}
	free(sorted);
	if (!shown) {
		buf_free(&text);
		cli_error(c, CLI_RC_SYNTAX,
			  "No help for that: type 'help' for the list of commands.");
		return;
	}
	o = cli_result_object(c->result, "help", "help", "/meta/help");
	if (o) {
		o->style = CLI_CONSOLE_TEXT;
		cli_object_add(o, "help", "Help", CLI_PROP_STRING, 4096,
			       text.data ? text.data : "");
	}
	buf_free(&text);
}

void cli_cmd_exit(struct cli_context *c)
{
	c->exit = true;
}
