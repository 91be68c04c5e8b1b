/* test_ssh_session.c: login and the command loop over a scripted transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ssh/shell.h"

struct script_io {
	struct shell_io io;
	const char *const *lines;	/* NULL-terminated; then CLOSED */
	size_t next;
	bool secret;
	bool secret_during_password;
	struct buf out;
};

static int script_read(struct shell_io *io, char *line, int timeout_ms)
{
	struct script_io *s = (struct script_io *)io;
	const char *l = s->lines[s->next];

	(void)timeout_ms;
	if (!l)
		return SHELL_READ_CLOSED;
	s->next++;
	if (!strcmp(l, "<timeout>"))
		return SHELL_READ_TIMEOUT;
	if (strlen(l) > SHELL_LINE_MAX)
		return SHELL_READ_TOO_LONG;
	strcpy(line, l);
	return (int)strlen(l);
}

static int script_write(struct shell_io *io, const char *data, size_t len)
{
	struct script_io *s = (struct script_io *)io;

	if (len >= strlen(SHELL_PASSWORD_PROMPT) &&
	    strstr(data, SHELL_PASSWORD_PROMPT))
		s->secret_during_password = s->secret;
	return buf_append(&s->out, data, len);
}

static int script_secret(struct shell_io *io, bool on)
{
	((struct script_io *)io)->secret = on;
	return 0;
}

struct fake {
	int auth_calls;
	int executed;
	bool locked;
	bool closed;
};

static int fake_auth(void *ctx, const char *user, const char *password,
		     const char *iface, const char *peer, enum shell_role *role,
		     struct err *e)
{
	struct fake *f = ctx;

	(void)iface, (void)peer;
	f->auth_calls++;
	if (f->locked)
		return err_set(e, SHELL_AUTH_LOCKED, "locked");
	if (strcmp(user, "manage") || strcmp(password, "!manage"))
		return err_set(e, SHELL_AUTH_BAD, "bad");
	*role = SHELL_ROLE_MANAGE;
	return SHELL_AUTH_OK;
}

static void *fake_open(void *ctx, const char *user, enum shell_role role,
		       const char *iface, const char *peer, struct err *e)
{
	(void)user, (void)iface, (void)peer, (void)e;
	assert_int_equal(role, SHELL_ROLE_MANAGE);
	return ctx;
}

static int fake_execute(void *session, const char *line, size_t len,
			struct buf *out)
{
	struct fake *f = session;

	assert_int_equal(strlen(line), len);
	f->executed++;
	if (!strcmp(line, "exit"))
		return SHELL_EXEC_EXIT;
	buf_appendf(out, "ran <%s>\n", line);
	return SHELL_EXEC_OK;
}

static void fake_prompt(void *session, struct buf *out)
{
	(void)session;
	buf_append_str(out, "# ");
}

static void fake_banner(void *ctx, struct buf *out)
{
	(void)ctx;
	buf_append_str(out, "BANNER\n");
}

static void fake_close(void *session)
{
	((struct fake *)session)->closed = true;
}

static const struct shell_ops fake_ops = {
	.authenticate = fake_auth,
	.session_open = fake_open,
	.execute = fake_execute,
	.prompt = fake_prompt,
	.banner = fake_banner,
	.session_close = fake_close,
};

static void run(struct fake *f, const char *const *lines, struct script_io *s)
{
	struct shell_service svc = { &fake_ops, f };

	memset(s, 0, sizeof(*s));
	s->io.read_line = script_read;
	s->io.write = script_write;
	s->io.secret = script_secret;
	s->io.iface = "test";
	s->io.peer = "peer";
	s->lines = lines;
	buf_init(&s->out, 1 << 20);
	shell_session_run(&svc, &s->io, NULL, SHELL_ROLE_MONITOR);
}

static void test_login_commands_exit(void **state)
{
	static const char *const lines[] = { "", "manage", "!manage", "",
					     "show versions", "exit", NULL };
	struct script_io s;
	struct fake f = { 0 };

	(void)state;
	run(&f, lines, &s);
	assert_int_equal(f.auth_calls, 1);	/* the empty name is no try */
	assert_int_equal(f.executed, 2);	/* an empty line runs nothing */
	assert_true(f.closed);
	assert_true(s.secret_during_password);
	assert_false(s.secret);
	assert_non_null(strstr(s.out.data, "BANNER\nlogin: login: Password: "
				"\n# # ran <show versions>\n# "));
	assert_null(strstr(s.out.data, "!manage"));
	buf_free(&s.out);
}

static void test_three_wrong_logins_end_the_connection(void **state)
{
	static const char *const lines[] = { "manage", "x", "manage", "y",
					     "manage", "z", "manage",
					     "!manage", NULL };
	struct script_io s;
	struct fake f = { 0 };

	(void)state;
	run(&f, lines, &s);
	assert_int_equal(f.auth_calls, SHELL_LOGIN_TRIES_MAX);
	assert_int_equal(s.next, 2 * SHELL_LOGIN_TRIES_MAX);
	assert_false(f.closed);			/* no session was opened */
	assert_null(strstr(s.out.data, "# "));
	buf_free(&s.out);
}

static void test_locked_out_ends_at_once(void **state)
{
	static const char *const lines[] = { "manage", "!manage", "manage",
					     "!manage", NULL };
	struct script_io s;
	struct fake f = { .locked = true };

	(void)state;
	run(&f, lines, &s);
	assert_int_equal(f.auth_calls, 1);
	assert_non_null(strstr(s.out.data, "locked out"));
	buf_free(&s.out);
}

static void test_idle_and_long_lines(void **state)
{
	static char long_line[SHELL_LINE_MAX + 2];
	const char *lines[] = { "manage", "!manage", long_line, "ok",
				"<timeout>", "never", NULL };
	struct script_io s;
	struct fake f = { 0 };

	(void)state;
	memset(long_line, 'a', SHELL_LINE_MAX + 1);
	run(&f, lines, &s);
	assert_int_equal(f.executed, 1);
	assert_non_null(strstr(s.out.data, "longer than 1024"));
	assert_non_null(strstr(s.out.data, "idle too long"));
	assert_true(f.closed);
	buf_free(&s.out);
}

/* ';' splits, except inside a word that begins with '"'. */
static void test_oneshot_split(void **state)
{
	static const char text[] = "set cli-parameters json;  show x;"
				   "set password password \"a;b\";x\"y;z";
	struct slice s[8];
	int n;

	(void)state;
	n = shell_oneshot_split(text, strlen(text), s, 8);
	assert_int_equal(n, 5);
	assert_int_equal(s[0].len, strlen("set cli-parameters json"));
	assert_memory_equal(s[1].ptr, "  show x", 8);	/* kept as sent */
	assert_int_equal(s[2].len, strlen("set password password \"a;b\""));
	assert_memory_equal(s[3].ptr, "x\"y", 3);	/* '"' inside a word */
	assert_memory_equal(s[4].ptr, "z", 1);
	assert_int_equal(shell_oneshot_split("", 0, s, 8), 1);
	assert_int_equal(s[0].len, 0);
	/* At, and one over, the limit. */
	assert_int_equal(shell_oneshot_split(";;;;;;;", 7, s, 8), 8);
	assert_int_equal(shell_oneshot_split(";;;;;;;;", 8, s, 8), -1);
}

static int collect(void *arg, const char *data, size_t len)
{
	struct buf *b = arg;

	return buf_append(b, data, len);
}

static int fail_failing(void *session, const char *line, size_t len,
			struct buf *out)
{
	if (!strcmp(line, "bad")) {
		(void)session, (void)len;
		buf_append_str(out, "Error: bad\n");
		return SHELL_EXEC_FAILED;
	}
	return fake_execute(session, line, len, out);
}

static void test_oneshot_run(void **state)
{
	struct shell_ops ops = fake_ops;
	struct shell_service svc = { &ops, NULL };
	struct fake f = { 0 };
	struct buf out, got;
	char many[3 * SHELL_ONESHOT_MAX + 4];
	int rc;

	(void)state;
	ops.execute = fail_failing;
	buf_init(&out, 1 << 20);
	buf_init(&got, 1 << 20);
	rc = shell_oneshot_run(&svc, &f, "a; b ;; ", 8, &out, collect, &got);
	assert_int_equal(rc, 0);
	assert_string_equal(got.data, "# a\nran <a>\n#  b \nran <b>\n# ");
	buf_reset(&got);
	/* A failure anywhere fails the request; exit ends it. */
	rc = shell_oneshot_run(&svc, &f, "bad;a;exit;never", 16, &out, collect,
			       &got);
	assert_int_equal(rc, 1);
	assert_string_equal(got.data, "# bad\nError: bad\n# a\nran <a>\n"
			    "# exit\n");
	buf_reset(&got);
	f.executed = 0;
	/* "a;a;...;a": SHELL_ONESHOT_MAX commands, then one more. */
	for (size_t i = 0; i + 1 < sizeof(many); i += 2)
		memcpy(many + i, "a;", 2);
	rc = shell_oneshot_run(&svc, &f, many, SHELL_ONESHOT_MAX * 2 - 1,
			       &out, collect, &got);
	assert_int_equal(rc, 0);		/* 32 commands: at the limit */
	assert_int_equal(f.executed, SHELL_ONESHOT_MAX);
	buf_reset(&got);
	rc = shell_oneshot_run(&svc, &f, many, SHELL_ONESHOT_MAX * 2 + 1,
			       &out, collect, &got);
	assert_int_equal(rc, 1);		/* 33: refused, none run */
	assert_int_equal(f.executed, SHELL_ONESHOT_MAX);
	assert_non_null(strstr(got.data, "at most 32 commands"));
	buf_free(&out);
	buf_free(&got);
}

/* No terminal: each line comes back after its prompt. */
static void test_echo_lines(void **state)
{
	static const char *const lines[] = { "show versions", "", NULL };
	struct shell_service svc = { &fake_ops, NULL };
	struct script_io s;
	struct fake f = { 0 };

	(void)state;
	memset(&s, 0, sizeof(s));
	svc.ctx = &f;
	s.io.read_line = script_read;
	s.io.write = script_write;
	s.io.secret = script_secret;
	s.io.iface = "ssh";
	s.io.peer = "peer";
	s.io.echo_lines = true;
	s.lines = lines;
	buf_init(&s.out, 1 << 20);
	shell_session_run(&svc, &s.io, "manage", SHELL_ROLE_MANAGE);
	assert_string_equal(s.out.data, "# show versions\nran <show versions>\n"
			    "# \n# ");
	buf_free(&s.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_commands_exit),
		cmocka_unit_test(test_three_wrong_logins_end_the_connection),
		cmocka_unit_test(test_locked_out_ends_at_once),
		cmocka_unit_test(test_idle_and_long_lines),
		cmocka_unit_test(test_oneshot_split),
		cmocka_unit_test(test_oneshot_run),
		cmocka_unit_test(test_echo_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
