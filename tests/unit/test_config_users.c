/* test_config_users.c: users, yescrypt, roles, interfaces, lockout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "events/events.h"

struct fixture {
	char dir[64];
	char cfgdir[128];
	struct events_log *events;
	struct config *cfg;
};

static time_t fake_now = 1000;

static time_t fake_clock(void)
{
	return fake_now;
}

/* The A4 delays, recorded instead of slept. */
static unsigned slept[64];
static size_t nslept;
static pthread_mutex_t slept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called from the logins' threads at once (test_parallel_attempts_reserved);
 * the test reads the record after joining them. */
static void fake_sleep(unsigned ms)
{
	pthread_mutex_lock(&slept_lock);
	if (nslept < sizeof(slept) / sizeof(slept[0]))
		slept[nslept] = ms;
	nslept++;
	pthread_mutex_unlock(&slept_lock);
}

static struct config *reopen(struct fixture *f)
{
	struct err e;

	config_close(f->cfg);
	f->cfg = NULL;
	if (config_open(f->cfgdir, f->events, &f->cfg, &e) < 0)
		fail_msg("config_open: %s", e.msg);
	config_auth_set_clock(f->cfg, fake_clock);
	config_auth_set_sleep(f->cfg, fake_sleep);
	nslept = 0;
	return f->cfg;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char evpath[160];
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-users-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->cfgdir, sizeof(f->cfgdir), "%s/config", f->dir);
	snprintf(evpath, sizeof(evpath), "%s/events.log", f->dir);
	if (events_open(evpath, 'B', 0, &f->events, NULL, &e) < 0)
		return -1;
	reopen(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_close(f->cfg);
	events_close(f->events);
	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

static int create(struct fixture *f, const char *name, unsigned roles,
		  const char *password, struct err *e)
{
	struct config_user u;

	config_user_defaults(&u, name, roles);
	return config_user_create(f->cfg, &u, password, e);
}

static int login(struct fixture *f, const char *user, const char *password,
		 const char *source, unsigned *roles)
{
	struct err e;

	return config_auth_login(f->cfg, user, password, CONFIG_IFACE_CLI,
				 source, roles, &e);
}

static void test_create_login_persist(void **state)
{
	struct fixture *f = *state;
	struct config_user list[CONFIG_USERS_MAX], got;
	char path[200];
	struct buf b;
	unsigned roles = 0;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE |
				CONFIG_ROLE_MONITOR, "Secret-99", &e), 0);
	assert_int_equal(create(f, "bob", CONFIG_ROLE_MONITOR, "Watch+4me",
				&e), 0);
	assert_int_equal(login(f, "alice", "Secret-99", "10.0.0.1", &roles), 0);
	assert_int_equal(roles, CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR);
	assert_int_equal(login(f, "bob", "Watch+4me", "10.0.0.1", &roles), 0);
	assert_int_equal(roles, CONFIG_ROLE_MONITOR);
	assert_int_equal(login(f, "alice", "Secret-98", "10.0.0.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "nobody", "Secret-99", "10.0.0.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "alice", "", "10.0.0.1", &roles),
			 CONFIG_ERR_AUTH);
	/* Interfaces: the default user has CLI and WBI, not FTP. */
	assert_int_equal(config_auth_login(f->cfg, "alice", "Secret-99",
					   CONFIG_IFACE_FTP, "x", &roles, &e),
			 CONFIG_ERR_INTERFACE);

	/* yescrypt on disk, no password in clear. */
	snprintf(path, sizeof(path), "%s/users.json", f->cfgdir);
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(path, 1 << 20, &b, &e), 0);
	assert_non_null(strstr(b.data, "\"$y$"));
	assert_null(strstr(b.data, "Secret-99"));
	buf_free(&b);

	reopen(f);
	assert_int_equal(config_users_list(f->cfg, list, CONFIG_USERS_MAX), 2);
	assert_string_equal(list[0].name, "alice");
	assert_string_equal(list[1].name, "bob");
	assert_int_equal(config_user_get(f->cfg, "bob", &got), 0);
	assert_int_equal(got.roles, CONFIG_ROLE_MONITOR);
	assert_int_equal(got.timeout, 1800);
	assert_string_equal(got.locale, "English");
	assert_int_equal(login(f, "alice", "Secret-99", "10.0.0.1", &roles), 0);

	/* Password change: old fails, new works, after a reopen too. */
	assert_int_equal(config_user_set_password(f->cfg, "alice", "Newer-pass1",
						  &e), 0);
	reopen(f);
	assert_int_equal(login(f, "alice", "Secret-99", "10.0.0.2", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "alice", "Newer-pass1", "10.0.0.2", &roles), 0);
	assert_int_equal(config_user_set_password(f->cfg, "carol", "Newer-pass1",
						  &e), CONFIG_ERR_NO_USER);

	/* Preferences. */
	got.precision = 3;
	got.temperature = CONFIG_FAHRENHEIT;
	got.interfaces = CONFIG_IFACE_ALL;
	assert_int_equal(config_user_update(f->cfg, &got, &e), 0);
	got.precision = 11;
	assert_int_equal(config_user_update(f->cfg, &got, &e), CONFIG_ERR_VALUE);
	reopen(f);
	assert_int_equal(config_user_get(f->cfg, "bob", &got), 0);
	assert_int_equal(got.precision, 3);
	assert_int_equal(got.temperature, CONFIG_FAHRENHEIT);
	assert_int_equal(got.interfaces, CONFIG_IFACE_ALL);
}

static void test_delete_rules(void **state)
{
	struct fixture *f = *state;
	unsigned roles;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 CONFIG_ERR_USER_EXISTS);
	assert_int_equal(create(f, "bob", CONFIG_ROLE_MONITOR, "Secret-99", &e),
			 0);
	assert_int_equal(config_user_delete(f->cfg, "alice", &e),
			 CONFIG_ERR_LAST_MANAGER);
	assert_non_null(strstr(e.msg, "last user with the manage role"));
	{
		struct config_user u;

		config_user_get(f->cfg, "alice", &u);
		u.roles = CONFIG_ROLE_MONITOR;
		assert_int_equal(config_user_update(f->cfg, &u, &e),
				 CONFIG_ERR_LAST_MANAGER);
	}
	assert_int_equal(config_user_delete(f->cfg, "carol", &e),
			 CONFIG_ERR_NO_USER);
	assert_int_equal(config_user_delete(f->cfg, "bob", &e), 0);
	reopen(f);
	assert_int_equal(login(f, "bob", "Secret-99", "s", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(config_users_list(f->cfg, NULL, 0), 1);
}

static void test_name_and_password_rules(void **state)
{
	struct fixture *f = *state;
	char n29[30], n30[31], p32[33], p33[34];
	struct err e;

	memset(n29, 'u', 29);
	n29[29] = '\0';
	memset(n30, 'u', 30);
	n30[30] = '\0';
	assert_int_equal(config_user_name_check(n29, &e), 0);
	assert_int_equal(config_user_name_check(n30, &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("", &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("a b", &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("a,b", &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("a\\b", &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("a\tb", &e), CONFIG_ERR_USER_NAME);
	assert_int_equal(config_user_name_check("caf\xc3\xa9", &e),
			 CONFIG_ERR_USER_NAME);

	assert_int_equal(config_password_check("Abcde-1", &e),
			 CONFIG_ERR_PASSWORD);	/* 7: just under */
	assert_int_equal(config_password_check("Abcde-12", &e), 0);
	memcpy(p32, "Aa1-", 4);
	memset(p32 + 4, 'x', 28);
	p32[32] = '\0';
	assert_int_equal(config_password_check(p32, &e), 0);
	memcpy(p33, p32, 32);
	p33[32] = 'x';
	p33[33] = '\0';
	assert_int_equal(config_password_check(p33, &e), CONFIG_ERR_PASSWORD);
	assert_int_equal(config_password_check("abcdef-12", &e),
			 CONFIG_ERR_PASSWORD);	/* no upper */
	assert_int_equal(config_password_check("ABCDEF-12", &e),
			 CONFIG_ERR_PASSWORD);	/* no lower */
	assert_int_equal(config_password_check("Abcdef-gh", &e),
			 CONFIG_ERR_PASSWORD);	/* no digit */
	assert_int_equal(config_password_check("Abcdef123", &e),
			 CONFIG_ERR_PASSWORD);	/* no other */
	assert_int_equal(config_password_check("Abc def-1", &e),
			 CONFIG_ERR_PASSWORD);	/* space */
	assert_non_null(strstr(e.msg, "may not contain"));
	/* A rejected create leaves no user behind. */
	assert_int_equal(create(f, "weak", CONFIG_ROLE_MANAGE, "short", &e),
			 CONFIG_ERR_PASSWORD);
	assert_int_equal(create(f, "bad name", CONFIG_ROLE_MANAGE, "Abcde-12",
				&e), CONFIG_ERR_USER_NAME);
	assert_int_equal(create(f, "noroles", 0, "Abcde-12", &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_users_list(f->cfg, NULL, 0), 0);
}

static void test_user_limit(void **state)
{
	struct fixture *f = *state;
	struct err e;

	for (int i = 0; i < CONFIG_USERS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(create(f, name, CONFIG_ROLE_MANAGE, "Abcde-12",
					&e), 0);
	}
	assert_int_equal(create(f, "onemore", CONFIG_ROLE_MANAGE, "Abcde-12",
				&e), CONFIG_ERR_TOO_MANY);
	reopen(f);
	assert_int_equal(config_users_list(f->cfg, NULL, 0), CONFIG_USERS_MAX);
}

static void test_seed_defaults(void **state)
{
	struct fixture *f = *state;
	unsigned roles = 0;
	struct err e;

	assert_int_equal(config_users_seed_defaults(f->cfg, &e), 3);
	assert_int_equal(config_users_seed_defaults(f->cfg, &e), 0);
	assert_int_equal(login(f, "manage", "!manage", "s", &roles), 0);
	assert_true(roles & CONFIG_ROLE_MANAGE);
	assert_int_equal(login(f, "monitor", "!monitor", "s", &roles), 0);
	assert_int_equal(roles, CONFIG_ROLE_MONITOR);
	assert_int_equal(config_auth_login(f->cfg, "ftp", "!ftp",
					   CONFIG_IFACE_FTP, "s", &roles, &e), 0);
	assert_true(roles & CONFIG_ROLE_MANAGE);
	assert_int_equal(config_auth_login(f->cfg, "manage", "!manage",
					   CONFIG_IFACE_FTP, "s", &roles, &e), 0);
}

struct count {
	unsigned code;
	int n;
	char message[EVENTS_MESSAGE_MAX];
};

static int count_code(void *ctx, const struct event *ev)
{
	struct count *c = ctx;

	if (ev->code == c->code) {
		if (!c->n)
			snprintf(c->message, sizeof(c->message), "%s",
				 ev->message);
		c->n++;
	}
	return 0;
}

static void test_lockout_per_source(void **state)
{
	struct fixture *f = *state;
	struct count c = { .code = EVENTS_CODE_LOGIN_LOCKOUT };
	unsigned roles;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-threshold", "3",
					 &e), 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-seconds", "60",
					 &e), 0);
	/* Two failures, then a success: the count starts again. */
	assert_int_equal(login(f, "alice", "bad", "10.1.1.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "alice", "bad", "10.1.1.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "alice", "Secret-99", "10.1.1.1", &roles), 0);
	/* Threshold - 1 failures: not locked. */
	assert_int_equal(login(f, "alice", "bad", "10.1.1.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "nobody", "bad", "10.1.1.1", &roles),
			 CONFIG_ERR_AUTH);
	events_each(f->events, 0, EVENTS_SEVERITY_ALL, count_code, &c);
	assert_int_equal(c.n, 0);
	/* The threshold-th failure locks the source out. */
	assert_int_equal(login(f, "alice", "bad", "10.1.1.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(config_auth_login(f->cfg, "alice", "Secret-99",
					   CONFIG_IFACE_CLI, "10.1.1.1", &roles,
					   &e), CONFIG_ERR_LOCKED_OUT);
	assert_non_null(strstr(e.msg, "try again in 60 second"));
	/* Another source is not affected. */
	assert_int_equal(login(f, "alice", "Secret-99", "10.1.1.2", &roles), 0);
	/* One event per lockout, naming the source. */
	events_each(f->events, 0, EVENTS_SEVERITY_ALL, count_code, &c);
	assert_int_equal(c.n, 1);
	assert_non_null(strstr(c.message, "10.1.1.1"));
	assert_non_null(strstr(c.message, "'alice'"));
	/* Still locked just before the end, free after it. */
	fake_now += 59;
	assert_int_equal(login(f, "alice", "Secret-99", "10.1.1.1", &roles),
			 CONFIG_ERR_LOCKED_OUT);
	fake_now += 1;
	assert_int_equal(login(f, "alice", "Secret-99", "10.1.1.1", &roles), 0);
	/* Failures far apart do not add up. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(login(f, "alice", "bad", "10.1.1.3", &roles),
				 CONFIG_ERR_AUTH);
		fake_now += 61;
	}
	assert_int_equal(login(f, "alice", "Secret-99", "10.1.1.3", &roles), 0);
	/* Raw input never reaches the event log. */
	for (int i = 0; i < 3; i++)
		login(f, "evil\nname", "bad", "10.1.1.4", &roles);
	c.n = 0;
	events_each(f->events, 0, EVENTS_SEVERITY_ALL, count_code, &c);
	assert_int_equal(c.n, 2);
	assert_non_null(strstr(c.message, "(invalid name)"));
}


/* A4: each failure from a source waits twice as long as the one before,
 * up to the cap; a success starts again; an unknown user waits alike. */
static void test_failure_delay_grows(void **state)
{
	static const unsigned want[] = { 1000, 2000, 4000, 8000, 8000 };
	struct fixture *f = *state;
	unsigned roles;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-threshold", "9",
					 &e), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(login(f, i % 2 ? "nobody" : "alice", "bad",
				       "10.2.0.1", &roles), CONFIG_ERR_AUTH);
	assert_int_equal(nslept, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(slept[i], want[i]);
	assert_int_equal(login(f, "alice", "Secret-99", "10.2.0.1", &roles), 0);
	assert_int_equal(nslept, 5);		/* no wait after a success */
	assert_int_equal(login(f, "alice", "bad", "10.2.0.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(slept[5], 1000);
	/* The setting moves the base; 0 turns the wait off. */
	assert_int_equal(config_set_text(f->cfg, "login-failure-delay-ms", "0",
					 &e), 0);
	assert_int_equal(login(f, "alice", "bad", "10.2.0.2", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(nslept, 6);
	assert_int_equal(config_set_text(f->cfg, "login-failure-delay-ms",
					 "10001", &e), CONFIG_ERR_VALUE);
}

struct racer {
	struct fixture *f;
	pthread_barrier_t *start;
	int rc;
};

static void *race_login(void *arg)
{
	struct racer *r = arg;
	unsigned roles;

	pthread_barrier_wait(r->start);
	r->rc = login(r->f, "alice", "bad", "10.3.0.1", &roles);
	return NULL;
}

/* A1: 8 wrong passwords at once with a threshold of 5: 5 are checked,
 * the other 3 refused before their hash (they overlap: each hash takes
 * longer than the start of all eight). */
static void test_parallel_attempts_reserved(void **state)
{
	struct fixture *f = *state;
	struct racer r[8];
	pthread_t t[8];
	pthread_barrier_t start;
	int checked = 0, refused = 0;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	pthread_barrier_init(&start, NULL, 8);
	for (size_t i = 0; i < 8; i++) {
		r[i] = (struct racer){ .f = f, .start = &start };
		assert_int_equal(pthread_create(&t[i], NULL, race_login, &r[i]),
				 0);
	}
	for (size_t i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		checked += r[i].rc == CONFIG_ERR_AUTH;
		refused += r[i].rc == CONFIG_ERR_LOCKED_OUT;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(checked, 5);
	assert_int_equal(refused, 3);
}

/* A2: with the table full of locked sources a new source is not given a
 * locked one's slot; the locked ones stay locked. */
static void test_locked_sources_never_evicted(void **state)
{
	struct fixture *f = *state;
	char source[32];
	unsigned roles;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-threshold", "1",
					 &e), 0);
	assert_int_equal(config_set_text(f->cfg, "login-global-failures",
					 "6000", &e), 0);
	for (int i = 0; i < CONFIG_LOCKOUT_SOURCES + 8; i++) {
		snprintf(source, sizeof(source), "10.4.%d.%d", i / 250,
			 i % 250);
		assert_int_equal(login(f, "nobody", "bad", source, &roles),
				 CONFIG_ERR_AUTH);
		fake_now++;	/* the global bucket refills: A3 is not tested */
	}
	for (int i = 0; i < CONFIG_LOCKOUT_SOURCES; i += 37) {
		snprintf(source, sizeof(source), "10.4.%d.%d", i / 250,
			 i % 250);
		assert_int_equal(login(f, "alice", "Secret-99", source, &roles),
				 CONFIG_ERR_LOCKED_OUT);
	}
	/* A source past the table's size still logs in with the password. */
	assert_int_equal(login(f, "alice", "Secret-99", "10.5.0.1", &roles), 0);
}

/* A3: failures from many sources at once: a burst, then each login waits
 * its turn up to the longest queue, then is refused; time refills. */
static void test_global_limit(void **state)
{
	struct fixture *f = *state;
	char source[32];
	unsigned roles;
	struct err e;
	int i;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(config_set_text(f->cfg, "login-failure-delay-ms", "0",
					 &e), 0);
	/* 60 a minute: one more failure each second after the burst. */
	for (i = 0; i < CONFIG_LOGIN_GLOBAL_BURST; i++) {
		snprintf(source, sizeof(source), "10.6.0.%d", i);
		assert_int_equal(login(f, "nobody", "bad", source, &roles),
				 CONFIG_ERR_AUTH);
	}
	assert_int_equal(nslept, 0);
	for (i = 1; i <= CONFIG_LOGIN_WAIT_MAX_SECONDS; i++) {
		snprintf(source, sizeof(source), "10.6.1.%d", i);
		assert_int_equal(login(f, "nobody", "bad", source, &roles),
				 CONFIG_ERR_AUTH);
		assert_int_equal(slept[nslept - 1], (unsigned)i * 1000);
	}
	assert_int_equal(config_auth_login(f->cfg, "alice", "Secret-99",
					   CONFIG_IFACE_CLI, "10.6.2.1", &roles,
					   &e), CONFIG_ERR_LOCKED_OUT);
	assert_non_null(strstr(e.msg, "from many sources"));
	/* The local console is not held up by sources on the network. */
	i = (int)nslept;
	assert_int_equal(login(f, "alice", "Secret-99", NULL, &roles), 0);
	assert_int_equal(nslept, (size_t)i);
	/* A second later the queue has room again: the right password gets
	 * in after its wait and gives its token back. */
	fake_now += 1;
	assert_int_equal(login(f, "alice", "Secret-99", "10.6.2.1", &roles), 0);
	assert_int_equal(slept[nslept - 1], 5000);
	assert_int_equal(login(f, "alice", "Secret-99", "10.6.2.2", &roles), 0);
	assert_int_equal(slept[nslept - 1], 5000);
}

/* The lockout outlives a restart (lockout.json), and ends on time. */
static void test_lockout_survives_reopen(void **state)
{
	struct fixture *f = *state;
	char path[192];
	unsigned roles;
	struct err e;

	assert_int_equal(create(f, "alice", CONFIG_ROLE_MANAGE, "Secret-99", &e),
			 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-threshold", "2",
					 &e), 0);
	assert_int_equal(config_set_text(f->cfg, "login-lockout-seconds", "60",
					 &e), 0);
	assert_int_equal(login(f, "alice", "bad", "10.7.0.1", &roles),
			 CONFIG_ERR_AUTH);
	assert_int_equal(login(f, "alice", "bad", "10.7.0.1", &roles),
			 CONFIG_ERR_AUTH);
	reopen(f);
	assert_int_equal(config_auth_login(f->cfg, "alice", "Secret-99",
					   CONFIG_IFACE_CLI, "10.7.0.1", &roles,
					   &e), CONFIG_ERR_LOCKED_OUT);
	assert_true(strstr(e.msg, "try again in 60 second") ||
		    strstr(e.msg, "try again in 59 second"));
	assert_int_equal(login(f, "alice", "Secret-99", "10.7.0.2", &roles), 0);
	fake_now += 61;
	assert_int_equal(login(f, "alice", "Secret-99", "10.7.0.1", &roles), 0);
	/* A damaged file does not keep the controller from starting. */
	snprintf(path, sizeof(path), "%s/lockout.json", f->cfgdir);
	assert_int_equal(fs_atomic_write(path, "{", 1, 0600, &e), 0);
	snprintf(path, sizeof(path), "%s/lockout.json.prev", f->cfgdir);
	unlink(path);
	reopen(f);
	assert_non_null(strstr(config_recovery_note(f->cfg),
			       "Login lockout state lost"));
	assert_int_equal(login(f, "alice", "Secret-99", "10.7.0.1", &roles), 0);
}

static void test_word_lists(void **state)
{
	unsigned bits = 99;
	struct buf b;
	struct err e;

	(void)state;
	assert_int_equal(config_roles_parse("manage,monitor", &bits, &e), 0);
	assert_int_equal(bits, CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR);
	assert_int_equal(config_roles_parse("monitor", &bits, &e), 0);
	assert_int_equal(bits, CONFIG_ROLE_MONITOR);
	bits = 99;
	assert_int_equal(config_roles_parse("admin", &bits, &e), CONFIG_ERR_VALUE);
	assert_int_equal(config_roles_parse("manage,manage", &bits, &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_roles_parse("none", &bits, &e), CONFIG_ERR_VALUE);
	assert_int_equal(config_roles_parse("", &bits, &e), CONFIG_ERR_VALUE);
	assert_int_equal(bits, 99);
	assert_int_equal(config_interfaces_parse("wbi,cli,ftp", &bits, &e), 0);
	assert_int_equal(bits, CONFIG_IFACE_WBI | CONFIG_IFACE_CLI |
			 CONFIG_IFACE_FTP);
	assert_int_equal(config_interfaces_parse("none", &bits, &e), 0);
	assert_int_equal(bits, 0);
	buf_init(&b, 128);
	config_roles_format(CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR, &b);
	assert_string_equal(b.data, "monitor,manage");
	buf_reset(&b);
	config_interfaces_format(CONFIG_IFACE_ALL, &b);
	assert_string_equal(b.data, "cli,wbi,ftp,smis");
	buf_reset(&b);
	config_interfaces_format(0, &b);
	assert_string_equal(b.data, "none");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_login_persist,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_name_and_password_rules,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_seed_defaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lockout_per_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failure_delay_grows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_parallel_attempts_reserved,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_locked_sources_never_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_global_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lockout_survives_reopen,
						setup, teardown),
		cmocka_unit_test(test_word_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
