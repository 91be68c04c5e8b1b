/*
 * shell_standin.c: STAND-IN for src/cli and src/config until the lead wires
 * them: users from --user/--users (plain text, test use only), a per-source
 * lockout, and a handful of commands (help, show versions, show protocols,
 * set protocols, exit) so the transports can be driven end to end. It
 * writes nothing to disk.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/standin.h"

#define STANDIN_LOCKOUT_FAILURES 5
#define STANDIN_LOCKOUT_SECONDS	 60

struct standin_session {
	struct standin *owner;
	char user[SHELL_USER_MAX];
	enum shell_role role;
};

struct standin *standin_new(const char *version, char controller,
			    struct err *e)
{
	struct standin *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(e, -ENOMEM, "stand-in: out of memory");
		return NULL;
	}
	snprintf(s->version, sizeof(s->version), "%s", version);
	s->controller = controller;
	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->last_report, 64 * 1024);
	return s;
}

int standin_user_add(struct standin *s, const char *spec, struct err *e)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strrchr(spec, ':') : NULL;
	struct standin_user *u;

	if (!c1 || c2 == c1 || c1 == spec || (size_t)(c1 - spec) >= SHELL_USER_MAX ||
	    (size_t)(c2 - c1 - 1) >= SHELL_PASSWORD_MAX)
		return err_set(e, -EINVAL, "stand-in: user '%.*s...' must be "
			       "USER:PASSWORD:manage|monitor",
			       (int)(c1 ? c1 - spec : 8), spec);
	if (strcmp(c2 + 1, "manage") && strcmp(c2 + 1, "monitor"))
		return err_set(e, -EINVAL, "stand-in: role '%s' is neither "
			       "manage nor monitor", c2 + 1);
	if (s->nusers >= STANDIN_USERS_MAX)
		return err_set(e, -ENOSPC, "stand-in: more than %d users",
			       STANDIN_USERS_MAX);
	u = &s->users[s->nusers++];
	memcpy(u->name, spec, (size_t)(c1 - spec));
	u->name[c1 - spec] = '\0';
	memcpy(u->password, c1 + 1, (size_t)(c2 - c1 - 1));
	u->password[c2 - c1 - 1] = '\0';
	u->role = strcmp(c2 + 1, "manage") ? SHELL_ROLE_MONITOR
					   : SHELL_ROLE_MANAGE;
	return 0;
}

int standin_users_load(struct standin *s, const char *path, struct err *e)
{
	struct buf text;
	char *line, *save = NULL;
	int rc;

	buf_init(&text, 64 * 1024);
	rc = fs_read_file(path, 64 * 1024, &text, e);
	for (line = rc < 0 ? NULL : strtok_r(text.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		rc = standin_user_add(s, line, e);
		if (rc < 0) {
			err_prefix(e, "%s: ", path);
			break;
		}
	}
	buf_free(&text);
	return rc < 0 ? rc : 0;
}

void standin_set_daemon(struct standin *s, struct daemon *d)
{
	s->daemon = d;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The failure record of one source address; the oldest is reused. */
static struct standin_source *source_of(struct standin *s, const char *peer)
{
	struct standin_source *oldest = &s->sources[0];
	size_t i;

	for (i = 0; i < STANDIN_SOURCES_MAX; i++) {
		if (!strcmp(s->sources[i].peer, peer))
			return &s->sources[i];
		if (s->sources[i].last < oldest->last)
			oldest = &s->sources[i];
	}
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->peer, sizeof(oldest->peer), "%s", peer);
	return oldest;
}

static int standin_authenticate(void *ctx, const char *user,
				const char *password, const char *iface,
				const char *peer, enum shell_role *role,
				struct err *e)
{
	struct standin *s = ctx;
	struct standin_source *src;
	int rc = SHELL_AUTH_BAD;
	size_t i;

	pthread_mutex_lock(&s->mu);
	src = source_of(s, peer);
	src->last = now_s();
	if (src->locked_until > src->last) {
		pthread_mutex_unlock(&s->mu);
		return err_set(e, SHELL_AUTH_LOCKED, "%s: %s is locked out "
			       "after %d failed logins", iface, peer,
			       STANDIN_LOCKOUT_FAILURES);
	}
	for (i = 0; i < s->nusers; i++) {
		const struct standin_user *u = &s->users[i];
		size_t len = strlen(password);

		if (strcmp(u->name, user) || len != strlen(u->password) ||
		    CRYPTO_memcmp(u->password, password, len))
			continue;
		*role = u->role;
		rc = SHELL_AUTH_OK;
		break;
	}
	if (rc == SHELL_AUTH_OK) {
		src->failures = 0;
	} else if (++src->failures >= STANDIN_LOCKOUT_FAILURES) {
		src->locked_until = src->last + STANDIN_LOCKOUT_SECONDS;
		src->failures = 0;
		log_warn("%s: %s locked out for %d s", iface, peer,
			 STANDIN_LOCKOUT_SECONDS);
	}
	pthread_mutex_unlock(&s->mu);
	if (rc != SHELL_AUTH_OK)
		err_set(e, rc, "%s: login of '%s' from %s failed", iface, user,
			peer);
	return rc;
}

static void *standin_session_open(void *ctx, const char *user,
				  enum shell_role role, const char *iface,
				  const char *peer, struct err *e)
{
	struct standin_session *ss = calloc(1, sizeof(*ss));

	(void)iface, (void)peer;
	if (!ss) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	ss->owner = ctx;
	snprintf(ss->user, sizeof(ss->user), "%s", user);
	ss->role = role;
	return ss;
}

static void standin_session_close(void *session)
{
	free(session);
}

static void status_line(struct buf *out, bool ok, const char *msg)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if (ok)
		buf_appendf(out, "Success: Command completed successfully. "
			    "(%s)\n", stamp);
	else
		buf_appendf(out, "Error: %s (%s)\n", msg, stamp);
}

static int cmd_help(struct standin_session *ss, char **argv, int argc,
		    struct buf *out)
{
	(void)ss, (void)argv, (void)argc;
	buf_append_str(out, "Stand-in CLI (the real command set comes with "
		       "src/cli):\n  help\n  show versions\n  show protocols\n"
		       "  set protocols ssh|sftp|telnet|ftp enabled|disabled\n"
		       "  fail\n  exit\n");
	status_line(out, true, NULL);
	return SHELL_EXEC_OK;
}

static int cmd_show(struct standin_session *ss, char **argv, int argc,
		    struct buf *out)
{
	struct standin *s = ss->owner;
	char bundle[64];
	size_t i;

	if (argc == 2 && !strncmp(argv[1], "versions", strlen(argv[1]))) {
		standin_last_bundle(s, bundle, sizeof(bundle));
		buf_appendf(out, "Controller %c Versions\n"
			    "---------------------\n"
			    "Tandem Version: %s\n"
			    "Last Verified Bundle: %s\n\n",
			    s->controller - 'a' + 'A', s->version,
			    bundle[0] ? bundle : "N/A");
		status_line(out, true, NULL);
		return SHELL_EXEC_OK;
	}
	if (argc == 2 && !strncmp(argv[1], "protocols", strlen(argv[1]))) {
		buf_append_str(out, "Service and Security Protocols\n"
			       "------------------------------\n");
		for (i = 0; i < DAEMON_PROTO_COUNT; i++)
			buf_appendf(out, "%-7s %s\n", daemon_protocol_name(i),
				    s->daemon && daemon_protocol_enabled(
					    s->daemon, i) ? "Enabled"
							  : "Disabled");
		status_line(out, true, NULL);
		return SHELL_EXEC_OK;
	}
	status_line(out, false, "The command is not recognized: show "
		    "versions or show protocols.");
	return SHELL_EXEC_FAILED;
}

static int cmd_set(struct standin_session *ss, char **argv, int argc,
		   struct buf *out)
{
	struct err e = { 0 };
	bool on;

	if (argc != 4 || strncmp(argv[1], "protocols", strlen(argv[1])) ||
	    (strcmp(argv[3], "enabled") && strcmp(argv[3], "disabled") &&
	     strcmp(argv[3], "on") && strcmp(argv[3], "off"))) {
		status_line(out, false, "Usage: set protocols PROTOCOL "
			    "enabled|disabled");
		return SHELL_EXEC_FAILED;
	}
	if (ss->role != SHELL_ROLE_MANAGE) {
		status_line(out, false, "The user does not have the manage "
			    "role: set commands are not allowed.");
		return SHELL_EXEC_FAILED;
	}
	on = !strcmp(argv[3], "enabled") || !strcmp(argv[3], "on");
	/* Output first: disabling our own protocol cuts this session. */
	if (!ss->owner->daemon ||
	    daemon_protocol_set(ss->owner->daemon, argv[2], on, &e) < 0) {
		status_line(out, false, e.msg[0] ? e.msg : "no daemon");
		return SHELL_EXEC_FAILED;
	}
	buf_appendf(out, "Info: Parameter '%s' was set to '%s'.\n", argv[2],
		    on ? "enabled" : "disabled");
	status_line(out, true, NULL);
	return SHELL_EXEC_OK;
}

static int cmd_fail(struct standin_session *ss, char **argv, int argc,
		    struct buf *out)
{
	(void)ss, (void)argv, (void)argc;
	status_line(out, false, "Stand-in: this command always fails "
		    "(for exit-status tests).");
	return SHELL_EXEC_FAILED;
}

static int cmd_exit(struct standin_session *ss, char **argv, int argc,
		    struct buf *out)
{
	(void)ss, (void)argv, (void)argc, (void)out;
	return SHELL_EXEC_EXIT;
}

static const struct {
	const char *name;
	int (*run)(struct standin_session *, char **, int, struct buf *);
} commands[] = {
	{ "help", cmd_help },
	{ "show", cmd_show },
	{ "set", cmd_set },
	{ "fail", cmd_fail },
	{ "exit", cmd_exit },
	{ "quit", cmd_exit },
};

static int standin_execute(void *session, const char *line, size_t len,
			   struct buf *out)
{
	char copy[SHELL_LINE_MAX + 1], *argv[8], *save = NULL, *w;
	int argc = 0;
	size_t i;

	if (len > SHELL_LINE_MAX)
		len = SHELL_LINE_MAX;
	memcpy(copy, line, len);
	copy[len] = '\0';
	for (w = strtok_r(copy, " \t", &save); w && argc < 8;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	if (argc == 0)
		return SHELL_EXEC_OK;
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].run(session, argv, argc, out);
	status_line(out, false, "The command is not recognized. Type help "
		    "for the commands.");
	return SHELL_EXEC_FAILED;
}

static void standin_prompt(void *session, struct buf *out)
{
	(void)session;
	buf_append_str(out, "# ");
}

static void standin_banner(void *ctx, struct buf *out)
{
	struct standin *s = ctx;

	buf_appendf(out, "Tandem storage controller %c (stand-in CLI)\n"
		    "System Name: Uninitialized Name\nVersion: %s\n",
		    s->controller - 'a' + 'A', s->version);
}

static unsigned standin_idle_seconds(void *ctx)
{
	return ((struct standin *)ctx)->idle_seconds;
}

static const struct shell_ops ops = {
	.authenticate = standin_authenticate,
	.session_open = standin_session_open,
	.execute = standin_execute,
	.prompt = standin_prompt,
	.banner = standin_banner,
	.session_close = standin_session_close,
	.idle_seconds = standin_idle_seconds,
};

const struct shell_ops *standin_shell_ops(void)
{
	return &ops;
}
