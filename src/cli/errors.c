/*
 * errors.c: the family's error form and the small argument parsers every
 * command shares, so each error names the word that was wrong and what
 * would have been right.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_error(struct cli_context *c, int return_code, const char *fmt, ...)
{
	char text[CLI_TEXT_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cli_result_status(c->result, CLI_RESPONSE_ERROR, return_code, "%s",
			  text);
}

void cli_error_backend(struct cli_context *c, int rc, const struct err *e,
		       const char *what)
{
	const char *why = e->msg[0] ? e->msg : "no reason given";

	switch (rc) {
	case CLI_BACKEND_UNAVAILABLE:
		cli_error(c, CLI_RC_UNAVAILABLE,
			  "%s: the partner controller is not available: %s",
			  what, why);
		break;
	case CLI_BACKEND_NOT_FOUND:
		cli_error(c, CLI_RC_NOT_FOUND, "%s: %s", what, why);
		break;
	case CLI_BACKEND_EXISTS:
		cli_error(c, CLI_RC_EXISTS, "%s: %s", what, why);
		break;
	default:
		cli_error(c, CLI_RC_FAILED, "%s: %s", what, why);
		break;
	}
}

void cli_error_unexpected(struct cli_context *c, const char *word,
			  const char *expected)
{
	char q[48];

	if (!word) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The command is incomplete: expected %s.", expected);
		return;
	}
	cli_word_quote(word, q, sizeof(q));
	cli_error(c, CLI_RC_SYNTAX,
		  "The parameter %s was not recognized: expected %s.", q,
		  expected);
}

void cli_success(struct cli_context *c, const char *detail)
{
	if (detail)
		cli_result_status(c->result, CLI_RESPONSE_SUCCESS, CLI_RC_OK,
				  "Command completed successfully. - %s",
				  detail);
	else
		cli_result_status(c->result, CLI_RESPONSE_SUCCESS, CLI_RC_OK,
				  "Command completed successfully.");
}

/* Argument i as one of choices; on failure the error is already set. */
int cli_arg_keyword(struct cli_context *c, size_t i,
		    const char *const *choices, size_t n, const char *what)
{
	char list[CLI_TEXT_MAX], q[48], expected[CLI_TEXT_MAX + 64];
	int k;

	cli_choices_join(choices, n, list, sizeof(list));
	snprintf(expected, sizeof(expected), "%s (%s)", what, list);
	if (i >= c->nargs) {
		cli_error_unexpected(c, NULL, expected);
		return -1;
	}
	k = cli_keyword_match(c->args[i], choices, n);
	if (k == CLI_MATCH_AMBIGUOUS) {
		cli_word_quote(c->args[i], q, sizeof(q));
		cli_choices_matching(c->args[i], choices, n, list,
				     sizeof(list));
		cli_error(c, CLI_RC_SYNTAX,
			  "The parameter %s is ambiguous: it could be %s.", q,
			  list);
		return -1;
	}
	if (k < 0) {
		cli_error_unexpected(c, c->args[i], expected);
		return -1;
	}
	return k;
}

/* The family takes enabled|disabled and on|off for every switch. */
int cli_arg_switch(struct cli_context *c, size_t i, const char *what,
		   bool *on)
{
	static const char *const words[] = {
		"enabled", "disabled", "on", "off",
	};
	int k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words), what);

	if (k < 0)
		return -1;
	*on = k == 0 || k == 2;
	return 0;
}

int cli_arg_target(struct cli_context *c, size_t i, enum cli_target *t)
{
	static const char *const words[] = { "a", "b", "both" };
	static const enum cli_target targets[] = {
		CLI_TARGET_A, CLI_TARGET_B, CLI_TARGET_BOTH,
	};
	int k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
				"a controller");

	if (k < 0)
		return -1;
	*t = targets[k];
	return 0;
}

/* A controller that does not answer: a warning, and the rest still comes. */
void cli_warning_partner(struct cli_context *c, char id, const struct err *e)
{
	cli_result_status(c->result, CLI_RESPONSE_WARNING, CLI_RC_UNAVAILABLE,
			  "Controller %c is not available: %s", id,
			  e->msg[0] ? e->msg : "the partner controller does not answer");
}
