/*
 * commands.c: the FTP verbs as a table: name, whether it needs a login and
 * an argument, and the action. Everything that would read, list, rename or
 * delete files is refused here: the controller's only file is its flash.
 */
#include <stdio.h>
#include <string.h>

#include "ftp/ftp.h"

enum ftp_arg { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

struct ftp_verb {
	const char *name;
	bool needs_login;
	enum ftp_arg arg;
	void (*run)(struct ftp_session *s, const struct ftp_command *c);
};

static const char ftp_refusal[] =
	"Permission denied: this controller accepts only 'put FILE flash' "
	"and 'put FILE flash:force'.";

static void cmd_user(struct ftp_session *s, const struct ftp_command *c)
{
	if (s->state == FTP_STATE_READY) {
		ftp_reply(s, 503, "Already logged in.");
		return;
	}
	/* No user has a longer name: refused before any password. */
	if (strlen(c->arg) > FTP_LOGIN_NAME_MAX) {
		ftp_reply(s, 501, "User name too long (at most %d characters).",
			  FTP_LOGIN_NAME_MAX);
		return;
	}
	snprintf(s->user, sizeof(s->user), "%s", c->arg);
	s->state = FTP_STATE_NEED_PASS;
	ftp_reply(s, 331, "Please specify the password.");
}

static void cmd_pass(struct ftp_session *s, const struct ftp_command *c)
{
	struct buf text;
	struct err e;
	int rc;

	if (s->state != FTP_STATE_NEED_PASS) {
		ftp_reply(s, 503, s->state == FTP_STATE_READY
				  ? "Already logged in."
				  : "Login with USER first.");
		return;
	}
	err_clear(&e);
	rc = FTP_AUTH_BAD;
	if (strlen(c->arg) < FTP_PASSWORD_MAX)
		rc = s->cfg->ops->authenticate(s->cfg->ctx, s->user, c->arg,
					       s->peer_text, &s->may_flash,
					       &e);
	if (rc < 0) {
		s->state = FTP_STATE_NEED_USER;
		/* A refusal (lockout, no FTP right) says why; a wrong
		 * password only that it was wrong. */
		if (rc == FTP_AUTH_REFUSED) {
			ftp_reply(s, 530, "Login refused: %s.", e.msg);
			s->quit = ++s->login_failures >= FTP_LOGIN_TRIES_MAX;
			return;
		}
		if (++s->login_failures >= FTP_LOGIN_TRIES_MAX) {
			ftp_reply(s, 421, "Login incorrect. Too many failures; "
				  "closing the connection.");
			s->quit = true;
			return;
		}
		ftp_reply(s, 530, "Login incorrect.%s%s", e.msg[0] ? " " : "",
			  e.msg);
		return;
	}
	s->state = FTP_STATE_READY;
	/* Before the 230: a client that has read it is logged in, so a
	 * newcomer can no longer cut it to make room. */
	if (s->conn)
		tcp_conn_authenticated(s->conn);
	buf_init(&text, 16384);
	if (s->cfg->ops->login_text)
		s->cfg->ops->login_text(s->cfg->ctx, &text);
	ftp_reply_lines(s, 230, "Login successful.", text.data,
			"Login successful.");
	buf_free(&text);
}

static void cmd_syst(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	/* Clients switch to binary only after this exact answer. */
	ftp_reply(s, 215, "UNIX Type: L8");
}

static void cmd_feat(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply_lines(s, 211, "Features:", " EPRT\n EPSV\n PASV\n UTF8",
			"End");
}

static void cmd_opts(struct ftp_session *s, const struct ftp_command *c)
{
	if (!strcasecmp(c->arg, "UTF8 ON") || !strcasecmp(c->arg, "UTF8"))
		ftp_reply(s, 200, "Always in UTF8 mode.");
	else
		ftp_reply(s, 501, "Option not understood.");
}

static void cmd_auth(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 534, "TLS is not offered here: use plain FTP on a trusted "
		  "network, or SFTP.");
}

static void cmd_noop(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 200, "NOOP ok.");
}

static void cmd_quit(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 221, "Goodbye.");
	s->quit = true;
}

static void cmd_help(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply_lines(s, 214, "Firmware update over FTP:",
			"  bin\n"
			"  put FILE flash         install the bundle FILE\n"
			"  put FILE flash:force   install it even if it is the "
			"same or an older version\n"
			"Commands: USER PASS SYST FEAT OPTS TYPE MODE STRU PWD "
			"CWD CDUP PASV EPSV PORT EPRT STOR ALLO REST NOOP HELP "
			"QUIT", "Help OK.");
}

static void cmd_type(struct ftp_session *s, const struct ftp_command *c)
{
	/* Bytes are stored as sent whatever the type: clients that start in
	 * ASCII (Windows ftp.exe) must still deliver a bundle intact. */
	if (!strcasecmp(c->arg, "I") || !strcasecmp(c->arg, "L 8"))
		ftp_reply(s, 200, "Switching to Binary mode.");
	else if (!strcasecmp(c->arg, "A") || !strcasecmp(c->arg, "A N"))
		ftp_reply(s, 200, "Switching to ASCII mode (uploads are "
			  "stored unchanged).");
	else
		ftp_reply(s, 504, "Type not supported.");
}

static void cmd_mode(struct ftp_session *s, const struct ftp_command *c)
{
	if (!strcasecmp(c->arg, "S"))
		ftp_reply(s, 200, "Mode set to S.");
	else
		ftp_reply(s, 504, "Only stream mode is supported.");
}

static void cmd_stru(struct ftp_session *s, const struct ftp_command *c)
{
	if (!strcasecmp(c->arg, "F"))
		ftp_reply(s, 200, "Structure set to F.");
	else
		ftp_reply(s, 504, "Only file structure is supported.");
}

static void cmd_pwd(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 257, "\"/\" is the current directory.");
}

static void cmd_cwd(struct ftp_session *s, const struct ftp_command *c)
{
	if (!strcmp(c->arg, "/") || !strcmp(c->arg, "."))
		ftp_reply(s, 250, "Directory successfully changed.");
	else
		ftp_reply(s, 550, "No such directory: there is only '/'.");
}

static void cmd_cdup(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 250, "Directory successfully changed.");
}

static void cmd_pasv(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	if (s->epsv_all) {
		ftp_reply(s, 503, "PASV not allowed after EPSV ALL.");
		return;
	}
	ftp_data_passive(s, false);
}

static void cmd_epsv(struct ftp_session *s, const struct ftp_command *c)
{
	if (c->has_arg && !strcasecmp(c->arg, "ALL")) {
		s->epsv_all = true;
		ftp_reply(s, 200, "EPSV ALL ok.");
		return;
	}
	if (c->has_arg && strcmp(c->arg, "1") && strcmp(c->arg, "2")) {
		ftp_reply(s, 522, "Network protocol not supported, use (1,2)");
		return;
	}
	ftp_data_passive(s, true);
}

static void cmd_port(struct ftp_session *s, const struct ftp_command *c)
{
	if (s->epsv_all) {
		ftp_reply(s, 503, "PORT not allowed after EPSV ALL.");
		return;
	}
	ftp_data_active(s, c->arg, false);
}

static void cmd_eprt(struct ftp_session *s, const struct ftp_command *c)
{
	if (s->epsv_all) {
		ftp_reply(s, 503, "EPRT not allowed after EPSV ALL.");
		return;
	}
	ftp_data_active(s, c->arg, true);
}

static void cmd_stor(struct ftp_session *s, const struct ftp_command *c)
{
	bool force;

	if (ftp_target_parse(c->arg, &force) < 0) {
		ftp_data_reset(s);
		ftp_reply(s, 553, "%s", ftp_refusal);
		return;
	}
	if (!s->may_flash) {
		ftp_data_reset(s);
		ftp_reply(s, 550, "Permission denied: user '%s' may not update "
			  "firmware (the manage role is needed).", s->user);
		return;
	}
	ftp_upload(s, force);
}

static void cmd_allo(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 202, "ALLO is not needed here.");
}

static void cmd_rest(struct ftp_session *s, const struct ftp_command *c)
{
	if (!strcmp(c->arg, "0"))
		ftp_reply(s, 350, "Restarting at 0.");
	else
		ftp_reply(s, 554, "Resuming is not supported: send the whole "
			  "bundle again.");
}

static void cmd_size(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_reply(s, 550, "Could not get file size: there are no files to "
		  "read here.");
}

static void cmd_abor(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_data_reset(s);
	ftp_reply(s, 225, "No transfer to abort.");
}

static void cmd_refuse(struct ftp_session *s, const struct ftp_command *c)
{
	(void)c;
	ftp_data_reset(s);
	ftp_reply(s, 550, "%s", ftp_refusal);
}

static const struct ftp_verb ftp_verbs[] = {
	{ "USER", false, ARG_REQUIRED, cmd_user },
	{ "PASS", false, ARG_OPTIONAL, cmd_pass },
	{ "SYST", false, ARG_NONE, cmd_syst },
	{ "FEAT", false, ARG_NONE, cmd_feat },
	{ "OPTS", false, ARG_REQUIRED, cmd_opts },
	{ "AUTH", false, ARG_REQUIRED, cmd_auth },
	{ "NOOP", false, ARG_NONE, cmd_noop },
	{ "QUIT", false, ARG_NONE, cmd_quit },
	{ "HELP", false, ARG_OPTIONAL, cmd_help },
	{ "TYPE", true, ARG_REQUIRED, cmd_type },
	{ "MODE", true, ARG_REQUIRED, cmd_mode },
	{ "STRU", true, ARG_REQUIRED, cmd_stru },
	{ "PWD", true, ARG_NONE, cmd_pwd },
	{ "XPWD", true, ARG_NONE, cmd_pwd },
	{ "CWD", true, ARG_REQUIRED, cmd_cwd },
	{ "XCWD", true, ARG_REQUIRED, cmd_cwd },
	{ "CDUP", true, ARG_NONE, cmd_cdup },
	{ "XCUP", true, ARG_NONE, cmd_cdup },
	{ "PASV", true, ARG_NONE, cmd_pasv },
	{ "EPSV", true, ARG_OPTIONAL, cmd_epsv },
	{ "PORT", true, ARG_REQUIRED, cmd_port },
	{ "EPRT", true, ARG_REQUIRED, cmd_eprt },
	{ "STOR", true, ARG_REQUIRED, cmd_stor },
	{ "ALLO", true, ARG_OPTIONAL, cmd_allo },
	{ "REST", true, ARG_REQUIRED, cmd_rest },
	{ "SIZE", true, ARG_REQUIRED, cmd_size },
	{ "MDTM", true, ARG_REQUIRED, cmd_size },
	{ "ABOR", true, ARG_NONE, cmd_abor },
	/* Reading, listing, changing files: none of it exists here. */
	{ "RETR", true, ARG_OPTIONAL, cmd_refuse },
	{ "LIST", true, ARG_OPTIONAL, cmd_refuse },
	{ "NLST", true, ARG_OPTIONAL, cmd_refuse },
	{ "MLSD", true, ARG_OPTIONAL, cmd_refuse },
	{ "MLST", true, ARG_OPTIONAL, cmd_refuse },
	{ "APPE", true, ARG_OPTIONAL, cmd_refuse },
	{ "STOU", true, ARG_OPTIONAL, cmd_refuse },
	{ "DELE", true, ARG_OPTIONAL, cmd_refuse },
	{ "MKD", true, ARG_OPTIONAL, cmd_refuse },
	{ "XMKD", true, ARG_OPTIONAL, cmd_refuse },
	{ "RMD", true, ARG_OPTIONAL, cmd_refuse },
	{ "XRMD", true, ARG_OPTIONAL, cmd_refuse },
	{ "RNFR", true, ARG_OPTIONAL, cmd_refuse },
	{ "RNTO", true, ARG_OPTIONAL, cmd_refuse },
	{ "MFMT", true, ARG_OPTIONAL, cmd_refuse },
	{ "SITE", true, ARG_OPTIONAL, cmd_refuse },
};

void ftp_command_dispatch(struct ftp_session *s, const struct ftp_command *c)
{
	const struct ftp_verb *v = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ftp_verbs); i++)
		if (!strcmp(ftp_verbs[i].name, c->verb))
			v = &ftp_verbs[i];
	if (!v) {
		ftp_reply(s, 502, "Command not implemented.");
		return;
	}
	if (v->needs_login && s->state != FTP_STATE_READY) {
		ftp_reply(s, 530, "Please login with USER and PASS.");
		return;
	}
	if (v->arg == ARG_REQUIRED && !c->has_arg) {
		ftp_reply(s, 501, "%s needs an argument.", v->name);
		return;
	}
	if (v->arg == ARG_NONE && c->has_arg && c->arg[0]) {
		ftp_reply(s, 501, "%s takes no argument.", v->name);
		return;
	}
	v->run(s, c);
}
