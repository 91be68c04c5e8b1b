/*
 * session.c: one operator session: its user, role and cli-parameters, and
 * the dispatch of a command line through the command table to a result
 * that the session's output mode renders. Never fails on input: every bad
 * line becomes the family's error form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct cli_session {
	const struct cli_backend *backend;
	void *backend_ctx;
	char user[CLI_USER_NAME_MAX + 1];
	enum cli_role role;
	struct cli_parameters params;
	bool last_failed;	/* the last command answered Error */
	bool output_forced;	/* cli_session_set_output */
	enum cli_output_mode forced;
};

struct cli_session *cli_session_new(const struct cli_backend *backend,
				    void *backend_ctx, const char *user,
				    enum cli_role role)
{
	struct cli_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->backend = backend;
	s->backend_ctx = backend_ctx;
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->role = role;
	cli_parameters_default(&s->params);
	return s;
}

void cli_session_free(struct cli_session *s)
{
	free(s);
}

/* Scripts match /# $/ (MSA-REFERENCE.md, "Sessions"). */
const char *cli_session_prompt(const struct cli_session *s)
{
	(void)s;
	return "# ";
}

const struct cli_parameters *cli_session_parameters(
	const struct cli_session *s)
{
	return &s->params;
}

const char *cli_session_user(const struct cli_session *s)
{
	return s->user;
}

enum cli_role cli_session_role(const struct cli_session *s)
{
	return s->role;
}

void cli_session_set_output(struct cli_session *s, enum cli_output_mode mode)
{
	s->params.output = mode;
	s->output_forced = true;
	s->forced = mode;
}

void cli_session_start_output(struct cli_session *s,
			      enum cli_output_mode mode)
{
	s->params.output = mode;
}

/* The distinct verbs of the table, in table order. */
static size_t table_verbs(const char **verbs, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < cli_commands_count; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(verbs[j], cli_commands[i].verb) == 0)
				break;
		if (j == n && n < max)
			verbs[n++] = cli_commands[i].verb;
	}
	return n;
}

static const struct cli_command *lookup(struct cli_context *c,
					struct cli_words *w, size_t *used)
{
	const char *verbs[32], *objects[64];
	const struct cli_command *rows[64];
	char list[CLI_TEXT_MAX], q[48];
	size_t nverbs = table_verbs(verbs, ARRAY_SIZE(verbs));
	size_t i, n = 0;
	int k;

	k = cli_keyword_match(w->word[0], verbs, nverbs);
	cli_choices_join(verbs, nverbs, list, sizeof(list));
	cli_word_quote(w->word[0], q, sizeof(q));
	if (k == CLI_MATCH_AMBIGUOUS) {
		cli_choices_matching(w->word[0], verbs, nverbs, list,
				     sizeof(list));
		cli_error(c, CLI_RC_SYNTAX,
			  "The command %s is ambiguous: it could be %s.", q,
			  list);
		return NULL;
	}
	if (k < 0) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The command %s was not recognized: expected %s. Type 'help' for the list of commands.",
			  q, list);
		return NULL;
	}
	for (i = 0; i < cli_commands_count && n < ARRAY_SIZE(rows); i++) {
		if (strcmp(cli_commands[i].verb, verbs[k]) != 0)
			continue;
		if (!cli_commands[i].object) {
			*used = 1;
			return &cli_commands[i];
		}
		rows[n] = &cli_commands[i];
		objects[n++] = cli_commands[i].object;
	}
	cli_choices_join(objects, n, list, sizeof(list));
	if (w->n < 2) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The command '%s' is incomplete: expected %s.",
			  verbs[k], list);
		return NULL;
	}
	k = cli_keyword_match(w->word[1], objects, n);
	cli_word_quote(w->word[1], q, sizeof(q));
	if (k == CLI_MATCH_AMBIGUOUS) {
		cli_choices_matching(w->word[1], objects, n, list,
				     sizeof(list));
		cli_error(c, CLI_RC_SYNTAX,
			  "The parameter %s is ambiguous: it could be %s.", q,
			  list);
		return NULL;
	}
	if (k < 0) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The parameter %s was not recognized: expected %s.",
			  q, list);
		return NULL;
	}
	*used = 2;
	return rows[k];
}

static void run_line(struct cli_session *s, struct cli_context *c,
		     struct cli_words *w)
{
	const struct cli_command *cmd;
	size_t used = 0;

	cmd = lookup(c, w, &used);
	if (!cmd)
		return;
	if (s->role == CLI_ROLE_MONITOR && !cmd->monitor_ok) {
		cli_error(c, CLI_RC_PERMISSION,
			  "Permission denied: the user '%s' has the monitor role, which may only run show, check, help, exit, set cli-parameters and set user (its own).",
			  s->user);
		return;
	}
	c->command = cmd;
	c->args = w->word + used;
	c->nargs = w->n - used;
	cmd->run(c);
}

static int render(const struct cli_session *s, const struct cli_result *r,
		  struct buf *out)
{
	switch (s->output_forced ? s->forced : s->params.output) {
	case CLI_OUTPUT_API:
		return cli_render_xml(r, false, out);
	case CLI_OUTPUT_API_EMBED:
		return cli_render_xml(r, true, out);
	case CLI_OUTPUT_JSON:
		return cli_render_json(r, out);
	case CLI_OUTPUT_CONSOLE:
		break;
	}
	return cli_render_console(r, out);
}

int cli_session_execute(struct cli_session *s, const char *line, size_t len,
			struct buf *out)
{
	struct cli_result result;
	struct cli_context c;
	struct cli_words *w;
	char why[CLI_TEXT_MAX];
	size_t start = out->len;
	char *request;
	bool exit_now = false;
	int rc;

	w = malloc(sizeof(*w));
	cli_result_init(&result);
	memset(&c, 0, sizeof(c));
	c.session = s;
	c.backend = s->backend;
	c.backend_ctx = s->backend_ctx;
	c.user = s->user;
	c.role = s->role;
	c.params = &s->params;
	c.result = &result;
	result.time = s->backend->now(s->backend_ctx);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	request = cli_text_sanitize(line, len > CLI_LINE_MAX ? CLI_LINE_MAX
							     : len);
	result.request = request;
	if (!w || !request) {
		cli_error(&c, CLI_RC_FAILED, "Out of memory.");
	} else if (cli_words_split(line, len, w, why, sizeof(why)) < 0) {
		cli_error(&c, CLI_RC_SYNTAX, "%s", why);
	} else if (w->n == 0) {
		/* An empty line just gets the prompt again. */
		free(w);
		free(request);
		return CLI_EXECUTE_CONTINUE;
	} else {
		run_line(s, &c, w);
		exit_now = c.exit;
	}
	if (result.overflow) {
		cli_result_free(&result);
		result.time = s->backend->now(s->backend_ctx);
		result.request = request;
		cli_error(&c, CLI_RC_TOO_LARGE,
			  "The reply is too large: narrow the request (e.g. 'show events last 100').");
	} else if (!exit_now && result.status.text[0] == '\0') {
		cli_success(&c, NULL);
	}
	if (!exit_now) {
		rc = render(s, &result, out);
		if (rc < 0) {
			/* Keep whatever the transport had; replace our part. */
			out->len = start;
			if (out->data)
				out->data[start] = '\0';
			cli_result_free(&result);
			result.time = s->backend->now(s->backend_ctx);
			result.request = request;
			cli_error(&c, CLI_RC_TOO_LARGE,
				  "The reply is too large for this session's output buffer.");
			render(s, &result, out);
		}
	}
	s->last_failed = result.status.type == CLI_RESPONSE_ERROR;
	cli_result_free(&result);
	free(request);
	free(w);
	return exit_now ? CLI_EXECUTE_EXIT : CLI_EXECUTE_CONTINUE;
}

bool cli_session_last_failed(const struct cli_session *s)
{
	return s->last_failed;
}
