/*
 * test_link.c: two partner links in one process over 127.0.0.1 (B
 * listening on a free port, A dialing it), and raw TLS peers made with the
 * link's own context for what a real partner never does (go silent, claim
 * our controller id). Every wait is on a condition with a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "link/internal.h"
#include "link/link.h"

#define WAIT_SECONDS	20	/* any state the tests wait for */
#define STREAM_BYTES	(10u << 20)
#define STREAM_FRAME	LINK_BUNDLE_DATA_MAX
#define SEQ_FRAMES	200

static const char key_one[] =
	"f67b40fc15be4a7c40acdb3a2a4340bf4eaf2f700fb05d66a1b2c3d4e5f60718";
static const char key_two[] =
	"0000000000000000000000000000000000000000000000000000000000000001";

/* What one side's handlers saw. */
struct side {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned ups, downs, refusals;
	char down_why[LINK_WHY_MAX];
	char first_down_why[LINK_WHY_MAX];
	char refused_why[LINK_WHY_MAX];
	struct link_hello peer;
	unsigned frames;		/* EVENT frames, in sequence */
	bool out_of_order;
	uint64_t stream_bytes;		/* BUNDLE_DATA bytes, checked */
	bool stream_bad;
	unsigned block_ms;		/* STATE frames block this long */
	unsigned states;
	bool up_during_down;		/* an up() before the last down() */
	bool is_up;
};

static void side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
}

/* A consistent copy, for assertions from the test's thread. */
static struct side snap(struct side *s)
{
	struct side copy;

	pthread_mutex_lock(&s->mu);
	copy = *s;
	pthread_mutex_unlock(&s->mu);
	return copy;
}

static void side_free(struct side *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
}

static void on_up(void *ctx, const struct link_hello *peer)
{
	struct side *s = ctx;

	pthread_mutex_lock(&s->mu);
	if (s->is_up)
		s->up_during_down = true;
	s->is_up = true;
	s->ups++;
	s->peer = *peer;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static void on_down(void *ctx, const char *why)
{
	struct side *s = ctx;

	pthread_mutex_lock(&s->mu);
	s->is_up = false;
	s->downs++;
	if (s->downs == 1)
		snprintf(s->first_down_why, sizeof(s->first_down_why), "%s",
			 why);
	snprintf(s->down_why, sizeof(s->down_why), "%s", why);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static void on_refused(void *ctx, const char *peer, const char *why)
{
	struct side *s = ctx;

	(void)peer;
	pthread_mutex_lock(&s->mu);
	s->refusals++;
	snprintf(s->refused_why, sizeof(s->refused_why), "%s", why);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static uint8_t stream_byte(uint64_t offset)
{
	return (uint8_t)(offset * 2654435761u >> 13);
}

static int on_frame(void *ctx, unsigned type, const uint8_t *payload,
		    size_t len, struct err *e)
{
	struct side *s = ctx;
	unsigned block = 0;

	pthread_mutex_lock(&s->mu);
	switch (type) {
	case LINK_FRAME_EVENT: {
		char expect[32];

		snprintf(expect, sizeof(expect), "{\"seq\":%u}", s->frames);
		if (len != strlen(expect) || memcmp(payload, expect, len) != 0)
			s->out_of_order = true;
		s->frames++;
		break;
	}
	case LINK_FRAME_BUNDLE_DATA:
		for (size_t i = 0; i < len; i++)
			if (payload[i] != stream_byte(s->stream_bytes + i))
				s->stream_bad = true;
		s->stream_bytes += len;
		break;
	case LINK_FRAME_STATE:
		block = s->block_ms;
		break;
	case LINK_FRAME_COMMAND:
		pthread_mutex_unlock(&s->mu);
		return err_set(e, -ENOSPC, "no room for the bundle");
	case LINK_FRAME_PFU_RECORD:
		pthread_mutex_unlock(&s->mu);
		return err_set(e, -EPROTO, "record: no \"target\" member");
	default:
		break;
	}
	pthread_mutex_unlock(&s->mu);
	if (block) {
		/* The stimulus, not a wait: a handler that writes flash for
		 * longer than the heartbeat window. */
		struct timespec ts = { .tv_sec = block / 1000,
				       .tv_nsec = (long)(block % 1000) *
						  1000000 };

		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&s->mu);
	if (type == LINK_FRAME_STATE)
		s->states++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static const struct link_handlers handlers = {
	.up = on_up,
	.down = on_down,
	.frame = on_frame,
	.refused = on_refused,
};

/* Waits until cond (an expression over s) holds; fails the test after
 * WAIT_SECONDS. */
#define WAIT_UNTIL(side_, cond_)                                                  \
	do {                                                                 \
		struct timespec until_;                                      \
		int rc_ = 0;                                                 \
		clock_gettime(CLOCK_REALTIME, &until_);                      \
		until_.tv_sec += WAIT_SECONDS;                               \
		pthread_mutex_lock(&(side_)->mu);                                \
		while (!(cond_) && rc_ == 0)                                  \
			rc_ = pthread_cond_timedwait(&(side_)->cond, &(side_)->mu,   \
						     &until_);               \
		pthread_mutex_unlock(&(side_)->mu);                              \
		if (rc_ != 0)                                                \
			fail_msg("timed out waiting for: %s", #cond_);        \
	} while (0)

struct pair {
	struct side a, b;
	struct link *la, *lb;
};

static struct link_config config(char controller, struct side *s,
				 const char *key)
{
	return (struct link_config){
		.controller = controller,
		.serial = controller == 'A' ? "SN-A" : "SN-B",
		.midplane_serial = "MP-1",
		.listen_address = "127.0.0.1",
		.partner_address = "127.0.0.1",
		.key = (const uint8_t *)key,
		.key_len = strlen(key),
		.heartbeat_ms = 50,
		.heartbeat_missed = 3,
		.backoff_min_ms = 10,
		.backoff_max_ms = 100,
		.admission = { .login_seconds = 5, .write_seconds = 5 },
		.handlers = &handlers,
		.ctx = s,
	};
}

static struct link *start(const struct link_config *cfg)
{
	struct err e = { 0 };
	struct link *l = link_start(cfg, &e);

	if (!l)
		fail_msg("link_start: %s", e.msg);
	return l;
}

static void pair_start_with(struct pair *p, struct link_config *ca,
			    struct link_config *cb)
{
	p->lb = start(cb);
	ca->partner_port = link_listen_port(p->lb);
	assert_true(ca->partner_port != 0);
	p->la = start(ca);
}

static void pair_start(struct pair *p)
{
	struct link_config ca, cb;

	side_init(&p->a);
	side_init(&p->b);
	ca = config('A', &p->a, key_one);
	cb = config('B', &p->b, key_one);
	pair_start_with(p, &ca, &cb);
}

static void pair_stop(struct pair *p)
{
	link_stop(p->la);
	link_stop(p->lb);
	/* I1 of link.c: down() after each up(), never an up() in between. */
	assert_int_equal(p->a.ups, p->a.downs);
	assert_int_equal(p->b.ups, p->b.downs);
	assert_false(p->a.up_during_down);
	assert_false(p->b.up_during_down);
	side_free(&p->a);
	side_free(&p->b);
}

static void test_up_and_frames_both_ways(void **state)
{
	struct pair p;
	struct err e = { 0 };
	char msg[32];

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	assert_int_equal(snap(&p.a).peer.controller, 'B');
	assert_string_equal(snap(&p.a).peer.serial, "SN-B");
	assert_int_equal(snap(&p.b).peer.controller, 'A');
	assert_string_equal(snap(&p.b).peer.midplane_serial, "MP-1");
	/* up() runs once the HELLOs are in: sending works from here on;
	 * wait for link_is_up, which the reader sets before up(). */
	assert_true(link_is_up(p.la));
	assert_true(link_is_up(p.lb));
	for (unsigned i = 0; i < SEQ_FRAMES; i++) {
		snprintf(msg, sizeof(msg), "{\"seq\":%u}", i);
		assert_int_equal(link_send(p.la, LINK_FRAME_EVENT, msg,
					   strlen(msg), &e), 0);
		assert_int_equal(link_send(p.lb, LINK_FRAME_EVENT, msg,
					   strlen(msg), &e), 0);
	}
	WAIT_UNTIL(&p.b, p.b.frames == SEQ_FRAMES);
	WAIT_UNTIL(&p.a, p.a.frames == SEQ_FRAMES);
	assert_false(snap(&p.a).out_of_order);
	assert_false(snap(&p.b).out_of_order);
	/* The API refuses what the wire cannot carry. */
	assert_int_equal(link_send(p.la, 0, NULL, 0, &e), -EINVAL);
	assert_int_equal(link_send(p.la, LINK_FRAME_TYPE_MAX + 1, NULL, 0,
				   &e), -EINVAL);
	assert_int_equal(link_send(p.la, LINK_FRAME_BUNDLE_DATA, msg,
				   LINK_FRAME_MAX + 1, &e), -EMSGSIZE);
	assert_int_equal(snap(&p.a).downs, 0);
	pair_stop(&p);
}

static void test_stream_10_mib(void **state)
{
	struct pair p;
	struct err e = { 0 };
	uint8_t *chunk = malloc(STREAM_FRAME);
	uint64_t off = 0;

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	while (off < STREAM_BYTES) {
		for (size_t i = 0; i < STREAM_FRAME; i++)
			chunk[i] = stream_byte(off + i);
		assert_int_equal(link_send(p.la, LINK_FRAME_BUNDLE_DATA, chunk,
					   STREAM_FRAME, &e), 0);
		off += STREAM_FRAME;
	}
	WAIT_UNTIL(&p.b, p.b.stream_bytes == STREAM_BYTES);
	assert_false(snap(&p.b).stream_bad);
	assert_int_equal(snap(&p.a).downs, 0);
	assert_int_equal(snap(&p.b).downs, 0);
	free(chunk);
	pair_stop(&p);
}

static void test_stop_one_side_brings_the_other_down(void **state)
{
	struct pair p;
	struct err e = { 0 };

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	link_stop(p.lb);
	assert_int_equal(snap(&p.b).downs, 1);
	assert_string_equal(snap(&p.b).down_why, "the link was stopped");
	WAIT_UNTIL(&p.a, p.a.downs == 1);
	assert_string_equal(snap(&p.a).down_why, "closed by the partner");
	assert_false(link_is_up(p.la));
	assert_int_equal(link_send(p.la, LINK_FRAME_EVENT, "{}", 2, &e),
			 -ENOTCONN);
	link_stop(p.la);
	assert_int_equal(snap(&p.a).ups, 1);
	side_free(&p.a);
	side_free(&p.b);
}

static void test_drop_then_reconnect(void **state)
{
	struct pair p;
	struct err e = { 0 };

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	link_drop(p.la, "fault: link drop");
	WAIT_UNTIL(&p.a, p.a.downs == 1);
	assert_string_equal(snap(&p.a).down_why, "fault: link drop");
	WAIT_UNTIL(&p.b, p.b.downs == 1);
	WAIT_UNTIL(&p.a, p.a.ups == 2);
	WAIT_UNTIL(&p.b, p.b.ups == 2);
	assert_int_equal(link_send(p.lb, LINK_FRAME_EVENT, "{\"seq\":0}", 9,
				   &e), 0);
	WAIT_UNTIL(&p.a, p.a.frames == 1);
	/* B drops too: A redials again. */
	link_drop(p.lb, "fault: link drop on B");
	WAIT_UNTIL(&p.a, p.a.ups == 3);
	WAIT_UNTIL(&p.b, p.b.ups == 3);
	assert_int_equal(snap(&p.a).refusals + snap(&p.b).refusals, 0);
	pair_stop(&p);
}

static void test_wrong_key_refused_on_both_sides(void **state)
{
	struct pair p;
	struct link_config ca, cb;

	(void)state;
	side_init(&p.a);
	side_init(&p.b);
	ca = config('A', &p.a, key_two);
	cb = config('B', &p.b, key_one);
	pair_start_with(&p, &ca, &cb);
	/* A retries: wait for a few refusals on each side. */
	WAIT_UNTIL(&p.b, p.b.refusals >= 3);
	WAIT_UNTIL(&p.a, p.a.refusals >= 3);
	assert_non_null(strstr(snap(&p.a).refused_why, "TLS handshake failed: "));
	assert_non_null(strstr(snap(&p.b).refused_why, "TLS handshake failed: "));
	assert_false(link_is_up(p.la));
	assert_int_equal(snap(&p.a).ups + snap(&p.b).ups, 0);
	/* pair_stop checks downs == ups: none. */
	pair_stop(&p);
}

static void test_other_midplane_refused(void **state)
{
	struct pair p;
	struct link_config ca, cb;

	(void)state;
	side_init(&p.a);
	side_init(&p.b);
	ca = config('A', &p.a, key_one);
	cb = config('B', &p.b, key_one);
	cb.midplane_serial = "MP-2";
	pair_start_with(&p, &ca, &cb);
	WAIT_UNTIL(&p.b, p.b.refusals >= 2);
	WAIT_UNTIL(&p.a, p.a.refusals >= 2);
	assert_non_null(strstr(snap(&p.b).refused_why, "midplane MP-1"));
	assert_non_null(strstr(snap(&p.a).refused_why, "midplane MP-2"));
	assert_int_equal(snap(&p.a).ups + snap(&p.b).ups, 0);
	pair_stop(&p);
}

/* ---- raw TLS peers, built from the link's own context ---- */

static int tcp_listen_any(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int tcp_dial(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static SSL *raw_tls(SSL_CTX *ctx, int fd, bool server)
{
	SSL *ssl = SSL_new(ctx);

	assert_non_null(ssl);
	SSL_set_fd(ssl, fd);
	assert_int_equal(server ? SSL_accept(ssl) : SSL_connect(ssl), 1);
	return ssl;
}

static void raw_hello(SSL *ssl, char controller)
{
	struct link_hello h = { .controller = controller,
				.protocol = LINK_PROTOCOL,
				.serial = "SN-RAW",
				.midplane_serial = "MP-1" };
	struct buf json, frame;

	buf_init(&json, 4096);
	buf_init(&frame, 4096);
	assert_int_equal(link_hello_encode(&h, &json), 0);
	assert_int_equal(link_frame_encode(&frame, LINK_FRAME_HELLO, json.data,
					   json.len), 0);
	assert_int_equal(SSL_write(ssl, frame.data, (int)frame.len),
			 (int)frame.len);
	buf_free(&json);
	buf_free(&frame);
}

/* Reads until the link closes the connection; returns the bytes read. */
static size_t raw_read_to_end(SSL *ssl)
{
	char data[4096];
	size_t total = 0;
	int n;

	while ((n = SSL_read(ssl, data, sizeof(data))) > 0)
		total += (size_t)n;
	return total;
}

static void test_silent_peer_misses_heartbeats(void **state)
{
	struct side a;
	struct link_config ca;
	struct err e = { 0 };
	SSL_CTX *ctx = link_tls_ctx_new((const uint8_t *)key_one,
					strlen(key_one), true, &e);
	uint16_t port;
	int lfd = tcp_listen_any(&port), fd;
	struct link *la;
	SSL *ssl;

	(void)state;
	assert_non_null(ctx);
	side_init(&a);
	ca = config('A', &a, key_one);
	ca.partner_port = port;
	la = start(&ca);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	ssl = raw_tls(ctx, fd, true);
	raw_hello(ssl, 'B');
	WAIT_UNTIL(&a, a.ups == 1);
	/* Says nothing more, reads nothing, keeps the socket open. */
	WAIT_UNTIL(&a, a.downs == 1);
	assert_non_null(strstr(snap(&a).down_why, "heartbeat"));
	assert_non_null(strstr(snap(&a).down_why, "3 heartbeats missed"));
	assert_int_equal(snap(&a).refusals, 0);
	link_stop(la);
	SSL_free(ssl);
	close(fd);
	close(lfd);
	link_tls_ctx_free(ctx);
	side_free(&a);
}

static void test_peer_claiming_our_id_refused(void **state)
{
	struct side b;
	struct link_config cb;
	struct err e = { 0 };
	SSL_CTX *ctx = link_tls_ctx_new((const uint8_t *)key_one,
					strlen(key_one), false, &e);
	struct link *lb;
	SSL *ssl;
	int fd;

	(void)state;
	assert_non_null(ctx);
	side_init(&b);
	cb = config('B', &b, key_one);
	lb = start(&cb);
	fd = tcp_dial(link_listen_port(lb));
	ssl = raw_tls(ctx, fd, false);
	raw_hello(ssl, 'B');
	/* B's own HELLO comes, then the connection ends. */
	assert_true(raw_read_to_end(ssl) > LINK_FRAME_HEADER);
	WAIT_UNTIL(&b, b.refusals == 1);
	assert_non_null(strstr(snap(&b).refused_why,
			       "claims to be controller B, as we are"));
	assert_int_equal(snap(&b).ups, 0);
	SSL_free(ssl);
	close(fd);
	link_stop(lb);
	assert_int_equal(snap(&b).downs, 0);
	link_tls_ctx_free(ctx);
	side_free(&b);
}

static void test_malformed_frame_refused_and_redialed(void **state)
{
	struct side a;
	struct link_config ca;
	struct err e = { 0 };
	SSL_CTX *ctx = link_tls_ctx_new((const uint8_t *)key_one,
					strlen(key_one), true, &e);
	uint16_t port;
	int lfd = tcp_listen_any(&port), fd;
	struct link *la;
	SSL *ssl;

	(void)state;
	side_init(&a);
	ca = config('A', &a, key_one);
	ca.partner_port = port;
	la = start(&ca);
	fd = accept(lfd, NULL, NULL);
	ssl = raw_tls(ctx, fd, true);
	raw_hello(ssl, 'B');
	WAIT_UNTIL(&a, a.ups == 1);
	assert_int_equal(SSL_write(ssl, "\x2a\0\0\0\0", 5), 5);
	WAIT_UNTIL(&a, a.downs == 1);
	assert_int_equal(snap(&a).refusals, 1);
	assert_non_null(strstr(snap(&a).refused_why, "malformed frame: "));
	assert_non_null(strstr(snap(&a).refused_why, "unknown type 42"));
	assert_non_null(strstr(snap(&a).down_why, "unknown type 42"));
	raw_read_to_end(ssl);
	SSL_free(ssl);
	close(fd);
	/* A dials again. */
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	ssl = raw_tls(ctx, fd, true);
	raw_hello(ssl, 'B');
	WAIT_UNTIL(&a, a.ups == 2);
	link_stop(la);
	assert_int_equal(snap(&a).downs, 2);
	SSL_free(ssl);
	close(fd);
	close(lfd);
	link_tls_ctx_free(ctx);
	side_free(&a);
}

static void test_blocking_handler_keeps_the_link(void **state)
{
	struct pair p;
	struct err e = { 0 };
	unsigned window;

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	/* 3 heartbeats of 50 ms: a handler blocking 8 windows. */
	window = 50 * 3;
	pthread_mutex_lock(&p.b.mu);
	p.b.block_ms = 8 * window;
	pthread_mutex_unlock(&p.b.mu);
	assert_int_equal(link_send(p.la, LINK_FRAME_STATE, "{}", 2, &e), 0);
	assert_int_equal(link_send(p.la, LINK_FRAME_STATE, "{}", 2, &e), 0);
	WAIT_UNTIL(&p.b, p.b.states == 2);
	assert_int_equal(snap(&p.a).downs, 0);
	assert_int_equal(snap(&p.b).downs, 0);
	assert_true(link_is_up(p.la));
	assert_true(link_is_up(p.lb));
	pair_stop(&p);
}

static void test_start_refusals(void **state)
{
	struct side s;
	struct link_config c;
	struct err e = { 0 };

	(void)state;
	side_init(&s);
	c = config('C', &s, key_one);
	assert_null(link_start(&c, &e));
	assert_int_equal(e.code, -EINVAL);
	c = config('A', &s, "short");
	assert_null(link_start(&c, &e));
	assert_non_null(strstr(e.msg, "under the 16"));
	c = config('B', &s, key_one);
	c.listen_address = "not-an-address";
	assert_null(link_start(&c, &e));
	assert_non_null(strstr(e.msg, "bad address"));
	side_free(&s);
}

static void test_handler_refusal_drops_the_connection(void **state)
{
	struct pair p;
	struct err e = { 0 };

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	assert_int_equal(link_send(p.la, LINK_FRAME_COMMAND, "{}", 2, &e), 0);
	WAIT_UNTIL(&p.b, p.b.downs == 1);
	assert_string_equal(snap(&p.b).down_why,
			    "the COMMAND frame was not taken: no room for the "
			    "bundle");
	WAIT_UNTIL(&p.a, p.a.downs == 1);
	/* Not a refusal: the partner is who it says; the link comes back. */
	WAIT_UNTIL(&p.a, p.a.ups == 2);
	WAIT_UNTIL(&p.b, p.b.ups == 2);
	assert_int_equal(snap(&p.a).refusals + snap(&p.b).refusals, 0);
	pair_stop(&p);
}

/* A frame whose content the handler finds malformed is refused with the
 * handler's own reason, as a malformed frame is. */
static void test_handler_protocol_error_refused_with_its_reason(void **state)
{
	struct pair p;
	struct err e = { 0 };

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	assert_int_equal(link_send(p.la, LINK_FRAME_PFU_RECORD, "{}", 2, &e),
			 0);
	WAIT_UNTIL(&p.b, p.b.refusals == 1);
	assert_string_equal(snap(&p.b).refused_why,
			    "the PFU_RECORD frame was not taken: record: no "
			    "\"target\" member");
	pair_stop(&p);
}

static void test_new_connection_replaces_the_old(void **state)
{
	struct pair p;
	struct err e = { 0 };
	SSL_CTX *ctx = link_tls_ctx_new((const uint8_t *)key_one,
					strlen(key_one), false, &e);
	SSL *ssl;
	int fd;

	(void)state;
	pair_start(&p);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	WAIT_UNTIL(&p.b, p.b.ups == 1);
	/* A restarted, as B sees it: a new authenticated connection while
	 * the old one still stands. */
	fd = tcp_dial(link_listen_port(p.lb));
	ssl = raw_tls(ctx, fd, false);
	raw_hello(ssl, 'A');
	WAIT_UNTIL(&p.b, p.b.ups == 2);
	assert_string_equal(snap(&p.b).first_down_why,
			    "replaced by a new connection from the partner");
	assert_string_equal(snap(&p.b).peer.serial, "SN-RAW");
	/* The old A saw its link end, and redials: B takes it back. */
	WAIT_UNTIL(&p.a, p.a.downs >= 1);
	WAIT_UNTIL(&p.b, p.b.ups == 3 && p.b.is_up);
	assert_string_equal(snap(&p.b).peer.serial, "SN-A");
	raw_read_to_end(ssl);
	SSL_free(ssl);
	close(fd);
	link_tls_ctx_free(ctx);
	assert_int_equal(snap(&p.b).refusals, 0);
	pair_stop(&p);
}

static void test_write_deadline(void **state)
{
	struct side a;
	struct link_config ca;
	struct err e = { 0 };
	SSL_CTX *ctx = link_tls_ctx_new((const uint8_t *)key_one,
					strlen(key_one), true, &e);
	uint8_t *chunk = calloc(1, STREAM_FRAME);
	uint16_t port;
	int lfd = tcp_listen_any(&port), fd, rc = 0;
	struct link *la;
	SSL *ssl;
	unsigned sent = 0;

	(void)state;
	side_init(&a);
	ca = config('A', &a, key_one);
	ca.partner_port = port;
	ca.heartbeat_ms = 60000;	/* silence is not what fails here */
	ca.admission.write_seconds = 1;
	la = start(&ca);
	fd = accept(lfd, NULL, NULL);
	ssl = raw_tls(ctx, fd, true);
	raw_hello(ssl, 'B');
	WAIT_UNTIL(&a, a.ups == 1);
	/* The peer reads nothing: the socket buffers fill, then the write
	 * deadline ends the link. */
	while (rc == 0 && sent < 4096) {
		rc = link_send(la, LINK_FRAME_BUNDLE_DATA, chunk, STREAM_FRAME,
			       &e);
		sent++;
	}
	assert_int_equal(rc, -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "took nothing for 1 s"));
	WAIT_UNTIL(&a, a.downs == 1);
	assert_non_null(strstr(snap(&a).down_why, "took nothing for 1 s"));
	link_stop(la);
	SSL_free(ssl);
	close(fd);
	close(lfd);
	free(chunk);
	link_tls_ctx_free(ctx);
	side_free(&a);
}

static void test_login_deadline(void **state)
{
	struct side b;
	struct link_config cb;
	struct link *lb;
	char byte;
	int fd;

	(void)state;
	side_init(&b);
	cb = config('B', &b, key_one);
	cb.admission.login_seconds = 1;
	lb = start(&cb);
	/* Connects and says nothing: no handshake, cut at the deadline. */
	fd = tcp_dial(link_listen_port(lb));
	WAIT_UNTIL(&b, b.refusals == 1);
	assert_non_null(strstr(snap(&b).refused_why, "TLS handshake failed: "));
	assert_non_null(strstr(snap(&b).refused_why, "login time"));
	assert_true(read(fd, &byte, 1) <= 0);
	close(fd);
	link_stop(lb);
	assert_int_equal(snap(&b).ups, 0);
	side_free(&b);
}

/* After link_redial_quickly, A finds a restarted partner again at once,
 * though its back-off (a minute here) would keep it waiting past the
 * test's deadline: its dials fail while B is away and do not back off. */
static void test_quick_redial_after_an_expected_restart(void **state)
{
	struct link_config ca, cb;
	struct side b2;
	struct pair p;
	struct link *lb2;

	(void)state;
	side_init(&p.a);
	side_init(&p.b);
	side_init(&b2);
	ca = config('A', &p.a, key_one);
	ca.backoff_min_ms = ca.backoff_max_ms = 60000;
	cb = config('B', &p.b, key_one);
	pair_start_with(&p, &ca, &cb);
	WAIT_UNTIL(&p.a, p.a.ups == 1);
	link_redial_quickly(p.la, 10000);
	link_stop(p.lb);
	WAIT_UNTIL(&p.a, p.a.downs == 1);
	cb = config('B', &b2, key_one);
	cb.listen_port = ca.partner_port;
	lb2 = start(&cb);
	WAIT_UNTIL(&p.a, p.a.ups == 2);
	WAIT_UNTIL(&b2, b2.ups == 1);
	link_stop(p.la);
	link_stop(lb2);
	assert_int_equal(p.a.ups, p.a.downs);
	side_free(&p.a);
	side_free(&p.b);
	side_free(&b2);
}

static void test_redial_pause(void **state)
{
	(void)state;
	/* Inside the window: the quick step, whatever the back-off. */
	assert_int_equal(link_redial_pause(100, 200, 8000),
			 LINK_REDIAL_QUICK_MS);
	assert_int_equal(link_redial_pause(199, 200, 250),
			 LINK_REDIAL_QUICK_MS);
	/* Never longer than the back-off, and the back-off after it. */
	assert_int_equal(link_redial_pause(100, 200, 10), 10);
	assert_int_equal(link_redial_pause(200, 200, 8000), 8000);
	assert_int_equal(link_redial_pause(5000, 0, 250), 250);
	/* The window's limit: just under, at and over it. */
	assert_int_equal(link_redial_until(1000,
					   LINK_REDIAL_QUICK_WINDOW_MAX_MS - 1),
			 1000 + LINK_REDIAL_QUICK_WINDOW_MAX_MS - 1);
	assert_int_equal(link_redial_until(1000,
					   LINK_REDIAL_QUICK_WINDOW_MAX_MS),
			 1000 + LINK_REDIAL_QUICK_WINDOW_MAX_MS);
	assert_int_equal(link_redial_until(1000,
					   LINK_REDIAL_QUICK_WINDOW_MAX_MS + 1),
			 1000 + LINK_REDIAL_QUICK_WINDOW_MAX_MS);
}

static void test_backoff(void **state)
{
	unsigned w = 250, seen[8];

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(seen); i++) {
		seen[i] = w;
		w = link_backoff_next(w, 250, 10000, false);
	}
	assert_int_equal(seen[0], 250);
	assert_int_equal(seen[1], 500);
	assert_int_equal(seen[5], 8000);
	assert_int_equal(seen[6], 10000);
	assert_int_equal(seen[7], 10000);
	assert_int_equal(link_backoff_next(10000, 250, 10000, true), 250);
	assert_int_equal(link_backoff_next(6000, 250, 10000, false), 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_up_and_frames_both_ways),
		cmocka_unit_test(test_stream_10_mib),
		cmocka_unit_test(test_stop_one_side_brings_the_other_down),
		cmocka_unit_test(test_drop_then_reconnect),
		cmocka_unit_test(test_wrong_key_refused_on_both_sides),
		cmocka_unit_test(test_other_midplane_refused),
		cmocka_unit_test(test_silent_peer_misses_heartbeats),
		cmocka_unit_test(test_peer_claiming_our_id_refused),
		cmocka_unit_test(test_malformed_frame_refused_and_redialed),
		cmocka_unit_test(test_blocking_handler_keeps_the_link),
		cmocka_unit_test(test_handler_refusal_drops_the_connection),
		cmocka_unit_test(
			test_handler_protocol_error_refused_with_its_reason),
		cmocka_unit_test(test_new_connection_replaces_the_old),
		cmocka_unit_test(test_write_deadline),
		cmocka_unit_test(test_login_deadline),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_redial_pause),
		cmocka_unit_test(test_quick_redial_after_an_expected_restart),
	};

	/* As tandemd does: a write to a dropped link fails, not kills. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
