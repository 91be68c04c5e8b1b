/*
 * link_bench.c: throughput of the partner link on loopback against a plain
 * TCP copy of the same bytes, in the same run. The link carries
 * BUNDLE_DATA frames of LINK_BUNDLE_DATA_MAX bytes from A to B (TLS 1.3,
 * AES-128-GCM); the plain copy writes the same chunks to a TCP socket and
 * a thread reads them. Each is timed from the first write to the last
 * byte received; best of BENCH_RUNS. Prints MiB/s of each and the ratio.
 *
 * Usage: link-bench [MIB]   (default 256)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link/link.h"

#define BENCH_RUNS	3
#define BENCH_CHUNK	LINK_BUNDLE_DATA_MAX

static const char bench_key[] =
	"f67b40fc15be4a7c40acdb3a2a4340bf4eaf2f700fb05d66a1b2c3d4e5f60718";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- plain TCP ---- */

struct sink {
	int fd;
	uint64_t got;
};

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	static char data[BENCH_CHUNK];
	ssize_t n;

	while ((n = read(s->fd, data, sizeof(data))) > 0)
		s->got += (uint64_t)n;
	return NULL;
}

static double tcp_run(uint64_t total, const uint8_t *chunk)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
	struct sink s = { 0 };
	pthread_t t;
	double start;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		perror("tcp");
		exit(1);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	s.fd = accept(lfd, NULL, NULL);
	pthread_create(&t, NULL, sink_main, &s);
	start = now_s();
	for (uint64_t sent = 0; sent < total; sent += BENCH_CHUNK)
		if (write(fd, chunk, BENCH_CHUNK) != BENCH_CHUNK) {
			perror("write");
			exit(1);
		}
	shutdown(fd, SHUT_WR);
	pthread_join(t, NULL);
	start = now_s() - start;
	if (s.got != total) {
		fprintf(stderr, "tcp: %llu of %llu bytes\n",
			(unsigned long long)s.got, (unsigned long long)total);
		exit(1);
	}
	close(s.fd);
	close(fd);
	close(lfd);
	return start;
}

/* ---- the link ---- */

struct counter {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t got;
	bool up;
};

static void on_up(void *ctx, const struct link_hello *peer)
{
	struct counter *c = ctx;

	(void)peer;
	pthread_mutex_lock(&c->mu);
	c->up = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
}

static int on_frame(void *ctx, unsigned type, const uint8_t *payload,
		    size_t len, struct err *e)
{
	struct counter *c = ctx;

	(void)payload, (void)e;
	if (type != LINK_FRAME_BUNDLE_DATA)
		return 0;
	pthread_mutex_lock(&c->mu);
	c->got += len;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static const struct link_handlers handlers = { .up = on_up,
					       .frame = on_frame };

static void wait_for(struct counter *c, bool up, uint64_t got)
{
	pthread_mutex_lock(&c->mu);
	while ((up && !c->up) || c->got < got)
		pthread_cond_wait(&c->cond, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

static double link_run(uint64_t total, const uint8_t *chunk)
{
	struct counter ca = { .mu = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	struct counter cb = ca;
	struct link_config cfg = {
		.serial = "BENCH", .midplane_serial = "BENCH",
		.listen_address = "127.0.0.1",
		.partner_address = "127.0.0.1",
		.key = (const uint8_t *)bench_key,
		.key_len = strlen(bench_key),
		.handlers = &handlers,
	};
	struct err e = { 0 };
	struct link *la, *lb;
	double start;

	cfg.controller = 'B';
	cfg.ctx = &cb;
	lb = link_start(&cfg, &e);
	if (!lb) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	cfg.controller = 'A';
	cfg.ctx = &ca;
	cfg.partner_port = link_listen_port(lb);
	la = link_start(&cfg, &e);
	if (!la) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	wait_for(&ca, true, 0);
	wait_for(&cb, true, 0);
	start = now_s();
	for (uint64_t sent = 0; sent < total; sent += BENCH_CHUNK)
		if (link_send(la, LINK_FRAME_BUNDLE_DATA, chunk, BENCH_CHUNK,
			      &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			exit(1);
		}
	wait_for(&cb, false, total);
	start = now_s() - start;
	link_stop(la);
	link_stop(lb);
	return start;
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
	uint64_t total = mib << 20;
	uint8_t *chunk = malloc(BENCH_CHUNK);
	double best_tcp = 1e9, best_link = 1e9, t;

	signal(SIGPIPE, SIG_IGN);
	if (!chunk || mib == 0)
		return 2;
	for (size_t i = 0; i < BENCH_CHUNK; i++)
		chunk[i] = (uint8_t)(i * 7 + 3);
	for (int run = 0; run < BENCH_RUNS; run++) {
		t = tcp_run(total, chunk);
		if (t < best_tcp)
			best_tcp = t;
		t = link_run(total, chunk);
		if (t < best_link)
			best_link = t;
	}
	printf("plain TCP loopback: %8.1f MiB/s\n", (double)mib / best_tcp);
	printf("partner link:       %8.1f MiB/s (TLS 1.3, %u-byte frames)\n",
	       (double)mib / best_link, BENCH_CHUNK);
	printf("ratio link/tcp:     %8.3f\n", best_tcp / best_link);
	free(chunk);
	return 0;
}
