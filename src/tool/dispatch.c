/*
 * dispatch.c: `tandem PART SUBCOMMAND ...`: finds the subcommand in its
 * part's table, or lists the table (stdout for --help, else stderr).
 */
#include <stdio.h>
#include <string.h>

#include "tool/tool.h"

int tool_dispatch(const char *part, const char *usage,
		  const struct tool_command *cmds, size_t n, int argc,
		  char **argv)
{
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") ||
				  !strcmp(argv[1], "-h"));
	FILE *out = help ? stdout : stderr;
	size_t i;

	for (i = 0; argc >= 2 && !help && i < n; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	if (argc >= 2 && !help)
		tool_usage_error("%s: unknown subcommand '%s'", part, argv[1]);
	fprintf(out, "usage: tandem %s %s\n\n", part, usage);
	for (i = 0; i < n; i++)
		fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	return help ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
}
