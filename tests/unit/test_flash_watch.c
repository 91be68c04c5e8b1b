/*
 * test_flash_watch.c: flash_store_status with flash_store_watch (tandemd's
 * way): a change made by another process (`tandem flash` beside the
 * daemon) shows at the very next call, the status's files are read again
 * only then (image and scratch writes read nothing), a bank directory
 * made anew is watched again, and a store moved away falls back to the
 * stamps and still sees every change. Each answer is compared with what
 * a fresh open reads from disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flash_fixture.h"

static struct flash_fixture fx;

static int setup(void **state)
{
	struct err e;

	(void)state;
	flash_fixture_setup(&fx, "test_flash_watch");
	assert_int_equal(flash_store_watch(fx.s, &e), 0);
	assert_true(atomic_load(&fx.s->watching));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	flash_fixture_teardown(&fx);
	return 0;
}

/* Installs v from a process of its own, as `tandem flash install`. */
static void install_beside(const char *v)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct flash_store *s;
		struct err e;

		if (flash_store_open(fx.dir, &s, &e) < 0)
			_exit(1);
		flash_fixture_install(&fx, s, v);
		flash_store_close(s);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The watched store's answer, checked against a fresh open's. */
static struct flash_status watched(void)
{
	struct flash_status st, disk;
	struct flash_store *s;
	struct err e;

	assert_int_equal(flash_store_status(fx.s, &st, &e), 0);
	assert_int_equal(flash_store_open(fx.dir, &s, &e), 0);
	assert_int_equal(flash_store_status(s, &disk, &e), 0);
	flash_store_close(s);
	assert_string_equal(st.bundle_version, disk.bundle_version);
	assert_string_equal(st.previous_version, disk.previous_version);
	assert_int_equal(st.active_bank, disk.active_bank);
	assert_int_equal(st.trial, disk.trial);
	assert_true(st.sequence == disk.sequence);
	return st;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_change_beside_shows_at_once(void **state)
{
	struct flash_status st;

	(void)state;
	assert_string_equal(watched().bundle_version, "");
	install_beside("TS250P001");
	assert_string_equal(watched().bundle_version, "TS250P001");
	install_beside("TS250P002");
	st = watched();
	assert_string_equal(st.bundle_version, "TS250P002");
	assert_string_equal(st.previous_version, "TS250P001");
}

static void test_only_status_files_read_again(void **state)
{
	char path[PATH_MAX];
	unsigned long reads;
	struct flash_status st;

	(void)state;
	install_beside("TS250P001");
	st = watched();
	reads = fx.s->status_reads;
	assert_string_equal(watched().bundle_version, "TS250P001");
	assert_true(fx.s->status_reads == reads);
	/* An image, a scratch file in flash/, a file beside the manifest:
	 * nothing the status is read from. */
	flash_bank_file(fx.s, st.active_bank, "sc", path, sizeof(path));
	write_file(path, "changed image");
	flash_path(fx.s, path, sizeof(path), "handler.bank0.sc");
	write_file(path, "copy");
	flash_path(fx.s, path, sizeof(path), "bank%d/notes", st.active_bank);
	write_file(path, "x");
	assert_string_equal(watched().bundle_version, "TS250P001");
	assert_true(fx.s->status_reads == reads);
	/* The manifest touched: read again (and still the same). */
	flash_path(fx.s, path, sizeof(path), "bank%d/%s", st.active_bank,
		   FLASH_MANIFEST_JSON);
	assert_int_equal(utimes(path, NULL), 0);
	assert_string_equal(watched().bundle_version, "TS250P001");
	assert_true(fx.s->status_reads == reads + 1);
	/* A boot record touched. */
	flash_path(fx.s, path, sizeof(path), "bootrec.%d", fx.s->rec_slot);
	assert_int_equal(utimes(path, NULL), 0);
	watched();
	assert_true(fx.s->status_reads == reads + 2);
}

/* The inactive bank's directory removed and made anew: its new manifest
 * (a copy of the active one, put in place by rename) shows. */
static void test_bank_made_anew_is_watched(void **state)
{
	char from[PATH_MAX], tmp[PATH_MAX], to[PATH_MAX], bank[PATH_MAX];
	struct flash_status st;
	struct buf b;
	struct err e;
	int other;

	(void)state;
	install_beside("TS250P001");
	install_beside("TS250P002");
	st = watched();
	other = 1 - st.active_bank;
	flash_path(fx.s, bank, sizeof(bank), "bank%d", other);
	assert_int_equal(fs_remove_tree(bank), 0);
	assert_string_equal(watched().previous_version, "");
	assert_int_equal(mkdir(bank, 0755), 0);
	assert_string_equal(watched().previous_version, "");
	flash_path(fx.s, from, sizeof(from), "bank%d/%s", st.active_bank,
		   FLASH_MANIFEST_JSON);
	flash_path(fx.s, tmp, sizeof(tmp), "bank%d/copy.tmp", other);
	flash_path(fx.s, to, sizeof(to), "bank%d/%s", other,
		   FLASH_MANIFEST_JSON);
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(from, 1 << 20, &b, &e), 0);
	assert_int_equal(fs_atomic_write(tmp, b.data, b.len, 0644, &e), 0);
	buf_free(&b);
	assert_string_equal(watched().previous_version, "");
	assert_int_equal(rename(tmp, to), 0);
	assert_string_equal(watched().previous_version, "TS250P002");
}

/* flash/ moved away and back: the watch is gone with it; the stamps
 * take over and the next install beside still shows. */
static void test_store_moved_falls_back(void **state)
{
	char gone[PATH_MAX + 8];
	struct flash_status st;
	struct err e;

	(void)state;
	install_beside("TS250P001");
	watched();
	snprintf(gone, sizeof(gone), "%s.gone", fx.s->dir);
	assert_int_equal(rename(fx.s->dir, gone), 0);
	assert_true(flash_store_status(fx.s, &st, &e) < 0);
	assert_false(atomic_load(&fx.s->watching));
	assert_int_equal(rename(gone, fx.s->dir), 0);
	assert_string_equal(watched().bundle_version, "TS250P001");
	install_beside("TS250P002");
	assert_string_equal(watched().bundle_version, "TS250P002");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_change_beside_shows_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_only_status_files_read_again, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_bank_made_anew_is_watched, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store_moved_falls_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
