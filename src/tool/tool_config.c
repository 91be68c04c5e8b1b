/*
 * tool_config.c: a subcommand's section of the config file ([tandem
 * update], [tandem user add], ...): its entries become options before the
 * command line's (src/config/conffile.h), so flags override the file.
 */
#include <stdio.h>

#include "config/conffile.h"
#include "tool/tool.h"

int tool_config(const char *section, const struct option *opts, int *argc,
		char ***argv, struct conffile_args *conf)
{
	struct err e = { 0 };

	if (conffile_args_build(section, opts, *argc, *argv, conf, &e) < 0) {
		tool_usage_error("%s", e.msg);
		return -1;
	}
	*argc = conf->argc;
	*argv = conf->argv;
	return 0;
}
