/* test_fault.c: fault points: a spec's faults, one load source (@partner),
 * re-arming while others check, the simulator's faults file and SIGUSR1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

static void write_text(const char *path, const char *text)
{
	struct err e;

	assert_int_equal(fs_atomic_write(path, text, strlen(text), 0644, &e),
			 0);
}

static void test_partner_limited(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(fault_arm("write-error=mc@partner", &e), 0);
	/* Outside a load and in an operator's load: no fault. */
	assert_int_equal(fault_write_errno("mc"), 0);
	fault_load_source("FTP");
	assert_int_equal(fault_write_errno("mc"), 0);
	fault_load_source("partner");
	assert_int_equal(fault_write_errno("mc"), EIO);
	assert_int_equal(fault_write_errno("sc"), 0);
	fault_load_source(NULL);
	assert_int_equal(fault_write_errno("mc"), 0);
	/* Sources are named as the engine names them, in any case. */
	assert_int_equal(fault_arm("enospc=sc@ftp,corrupt=mc@SFTP", &e), 0);
	fault_load_source("FTP");
	assert_int_equal(fault_write_errno("sc"), ENOSPC);
	assert_false(fault_corrupt("mc"));
	fault_load_source("SFTP");
	assert_int_equal(fault_write_errno("sc"), 0);
	assert_true(fault_corrupt("mc"));
	assert_false(fault_corrupt("mc"));	/* once */
	fault_load_source(NULL);
	fault_disarm();
}

static void test_refusals_change_nothing(void **state)
{
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "write-error=mc@nowhere", "not a load source" },
		{ "write-error=@partner", "bad component name" },
		{ "write-error", "lacks '='" },
		{ "flood=1", "unknown fault 'flood'" },
		{ "powercut=0", "bad powercut step" },
		{ "powercut=3@nowhere", "not a load source" },
		{ "powercut=@partner", "bad powercut step" },
		{ "link-drop=0", "bad link-drop frame count" },
		{ "link-drop=x", "bad link-drop frame count" },
		{ "link-delay=60001", "bad link-delay ms" },
		{ "link-delay=-1", "bad link-delay ms" },
	};
	char dir[] = "/tmp/test_fault.XXXXXX", path[64];
	struct err e;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.faults", dir);
	assert_int_equal(fault_arm("write-error=sc", &e), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(fault_spec_check(bad[i].spec, &e), -EINVAL);
		assert_non_null(strstr(e.msg, bad[i].needle));
		/* The faults file refuses it and keeps what is armed. */
		write_text(path, bad[i].spec);
		assert_int_equal(fault_rearm_from_file(path, &e), -EINVAL);
		assert_non_null(strstr(e.msg, bad[i].needle));
		assert_int_equal(fault_write_errno("sc"), EIO);
	}
	/* fault_arm() itself disarms on a bad spec. */
	assert_int_equal(fault_arm("flood=1", &e), -EINVAL);
	assert_int_equal(fault_write_errno("sc"), 0);
	assert_int_equal(fault_arm("write-error=sc", &e), 0);
	assert_int_equal(fault_spec_check("write-error=mc@partner", &e), 0);
	/* A check arms nothing. */
	assert_int_equal(fault_write_errno("mc"), 0);
	fault_disarm();
	assert_int_equal(fault_write_errno("sc"), 0);
	unlink(path);
	rmdir(dir);
}

/* link-drop counts BUNDLE_DATA frames per transfer; link-delay sleeps. */
static void test_link_faults(void **state)
{
	struct timespec t0, t1;
	struct err e;
	int i;

	(void)state;
	/* Unarmed: no drop, however many frames. */
	fault_link_transfer_begin();
	for (i = 0; i < 10; i++)
		assert_false(fault_link_data_frame());
	assert_int_equal(fault_arm("link-drop=3", &e), 0);
	assert_false(fault_link_data_frame());
	assert_false(fault_link_data_frame());
	assert_true(fault_link_data_frame());
	assert_false(fault_link_data_frame());	/* once a transfer */
	/* A new transfer counts again: every attempt is cut. */
	fault_link_transfer_begin();
	assert_false(fault_link_data_frame());
	assert_false(fault_link_data_frame());
	assert_true(fault_link_data_frame());
	/* Just at and just over the delay's limit. */
	assert_int_equal(fault_spec_check("link-delay=60000", &e), 0);
	assert_int_equal(fault_spec_check("link-delay=60001", &e), -EINVAL);
	assert_int_equal(fault_arm("link-delay=30,link-drop=1", &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fault_link_delay();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 30);
	fault_link_transfer_begin();
	assert_true(fault_link_data_frame());
	fault_disarm();
	fault_link_transfer_begin();
	assert_false(fault_link_data_frame());
}

/* powercut=N@partner counts only the steps of the partner's loads. */
static void test_powercut_source(void **state)
{
	struct err e;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (fault_arm("powercut=2@partner", &e) < 0)
			_exit(1);
		fault_step("outside");
		fault_load_source("FTP");
		fault_step("ftp");
		fault_step("ftp");
		fault_step("ftp");
		fault_load_source("partner");
		fault_step("partner 1");
		if (fault_steps_taken() != 1)
			_exit(2);
		fault_step("partner 2");	/* cuts here */
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), FAULT_POWERCUT_STATUS);
}

static void test_rearm_replaces(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(fault_arm("write-error=sc,slow-flash=1", &e), 0);
	assert_int_equal(fault_arm("enospc=mc", &e), 0);
	assert_int_equal(fault_write_errno("sc"), 0);
	assert_int_equal(fault_write_errno("mc"), ENOSPC);
	fault_disarm();
}

static void test_rearm_from_file(void **state)
{
	char dir[] = "/tmp/test_fault.XXXXXX", path[64];
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.faults", dir);
	assert_int_equal(fault_rearm_from_file(path, &e), -ENOENT);
	write_text(path, "write-error=sc\n");
	assert_int_equal(fault_rearm_from_file(path, &e), 0);
	assert_int_equal(fault_write_errno("sc"), EIO);
	write_text(path, "no-such=1\n");
	assert_int_equal(fault_rearm_from_file(path, &e), -EINVAL);
	assert_int_equal(fault_write_errno("sc"), EIO);
	write_text(path, "clear\n");
	assert_int_equal(fault_rearm_from_file(path, &e), 0);
	assert_int_equal(fault_write_errno("sc"), 0);
	unlink(path);
	rmdir(dir);
}

static atomic_int checking;

static void *checker(void *arg)
{
	int *bad = arg;

	while (checking) {
		int rc = fault_write_errno("sc");

		if (rc != 0 && rc != EIO)
			(*bad)++;
	}
	return NULL;
}

/* A re-arm while a load checks its faults: each check sees one armed set
 * or the other (ThreadSanitizer builds see any race). */
static void test_rearm_while_checking(void **state)
{
	pthread_t t;
	struct err e;
	int bad = 0, i;

	(void)state;
	checking = 1;
	assert_int_equal(pthread_create(&t, NULL, checker, &bad), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(fault_arm(i % 2 ? "write-error=sc" :
					   "slow-flash=0", &e), 0);
	checking = 0;
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	fault_disarm();
}

static unsigned long answer_rearms(const char *path, long *pid, char *armed,
				   size_t len)
{
	char text[512], *p;
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	*pid = (p = strstr(text, "pid ")) ? strtol(p + 4, NULL, 10) : 0;
	armed[0] = '\0';
	if ((p = strstr(text, "armed ")))
		snprintf(armed, len, "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
	return (p = strstr(text, "rearms ")) ? strtoul(p + 7, NULL, 10) : 0;
}

/* The simulator's path: the file read at start, then at each SIGUSR1,
 * each read answered in <file>.armed. */
static void test_watch_file_and_signal(void **state)
{
	char dir[] = "/tmp/test_fault.XXXXXX", path[64], answer[80];
	char armed[64];
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	long pid;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.faults", dir);
	snprintf(answer, sizeof(answer), "%s.armed", path);
	write_text(path, "write-error=ec\n");
	setenv("TANDEM_FAULTS_FILE", path, 1);
	fault_watch_start();
	assert_int_equal(answer_rearms(answer, &pid, armed, sizeof(armed)), 1);
	assert_int_equal(pid, (long)getpid());
	assert_string_equal(armed, "write-error=ec");
	assert_int_equal(fault_write_errno("ec"), EIO);

	write_text(path, "write-error=mc@partner\n");
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	for (n = 0; n < 500 &&
		    answer_rearms(answer, &pid, armed, sizeof(armed)) < 2; n++)
		nanosleep(&nap, NULL);
	assert_int_equal(answer_rearms(answer, &pid, armed, sizeof(armed)), 2);
	assert_string_equal(armed, "write-error=mc@partner");
	assert_int_equal(fault_write_errno("ec"), 0);
	fault_load_source("partner");
	assert_int_equal(fault_write_errno("mc"), EIO);
	fault_load_source(NULL);

	/* A bad spec is answered with its error; what was armed stays. */
	write_text(path, "write-error=mc@somewhere\n");
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	for (n = 0; n < 500 &&
		    answer_rearms(answer, &pid, armed, sizeof(armed)) < 3; n++)
		nanosleep(&nap, NULL);
	assert_int_equal(answer_rearms(answer, &pid, armed, sizeof(armed)), 3);
	{
		char text[512];
		FILE *f = fopen(answer, "r");
		size_t got = fread(text, 1, sizeof(text) - 1, f);

		fclose(f);
		text[got] = '\0';
		assert_non_null(strstr(text, "error fault spec: '@somewhere' "
					     "is not a load source"));
	}
	fault_load_source("partner");
	assert_int_equal(fault_write_errno("mc"), EIO);
	fault_load_source(NULL);
	fault_disarm();
	unlink(answer);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partner_limited),
		cmocka_unit_test(test_refusals_change_nothing),
		cmocka_unit_test(test_link_faults),
		cmocka_unit_test(test_powercut_source),
		cmocka_unit_test(test_rearm_replaces),
		cmocka_unit_test(test_rearm_from_file),
		cmocka_unit_test(test_rearm_while_checking),
		cmocka_unit_test(test_watch_file_and_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
