/* test_config.c: settings defaults, round trips, limits, corruption fallback, watchers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "events/events.h"

struct fixture {
	char dir[64];
	char cfgdir[128];
	char path[160];		/* settings.json */
	struct events_log *events;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char evpath[160];
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-config-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->cfgdir, sizeof(f->cfgdir), "%s/config", f->dir);
	snprintf(f->path, sizeof(f->path), "%s/settings.json", f->cfgdir);
	snprintf(evpath, sizeof(evpath), "%s/events.log", f->dir);
	if (events_open(evpath, 'A', 0, &f->events, NULL, &e) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	events_close(f->events);
	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

static struct config *open_cfg(struct fixture *f)
{
	struct config *cfg = NULL;
	struct err e;

	err_clear(&e);
	if (config_open(f->cfgdir, f->events, &cfg, &e) < 0)
		fail_msg("config_open: %s", e.msg);
	return cfg;
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char text[CONFIG_STRING_MAX];
	struct err e;
	struct stat st;

	/* DESIGN.md "Security": FTP and telnet off by default. */
	assert_false(config_get_bool(cfg, CONFIG_PROTO_FTP));
	assert_false(config_get_bool(cfg, CONFIG_PROTO_TELNET));
	assert_true(config_get_bool(cfg, CONFIG_PROTO_SSH));
	assert_true(config_get_bool(cfg, CONFIG_PROTO_HTTPS));
	assert_true(config_get_bool(cfg, CONFIG_PROTO_SFTP));
	assert_true(config_get_bool(cfg, CONFIG_PARTNER_FIRMWARE_UPGRADE));
	assert_int_equal(config_get_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT), 3);
	config_get_string(cfg, CONFIG_SYSTEM_NAME, text, sizeof(text));
	assert_string_equal(text, "Uninitialized Name");
	assert_int_equal(config_get_text(cfg, "partner-firmware-upgrade", text,
					 sizeof(text), &e), 0);
	assert_string_equal(text, "Enabled");
	assert_int_equal(config_get_text(cfg, "ftp", text, sizeof(text), &e), 0);
	assert_string_equal(text, "Disabled");
	assert_string_equal(config_recovery_note(cfg), "");
	/* Written at first open; users.json holds hashes: owner only. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(access(f->path, R_OK), 0);
	{
		char users[200];

		snprintf(users, sizeof(users), "%s/users.json", f->cfgdir);
		assert_int_equal(stat(users, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	config_close(cfg);
}

/* The table lists every protocol of `show protocols`, in its order. */
static void test_key_table(void **state)
{
	static const char *const xml[] = {
		"wbi-http", "wbi-https", "cli-telnet", "cli-ssh", "smis",
		"usmis", "slp", "ftp", "sftp", "snmp", "debug-interface",
		"inband-ses", "activity-progress",
	};
	const struct config_key_info *keys;
	size_t n, p = 0;

	(void)state;
	keys = config_keys(&n);
	assert_int_equal(n, CONFIG_KEY_COUNT);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(keys[i].key, i);
		assert_ptr_equal(config_key_find(keys[i].name), &keys[i]);
		if (!strcmp(keys[i].group, "protocols"))
			assert_string_equal(keys[i].xml_name, xml[p++]);
	}
	assert_int_equal(p, ARRAY_SIZE(xml));
	assert_non_null(config_protocol_find("telnet"));
	assert_null(config_protocol_find("system-name"));
	assert_null(config_key_find("no-such-thing"));
}

static void other_value(const struct config_key_info *k, char *out, size_t len)
{
	if (k->type == CONFIG_BOOL)
		snprintf(out, len, "%s", k->default_bool ? "disabled" : "on");
	else if (k->type == CONFIG_UINT)
		snprintf(out, len, "%u", k->default_uint == k->max_uint ?
			 k->min_uint : k->max_uint);
	else
		snprintf(out, len, "Value of %s", k->name);
}

static void test_every_setting_round_trips(void **state)
{
	struct fixture *f = *state;
	const struct config_key_info *keys;
	struct config *cfg = open_cfg(f);
	struct err e;
	size_t n;

	keys = config_keys(&n);
	for (size_t i = 0; i < n; i++) {
		char v[CONFIG_STRING_MAX];

		other_value(&keys[i], v, sizeof(v));
		if (config_set_text(cfg, keys[i].name, v, &e) < 0)
			fail_msg("set %s: %s", keys[i].name, e.msg);
	}
	config_close(cfg);
	cfg = open_cfg(f);
	for (size_t i = 0; i < n; i++) {
		const struct config_key_info *k = &keys[i];
		char v[CONFIG_STRING_MAX], s[CONFIG_STRING_MAX];

		other_value(k, v, sizeof(v));
		if (k->type == CONFIG_BOOL)
			assert_int_equal(config_get_bool(cfg, k->key),
					 !k->default_bool);
		else if (k->type == CONFIG_UINT)
			assert_int_equal(config_get_uint(cfg, k->key),
					 strtoul(v, NULL, 10));
		else {
			config_get_string(cfg, k->key, s, sizeof(s));
			assert_string_equal(s, v);
		}
	}
	assert_string_equal(config_recovery_note(cfg), "");
	config_close(cfg);
}

static void file_bytes(const char *path, struct buf *b)
{
	struct err e;

	buf_init(b, 1 << 20);
	assert_int_equal(fs_read_file(path, 1 << 20, b, &e), 0);
}

/* Bad input gets a specific error and changes nothing, on disk or in memory. */
static void test_limits_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	char s79[80], s80[81], text[CONFIG_STRING_MAX];
	struct buf before, after;
	struct err e;

	file_bytes(f->path, &before);
	/* pfu-attempt-limit: 1..20 */
	assert_int_equal(config_set_text(cfg, "pfu-attempt-limit", "0", &e),
			 CONFIG_ERR_VALUE);
	assert_non_null(strstr(e.msg, "between 1 and 20"));
	assert_int_equal(config_set_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT, 21, &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_text(cfg, "pfu-attempt-limit", "3x", &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_text(cfg, "ftp", "maybe", &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_text(cfg, "nonsense", "1", &e),
			 CONFIG_ERR_UNKNOWN_KEY);
	assert_int_equal(config_set_bool(cfg, CONFIG_SYSTEM_NAME, true, &e),
			 CONFIG_ERR_UNKNOWN_KEY);
	memset(s80, 'n', 80);
	s80[80] = '\0';
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, s80, &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "a\"b", &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "a\nb", &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "\xff\xfe", &e),
			 CONFIG_ERR_VALUE);
	file_bytes(f->path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	config_get_string(cfg, CONFIG_SYSTEM_NAME, text, sizeof(text));
	assert_string_equal(text, "Uninitialized Name");
	assert_int_equal(config_get_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT), 3);
	/* At the limits: accepted. */
	memset(s79, 'n', 79);
	s79[79] = '\0';
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, s79, &e), 0);
	assert_int_equal(config_set_text(cfg, "pfu-attempt-limit", "20", &e), 0);
	assert_int_equal(config_set_text(cfg, "pfu-attempt-limit", "1", &e), 0);
	assert_int_equal(config_set_text(cfg, "ftp", "ON", &e), 0);
	assert_true(config_get_bool(cfg, CONFIG_PROTO_FTP));
	buf_free(&before);
	buf_free(&after);
	config_close(cfg);
}

static void corrupt_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c = c == '1' ? '2' : '1';
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

struct found {
	unsigned code;
	char message[EVENTS_MESSAGE_MAX];
};

static int find_code(void *ctx, const struct event *ev)
{
	struct found *fd = ctx;

	if (ev->code == fd->code) {
		snprintf(fd->message, sizeof(fd->message), "%s", ev->message);
		return 1;
	}
	return 0;
}

/* C2, C3: a corrupt file falls back to .prev, loudly, and is kept aside. */
static void test_corrupt_falls_back_to_prev(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct found fd = { .code = EVENTS_CODE_CONFIG_CORRUPT };
	char aside[200], text[CONFIG_STRING_MAX];
	struct config *bad = NULL;
	struct buf b;
	struct err e;

	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "old name",
					   &e), 0);
	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "new name",
					   &e), 0);
	config_close(cfg);
	/* Damage the checksum line's neighbour: a value, not the syntax. */
	file_bytes(f->path, &b);
	corrupt_byte(f->path, strstr(b.data, "new name") - b.data);
	buf_free(&b);

	cfg = open_cfg(f);
	config_get_string(cfg, CONFIG_SYSTEM_NAME, text, sizeof(text));
	assert_string_equal(text, "old name");
	assert_non_null(strstr(config_recovery_note(cfg), "settings.json"));
	assert_non_null(strstr(config_recovery_note(cfg), "checksum mismatch"));
	assert_non_null(strstr(config_recovery_note(cfg), "last good copy"));
	snprintf(aside, sizeof(aside), "%s.corrupt", f->path);
	assert_int_equal(access(aside, F_OK), 0);
	assert_int_equal(events_each(f->events, 0, EVENTS_SEVERITY_ALL,
				     find_code, &fd), 1);
	assert_non_null(strstr(fd.message, "corrupt"));
	config_close(cfg);
	/* The good copy now stands in its place. */
	cfg = open_cfg(f);
	assert_string_equal(config_recovery_note(cfg), "");
	config_close(cfg);

	/* Truncated to nothing: also not JSON, also falls back. */
	assert_int_equal(truncate(f->path, 0), 0);
	cfg = open_cfg(f);
	assert_non_null(strstr(config_recovery_note(cfg), "not valid JSON"));
	config_close(cfg);

	/* Both bad: a clear failure, never silent defaults. */
	{
		char prev[200];

		snprintf(prev, sizeof(prev), "%s.prev", f->path);
		assert_int_equal(truncate(f->path, 10), 0);
		assert_int_equal(truncate(prev, 10), 0);
	}
	assert_int_equal(config_open(f->cfgdir, f->events, &bad, &e),
			 CONFIG_ERR_CORRUPT);
	assert_null(bad);
	assert_non_null(strstr(e.msg, "settings.json"));
	assert_non_null(strstr(e.msg, "no good copy"));
}

/* Strict parse: a checksummed file with a value out of range is refused. */
static void test_strict_values(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct config *bad = NULL;
	struct err e;
	char prev[200];

	config_close(cfg);
	snprintf(prev, sizeof(prev), "%s.prev", f->path);
	unlink(prev);
	assert_int_equal(fs_atomic_write(f->path, "{\"format\": 1}", 13, 0644,
					 &e), 0);
	assert_int_equal(config_open(f->cfgdir, NULL, &bad, &e),
			 CONFIG_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "checksum"));
}

struct watched {
	int calls;
	enum config_key last;
	struct config *cfg;
	bool value_seen;
};

static void on_change(void *ctx, enum config_key key)
{
	struct watched *w = ctx;

	w->calls++;
	w->last = key;
	/* Watchers run outside the lock: reading config here must work. */
	w->value_seen = config_get_bool(w->cfg, key);
}

static void test_watch(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct watched w = { .cfg = cfg };
	struct found fd = { .code = EVENTS_CODE_CONFIG_CHANGED };
	struct err e;

	assert_int_equal(config_watch(cfg, on_change, &w), 0);
	assert_int_equal(config_set_text(cfg, "ftp", "enabled", &e), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.last, CONFIG_PROTO_FTP);
	assert_true(w.value_seen);
	/* The same value again: no change, no call. */
	assert_int_equal(config_set_text(cfg, "ftp", "on", &e), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(config_set_bool(cfg, CONFIG_PROTO_TELNET, true, &e), 0);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.last, CONFIG_PROTO_TELNET);
	assert_int_equal(events_each(f->events, 0, EVENTS_SEVERITY_ALL,
				     find_code, &fd), 1);
	assert_string_equal(fd.message, "Setting 'telnet' was set to 'Enabled'.");
	for (int i = 1; i < CONFIG_WATCHERS_MAX; i++)
		assert_int_equal(config_watch(cfg, on_change, &w), 0);
	assert_int_equal(config_watch(cfg, on_change, &w), CONFIG_ERR_TOO_MANY);
	config_close(cfg);
}

/* The partner mirror: local changes of enclosure settings are stamped and
 * persisted with their origin; a mirrored value is taken only when newer
 * (ties: A's), tells the watchers, and a later local change is newer than
 * anything held whatever the wall clock says. */
static void test_mirror_stamps(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct watched w = { .cfg = cfg };
	struct config_stamp st, newer, tie;
	char text[CONFIG_STRING_MAX];
	struct err e;
	struct buf file;

	config_set_controller(cfg, 'B');
	assert_int_equal(config_watch(cfg, on_change, &w), 0);
	assert_int_equal(config_get_stamped(cfg, CONFIG_PROTO_FTP, text,
					    sizeof(text), &st), 0);
	assert_int_equal(st.ms, 0);
	assert_string_equal(text, "Disabled");
	assert_int_equal(config_set_text(cfg, "ftp", "enabled", &e), 0);
	assert_int_equal(config_get_stamped(cfg, CONFIG_PROTO_FTP, text,
					    sizeof(text), &st), 0);
	assert_true(st.ms > 0);
	assert_int_equal(st.origin, 'B');
	/* Controller-scope settings carry no stamp and are not mirrored. */
	assert_int_equal(config_set_text(cfg, "login-lockout-threshold", "7",
					 &e), 0);
	assert_int_equal(config_get_stamped(cfg,
			 CONFIG_LOGIN_LOCKOUT_THRESHOLD, text, sizeof(text),
			 &newer), 0);
	assert_int_equal(newer.ms, 0);
	assert_int_equal(config_mirror_apply(cfg, "login-lockout-threshold",
					     "9", &st, &e),
			 CONFIG_ERR_UNKNOWN_KEY);
	/* Older, or the same stamp: kept. */
	newer = st;
	newer.ms--;
	newer.origin = 'A';
	assert_int_equal(config_mirror_apply(cfg, "ftp", "disabled", &newer,
					     &e), 0);
	assert_true(config_get_bool(cfg, CONFIG_PROTO_FTP));
	assert_int_equal(config_mirror_apply(cfg, "ftp", "disabled", &st, &e),
			 0);
	/* A tie is A's. */
	tie = st;
	tie.origin = 'A';
	w.calls = 0;
	assert_int_equal(config_mirror_apply(cfg, "ftp", "disabled", &tie, &e),
			 1);
	assert_false(config_get_bool(cfg, CONFIG_PROTO_FTP));
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.last, CONFIG_PROTO_FTP);
	/* Bad input changes nothing. */
	newer.ms = st.ms + 1000;
	assert_int_equal(config_mirror_apply(cfg, "ftp", "maybe", &newer, &e),
			 CONFIG_ERR_VALUE);
	newer.origin = 'C';
	assert_int_equal(config_mirror_apply(cfg, "ftp", "enabled", &newer, &e),
			 CONFIG_ERR_VALUE);
	assert_int_equal(config_mirror_apply(cfg, "nope", "enabled", &newer,
					     &e), CONFIG_ERR_UNKNOWN_KEY);
	assert_false(config_get_bool(cfg, CONFIG_PROTO_FTP));
	/* A partner clock far ahead: our next change still wins. */
	newer.ms = st.ms + 3600 * 1000;
	newer.origin = 'A';
	assert_int_equal(config_mirror_apply(cfg, "pfu-attempt-limit", "5",
					     &newer, &e), 1);
	assert_int_equal(config_set_text(cfg, "ftp", "enabled", &e), 0);
	assert_int_equal(config_get_stamped(cfg, CONFIG_PROTO_FTP, text,
					    sizeof(text), &st), 0);
	assert_true(st.ms > newer.ms);
	assert_true(config_stamp_newer(&st, &newer));
	config_close(cfg);

	/* Persisted with the values, under the checksum. */
	buf_init(&file, CONFIG_FILE_MAX);
	assert_int_equal(fs_read_file(f->path, CONFIG_FILE_MAX, &file, &e), 0);
	assert_non_null(strstr(file.data, "\"stamps\""));
	buf_free(&file);
	cfg = open_cfg(f);
	assert_int_equal(config_get_stamped(cfg, CONFIG_PROTO_FTP, text,
					    sizeof(text), &tie), 0);
	assert_int_equal(tie.ms, st.ms);
	assert_int_equal(tie.origin, 'B');
	assert_string_equal(text, "Enabled");
	assert_int_equal(config_get_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT), 5);
	assert_int_equal(config_get_stamped(cfg, CONFIG_PFU_ATTEMPT_LIMIT, text,
					    sizeof(text), &tie), 0);
	assert_int_equal(tie.origin, 'A');
	config_close(cfg);
}

/* C4: a failed save leaves memory and disk as they were. */
static void test_failed_save_undone(void **state)
{
	struct fixture *f = *state;
	struct config *cfg;
	struct buf before, after;
	char tmp[200];
	struct err e;

	cfg = open_cfg(f);
	file_bytes(f->path, &before);
	/* A directory where the temporary file goes: the write must fail. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(config_set_text(cfg, "ftp", "enabled", &e),
			 CONFIG_ERR_IO);
	assert_non_null(strstr(e.msg, "settings.json.tmp"));
	assert_false(config_get_bool(cfg, CONFIG_PROTO_FTP));
	file_bytes(f->path, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	rmdir(tmp);
	assert_int_equal(config_set_text(cfg, "ftp", "enabled", &e), 0);
	config_close(cfg);
	cfg = open_cfg(f);
	assert_true(config_get_bool(cfg, CONFIG_PROTO_FTP));
	config_close(cfg);
	buf_free(&before);
	buf_free(&after);
}

/*
 * C1, C2: a power cut after every I/O step of a change (the fault points
 * in fs_atomic_write) leaves the old or the new value, and opens clean.
 */
static void test_powercut_every_step(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	bool saw_old = false, saw_new = false, completed = false;
	struct err e;

	assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME, "step-0",
					   &e), 0);
	config_close(cfg);
	for (int step = 1; step <= 20 && !completed; step++) {
		char spec[32], want_old[16], want_new[16], text[CONFIG_STRING_MAX];
		int status;
		pid_t pid;

		snprintf(want_old, sizeof(want_old), "step-%d", step - 1);
		snprintf(want_new, sizeof(want_new), "step-%d", step);
		cfg = open_cfg(f);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "powercut=%d", step);
			if (fault_arm(spec, &e) < 0)
				_exit(1);
			config_set_string(cfg, CONFIG_SYSTEM_NAME, want_new, &e);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		completed = WEXITSTATUS(status) == 0;
		if (!completed)
			assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		config_close(cfg);
		cfg = open_cfg(f);
		assert_string_equal(config_recovery_note(cfg), "");
		config_get_string(cfg, CONFIG_SYSTEM_NAME, text, sizeof(text));
		if (!strcmp(text, want_old)) {
			saw_old = true;
			/* Carry on from the old value: the next step's "old". */
			assert_int_equal(config_set_string(cfg, CONFIG_SYSTEM_NAME,
							   want_new, &e), 0);
		} else {
			assert_string_equal(text, want_new);
			saw_new = true;
		}
		assert_false(completed && strcmp(text, want_new));
		config_close(cfg);
	}
	assert_true(completed);
	assert_true(saw_old);
	assert_true(saw_new);
}

struct hammer {
	struct config *cfg;
	int id;
	int failures;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	char name[CONFIG_STRING_MAX];
	struct err e;

	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "thread-%d-%d", h->id, i);
		if (config_set_string(h->cfg, CONFIG_SYSTEM_NAME, name, &e) < 0 ||
		    config_set_bool(h->cfg, CONFIG_PROTO_FTP, i % 2, &e) < 0)
			h->failures++;
		config_get_string(h->cfg, CONFIG_SYSTEM_NAME, name, sizeof(name));
		if (strncmp(name, "thread-", 7))
			h->failures++;
	}
	return NULL;
}

/* One mutex: the CLI, FTP and SSH threads change settings at once. */
static void test_concurrent_sets(void **state)
{
	struct fixture *f = *state;
	struct config *cfg = open_cfg(f);
	struct hammer h[4];
	pthread_t t[4];
	char name[CONFIG_STRING_MAX], last[CONFIG_STRING_MAX];

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .cfg = cfg, .id = i };
		pthread_create(&t[i], NULL, hammer_run, &h[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].failures, 0);
	}
	config_get_string(cfg, CONFIG_SYSTEM_NAME, last, sizeof(last));
	config_close(cfg);
	cfg = open_cfg(f);
	config_get_string(cfg, CONFIG_SYSTEM_NAME, name, sizeof(name));
	assert_string_equal(name, last);
	assert_string_equal(config_recovery_note(cfg), "");
	config_close(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test_setup_teardown(test_every_setting_round_trips,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_change_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_falls_back_to_prev,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_values, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_stamps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_save_undone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_powercut_every_step, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_sets, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
