/*
 * fault.c: fault points. Armed only from TANDEM_FAULTS (the simulator and
 * the tests set it) or fault_arm(); unarmed, each check is one branch.
 * A power cut first undoes, through powerloss.c, everything a power
 * failure may lose (what was written or renamed and not yet fsynced), then
 * _exit()s: the page cache of this process's files does not survive it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define FAULT_NAME_MAX 32

static struct {
	bool armed;
	unsigned long powercut_at;	/* 0 = never */
	unsigned long steps;
	char write_error[FAULT_NAME_MAX];
	char enospc[FAULT_NAME_MAX];
	char corrupt[FAULT_NAME_MAX];
	bool corrupt_done;
	unsigned slow_ms;
	enum powerloss_mode powerloss;	/* what a powercut loses */
} fault;

/* Steps are counted on the installer's writer thread and others. */
static pthread_mutex_t fault_steps_mu = PTHREAD_MUTEX_INITIALIZER;

static int fault_copy_name(char *dst, const char *val, struct err *e)
{
	if (strlen(val) >= FAULT_NAME_MAX || !*val)
		return err_set(e, -EINVAL, "fault spec: bad component name");
	snprintf(dst, FAULT_NAME_MAX, "%s", val);
	return 0;
}

int fault_arm(const char *spec, struct err *e)
{
	char copy[FAULT_SPEC_MAX], *save = NULL, *item;
	uint64_t n;

	if (strlen(spec) >= sizeof(copy))
		return err_set(e, -EINVAL, "fault spec too long");
	memset(&fault, 0, sizeof(fault));
	powerloss_arm(POWERLOSS_OFF);
	fault.powerloss = POWERLOSS_ALL;
	snprintf(copy, sizeof(copy), "%s", spec);
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');

		if (!val)
			return err_set(e, -EINVAL,
				       "fault spec: '%s' lacks '='", item);
		*val++ = '\0';
		if (!strcmp(item, "powercut")) {
			if (!u64_parse(val, 1000000000, &n) || n == 0)
				return err_set(e, -EINVAL,
					       "fault spec: bad powercut step");
			fault.powercut_at = (unsigned long)n;
		} else if (!strcmp(item, "write-error")) {
			if (fault_copy_name(fault.write_error, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "enospc")) {
			if (fault_copy_name(fault.enospc, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "corrupt")) {
			if (fault_copy_name(fault.corrupt, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "powerloss")) {
			if (!strcmp(val, "all"))
				fault.powerloss = POWERLOSS_ALL;
			else if (!strcmp(val, "keep-last"))
				fault.powerloss = POWERLOSS_KEEP_LAST;
			else
				return err_set(e, -EINVAL, "fault spec: "
					       "powerloss is all or keep-last");
		} else if (!strcmp(item, "slow-flash")) {
			if (!u64_parse(val, 60000, &n))
				return err_set(e, -EINVAL,
					       "fault spec: bad slow-flash ms");
			fault.slow_ms = (unsigned)n;
		} else {
			return err_set(e, -EINVAL,
				       "fault spec: unknown fault '%s'", item);
		}
	}
	fault.armed = true;
	/* A cut always loses what a power failure would. */
	powerloss_arm(fault.powercut_at ? fault.powerloss : POWERLOSS_OFF);
	return 0;
}

void fault_arm_from_env(void)
{
	const char *spec = getenv("TANDEM_FAULTS");
	struct err e;

	if (!spec || !*spec)
		return;
	if (fault_arm(spec, &e) < 0) {
		log_error("TANDEM_FAULTS: %s", e.msg);
		exit(2);
	}
}

/* Called right after each durable I/O step (write, fsync, rename). */
void fault_step(const char *what)
{
	(void)what;
	if (!fault.armed)
		return;
	pthread_mutex_lock(&fault_steps_mu);
	fault.steps++;
	if (fault.powercut_at && fault.steps == fault.powercut_at) {
		/* Still holding the lock: no other step is counted. */
		powerloss_cut();
		_exit(FAULT_POWERCUT_STATUS);
	}
	pthread_mutex_unlock(&fault_steps_mu);
}

unsigned long fault_steps_taken(void)
{
	unsigned long n;

	pthread_mutex_lock(&fault_steps_mu);
	n = fault.steps;
	pthread_mutex_unlock(&fault_steps_mu);
	return n;
}

/* The errno a write of this component should fail with, or 0. */
int fault_write_errno(const char *component)
{
	if (!fault.armed || !component)
		return 0;
	if (fault.write_error[0] && !strcmp(fault.write_error, component))
		return EIO;
	if (fault.enospc[0] && !strcmp(fault.enospc, component))
		return ENOSPC;
	return 0;
}

/* True once for the named component: its written image gets a bit flip. */
bool fault_corrupt(const char *component)
{
	if (!fault.armed || !fault.corrupt[0] || fault.corrupt_done)
		return false;
	if (strcmp(fault.corrupt, component))
		return false;
	fault.corrupt_done = true;
	return true;
}

void fault_slow_flash(void)
{
	struct timespec ts;

	if (!fault.armed || !fault.slow_ms)
		return;
	ts.tv_sec = fault.slow_ms / 1000;
	ts.tv_nsec = (long)(fault.slow_ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}
