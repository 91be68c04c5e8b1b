/*
 * main.c: `tandem SUBCOMMAND ...`. Finds the subcommand in a table and hands
 * it the remaining arguments; knows nothing of what the subcommands do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "tool/tool.h"
#include "tool/update.h"

static const struct tool_command tool_commands[] = {
	{ "bundle", tool_bundle,
	  "keygen, create, inspect and verify signed firmware bundles" },
	{ "enclosure", tool_enclosure,
	  "run a simulated two-controller enclosure: init, up, down, status" },
	{ "flash", tool_flash,
	  "install a bundle into a controller's flash store, show it, check it" },
	{ "update", tool_update,
	  "load a bundle into a controller over HTTPS and follow it to the end" },
	{ "user", tool_user,
	  "add a user to a controller's state directory (provisioning)" },
};

static void tool_help(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: tandem COMMAND [ARGS...]\n"
		"\n"
		"Tandem: management controller for dual-controller storage "
		"enclosures.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(tool_commands); i++)
		fprintf(out, "  %-10s %s\n", tool_commands[i].name,
			tool_commands[i].summary);
	fprintf(out, "\nRun 'tandem COMMAND --help' for a command's options.\n");
}

void tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tandem: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	size_t i;

	log_set_program("tandem");
	fault_arm_from_env();
	if (argc < 2) {
		tool_help(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		tool_help(stdout);
		return TOOL_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(tool_commands); i++)
		if (!strcmp(argv[1], tool_commands[i].name))
			return tool_commands[i].run(argc - 1, argv + 1);
	tool_usage_error("unknown command '%s' (try 'tandem --help')",
			 argv[1]);
	return TOOL_EXIT_USAGE;
}
