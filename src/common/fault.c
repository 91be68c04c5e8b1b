/*
 * fault.c: fault points. Armed only from TANDEM_FAULTS and the simulator's
 * faults file (the simulator and the tests set them) or fault_arm();
 * unarmed, each check is one atomic load. The armed set may be replaced
 * while a load runs (the simulator's SIGUSR1), so it lives under a lock.
 * A power cut first undoes, through powerloss.c, everything a power
 * failure may lose (what was written or renamed and not yet fsynced), then
 * _exit()s: the page cache of this process's files does not survive it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define FAULT_NAME_MAX 32

/* One component fault: the component, and the load source it is limited
 * to ("" for every load and for writes outside a load). */
struct fault_target {
	char component[FAULT_NAME_MAX];
	char source[FAULT_SOURCE_MAX];
};

struct fault_set {
	unsigned long powercut_at;	/* 0 = never */
	char powercut_source[FAULT_SOURCE_MAX];	/* "" = every step */
	struct fault_target write_error, enospc, corrupt;
	unsigned slow_ms;
	unsigned long link_drop_at;	/* 0 = never */
	unsigned link_delay_ms;
	enum powerloss_mode powerloss;	/* what a powercut loses */
};

/* The sources a fault may be limited to (update_begin's names). */
static const char *const fault_sources[] = {
	"partner", "FTP", "SFTP", "HTTP",
};

static atomic_bool fault_armed;
/* Everything below is under fault_mu: steps are counted on the
 * installer's writer thread and others, and a re-arm may come at any time. */
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fault_set fault;
static unsigned long fault_steps;
static bool fault_corrupt_done;
static unsigned long fault_link_frames;	/* this transfer's BUNDLE_DATA */
static char fault_source[FAULT_SOURCE_MAX];	/* the running load's */

/* The load source after '@', spelled as fault_sources[] spells it. */
static int fault_source_parse(char *out, const char *name, struct err *e)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fault_sources); i++)
		if (!strcasecmp(name, fault_sources[i]))
			break;
	if (i == ARRAY_SIZE(fault_sources))
		return err_set(e, -EINVAL, "fault spec: '@%.20s' is not a "
			       "load source (partner, ftp, sftp, http)", name);
	snprintf(out, FAULT_SOURCE_MAX, "%s", fault_sources[i]);
	return 0;
}

/* "COMPONENT" or "COMPONENT@SOURCE". */
static int fault_target_parse(struct fault_target *t, const char *val,
			      struct err *e)
{
	const char *at = strchr(val, '@');
	size_t n = at ? (size_t)(at - val) : strlen(val);

	if (n == 0 || n >= FAULT_NAME_MAX)
		return err_set(e, -EINVAL, "fault spec: bad component name");
	snprintf(t->component, sizeof(t->component), "%.*s", (int)n, val);
	if (!at)
		return 0;
	return fault_source_parse(t->source, at + 1, e);
}

/* Parses spec into out; nothing is armed. "" parses to nothing armed. */
static int fault_spec_parse(const char *spec, struct fault_set *out,
			    struct err *e)
{
	char copy[FAULT_SPEC_MAX], *save = NULL, *item;
	uint64_t n;

	memset(out, 0, sizeof(*out));
	out->powerloss = POWERLOSS_ALL;
	if (strlen(spec) >= sizeof(copy))
		return err_set(e, -EINVAL, "fault spec too long");
	snprintf(copy, sizeof(copy), "%s", spec);
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');

		if (!val)
			return err_set(e, -EINVAL,
				       "fault spec: '%s' lacks '='", item);
		*val++ = '\0';
		if (!strcmp(item, "powercut")) {
			char *at = strchr(val, '@');

			if (at) {
				*at++ = '\0';
				if (fault_source_parse(out->powercut_source,
						       at, e) < 0)
					return e->code;
			}
			if (!u64_parse(val, 1000000000, &n) || n == 0)
				return err_set(e, -EINVAL,
					       "fault spec: bad powercut step");
			out->powercut_at = (unsigned long)n;
		} else if (!strcmp(item, "link-drop")) {
			if (!u64_parse(val, 1000000000, &n) || n == 0)
				return err_set(e, -EINVAL, "fault spec: bad "
					       "link-drop frame count");
			out->link_drop_at = (unsigned long)n;
		} else if (!strcmp(item, "link-delay")) {
			if (!u64_parse(val, FAULT_LINK_DELAY_MAX_MS, &n))
				return err_set(e, -EINVAL, "fault spec: bad "
					       "link-delay ms (0 to %d)",
					       FAULT_LINK_DELAY_MAX_MS);
			out->link_delay_ms = (unsigned)n;
		} else if (!strcmp(item, "write-error")) {
			if (fault_target_parse(&out->write_error, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "enospc")) {
			if (fault_target_parse(&out->enospc, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "corrupt")) {
			if (fault_target_parse(&out->corrupt, val, e) < 0)
				return e->code;
		} else if (!strcmp(item, "powerloss")) {
			if (!strcmp(val, "all"))
				out->powerloss = POWERLOSS_ALL;
			else if (!strcmp(val, "keep-last"))
				out->powerloss = POWERLOSS_KEEP_LAST;
			else
				return err_set(e, -EINVAL, "fault spec: "
					       "powerloss is all or keep-last");
		} else if (!strcmp(item, "slow-flash")) {
			if (!u64_parse(val, 60000, &n))
				return err_set(e, -EINVAL,
					       "fault spec: bad slow-flash ms");
			out->slow_ms = (unsigned)n;
		} else {
			return err_set(e, -EINVAL,
				       "fault spec: unknown fault '%s'", item);
		}
	}
	return 0;
}

int fault_spec_check(const char *spec, struct err *e)
{
	struct fault_set s;

	return fault_spec_parse(spec, &s, e);
}

static enum powerloss_mode fault_powerloss_mode = POWERLOSS_OFF;

/*
 * keep_model: leave powerloss.c alone when its mode stays the same. A
 * re-arm while the daemon runs must not reset it under the threads that
 * are writing through it (it is armed only at start otherwise).
 */
static int fault_arm_set(const char *spec, bool keep_model, struct err *e)
{
	struct fault_set s;
	enum powerloss_mode mode;
	int rc = fault_spec_parse(spec, &s, e);

	/* A spec that does not parse leaves nothing armed (the tests rely on
	 * it); callers that must keep the armed set check first. */
	if (rc < 0)
		memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&fault_mu);
	fault = s;
	fault_steps = 0;
	fault_corrupt_done = false;
	fault_link_frames = 0;
	/* A cut always loses what a power failure would. */
	mode = s.powercut_at ? s.powerloss : POWERLOSS_OFF;
	if (!keep_model || mode != fault_powerloss_mode)
		powerloss_arm(mode);
	fault_powerloss_mode = mode;
	atomic_store(&fault_armed, rc == 0 && *spec != '\0');
	pthread_mutex_unlock(&fault_mu);
	return rc;
}

int fault_arm(const char *spec, struct err *e)
{
	return fault_arm_set(spec, false, e);
}

void fault_disarm(void)
{
	struct err e;

	fault_arm("", &e);
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

void fault_load_source(const char *source)
{
	pthread_mutex_lock(&fault_mu);
	snprintf(fault_source, sizeof(fault_source), "%s",
		 source ? source : "");
	pthread_mutex_unlock(&fault_mu);
}

/* Called right after each durable I/O step (write, fsync, rename). */
void fault_step(const char *what)
{
	(void)what;
	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fault_mu);
	/* A cut limited to a source counts only that source's loads. */
	if (fault.powercut_source[0] &&
	    strcasecmp(fault.powercut_source, fault_source)) {
		pthread_mutex_unlock(&fault_mu);
		return;
	}
	fault_steps++;
	if (fault.powercut_at && fault_steps == fault.powercut_at) {
		/* Still holding the lock: no other step is counted. */
		powerloss_cut();
		_exit(FAULT_POWERCUT_STATUS);
	}
	pthread_mutex_unlock(&fault_mu);
}

unsigned long fault_steps_taken(void)
{
	unsigned long n;

	pthread_mutex_lock(&fault_mu);
	n = fault_steps;
	pthread_mutex_unlock(&fault_mu);
	return n;
}

/* Under fault_mu: whether t names this component in the current load. */
static bool fault_target_hit(const struct fault_target *t,
			     const char *component)
{
	if (!t->component[0] || strcmp(t->component, component))
		return false;
	return !t->source[0] || !strcasecmp(t->source, fault_source);
}

/* The errno a write of this component should fail with, or 0. */
int fault_write_errno(const char *component)
{
	int rc = 0;

	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed) ||
	    !component)
		return 0;
	pthread_mutex_lock(&fault_mu);
	if (fault_target_hit(&fault.write_error, component))
		rc = EIO;
	else if (fault_target_hit(&fault.enospc, component))
		rc = ENOSPC;
	pthread_mutex_unlock(&fault_mu);
	return rc;
}

/* True once for the named component: its written image gets a bit flip. */
bool fault_corrupt(const char *component)
{
	bool hit = false;

	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&fault_mu);
	if (!fault_corrupt_done &&
	    fault_target_hit(&fault.corrupt, component)) {
		fault_corrupt_done = true;
		hit = true;
	}
	pthread_mutex_unlock(&fault_mu);
	return hit;
}

static void fault_sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

void fault_slow_flash(void)
{
	unsigned ms;

	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fault_mu);
	ms = fault.slow_ms;
	pthread_mutex_unlock(&fault_mu);
	if (ms)
		fault_sleep_ms(ms);
}

void fault_link_transfer_begin(void)
{
	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fault_mu);
	fault_link_frames = 0;
	pthread_mutex_unlock(&fault_mu);
}

bool fault_link_data_frame(void)
{
	bool drop = false;

	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&fault_mu);
	fault_link_frames++;
	drop = fault.link_drop_at && fault_link_frames == fault.link_drop_at;
	pthread_mutex_unlock(&fault_mu);
	return drop;
}

void fault_link_delay(void)
{
	unsigned ms;

	if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
		return;
	pthread_mutex_lock(&fault_mu);
	ms = fault.link_delay_ms;
	pthread_mutex_unlock(&fault_mu);
	if (ms)
		fault_sleep_ms(ms);
}

/* ---- the simulator's faults file ---- */

/* The file and what was read from it, under fault_file_mu: the start-up
 * read and the watcher's may overlap. */
static pthread_mutex_t fault_file_mu = PTHREAD_MUTEX_INITIALIZER;
static char fault_file[4096];
static unsigned long fault_rearms;
static char fault_armed_spec[FAULT_SPEC_MAX];
static char fault_last_error[ERR_MESSAGE_MAX];

int fault_rearm_from_file(const char *path, struct err *e)
{
	char spec[FAULT_SPEC_MAX];
	struct buf b;
	size_t n;
	int rc;

	buf_init(&b, FAULT_SPEC_MAX);
	rc = fs_read_file(path, FAULT_SPEC_MAX, &b, e);
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	n = b.len;
	while (n > 0 && isspace((unsigned char)b.data[n - 1]))
		n--;
	snprintf(spec, sizeof(spec), "%.*s", (int)n, b.data);
	buf_free(&b);
	if (!strcmp(spec, "clear"))
		spec[0] = '\0';
	if (fault_spec_check(spec, e) < 0 || fault_arm_set(spec, true, e) < 0)
		return e->code;
	snprintf(fault_armed_spec, sizeof(fault_armed_spec), "%s", spec);
	return 0;
}

/*
 * <faults file>.armed, for `tandem enclosure fault` to see that this
 * process has read the file: "pid N\nrearms N\narmed SPEC\n[error MSG\n]".
 * Written with plain calls, not fs_atomic_write(): the run directory needs
 * no durability, and its writes must not count as fault steps.
 */
static void fault_state_write(void)
{
	char path[sizeof(fault_file) + 16], tmp[sizeof(path) + 8];
	char text[FAULT_SPEC_MAX + ERR_MESSAGE_MAX + 64];
	bool ok;
	int fd, n;

	snprintf(path, sizeof(path), "%s.armed", fault_file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "pid %ld\nrearms %lu\narmed %s\n%s%s%s",
		     (long)getpid(), fault_rearms, fault_armed_spec,
		     fault_last_error[0] ? "error " : "", fault_last_error,
		     fault_last_error[0] ? "\n" : "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* Not fs_write_all(): powerloss.c must not see this file either. */
	ok = write(fd, text, (size_t)n) == n;
	if (close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

static void fault_file_read(void)
{
	struct err e;
	int rc;

	pthread_mutex_lock(&fault_file_mu);
	fault_last_error[0] = '\0';
	rc = fault_rearm_from_file(fault_file, &e);
	if (rc < 0 && e.code != -ENOENT) {
		log_error("faults file %s: %s; the armed faults stay",
			  fault_file, e.msg);
		snprintf(fault_last_error, sizeof(fault_last_error), "%s",
			 e.msg);
	} else if (rc == 0) {
		log_info("faults %s%s", fault_armed_spec[0] ? "armed: " :
			 "cleared", fault_armed_spec);
	}
	fault_rearms++;
	fault_state_write();
	pthread_mutex_unlock(&fault_file_mu);
}

static void *fault_watch_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;)
		if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
			fault_file_read();
	return NULL;
}

void fault_watch_start(void)
{
	static sigset_t set;
	const char *path = getenv("TANDEM_FAULTS_FILE");
	const char *env = getenv("TANDEM_FAULTS");
	pthread_t t;

	if (!path || !*path || strlen(path) >= sizeof(fault_file))
		return;
	snprintf(fault_file, sizeof(fault_file), "%s", path);
	snprintf(fault_armed_spec, sizeof(fault_armed_spec), "%s",
		 env ? env : "");
	/* Blocked here, before any other thread starts, so every thread
	 * inherits the mask and only the watcher takes the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, fault_watch_main, &set) != 0) {
		log_error("faults file %s: no watcher thread", path);
		return;
	}
	pthread_detach(t);
	fault_file_read();
}
