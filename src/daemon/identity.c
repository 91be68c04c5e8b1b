/*
 * identity.c: the serial number the board gives (tandemd --serial,
 * --serial-file, --serial-command). Without one, controller.c makes a
 * random serial at first start and keeps it in config/serial; a given one
 * replaces it there, so the state directory always says what this
 * controller last was. A serial that cannot be read stops the start.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/controller.h"

/* Letters, digits, '-', '.', '_': what goes into XML, JSON, and the
 * partner's hello without quoting. */
static int serial_check(const char *what, const char *s, size_t len,
			struct err *e)
{
	size_t i;

	if (len == 0)
		return err_set(e, -EINVAL, "%s: gave no serial", what);
	if (len >= sizeof(((struct controller *)0)->serial))
		return err_set(e, -EINVAL, "%s: the serial is longer than %zu "
			       "bytes", what,
			       sizeof(((struct controller *)0)->serial) - 1);
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789-._", s[i]) || s[i] == '\0')
			return err_set(e, -EINVAL, "%s: the serial may hold only "
				       "letters, digits, '-', '.' and '_' "
				       "(byte %zu is 0x%02x)", what,
				       i + 1, (unsigned char)s[i]);
	return 0;
}

/* The text without the trailing newlines, spaces and NULs that sysfs and
 * device-tree files end with. */
static size_t trimmed(const char *s, size_t len)
{
	while (len > 0 && strchr("\n\r\t \0", s[len - 1]))
		len--;
	return len;
}

/* Milliseconds left of CONTROLLER_SERIAL_COMMAND_SECONDS from start. */
static long ms_left(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return CONTROLLER_SERIAL_COMMAND_SECONDS * 1000L -
	       ((now.tv_sec - start->tv_sec) * 1000L +
		(now.tv_nsec - start->tv_nsec) / 1000000L);
}

/*
 * Runs cmd with /bin/sh in a process group of its own; its standard
 * output is the serial. The whole run, output and exit, must end within
 * CONTROLLER_SERIAL_COMMAND_SECONDS, else the group is killed: a hung
 * command must not hang the start.
 */
static int serial_command(const char *cmd, struct buf *out, struct err *e)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	bool timed_out = false, reaped = false;
	int fds[2], status = 0, rc = 0;
	struct timespec start;
	char chunk[256];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(e, -errno, "--serial-command: pipe: %s",
			       strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_set(e, -errno, "--serial-command: fork: %s",
			       strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		dup2(fds[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);	/* either side may run first */
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		long left = ms_left(&start);
		ssize_t n;
		int r;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = r == 0;
			if (r < 0)
				rc = err_set(e, -errno, "--serial-command: "
					     "poll: %s", strerror(errno));
			break;
		}
		n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			rc = err_set(e, -EFBIG, "--serial-command '%s': more "
				     "than %zu bytes of output", cmd, out->max);
			break;
		}
	}
	close(fds[0]);
	/* Its output has ended; the command may still run: same deadline. */
	while (!timed_out && rc == 0) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			reaped = true;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (ms_left(&start) <= 0)
			timed_out = true;
		else
			nanosleep(&tick, NULL);
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (timed_out)
		rc = err_set(e, -ETIMEDOUT, "--serial-command '%s': did not "
			     "finish within %d s", cmd,
			     CONTROLLER_SERIAL_COMMAND_SECONDS);
	else if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = err_set(e, -EIO, "--serial-command '%s' failed (%s %d)",
			     cmd, WIFEXITED(status) ? "exit status" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) :
			     WTERMSIG(status));
	return rc;
}

int controller_serial_read(const char *option, const char *value,
			   char *out, size_t outlen, struct err *e)
{
	char what[PATH_MAX + 32];
	struct buf b;
	size_t len;
	int rc = 0;

	if (!strcmp(option, "serial"))
		snprintf(what, sizeof(what), "--serial");
	else
		snprintf(what, sizeof(what), "--%s '%.*s'", option, PATH_MAX,
			 value);
	buf_init(&b, CONTROLLER_SERIAL_INPUT_MAX);
	if (!strcmp(option, "serial"))
		rc = buf_append_str(&b, value) < 0 ?
		     err_set(e, -EINVAL, "--serial: too long") : 0;
	else if (!strcmp(option, "serial-file"))
		rc = fs_read_file(value, CONTROLLER_SERIAL_INPUT_MAX, &b, e) < 0
		     ? err_prefix(e, "--serial-file") : 0;
	else
		rc = serial_command(value, &b, e);
	if (rc == 0) {
		len = trimmed(b.data ? b.data : "", b.len);
		rc = serial_check(what, b.data ? b.data : "", len, e);
		if (rc == 0)
			snprintf(out, outlen, "%.*s", (int)len, b.data);
	}
	buf_free(&b);
	return rc;
}

int controller_set_serial(struct controller *c, const char *serial,
			  struct err *e)
{
	char path[PATH_MAX + 16], text[sizeof(c->serial) + 1];

	if (!strcmp(c->serial, serial))
		return 0;
	snprintf(path, sizeof(path), "%s/config/serial", c->dir);
	snprintf(text, sizeof(text), "%s\n", serial);
	if (fs_atomic_write(path, text, strlen(text), 0644, e) < 0)
		return e->code;
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	return 0;
}
