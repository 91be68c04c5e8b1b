/*
 * test_flash_block.c: the flash store's block backend (blk.c, storage.c)
 * behind the same contract as dir: install, read-back failure, write
 * error, rollback, a torn boot record, and a power cut at every I/O step
 * of an install with no mixed state. Each runs on files standing in for
 * partitions and, as root with loop devices, on loop devices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flash/flash_impl.h"

#define BANK_BYTES	(2 * 1024 * 1024)
#define BOOTREC_BYTES	(64 * 1024)
#define IMAGE_BYTES	200000

static struct {
	bool loop;			/* this group: loop devices */
	char dir[64];
	char key[128];
	char part[3][128];		/* backing files */
	char dev[3][128];		/* what the store is given */
	struct flash_storage st;
	struct bundle_keyring ring;
	struct flash_store *s;
} fx;

static int sh(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	int rc;

	if (!p)
		return -1;
	if (out && (!fgets(out, (int)outlen, p)))
		out[0] = '\0';
	rc = pclose(p);
	if (out)
		out[strcspn(out, "\n")] = '\0';
	return rc;
}

static bool loop_available(void)
{
	/* losetup -f: a free device can be had (not so in some containers) */
	return geteuid() == 0 && access("/dev/loop-control", F_OK) == 0 &&
	       sh("losetup -f >/dev/null 2>&1", NULL, 0) == 0;
}

/* A signed bundle v: mc and sc depend on v, "same" never changes. */
static void make_bundle(const char *v, char *out, size_t outlen)
{
	struct bundle_create_spec spec = {
		.key_path = fx.key, .version = v,
		.build_date = "Tue Dec  1 08:00:00 UTC 2026",
		.models = { "2324sa" }, .nmodels = 1,
	};
	static uint8_t data[IMAGE_BYTES];
	char mc[128], sc[128], same[128];
	struct err e;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (uint8_t)v[strlen(v) - 1]);
	snprintf(mc, sizeof(mc), "%s/mc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(mc, data, 5000, 0755, &e), 0);
	data[0] ^= 0x5a;
	snprintf(sc, sizeof(sc), "%s/sc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(sc, data, sizeof(data), 0644, &e),
			 0);
	memset(data, 0x33, sizeof(data));
	snprintf(same, sizeof(same), "%s/same.bin", fx.dir);
	assert_int_equal(fs_atomic_write(same, data, 70000, 0644, &e), 0);
	spec.components[0] = (struct bundle_create_component){
		"mc", v, mc, BUNDLE_FLAG_EXECUTABLE };
	spec.components[1] = (struct bundle_create_component){ "sc", v, sc,
							       0 };
	spec.components[2] = (struct bundle_create_component){ "same", "K1",
							       same, 0 };
	spec.ncomponents = 3;
	snprintf(out, outlen, "%s/%s.tar", fx.dir, v);
	if (bundle_create(&spec, out, &e) < 0)
		fail_msg("bundle_create: %s", e.msg);
}

/* Installs bundle v: 0 or the flash error, e set. */
static int try_install(const char *v, size_t unit, struct err *e)
{
	struct flash_install_options opt = { .keys = &fx.ring,
					     .model = "2324sa",
					     .write_unit = unit };
	struct flash_install_result res;
	struct flash_install *fi;
	char path[128];
	struct buf b;
	int rc;

	/* Made before any fault is armed, once. */
	snprintf(path, sizeof(path), "%s/%s.tar", fx.dir, v);
	if (access(path, F_OK) < 0)
		make_bundle(v, path, sizeof(path));
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(path, 1 << 20, &b, e), 0);
	fi = flash_install_begin(fx.s, &opt, e);
	if (!fi) {
		buf_free(&b);
		return e->code;
	}
	rc = flash_install_feed(fi, b.data, b.len, e);
	if (rc == 0)
		rc = flash_install_finish(fi, &res, e);
	flash_install_free(fi);
	buf_free(&b);
	return rc;
}

static void install(const char *v)
{
	struct err e;

	if (try_install(v, 0, &e) < 0)
		fail_msg("install %s: %s", v, e.msg);
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
}

static struct flash_status status_of(void)
{
	struct flash_store *s;
	struct flash_status st;
	struct err e;

	/* A fresh open: what the next start reads from the devices. */
	if (flash_store_open(fx.dir, &s, &e) < 0)
		fail_msg("open: %s", e.msg);
	assert_int_equal(flash_store_status(s, &st, &e), 0);
	flash_store_close(s);
	return st;
}

static int setup(void **state)
{
	static const char *const names[3] = { "bank0", "bank1", "bootrec" };
	char kd[96], cmd[256];
	struct err e;

	(void)state;
	bool loop = fx.loop;

	memset(&fx, 0, sizeof(fx));
	fx.loop = loop;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_flash_blk.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(kd, sizeof(kd), "%s/parts", fx.dir);
	assert_int_equal(fs_mkdir_p(kd, 0755, &e), 0);
	for (int i = 0; i < 3; i++) {
		int fd;

		snprintf(fx.part[i], sizeof(fx.part[i]), "%s/parts/%s",
			 fx.dir, names[i]);
		fd = open(fx.part[i], O_RDWR | O_CREAT, 0644);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, i < 2 ? BANK_BYTES
						     : BOOTREC_BYTES), 0);
		close(fd);
		if (fx.loop) {
			snprintf(cmd, sizeof(cmd), "losetup --find --show %s",
				 fx.part[i]);
			assert_int_equal(sh(cmd, fx.dev[i],
					    sizeof(fx.dev[i])), 0);
			assert_int_equal(strncmp(fx.dev[i], "/dev/loop", 9), 0);
		} else {
			/* Relative: under the state dir. */
			snprintf(fx.dev[i], sizeof(fx.dev[i]), "parts/%s",
				 names[i]);
		}
	}
	fx.st = (struct flash_storage){ .set = true,
					.backend = FLASH_BACKEND_BLOCK };
	snprintf(fx.st.bank[0], sizeof(fx.st.bank[0]), "%s", fx.dev[0]);
	snprintf(fx.st.bank[1], sizeof(fx.st.bank[1]), "%s", fx.dev[1]);
	snprintf(fx.st.bootrec, sizeof(fx.st.bootrec), "%s", fx.dev[2]);
	snprintf(kd, sizeof(kd), "%s/keys", fx.dir);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	assert_int_equal(bundle_keyring_add_dir(&fx.ring, kd, &e), 0);
	snprintf(fx.key, sizeof(fx.key), "%s/bundle.key", kd);
	if (flash_store_init_storage(fx.dir, &fx.st, &e) < 0)
		fail_msg("init: %s", e.msg);
	assert_int_equal(flash_store_open(fx.dir, &fx.s, &e), 0);
	assert_int_equal(fx.s->backend, FLASH_BACKEND_BLOCK);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	fault_disarm();
	flash_store_close(fx.s);
	for (int i = 0; fx.loop && i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", fx.dev[i]);
		sh(cmd, NULL, 0);
	}
	fs_remove_tree(fx.dir);
	return 0;
}

static int setup_files(void **state)
{
	fx.loop = false;
	return setup(state);
}

static int setup_loop(void **state)
{
	if (!loop_available()) {
		fx.loop = false;
		return -1;
	}
	fx.loop = true;
	return setup(state);
}

/* The device of bank b (or 2: the boot records), opened read-write. */
static int dev_open(int which)
{
	char path[PATH_MAX];
	int fd;

	if (fx.loop)
		snprintf(path, sizeof(path), "%s", fx.dev[which]);
	else
		snprintf(path, sizeof(path), "%s", fx.part[which]);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* One byte of a bank's image, flipped on the device. */
static void damage(int bank, const char *name)
{
	struct flash_extent x;
	struct err e;
	uint8_t byte;
	int fd;

	assert_int_equal(flash_image_locate(fx.s, bank, name, &x, &e), 1);
	fd = dev_open(bank);
	assert_int_equal(pread(fd, &byte, 1, (off_t)(x.base + 10)), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)(x.base + 10)), 1);
	fsync(fd);
	close(fd);
}

static void test_install_check_export(void **state)
{
	struct flash_status st;
	struct flash_extent x;
	struct buf report;
	struct err e;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	st = status_of();
	assert_string_equal(st.bundle_version, "TS250P002");
	assert_string_equal(st.previous_version, "TS250P001");
	assert_int_equal(st.ncomponents, 4);	/* and bundle.xml */
	/* The layout: the first entry at 0, its data after one header. */
	assert_int_equal(flash_image_locate(fx.s, st.active_bank,
					    st.components[0].name, &x, &e), 1);
	assert_true(x.base == FLASH_BLK_HEADER);
	assert_true(x.len == st.components[0].size);
	assert_int_equal(flash_image_locate(fx.s, st.active_bank, "mc", &x,
					    &e), 1);
	assert_true(x.len == 5000 && x.base % FLASH_IO_ALIGN == 0);
	assert_int_equal(flash_image_locate(fx.s, st.active_bank, "nope", &x,
					    &e), 0);
	buf_init(&report, 1 << 16);
	assert_int_equal(flash_store_check(fx.s, &report, &e), 0);
	assert_null(strstr(report.data, "FAILED"));
	buf_free(&report);
}

static void test_readback_failure_keeps_active(void **state)
{
	struct flash_status before;
	struct err e;

	(void)state;
	install("TS250P001");
	before = status_of();
	assert_int_equal(fault_arm("corrupt=sc", &e), 0);
	assert_int_equal(try_install("TS250P002", 0, &e), FLASH_ERR_READBACK);
	fault_disarm();
	assert_non_null(strstr(e.msg, "read-back of sc failed"));
	assert_string_equal(status_of().bundle_version, "TS250P001");
	assert_true(status_of().sequence == before.sequence);
	assert_int_equal(fault_arm("write-error=sc", &e), 0);
	assert_int_equal(try_install("TS250P002", 0, &e), FLASH_ERR_IO);
	fault_disarm();
	assert_string_equal(status_of().bundle_version, "TS250P001");
	assert_int_equal(fault_arm("write-error=bootrec", &e), 0);
	assert_int_equal(try_install("TS250P002", 0, &e), FLASH_ERR_IO);
	fault_disarm();
	assert_string_equal(status_of().bundle_version, "TS250P001");
	install("TS250P002");
	assert_string_equal(status_of().bundle_version, "TS250P002");
}

static void test_rollback(void **state)
{
	struct flash_status before;
	char version[BUNDLE_VERSION_MAX];
	struct err e;

	(void)state;
	install("TS250P001");
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_NO_PREVIOUS);
	install("TS250P002");
	before = status_of();
	assert_int_equal(flash_store_rollback(fx.s, version, sizeof(version),
					      &e), 0);
	assert_string_equal(version, "TS250P001");
	assert_string_equal(status_of().bundle_version, "TS250P001");
	assert_int_equal(status_of().active_bank, 1 - before.active_bank);
	/* Forward again, then the bank to return to is damaged. */
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e), 0);
	damage(1 - before.active_bank, "sc");
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "cannot roll back to bank"));
	assert_string_equal(status_of().bundle_version, "TS250P002");
}

/* A torn write of the newest record: the other copy is used. */
static void test_torn_boot_record(void **state)
{
	struct flash_status before, after;
	struct flash_boot_choice boot;
	uint8_t junk[24];
	struct err e;
	int fd;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	before = status_of();
	memset(junk, 0xa5, sizeof(junk));
	fd = dev_open(2);
	assert_int_equal(pwrite(fd, junk, sizeof(junk),
				(off_t)fx.s->rec_slot * FLASH_BLK_SLOT + 20),
			 (ssize_t)sizeof(junk));
	fsync(fd);
	close(fd);
	after = status_of();
	assert_true(after.sequence == before.sequence - 1);
	/* The loader still boots, and writes over the torn copy. */
	assert_int_equal(flash_store_boot(fx.s, &boot, &e), 0);
	assert_non_null(strstr(boot.mc_image, "mc.bank"));
	assert_int_equal(access(boot.mc_image, X_OK), 0);
	assert_true(status_of().sequence == before.sequence);
	/* Both torn: no valid record, refused, not replaced. */
	fd = dev_open(2);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 20),
			 (ssize_t)sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), FLASH_BLK_SLOT + 20),
			 (ssize_t)sizeof(junk));
	fsync(fd);
	close(fd);
	assert_int_equal(flash_store_init(fx.dir, &e), FLASH_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "none is valid"));
}

/* A damaged MC image on a trial bank is never started: each start counts,
 * and the fourth rolls back to the confirmed bank. */
static void test_damaged_mc_image_not_started(void **state)
{
	struct flash_boot_choice boot;
	struct flash_status st;
	struct err e;

	(void)state;
	install("TS250P001");
	assert_int_equal(try_install("TS250P002", 0, &e), 0);
	st = status_of();
	assert_true(st.trial);
	damage(st.active_bank, "mc");
	for (unsigned n = 1; n <= FLASH_BOOT_TRIES; n++) {
		assert_int_equal(flash_store_boot(fx.s, &boot, &e),
				 FLASH_ERR_CORRUPT);
		assert_non_null(strstr(e.msg, "differs from the signed"));
		assert_int_equal(status_of().boot_count, n);
	}
	assert_int_equal(flash_store_boot(fx.s, &boot, &e), 0);
	assert_true(boot.rolled_back);
	assert_int_equal(access(boot.mc_image, X_OK), 0);
	st = status_of();
	assert_string_equal(st.bundle_version, "TS250P001");
	assert_false(st.trial);
}

struct image {
	uint8_t *data[3];
	size_t len[3];
};

static void devices_save(struct image *img)
{
	for (int i = 0; i < 3; i++) {
		int fd = dev_open(i);

		img->len[i] = i < 2 ? BANK_BYTES : BOOTREC_BYTES;
		img->data[i] = malloc(img->len[i]);
		assert_non_null(img->data[i]);
		assert_true(pread(fd, img->data[i], img->len[i], 0) ==
			    (ssize_t)img->len[i]);
		close(fd);
	}
}

static void devices_restore(const struct image *img)
{
	for (int i = 0; i < 3; i++) {
		int fd = dev_open(i);

		assert_true(pwrite(fd, img->data[i], img->len[i], 0) ==
			    (ssize_t)img->len[i]);
		fsync(fd);
		close(fd);
	}
}

/*
 * A cut at every I/O step of an install (1 KiB writes, so inside every
 * image): after each, the store opens, the active bundle is entirely the
 * old or the new one, both banks check whole or empty, and an install
 * then succeeds. No mixed state.
 */
static void test_powercut_every_step(void **state)
{
	int cuts = 0, mixed = 0, newer = 0, done = 0;
	struct image pristine;

	(void)state;
	install("TS250P001");
	install("TS250P002");
	devices_save(&pristine);
	make_bundle("TS250P003", (char[128]){ 0 }, 128);
	for (unsigned long cut = 1; cut < 5000 && !done; cut++) {
		struct flash_status st;
		struct buf report;
		char spec[48];
		struct err e;
		pid_t pid;
		int status, rc;

		devices_restore(&pristine);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "powercut=%lu", cut);
			if (fault_arm(spec, &e) < 0)
				_exit(3);
			_exit(try_install("TS250P003", 1024, &e) == 0 ? 0 : 4);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0) {
			assert_string_equal(status_of().bundle_version,
					    "TS250P003");
			done = 1;
			break;
		}
		assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		cuts++;
		st = status_of();
		if (!strcmp(st.bundle_version, "TS250P003"))
			newer++;
		else if (strcmp(st.bundle_version, "TS250P002"))
			mixed++;
		buf_init(&report, 1 << 16);
		flash_store_close(fx.s);
		assert_int_equal(flash_store_open(fx.dir, &fx.s, &e), 0);
		rc = flash_store_check(fx.s, &report, &e);
		if (rc < 0 || strstr(report.data, "FAILED") ||
		    strstr(report.data, "missing"))
			mixed++;
		buf_free(&report);
		/* The next install runs through. */
		if (st.trial)
			assert_int_equal(flash_store_confirm(fx.s, &e), 0);
		rc = try_install("TS250P004", 0, &e);
		if (rc < 0)
			fail_msg("cut %lu: install after: %s", cut, e.msg);
	}
	for (int i = 0; i < 3; i++)
		free(pristine.data[i]);
	print_message("power cut at each of %d I/O steps (%s): %d mixed, "
		      "%d left the new bundle\n", cuts,
		      fx.loop ? "loop devices" : "files", mixed, newer);
	assert_true(done);
	assert_int_equal(mixed, 0);
	assert_true(cuts >= 200);
	assert_true(newer >= 1);	/* the cuts after the flip */
}

/* Bad storage choices: a clear error, nothing made or changed. */
static void test_storage_refusals(void **state)
{
	struct flash_storage st = fx.st;
	char other[128];
	struct err e;
	int fd;

	(void)state;
	st.bank[1][0] = '\0';
	assert_int_equal(flash_store_init_storage(fx.dir, &st, &e),
			 FLASH_ERR_USAGE);
	assert_non_null(strstr(e.msg, "--storage-bank1"));
	st = fx.st;
	snprintf(st.bank[1], sizeof(st.bank[1]), "%s", fx.st.bank[0]);
	assert_int_equal(flash_storage_ensure(fx.dir, &st, &e),
			 FLASH_ERR_USAGE);
	assert_non_null(strstr(e.msg, "was made with --storage block"));
	st = (struct flash_storage){ .set = true };
	assert_int_equal(flash_storage_ensure(fx.dir, &st, &e),
			 FLASH_ERR_USAGE);
	assert_int_equal(flash_storage_ensure(fx.dir, &fx.st, &e), 0);
	assert_int_equal(flash_storage_option(&st, FLASH_STORAGE_OPT, "nand",
					      &e), FLASH_ERR_USAGE);
	/* A new store: too small a bank, or one partition twice. */
	st = fx.st;
	snprintf(other, sizeof(other), "%s/parts/small", fx.dir);
	fd = open(other, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	snprintf(other, sizeof(other), "%s/new", fx.dir);
	assert_int_equal(mkdir(other, 0755), 0);
	snprintf(st.bank[0], sizeof(st.bank[0]), "%s", fx.part[0]);
	snprintf(st.bank[1], sizeof(st.bank[1]), "%s/parts/small", fx.dir);
	snprintf(st.bootrec, sizeof(st.bootrec), "%s", fx.part[2]);
	assert_int_equal(flash_store_init_storage(other, &st, &e),
			 FLASH_ERR_USAGE);
	assert_non_null(strstr(e.msg, "too small"));
	snprintf(st.bank[1], sizeof(st.bank[1]), "%s", fx.part[0]);
	assert_int_equal(flash_store_init_storage(other, &st, &e),
			 FLASH_ERR_USAGE);
	assert_non_null(strstr(e.msg, "same device"));
	snprintf(other, sizeof(other), "%s/new/flash/storage.json", fx.dir);
	assert_int_equal(access(other, F_OK), -1);
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, setup_files, teardown)
#define LOOP(t) \
	cmocka_unit_test_setup_teardown(t, setup_loop, teardown)

int main(void)
{
	const struct CMUnitTest files[] = {
		BOTH(test_install_check_export),
		BOTH(test_readback_failure_keeps_active),
		BOTH(test_rollback),
		BOTH(test_torn_boot_record),
		BOTH(test_damaged_mc_image_not_started),
		BOTH(test_powercut_every_step),
		BOTH(test_storage_refusals),
	};
	const struct CMUnitTest loops[] = {
		LOOP(test_install_check_export),
		LOOP(test_readback_failure_keeps_active),
		LOOP(test_rollback),
		LOOP(test_torn_boot_record),
		LOOP(test_damaged_mc_image_not_started),
		LOOP(test_powercut_every_step),
	};
	int rc = cmocka_run_group_tests_name("block backend on files", files,
					     NULL, NULL);

	if (!loop_available()) {
		print_message("block backend on loop devices: not run (needs "
			      "root, /dev/loop-control, losetup and a free "
			      "loop device)\n");
		return rc;
	}
	return rc + cmocka_run_group_tests_name("block backend on loop "
						"devices", loops, NULL, NULL);
}
