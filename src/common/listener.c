/*
 * listener.c: a TCP listener that gives each connection its own thread in
 * one of a fixed number of slots, and the admission policy of listener.h;
 * it owns the sockets and threads, never what is spoken on them.
 *
 * Threads: the accept thread starts, cuts and joins sessions; each session
 * runs on its own. Every slot flag (used, done, cut, authenticated) is read
 * and written under the listener's mu; a slot's fd is shut down only under
 * mu and while its session has not ended, so never after its close.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/listener.h"

struct tcp_conn {
	struct tcp_listener *owner;
	pthread_t thread;
	int fd;
	char peer[TCP_PEER_MAX];
	int64_t started_ms;
	/* under owner->mu */
	bool used;		/* a thread was started and not yet joined */
	bool done;		/* serve returned, fd closed */
	bool cut;		/* shut down by the listener */
	bool authenticated;
	/* the write watch: unsent bytes when last seen, and since when
	 * they have not moved (under owner->mu) */
	int outq;
	int64_t moved_ms;
};

struct tcp_listener {
	char name[16];
	tcp_serve_fn serve;
	tcp_refuse_fn refuse;
	void *arg;
	unsigned max_sessions;
	size_t nslots;		/* max_sessions + TCP_LEAVING_MAX */
	bool nodelay;
	int64_t login_ms;
	int64_t write_ms;
	unsigned source_max;
	int listen_fd;
	int wake[2];
	int reap[2];	/* a byte from each session thread as it ends */
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	bool closed;
	int64_t paused_until_ms;	/* accept thread: EMFILE back-off */
	/* refusals and cuts logged: one line a window, then a count
	 * (under mu) */
	int64_t log_window_ms;
	unsigned log_suppressed;
	struct tcp_conn slots[];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A refusal or a cut of the connection from peer (NULL: of accept()),
 * logged at most once per TCP_LOG_WINDOW_SECONDS: a flood of connections
 * must not flood the log. The next line logged says how many were left
 * out. Called with mu held.
 */
static void admission_log(struct tcp_listener *l, int64_t now,
			  const char *what, const char *peer)
{
	int64_t window = (int64_t)TCP_LOG_WINDOW_SECONDS * 1000;
	char more[80] = "";

	if (l->log_window_ms && now - l->log_window_ms < window) {
		l->log_suppressed++;
		return;
	}
	if (l->log_suppressed)
		snprintf(more, sizeof(more),
			 " (%u more refused or cut in the last %.1f s)",
			 l->log_suppressed,
			 (double)(now - l->log_window_ms) / 1000);
	if (peer)
		log_warn("%s: connection from %s %s%s", l->name, peer, what,
			 more);
	else
		log_warn("%s: %s%s", l->name, what, more);
	l->log_window_ms = now;
	l->log_suppressed = 0;
}

/* A window that ended (or the listener closing: all) with refusals left
 * out: say how many. Under mu. */
static void admission_log_flush(struct tcp_listener *l, int64_t now,
				bool all)
{
	int64_t window = (int64_t)TCP_LOG_WINDOW_SECONDS * 1000;

	if (!l->log_suppressed || (!all && now - l->log_window_ms < window))
		return;
	log_warn("%s: %u more connections refused or cut in the last %.1f s",
		 l->name, l->log_suppressed,
		 (double)(now - l->log_window_ms) / 1000);
	l->log_window_ms = 0;
	l->log_suppressed = 0;
}

/* Ends a session from outside: its blocked reads and writes return.
 * Under mu, on a session that has not ended. */
static void conn_cut(struct tcp_conn *c, int64_t now, const char *why)
{
	if (c->cut)
		return;
	c->cut = true;
	shutdown(c->fd, SHUT_RDWR);
	admission_log(c->owner, now, why, c->peer);
}

static bool conn_live(const struct tcp_conn *c)
{
	return c->used && !c->done && !c->cut;
}

static void *slot_main(void *arg)
{
	struct tcp_conn *c = arg;
	struct tcp_listener *l = c->owner;

	l->serve(l->arg, c);
	pthread_mutex_lock(&l->mu);
	close(c->fd);
	c->fd = -1;
	c->done = true;
	/* The accept thread joins it now, not at the next connection: an
	 * unjoined thread keeps its stack's touched pages. At most one byte
	 * per slot is ever pending, so the pipe cannot fill; once the
	 * listener is closed nobody reads it and _stop joins instead. */
	if (write(l->reap[1], "r", 1) < 0)
		log_warn("%s: cannot tell a session ended: %m", l->name);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Joins the threads of sessions that ended. Accept thread only. */
static void slots_reap(struct tcp_listener *l)
{
	size_t i;

	for (i = 0; i < l->nslots; i++) {
		struct tcp_conn *c = &l->slots[i];
		bool ended;

		pthread_mutex_lock(&l->mu);
		ended = c->used && c->done;
		pthread_mutex_unlock(&l->mu);
		if (!ended)
			continue;
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&l->mu);
		c->used = false;
		pthread_mutex_unlock(&l->mu);
	}
}

/*
 * The deadlines: cuts each connection whose login time is up or whose
 * output has not moved for the write deadline. Returns the milliseconds
 * until it should run again, -1 for never (no session).
 */
static int slots_watch(struct tcp_listener *l, int64_t now)
{
	int64_t next = -1, at;
	size_t i;

	pthread_mutex_lock(&l->mu);
	admission_log_flush(l, now, false);
	for (i = 0; i < l->nslots; i++) {
		struct tcp_conn *c = &l->slots[i];
		int outq = 0;

		if (!conn_live(c))
			continue;
		if (!c->authenticated) {
			at = c->started_ms + l->login_ms;
			if (now >= at) {
				conn_cut(c, now, "cut: login time is up");
				continue;
			}
			if (next < 0 || at < next)
				next = at;
		}
		/* Bytes queued and not moving: the client stopped reading.
		 * Catches writes we cannot give a deadline ourselves
		 * (libssh's); any change counts as progress. */
		if (ioctl(c->fd, SIOCOUTQ, &outq) < 0 || outq == 0 ||
		    outq != c->outq) {
			c->outq = outq;
			c->moved_ms = now;
		} else if (now - c->moved_ms >= l->write_ms) {
			conn_cut(c, now, "cut: its output stalled");
			continue;
		}
		if (next < 0 || now + TCP_WATCH_MS < next)
			next = now + TCP_WATCH_MS;
	}
	if (l->log_suppressed) {
		at = l->log_window_ms + (int64_t)TCP_LOG_WINDOW_SECONDS * 1000;
		if (next < 0 || at < next)
			next = at;
	}
	pthread_mutex_unlock(&l->mu);
	return next < 0 ? -1 : (int)(next > now ? next - now : 0);
}

enum tcp_admit tcp_admission_choose(const struct tcp_slot_state *slots,
				    size_t n, unsigned max_live,
				    unsigned source_max, const char *peer,
				    size_t *slot, size_t *victim)
{
	size_t i, j, free_slot = n, best = n;
	unsigned live = 0, from_peer = 0, best_count = 0;

	for (i = 0; i < n; i++) {
		const struct tcp_slot_state *s = &slots[i];

		if (!s->live && !s->leaving && free_slot == n)
			free_slot = i;
		if (!s->live)
			continue;
		live++;
		if (!s->authenticated && strcmp(s->peer, peer) == 0)
			from_peer++;
	}
	if (from_peer >= source_max)
		return TCP_REFUSE_SOURCE;
	if (free_slot == n)
		return TCP_REFUSE_NO_ROOM;
	*slot = free_slot;
	if (live < max_live)
		return TCP_ADMIT;
	/* Full: the source holding the most unauthenticated connections
	 * gives up its oldest, so a flood from a few addresses pays before
	 * a lone operator halfway through logging in. */
	for (i = 0; i < n; i++) {
		unsigned count = 0;

		if (!slots[i].live || slots[i].authenticated)
			continue;
		for (j = 0; j < n; j++)
			count += slots[j].live && !slots[j].authenticated &&
				 strcmp(slots[j].peer, slots[i].peer) == 0;
		if (count > best_count ||
		    (count == best_count &&
		     slots[i].started_ms < slots[best].started_ms)) {
			best = i;
			best_count = count;
		}
	}
	if (best == n)
		return TCP_REFUSE_FULL;
	*victim = best;
	return TCP_ADMIT_EVICT;
}

/* The policy's verdict on a connection from peer, under mu. */
static enum tcp_admit slots_admit(struct tcp_listener *l, const char *peer,
				  size_t *slot, size_t *victim)
{
	struct tcp_slot_state *all = calloc(l->nslots, sizeof(*all));
	enum tcp_admit rc;
	size_t i;

	if (!all)
		return TCP_REFUSE_NO_ROOM;
	for (i = 0; i < l->nslots; i++) {
		const struct tcp_conn *c = &l->slots[i];

		all[i] = (struct tcp_slot_state){
			.live = conn_live(c),
			.leaving = c->used && !conn_live(c),
			.authenticated = c->authenticated,
			.started_ms = c->started_ms,
			.peer = c->peer,
		};
	}
	rc = tcp_admission_choose(all, l->nslots, l->max_sessions,
				  l->source_max, peer, slot, victim);
	free(all);
	return rc;
}

static void session_start(struct tcp_listener *l, int fd,
			  const struct sockaddr_storage *peer, socklen_t len)
{
	char host[TCP_PEER_MAX];
	int64_t now = now_ms();
	size_t slot = 0, victim = 0;
	enum tcp_admit rc;
	struct tcp_conn *c;

	if (getnameinfo((const struct sockaddr *)peer, len, host, sizeof(host),
			NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	pthread_mutex_lock(&l->mu);
	rc = slots_admit(l, host, &slot, &victim);
	if (rc < 0) {
		admission_log(l, now,
			      rc == TCP_REFUSE_SOURCE
				      ? "refused: too many from it not "
					"logged in"
				      : "refused: every session is logged in",
			      host);
		pthread_mutex_unlock(&l->mu);
		/* Refused connections are few words on a fresh socket: its
		 * buffer is empty, so this cannot block. */
		if (l->refuse)
			l->refuse(l->arg, fd);
		close(fd);
		return;
	}
	if (rc == TCP_ADMIT_EVICT)
		conn_cut(&l->slots[victim], now,
			 "cut to make room: the listener is full");
	c = &l->slots[slot];
	c->owner = l;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", host);
	c->started_ms = c->moved_ms = now;
	c->outq = 0;
	c->used = true;
	c->done = c->cut = c->authenticated = false;
	pthread_mutex_unlock(&l->mu);
	if (pthread_create(&c->thread, NULL, slot_main, c) != 0) {
		log_warn("%s: cannot start a session thread", l->name);
		pthread_mutex_lock(&l->mu);
		c->used = false;
		c->fd = -1;
		pthread_mutex_unlock(&l->mu);
		close(fd);
	}
}

/*
 * Whether a slot is free for the next connection. While every slot holds a
 * session or one that was cut and is still ending, new connections wait in
 * the backlog (a few milliseconds in a flood) rather than being refused:
 * the operator's among them gets its turn. A session's end wakes the
 * accept thread through the reap pipe.
 */
static bool slots_have_room(struct tcp_listener *l)
{
	bool room = false;
	size_t i;

	pthread_mutex_lock(&l->mu);
	for (i = 0; i < l->nslots && !room; i++)
		room = !l->slots[i].used;
	pthread_mutex_unlock(&l->mu);
	return room;
}

/* accept() failed: whether to pause accepting (the process or system is
 * out of descriptors or memory, and retrying at once would spin). */
static bool accept_must_pause(int error)
{
	return error == EMFILE || error == ENFILE || error == ENOBUFS ||
	       error == ENOMEM;
}

static void *accept_main(void *arg)
{
	struct tcp_listener *l = arg;
	int one = 1;

	for (;;) {
		int64_t now = now_ms();
		bool backoff = now < l->paused_until_ms;
		bool paused = backoff || !slots_have_room(l);
		struct pollfd pfd[3] = {
			{ .fd = paused ? -1 : l->listen_fd, .events = POLLIN },
			{ .fd = l->wake[0], .events = POLLIN },
			{ .fd = l->reap[0], .events = POLLIN },
		};
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		char ended[64];
		int fd, timeout = slots_watch(l, now);

		if (backoff && (timeout < 0 ||
				l->paused_until_ms - now < timeout))
			timeout = (int)(l->paused_until_ms - now);
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[2].revents & POLLIN) {
			if (read(l->reap[0], ended, sizeof(ended)) < 0 &&
			    errno != EAGAIN && errno != EINTR)
				break;
			slots_reap(l);
			/* What the sessions freed goes back to the system
			 * now, rather than staying in the heap while idle. */
			malloc_trim(0);
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(l->listen_fd, (struct sockaddr *)&peer, &len,
			     SOCK_CLOEXEC);
		if (fd < 0) {
			if (accept_must_pause(errno)) {
				char why[96];

				snprintf(why, sizeof(why), "cannot accept "
					 "(%s): pausing", strerror(errno));
				l->paused_until_ms = now_ms() +
						     TCP_ACCEPT_PAUSE_MS;
				pthread_mutex_lock(&l->mu);
				admission_log(l, now_ms(), why, NULL);
				pthread_mutex_unlock(&l->mu);
			}
			continue;
		}
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
	/* A backlog that holds a burst while the accept thread cuts. */
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0) {
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

static int64_t seconds_or(unsigned seconds, unsigned fallback)
{
	return (int64_t)(seconds ? seconds : fallback) * 1000;
}

struct tcp_listener *tcp_listener_start(const struct tcp_listener_cfg *cfg,
					struct err *e)
{
	const char *name = cfg->name;
	size_t nslots = (size_t)cfg->max_sessions + TCP_LEAVING_MAX;
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	struct tcp_listener *l;

	l = calloc(1, sizeof(*l) + nslots * sizeof(l->slots[0]));
	if (!l) {
		err_set(e, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->serve = cfg->serve;
	l->refuse = cfg->refuse;
	l->arg = cfg->arg;
	l->max_sessions = cfg->max_sessions;
	l->nslots = nslots;
	l->nodelay = cfg->nodelay;
	l->login_ms = seconds_or(cfg->admission.login_seconds,
				 TCP_LOGIN_SECONDS);
	l->write_ms = seconds_or(cfg->admission.write_seconds,
				 TCP_WRITE_SECONDS);
	l->source_max = cfg->admission.source_max ? cfg->admission.source_max
						  : TCP_SOURCE_MAX;
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
	for (i = 0; i < l->nslots; i++)
		n += conn_live(&l->slots[i]);
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
	admission_log_flush(l, now_ms(), true);
	/* Cut, not logged: a session failing because the listener closed
	 * (tcp_conn_is_cut) says nothing after the summary above. */
	for (i = 0; i < l->nslots; i++) {
		struct tcp_conn *c = &l->slots[i];

		if (c->used && !c->done) {
			c->cut = true;
			shutdown(c->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&l->mu);
}

void tcp_listener_stop(struct tcp_listener *l)
{
	size_t i;

	if (!l)
		return;
	tcp_listener_close(l);
	/* The accept thread has ended: nobody else starts or joins. */
	for (i = 0; i < l->nslots; i++)
		if (l->slots[i].used)
			pthread_join(l->slots[i].thread, NULL);
	close(l->reap[0]);
	close(l->reap[1]);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int tcp_conn_fd(const struct tcp_conn *c)
{
	return c->fd;
}

const char *tcp_conn_peer(const struct tcp_conn *c)
{
	return c->peer;
}

void tcp_conn_authenticated(struct tcp_conn *c)
{
	pthread_mutex_lock(&c->owner->mu);
	c->authenticated = true;
	pthread_mutex_unlock(&c->owner->mu);
}

void tcp_conn_cut(struct tcp_conn *c, const char *why)
{
	pthread_mutex_lock(&c->owner->mu);
	conn_cut(c, now_ms(), why);
	pthread_mutex_unlock(&c->owner->mu);
}

void tcp_conn_log(struct tcp_conn *c, const char *what)
{
	pthread_mutex_lock(&c->owner->mu);
	admission_log(c->owner, now_ms(), what, c->peer);
	pthread_mutex_unlock(&c->owner->mu);
}

bool tcp_conn_is_cut(struct tcp_conn *c)
{
	bool cut;

	pthread_mutex_lock(&c->owner->mu);
	cut = c->cut;
	pthread_mutex_unlock(&c->owner->mu);
	return cut;
}

int tcp_conn_send(struct tcp_conn *c, const void *data, size_t len)
{
	struct tcp_listener *l = c->owner;
	const char *p = data;
	int64_t deadline = now_ms() + l->write_ms;

	while (len > 0) {
		/* Non-blocking, so the deadline holds however the socket
		 * was opened; it restarts whenever the client takes some. */
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		int64_t left;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			deadline = now_ms() + l->write_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n < 0 ? -errno : -EPIPE;
		left = deadline - now_ms();
		if (left <= 0) {
			tcp_conn_cut(c, "cut: it stopped reading");
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}
