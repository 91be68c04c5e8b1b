/*
 * run.c: one handler call as a process (docs/handlers.md "Contract"):
 * argv ACTION COMPONENT [IMAGE], the call's facts in TANDEM_* variables,
 * stdin at end of file, stdout and stderr captured (HANDLER_OUTPUT_MAX
 * each, the rest read and dropped), a time limit after which its process
 * group is killed. It must not block the caller past that limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handlers/handlers.h"

extern char **environ;

#define HANDLER_ENV_MAX		16	/* TANDEM_* variables of a call */

const char *handler_action_name(enum handler_action action)
{
	switch (action) {
	case HANDLER_INSTALL:
		return "install";
	case HANDLER_VERIFY:
		return "verify";
	case HANDLER_VERSION:
		break;
	}
	return "version";
}

struct capture {
	char data[HANDLER_OUTPUT_MAX + 1];
	size_t len;
	bool open;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One read: > 0 bytes read (kept up to the limit), 0 at end of file
 * (closed), -1 nothing there now. */
static ssize_t capture_read(int fd, struct capture *c)
{
	char chunk[1024];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	size_t room;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0) {
		c->open = false;
		return 0;
	}
	room = HANDLER_OUTPUT_MAX - c->len;
	if ((size_t)n < room)
		room = (size_t)n;
	memcpy(c->data + c->len, chunk, room);
	c->len += room;
	c->data[c->len] = '\0';
	return n;
}

/* The last non-empty line of an output, printable only, bounded. */
static void last_line(const struct capture *c, char *out, size_t len)
{
	size_t end = c->len, start, o = 0;

	while (end && (c->data[end - 1] == '\n' || c->data[end - 1] == '\r' ||
		       c->data[end - 1] == ' '))
		end--;
	for (start = end; start && c->data[start - 1] != '\n'; start--)
		;
	for (size_t i = start; i < end && o + 1 < len; i++) {
		unsigned char ch = (unsigned char)c->data[i];

		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[o] = '\0';
}

/* The version: stdout's first line, printable and not empty. */
static int first_line_version(const struct capture *c, char *out,
			      size_t len)
{
	size_t n = strcspn(c->data, "\n");

	while (n && (c->data[n - 1] == '\r' || c->data[n - 1] == ' '))
		n--;
	if (n == 0 || n >= len || n >= BUNDLE_VERSION_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c->data[i] < 0x20 ||
		    (unsigned char)c->data[i] >= 0x7f)
			return -1;
	memcpy(out, c->data, n);
	out[n] = '\0';
	return 0;
}

static int env_add(char **env, size_t *n, const char *name,
		   const char *value)
{
	size_t len;

	if (!value)
		return 0;
	len = strlen(name) + strlen(value) + 2;
	env[*n] = malloc(len);
	if (!env[*n])
		return -1;
	snprintf(env[*n], len, "%s=%s", name, value);
	(*n)++;
	return 0;
}

/* The call's TANDEM_* variables first, then the daemon's environment
 * without its own TANDEM_* ones (a handler sees only this call's). */
static char **env_build(enum handler_action action,
			const struct handler_call *call)
{
	size_t outer = 0, n = 0, i;
	char bank[16], size[24], sha[65], ctl[2] = { call->controller, 0 };
	char **env;

	for (i = 0; environ[i]; i++)
		outer++;
	env = calloc(outer + HANDLER_ENV_MAX + 1, sizeof(*env));
	if (!env)
		return NULL;
	snprintf(bank, sizeof(bank), "%d", call->bank);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)call->size);
	if (call->sha256)
		for (i = 0; i < 32; i++)
			snprintf(sha + 2 * i, 3, "%02x", call->sha256[i]);
	if (env_add(env, &n, "TANDEM_ACTION", handler_action_name(action)) ||
	    env_add(env, &n, "TANDEM_COMPONENT", call->component) ||
	    env_add(env, &n, "TANDEM_CONTROLLER", ctl[0] ? ctl : NULL) ||
	    env_add(env, &n, "TANDEM_STATE", call->state_dir) ||
	    env_add(env, &n, "TANDEM_IMAGE", call->image) ||
	    env_add(env, &n, "TANDEM_BANK", call->bank >= 0 ? bank : NULL) ||
	    env_add(env, &n, "TANDEM_VERSION", call->version) ||
	    env_add(env, &n, "TANDEM_BUNDLE_VERSION", call->bundle_version) ||
	    env_add(env, &n, "TANDEM_IMAGE_SIZE", call->image ? size : NULL) ||
	    env_add(env, &n, "TANDEM_IMAGE_SHA256", call->sha256 ? sha : NULL))
		goto fail;
	for (i = 0; environ[i]; i++) {
		if (!strncmp(environ[i], "TANDEM_", 7))
			continue;
		env[n] = strdup(environ[i]);
		if (!env[n])
			goto fail;
		n++;
	}
	return env;
fail:
	for (i = 0; i < n; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static int spawn(const struct handler *h, enum handler_action action,
		 const struct handler_call *call, int in, int out, int errfd,
		 pid_t *pid, struct err *e)
{
	char *argv[] = { (char *)h->path, (char *)handler_action_name(action),
			 (char *)call->component, (char *)call->image, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char **env = env_build(action, call);
	int rc;

	if (!env)
		return err_set(e, -ENOMEM, "out of memory");
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errfd, STDERR_FILENO);
	/* None of the daemon's sockets or files: only the three above. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	/* Its own process group, so a time-out kills what it started too;
	 * default signals, whatever the daemon blocks or ignores. */
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
	}
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, h->path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	env_free(env);
	if (rc != 0)
		return err_set(e, -rc, "handler %s: cannot start: %s",
			       h->path, strerror(rc));
	return 0;
}

int handler_run(const struct handler *h, enum handler_action action,
		const struct handler_call *call, unsigned timeout_seconds,
		char *version_out, size_t version_size, struct err *e)
{
	static struct capture empty;
	struct capture *out = NULL, *errc = NULL;
	int in[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	int64_t deadline = now_ms() + (int64_t)timeout_seconds * 1000;
	bool timed_out = false;
	char msg[HANDLER_MESSAGE_MAX];
	int status = 0, rc = -1;
	pid_t pid = -1;

	out = calloc(1, sizeof(*out));
	errc = calloc(1, sizeof(*errc));
	if (!out || !errc) {
		err_set(e, -ENOMEM, "out of memory");
		goto done;
	}
	/* stdin: a pipe whose writing end is closed, so a handler reading
	 * it sees end of file at once. */
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(po, O_CLOEXEC) < 0 ||
	    pipe2(pe, O_CLOEXEC) < 0) {
		err_set(e, -errno, "handler %s: pipe: %s", h->path,
			strerror(errno));
		goto done;
	}
	close(in[1]);
	in[1] = -1;
	if (spawn(h, action, call, in[0], po[1], pe[1], &pid, e) < 0)
		goto done;
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	out->open = errc->open = true;
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	/* Read while it runs; once it has exited, what is left in the
	 * pipes. Something it started in the background may hold them open:
	 * its end, not theirs, ends the call. */
	for (;;) {
		struct pollfd fds[2] = {
			{ out->open ? po[0] : -1, POLLIN, 0 },
			{ errc->open ? pe[0] : -1, POLLIN, 0 },
		};
		int64_t left = deadline - now_ms();
		pid_t w;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (out->open || errc->open) {
			if (poll(fds, 2, left > 100 ? 100 : (int)left) > 0) {
				if (fds[0].revents)
					capture_read(po[0], out);
				if (fds[1].revents)
					capture_read(pe[0], errc);
			}
		} else {
			poll(NULL, 0, 10);
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w < 0 && errno != EINTR) {
			err_set(e, -errno, "handler %s: waitpid: %s", h->path,
				strerror(errno));
			goto done;
		}
		if (w == pid) {
			for (bool more = true; more && now_ms() < deadline;) {
				more = false;
				if (out->open && capture_read(po[0], out) > 0)
					more = true;
				if (errc->open &&
				    capture_read(pe[0], errc) > 0)
					more = true;
			}
			kill(-pid, SIGKILL);	/* what it left running */
			break;
		}
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		err_set(e, -ETIMEDOUT, "handler %s %s %s did not finish "
			"within %u s", h->path, handler_action_name(action),
			call->component, timeout_seconds);
		goto done;
	}
	last_line(errc->len ? errc : out->len ? out : &empty, msg,
		  sizeof(msg));
	if (WIFSIGNALED(status)) {
		err_set(e, -EIO, "handler %s %s %s was killed by signal %d%s%s",
			h->path, handler_action_name(action), call->component,
			WTERMSIG(status), msg[0] ? ": " : "", msg);
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		err_set(e, -EIO, "handler %s %s %s failed (exit status %d)%s%s",
			h->path, handler_action_name(action), call->component,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			msg[0] ? ": " : "", msg);
		goto done;
	}
	if (action == HANDLER_VERSION &&
	    first_line_version(out, version_out, version_size) < 0) {
		err_set(e, -EPROTO, "handler %s version %s printed no version "
			"(one line of 1 to %d printable characters)", h->path,
			call->component, BUNDLE_VERSION_MAX - 1);
		goto done;
	}
	rc = 0;
done:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(out);
	free(errc);
	return rc < 0 && e->code < 0 ? e->code : rc;
}
