/*
 * cmd_users.c: show users, create user, set password, set user, delete
 * user. Names and passwords are checked here against the family's rules
 * before the backend (which hashes and stores them) ever sees them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

/* A user's stored output format, by enum cli_output_mode (the words of
 * `set cli-parameters`). */
static const char *const output_names[] = {
	"console", "api", "api-embed", "json",
};

/* Family rule: no '"', ',', '<' or '\'; printable ASCII. */
static bool text_allowed(const char *s, bool allow_space)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch > 0x7e || strchr("\",<\\", ch) ||
		    (ch == ' ' && !allow_space))
			return false;
	}
	return true;
}

static int check_name(struct cli_context *c, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLI_USER_NAME_MAX || !text_allowed(name, false)) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The user name is not valid: use 1 to %d printable characters without spaces, '\"', ',', '<' or '\\'.",
			  CLI_USER_NAME_MAX);
		return -1;
	}
	return 0;
}

static int check_password(struct cli_context *c, const char *pw)
{
	size_t len = strlen(pw);

	if (len == 0 || len > CLI_PASSWORD_MAX || !text_allowed(pw, true)) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The password is not valid: use 1 to %d printable characters without '\"', ',', '<' or '\\'.",
			  CLI_PASSWORD_MAX);
		return -1;
	}
	return 0;
}

static int user_row(void *arg, const struct cli_user *u)
{
	struct cli_context *c = arg;
	struct cli_object *o;

	o = cli_result_object(c->result, "users", "user", "/meta/users");
	if (!o)
		return 1;
	o->style = CLI_CONSOLE_TABLE;
	cli_object_add(o, "username", "Username", CLI_PROP_STRING, 32,
		       u->name);
	cli_object_add_enum(o, "roles", "Roles", 32,
			    u->role == CLI_ROLE_MANAGE ? "manage" : "monitor",
			    u->role == CLI_ROLE_MANAGE ? 1 : 0);
	cli_object_add(o, "user-locale", "User Locale", CLI_PROP_STRING, 20,
		       "English");
	cli_object_add(o, "interface-access-WBI", "WBI", CLI_PROP_STRING, 3,
		       u->interfaces & CLI_INTERFACE_WBI ? "x" : "");
	cli_object_add(o, "interface-access-CLI", "CLI", CLI_PROP_STRING, 3,
		       u->interfaces & CLI_INTERFACE_CLI ? "x" : "");
	cli_object_add(o, "interface-access-FTP", "FTP", CLI_PROP_STRING, 3,
		       u->interfaces & CLI_INTERFACE_FTP ? "x" : "");
	cli_object_add_enum(o, "output-format", "Output Format", 12,
			    u->output < ARRAY_SIZE(output_names) ?
			    output_names[u->output] : "console", u->output);
	return 0;
}

void cli_cmd_show_users(struct cli_context *c)
{
	struct err e;
	int rc;

	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	err_clear(&e);
	rc = c->backend->users_iterate(c->backend_ctx, user_row, c, &e);
	if (rc < 0)
		cli_error_backend(c, rc, &e, "Users");
}

/* "cli,wbi,ftp" or "none"; each word by unique prefix. */
static int parse_interfaces(struct cli_context *c, const char *list,
			    unsigned *out)
{
	static const char *const names[] = { "cli", "wbi", "ftp", "none" };
	static const unsigned bits[] = {
		CLI_INTERFACE_CLI, CLI_INTERFACE_WBI, CLI_INTERFACE_FTP, 0,
	};
	char copy[CLI_TEXT_MAX], *save = NULL, *tok;
	int k;

	*out = 0;
	if (strlen(list) >= sizeof(copy)) {
		cli_error(c, CLI_RC_SYNTAX, "The interface list is too long.");
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		k = cli_keyword_match(tok, names, ARRAY_SIZE(names));
		if (k < 0) {
			cli_error_unexpected(c, tok,
					     "interfaces from cli, wbi, ftp or none, separated by commas");
			return -1;
		}
		*out |= bits[k];
	}
	return 0;
}

void cli_cmd_create_user(struct cli_context *c)
{
	static const char *const words[] = {
		"interfaces", "password", "roles",
	};
	static const char *const roles[] = { "manage", "monitor" };
	struct cli_user u;
	const char *password = NULL;
	struct err e;
	size_t i;
	int k, rc;

	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL,
				     "[interfaces <list>] password <password> [roles manage|monitor] <name>");
		return;
	}
	memset(&u, 0, sizeof(u));
	u.role = CLI_ROLE_MONITOR;
	u.interfaces = CLI_INTERFACE_CLI | CLI_INTERFACE_WBI;
	/* The name comes last, so a name is never taken for a keyword. */
	for (i = 0; i + 1 < c->nargs; i += 2) {
		k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
				    "interfaces, password or roles");
		if (k < 0)
			return;
		if (i + 2 >= c->nargs) {
			cli_error(c, CLI_RC_SYNTAX,
				  "The command is incomplete: expected a value after '%s' and then the user name.",
				  words[k]);
			return;
		}
		if (k == 0 && parse_interfaces(c, c->args[i + 1],
					       &u.interfaces) < 0)
			return;
		if (k == 1)
			password = c->args[i + 1];
		if (k == 2) {
			int r = cli_arg_keyword(c, i + 1, roles,
						ARRAY_SIZE(roles), "a role");

			if (r < 0)
				return;
			u.role = r == 0 ? CLI_ROLE_MANAGE : CLI_ROLE_MONITOR;
		}
	}
	if (i + 1 != c->nargs) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The command is incomplete: expected the user name last.");
		return;
	}
	if (check_name(c, c->args[i]) < 0)
		return;
	if (!password) {
		cli_error(c, CLI_RC_SYNTAX,
			  "A password is required: create user password <password> [roles manage|monitor] <name>.");
		return;
	}
	if (check_password(c, password) < 0)
		return;
	snprintf(u.name, sizeof(u.name), "%s", c->args[i]);
	err_clear(&e);
	rc = c->backend->user_create(c->backend_ctx, &u, password, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The user was not created");
		return;
	}
	cli_success(c, "The new user was created.");
}

void cli_cmd_set_password(struct cli_context *c)
{
	static const char *const words[] = { "user", "password" };
	const char *user = c->user, *password = NULL;
	struct err e;
	size_t i;
	int k, rc;

	for (i = 0; i < c->nargs; i += 2) {
		k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
				    "user or password");
		if (k < 0)
			return;
		if (i + 1 >= c->nargs) {
			cli_error_unexpected(c, NULL, k == 0 ? "a user name"
							     : "a password");
			return;
		}
		if (k == 0)
			user = c->args[i + 1];
		else
			password = c->args[i + 1];
	}
	if (check_name(c, user) < 0)
		return;
	if (!password) {
		cli_error(c, CLI_RC_SYNTAX,
			  "A password is required: set password [user <name>] password <password>.");
		return;
	}
	if (check_password(c, password) < 0)
		return;
	err_clear(&e);
	rc = c->backend->user_set_password(c->backend_ctx, user, password, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The password was not changed");
		return;
	}
	cli_success(c, "The password was changed.");
}

void cli_cmd_delete_user(struct cli_context *c)
{
	const char *name;
	struct err e;
	size_t first = 0;
	int rc;

	/* noprompt: scripts send it; the CLI never prompts anyway. */
	if (c->nargs == 2 && strcasecmp(c->args[0], "noprompt") == 0)
		first = 1;
	if (c->nargs != first + 1) {
		if (c->nargs > first + 1)
			cli_error_unexpected(c, c->args[first + 1],
					     "nothing after the user name");
		else
			cli_error_unexpected(c, NULL, "[noprompt] <name>");
		return;
	}
	name = c->args[first];
	if (check_name(c, name) < 0)
		return;
	if (strcmp(name, c->user) == 0) {
		cli_error(c, CLI_RC_FAILED,
			  "The user of this session cannot be deleted.");
		return;
	}
	err_clear(&e);
	rc = c->backend->user_delete(c->backend_ctx, name, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The user was not deleted");
		return;
	}
	cli_success(c, "The user was deleted.");
}

/* Finds the user named; the walk stops there. */
struct user_find {
	const char *name;
	struct cli_user user;
	bool found;
};

static int user_match(void *arg, const struct cli_user *u)
{
	struct user_find *f = arg;

	if (strcmp(u->name, f->name) != 0)
		return 0;
	f->user = *u;
	f->found = true;
	return 1;
}

/*
 * set user output-format console|api|api-embed|json <name>: the format the
 * user's sessions and one-shot SSH commands start in (ours; the name comes
 * last as in the family's `set user`). A monitor user may change only
 * their own.
 */
void cli_cmd_set_user(struct cli_context *c)
{
	static const char *const words[] = { "output-format" };
	struct user_find f = { 0 };
	const char *name;
	struct err e;
	int output = -1, rc;
	size_t i;

	if (c->nargs == 0) {
		cli_error_unexpected(c, NULL,
				     "output-format console|api|api-embed|json <name>");
		return;
	}
	for (i = 0; i + 1 < c->nargs; i += 2) {
		if (cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
				    "a parameter") < 0)
			return;
		if (i + 2 >= c->nargs) {
			cli_error(c, CLI_RC_SYNTAX,
				  "The command is incomplete: expected the user name last (set user output-format <format> <name>).");
			return;
		}
		output = cli_arg_keyword(c, i + 1, output_names,
					 ARRAY_SIZE(output_names),
					 "an output format");
		if (output < 0)
			return;
	}
	if (i + 1 != c->nargs || output < 0) {
		cli_error(c, CLI_RC_SYNTAX,
			  "The command is incomplete: expected output-format <format> and then the user name.");
		return;
	}
	name = c->args[i];
	if (check_name(c, name) < 0)
		return;
	if (c->role != CLI_ROLE_MANAGE && strcmp(name, c->user) != 0) {
		cli_error(c, CLI_RC_PERMISSION,
			  "Permission denied: the user '%s' has the monitor role, which may change only its own settings.",
			  c->user);
		return;
	}
	f.name = name;
	err_clear(&e);
	rc = c->backend->users_iterate(c->backend_ctx, user_match, &f, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The user was not changed");
		return;
	}
	if (!f.found) {
		cli_error(c, CLI_RC_NOT_FOUND,
			  "The user was not changed: there is no user '%s'.",
			  name);
		return;
	}
	f.user.output = (unsigned)output;
	err_clear(&e);
	rc = c->backend->user_set_output(c->backend_ctx, &f.user, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The user was not changed");
		return;
	}
	cli_result_info(c->result,
			"Parameter 'output-format' of user '%s' was set to '%s'.",
			name, output_names[output]);
	cli_success(c, "The settings were changed successfully.");
}
