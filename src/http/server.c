/*
 * server.c: one HTTP or HTTPS listener. The common TCP listener accepts
 * (the admission policy: per-source limits, login and write deadlines)
 * and gives each socket a thread; that thread hands a duplicate of the
 * socket to libmicrohttpd (MHD_add_connection; MHD owns the duplicate and
 * serves it from a pool of epoll threads, one a core) and waits until MHD
 * has closed it.
 * A cut by the listener is a shutdown() of the shared socket, which ends
 * MHD's reads and writes too. This file routes each request; api.c,
 * static.c and upload.c answer it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"

/* ---- connections: the listener's thread and MHD's connection ---- */

static struct http_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void http_conn_authenticated(struct MHD_Connection *c)
{
	struct http_conn *hc = conn_of(c);

	if (hc)
		tcp_conn_authenticated(hc->tcp);
}

const char *http_conn_peer(struct MHD_Connection *c)
{
	struct http_conn *hc = conn_of(c);

	return hc ? tcp_conn_peer(hc->tcp) : "unknown";
}

static void on_connection(void *cls, struct MHD_Connection *connection,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *hc;

	pthread_mutex_lock(&s->mu);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(connection,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		for (hc = s->conns; ci && hc; hc = hc->next)
			if (!hc->attached && hc->fd == ci->connect_fd) {
				hc->attached = true;
				*socket_context = hc;
				break;
			}
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		hc = *socket_context;
		hc->closed = true;
		*socket_context = NULL;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
}

static void conns_remove(struct http_server *s, struct http_conn *hc)
{
	struct http_conn **link;

	for (link = &s->conns; *link; link = &(*link)->next)
		if (*link == hc) {
			*link = hc->next;
			break;
		}
}

/* The listener's thread for one socket: MHD serves it, we wait. */
static void serve(void *arg, struct tcp_conn *tcp)
{
	struct http_server *s = arg;
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	struct http_conn hc = { .srv = s, .tcp = tcp };
	int fd = tcp_conn_fd(tcp);

	if (getpeername(fd, (struct sockaddr *)&sa, &salen) < 0)
		return;
	/* The switch is checked where the session starts: a connection
	 * accepted as `set protocols` closes the port gets nothing. */
	if (s->cfg.ops->may_serve &&
	    !s->cfg.ops->may_serve(s->cfg.ctx, s->cfg.tls))
		return;
	hc.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (hc.fd < 0) {
		log_warn("%s: cannot hand a connection over: %m", s->name);
		return;
	}
	pthread_mutex_lock(&s->mu);
	hc.next = s->conns;
	s->conns = &hc;
	pthread_mutex_unlock(&s->mu);
	/* MHD owns hc.fd from here, and closes it even on failure. */
	if (MHD_add_connection(s->mhd, hc.fd, (struct sockaddr *)&sa,
			       salen) != MHD_YES) {
		pthread_mutex_lock(&s->mu);
		if (!hc.attached)
			hc.closed = true;
		while (!hc.closed)
			pthread_cond_wait(&s->cond, &s->mu);
		conns_remove(s, &hc);
		pthread_mutex_unlock(&s->mu);
		tcp_conn_log(tcp, "refused: the HTTP engine took no more");
		return;
	}
	pthread_mutex_lock(&s->mu);
	while (!hc.closed)
		pthread_cond_wait(&s->cond, &s->mu);
	conns_remove(s, &hc);
	pthread_mutex_unlock(&s->mu);
}

/* ---- requests ---- */

/* The server whose request this thread is answering, if any: a request
 * that switches its own listener off must still get its reply. */
static __thread struct http_server *answering;
static __thread bool answering_closed;

void http_answering_begin(struct http_server *s)
{
	answering = s;
	answering_closed = false;
}

/* Whether the request switched its listener off. */
bool http_answering_end(void)
{
	bool closed = answering_closed;

	answering = NULL;
	answering_closed = false;
	return closed;
}

static enum MHD_Result reply_error(struct http_server *s,
				   struct MHD_Connection *c,
				   struct http_request *r)
{
	static const struct {
		int rc;
		unsigned code;
	} codes[] = {
		{ HTTP_ROUTE_BAD_PATH, MHD_HTTP_BAD_REQUEST },
		{ HTTP_ROUTE_BAD_METHOD, MHD_HTTP_METHOD_NOT_ALLOWED },
		{ HTTP_ROUTE_NOT_FOUND, MHD_HTTP_NOT_FOUND },
		{ HTTP_ROUTE_BAD_DIGEST, MHD_HTTP_BAD_REQUEST },
	};
	unsigned code = MHD_HTTP_BAD_REQUEST;

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i].rc == r->route_rc)
			code = codes[i].code;
	return http_reply_status(s, c, r, code, CLI_RESPONSE_ERROR,
				 CLI_RC_SYNTAX, "", r->why);
}

/*
 * Each pool thread keeps the last request it ended for its next: a
 * request is too big for malloc's per-thread cache, and the threads
 * would take turns at the one arena (daemon/main.c) twice a request.
 */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spare_key_make(void)
{
	spare_ok = pthread_key_create(&spare_key, free) == 0;
}

static struct http_request *request_alloc(void)
{
	struct http_request *r;

	pthread_once(&spare_once, spare_key_make);
	r = spare_ok ? pthread_getspecific(spare_key) : NULL;
	if (!r)
		return calloc(1, sizeof(*r));
	pthread_setspecific(spare_key, NULL);
	memset(r, 0, sizeof(*r));
	return r;
}

static void request_release(struct http_request *r)
{
	pthread_once(&spare_once, spare_key_make);
	if (!spare_ok || pthread_getspecific(spare_key) ||
	    pthread_setspecific(spare_key, r) != 0)
		free(r);
}

/* The first call of a request: route it, and read its headers. */
static struct http_request *request_new(struct http_server *s,
					struct MHD_Connection *c,
					const char *url, const char *method)
{
	struct http_request *r = request_alloc();
	const char *dt;

	if (!r)
		return NULL;
	r->route_rc = http_route_parse(method, url, &r->route, r->why,
				       sizeof(r->why));
	r->is_post = strcmp(method, "POST") == 0;
	dt = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "datatype");
	r->mode_ok = http_datatype_parse(dt, &r->mode) == 0;
	if (!r->mode_ok)
		r->mode = CLI_OUTPUT_API;
	/* A static file needs no session, but one that comes with a valid
	 * key is a logged-in client's: the login deadline is off for it. */
	if (r->route_rc == HTTP_ROUTE_OK &&
	    r->route.kind != HTTP_ROUTE_LOGIN)
		http_session_lookup(s, c, r);
	return r;
}

/* A body where none is expected: counted, dropped, capped. */
static int body_discard(struct http_request *r, size_t len)
{
	if (len > HTTP_BODY_MAX - r->body_len)
		return -1;
	r->body_len += len;
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;
	struct err e = { 0 };

	(void)version;
	if (!r) {
		/* Answered on the next call, once MHD has the whole header
		 * block: a reply queued now would close the connection. */
		r = request_new(s, c, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		/* An upload starts now, or is refused now: its body is
		 * not read (MHD then closes the connection). */
		if (r->route_rc == HTTP_ROUTE_OK &&
		    r->route.kind == HTTP_ROUTE_FW_BUNDLE &&
		    http_upload_start(s, c, r, &e) < 0)
			return http_upload_finish(s, c, r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t len = *upload_data_size;

		*upload_data_size = 0;
		if (r->upload) {
			/* A failure is kept for the reply; the rest of
			 * the body is read and dropped, up to a limit. */
			http_upload_feed(r, upload_data, len, &e);
			if (http_upload_drained(r))
				return http_upload_finish(s, c, r);
			return MHD_YES;
		}
		if (body_discard(r, len) < 0)
			return http_reply_status(s, c, r,
				MHD_HTTP_CONTENT_TOO_LARGE,
				CLI_RESPONSE_ERROR, CLI_RC_SYNTAX, "",
				"The request body is too large.");
		return MHD_YES;
	}
	if (r->route_rc != HTTP_ROUTE_OK)
		return reply_error(s, c, r);
	if (!r->mode_ok)
		return http_reply_status(s, c, r, MHD_HTTP_BAD_REQUEST,
			CLI_RESPONSE_ERROR, CLI_RC_SYNTAX, "",
			"Unknown datatype: use api, xml, ipa, api-embed or "
			"json.");
	switch (r->route.kind) {
	case HTTP_ROUTE_STATIC:
		return http_static_handle(s, c, r);
	case HTTP_ROUTE_FW_BUNDLE:
		return http_upload_finish(s, c, r);
	case HTTP_ROUTE_FW_PROGRESS:
		return http_progress_handle(s, c, r);
	default:
		return http_api_request(s, c, r);
	}
}

/*
 * libmicrohttpd counts the time a handler runs as the connection's idle
 * time (it stamps activity only on reads and writes), so a bundle's feed
 * or verification taking longer than the keep-alive timeout would cut the
 * client off before its reply. The timeout is off while the handler runs;
 * setting it again from 0 stamps the activity anew.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version,
				  const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	unsigned idle = s->cfg.idle_seconds ? s->cfg.idle_seconds
					    : HTTP_IDLE_SECONDS;
	enum MHD_Result rc;

	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	http_answering_begin(s);
	rc = handle(cls, c, url, method, version, upload_data,
		    upload_data_size, con_cls);
	if (http_answering_end() && *con_cls)
		((struct http_request *)*con_cls)->closes_listener = true;
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, idle);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;

	(void)c;
	(void)toe;
	if (!r)
		return;
	http_upload_free(s, r);
	if (r->deferred_resp)
		MHD_destroy_response(r->deferred_resp);
	http_answer_release(r->deferred_answer);
	/* A load that activated: the MC restarts now that its reply is
	 * sent (or its client has gone). */
	if (r->replied_ok && s->cfg.ops->upload_replied)
		s->cfg.ops->upload_replied(s->cfg.ctx);
	/* The reply of the request that switched this listener off has
	 * gone: now the port closes and the connections are cut. */
	if (r->closes_listener) {
		bool mine;

		pthread_mutex_lock(&s->mu);
		mine = !s->close_given_up;
		s->close_started = mine;
		pthread_mutex_unlock(&s->mu);
		if (mine)
			tcp_listener_close(s->listener);
		pthread_mutex_lock(&s->mu);
		s->close_replied = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
	}
	request_release(r);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages, through our log (which escapes). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char text[512];
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	log_warn_limited(s->name, "%s: %s", s->name, text);
}

static int load_pem(const char *dir, const char *file, char **out,
		    struct err *e)
{
	char path[4200];
	struct buf b;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf_init(&b, 65536);
	if (fs_read_file(path, 65536, &b, e) < 0) {
		buf_free(&b);
		return e->code;
	}
	*out = buf_steal(&b);
	return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

/* libmicrohttpd's threads: one a core the daemon may run on (a systemd
 * CPUAffinity= or cpuset leaves fewer than the machine has: two threads
 * on one core take turns, and the connections of the one waiting wait a
 * whole time slice), HTTP_THREADS_MAX at most; a request that may wait
 * runs on a thread of its own (api.c). */
static unsigned http_threads(void)
{
	cpu_set_t set;
	int n;

	n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
							  : 1;
	return n < 1 ? 1u : n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX
						 : (unsigned)n;
}

static int mhd_start(struct http_server *s, struct err *e)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG;
	if (s->cfg.tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return err_set(e, -ENOTSUP, "https: this "
				       "libmicrohttpd has no TLS support");
		if (http_cert_ensure(s->cert_dir, s->address, e) < 0 ||
		    load_pem(s->cert_dir, HTTP_KEY_FILE, &s->key_pem, e) < 0 ||
		    load_pem(s->cert_dir, HTTP_CERT_FILE, &s->cert_pem,
			     e) < 0)
			return e->code;
		flags |= MHD_USE_TLS;
	}
	/* A TLS daemon takes its key and certificate as two more options;
	 * MHD_OPTION_END ends the plain daemon's list before them. */
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_seconds ?
		s->cfg.idle_seconds : (unsigned)HTTP_IDLE_SECONDS,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(HTTP_CONNECTIONS_MAX + TCP_LEAVING_MAX),
		MHD_OPTION_THREAD_POOL_SIZE, http_threads(),
		s->cfg.tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END,
		s->key_pem, MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem,
		MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
		MHD_OPTION_END);
	if (!s->mhd)
		return err_set(e, -EIO, "%s: libmicrohttpd did not start",
			       s->name);
	return 0;
}

static void server_free(struct http_server *s)
{
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	http_answers_free(s->answers);
	if (s->key_pem)
		explicit_bzero(s->key_pem, strlen(s->key_pem));
	free(s->key_pem);
	free(s->cert_pem);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct http_server *http_server_start(const struct http_server_config *cfg,
				      struct err *e)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(e, -ENOMEM, "%s: out of memory", cfg->name);
		return NULL;
	}
	s->cfg = *cfg;
	snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	snprintf(s->address, sizeof(s->address), "%s", cfg->address);
	snprintf(s->cert_dir, sizeof(s->cert_dir), "%s",
		 cfg->cert_dir ? cfg->cert_dir : ".");
	snprintf(s->web_root, sizeof(s->web_root), "%s",
		 cfg->web_root ? cfg->web_root : "");
	s->cfg.name = s->name;
	s->cfg.address = s->address;
	s->cfg.cert_dir = s->cert_dir;
	s->cfg.web_root = s->web_root;
	if (!s->cfg.admission.source_max)
		s->cfg.admission.source_max = HTTP_SOURCE_MAX;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	/* Without room for kept answers, every command runs anew. */
	s->answers = http_answers_new(s->cfg.backend);
	if (mhd_start(s, e) < 0) {
		server_free(s);
		return NULL;
	}
	s->listener = tcp_listener_start(&(struct tcp_listener_cfg){
		.name = s->name,
		.address = s->address,
		.port = cfg->port,
		.max_sessions = HTTP_CONNECTIONS_MAX,
		.nodelay = true,
		.admission = s->cfg.admission,
		.serve = serve,
		.arg = s,
	}, e);
	if (!s->listener) {
		server_free(s);
		return NULL;
	}
	return s;
}

uint16_t http_server_port(const struct http_server *s)
{
	return tcp_listener_port(s->listener);
}

void http_server_close(struct http_server *s)
{
	if (answering == s) {
		/* From one of this listener's own requests: closed once its
		 * reply is sent (on_completed), or by http_server_stop. */
		pthread_mutex_lock(&s->mu);
		s->close_deferred = true;
		pthread_mutex_unlock(&s->mu);
		answering_closed = true;
		return;
	}
	tcp_listener_close(s->listener);
}

/* Under mu: waits up to HTTP_DEFERRED_WAIT_MS for the threads answering
 * suspended connections (http_defer); whether none is left. */
static bool deferred_done(struct http_server *s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HTTP_DEFERRED_WAIT_MS / 1000;
	while (s->deferred_running > 0)
		if (pthread_cond_timedwait(&s->cond, &s->mu, &until) ==
		    ETIMEDOUT)
			break;
	return s->deferred_running == 0;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	/* A request that switched the listener off gets its reply first
	 * (HTTP_CLOSE_REPLY_MS at most). */
	pthread_mutex_lock(&s->mu);
	if (s->close_deferred) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += HTTP_CLOSE_REPLY_MS / 1000;
		/* Once on_completed has begun closing, it is waited for:
		 * two threads never close the listener at once. */
		while (!s->close_replied) {
			if (s->close_started)
				pthread_cond_wait(&s->cond, &s->mu);
			else if (pthread_cond_timedwait(&s->cond, &s->mu,
							&until) == ETIMEDOUT)
				break;
		}
		s->close_given_up = !s->close_replied;
	}
	if (!deferred_done(s)) {
		/* A thread still holds a suspended connection of this MHD
		 * daemon and will resume it: stopping the daemon now would
		 * free it under that thread. The process is ending or the
		 * listener is switched off; its memory is left. */
		pthread_mutex_unlock(&s->mu);
		log_warn("%s: %u request%s still answering after %d ms; "
			 "the listener's memory is left to %s", s->name,
			 s->deferred_running, s->deferred_running == 1 ? "" :
			 "s", HTTP_DEFERRED_WAIT_MS,
			 s->deferred_running == 1 ? "it" : "them");
		return;
	}
	pthread_mutex_unlock(&s->mu);
	/* Every connection's thread waits for MHD to close it; the cut
	 * makes MHD do so. Then MHD has no connection left to stop. */
	tcp_listener_stop(s->listener);
	server_free(s);
}
