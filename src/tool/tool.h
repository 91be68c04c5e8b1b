/*
 * tool.h: the `tandem` operator command. main.c dispatches the first word
 * to one file per subcommand; each returns the process exit status.
 */
#ifndef TANDEM_TOOL_H
#define TANDEM_TOOL_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes shared by every subcommand (bundle errors add 10 + n). */
#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAILURE	1
#define TOOL_EXIT_USAGE		2

/* One subcommand of a table. */
struct tool_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* dispatch.c: runs argv[1] from cmds, or lists them. */
int tool_dispatch(const char *part, const char *usage,
		  const struct tool_command *cmds, size_t n, int argc,
		  char **argv);

/* bundle_cmd.c */
int tool_bundle(int argc, char **argv);

/* flash_cmd.c */
int tool_flash(int argc, char **argv);

/* enclosure_cmd.c */
int tool_enclosure(int argc, char **argv);

/* programs.c: the path of a sibling program (tandemd, tandem-loader). */
int tool_find_program(const char *name, char *out, size_t len);

/* programs.c: the web UI's files `enclosure up` serves: the source tree's
 * web/ when run from the build tree, else the installed copy. */
const char *tool_web_root(void);
/* The simulator's component handlers: sim/handlers/ or installed. */
const char *tool_handlers_dir(void);

/* programs.c: snprintf that says when a path did not fit (-1). */
int tool_path(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* tool_config.c: section's entries of the config file, then *argv's;
 * *argc and *argv are replaced (conf owns them). -1: told on stderr. */
struct option;
struct conffile_args;
int tool_config(const char *section, const struct option *opts, int *argc,
		char ***argv, struct conffile_args *conf);

/* user_cmd.c */
int tool_user(int argc, char **argv);

/* main.c */
void tool_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
