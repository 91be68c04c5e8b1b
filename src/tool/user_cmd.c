/*
 * user_cmd.c: `tandem user add`: the first users of a controller, written
 * into its state directory before tandemd starts (provisioning), with no
 * password on any command line: it is read from the terminal without
 * echo, or from stdin, or given already hashed (a crypt(3) yescrypt
 * string) for images built elsewhere. A running tandemd keeps its users in
 * memory: add users to it with the CLI's `create user` instead.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "config/conffile.h"
#include "config/config.h"
#include "tool/tool.h"

static void add_usage(FILE *f)
{
	fprintf(f,
		"usage: tandem user add NAME --role manage|monitor "
		"[--state DIR]\n"
		"         [--password-hash HASH] [--config FILE]\n"
		"DIR is the controller's state directory (default: the state "
		"of the config\nfile's [tandemd] section). The password is "
		"read from the terminal (twice,\nnot echoed) or, when stdin "
		"is not a terminal, as one line from stdin.\n--password-hash "
		"takes a yescrypt hash instead (mkpasswd -m yescrypt).\n"
		"Run it while that controller's tandemd is stopped.\n");
}

/* One line from fd into out, without its end; -1 when there is none. */
static int line_read(int fd, char *out, size_t len)
{
	size_t n = 0;
	char ch = '\0';

	for (;;) {
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n + 1 < len)
			out[n++] = ch;
		else
			n = len;	/* too long: fails the length check */
	}
	if (n == 0 && (ch != '\n'))
		return -1;
	if (n >= len) {
		out[len - 1] = '\0';
		return (int)len;
	}
	while (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return (int)n;
}

/* On a terminal: asked twice with echo off. */
static int password_from_tty(const char *name, char *out, size_t len)
{
	char again[CONFIG_PASSWORD_MAX + 2];
	struct termios old, quiet;
	int rc = 0;

	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* Echo off before the prompt: nothing typed after it is shown. */
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fprintf(stderr, "Password for %s: ", name);
	fflush(stderr);
	if (line_read(STDIN_FILENO, out, len) < 0)
		rc = -1;
	if (rc == 0) {
		fprintf(stderr, "Again: ");
		fflush(stderr);
		if (line_read(STDIN_FILENO, again, sizeof(again)) < 0 ||
		    strcmp(out, again))
			rc = -2;
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* The state directory: --state, else [tandemd]'s state in the file. */
static int state_dir(const char *given, const struct conffile_args *conf,
		     char *out, size_t len)
{
	struct err e = { 0 };
	int rc;

	if (given) {
		snprintf(out, len, "%s", given);
		return 0;
	}
	if (!conf->path[0]) {
		tool_usage_error("user add: no --state DIR and no config file");
		return -1;
	}
	rc = conffile_get(conf->path, "tandemd", "state", out, len, &e);
	if (rc < 0)
		tool_usage_error("user add: %s", e.msg);
	else if (rc == 0)
		tool_usage_error("user add: no --state DIR, and %s has no "
				 "state in [tandemd]", conf->path);
	return rc == 1 ? 0 : -1;
}

static int cmd_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 's' },
		{ "password-hash", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *state = NULL, *hash = NULL, *name;
	char password[CONFIG_PASSWORD_MAX + 2], dir[PATH_MAX];
	char path[PATH_MAX + 16];
	static struct conffile_args conf;	/* options point into it */
	struct config_user u;
	struct config *cfg;
	struct err e = { 0 };
	unsigned roles;
	int c, rc;

	if (tool_config("tandem user add", opts, &argc, &argv, &conf) < 0)
		return TOOL_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'r') {
			role = optarg;
		} else if (c == 's') {
			state = optarg;
		} else if (c == 'H') {
			hash = optarg;
		} else {
			add_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !role) {
		add_usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	name = argv[optind];
	if (config_user_name_check(name, &e) < 0 ||
	    config_roles_parse(role, &roles, &e) < 0) {
		tool_usage_error("user add: %s", e.msg);
		return TOOL_EXIT_USAGE;
	}
	if (state_dir(state, &conf, dir, sizeof(dir)) < 0)
		return TOOL_EXIT_USAGE;
	if (!hash) {
		rc = isatty(STDIN_FILENO) ?
		     password_from_tty(name, password, sizeof(password)) :
		     line_read(STDIN_FILENO, password, sizeof(password));
		if (rc < 0) {
			tool_usage_error("user add: %s", rc == -2 ?
					 "the passwords differ" :
					 "no password on stdin");
			return TOOL_EXIT_FAILURE;
		}
		if (config_password_check(password, &e) < 0) {
			explicit_bzero(password, sizeof(password));
			tool_usage_error("user add: %s", e.msg);
			return TOOL_EXIT_FAILURE;
		}
	}
	snprintf(path, sizeof(path), "%s/config", dir);
	if (config_open(path, NULL, &cfg, &e) < 0) {
		explicit_bzero(password, sizeof(password));
		tool_usage_error("user add: %s", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	config_user_defaults(&u, name, roles);
	rc = hash ? config_user_create_hashed(cfg, &u, hash, &e) :
		    config_user_create(cfg, &u, password, &e);
	explicit_bzero(password, sizeof(password));
	config_close(cfg);
	conffile_args_free(&conf);
	if (rc < 0) {
		tool_usage_error("user add: %s", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	printf("user %s (%s) added to %s\n", name, role, dir);
	return TOOL_EXIT_OK;
}

static const struct tool_command user_commands[] = {
	{ "add", cmd_add, "add a user (password from the terminal, stdin, "
	  "or a yescrypt hash)" },
};

int tool_user(int argc, char **argv)
{
	return tool_dispatch("user", "SUBCOMMAND [ARGS...]", user_commands,
			     ARRAY_SIZE(user_commands), argc, argv);
}
