/*
 * test_ftp_stor.c: the FTP server's STOR against a recording ftp_ops over
 * real loopback sockets: names other than the flash targets get 553 and a
 * user without the manage role 550, in both cases before any code load
 * begins; flash and flash:force begin one (force only for the second) and
 * hand over exactly the bytes sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ftp/ftp.h"

/* What the server asked of the controller. */
struct record {
	pthread_mutex_t lock;
	int begun;
	bool force;
	size_t received;
	int done;
};

static struct record rec = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The record as the server threads left it (read under its lock). */
static struct record recorded(void)
{
	struct record r;

	pthread_mutex_lock(&rec.lock);
	r = rec;
	pthread_mutex_unlock(&rec.lock);
	return r;
}

/* upload_done runs after the reply is sent: wait for it, with a deadline. */
static int recorded_done(int want)
{
	int i;

	for (i = 0; i < 500 && recorded().done < want; i++)
		usleep(10000);
	return recorded().done;
}

static int fake_authenticate(void *ctx, const char *user, const char *pass,
			     const char *peer, bool *may_flash, struct err *e)
{
	(void)ctx;
	(void)peer;
	if (strcmp(pass, "secret") != 0)
		return err_set(e, -1, "wrong password");
	*may_flash = strcmp(user, "manage") == 0;
	return 0;
}

static void *fake_begin(void *ctx, const char *user, bool force,
			struct err *e)
{
	(void)ctx;
	(void)user;
	(void)e;
	pthread_mutex_lock(&rec.lock);
	rec.begun++;
	rec.force = force;
	rec.received = 0;
	pthread_mutex_unlock(&rec.lock);
	return &rec;
}

static int fake_pull(void *ctx, void *job,
		     ssize_t (*pull)(void *arg, uint8_t *buf, size_t len,
				     struct err *e),
		     void *arg, struct err *e)
{
	uint8_t buf[4096];
	ssize_t n;

	(void)ctx;
	(void)job;
	while ((n = pull(arg, buf, sizeof(buf), e)) > 0) {
		pthread_mutex_lock(&rec.lock);
		rec.received += (size_t)n;
		pthread_mutex_unlock(&rec.lock);
	}
	return n < 0 ? (int)n : 0;
}

static int fake_finish(void *ctx, void *job, struct buf *report,
		       void (*keepalive)(void *session, const char *line),
		       void *session, struct err *e)
{
	(void)ctx;
	(void)job;
	(void)keepalive;
	(void)session;
	(void)e;
	buf_append_str(report, "Codeload completed successfully.");
	return 0;
}

static void fake_abort(void *ctx, void *job, const char *why)
{
	(void)ctx;
	(void)job;
	(void)why;
}

static void fake_done(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&rec.lock);
	rec.done++;
	pthread_mutex_unlock(&rec.lock);
}

static const struct ftp_ops fake_ops = {
	.authenticate = fake_authenticate,
	.upload_begin = fake_begin,
	.upload_pull = fake_pull,
	.upload_finish = fake_finish,
	.upload_abort = fake_abort,
	.upload_done = fake_done,
};

static struct ftp_server *srv;
static int ctrl = -1;
static char pending[4096];
static size_t pending_len;

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The next final reply line ("NNN text"), multi-line replies skipped. */
static const char *reply(void)
{
	static char line[1024];

	for (;;) {
		char *nl = memchr(pending, '\n', pending_len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - pending) + 1;

			snprintf(line, sizeof(line), "%.*s", (int)len - 2,
				 pending);
			memmove(pending, pending + len, pending_len - len);
			pending_len -= len;
			if (strlen(line) >= 4 && line[3] == ' ')
				return line;
			continue;
		}
		n = recv(ctrl, pending + pending_len,
			 sizeof(pending) - pending_len, 0);
		if (n <= 0)
			fail_msg("connection ended waiting for a reply");
		pending_len += (size_t)n;
	}
}

static const char *command(const char *line)
{
	char out[512];
	int n = snprintf(out, sizeof(out), "%s\r\n", line);

	assert_int_equal(send(ctrl, out, (size_t)n, 0), n);
	return reply();
}

static void login(const char *user)
{
	char line[64];

	ctrl = connect_to(ftp_server_port(srv));
	pending_len = 0;
	assert_int_equal(strncmp(reply(), "220 ", 4), 0);
	snprintf(line, sizeof(line), "USER %s", user);
	assert_int_equal(strncmp(command(line), "331 ", 4), 0);
	assert_int_equal(strncmp(command("PASS secret"), "230 ", 4), 0);
}

static void logout(void)
{
	command("QUIT");
	close(ctrl);
	ctrl = -1;
}

static int setup(void **state)
{
	struct ftp_config cfg = { .address = "127.0.0.1", .port = 0,
				  .ops = &fake_ops };
	struct err e;

	(void)state;
	srv = ftp_server_start(&cfg, &e);
	assert_non_null(srv);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ftp_server_stop(srv);
	return 0;
}

/* STOR through a passive data connection carrying len bytes. */
static const char *stor(const char *target, size_t len)
{
	unsigned h1, h2, h3, h4, p1, p2;
	const char *r = command("PASV");
	char line[300], *data;
	int fd;

	assert_int_equal(strncmp(r, "227 ", 4), 0);
	assert_int_equal(sscanf(strchr(r, '(') + 1, "%u,%u,%u,%u,%u,%u", &h1,
				&h2, &h3, &h4, &p1, &p2), 6);
	fd = connect_to((uint16_t)(p1 * 256 + p2));
	snprintf(line, sizeof(line), "STOR %s", target);
	assert_int_equal(send(ctrl, line, strlen(line), 0), (ssize_t)strlen(line));
	assert_int_equal(send(ctrl, "\r\n", 2, 0), 2);
	r = reply();
	if (strncmp(r, "150", 3) != 0) {
		close(fd);
		return r;
	}
	data = calloc(1, len);
	assert_int_equal(send(fd, data, len, 0), (ssize_t)len);
	free(data);
	close(fd);
	return reply();
}

static void test_other_names_refused_before_any_load(void **state)
{
	static const char *const names[] = {
		"firmware.bin", "../flash", "/flash/x", "flash:bogus",
		"FLASH2", "flash/", "/tmp/flash",
	};
	size_t i;

	(void)state;
	login("manage");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *r = stor(names[i], 10);

		if (strncmp(r, "553 ", 4) != 0)
			fail_msg("STOR %s: %s", names[i], r);
	}
	logout();
	assert_int_equal(recorded().begun, 0);
}

static void test_user_without_manage_role_gets_550(void **state)
{
	const char *r;

	(void)state;
	login("viewer");
	r = stor("flash", 10);
	assert_int_equal(strncmp(r, "550 Permission denied", 21), 0);
	r = stor("flash:force", 10);
	assert_int_equal(strncmp(r, "550 ", 4), 0);
	logout();
	assert_int_equal(recorded().begun, 0);
}

static void test_flash_targets_begin_a_load(void **state)
{
	const char *r;

	(void)state;
	login("manage");
	r = stor("flash", 70000);
	assert_int_equal(strncmp(r, "226 ", 4), 0);
	assert_int_equal(recorded().begun, 1);
	assert_false(recorded().force);
	assert_int_equal(recorded().received, 70000);
	assert_int_equal(recorded_done(1), 1);
	r = stor("flash:force", 1234);
	assert_int_equal(strncmp(r, "226 ", 4), 0);
	assert_int_equal(recorded().begun, 2);
	assert_true(recorded().force);
	assert_int_equal(recorded().received, 1234);
	assert_int_equal(recorded_done(2), 2);
	logout();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_names_refused_before_any_load),
		cmocka_unit_test(test_user_without_manage_role_gets_550),
		cmocka_unit_test(test_flash_targets_begin_a_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
