/*
 * server.c: the FTP listener: a tcp_listener (common/listener.c) gives each
 * control connection its own thread, at most FTP_SESSIONS_MAX; here each
 * connection gets its session state, and one over the limit gets a 421.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/listener.h"
#include "ftp/ftp.h"

struct ftp_server {
	struct ftp_config cfg;
	struct tcp_listener *listener;
	bool stopping;		/* read by session threads: atomic access */
};

bool ftp_server_stopping(struct ftp_server *srv)
{
	return __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
}

static void ftp_refuse(void *arg, int fd)
{
	static const char busy[] = "421 Too many FTP sessions; try again "
				   "later.\r\n";

	(void)arg;
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("ftp: cannot refuse a session: %m");
}

static void ftp_serve(void *arg, struct tcp_conn *conn)
{
	struct ftp_server *srv = arg;
	int fd = tcp_conn_fd(conn);
	socklen_t peer_len = sizeof(struct sockaddr_storage);
	socklen_t local_len = sizeof(struct sockaddr_storage);
	struct ftp_session *s;

	s = calloc(1, sizeof(*s));
	if (s)
		s->chunk = malloc(FTP_CHUNK);
	if (!s || !s->chunk) {
		/* As with any refused connection: closed without a word. */
		if (s)
			free(s->chunk);
		free(s);
		return;
	}
	s->server = srv;
	s->cfg = &srv->cfg;
	s->conn = conn;
	s->ctrl = fd;
	/* Both ends are needed: PORT/EPRT checks and the PASV address. */
	getpeername(fd, (struct sockaddr *)&s->peer, &peer_len);
	getsockname(fd, (struct sockaddr *)&s->local, &local_len);
	snprintf(s->peer_text, sizeof(s->peer_text), "%s",
		 tcp_conn_peer(conn));
	ftp_session_main(s);
	free(s->chunk);
	free(s);
}

struct ftp_server *ftp_server_start(const struct ftp_config *cfg,
				    struct err *e)
{
	struct ftp_server *srv;

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		err_set(e, -ENOMEM, "ftp: out of memory");
		return NULL;
	}
	srv->cfg = *cfg;
	/* Zero means the default: a stall limit of 0 would drop every load. */
	if (srv->cfg.upload_stall_seconds <= 0)
		srv->cfg.upload_stall_seconds = FTP_UPLOAD_STALL_SECONDS;
	srv->listener = tcp_listener_start(&(struct tcp_listener_cfg){
		.name = "ftp", .address = cfg->address, .port = cfg->port,
		.max_sessions = FTP_SESSIONS_MAX,
		.admission = cfg->admission, .serve = ftp_serve,
		.refuse = ftp_refuse, .arg = srv }, e);
	if (!srv->listener) {
		free(srv);
		return NULL;
	}
	return srv;
}

uint16_t ftp_server_port(const struct ftp_server *srv)
{
	return tcp_listener_port(srv->listener);
}

unsigned ftp_server_sessions(struct ftp_server *srv)
{
	return tcp_listener_sessions(srv->listener);
}

void ftp_server_stop(struct ftp_server *srv)
{
	if (!srv)
		return;
	/* Set first: an upload sees it once shutdown() wakes its poll. */
	__atomic_store_n(&srv->stopping, true, __ATOMIC_RELEASE);
	tcp_listener_stop(srv->listener);
	free(srv);
}
