/*
 * listener.c: a TCP listener that gives each connection its own thread in
 * one of a fixed number of slots; it owns the sockets and threads, never
 * what is spoken on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/listener.h"

struct tcp_slot {
	struct tcp_listener *owner;
	pthread_t thread;
	int fd;
	char peer[64];
	bool used;
	bool done;
};

struct tcp_listener {
	char name[16];
	tcp_serve_fn serve;
	tcp_refuse_fn refuse;
	void *arg;
	unsigned max_sessions;
	bool nodelay;
	int listen_fd;
	int wake[2];
	int reap[2];	/* a byte from each session thread as it ends */
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	bool closed;
	struct tcp_slot slots[];
};

static void *slot_main(void *arg)
{
	struct tcp_slot *slot = arg;
	struct tcp_listener *l = slot->owner;

	l->serve(l->arg, slot->fd, slot->peer);
	pthread_mutex_lock(&l->mu);
	close(slot->fd);
	slot->fd = -1;
	slot->done = true;
	/* The accept thread joins it now, not at the next connection: an
	 * unjoined thread keeps its stack's touched pages. At most one byte
	 * per slot is ever pending, so the pipe cannot fill; once the
	 * listener is closed nobody reads it and _stop joins instead. */
	if (write(l->reap[1], "r", 1) < 0)
		log_warn("%s: cannot tell a session ended: %m", l->name);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Joins finished threads and returns a free slot, or NULL when full. */
static struct tcp_slot *slot_take(struct tcp_listener *l)
{
	struct tcp_slot *free_slot = NULL;
	size_t i;

	for (i = 0; i < l->max_sessions; i++) {
		struct tcp_slot *slot = &l->slots[i];
		bool done;

		pthread_mutex_lock(&l->mu);
		done = slot->used && slot->done;
		pthread_mutex_unlock(&l->mu);
		if (done) {
			pthread_join(slot->thread, NULL);
			slot->used = false;
		}
		if (!slot->used && !free_slot)
			free_slot = slot;
	}
	return free_slot;
}

static void session_start(struct tcp_listener *l, int fd,
			  const struct sockaddr_storage *peer, socklen_t len)
{
	struct tcp_slot *slot = slot_take(l);
	char host[INET6_ADDRSTRLEN];

	if (!slot) {
		if (l->refuse)
			l->refuse(l->arg, fd);
		else
			log_warn("%s: %u sessions already; connection refused",
				 l->name, l->max_sessions);
		close(fd);
		return;
	}
	if (getnameinfo((const struct sockaddr *)peer, len, host, sizeof(host),
			NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	pthread_mutex_lock(&l->mu);
	slot->owner = l;
	slot->fd = fd;
	snprintf(slot->peer, sizeof(slot->peer), "%s", host);
	slot->used = true;
	slot->done = false;
	pthread_mutex_unlock(&l->mu);
	if (pthread_create(&slot->thread, NULL, slot_main, slot) != 0) {
		log_warn("%s: cannot start a session thread", l->name);
		slot->used = false;
		close(fd);
	}
}

static void *accept_main(void *arg)
{
	struct tcp_listener *l = arg;
	int one = 1;

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = l->listen_fd, .events = POLLIN },
			{ .fd = l->wake[0], .events = POLLIN },
			{ .fd = l->reap[0], .events = POLLIN },
		};
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		char ended[64];
		int fd;

		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[2].revents & POLLIN) {
			if (read(l->reap[0], ended, sizeof(ended)) < 0 &&
			    errno != EAGAIN && errno != EINTR)
				break;
			slot_take(l);
			/* What the sessions freed goes back to the system
			 * now, rather than staying in the heap while idle. */
			malloc_trim(0);
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(l->listen_fd, (struct sockaddr *)&peer, &len,
			     SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* Interactive: a reply must not wait for the last ACK. */
		if (l->nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		session_start(l, fd, &peer, len);
	}
	return NULL;
}

static int listen_on(const char *name, const char *address, uint16_t port,
		     struct err *e)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char service[8];
	int fd, one = 1, rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(address, service, &hints, &ai);
	if (rc != 0)
		return err_set(e, -EINVAL, "%s: bad address '%s': %s", name,
			       address, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		err_set(e, rc, "%s: cannot listen on %s port %u: %s", name,
			address, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	return fd;
}

struct tcp_listener *tcp_listener_start(const struct tcp_listener_cfg *cfg,
					struct err *e)
{
	const char *name = cfg->name;
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	struct tcp_listener *l;

	l = calloc(1, sizeof(*l) + cfg->max_sessions * sizeof(l->slots[0]));
	if (!l) {
		err_set(e, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->serve = cfg->serve;
	l->refuse = cfg->refuse;
	l->arg = cfg->arg;
	l->max_sessions = cfg->max_sessions;
	l->nodelay = cfg->nodelay;
	l->listen_fd = listen_on(name, cfg->address, cfg->port, e);
	if (l->listen_fd < 0) {
		free(l);
		return NULL;
	}
	getsockname(l->listen_fd, (struct sockaddr *)&addr, &len);
	l->port = addr.ss_family == AF_INET
			  ? ntohs(((struct sockaddr_in *)&addr)->sin_port)
			  : ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	pthread_mutex_init(&l->mu, NULL);
	if (pipe2(l->wake, O_CLOEXEC) < 0) {
		err_set(e, -errno, "%s: cannot start: %s", name,
			strerror(errno));
		close(l->listen_fd);
		free(l);
		return NULL;
	}
	if (pipe2(l->reap, O_CLOEXEC | O_NONBLOCK) < 0) {
		err_set(e, -errno, "%s: cannot start: %s", name,
			strerror(errno));
		goto fail;
	}
	if (pthread_create(&l->thread, NULL, accept_main, l) != 0) {
		err_set(e, -EAGAIN, "%s: cannot start its thread", name);
		close(l->reap[0]);
		close(l->reap[1]);
		goto fail;
	}
	return l;
fail:
	close(l->wake[0]);
	close(l->wake[1]);
	close(l->listen_fd);
	free(l);
	return NULL;
}

uint16_t tcp_listener_port(const struct tcp_listener *l)
{
	return l->port;
}

unsigned tcp_listener_sessions(struct tcp_listener *l)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->max_sessions; i++)
		n += l->slots[i].used && !l->slots[i].done;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void tcp_listener_close(struct tcp_listener *l)
{
	size_t i;

	if (l->closed)
		return;
	l->closed = true;
	if (write(l->wake[1], "x", 1) < 0)
		log_warn("%s: cannot wake the listener: %m", l->name);
	pthread_join(l->thread, NULL);
	/* Closed first, so a client sees "connection refused" at once. */
	close(l->listen_fd);
	close(l->wake[0]);
	close(l->wake[1]);
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->max_sessions; i++)
		if (l->slots[i].used && !l->slots[i].done)
			shutdown(l->slots[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&l->mu);
}

void tcp_listener_stop(struct tcp_listener *l)
{
	size_t i;

	if (!l)
		return;
	tcp_listener_close(l);
	for (i = 0; i < l->max_sessions; i++)
		if (l->slots[i].used)
			pthread_join(l->slots[i].thread, NULL);
	close(l->reap[0]);
	close(l->reap[1]);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
