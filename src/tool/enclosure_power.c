/*
 * enclosure_power.c: `up`'s supervisor, the simulator's power supply. It
 * runs each controller's tandem-loader, powers a controller on again when
 * its MC restarts or crashes (a simulated power cut included), leaves it
 * off after `shutdown`, relays both consoles, and stops both on Ctrl-C.
 * Each power-on records run/<c>.pid (the loader execs tandemd: one pid)
 * and arms what run/<c>.faults holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool/enclosure.h"
#include "tool/tool.h"

#define POWER_ARGS_MAX 48

static volatile sig_atomic_t stopping;
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD)
		stopping = 1;
	if (write(wake_pipe[1], "", 1) < 0) {
		/* full: the loop is awake already */
	}
	errno = saved;
}

/* Whether a TCP connect to address:port succeeds now. */
static int port_open(const char *address, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd, ok;

	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static long read_pid_file(const char *path)
{
	struct buf b;
	struct err e;
	long pid = -1;

	buf_init(&b, 64);
	if (fs_read_file(path, 64, &b, &e) == 0 && buf_append(&b, "", 1) == 0)
		pid = strtol(b.data, NULL, 10);
	buf_free(&b);
	return pid > 0 && kill((pid_t)pid, 0) == 0 ? pid : -1;
}

long enclosure_controller_pid(const char *dir, char id)
{
	char path[PATH_MAX];

	tool_path(path, sizeof(path), "%s/run/%c.pid", dir, id);
	return read_pid_file(path);
}

long enclosure_up_pid(const char *dir)
{
	char path[PATH_MAX];

	tool_path(path, sizeof(path), "%s/run/up.pid", dir);
	return read_pid_file(path);
}

static void pid_file(const char *dir, char id, pid_t pid)
{
	char path[PATH_MAX], text[32];
	struct err e;

	tool_path(path, sizeof(path), "%s/run/%c.pid", dir, id);
	if (pid <= 0) {
		unlink(path);
		return;
	}
	snprintf(text, sizeof(text), "%ld\n", (long)pid);
	if (fs_atomic_write(path, text, strlen(text), 0644, &e) < 0)
		fprintf(stderr, "tandem enclosure: %s\n", e.msg);
}

/* The spec run/<c>.faults holds ("" when none or cleared). */
static void faults_read(const struct enclosure_run *run, char id,
			char *out, size_t len)
{
	char path[PATH_MAX];
	struct buf b;
	struct err e;
	size_t n;

	out[0] = '\0';
	tool_path(path, sizeof(path), "%s/run/%c.faults", run->abs_dir, id);
	buf_init(&b, FAULT_SPEC_MAX);
	if (fs_read_file(path, FAULT_SPEC_MAX, &b, &e) == 0) {
		n = b.len;
		while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == ' '))
			n--;
		if (n != 5 || memcmp(b.data, "clear", 5))
			snprintf(out, len, "%.*s", (int)n, b.data);
	}
	buf_free(&b);
}

static pid_t power_on(const struct enclosure_run *run,
		      struct enclosure_controller *c)
{
	const struct enclosure_layout *l = &run->layout;
	char loader[PATH_MAX], daemon[PATH_MAX], cdir[PATH_MAX], log[PATH_MAX];
	char faults_file[PATH_MAX], key[PATH_MAX], partner[64];
	char faults[FAULT_SPEC_MAX], ports[SVC_COUNT][8];
	static char handlers[3][4096 + 64];
	char *argv[POWER_ARGS_MAX];
	int i = c->id - 'a', fd, s, n = 0;
	pid_t pid;

	if (tool_find_program("tandem-loader", loader, sizeof(loader)) < 0 ||
	    tool_find_program("tandemd", daemon, sizeof(daemon)) < 0) {
		fprintf(stderr, "tandem enclosure: tandem-loader or tandemd "
			"not found beside tandem\n");
		return -1;
	}
	tool_path(cdir, sizeof(cdir), "%s/%c", run->dir, c->id);
	tool_path(log, sizeof(log), "%s/run/%c.log", run->dir, c->id);
	tool_path(faults_file, sizeof(faults_file), "%s/run/%c.faults",
		  run->abs_dir, c->id);
	tool_path(key, sizeof(key), "%s/enclosure.key", run->abs_dir);
	snprintf(partner, sizeof(partner), "%s:%u", l->address[1],
		 l->port[1][SVC_LINK]);
	for (s = 0; s < SVC_COUNT; s++)
		snprintf(ports[s], sizeof(ports[s]), "%u", l->port[i][s]);
	faults_read(run, c->id, faults, sizeof(faults));
	enclosure_console_reset(c);

	argv[n++] = loader;
	argv[n++] = "--daemon";
	argv[n++] = daemon;
	argv[n++] = cdir;
	argv[n++] = "--";
	argv[n++] = "--state";
	argv[n++] = cdir;
	argv[n++] = "--controller";
	argv[n++] = c->id == 'a' ? "a" : "b";
	argv[n++] = "--address";
	argv[n++] = (char *)l->address[i];
	argv[n++] = "--ftp-port";
	argv[n++] = ports[SVC_FTP];
	argv[n++] = "--ssh-port";
	argv[n++] = ports[SVC_SSH];
	argv[n++] = "--telnet-port";
	argv[n++] = ports[SVC_TELNET];
	argv[n++] = "--sftp-port";
	argv[n++] = ports[SVC_SFTP];
	argv[n++] = "--http-port";
	argv[n++] = ports[SVC_HTTP];
	argv[n++] = "--https-port";
	argv[n++] = ports[SVC_HTTPS];
	argv[n++] = "--web-root";
	argv[n++] = (char *)run->web_root;
	argv[n++] = "--log-file";
	argv[n++] = log;
	argv[n++] = "--simulator";
	argv[n++] = "--console";
	if (run->handler[0]) {
		static const char *const types[] = ENCLOSURE_HANDLED_TYPES;

		for (s = 0; s < (int)ARRAY_SIZE(types); s++) {
			snprintf(handlers[s], sizeof(handlers[s]), "%s:%s",
				 types[s], run->handler);
			argv[n++] = "--handler";
			argv[n++] = handlers[s];
		}
	}
	/* The partner link: B listens on its own address, A dials it. Only
	 * when this tandemd has the flags (enclosure_cmd.c finds out). */
	if (run->link) {
		argv[n++] = "--enclosure-key";
		argv[n++] = key;
		argv[n++] = c->id == 'a' ? "--partner" : "--link-port";
		argv[n++] = c->id == 'a' ? partner : ports[SVC_LINK];
	}
	argv[n] = NULL;

	pid = fork();
	if (pid != 0)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	/* The console's line is the controller's stdin and stdout. */
	dup2(c->pty_slave, STDIN_FILENO);
	dup2(c->pty_slave, STDOUT_FILENO);
	if (faults[0])
		setenv("TANDEM_FAULTS", faults, 1);
	else
		unsetenv("TANDEM_FAULTS");
	setenv("TANDEM_FAULTS_FILE", faults_file, 1);
	execv(loader, argv);
	fprintf(stderr, "tandem enclosure: exec %s: %s\n", loader,
		strerror(errno));
	_exit(127);
}

static void power_on_now(struct enclosure_run *run,
			 struct enclosure_controller *c)
{
	c->power_on_at = 0;
	c->pid = power_on(run, c);
	pid_file(run->dir, c->id, c->pid);
}

static void describe_exit(int status, char *out, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == ENCLOSURE_EXIT_RESTART)
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
}

/* A controller's process ended: power it on again, or leave it off. */
static void reap(struct enclosure_run *run, struct enclosure_controller *ctl,
		 pid_t pid, int status)
{
	char why[96];
	int i;

	for (i = 0; i < 2; i++) {
		if (ctl[i].pid != pid)
			continue;
		ctl[i].pid = 0;
		pid_file(run->dir, ctl[i].id, 0);
		describe_exit(status, why, sizeof(why));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			ctl[i].off = 1;
			printf("controller %c is shut down (%s); 'tandem "
			       "enclosure up' again powers it on\n", 'A' + i,
			       why);
		} else if (!stopping) {
			bool restart = WIFEXITED(status) &&
				       WEXITSTATUS(status) ==
				       ENCLOSURE_EXIT_RESTART;

			printf("controller %c: %s; powering it on\n", 'A' + i,
			       why);
			ctl[i].power_on_at = now_s() +
					     (restart ? 0 : ENCLOSURE_RESTART_DELAY);
		}
		fflush(stdout);
	}
}

static void stop_all(struct enclosure_run *run,
		     struct enclosure_controller *ctl)
{
	int i, status;

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
	for (i = 0; i < 2; i++) {
		pid_file(run->dir, ctl[i].id, 0);
		enclosure_console_close(run->dir, &ctl[i]);
	}
}

int enclosure_supervise(struct enclosure_run *run,
			struct enclosure_controller *ctl)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool announced = false;
	time_t up_since;
	int i, status;

	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		perror("tandem enclosure: pipe");
		return TOOL_EXIT_FAILURE;
	}
	/* No SA_RESTART: poll() wakes for every signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 2; i++) {
		power_on_now(run, &ctl[i]);
		if (ctl[i].pid < 0) {
			stop_all(run, ctl);
			return TOOL_EXIT_FAILURE;
		}
	}
	up_since = now_s();

	while (!stopping && !(ctl[0].off && ctl[1].off)) {
		struct pollfd fds[8];
		size_t n = 0, first[2];
		int timeout = 100;
		char drain[64];
		pid_t pid;

		fds[n++] = (struct pollfd){ .fd = wake_pipe[0],
					    .events = POLLIN };
		for (i = 0; i < 2; i++) {
			first[i] = n;
			n += enclosure_console_pollfds(&ctl[i], fds + n);
		}
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
			;
		for (i = 0; i < 2; i++)
			enclosure_console_events(&ctl[i], fds + first[i],
						 i == 0 ? first[1] - first[0]
							: n - first[1]);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			reap(run, ctl, pid, status);
		for (i = 0; i < 2 && !stopping; i++)
			if (ctl[i].power_on_at && now_s() >= ctl[i].power_on_at)
				power_on_now(run, &ctl[i]);
		if (!announced) {
			int ready = 0;

			for (i = 0; i < 2; i++)
				ready += port_open(
					run->layout.address[i],
					run->layout.port[i][SVC_SSH]) == 0;
			if (ready == 2 || now_s() - up_since > 20) {
				for (i = 0; ready < 2 && i < 2; i++)
					printf("controller %c is not answering "
					       "on ssh yet; see %s/run/%c.log\n",
					       'A' + i, run->dir, 'a' + i);
				printf("Both controllers are up. Ctrl-C stops "
				       "the enclosure.\n");
				fflush(stdout);
				announced = true;
			}
		}
	}
	stop_all(run, ctl);
	printf("enclosure stopped\n");
	return TOOL_EXIT_OK;
}
