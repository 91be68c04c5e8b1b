/*
 * enclosure_fault.c: `tandem enclosure fault a|b SPEC|clear`: arms or
 * clears fault points in a running controller without restarting it. The
 * spec goes to run/<c>.faults (which every power-on arms too), then
 * SIGUSR1 asks that controller's tandemd to read it again; its answer is
 * run/<c>.faults.armed (src/common/fault.c, fault_watch_start).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool/enclosure.h"
#include "tool/tool.h"

struct fault_answer {
	long pid;
	unsigned long rearms;
	char armed[FAULT_SPEC_MAX];
	char error[ERR_MESSAGE_MAX];
};

/* run/<c>.faults.armed, or -1 while the controller has not written it. */
static int answer_read(const char *dir, char id, struct fault_answer *a)
{
	char path[PATH_MAX], *line, *save = NULL;
	struct buf b;
	struct err e;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	tool_path(path, sizeof(path), "%s/run/%c.faults.armed", dir, id);
	buf_init(&b, FAULT_SPEC_MAX + ERR_MESSAGE_MAX + 128);
	if (fs_read_file(path, b.max, &b, &e) == 0 &&
	    buf_append(&b, "", 1) == 0) {
		for (line = strtok_r(b.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "pid ", 4))
				a->pid = strtol(line + 4, NULL, 10);
			else if (!strncmp(line, "rearms ", 7))
				a->rearms = strtoul(line + 7, NULL, 10);
			else if (!strncmp(line, "armed ", 6))
				snprintf(a->armed, sizeof(a->armed), "%s",
					 line + 6);
			else if (!strncmp(line, "error ", 6))
				snprintf(a->error, sizeof(a->error), "%s",
					 line + 6);
		}
		rc = a->pid > 0 ? 0 : -1;
	}
	buf_free(&b);
	return rc;
}

static void nap(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static int fault_usage(FILE *f)
{
	fprintf(f, "usage: tandem enclosure fault [--dir DIR] a|b SPEC|clear\n"
		"  Arms SPEC in the running controller, replacing what was "
		"armed, or clears\n  every fault point; the controller keeps "
		"running. SPEC as for 'up --faults',\n  e.g. write-error=sc, "
		"write-error=mc@partner (see docs/simulator.md).\n");
	return f == stdout ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
}

int tool_enclosure_fault(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = ENCLOSURE_DEFAULT_DIR, *spec;
	struct fault_answer a;
	unsigned long before;
	char path[PATH_MAX], id, text[FAULT_SPEC_MAX + 2];
	time_t deadline;
	struct err e;
	long pid;
	int c;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			return fault_usage(c == 'h' ? stdout : stderr);
	}
	if (optind != argc - 2 || (strcmp(argv[optind], "a") &&
				   strcmp(argv[optind], "b")))
		return fault_usage(stderr);
	id = argv[optind][0];
	spec = argv[optind + 1];
	if (strcmp(spec, "clear") && fault_spec_check(spec, &e) < 0) {
		fprintf(stderr, "tandem enclosure fault: %s\n", e.msg);
		return TOOL_EXIT_USAGE;
	}
	if (enclosure_up_pid(dir) < 0) {
		fprintf(stderr, "tandem enclosure fault: no enclosure is up in "
			"%s\n", dir);
		return TOOL_EXIT_FAILURE;
	}
	snprintf(text, sizeof(text), "%s\n", spec);
	tool_path(path, sizeof(path), "%s/run/%c.faults", dir, id);
	if (fs_atomic_write(path, text, strlen(text), 0644, &e) < 0) {
		fprintf(stderr, "tandem enclosure fault: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	/* The controller's tandemd takes SIGUSR1 only once its watcher runs,
	 * which its answer file says; before that the signal would end it. */
	deadline = time(NULL) + ENCLOSURE_FAULT_WAIT_SECONDS;
	for (;;) {
		pid = enclosure_controller_pid(dir, id);
		if (pid < 0) {
			printf("controller %c is off; it arms '%s' when it "
			       "starts\n", id - 32, spec);
			return TOOL_EXIT_OK;
		}
		if (answer_read(dir, id, &a) == 0 && a.pid == pid)
			break;
		if (time(NULL) > deadline) {
			fprintf(stderr, "tandem enclosure fault: controller %c "
				"(pid %ld) has not read its faults file; see "
				"%s/run/%c.log\n", id - 32, pid, dir, id);
			return TOOL_EXIT_FAILURE;
		}
		nap();
	}
	before = a.rearms;
	if (kill((pid_t)pid, SIGUSR1) < 0) {
		fprintf(stderr, "tandem enclosure fault: controller %c (pid "
			"%ld): %s\n", id - 32, pid, strerror(errno));
		return TOOL_EXIT_FAILURE;
	}
	while (answer_read(dir, id, &a) < 0 || a.pid != pid ||
	       a.rearms <= before) {
		if (time(NULL) > deadline ||
		    enclosure_controller_pid(dir, id) != pid) {
			fprintf(stderr, "tandem enclosure fault: controller %c "
				"did not answer; it arms '%s' when it next "
				"starts\n", id - 32, spec);
			return TOOL_EXIT_FAILURE;
		}
		nap();
	}
	if (a.error[0]) {
		fprintf(stderr, "tandem enclosure fault: controller %c: %s\n",
			id - 32, a.error);
		return TOOL_EXIT_FAILURE;
	}
	if (a.armed[0])
		printf("controller %c: armed %s\n", id - 32, a.armed);
	else
		printf("controller %c: no fault points armed\n", id - 32);
	return TOOL_EXIT_OK;
}
