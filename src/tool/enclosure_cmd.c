/*
 * enclosure_cmd.c: `tandem enclosure init|up|down|status`. `up` is the
 * simulator's power supply: it runs each controller's tandem-loader, powers
 * a controller on again when its MC restarts or crashes (a simulated power
 * cut included), leaves it off after `shutdown`, and stops both on Ctrl-C.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flash/flash.h"
#include "tool/enclosure.h"
#include "tool/tool.h"

/* tandemd's exit status asking to be started again (restart mc). */
#define DAEMON_EXIT_RESTART 75

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

struct controller {
	char id;		/* 'a' or 'b' */
	pid_t pid;
	const char *faults;	/* TANDEM_FAULTS for this controller */
	int off;		/* shut down by the operator */
};

static pid_t power_on(const char *dir, struct controller *c,
		      const struct enclosure_layout *l)
{
	char loader[PATH_MAX], daemon[PATH_MAX], cdir[PATH_MAX], log[PATH_MAX];
	char ports[SVC_COUNT][8];
	int i = c->id - 'a', fd, s;
	pid_t pid;

	if (tool_find_program("tandem-loader", loader, sizeof(loader)) < 0 ||
	    tool_find_program("tandemd", daemon, sizeof(daemon)) < 0) {
		fprintf(stderr, "tandem enclosure: tandem-loader or tandemd "
			"not found beside tandem\n");
		return -1;
	}
	tool_path(cdir, sizeof(cdir), "%s/%c", dir, c->id);
	tool_path(log, sizeof(log), "%s/run/%c.log", dir, c->id);
	for (s = 0; s < SVC_COUNT; s++)
		snprintf(ports[s], sizeof(ports[s]), "%u", l->port[i][s]);
	pid = fork();
	if (pid != 0)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (c->faults)
		setenv("TANDEM_FAULTS", c->faults, 1);
	else
		unsetenv("TANDEM_FAULTS");
	execl(loader, loader, "--daemon", daemon, cdir, "--",
	      "--state", cdir, "--controller", (char[]){ c->id, '\0' },
	      "--address", l->address[i],
	      "--ftp-port", ports[SVC_FTP], "--ssh-port", ports[SVC_SSH],
	      "--telnet-port", ports[SVC_TELNET],
	      "--sftp-port", ports[SVC_SFTP],
	      "--log-file", log, "--simulator", (char *)NULL);
	fprintf(stderr, "tandem enclosure: exec %s: %s\n", loader,
		strerror(errno));
	_exit(127);
}

/* Waits until a TCP connect to address:port succeeds, up to secs. */
static int wait_port(const char *address, uint16_t port, int secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	int n;

	inet_pton(AF_INET, address, &sa.sin_addr);
	for (n = 0; n < secs * 10 && !stopping; n++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = fd >= 0 &&
			 connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -1;
}

static void describe_exit(char id, int status, char *out, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == DAEMON_EXIT_RESTART)
		snprintf(out, len, "its MC is restarting");
	else if (WIFEXITED(status) && WEXITSTATUS(status) ==
		 FAULT_POWERCUT_STATUS)
		snprintf(out, len, "simulated power cut");
	else if (WIFEXITED(status))
		snprintf(out, len, "MC exited with status %d",
			 WEXITSTATUS(status));
	else
		snprintf(out, len, "MC killed by signal %d",
			 WTERMSIG(status));
	(void)id;
}

static int supervise(const char *dir, struct controller *ctl,
		     const struct enclosure_layout *l)
{
	struct sigaction sa = { .sa_handler = on_stop };
	int i, status;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 2; i++)
		ctl[i].pid = power_on(dir, &ctl[i], l);
	if (ctl[0].pid < 0 || ctl[1].pid < 0)
		return TOOL_EXIT_FAILURE;
	for (i = 0; i < 2; i++)
		if (wait_port(l->address[i], l->port[i][SVC_SSH], 20) < 0 &&
		    !stopping)
			printf("controller %c is not answering on ssh yet; "
			       "see %s/run/%c.log\n", 'A' + i, dir, 'a' + i);
	if (!stopping)
		printf("Both controllers are up. Ctrl-C stops the "
		       "enclosure.\n");
	fflush(stdout);

	while (!stopping) {
		char why[96];
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (ctl[i].pid != pid)
				continue;
			ctl[i].pid = 0;
			describe_exit('A' + i, status, why, sizeof(why));
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				ctl[i].off = 1;
				printf("controller %c is shut down (%s); "
				       "'tandem enclosure up' again powers it "
				       "on\n", 'A' + i, why);
			} else if (!stopping) {
				printf("controller %c: %s; powering it on\n",
				       'A' + i, why);
				sleep(ENCLOSURE_RESTART_DELAY);
				if (!stopping)
					ctl[i].pid = power_on(dir, &ctl[i], l);
			}
			fflush(stdout);
		}
		if (ctl[0].off && ctl[1].off)
			break;
	}
	for (i = 0; i < 2; i++)
		if (ctl[i].pid > 0)
			kill(ctl[i].pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid == 0)
			usleep(100 * 1000);
	}
	for (i = 0; i < 2; i++)
		if (ctl[i].pid > 0 && kill(ctl[i].pid, 0) == 0)
			kill(ctl[i].pid, SIGKILL);
	while (waitpid(-1, &status, 0) > 0)
		;
	printf("enclosure stopped\n");
	return TOOL_EXIT_OK;
}

static int write_run_files(const char *dir, const struct enclosure_layout *l,
			   struct err *e)
{
	char path[PATH_MAX], pid[32];
	struct buf b;
	int c, s, rc = 0;

	tool_path(path, sizeof(path), "%s/run", dir);
	if (fs_mkdir_p(path, 0755, e) < 0)
		return e->code;
	buf_init(&b, 4096);
	for (c = 0; c < 2; c++)
		for (s = 0; s < SVC_COUNT; s++)
			rc = rc ? rc : buf_appendf(&b, "%c %s %s %u\n", 'a' + c,
				enclosure_service_name(s), l->address[c],
				l->port[c][s]);
	tool_path(path, sizeof(path), "%s/run/layout", dir);
	rc = rc ? rc : fs_atomic_write(path, b.data, b.len, 0644, e);
	buf_free(&b);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	tool_path(path, sizeof(path), "%s/run/up.pid", dir);
	return rc ? rc : fs_atomic_write(path, pid, strlen(pid), 0644, e);
}

static void up_usage(FILE *f)
{
	fprintf(f, "usage: tandem enclosure up [--dir DIR] "
		"[--faults a:SPEC] [--faults b:SPEC]\n"
		"                          [--addresses A,B] [--port-base N]\n"
		"  DIR defaults to ./%s and is made on first use.\n"
		"  A,B: the controllers' IPv4 addresses (127.0.0.2,127.0.0.3).\n"
		"  N: a high-port layout at N + 1000 x controller + port "
		"instead of\n  the family's ports (21, 22, 23, 1022).\n"
		"  SPEC arms fault points in that controller, e.g. "
		"b:write-error=mc,\n  a:powercut=40, b:corrupt=sc, "
		"a:slow-flash=5 (see docs/simulator.md).\n",
		ENCLOSURE_DEFAULT_DIR);
}

/* "A,B": two different dotted IPv4 addresses. */
static int addresses_parse(const char *arg, char out[2][16])
{
	const char *comma = strchr(arg, ',');
	struct in_addr a, b;

	if (!comma || comma - arg >= 16 || strlen(comma + 1) >= 16)
		return -1;
	snprintf(out[0], 16, "%.*s", (int)(comma - arg), arg);
	snprintf(out[1], 16, "%s", comma + 1);
	if (inet_pton(AF_INET, out[0], &a) != 1 ||
	    inet_pton(AF_INET, out[1], &b) != 1 || a.s_addr == b.s_addr)
		return -1;
	return 0;
}

static int port_base_parse(const char *arg, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || n < 1024 ||
	    n > ENCLOSURE_PORT_BASE_MAX)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "faults", required_argument, NULL, 'f' },
		{ "addresses", required_argument, NULL, 'a' },
		{ "port-base", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct controller ctl[2] = { { .id = 'a' }, { .id = 'b' } };
	const char *dir = ENCLOSURE_DEFAULT_DIR;
	char address[2][16];
	const char *addresses[2] = { address[0], address[1] };
	bool own_addresses = false;
	unsigned port_base = 0;
	struct enclosure_layout l;
	char path[PATH_MAX];
	struct err e;
	int c;

	while ((c = getopt_long(argc, argv, "d:f:a:p:h", opts, NULL)) != -1) {
		if (c == 'd') {
			dir = optarg;
		} else if (c == 'f' && (optarg[0] == 'a' || optarg[0] == 'b') &&
			   optarg[1] == ':') {
			ctl[optarg[0] - 'a'].faults = optarg + 2;
		} else if (c == 'a') {
			if (addresses_parse(optarg, address) < 0) {
				fprintf(stderr, "tandem enclosure: --addresses "
					"needs two different IPv4 addresses, "
					"A,B (e.g. 127.0.0.2,127.0.0.3)\n");
				return TOOL_EXIT_USAGE;
			}
			own_addresses = true;
		} else if (c == 'p') {
			if (port_base_parse(optarg, &port_base) < 0) {
				fprintf(stderr, "tandem enclosure: --port-base "
					"must be a number from 1024 to %d\n",
					ENCLOSURE_PORT_BASE_MAX);
				return TOOL_EXIT_USAGE;
			}
		} else {
			up_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	err_clear(&e);
	tool_path(path, sizeof(path), "%s/enclosure.key", dir);
	if (access(path, F_OK) != 0) {
		printf("making a new enclosure in %s ...\n", dir);
		fflush(stdout);
		if (enclosure_init(dir, &e) < 0) {
			fprintf(stderr, "tandem enclosure: %s\n", e.msg);
			return TOOL_EXIT_FAILURE;
		}
	}
	enclosure_layout_pick(&l, own_addresses ? addresses : NULL,
			      port_base);
	if (write_run_files(dir, &l, &e) < 0) {
		fprintf(stderr, "tandem enclosure: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	printf("Tandem simulated enclosure, model %s, in %s\n\n",
	       ENCLOSURE_MODEL, dir);
	enclosure_layout_print(&l, stdout);
	printf("\nLog in:  ssh manage@%s -p %u   (password !manage)\n"
	       "The simulator keeps the family's well-known default users "
	       "(manage/!manage,\nmonitor/!monitor): fine for a demo, never "
	       "for a real controller.\n"
	       "A newer bundle to load: %s/bundles/%s.bundle\n"
	       "Controller logs: %s/run/a.log, %s/run/b.log\n\n",
	       l.address[0], l.port[0][SVC_SSH], dir, enclosure_update.bundle,
	       dir, dir);
	for (c = 0; c < 2; c++)
		if (ctl[c].faults)
			printf("faults armed on controller %c: %s\n", 'A' + c,
			       ctl[c].faults);
	fflush(stdout);
	return supervise(dir, ctl, &l);
}

static int cmd_init(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ENCLOSURE_DEFAULT_DIR;
	struct err e;

	if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
		printf("usage: tandem enclosure init [DIR]\n");
		return argc > 1 && !strcmp(argv[1], "--help") ?
		       TOOL_EXIT_OK : TOOL_EXIT_USAGE;
	}
	err_clear(&e);
	if (enclosure_init(dir, &e) < 0) {
		fprintf(stderr, "tandem enclosure init: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	printf("made enclosure %s: controllers A and B run bundle %s; "
	       "%s/bundles/%s.bundle is newer\n", dir,
	       enclosure_factory.bundle, dir, enclosure_update.bundle);
	return TOOL_EXIT_OK;
}

static long read_pid(const char *dir)
{
	char path[PATH_MAX];
	struct buf b;
	struct err e;
	long pid = -1;

	tool_path(path, sizeof(path), "%s/run/up.pid", dir);
	buf_init(&b, 64);
	if (fs_read_file(path, 64, &b, &e) == 0)
		pid = strtol(b.data, NULL, 10);
	buf_free(&b);
	return pid > 0 && kill((pid_t)pid, 0) == 0 ? pid : -1;
}

static int cmd_down(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ENCLOSURE_DEFAULT_DIR;
	long pid = read_pid(dir);
	int n;

	if (pid < 0) {
		fprintf(stderr, "tandem enclosure down: no enclosure is up "
			"in %s\n", dir);
		return TOOL_EXIT_FAILURE;
	}
	kill((pid_t)pid, SIGTERM);
	for (n = 0; n < 200 && kill((pid_t)pid, 0) == 0; n++)
		usleep(100 * 1000);
	printf("enclosure in %s is down\n", dir);
	return TOOL_EXIT_OK;
}

static int cmd_status(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ENCLOSURE_DEFAULT_DIR;
	char cdir[PATH_MAX];
	int c;

	printf("enclosure %s: %s\n", dir, read_pid(dir) > 0 ? "up" : "down");
	for (c = 0; c < 2; c++) {
		struct flash_status st;
		struct flash_store *s;
		struct err e;

		tool_path(cdir, sizeof(cdir), "%s/%c", dir, 'a' + c);
		if (flash_store_open(cdir, &s, &e) < 0) {
			printf("controller %c: %s\n", 'A' + c, e.msg);
			continue;
		}
		if (flash_store_status(s, &st, &e) < 0)
			printf("controller %c: %s\n", 'A' + c, e.msg);
		else
			printf("controller %c: bundle %s, bank %d%s\n", 'A' + c,
			       st.bundle_version[0] ? st.bundle_version :
			       "(none)", st.active_bank,
			       st.trial ? " (on trial)" : "");
		flash_store_close(s);
	}
	return TOOL_EXIT_OK;
}

static const struct tool_command enclosure_commands[] = {
	{ "init", cmd_init, "make a state directory: keys, bundles, both "
	  "controllers provisioned" },
	{ "up", cmd_up, "run both controllers until Ctrl-C (makes DIR if "
	  "needed)" },
	{ "down", cmd_down, "stop an enclosure started elsewhere" },
	{ "status", cmd_status, "up or down; each controller's bundle" },
};

int tool_enclosure(int argc, char **argv)
{
	return tool_dispatch("enclosure", "SUBCOMMAND [ARGS...]",
			     enclosure_commands,
			     ARRAY_SIZE(enclosure_commands), argc, argv);
}
