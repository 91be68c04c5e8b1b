/*
 * ops_shell.c: what the console, telnet and SSH transports call: logins
 * checked by config (with its lockout), and a CLI session per login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"

/* The interface rights a login on iface may go on to use: the SSH port
 * starts a CLI session or the sftp subsystem (sh_may_start decides
 * which); the SFTP port only SFTP, which is the FTP right (config.h). */
static unsigned interfaces_of(const char *iface)
{
	if (!strcmp(iface, "sftp") || !strcmp(iface, "ftp"))
		return CONFIG_IFACE_FTP;
	if (!strcmp(iface, "ssh"))
		return CONFIG_IFACE_CLI | CONFIG_IFACE_FTP;
	return CONFIG_IFACE_CLI;
}

static int sh_authenticate(void *ctx, const char *user, const char *password,
			   const char *iface, const char *peer,
			   enum shell_role *role, struct err *e)
{
	struct controller *c = ctx;
	unsigned roles = 0;
	int rc;

	rc = config_auth_login(c->config, user, password, interfaces_of(iface),
			       peer, &roles, e);
	if (rc == CONFIG_ERR_LOCKED_OUT)
		return SHELL_AUTH_LOCKED;
	if (rc == CONFIG_ERR_INTERFACE)
		return SHELL_AUTH_REFUSED;
	if (rc < 0)
		return SHELL_AUTH_BAD;
	*role = (roles & CONFIG_ROLE_MANAGE) ? SHELL_ROLE_MANAGE :
		SHELL_ROLE_MONITOR;
	return SHELL_AUTH_OK;
}

static void *sh_open(void *ctx, const char *user, enum shell_role role,
		     const char *iface, const char *peer, struct err *e)
{
	struct controller *c = ctx;
	struct config_user u;
	struct cli_session *s;

	(void)iface;
	(void)peer;
	s = cli_session_new(&controller_cli_backend, ctx, user,
			    role == SHELL_ROLE_MANAGE ? CLI_ROLE_MANAGE :
			    CLI_ROLE_MONITOR);
	if (!s)
		err_set(e, -1, "out of memory for a CLI session");
	/* The user's stored format (the enums share their order). */
	else if (config_user_get(c->config, user, &u) == 0)
		cli_session_start_output(s, (enum cli_output_mode)u.output);
	return s;
}

static int sh_execute(void *session, const char *line, size_t len,
		      struct buf *out)
{
	int rc = cli_session_execute(session, line, len, out);

	if (rc == CLI_EXECUTE_EXIT)
		return SHELL_EXEC_EXIT;
	/* An SSH exec's exit status: non-zero when the command failed. */
	if (cli_session_last_failed(session))
		return SHELL_EXEC_FAILED;
	return SHELL_EXEC_OK;
}

static void sh_prompt(void *session, struct buf *out)
{
	buf_append_str(out, cli_session_prompt(session));
}

static void sh_banner(void *ctx, struct buf *out)
{
	struct controller *c = ctx;
	struct flash_status st;
	char name[CONFIG_STRING_MAX];
	struct err e;

	config_get_string(c->config, CONFIG_SYSTEM_NAME, name, sizeof(name));
	if (flash_store_status(c->store, &st, &e) < 0)
		st.bundle_version[0] = '\0';
	buf_appendf(out, "%s %s, controller %c\nSystem Name: %s\n"
		    "Version: %s\n", CONTROLLER_VENDOR, CONTROLLER_MODEL,
		    c->id, name, st.bundle_version[0] ? st.bundle_version :
		    "none");
	if (c->simulator)
		buf_append_str(out, "Simulator: the family's well-known "
			       "default users are present.\n");
}

static void sh_close(void *session)
{
	cli_session_free(session);
}

static unsigned sh_idle(void *ctx)
{
	struct controller *c = ctx;

	return c->idle_override ? c->idle_override :
	       config_get_uint(c->config, CONFIG_CLI_TIMEOUT_SECONDS);
}

/* A session on the SSH ports: the user's right and the protocol switch
 * (port 22 serves the sftp subsystem only while SFTP is enabled). */
static int sh_may_start(void *ctx, const char *user, const char *iface,
			struct err *e)
{
	struct controller *c = ctx;
	bool sftp = !strcmp(iface, "sftp");

	if (sftp && !config_get_bool(c->config, CONFIG_PROTO_SFTP))
		return err_set(e, -1, "SFTP is disabled on this controller "
			       "(set protocols sftp enabled)");
	if (!sftp && !config_get_bool(c->config, CONFIG_PROTO_SSH))
		return err_set(e, -1, "SSH is disabled on this controller "
			       "(set protocols ssh enabled)");
	return config_auth_may_use(c->config, user,
				   sftp ? CONFIG_IFACE_FTP : CONFIG_IFACE_CLI,
				   e);
}

const struct shell_ops controller_shell_ops = {
	.may_start = sh_may_start,
	.authenticate = sh_authenticate,
	.session_open = sh_open,
	.execute = sh_execute,
	.prompt = sh_prompt,
	.banner = sh_banner,
	.session_close = sh_close,
	.idle_seconds = sh_idle,
};
