/* test_common.c: buf caps, checked sizes, hex, CRC32C, atomic write, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

static void test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "1234567"), 0);
	assert_int_equal(buf_append_str(&b, "8"), 0);	/* at the cap */
	assert_int_equal(buf_append_str(&b, "9"), -ENOSPC); /* just over */
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_appendf(&b, "%d", 1), -ENOSPC);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void test_size_checks(void **state)
{
	size_t s;
	uint64_t v;

	(void)state;
	assert_true(size_add(1, 2, &s) && s == 3);
	assert_false(size_add(SIZE_MAX, 1, &s));
	assert_false(size_mul(SIZE_MAX / 2 + 1, 2, &s));
	assert_true(u64_parse("18446744073709551615", UINT64_MAX, &v));
	assert_false(u64_parse("18446744073709551616", UINT64_MAX, &v));
	assert_false(u64_parse("-1", UINT64_MAX, &v));
	assert_false(u64_parse("1x", UINT64_MAX, &v));
	assert_false(u64_parse("", UINT64_MAX, &v));
	assert_true(u64_parse("10", 10, &v) && v == 10);
	assert_false(u64_parse("11", 10, &v));
}

static void test_hex(void **state)
{
	uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
	char text[7];

	(void)state;
	hex_encode(in, 3, text);
	assert_string_equal(text, "00abff");
	assert_int_equal(hex_decode("00ABff", out, 3), 0);
	assert_memory_equal(in, out, 3);
	assert_int_equal(hex_decode("00abf", out, 3), -1);
	assert_int_equal(hex_decode("00abffe", out, 3), -1);
	assert_int_equal(hex_decode("00abfg", out, 3), -1);
}

static void test_crc32c_known_value(void **state)
{
	(void)state;
	/* The standard check value of CRC-32C. */
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	/* Incremental equals one-shot. */
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5),
			 0xE3069283u);
}

static void test_atomic_write_replaces(void **state)
{
	char dir[] = "/tmp/tandem-test-XXXXXX", path[256], tmp[300];
	struct buf b;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(fs_atomic_write(path, "old", 3, 0600, &e), 0);
	assert_int_equal(fs_atomic_write(path, "newer", 5, 0600, &e), 0);
	buf_init(&b, 64);
	assert_int_equal(fs_read_file(path, 64, &b, &e), 0);
	assert_string_equal(b.data, "newer");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	/* Too large for the reader's limit: a clear error, not a partial read. */
	assert_int_equal(fs_read_file(path, 4, &b, &e), -EFBIG);
	assert_non_null(strstr(e.msg, "larger than 4 bytes"));
	buf_free(&b);
	assert_int_equal(fs_remove_tree(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

/* A power cut at every step of an atomic write leaves old or new, whole. */
static void test_atomic_write_powercut(void **state)
{
	char dir[] = "/tmp/tandem-test-XXXXXX", path[256], spec[32];
	unsigned long cut;
	int cuts = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	for (cut = 1; cut < 10; cut++) {
		struct buf b;
		struct err e;
		pid_t pid;
		int status;

		assert_int_equal(fs_atomic_write(path, "old", 3, 0600, &e), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "powercut=%lu", cut);
			if (fault_arm(spec, &e) < 0)
				_exit(3);
			fs_atomic_write(path, "new!", 4, 0600, &e);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		buf_init(&b, 64);
		assert_int_equal(fs_read_file(path, 64, &b, &e), 0);
		assert_true(!strcmp(b.data, "old") || !strcmp(b.data, "new!"));
		/* Cut after the last step, the write it was about to report
		 * done: the new content is durable. */
		if (cut == 4)
			assert_string_equal(b.data, "new!");
		buf_free(&b);
		if (WEXITSTATUS(status) == 0)
			break;
		assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		cuts++;
	}
	/* write, fsync, rename, fsync-dir: four steps can be cut. */
	assert_int_equal(cuts, 4);
	assert_int_equal(fs_remove_tree(dir), 0);
}

/*
 * A write that fails, at its data (the file size limit) or at its rename
 * (a directory in the way), keeps the old file and leaves no temporary
 * file behind.
 */
static void test_atomic_write_failure_leaves_no_temp(void **state)
{
	char dir[] = "/tmp/tandem-test-XXXXXX", path[256], tmp[300];
	struct rlimit old, small;
	struct buf b;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(fs_atomic_write(path, "old", 3, 0600, &e), 0);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 2;
	assert_ptr_not_equal(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	err_clear(&e);
	assert_int_equal(fs_atomic_write(path, "longer", 6, 0600, &e), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_non_null(strstr(e.msg, "write failed"));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	buf_init(&b, 64);
	assert_int_equal(fs_read_file(path, 64, &b, &e), 0);
	assert_string_equal(b.data, "old");
	buf_free(&b);

	snprintf(path, sizeof(path), "%s/d", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(tmp, sizeof(tmp), "%s/d/x", dir);
	assert_int_equal(fs_atomic_write(tmp, "x", 1, 0600, &e), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	err_clear(&e);
	assert_true(fs_atomic_write(path, "new", 3, 0600, &e) < 0);
	assert_non_null(strstr(e.msg, "rename failed"));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fs_remove_tree(dir), 0);
}

static void test_fault_spec_errors(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(fault_arm("powercut=0", &e), -EINVAL);
	assert_int_equal(fault_arm("powercut", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "lacks '='"));
	assert_int_equal(fault_arm("meteor=1", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown fault 'meteor'"));
	assert_int_equal(fault_arm("write-error=mc,corrupt=sc", &e), 0);
	assert_int_equal(fault_write_errno("mc"), EIO);
	assert_int_equal(fault_write_errno("sc"), 0);
	assert_true(fault_corrupt("sc"));
	assert_false(fault_corrupt("sc"));	/* once */
	assert_int_equal(fault_arm("enospc=mc", &e), 0);
	assert_int_equal(fault_write_errno("mc"), ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_size_checks),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_crc32c_known_value),
		cmocka_unit_test(test_atomic_write_replaces),
		cmocka_unit_test(test_atomic_write_powercut),
		cmocka_unit_test(test_atomic_write_failure_leaves_no_temp),
		cmocka_unit_test(test_fault_spec_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
