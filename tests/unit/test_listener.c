/*
 * test_listener.c: the admission policy (tcp_admission_choose: room, the
 * per-source limit under, at and over, the victim when full), then a real
 * listener on loopback: the login deadline, authenticated sessions kept,
 * and tcp_conn_send's write deadline against a client that never reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/listener.h"

#define N 6

static struct tcp_slot_state live(const char *peer, int64_t started,
				  bool authenticated)
{
	return (struct tcp_slot_state){ .live = true, .peer = peer,
					.started_ms = started,
					.authenticated = authenticated };
}

static void test_admits_into_a_free_slot(void **state)
{
	struct tcp_slot_state s[N] = { live("a", 1, false),
				       { .leaving = true, .peer = "b" } };
	size_t slot = 99, victim = 99;

	(void)state;
	assert_int_equal(tcp_admission_choose(s, N, 4, 4, "c", &slot,
					      &victim), TCP_ADMIT);
	/* Not the leaving one: its thread has not been joined. */
	assert_int_equal(slot, 2);
	assert_int_equal(victim, 99);
}

static void test_source_limit_under_at_over(void **state)
{
	struct tcp_slot_state s[N] = { live("a", 1, false),
				       live("a", 2, false),
				       live("a", 3, true) };
	size_t slot, victim;

	(void)state;
	/* Two unauthenticated from "a": under a limit of 3, at 2, over 1.
	 * The logged-in one does not count. */
	assert_int_equal(tcp_admission_choose(s, N, N, 3, "a", &slot,
					      &victim), TCP_ADMIT);
	assert_int_equal(tcp_admission_choose(s, N, N, 2, "a", &slot,
					      &victim), TCP_REFUSE_SOURCE);
	assert_int_equal(tcp_admission_choose(s, N, N, 1, "a", &slot,
					      &victim), TCP_REFUSE_SOURCE);
	assert_int_equal(tcp_admission_choose(s, N, N, 1, "b", &slot,
					      &victim), TCP_ADMIT);
}

static void test_full_cuts_oldest_of_the_busiest_source(void **state)
{
	/* Four live of max 4: the operator "op" is the oldest, but "x"
	 * holds two: its older one goes. */
	struct tcp_slot_state s[N] = { live("op", 1, false),
				       live("x", 5, false),
				       live("y", 2, false),
				       live("x", 3, false) };
	size_t slot = 99, victim = 99;

	(void)state;
	assert_int_equal(tcp_admission_choose(s, N, 4, 4, "z", &slot,
					      &victim), TCP_ADMIT_EVICT);
	assert_int_equal(victim, 3);
	assert_int_equal(slot, 4);
	/* One each: the oldest of all. */
	s[3].live = false;
	s[3].leaving = true;
	s[4] = live("w", 9, false);
	assert_int_equal(tcp_admission_choose(s, N, 4, 4, "z", &slot,
					      &victim), TCP_ADMIT_EVICT);
	assert_int_equal(victim, 0);
	assert_int_equal(slot, 5);
}

static void test_logged_in_never_cut(void **state)
{
	struct tcp_slot_state s[N] = { live("a", 1, true), live("b", 2, true),
				       live("c", 9, false) };
	size_t slot, victim = 99;

	(void)state;
	assert_int_equal(tcp_admission_choose(s, N, 3, 4, "d", &slot,
					      &victim), TCP_ADMIT_EVICT);
	assert_int_equal(victim, 2);
	s[2].authenticated = true;
	assert_int_equal(tcp_admission_choose(s, N, 3, 4, "d", &slot,
					      &victim), TCP_REFUSE_FULL);
}

static void test_no_room_while_cut_ones_leave(void **state)
{
	struct tcp_slot_state s[2] = { live("a", 1, false),
				       { .leaving = true, .peer = "b" } };
	size_t slot, victim;

	(void)state;
	assert_int_equal(tcp_admission_choose(s, 2, 1, 4, "c", &slot,
					      &victim), TCP_REFUSE_NO_ROOM);
}

/* ---- a real listener ---- */

struct served {
	pthread_mutex_t mu;
	int sessions;
	int send_rc;
	bool sent;
};

static struct served served = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* A session that logs in when the client sends "L", and answers "W" by
 * sending until its write fails; it ends when its read does. */
static void serve(void *arg, struct tcp_conn *conn)
{
	static char big[1 << 20];
	char c;

	(void)arg;
	pthread_mutex_lock(&served.mu);
	served.sessions++;
	pthread_mutex_unlock(&served.mu);
	while (recv(tcp_conn_fd(conn), &c, 1, 0) == 1) {
		if (c == 'L')
			tcp_conn_authenticated(conn);
		if (c == 'W') {
			/* A small buffer: the send must wait for the client
			 * rather than fit in the kernel. */
			int small = 4096, rc;

			setsockopt(tcp_conn_fd(conn), SOL_SOCKET, SO_SNDBUF,
				   &small, sizeof(small));
			rc = tcp_conn_send(conn, big, sizeof(big));

			pthread_mutex_lock(&served.mu);
			served.send_rc = rc;
			served.sent = true;
			pthread_mutex_unlock(&served.mu);
		}
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Milliseconds until the listener closes fd, at most limit_ms. */
static int64_t closed_after(int fd, int64_t limit_ms)
{
	int64_t start = now_ms();
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = start + limit_ms - now_ms();

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) == 1 &&
		    recv(fd, buf, sizeof(buf), 0) <= 0)
			return now_ms() - start;
	}
}

static struct tcp_listener *start(unsigned sessions)
{
	struct err e = { 0 };
	struct tcp_listener *l = tcp_listener_start(
		&(struct tcp_listener_cfg){
			.name = "test", .address = "127.0.0.1",
			.max_sessions = sessions,
			.admission = { .login_seconds = 1,
				       .write_seconds = 1 },
			.serve = serve },
		&e);

	assert_non_null(l);
	return l;
}

static void test_login_deadline_cuts_only_the_unauthenticated(void **state)
{
	struct tcp_listener *l = start(4);
	int idle = dial(tcp_listener_port(l));
	int in = dial(tcp_listener_port(l));
	int64_t took;

	(void)state;
	assert_int_equal(send(in, "L", 1, 0), 1);
	took = closed_after(idle, 3000);
	assert_in_range(took, 800, 1600);
	/* Well past the deadline, the logged-in one is still served. */
	assert_int_equal(closed_after(in, 1000), -1);
	assert_int_equal(tcp_listener_sessions(l), 1);
	close(idle);
	close(in);
	tcp_listener_stop(l);
}

static void test_send_deadline_against_a_client_that_never_reads(void **state)
{
	struct tcp_listener *l = start(4);
	int fd = dial(tcp_listener_port(l));
	int64_t start_ms = now_ms(), took;
	bool sent = false;

	(void)state;
	/* Logged in, so only the write deadline can end it. */
	assert_int_equal(send(fd, "LW", 2, 0), 2);
	while (!sent && now_ms() - start_ms < 5000) {
		pthread_mutex_lock(&served.mu);
		sent = served.sent;
		pthread_mutex_unlock(&served.mu);
		if (!sent)
			poll(NULL, 0, 20);
	}
	took = now_ms() - start_ms;
	assert_true(sent);
	/* Its own deadline (-ETIMEDOUT) or the listener's watch over the
	 * stalled socket (-EPIPE), whichever came first. */
	assert_true(served.send_rc == -ETIMEDOUT || served.send_rc == -EPIPE);
	assert_in_range(took, 800, 2500);
	close(fd);
	tcp_listener_stop(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admits_into_a_free_slot),
		cmocka_unit_test(test_source_limit_under_at_over),
		cmocka_unit_test(test_full_cuts_oldest_of_the_busiest_source),
		cmocka_unit_test(test_logged_in_never_cut),
		cmocka_unit_test(test_no_room_while_cut_ones_leave),
		cmocka_unit_test(test_login_deadline_cuts_only_the_unauthenticated),
		cmocka_unit_test(
			test_send_deadline_against_a_client_that_never_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
