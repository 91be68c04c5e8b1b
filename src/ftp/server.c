/*
 * server.c: the FTP listener: accepts control connections on its own
 * thread, gives each a session thread (at most FTP_SESSIONS_MAX), and on
 * stop closes the listener and ends every session before it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftp/ftp.h"

struct ftp_slot {
	struct ftp_session *session;
	pthread_t thread;
	bool used;
	bool done;
};

struct ftp_server {
	struct ftp_config cfg;
	int listen_fd;
	int wake[2];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	bool stopping;
	struct ftp_slot slots[FTP_SESSIONS_MAX];
};

struct slot_start {
	struct ftp_server *srv;
	struct ftp_slot *slot;
};

bool ftp_server_stopping(struct ftp_server *srv)
{
	bool stopping;

	pthread_mutex_lock(&srv->mu);
	stopping = srv->stopping;
	pthread_mutex_unlock(&srv->mu);
	return stopping;
}

static void *slot_main(void *arg)
{
	struct slot_start *start = arg;
	struct ftp_server *srv = start->srv;
	struct ftp_slot *slot = start->slot;

	free(start);
	ftp_session_main(slot->session);
	pthread_mutex_lock(&srv->mu);
	close(slot->session->ctrl);
	slot->session->ctrl = -1;
	slot->done = true;
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

static void slot_reap(struct ftp_slot *slot)
{
	pthread_join(slot->thread, NULL);
	free(slot->session->chunk);
	free(slot->session);
	memset(slot, 0, sizeof(*slot));
}

static struct ftp_slot *slot_take(struct ftp_server *srv)
{
	struct ftp_slot *free_slot = NULL;
	size_t i;

	for (i = 0; i < FTP_SESSIONS_MAX; i++) {
		struct ftp_slot *slot = &srv->slots[i];
		bool done;

		pthread_mutex_lock(&srv->mu);
		done = slot->used && slot->done;
		pthread_mutex_unlock(&srv->mu);
		if (done)
			slot_reap(slot);
		if (!slot->used && !free_slot)
			free_slot = slot;
	}
	return free_slot;
}

static void session_start(struct ftp_server *srv, int fd,
			  const struct sockaddr_storage *peer)
{
	static const char busy[] = "421 Too many FTP sessions; try again "
				   "later.\r\n";
	struct ftp_slot *slot = slot_take(srv);
	struct ftp_session *s;
	struct slot_start *start;
	socklen_t len = sizeof(s->local);
	char host[INET6_ADDRSTRLEN];

	if (!slot) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0)
			log_warn("ftp: cannot refuse a session: %m");
		close(fd);
		return;
	}
	s = calloc(1, sizeof(*s));
	start = calloc(1, sizeof(*start));
	if (s)
		s->chunk = malloc(FTP_CHUNK);
	if (!s || !start || !s->chunk) {
		if (s)
			free(s->chunk);
		free(s);
		free(start);
		close(fd);
		return;
	}
	s->server = srv;
	s->cfg = &srv->cfg;
	s->ctrl = fd;
	s->peer = *peer;
	getsockname(fd, (struct sockaddr *)&s->local, &len);
	if (getnameinfo((const struct sockaddr *)peer, sizeof(*peer), host,
			sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(s->peer_text, sizeof(s->peer_text), "%s", host);
	slot->session = s;
	slot->used = true;
	slot->done = false;
	start->srv = srv;
	start->slot = slot;
	if (pthread_create(&slot->thread, NULL, slot_main, start) != 0) {
		free(s->chunk);
		free(s);
		free(start);
		memset(slot, 0, sizeof(*slot));
		close(fd);
	}
}

static void *accept_main(void *arg)
{
	struct ftp_server *srv = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = srv->listen_fd, .events = POLLIN },
			{ .fd = srv->wake[0], .events = POLLIN },
		};
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(srv->listen_fd, (struct sockaddr *)&peer, &len,
			     SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		session_start(srv, fd, &peer);
	}
	return NULL;
}

static int listen_on(const char *address, uint16_t port, struct err *e)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char service[8];
	int fd, one = 1, rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(address, service, &hints, &ai);
	if (rc != 0)
		return err_set(e, -EINVAL, "ftp: bad address '%s': %s",
			       address, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		err_set(e, rc, "ftp: cannot listen on %s port %u: %s", address,
			port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	return fd;
}

struct ftp_server *ftp_server_start(const struct ftp_config *cfg,
				    struct err *e)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	struct ftp_server *srv;

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		err_set(e, -ENOMEM, "ftp: out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	srv->listen_fd = listen_on(cfg->address, cfg->port, e);
	if (srv->listen_fd < 0) {
		free(srv);
		return NULL;
	}
	getsockname(srv->listen_fd, (struct sockaddr *)&addr, &len);
	srv->port = addr.ss_family == AF_INET
			    ? ntohs(((struct sockaddr_in *)&addr)->sin_port)
			    : ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	pthread_mutex_init(&srv->mu, NULL);
	if (pipe2(srv->wake, O_CLOEXEC) < 0 ||
	    pthread_create(&srv->thread, NULL, accept_main, srv) != 0) {
		err_set(e, -errno, "ftp: cannot start: %s", strerror(errno));
		close(srv->listen_fd);
		free(srv);
		return NULL;
	}
	return srv;
}

uint16_t ftp_server_port(const struct ftp_server *srv)
{
	return srv->port;
}

unsigned ftp_server_sessions(struct ftp_server *srv)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&srv->mu);
	for (i = 0; i < FTP_SESSIONS_MAX; i++)
		n += srv->slots[i].used && !srv->slots[i].done;
	pthread_mutex_unlock(&srv->mu);
	return n;
}

void ftp_server_stop(struct ftp_server *srv)
{
	size_t i;

	if (!srv)
		return;
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	pthread_mutex_unlock(&srv->mu);
	if (write(srv->wake[1], "x", 1) < 0)
		log_warn("ftp: cannot wake the listener: %m");
	pthread_join(srv->thread, NULL);
	close(srv->listen_fd);
	close(srv->wake[0]);
	close(srv->wake[1]);
	/* Wake every session out of its poll; each aborts what it was doing. */
	pthread_mutex_lock(&srv->mu);
	for (i = 0; i < FTP_SESSIONS_MAX; i++)
		if (srv->slots[i].used && !srv->slots[i].done)
			shutdown(srv->slots[i].session->ctrl, SHUT_RDWR);
	pthread_mutex_unlock(&srv->mu);
	for (i = 0; i < FTP_SESSIONS_MAX; i++)
		if (srv->slots[i].used)
			slot_reap(&srv->slots[i]);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
