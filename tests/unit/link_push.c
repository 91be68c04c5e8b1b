/*
 * link_push.c: a fake partner for the security tests. It holds the right
 * enclosure key, claims to be controller A, and pushes a bundle file over
 * the partner link as PFU would (BUNDLE_BEGIN, DATA, END), then prints the
 * receiver's BUNDLE_RESULT. It checks nothing itself: the receiver must.
 *
 *   link-push KEYFILE ADDRESS PORT MIDPLANE_SERIAL BUNDLE TARGET
 *
 * Exit: 0 with the RESULT's JSON on stdout, 1 when the link never came up
 * or no RESULT came within PUSH_WAIT_SECONDS, 2 for bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "link/link.h"

#define PUSH_WAIT_SECONDS 60
#define KEY_FILE_MAX 1024

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool up, answered;
static char result[4096];

static void on_up(void *ctx, const struct link_hello *peer)
{
	(void)ctx;
	(void)peer;
	pthread_mutex_lock(&mu);
	up = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
}

static void on_down(void *ctx, const char *why)
{
	(void)ctx;
	fprintf(stderr, "link-push: link down: %s\n", why);
	pthread_mutex_lock(&mu);
	up = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
}

static int on_frame(void *ctx, unsigned type, const uint8_t *payload,
		    size_t len, struct err *e)
{
	(void)ctx;
	(void)e;
	if (type != LINK_FRAME_BUNDLE_RESULT)
		return 0;
	pthread_mutex_lock(&mu);
	snprintf(result, sizeof(result), "%.*s", (int)len,
		 (const char *)payload);
	answered = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	return 0;
}

static const struct link_handlers handlers = {
	.up = on_up, .down = on_down, .frame = on_frame,
};

/* Waits until *flag or the deadline: whether it is set. */
static bool wait_flag(bool *flag, time_t deadline)
{
	struct timespec until = { .tv_sec = deadline };
	bool set;

	pthread_mutex_lock(&mu);
	while (!*flag &&
	       pthread_cond_timedwait(&cond, &mu, &until) != ETIMEDOUT)
		;
	set = *flag;
	pthread_mutex_unlock(&mu);
	return set;
}

static int key_read(const char *path, uint8_t *key, size_t *len)
{
	struct buf text;
	struct err e;
	size_t n;

	buf_init(&text, KEY_FILE_MAX);
	if (fs_read_file(path, KEY_FILE_MAX, &text, &e) < 0) {
		fprintf(stderr, "link-push: %s\n", e.msg);
		buf_free(&text);
		return -1;
	}
	n = text.len;
	while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == ' '))
		n--;
	if (n > 0)
		text.data[n] = '\0';	/* hex_decode reads a string */
	*len = n / 2;
	if (n % 2 || *len > KEY_FILE_MAX / 2 ||
	    hex_decode(text.data, key, *len) < 0) {
		fprintf(stderr, "link-push: %s: not a hex key\n", path);
		buf_free(&text);
		return -1;
	}
	buf_free(&text);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t key[KEY_FILE_MAX / 2];
	struct link_config lc = { 0 };
	struct buf bundle;
	struct link *l;
	struct err e;
	char begin[256];
	size_t key_len, off;
	uint64_t port;
	time_t deadline;
	int rc = 1;

	if (argc != 7 || !u64_parse(argv[3], 65535, &port)) {
		fprintf(stderr, "usage: link-push KEYFILE ADDRESS PORT "
			"MIDPLANE_SERIAL BUNDLE TARGET\n");
		return 2;
	}
	if (key_read(argv[1], key, &key_len) < 0)
		return 2;
	buf_init(&bundle, 64 * 1024 * 1024);
	if (fs_read_file(argv[5], 64 * 1024 * 1024, &bundle, &e) < 0) {
		fprintf(stderr, "link-push: %s\n", e.msg);
		return 2;
	}
	lc.controller = 'A';
	lc.serial = "FAKE0000A";
	lc.midplane_serial = argv[4];
	lc.partner_address = argv[2];
	lc.partner_port = (uint16_t)port;
	lc.key = key;
	lc.key_len = key_len;
	lc.handlers = &handlers;
	l = link_start(&lc, &e);
	if (!l) {
		fprintf(stderr, "link-push: %s\n", e.msg);
		return 1;
	}
	deadline = time(NULL) + PUSH_WAIT_SECONDS;
	if (!wait_flag(&up, deadline)) {
		fprintf(stderr, "link-push: the link did not come up\n");
		goto out;
	}
	snprintf(begin, sizeof(begin), "{\"target\":\"%s\",\"size\":%zu,"
		 "\"attempt\":1}", argv[6], bundle.len);
	if (link_send(l, LINK_FRAME_BUNDLE_BEGIN, begin, strlen(begin),
		      &e) < 0)
		goto failed;
	for (off = 0; off < bundle.len; off += LINK_BUNDLE_DATA_MAX) {
		size_t n = bundle.len - off;

		if (n > LINK_BUNDLE_DATA_MAX)
			n = LINK_BUNDLE_DATA_MAX;
		/* The receiver may answer early and drop the rest. */
		if (link_send(l, LINK_FRAME_BUNDLE_DATA, bundle.data + off, n,
			      &e) < 0)
			break;
	}
	link_send(l, LINK_FRAME_BUNDLE_END, NULL, 0, &e);
	if (!wait_flag(&answered, deadline)) {
		fprintf(stderr, "link-push: no BUNDLE_RESULT\n");
		goto out;
	}
	printf("%s\n", result);
	rc = 0;
	goto out;
failed:
	fprintf(stderr, "link-push: %s\n", e.msg);
out:
	link_stop(l);
	buf_free(&bundle);
	return rc;
}
