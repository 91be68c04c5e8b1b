/*
 * tool.h: the `tandem` operator command. main.c dispatches the first word
 * to one file per subcommand; each returns the process exit status.
 */
#ifndef TANDEM_TOOL_H
#define TANDEM_TOOL_H

/* Exit codes shared by every subcommand (bundle errors add 10 + n). */
#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAILURE	1
#define TOOL_EXIT_USAGE		2

/* bundle_cmd.c */
int tool_bundle(int argc, char **argv);

/* flash_cmd.c */
int tool_flash(int argc, char **argv);

/* main.c */
void tool_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
