/*
 * data.c: the data connection: passive (PASV, EPSV) listeners on the
 * control connection's local address and active (PORT, EPRT) connects.
 * Data comes only from the control connection's peer host: a passive
 * connection from anywhere else is closed and waiting goes on; an active
 * address elsewhere is refused (no FTP bounce).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ftp/ftp.h"

void ftp_data_reset(struct ftp_session *s)
{
	if (s->pasv_fd >= 0)
		close(s->pasv_fd);
	s->pasv_fd = -1;
	s->port_set = false;
}

static uint16_t sock_port(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

int ftp_data_passive(struct ftp_session *s, bool extended)
{
	struct sockaddr_storage addr = s->local;
	socklen_t len = sizeof(addr);
	int fd;

	ftp_data_reset(s);
	if (!extended && s->local.ss_family != AF_INET)
		return ftp_reply(s, 425, "PASV is IPv4 only: use EPSV.");
	if (addr.ss_family == AF_INET)
		((struct sockaddr_in *)&addr)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&addr)->sin6_port = 0;
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&addr,
		 addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6)) < 0 ||
	    listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return ftp_reply(s, 425, "Cannot open a passive data "
				 "connection.");
	}
	s->pasv_fd = fd;
	if (extended)
		return ftp_reply(s, 229, "Entering Extended Passive Mode "
				 "(|||%u|)", sock_port(&addr));
	{
		uint32_t ip = ntohl(((struct sockaddr_in *)&addr)->sin_addr
					    .s_addr);
		uint16_t port = sock_port(&addr);

		return ftp_reply(s, 227, "Entering Passive Mode "
				 "(%u,%u,%u,%u,%u,%u).", ip >> 24,
				 (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
				 port >> 8, port & 255);
	}
}

int ftp_data_active(struct ftp_session *s, const char *arg, bool extended)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int rc;

	ftp_data_reset(s);
	rc = extended ? ftp_eprt_parse(arg, &addr, &len)
		      : ftp_port_parse(arg, &addr, &len);
	if (rc < 0)
		return ftp_reply(s, 501, "Illegal %s command.",
				 extended ? "EPRT" : "PORT");
	if (!ftp_same_host(&addr, &s->peer))
		return ftp_reply(s, 500, "Illegal %s command: data must go to "
				 "your own address.",
				 extended ? "EPRT" : "PORT");
	s->port_addr = addr;
	s->port_len = len;
	s->port_set = true;
	return ftp_reply(s, 200, "%s command successful. Consider using %s.",
			 extended ? "EPRT" : "PORT",
			 extended ? "EPSV" : "PASV");
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t now = ftp_now();
		int rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now) * 1000);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		return 0;
	}
}

static int accept_from_peer(struct ftp_session *s, struct err *e)
{
	int64_t deadline = ftp_now() + FTP_DATA_WAIT_SECONDS;

	for (;;) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		int fd;

		if (wait_fd(s->pasv_fd, POLLIN, deadline) < 0)
			return err_set(e, -ETIMEDOUT, "no data connection "
				       "within %d seconds",
				       FTP_DATA_WAIT_SECONDS);
		fd = accept4(s->pasv_fd, (struct sockaddr *)&from, &len,
			     SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return err_set(e, -errno, "accept failed: %s",
				       strerror(errno));
		}
		if (ftp_same_host(&from, &s->peer))
			return fd;
		/* Someone else raced for the port: never their bytes. */
		close(fd);
	}
}

static int connect_to_peer(struct ftp_session *s, struct err *e)
{
	int fd, flags, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(s->port_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "socket failed: %s",
			       strerror(errno));
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&s->port_addr, s->port_len) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return err_set(e, -errno, "cannot connect to %s: %s",
			       s->peer_text, strerror(errno));
	}
	if (wait_fd(fd, POLLOUT, ftp_now() + FTP_DATA_WAIT_SECONDS) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		close(fd);
		return err_set(e, -ECONNREFUSED, "cannot connect to your data "
			       "port: %s", strerror(soerr ? soerr : ETIMEDOUT));
	}
	fcntl(fd, F_SETFL, flags);
	return fd;
}

/* The data socket for a transfer, after PASV/EPSV or PORT/EPRT. */
int ftp_data_open(struct ftp_session *s, struct err *e)
{
	int fd;

	if (s->pasv_fd >= 0)
		fd = accept_from_peer(s, e);
	else if (s->port_set)
		fd = connect_to_peer(s, e);
	else
		return err_set(e, -ENOTCONN, "Use PORT or PASV first.");
	ftp_data_reset(s);
	return fd;
}
