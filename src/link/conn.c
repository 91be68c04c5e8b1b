/*
 * conn.c: one link connection's TLS I/O on a non-blocking socket. Reads
 * and writes come from different threads, and OpenSSL does not allow two
 * calls on one SSL at once: every SSL_* call is made under ssl_mu, and the
 * waits for the socket happen outside it. Knows nothing of frames' meaning.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "link/internal.h"

int64_t link_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct link_conn *link_conn_new(struct link *l, int fd, struct tcp_conn *tcp,
				const char *peer, struct err *e)
{
	struct link_conn *c = calloc(1, sizeof(*c));
	int flags = fcntl(fd, F_GETFL);

	if (!c) {
		err_set(e, -ENOMEM, "link: out of memory");
		return NULL;
	}
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err_set(e, -errno, "link: cannot make the socket "
			"non-blocking: %s", strerror(errno));
		free(c);
		return NULL;
	}
	c->ssl = SSL_new(l->tls);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
		SSL_free(c->ssl);
		free(c);
		err_set(e, -ENOMEM, "link: cannot start TLS");
		return NULL;
	}
	c->link = l;
	c->fd = fd;
	c->tcp = tcp;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	pthread_mutex_init(&c->ssl_mu, NULL);
	pthread_mutex_init(&c->write_mu, NULL);
	buf_init(&c->out, LINK_FRAME_HEADER + LINK_FRAME_MAX);
	return c;
}

void link_conn_free(struct link_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	buf_free(&c->out);
	pthread_mutex_destroy(&c->ssl_mu);
	pthread_mutex_destroy(&c->write_mu);
	free(c);
}

void link_conn_drop_locked(struct link_conn *c, const char *why)
{
	if (c->dropped)
		return;
	c->dropped = true;
	snprintf(c->why, sizeof(c->why), "%s", why);
	shutdown(c->fd, SHUT_RDWR);
}

int link_conn_wait(struct link_conn *c, short events, int64_t deadline_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = c->fd, .events = events },
		{ .fd = c->link->wake_fd, .events = POLLIN },
	};

	for (;;) {
		int timeout = -1, n;

		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - link_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		n = poll(pfd, 2, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (pfd[1].revents)
			return -ECANCELED;
		if (pfd[0].revents)
			return 0;
	}
}

/*
 * One SSL call's outcome: > 0 done, 0 to wait for *events, or negative
 * with e (a close_notify from the partner: -ESHUTDOWN).
 */
static int tls_outcome(struct link_conn *c, int rc, int error, int sys_errno,
		       const char *reason, short *events, struct err *e)
{
	(void)c;
	if (rc > 0)
		return rc;
	switch (error) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return err_set(e, -ESHUTDOWN, "closed by the partner");
	case SSL_ERROR_SYSCALL:
		if (sys_errno)
			return err_set(e, -sys_errno, "%s",
				       strerror(sys_errno));
		if (reason[0])
			return err_set(e, -ECONNRESET, "%s", reason);
		return err_set(e, -ECONNRESET, "connection closed");
	default:
		return err_set(e, -EPROTO, "%s", reason);
	}
}

/*
 * The reason of a failed SSL call, under ssl_mu. OpenSSL's error queue is
 * per thread: once the reader has met a fatal error (a record that does
 * not authenticate), a write on another thread fails with nothing queued.
 * The first reason is kept, so either thread names the real failure.
 */
static void link_conn_tls_reason(struct link_conn *c, char *out, size_t len)
{
	bool queued = ERR_peek_error() != 0;

	link_tls_error(out, len);
	if (queued && !c->tls_failure[0])
		snprintf(c->tls_failure, sizeof(c->tls_failure), "%s", out);
	else if (!queued && c->tls_failure[0])
		snprintf(out, len, "%s", c->tls_failure);
}

/*
 * Runs one SSL call (op) under ssl_mu and turns its result into
 * tls_outcome's: the error queue and errno are read before anything else
 * can touch them.
 */
#define TLS_CALL(c, call, events, e)                                         \
	({                                                                   \
		char reason_[160] = "";                                      \
		int rc_, error_, errno_;                                     \
		pthread_mutex_lock(&(c)->ssl_mu);                            \
		ERR_clear_error();                                           \
		errno = 0;                                                   \
		rc_ = (call);                                                \
		errno_ = errno;                                              \
		error_ = rc_ > 0 ? SSL_ERROR_NONE                            \
				 : SSL_get_error((c)->ssl, rc_);             \
		if (error_ == SSL_ERROR_SSL || error_ == SSL_ERROR_SYSCALL)  \
			link_conn_tls_reason((c), reason_, sizeof(reason_)); \
		pthread_mutex_unlock(&(c)->ssl_mu);                          \
		if (error_ != SSL_ERROR_SYSCALL)                             \
			errno_ = 0;                                          \
		tls_outcome((c), rc_, error_, errno_, reason_, (events), (e)); \
	})

int link_conn_handshake(struct link_conn *c, bool server, int64_t deadline_ms,
			struct err *e)
{
	if (server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	for (;;) {
		short events = 0;
		int rc = TLS_CALL(c, SSL_do_handshake(c->ssl), &events, e);

		if (rc > 0)
			return 0;
		if (rc < 0)
			return rc;
		rc = link_conn_wait(c, events, deadline_ms);
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "no handshake within the login "
				       "time");
		if (rc < 0)
			return err_set(e, rc, "the link is stopping");
	}
}

ssize_t link_conn_read(struct link_conn *c, void *data, size_t cap,
		       int64_t deadline_ms, struct err *e)
{
	int want = cap > INT32_MAX ? INT32_MAX : (int)cap;

	for (;;) {
		short events = 0;
		int rc = TLS_CALL(c, SSL_read(c->ssl, data, want), &events, e);

		if (rc > 0)
			return rc;
		if (rc == -ESHUTDOWN)
			return 0;
		if (rc < 0)
			return rc;
		rc = link_conn_wait(c, events, deadline_ms);
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "nothing within the login time");
		if (rc < 0)
			return err_set(e, rc, "the link is stopping");
	}
}

int link_conn_write(struct link_conn *c, const void *data, size_t len,
		    struct err *e)
{
	const uint8_t *p = data;
	int64_t deadline = link_now_ms() + c->link->write_ms;

	while (len > 0) {
		int want = len > INT32_MAX ? INT32_MAX : (int)len;
		short events = 0;
		int rc = TLS_CALL(c, SSL_write(c->ssl, p, want), &events, e);

		if (rc > 0) {
			p += rc;
			len -= (size_t)rc;
			/* Progress: the deadline starts again. */
			deadline = link_now_ms() + c->link->write_ms;
			continue;
		}
		if (rc < 0)
			return rc;
		rc = link_conn_wait(c, events, deadline);
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "the partner took nothing for "
				       "%lld s", (long long)c->link->write_ms /
				       1000);
		if (rc < 0)
			return err_set(e, rc, "the link is stopping");
	}
	return 0;
}

int link_conn_send(struct link_conn *c, unsigned type, const void *payload,
		   size_t len, bool try, struct err *e)
{
	int rc;

	if (try) {
		if (pthread_mutex_trylock(&c->write_mu) != 0)
			return -EBUSY;
	} else {
		pthread_mutex_lock(&c->write_mu);
	}
	buf_reset(&c->out);
	rc = link_frame_encode(&c->out, type, payload, len);
	if (rc == 0)
		rc = link_conn_write(c, c->out.data, c->out.len, e);
	else
		err_set(e, rc, "link: cannot encode a %s frame of %zu bytes",
			link_frame_type_name(type), len);
	pthread_mutex_unlock(&c->write_mu);
	return rc;
}
