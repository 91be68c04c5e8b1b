/*
 * link.c: the partner link's connection manager. B accepts through the
 * listener's admission policy (the TLS handshake and HELLO are the login);
 * A dials with a doubling back-off, or every LINK_REDIAL_QUICK_MS for a
 * while after it was told the partner restarts on purpose. Each connection
 * has one reader thread, which also calls every handler; one heartbeat
 * thread per link sends HEARTBEATs and judges silence. Never interprets a
 * frame past HELLO.
 *
 * Invariants:
 * I1: down() follows each up() once, on the same connection's reader
 *     thread, before any later up(): a new connection becomes current only
 *     once the old one has left (link->cur is NULL).
 * I2: a connection's socket is shut down only under link->mu while its
 *     reader has not freed it; it is closed only after every sender left.
 * I3: silence is judged only while no frame() handler runs, counted from
 *     the last frame received or the handler's return.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/internal.h"

/* The reader's state on one connection, given to the parser's callback. */
struct reader {
	struct link_conn *c;
	bool up;		/* HELLO accepted, up() called */
	bool refused;		/* refused() called: no reconnect reason */
	struct err e;		/* why the reader stopped */
};

static void refused(struct link *l, struct link_conn *c, const char *why)
{
	log_warn_limited("link-refused", "link: connection with %s refused: %s",
			 c->peer, why);
	if (l->handlers.refused)
		l->handlers.refused(l->ctx, c->peer, why);
}

/*
 * The peer's HELLO arrived: check it, end any older connection (I1) and
 * go up. 0, or negative with r->e (then the connection is dropped).
 */
static int hello_take(struct reader *r, const uint8_t *payload, size_t len)
{
	struct link_conn *c = r->c;
	struct link *l = c->link;
	struct link_hello peer;
	struct err e = { 0 };

	if (link_hello_parse(payload, len, &peer, &e) < 0 ||
	    link_hello_check(&l->ours, &peer, &e) < 0) {
		refused(l, c, e.msg);
		r->refused = true;
		return err_set(&r->e, e.code, "%s", e.msg);
	}
	if (c->tcp)
		tcp_conn_authenticated(c->tcp);
	pthread_mutex_lock(&l->mu);
	/* B: A redialed while we still hold its old connection. */
	if (l->cur && l->cur != c)
		link_conn_drop_locked(l->cur, "replaced by a new connection "
				      "from the partner");
	while (l->cur && !l->stopping && !c->dropped)
		pthread_cond_wait(&l->cond, &l->mu);
	if (l->stopping || c->dropped) {
		pthread_mutex_unlock(&l->mu);
		return err_set(&r->e, -ECANCELED, "the link is stopping");
	}
	l->cur = c;
	c->last_rx_ms = link_now_ms();
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	r->up = true;
	if (l->handlers.up)
		l->handlers.up(l->ctx, &peer);
	return 0;
}

static int frame_take(void *arg, unsigned type, const uint8_t *payload,
		      size_t len)
{
	struct reader *r = arg;
	struct link_conn *c = r->c;
	struct link *l = c->link;
	struct err e = { 0 };
	int rc = 0;

	if (!r->up) {
		if (type == LINK_FRAME_HELLO)
			return hello_take(r, payload, len);
		err_set(&r->e, -EPROTO, "link: a %s frame before HELLO",
			link_frame_type_name(type));
		refused(l, c, r->e.msg);
		r->refused = true;
		return -EPROTO;
	}
	if (type == LINK_FRAME_HEARTBEAT)
		return 0;
	if (type == LINK_FRAME_HELLO) {
		err_set(&r->e, -EPROTO, "link: a second HELLO");
		refused(l, c, r->e.msg);
		r->refused = true;
		return -EPROTO;
	}
	if (!l->handlers.frame)
		return 0;
	pthread_mutex_lock(&l->mu);
	c->in_handler = true;
	pthread_mutex_unlock(&l->mu);
	rc = l->handlers.frame(l->ctx, type, payload, len, &e);
	pthread_mutex_lock(&l->mu);
	c->in_handler = false;
	c->last_rx_ms = link_now_ms();	/* I3 */
	pthread_mutex_unlock(&l->mu);
	if (rc != 0)
		return err_set(&r->e, rc < 0 ? rc : -EIO,
			       "the %s frame was not taken: %s",
			       link_frame_type_name(type),
			       e.msg[0] ? e.msg : "no reason given");
	return 0;
}

/* Sends our HELLO, outside any current link (the login phase). */
static int hello_send(struct link_conn *c, struct err *e)
{
	struct buf b;
	int rc;

	buf_init(&b, LINK_FRAME_MAX);
	rc = link_hello_encode(&c->link->ours, &b);
	if (rc == 0)
		rc = link_conn_send(c, LINK_FRAME_HELLO, b.data, b.len, false,
				    e);
	else
		err_set(e, rc, "link: cannot encode HELLO");
	buf_free(&b);
	return rc;
}

static bool link_stopping(struct link *l)
{
	bool stopping;

	pthread_mutex_lock(&l->mu);
	stopping = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return stopping;
}

/*
 * Runs one connection from the handshake to its end on the calling
 * thread, and frees it. Returns whether it came up.
 */
static bool conn_run(struct link *l, struct link_conn *c, bool server)
{
	struct reader r = { .c = c };
	int64_t deadline = link_now_ms() + l->login_ms;
	struct link_parser parser;
	uint8_t *chunk = malloc(LINK_READ_CHUNK);
	char why[LINK_WHY_MAX];
	int rc;

	link_parser_init(&parser);
	if (!chunk) {
		err_set(&r.e, -ENOMEM, "out of memory");
		goto end;
	}
	rc = link_conn_handshake(c, server, deadline, &r.e);
	if (rc < 0) {
		if (rc != -ECANCELED && !link_stopping(l)) {
			snprintf(why, sizeof(why), "TLS handshake failed: %s",
				 c->tcp && tcp_conn_is_cut(c->tcp)
					 ? "the login time is up"
					 : r.e.msg);
			refused(l, c, why);
		}
		goto end;
	}
	if (hello_send(c, &r.e) < 0)
		goto end;
	for (;;) {
		ssize_t n = link_conn_read(c, chunk, LINK_READ_CHUNK,
					   r.up ? -1 : deadline, &r.e);
		struct err pe = { 0 };

		if (n == 0) {
			err_set(&r.e, -ECONNRESET, "closed by the partner");
			break;
		}
		if (n < 0) {
			/* OpenSSL's words alone ("bad record mac") do not say
			 * that the link's protection refused a record. */
			if (r.e.code == -EPROTO)
				err_prefix(&r.e, "TLS error");
			break;
		}
		/* Any bytes count as life, even part of a long frame on a
		 * slow link. */
		pthread_mutex_lock(&l->mu);
		c->last_rx_ms = link_now_ms();
		pthread_mutex_unlock(&l->mu);
		rc = link_parser_push(&parser, chunk, (size_t)n, frame_take,
				      &r, &pe);
		if (rc == -EPROTO && !r.refused) {
			/* Malformed: the parser's own refusal, or a frame
			 * the handler refused (its reason is in r.e). */
			if (pe.msg[0])
				err_set(&r.e, rc, "malformed frame: %s",
					pe.msg);
			refused(l, c, r.e.msg);
			r.refused = true;
		}
		if (rc < 0)
			break;
	}
	if (!r.up && !r.refused && !link_stopping(l)) {
		/* Handshake done, no HELLO: an incomplete login. */
		snprintf(why, sizeof(why), "no HELLO: %s", r.e.msg);
		refused(l, c, why);
	}
end:
	link_parser_free(&parser);
	free(chunk);
	pthread_mutex_lock(&l->mu);
	/* Whoever dropped it said why first. */
	if (c->dropped)
		snprintf(why, sizeof(why), "%s", c->why);
	else
		snprintf(why, sizeof(why), "%s", r.e.msg);
	link_conn_drop_locked(c, why);
	pthread_mutex_unlock(&l->mu);
	if (r.up && l->handlers.down)
		l->handlers.down(l->ctx, why);
	pthread_mutex_lock(&l->mu);
	if (l->cur == c)
		l->cur = NULL;
	pthread_cond_broadcast(&l->cond);
	while (c->users > 0)
		pthread_cond_wait(&l->cond, &l->mu);
	pthread_mutex_unlock(&l->mu);
	link_conn_free(c);
	return r.up;
}

/* ---- B: the listener's sessions ---- */

static void serve(void *arg, struct tcp_conn *tcp)
{
	struct link *l = arg;
	struct err e = { 0 };
	struct link_conn *c;

	c = link_conn_new(l, tcp_conn_fd(tcp), tcp, tcp_conn_peer(tcp), &e);
	if (!c) {
		tcp_conn_log(tcp, e.msg);
		return;
	}
	conn_run(l, c, true);
}

/* ---- A: the dialer ---- */

unsigned link_backoff_next(unsigned waited, unsigned min_ms, unsigned max_ms,
			   bool was_up)
{
	/* A link that came up starts the back-off afresh. */
	if (was_up)
		return min_ms;
	if (waited < min_ms)
		return min_ms;
	return waited > max_ms / 2 ? max_ms : waited * 2;
}

unsigned link_redial_pause(int64_t now_ms, int64_t quick_until_ms,
			   unsigned backoff)
{
	if (now_ms < quick_until_ms && backoff > LINK_REDIAL_QUICK_MS)
		return LINK_REDIAL_QUICK_MS;
	return backoff;
}

/* Waits ms or until stopping; returns whether stopping. */
static bool dialer_pause(struct link *l, unsigned ms)
{
	struct timespec until;
	bool stopping;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&l->mu);
	while (!l->stopping &&
	       pthread_cond_timedwait(&l->cond, &l->mu, &until) == 0)
		;
	stopping = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return stopping;
}

/* A connected socket to the partner, or -1 with e. */
static int dial(struct link *l, struct err *e)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char service[8];
	int fd, rc, one = 1, error = 0;
	socklen_t len = sizeof(error);
	struct pollfd pfd[2];

	snprintf(service, sizeof(service), "%u", l->partner_port);
	rc = getaddrinfo(l->partner_address, service, &hints, &ai);
	if (rc != 0) {
		err_set(e, -EINVAL, "bad partner address '%s': %s",
			l->partner_address, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0) {
		err_set(e, -errno, "no socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno != EINPROGRESS) {
		error = errno;
		goto fail;
	}
	if (rc < 0) {
		pfd[0] = (struct pollfd){ .fd = fd, .events = POLLOUT };
		pfd[1] = (struct pollfd){ .fd = l->wake_fd, .events = POLLIN };
		do
			rc = poll(pfd, 2, (int)l->login_ms);
		while (rc < 0 && errno == EINTR);
		if (rc <= 0 || pfd[1].revents) {
			error = rc == 0 ? ETIMEDOUT : ECANCELED;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
			error = errno;
		if (error)
			goto fail;
	}
	return fd;
fail:
	err_set(e, -error, "cannot connect to %s port %u: %s",
		l->partner_address, l->partner_port, strerror(error));
	close(fd);
	return -1;
}

static void *dialer_main(void *arg)
{
	struct link *l = arg;
	unsigned backoff = l->backoff_min_ms, pause;
	int64_t quick_until;

	while (!link_stopping(l)) {
		struct err e = { 0 };
		struct link_conn *c = NULL;
		bool was_up = false;
		int fd = dial(l, &e);

		if (fd >= 0) {
			c = link_conn_new(l, fd, NULL, l->partner_address, &e);
			if (!c)
				close(fd);
		}
		if (c) {
			was_up = conn_run(l, c, false);
			close(fd);
		} else if (e.code != -ECANCELED) {
			log_warn_limited("link-dial", "link: %s", e.msg);
		}
		if (was_up)
			backoff = l->backoff_min_ms;
		pthread_mutex_lock(&l->mu);
		quick_until = l->quick_until_ms;
		pthread_mutex_unlock(&l->mu);
		pause = link_redial_pause(link_now_ms(), quick_until, backoff);
		if (dialer_pause(l, pause))
			break;
		/* Dials inside the window do not count as failures: the
		 * back-off after it starts afresh. */
		backoff = pause < backoff ? l->backoff_min_ms
			: link_backoff_next(backoff, l->backoff_min_ms,
					    l->backoff_max_ms, was_up);
	}
	return NULL;
}

/* ---- heartbeats ---- */

static void *heart_main(void *arg)
{
	struct link *l = arg;
	int64_t window = (int64_t)l->heartbeat_ms * l->heartbeat_missed;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		struct timespec until;
		struct link_conn *c;
		struct err e = { 0 };
		int64_t now;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += l->heartbeat_ms / 1000;
		until.tv_nsec += (long)(l->heartbeat_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!l->stopping &&
		       pthread_cond_timedwait(&l->cond, &l->mu, &until) == 0)
			;
		c = l->cur;
		if (l->stopping || !c || c->dropped)
			continue;
		now = link_now_ms();
		if (!c->in_handler && now - c->last_rx_ms >= window) {
			char why[LINK_WHY_MAX];

			snprintf(why, sizeof(why),
				 "heartbeat: nothing from the partner for "
				 "%lld ms (%u heartbeats missed)",
				 (long long)(now - c->last_rx_ms),
				 l->heartbeat_missed);
			link_conn_drop_locked(c, why);
			continue;
		}
		c->users++;
		pthread_mutex_unlock(&l->mu);
		/* A frame being written says we are alive as well. */
		if (link_conn_send(c, LINK_FRAME_HEARTBEAT, NULL, 0, true,
				   &e) < 0 && e.code) {
			pthread_mutex_lock(&l->mu);
			link_conn_drop_locked(c, e.msg);
			pthread_mutex_unlock(&l->mu);
		}
		pthread_mutex_lock(&l->mu);
		c->users--;
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the API ---- */

static unsigned or_default(unsigned v, unsigned fallback)
{
	return v ? v : fallback;
}

static int hello_ours(struct link *l, const struct link_config *cfg,
		      struct err *e)
{
	const char *serial = cfg->serial ? cfg->serial : "";
	const char *midplane = cfg->midplane_serial ? cfg->midplane_serial
						    : "";

	if (strlen(serial) >= sizeof(l->ours.serial) ||
	    strlen(midplane) >= sizeof(l->ours.midplane_serial))
		return err_set(e, -EINVAL, "link: a serial is over %u bytes",
			       LINK_SERIAL_MAX - 1);
	l->ours.controller = cfg->controller;
	l->ours.protocol = LINK_PROTOCOL;
	snprintf(l->ours.serial, sizeof(l->ours.serial), "%s", serial);
	snprintf(l->ours.midplane_serial, sizeof(l->ours.midplane_serial),
		 "%s", midplane);
	return 0;
}

static void link_free(struct link *l)
{
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	link_tls_ctx_free(l->tls);
	free(l->listen_address);
	free(l->partner_address);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l);
}

struct link *link_start(const struct link_config *cfg, struct err *e)
{
	bool server = cfg->controller == 'B';
	pthread_condattr_t attr;
	struct link *l;

	if (cfg->controller != 'A' && cfg->controller != 'B') {
		err_set(e, -EINVAL, "link: controller must be A or B");
		return NULL;
	}
	if (server ? !cfg->listen_address : !cfg->partner_address) {
		err_set(e, -EINVAL, "link: no %s address",
			server ? "listen" : "partner");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		err_set(e, -ENOMEM, "link: out of memory");
		return NULL;
	}
	l->wake_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &attr);
	pthread_condattr_destroy(&attr);
	l->controller = cfg->controller;
	if (hello_ours(l, cfg, e) < 0)
		goto fail;
	l->listen_address = cfg->listen_address ? strdup(cfg->listen_address)
						: NULL;
	l->partner_address = cfg->partner_address
				     ? strdup(cfg->partner_address)
				     : NULL;
	l->listen_port = cfg->listen_port;
	l->partner_port = cfg->partner_port;
	l->heartbeat_ms = or_default(cfg->heartbeat_ms, LINK_HEARTBEAT_MS);
	l->heartbeat_missed = or_default(cfg->heartbeat_missed,
					 LINK_HEARTBEAT_MISSED);
	l->backoff_min_ms = or_default(cfg->backoff_min_ms,
				       LINK_BACKOFF_MIN_MS);
	l->backoff_max_ms = or_default(cfg->backoff_max_ms,
				       LINK_BACKOFF_MAX_MS);
	if (l->backoff_max_ms < l->backoff_min_ms)
		l->backoff_max_ms = l->backoff_min_ms;
	l->admission = cfg->admission;
	l->login_ms = (int64_t)or_default(cfg->admission.login_seconds,
					  TCP_LOGIN_SECONDS) * 1000;
	l->write_ms = (int64_t)or_default(cfg->admission.write_seconds,
					  TCP_WRITE_SECONDS) * 1000;
	if (cfg->handlers)
		l->handlers = *cfg->handlers;
	l->ctx = cfg->ctx;
	if ((cfg->listen_address && !l->listen_address) ||
	    (cfg->partner_address && !l->partner_address)) {
		err_set(e, -ENOMEM, "link: out of memory");
		goto fail;
	}
	l->tls = link_tls_ctx_new(cfg->key, cfg->key_len, server, e);
	if (!l->tls)
		goto fail;
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0) {
		err_set(e, -errno, "link: no eventfd: %s", strerror(errno));
		goto fail;
	}
	if (server) {
		struct tcp_listener_cfg lc = {
			.name = "link",
			.address = l->listen_address,
			.port = l->listen_port,
			.max_sessions = LINK_SESSIONS_MAX,
			.nodelay = true,
			.admission = l->admission,
			.serve = serve,
			.arg = l,
		};

		l->listener = tcp_listener_start(&lc, e);
		if (!l->listener)
			goto fail;
	} else {
		if (pthread_create(&l->dialer, NULL, dialer_main, l) != 0) {
			err_set(e, -EAGAIN, "link: cannot start its thread");
			goto fail;
		}
		l->dialer_started = true;
	}
	if (pthread_create(&l->heart, NULL, heart_main, l) != 0) {
		err_set(e, -EAGAIN, "link: cannot start its thread");
		link_stop(l);
		return NULL;
	}
	l->heart_started = true;
	return l;
fail:
	link_free(l);
	return NULL;
}

int link_send(struct link *l, unsigned type, const void *payload, size_t len,
	      struct err *e)
{
	struct link_conn *c;
	int rc;

	if (type < 1 || type > LINK_FRAME_TYPE_MAX || len > LINK_FRAME_MAX)
		return err_set(e, type < 1 || type > LINK_FRAME_TYPE_MAX
					  ? -EINVAL
					  : -EMSGSIZE,
			       "link: cannot send a frame of type %u and %zu "
			       "bytes (types 1 to %u, at most %u bytes)",
			       type, len, LINK_FRAME_TYPE_MAX, LINK_FRAME_MAX);
	pthread_mutex_lock(&l->mu);
	c = l->cur;
	if (!c || c->dropped) {
		pthread_mutex_unlock(&l->mu);
		return err_set(e, -ENOTCONN, "link: the partner link is down");
	}
	c->users++;
	pthread_mutex_unlock(&l->mu);
	rc = link_conn_send(c, type, payload, len, false, e);
	pthread_mutex_lock(&l->mu);
	if (rc < 0) {
		/* A record that failed its protection (met by the reader,
		 * then by this write): the same words as the reader's. */
		if (rc == -EPROTO)
			err_prefix(e, "TLS error");
		else
			err_prefix(e, "link: sending %s",
				   link_frame_type_name(type));
		link_conn_drop_locked(c, e->msg);
	}
	c->users--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

bool link_is_up(struct link *l)
{
	bool up;

	pthread_mutex_lock(&l->mu);
	up = l->cur && !l->cur->dropped;
	pthread_mutex_unlock(&l->mu);
	return up;
}

uint16_t link_listen_port(struct link *l)
{
	return l->listener ? tcp_listener_port(l->listener) : 0;
}

void link_drop(struct link *l, const char *why)
{
	pthread_mutex_lock(&l->mu);
	if (l->cur)
		link_conn_drop_locked(l->cur, why);
	pthread_mutex_unlock(&l->mu);
}

int64_t link_redial_until(int64_t now_ms, unsigned window_ms)
{
	if (window_ms > LINK_REDIAL_QUICK_WINDOW_MAX_MS)
		window_ms = LINK_REDIAL_QUICK_WINDOW_MAX_MS;
	return now_ms + window_ms;
}

void link_redial_quickly(struct link *l, unsigned window_ms)
{
	pthread_mutex_lock(&l->mu);
	if (l->controller == 'A')
		l->quick_until_ms = link_redial_until(link_now_ms(),
						      window_ms);
	pthread_mutex_unlock(&l->mu);
}

void link_stop(struct link *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stopping = true;
	if (l->cur)
		link_conn_drop_locked(l->cur, "the link was stopped");
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	/* Wakes every wait on a socket: handshakes, reads, writes. */
	if (write(l->wake_fd, &one, sizeof(one)) < 0)
		log_warn("link: cannot wake its threads: %m");
	if (l->listener)
		tcp_listener_stop(l->listener);
	if (l->dialer_started)
		pthread_join(l->dialer, NULL);
	if (l->heart_started)
		pthread_join(l->heart, NULL);
	link_free(l);
}
