/*
 * test_handlers.c: the handler contract (src/handlers/, docs/handlers.md)
 * with real executables: arguments and environment, the version line at
 * and past its limit, a failure's message and status, a signal, the time
 * limit, output past its cap, a background child holding the output
 * open, and --handler specs.
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
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/handlers.h"

static char dir[] = "/tmp/tandem-handlers-XXXXXX";

static struct handler script(const char *name, const char *body)
{
	struct handler h = { 0 };
	FILE *f;

	snprintf(h.type, sizeof(h.type), "sc");
	snprintf(h.path, sizeof(h.path), "%s/%s", dir, name);
	f = fopen(h.path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(h.path, 0755), 0);
	return h;
}

static const struct handler_call version_call = {
	.component = "sc", .bank = -1, .controller = 'A',
	.state_dir = "/var/lib/tandem",
};

static int version(const char *body, char *out, size_t len, struct err *e)
{
	struct handler h = script("v", body);

	err_clear(e);
	out[0] = '\0';
	return handler_run(&h, HANDLER_VERSION, &version_call, 10, out, len,
			   e);
}

static void test_arguments_and_environment(void **state)
{
	static const uint8_t sha[32] = { 0xab, 0x01 };
	struct handler h = script("env",
		"[ \"$1 $2 $3\" = \"install sc /b/sc\" ] || exit 9\n"
		"[ -z \"${TANDEM_FAULTS:-}\" ] || exit 8\n"
		"read line && exit 7\n"
		"echo \"$TANDEM_ACTION $TANDEM_COMPONENT $TANDEM_CONTROLLER "
		"$TANDEM_STATE $TANDEM_IMAGE $TANDEM_BANK $TANDEM_VERSION "
		"$TANDEM_BUNDLE_VERSION $TANDEM_IMAGE_SIZE "
		"$TANDEM_IMAGE_SHA256\" > \"$0.out\"");
	struct handler_call call = {
		.component = "sc", .image = "/b/sc", .bank = 1,
		.version = "S010", .bundle_version = "TS250P010", .size = 42,
		.sha256 = sha, .controller = 'B', .state_dir = "/st",
	};
	char path[PATH_MAX + 8], got[512] = "";
	struct err e = { 0 };
	FILE *f;

	(void)state;
	setenv("TANDEM_FAULTS", "the daemon's own", 1);
	assert_int_equal(handler_run(&h, HANDLER_INSTALL, &call, 10, NULL, 0,
				     &e), 0);
	unsetenv("TANDEM_FAULTS");
	snprintf(path, sizeof(path), "%s.out", h.path);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	assert_string_equal(got, "install sc B /st /b/sc 1 S010 TS250P010 42 "
			    "ab01000000000000000000000000000000000000000000000"
			    "000000000000000\n");
}

static void test_version_line(void **state)
{
	char out[BUNDLE_VERSION_MAX], v31[64], body[128];
	struct err e;

	(void)state;
	assert_int_equal(version("echo S010; echo more", out, sizeof(out),
				 &e), 0);
	assert_string_equal(out, "S010");
	/* At the limit (31 characters), then one over it. */
	memset(v31, 'v', 31);
	v31[31] = '\0';
	snprintf(body, sizeof(body), "echo %s", v31);
	assert_int_equal(version(body, out, sizeof(out), &e), 0);
	assert_string_equal(out, v31);
	snprintf(body, sizeof(body), "echo %sv", v31);
	assert_true(version(body, out, sizeof(out), &e) < 0);
	assert_non_null(strstr(e.msg, "printed no version"));
	assert_true(version("echo", out, sizeof(out), &e) < 0);
	assert_true(version("printf 'a\\001b\\n'", out, sizeof(out), &e) < 0);
}

static void test_failure_message(void **state)
{
	char out[BUNDLE_VERSION_MAX];
	struct err e;

	(void)state;
	assert_true(version("echo first >&2; echo 'the device said no' >&2;"
			    " echo >&2; exit 3", out, sizeof(out), &e) < 0);
	assert_non_null(strstr(e.msg, "failed (exit status 3): the device "
			       "said no"));
	assert_non_null(strstr(e.msg, "version sc"));
	/* No stderr: stdout's last line. */
	assert_true(version("echo only here; exit 1", out, sizeof(out),
			    &e) < 0);
	assert_non_null(strstr(e.msg, ": only here"));
	assert_true(version("kill -TERM $$", out, sizeof(out), &e) < 0);
	assert_non_null(strstr(e.msg, "killed by signal 15"));
}

static void test_output_cap_and_background(void **state)
{
	char out[BUNDLE_VERSION_MAX];
	struct err e;

	(void)state;
	/* 64 KiB and more on stdout: read and dropped past the cap, the
	 * version still its first line. */
	assert_int_equal(version("echo S1; i=0; while [ $i -lt 2000 ]; do "
				 "echo 0123456789012345678901234567890123"
				 "456789; i=$((i+1)); done", out,
				 sizeof(out), &e), 0);
	assert_string_equal(out, "S1");
	/* A child it leaves running with the output open does not hold the
	 * call (it would until the time limit). */
	assert_int_equal(version("sleep 30 & echo S2", out, sizeof(out), &e),
			 0);
	assert_string_equal(out, "S2");
}

static void test_time_limit(void **state)
{
	struct handler h = script("slow", "sleep 30");
	struct handler_call call = version_call;
	char out[BUNDLE_VERSION_MAX];
	struct err e = { 0 };

	(void)state;
	assert_int_equal(handler_run(&h, HANDLER_VERSION, &call, 1, out,
				     sizeof(out), &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "did not finish within 1 s"));
}

static void test_specs(void **state)
{
	struct handler_set s;
	struct handler ok = script("ok", "exit 0");
	char spec[PATH_MAX + 64];
	struct err e;

	(void)state;
	handler_set_init(&s);
	snprintf(spec, sizeof(spec), "sc:%s", ok.path);
	assert_int_equal(handler_set_add(&s, spec, &e), 0);
	assert_non_null(handler_set_find(&s, "sc"));
	assert_null(handler_set_find(&s, "ec"));
	assert_true(handler_set_add(&s, spec, &e) < 0);
	assert_non_null(strstr(e.msg, "has a handler already"));
	assert_true(handler_set_add(&s, "ec", &e) < 0);
	assert_true(handler_set_add(&s, "ec:bin/x", &e) < 0);
	assert_true(handler_set_add(&s, ":/bin/true", &e) < 0);
	assert_true(handler_set_add(&s, "e c:/bin/true", &e) < 0);
	/* Up to HANDLERS_MAX, then refused. */
	for (int i = 1; i < HANDLERS_MAX; i++) {
		snprintf(spec, sizeof(spec), "c%d:%s", i, ok.path);
		assert_int_equal(handler_set_add(&s, spec, &e), 0);
	}
	snprintf(spec, sizeof(spec), "c99:%s", ok.path);
	assert_int_equal(handler_set_add(&s, spec, &e), -E2BIG);
	handler_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments_and_environment),
		cmocka_unit_test(test_version_line),
		cmocka_unit_test(test_failure_message),
		cmocka_unit_test(test_output_cap_and_background),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_specs),
	};
	int rc;

	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			rc = rc ? rc : 1;
	}
	return rc;
}
