/*
 * cli_run.c: runs CLI command lines through one session over the test
 * backend and prints the replies, for the XML/JSON checks in pytest and
 * for trying commands by hand:
 *   cli-run [--role manage|monitor] [--user NAME] [--partner-down]
 *           [--mode console|api|api-embed|json] [COMMAND ...]
 * With no COMMAND it reads lines from stdin, printing the prompt first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli_test_backend.h"

static int run(struct cli_session *s, const char *line, bool print)
{
	struct buf out;
	int rc;

	buf_init(&out, CLI_OUTPUT_MAX);
	rc = cli_session_execute(s, line, strlen(line), &out);
	if (print && out.len)
		fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	static struct cli_test_backend backend;
	enum cli_role role = CLI_ROLE_MANAGE;
	const char *user = "manage", *mode = NULL;
	struct cli_session *s;
	char line[CLI_LINE_MAX + 2];
	int i;

	cli_test_backend_init(&backend);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--partner-down") == 0) {
			backend.partner_up = false;
		} else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			role = strcmp(argv[++i], "monitor") == 0
				       ? CLI_ROLE_MONITOR : CLI_ROLE_MANAGE;
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			mode = argv[++i];
		} else {
			fprintf(stderr, "cli-run: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	s = cli_session_new(&cli_test_backend_ops, &backend, user, role);
	if (!s)
		return 1;
	if (mode) {
		snprintf(line, sizeof(line), "set cli-parameters %s", mode);
		run(s, line, false);
	}
	if (i < argc) {
		for (; i < argc; i++)
			if (run(s, argv[i], true) == CLI_EXECUTE_EXIT)
				break;
	} else {
		for (;;) {
			fputs(cli_session_prompt(s), stdout);
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				break;
			if (run(s, line, true) == CLI_EXECUTE_EXIT)
				break;
		}
	}
	cli_session_free(s);
	return 0;
}
