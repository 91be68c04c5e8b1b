/*
 * test_flash_floor.c: the security floor (src/flash/floor.c): a bundle
 * below it is refused with and without force and nothing changes; it
 * rises only when a bank is confirmed (F1), never goes down (F2), and a
 * cut between the confirming record and the floor's file loses nothing
 * (F3); a rollback below it is refused, the rollback of an unconfirmed
 * trial is not; the file's format is strict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flash/flash_impl.h"

static struct {
	char dir[64];
	char key[128];
	struct bundle_keyring ring;
	struct flash_store *s;
} fx;

/* A signed bundle of version v with security version sv. */
static void make_bundle(const char *v, uint32_t sv, char *out, size_t outlen)
{
	struct bundle_create_spec spec = {
		.key_path = fx.key, .version = v,
		.build_date = "Tue Dec  1 08:00:00 UTC 2026",
		.models = { "2324sa" }, .nmodels = 1,
		.security_version = sv,
	};
	char mc[128];
	uint8_t data[3000];
	struct err e;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (uint8_t)v[strlen(v) - 1] + sv);
	snprintf(mc, sizeof(mc), "%s/mc.bin", fx.dir);
	assert_int_equal(fs_atomic_write(mc, data, sizeof(data), 0644, &e), 0);
	spec.components[0] = (struct bundle_create_component){ "mc", v, mc,
							       0 };
	spec.ncomponents = 1;
	snprintf(out, outlen, "%s/%s-%u.tar", fx.dir, v, sv);
	if (bundle_create(&spec, out, &e) < 0)
		fail_msg("bundle_create: %s", e.msg);
}

/* Installs bundle v (security version sv); 0 or the flash error. */
static int install(const char *v, uint32_t sv, bool force, struct err *e)
{
	struct flash_install_options opt = { .keys = &fx.ring,
					     .model = "2324sa",
					     .force = force };
	struct flash_install_result res;
	struct flash_install *fi;
	char path[128];
	struct buf b;
	int rc;

	make_bundle(v, sv, path, sizeof(path));
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

static void install_confirmed(const char *v, uint32_t sv)
{
	struct err e;

	if (install(v, sv, false, &e) < 0)
		fail_msg("install %s: %s", v, e.msg);
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
}

static int setup(void **state)
{
	char kd[96];
	struct err e;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_flash_floor.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(kd, sizeof(kd), "%s/keys", fx.dir);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	assert_int_equal(bundle_keyring_add_dir(&fx.ring, kd, &e), 0);
	snprintf(fx.key, sizeof(fx.key), "%s/bundle.key", kd);
	assert_int_equal(flash_store_init(fx.dir, &e), 0);
	assert_int_equal(flash_store_open(fx.dir, &fx.s, &e), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	flash_store_close(fx.s);
	fs_remove_tree(fx.dir);
	return 0;
}

/* What the next start reads from disk. */
static struct flash_status status_of(void)
{
	struct flash_store *s;
	struct flash_status st;
	struct err e;

	assert_int_equal(flash_store_open(fx.dir, &s, &e), 0);
	assert_int_equal(flash_store_status(s, &st, &e), 0);
	flash_store_close(s);
	return st;
}

static struct flash_security security_of(void)
{
	struct flash_security sec;
	struct flash_store *s;
	struct err e;

	assert_int_equal(flash_store_open(fx.dir, &s, &e), 0);
	if (flash_store_security(s, &sec, &e) < 0)
		fail_msg("flash_store_security: %s", e.msg);
	flash_store_close(s);
	return sec;
}

static void write_floor_file(const char *text)
{
	char path[PATH_MAX];
	struct err e;

	flash_path(fx.s, path, sizeof(path), "%s", FLASH_FLOOR_FILE);
	assert_int_equal(fs_atomic_write(path, text, strlen(text), 0644, &e),
			 0);
}

static void test_floor_file_format(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint32_t value;
	} cases[] = {
		{ "0\n", 0, 0 },
		{ "7\n", 0, 7 },
		{ "4294967295\n", 0, UINT32_MAX },	/* at the limit */
		{ "4294967296\n", -1, 0 },		/* just over */
		{ "99999999999\n", -1, 0 },
		{ "07\n", -1, 0 },
		{ "7", -1, 0 },
		{ "7\n\n", -1, 0 },
		{ " 7\n", -1, 0 },
		{ "-1\n", -1, 0 },
		{ "+7\n", -1, 0 },
		{ "\n", -1, 0 },
		{ "", -1, 0 },
		{ "0x7\n", -1, 0 },
	};
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 12345;
		assert_int_equal(flash_floor_parse(cases[i].text,
						   strlen(cases[i].text), &v),
				 cases[i].rc);
		if (cases[i].rc == 0)
			assert_true(v == cases[i].value);
	}
}

/* F1: an install alone raises nothing; its confirmation does. */
static void test_floor_rises_only_when_confirmed(void **state)
{
	struct flash_security sec;
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 1);
	assert_int_equal(install("TS250P002", 4, false, &e), 0);
	sec = security_of();
	assert_true(status_of().trial);
	assert_int_equal(sec.floor, 1);
	assert_int_equal(sec.floor_file, 1);
	assert_int_equal(sec.active, 4);
	assert_int_equal(sec.previous, 1);
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
	sec = security_of();
	assert_int_equal(sec.floor, 4);
	assert_int_equal(sec.floor_file, 4);
}

/* Below the floor: refused with and without force; nothing changes. */
static void test_below_floor_refused_even_forced(void **state)
{
	struct flash_status before;
	struct err e;

	(void)state;
	install_confirmed("TS250P005", 3);
	before = status_of();
	for (int force = 0; force < 2; force++) {
		assert_int_equal(install("TS250P006", 2, force, &e),
				 FLASH_ERR_SECURITY);
		assert_non_null(strstr(e.msg, "security version 2"));
		assert_non_null(strstr(e.msg, "security floor 3"));
		assert_non_null(strstr(e.msg, "even with force"));
		assert_non_null(strstr(e.msg, "is unchanged"));
		assert_true(status_of().sequence == before.sequence);
		assert_string_equal(status_of().bundle_version, "TS250P005");
		assert_string_equal(status_of().previous_version,
				    before.previous_version);
	}
	/* At the floor and above: accepted. */
	assert_int_equal(install("TS250P006", 3, false, &e), 0);
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
	assert_int_equal(install("TS250P007", 9, false, &e), 0);
	assert_string_equal(status_of().bundle_version, "TS250P007");
}

/* A rollback to a bank below the floor is refused; to one at it, not. */
static void test_rollback_below_floor_refused(void **state)
{
	struct flash_status before;
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 1);
	install_confirmed("TS250P002", 2);
	before = status_of();
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_SECURITY);
	assert_non_null(strstr(e.msg, "security version 1"));
	assert_non_null(strstr(e.msg, "security floor 2"));
	assert_non_null(strstr(e.msg, "TS250P001"));
	assert_true(status_of().sequence == before.sequence);
	assert_string_equal(status_of().bundle_version, "TS250P002");
	/* Same security version: the way back stays open. */
	install_confirmed("TS250P003", 2);
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e), 0);
	assert_string_equal(status_of().bundle_version, "TS250P002");
}

/* An unconfirmed trial raised nothing: rollback and the loader's fallback
 * both return to the last confirmed bank, and the floor stays. */
static void test_trial_rollback_and_fallback_allowed(void **state)
{
	struct flash_boot_choice choice;
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 1);
	assert_int_equal(install("TS250P002", 5, false, &e), 0);
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e), 0);
	assert_string_equal(status_of().bundle_version, "TS250P001");
	assert_int_equal(security_of().floor, 1);

	assert_int_equal(install("TS250P002", 5, false, &e), 0);
	for (int boot = 0; boot <= FLASH_BOOT_TRIES; boot++)
		assert_int_equal(flash_store_boot(fx.s, &choice, &e), 0);
	assert_true(choice.rolled_back);
	assert_string_equal(status_of().bundle_version, "TS250P001");
	assert_false(status_of().trial);
	assert_int_equal(security_of().floor, 1);
	assert_int_equal(security_of().floor_file, 1);
}

/* F2: a floor file above every bank stays; confirm never lowers it. */
static void test_floor_never_goes_down(void **state)
{
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 3);
	write_floor_file("9\n");
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
	assert_int_equal(security_of().floor_file, 9);
	assert_int_equal(security_of().floor, 9);
	assert_int_equal(install("TS250P002", 5, true, &e),
			 FLASH_ERR_SECURITY);
	assert_non_null(strstr(e.msg, "security floor 9"));
}

/* F3: the record confirmed but the floor's file not yet written (a cut
 * between them): the checks still use the confirmed bank's version, and
 * the next confirm writes the file. */
static void test_cut_before_floor_write_loses_nothing(void **state)
{
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 1);
	assert_int_equal(install("TS250P002", 6, false, &e), 0);
	pthread_mutex_lock(&fx.s->rec_mu);
	assert_int_equal(flash_bootrec_load(fx.s, &e), 0);
	assert_int_equal(flash_bootrec_commit(fx.s, fx.s->rec.bank, false, 0,
					      &e), 0);
	pthread_mutex_unlock(&fx.s->rec_mu);
	assert_int_equal(security_of().floor_file, 1);
	assert_int_equal(security_of().floor, 6);
	assert_int_equal(install("TS250P003", 5, true, &e),
			 FLASH_ERR_SECURITY);
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_SECURITY);
	assert_int_equal(flash_store_confirm(fx.s, &e), 0);
	assert_int_equal(security_of().floor_file, 6);
}

/* A power cut at every I/O step of a confirm that raises the floor: the
 * record is the old (trial, floor as before) or the new (confirmed, floor
 * raised as far as the checks go), never a raised floor on a trial. */
static void test_confirm_powercut_every_step(void **state)
{
	struct flash_security sec;
	struct flash_status st;
	int cuts = 0, done = 0;
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 1);
	for (unsigned long cut = 1; cut < 50 && !done; cut++) {
		char spec[32];
		pid_t pid;
		int status;

		assert_int_equal(install("TS250P002", 7, true, &e), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "powercut=%lu", cut);
			if (fault_arm(spec, &e) < 0)
				_exit(3);
			_exit(flash_store_confirm(fx.s, &e) == 0 ? 0 : 4);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		st = status_of();
		sec = security_of();
		if (WEXITSTATUS(status) == 0) {
			assert_false(st.trial);
			assert_int_equal(sec.floor_file, 7);
			done = 1;
			break;
		}
		assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
		cuts++;
		if (st.trial) {			/* F1 */
			assert_int_equal(sec.floor_file, 1);
			assert_int_equal(sec.floor, 1);
		} else {			/* F3 */
			assert_int_equal(sec.floor, 7);
		}
		/* Back to bank TS250P001 confirmed, for the next cut. */
		if (!st.trial) {
			write_floor_file("1\n");
			pthread_mutex_lock(&fx.s->rec_mu);
			assert_int_equal(flash_bootrec_load(fx.s, &e), 0);
			assert_int_equal(flash_bootrec_commit(fx.s,
				1 - fx.s->rec.bank, false, 0, &e), 0);
			pthread_mutex_unlock(&fx.s->rec_mu);
		} else {
			assert_int_equal(flash_store_rollback(fx.s, NULL, 0,
							      &e), 0);
		}
		assert_string_equal(status_of().bundle_version, "TS250P001");
	}
	assert_true(done);
	/* Two atomic writes (record, floor): write, fsync, rename, fsync of
	 * flash/ each. */
	assert_int_equal(cuts, 8);
}

/* A damaged floor file is refused loudly, never read as 0. */
static void test_corrupt_floor_refuses(void **state)
{
	struct flash_security sec;
	struct err e;

	(void)state;
	install_confirmed("TS250P001", 2);
	write_floor_file("two\n");
	assert_int_equal(install("TS250P002", 3, false, &e),
			 FLASH_ERR_CORRUPT);
	assert_non_null(strstr(e.msg, "security floor"));
	assert_int_equal(flash_store_rollback(fx.s, NULL, 0, &e),
			 FLASH_ERR_CORRUPT);
	assert_int_equal(flash_store_security(fx.s, &sec, &e),
			 FLASH_ERR_CORRUPT);
	assert_string_equal(status_of().bundle_version, "TS250P001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_floor_file_format),
		cmocka_unit_test_setup_teardown(
			test_floor_rises_only_when_confirmed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_below_floor_refused_even_forced, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rollback_below_floor_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_trial_rollback_and_fallback_allowed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_floor_never_goes_down, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cut_before_floor_write_loses_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_confirm_powercut_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_corrupt_floor_refuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
