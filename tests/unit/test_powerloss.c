/*
 * test_powerloss.c: the power-loss model (src/common/powerloss.c, P1-P3).
 * Each case forks a child that arms powercut=1, changes files through the
 * wrappers and takes one fault step; the parent then looks at what a power
 * failure at that moment would have left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

static char dir[64];

static const char *at(const char *name)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tandem-powerloss-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(dir);
	return 0;
}

/* A file as it stands, durably (written and synced without the model). */
static void put(const char *name, const char *text)
{
	struct err e;

	assert_int_equal(fs_atomic_write(at(name), text, strlen(text), 0644,
					 &e), 0);
}

/* The file's content, or "(none)" when it does not exist. */
static const char *get(const char *name)
{
	static char text[256];
	struct buf b;
	struct err e;

	buf_init(&b, sizeof(text) - 1);
	if (fs_read_file(at(name), sizeof(text) - 1, &b, &e) < 0) {
		buf_free(&b);
		return "(none)";
	}
	snprintf(text, sizeof(text), "%.*s", (int)b.len, b.data ? b.data : "");
	buf_free(&b);
	return text;
}

static void sync_dir(void)
{
	assert_int_equal(fs_fsync_dir(dir), 0);
}

/* Far more steps than any case takes: the cut comes when we ask. */
#define CUT_STEP 1000

/* Runs fn in a child armed for a power cut, then cuts the power. */
static void cut_after(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char spec[32];
		struct err e;

		snprintf(spec, sizeof(spec), "powercut=%d", CUT_STEP);
		if (fault_arm(spec, &e) < 0 || !powerloss_armed())
			_exit(1);
		fn();
		if (fault_steps_taken() >= CUT_STEP)
			_exit(2);
		for (;;)
			fault_step("cut");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
}

static int open_rw(const char *name, int flags)
{
	int fd = powerloss_open(at(name), O_RDWR | O_CLOEXEC | flags, 0644);

	if (fd < 0)
		_exit(4);
	return fd;
}

static void write_text(int fd, const char *text)
{
	if (fs_write_all(fd, text, strlen(text)) < 0)
		_exit(5);
}

/* P1 */
static void overwrite_unsynced(void)
{
	int fd = open_rw("f", 0);

	write_text(fd, "NEW CONTENT, LONGER");
	close(fd);
}

static void overwrite_synced(void)
{
	int fd = open_rw("f", 0);

	write_text(fd, "NEW CONTENT, LONGER");
	if (powerloss_fsync(fd) < 0)
		_exit(6);
	close(fd);
}

static void overwrite_datasynced_then_again(void)
{
	int fd = open_rw("f", 0);

	write_text(fd, "synced");
	if (powerloss_fdatasync(fd) < 0)
		_exit(6);
	if (powerloss_pwrite(fd, "LOST", 4, 0) != 4 ||
	    powerloss_ftruncate(fd, 3) < 0)
		_exit(7);
	close(fd);
}

static void truncate_on_open(void)
{
	close(open_rw("f", O_TRUNC));
}

static void range_written_back_only(void)
{
	int fd = open_rw("f", 0);

	write_text(fd, "NEW");
	/* Starts and waits for writeback, but syncs no metadata or cache. */
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER) < 0)
		_exit(6);
	close(fd);
}

static void test_unsynced_data_reverted(void **state)
{
	(void)state;
	put("f", "old");
	cut_after(overwrite_unsynced);
	assert_string_equal(get("f"), "old");

	cut_after(truncate_on_open);
	assert_string_equal(get("f"), "old");

	cut_after(range_written_back_only);
	assert_string_equal(get("f"), "old");

	cut_after(overwrite_datasynced_then_again);
	assert_string_equal(get("f"), "synced");
}

static void test_synced_data_kept(void **state)
{
	(void)state;
	put("f", "old");
	cut_after(overwrite_synced);
	assert_string_equal(get("f"), "NEW CONTENT, LONGER");
}

/* P2, P3: a new file */
static void create_synced_file_only(void)
{
	int fd = open_rw("new", O_CREAT | O_EXCL);

	write_text(fd, "data");
	if (powerloss_fsync(fd) < 0)
		_exit(6);
	close(fd);
}

static void create_and_sync_dir(void)
{
	create_synced_file_only();
	sync_dir();
}

static void test_created_file_needs_dir_fsync(void **state)
{
	(void)state;
	cut_after(create_synced_file_only);
	assert_string_equal(get("new"), "(none)");
	cut_after(create_and_sync_dir);
	assert_string_equal(get("new"), "data");
}

/* P2: rename over a file, the atomic-write pattern without its dir fsync */
static void rename_unsynced(void)
{
	int fd = open_rw("f.tmp", O_CREAT | O_TRUNC);

	write_text(fd, "replacement");
	if (powerloss_fsync(fd) < 0)
		_exit(6);
	close(fd);
	if (powerloss_rename(at("f.tmp"), at("f")) < 0)
		_exit(8);
}

static void rename_synced(void)
{
	rename_unsynced();
	sync_dir();
}

static void test_rename_needs_dir_fsync(void **state)
{
	(void)state;
	put("f", "old");
	cut_after(rename_unsynced);
	assert_string_equal(get("f"), "old");
	assert_string_equal(get("f.tmp"), "(none)"); /* never made durable */
	cut_after(rename_synced);
	assert_string_equal(get("f"), "replacement");
	assert_string_equal(get("f.tmp"), "(none)");
}

static void rename_durable_tmp(void)
{
	if (powerloss_rename(at("a"), at("b")) < 0)
		_exit(8);
}

static void test_rename_undone_keeps_both_names(void **state)
{
	(void)state;
	put("a", "from-a");
	put("b", "was-b");
	cut_after(rename_durable_tmp);
	assert_string_equal(get("a"), "from-a");
	assert_string_equal(get("b"), "was-b");
}

/* P2: unlink and mkdir */
static void unlink_unsynced(void)
{
	if (powerloss_unlink(at("f")) < 0)
		_exit(8);
}

static void unlink_synced(void)
{
	unlink_unsynced();
	sync_dir();
}

static void mkdir_unsynced(void)
{
	if (powerloss_mkdir(at("d"), 0755) < 0)
		_exit(8);
	put("d/x", "inside");
}

/* fs_mkdir_p makes each directory it creates durable. */
static void mkdir_p(void)
{
	struct err e;

	if (fs_mkdir_p(at("p/q"), 0755, &e) < 0)
		_exit(8);
}

static void test_unlink_and_mkdir_need_dir_fsync(void **state)
{
	struct stat st;

	(void)state;
	put("f", "kept");
	chmod(at("f"), 0750);
	cut_after(unlink_unsynced);
	assert_string_equal(get("f"), "kept");
	assert_int_equal(stat(at("f"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	cut_after(unlink_synced);
	assert_string_equal(get("f"), "(none)");
	/* d/x was synced by the atomic write, d's own entry never was. */
	cut_after(mkdir_unsynced);
	assert_int_equal(stat(at("d"), &st), -1);
	cut_after(mkdir_p);
	assert_int_equal(stat(at("p/q"), &st), 0);
}

/* A cut on another thread than the writer's (the flash install's case). */
static void *write_forever(void *arg)
{
	int fd = *(int *)arg;
	char block[4096];
	off_t off = 0;

	memset(block, 'x', sizeof(block));
	for (;;) {
		if (powerloss_pwrite(fd, block, sizeof(block), off) < 0)
			_exit(9);
		off = (off + (off_t)sizeof(block)) % (1 << 20);
	}
	return NULL;
}

static void cut_beside_writer(void)
{
	static int fd;
	pthread_t t;

	fd = open_rw("f", 0);
	if (pthread_create(&t, NULL, write_forever, &fd) != 0)
		_exit(10);
	/* Let the writer get some way; the cut then races it. */
	while (lseek(fd, 0, SEEK_END) < (1 << 18))
		sched_yield();
}

static void test_cut_beside_a_writing_thread(void **state)
{
	(void)state;
	put("f", "old");
	cut_after(cut_beside_writer);
	assert_string_equal(get("f"), "old");
}

/* fs_atomic_write cut at each of its steps: old or new, no temp left. */
static void test_atomic_write_cut_at_every_step(void **state)
{
	bool saw_old = false, saw_new = false;

	(void)state;
	for (int step = 1;; step++) {
		char spec[32];
		int status;
		pid_t pid;

		put("f", "old");
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct err e;

			snprintf(spec, sizeof(spec), "powercut=%d", step);
			if (fault_arm(spec, &e) < 0)
				_exit(1);
			_exit(fs_atomic_write(at("f"), "new", 3, 0644, &e) < 0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0) {
			assert_string_equal(get("f"), "new");
			break;
		}
		assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		if (!strcmp(get("f"), "old"))
			saw_old = true;
		else if (!strcmp(get("f"), "new"))
			saw_new = true;
		else
			fail_msg("step %d: f is '%s'", step, get("f"));
		assert_string_equal(get("f.tmp"), "(none)");
		assert_true(step < 10);
	}
	assert_true(saw_old);
	assert_true(saw_new);	/* the last step, the directory's fsync */
}

/* P4: powerloss=keep-last keeps the newest change of names only. */
static void two_unlinks(void)
{
	if (powerloss_unlink(at("a")) < 0 || powerloss_unlink(at("b")) < 0)
		_exit(8);
}

static void test_keep_last_loses_all_but_the_newest(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	put("a", "A");
	put("b", "B");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct err e;

		if (fault_arm("powercut=1,powerloss=keep-last", &e) < 0)
			_exit(1);
		two_unlinks();
		fault_step("cut");
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
	assert_string_equal(get("a"), "A");
	assert_string_equal(get("b"), "(none)");
}

static void test_only_a_powercut_arms_the_model(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(fault_arm("write-error=mc", &e), 0);
	assert_false(powerloss_armed());
	assert_int_equal(fault_arm("powercut=5", &e), 0);
	assert_true(powerloss_armed());
	assert_int_not_equal(fault_arm("powercut=x", &e), 0);
	assert_false(powerloss_armed());
	assert_int_equal(fault_arm("powercut=3,powerloss=fsync", &e), -EINVAL);
	assert_string_equal(e.msg, "fault spec: powerloss is all or keep-last");
	assert_false(powerloss_armed());
	assert_int_equal(fault_arm("powerloss=keep-last", &e), 0);
	assert_false(powerloss_armed());	/* nothing to cut */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unsynced_data_reverted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_synced_data_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_created_file_needs_dir_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_needs_dir_fsync,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rename_undone_keeps_both_names, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unlink_and_mkdir_need_dir_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cut_beside_a_writing_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_atomic_write_cut_at_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_keep_last_loses_all_but_the_newest, setup,
			teardown),
		cmocka_unit_test(test_only_a_powercut_arms_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
