/*
 * test_daemon_upload.c: the controller's own SFTP upload seam
 * (src/daemon/ops_upload.c) behind the SFTP handler: a monitor is refused
 * there too, whatever the target, and no code load begins, so the check
 * holds even where a handler forgets its own; a manage user begins one
 * (force only for flash:force) on the same controller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"

struct fixture {
	char dir[64];
	struct controller c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];
	struct err e;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-upload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/a", f->dir);
	/* Not a simulator: no default users, no password hashing. */
	if (controller_open(&f->c, path, 'A', "127.0.0.2", false, 0,
			    &e) < 0)
		fail_msg("controller_open: %s", e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	controller_close(&f->c);
	assert_int_equal(fs_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

static void assert_idle(struct controller *c)
{
	struct update_status st;

	update_status_get(c->update, &st);
	assert_int_equal(st.state, UPDATE_IDLE);
	assert_false(st.have_last);	/* not even a refused load recorded */
}

static void test_sftp_begin_refuses_a_monitor(void **state)
{
	static const char *targets[] = { FTP_TARGET_FLASH, FTP_TARGET_FORCE };
	struct fixture *f = *state;

	for (size_t i = 0; i < 2; i++) {
		struct err e;
		void *u;

		err_clear(&e);
		u = controller_sftp_ops.upload_begin(&f->c, targets[i], "rall",
						     SHELL_ROLE_MONITOR, &e);
		if (u)
			controller_sftp_ops.upload_abort(u, "test");
		assert_null(u);
		assert_int_equal(e.code, -EPERM);
		assert_string_equal(e.msg, "User rall has the monitor role and "
				    "may not load firmware.");
		assert_idle(&f->c);
	}
}

static void test_sftp_begin_for_a_manager(void **state)
{
	struct fixture *f = *state;
	struct update_status st;
	struct err e;
	void *u;

	err_clear(&e);
	u = controller_sftp_ops.upload_begin(&f->c, FTP_TARGET_FORCE, "mall",
					     SHELL_ROLE_MANAGE, &e);
	if (!u)
		fail_msg("upload_begin: %s", e.msg);
	update_status_get(f->c.update, &st);
	assert_int_equal(st.state, UPDATE_RUNNING);
	assert_string_equal(st.source, "SFTP");
	assert_string_equal(st.user, "mall");
	assert_true(st.force);
	controller_sftp_ops.upload_abort(u, "test over");
	update_status_get(f->c.update, &st);
	assert_int_equal(st.state, UPDATE_IDLE);

	u = controller_sftp_ops.upload_begin(&f->c, FTP_TARGET_FLASH, "mall",
					     SHELL_ROLE_MANAGE, &e);
	if (!u)
		fail_msg("upload_begin: %s", e.msg);
	update_status_get(f->c.update, &st);
	assert_false(st.force);
	controller_sftp_ops.upload_abort(u, "test over");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_sftp_begin_refuses_a_monitor, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sftp_begin_for_a_manager, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
