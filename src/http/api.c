/*
 * api.c: the family's XML API (MSA-REFERENCE.md, "HTTP API"): login by
 * digest, the session key, logout, and /api/<words> run through the one
 * CLI engine with the session's role and rendered by its renderers. Every
 * answer, errors included, is the family's document (XML or JSON), never
 * HTML; nothing here echoes what the client sent except as the CLI does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

/* The request this thread answers for a suspended connection: its reply
 * is left in it, not queued (http_api_request). */
static __thread struct http_request *deferring;

/* Leaves resp (taken) as the deferred request's reply. */
static enum MHD_Result reply_defer(struct MHD_Response *resp, unsigned code)
{
	struct http_request *r = deferring;

	if (r->deferred_resp || r->deferred_answer) {
		MHD_destroy_response(resp);
		return MHD_NO;		/* one reply a request */
	}
	r->deferred_resp = resp;
	r->deferred_code = code;
	return MHD_YES;
}

static const char *mime_of(enum cli_output_mode mode)
{
	return mode == CLI_OUTPUT_JSON ? "application/json"
				       : "text/xml; charset=utf-8";
}

struct MHD_Response *http_response_buf(const char *type, struct buf *body)
{
	struct MHD_Response *resp;
	size_t len = body->len;
	char *data = buf_steal(body);

	/* The reply's bytes are handed over, not copied. */
	resp = data ? MHD_create_response_from_buffer(len, data,
						      MHD_RESPMEM_MUST_FREE) :
	       MHD_create_response_from_buffer(0, (void *)"",
					       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(data);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	return resp;
}

enum MHD_Result http_reply_buf(struct MHD_Connection *c, unsigned code,
			       const char *type, struct buf *body)
{
	struct MHD_Response *resp = http_response_buf(type, body);
	enum MHD_Result rc;

	if (!resp)
		return MHD_NO;
	if (deferring)
		return reply_defer(resp, code);
	rc = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result http_reply_status(struct http_server *s,
				  struct MHD_Connection *c,
				  const struct http_request *r,
				  unsigned code, enum cli_response_type type,
				  int return_code, const char *request,
				  const char *text)
{
	struct cli_result result;
	enum MHD_Result rc;
	struct buf body;
	int err;

	cli_result_init(&result);
	result.time = s->cfg.backend->now(s->cfg.backend_ctx);
	result.request = request;
	cli_result_status(&result, type, return_code, "%s", text);
	buf_init(&body, CLI_OUTPUT_MAX);
	err = r->mode == CLI_OUTPUT_JSON ? cli_render_json(&result, &body) :
	      cli_render_xml(&result, r->mode == CLI_OUTPUT_API_EMBED, &body);
	cli_result_free(&result);
	rc = err < 0 ? MHD_NO : http_reply_buf(c, code, mime_of(r->mode),
					       &body);
	buf_free(&body);
	return rc;
}

void http_session_lookup(struct http_server *s, struct MHD_Connection *c,
			 struct http_request *r)
{
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      "sessionKey");
	const char *site;

	if (!key || !*key) {
		key = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
						  "wbisessionkey");
		/* A browser sends cookies on requests other sites start;
		 * it says so (Fetch Metadata), and such a request gets no
		 * session: no cross-site request forgery by cookie. */
		site = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						   "Sec-Fetch-Site");
		if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
			key = NULL;
	}
	r->session_rc = key && *key ?
		http_sessions_use(s->cfg.sessions, key, &r->session) :
		HTTP_SESSION_UNKNOWN;
	/* A user deleted or denied the wbi interface since the login loses
	 * the session; a changed role holds from the next request. */
	if (r->session_rc == HTTP_SESSION_OK && s->cfg.ops->session_check &&
	    s->cfg.ops->session_check(s->cfg.ctx, r->session.user,
				      &r->session.role) < 0) {
		http_sessions_end(s->cfg.sessions, key);
		r->session_rc = HTTP_SESSION_UNKNOWN;
	}
	r->authenticated = r->session_rc == HTTP_SESSION_OK;
	if (r->authenticated)
		http_conn_authenticated(c);
}

/* The answer to a request without a valid session: 401 and -10027. */
static enum MHD_Result reply_session(struct http_server *s,
				     struct MHD_Connection *c,
				     const struct http_request *r,
				     const char *request)
{
	return http_reply_status(s, c, r, MHD_HTTP_UNAUTHORIZED,
		CLI_RESPONSE_ERROR, HTTP_RC_SESSION, request,
		r->session_rc == HTTP_SESSION_EXPIRED ?
		"The session has expired: log in again (/api/login)." :
		"Invalid session key: log in first (/api/login) and send "
		"the key as header sessionKey.");
}

static enum MHD_Result login(struct http_server *s, struct MHD_Connection *c,
			     struct http_request *r)
{
	struct http_session_info info;
	char key[HTTP_KEY_TEXT];
	struct err e = { 0 };
	int rc;

	rc = s->cfg.ops->login(s->cfg.ctx, r->route.arg, http_conn_peer(c),
			       &info, &e);
	if (rc < 0)
		/* Locked out or wrong: the family's one failure answer; the
		 * lockout's reason is in the event log, not for the guesser. */
		return http_reply_status(s, c, r, MHD_HTTP_OK,
			CLI_RESPONSE_ERROR, HTTP_RC_LOGIN_FAILED, "login",
			"Authentication Unsuccessful");
	if (http_sessions_create(s->cfg.sessions, info.user, info.role,
				 key) < 0)
		return http_reply_status(s, c, r,
			MHD_HTTP_INTERNAL_SERVER_ERROR, CLI_RESPONSE_ERROR,
			CLI_RC_FAILED, "login",
			"No session could be made: try again.");
	http_conn_authenticated(c);
	rc = http_reply_status(s, c, r, MHD_HTTP_OK, CLI_RESPONSE_SUCCESS,
			       HTTP_RC_LOGIN_OK, "login", key);
	explicit_bzero(key, sizeof(key));
	return rc;
}

static enum MHD_Result logout(struct http_server *s, struct MHD_Connection *c,
			      struct http_request *r)
{
	const char *key = r->route.arg;

	/* /api/logout/<key> ends that key's session: knowing it is the
	 * right to end it. /api/exit and /api/logout end the caller's. */
	if (r->route.kind == HTTP_ROUTE_LOGOUT && *key) {
		if (http_sessions_end(s->cfg.sessions, key) < 0)
			return reply_session(s, c, r, "logout");
	} else {
		if (r->session_rc != HTTP_SESSION_OK)
			return reply_session(s, c, r, "exit");
		key = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  "sessionKey");
		if (!key || !*key)
			key = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
							  "wbisessionkey");
		if (key)
			http_sessions_end(s->cfg.sessions, key);
	}
	return http_reply_status(s, c, r, MHD_HTTP_OK, CLI_RESPONSE_SUCCESS,
				 CLI_RC_OK,
				 r->route.kind == HTTP_ROUTE_EXIT ? "exit"
								  : "logout",
				 "Command completed successfully. "
				 "(The session has ended.)");
}

/* The answer kept from an earlier request, if it still holds. */
static bool command_kept(struct http_server *s, struct MHD_Connection *c,
			 const struct http_request *r, enum MHD_Result *rc)
{
	struct http_answer *a;

	if (!s->answers)
		return false;
	a = http_answer_find(s->answers, s->cfg.backend, s->cfg.backend_ctx,
			     r->session.user, r->session.role, r->mode,
			     r->route.line);
	if (!a)
		return false;
	*rc = MHD_queue_response(c, MHD_HTTP_OK, http_answer_response(a));
	http_answer_release(a);
	return true;
}

static enum MHD_Result command(struct http_server *s,
			       struct MHD_Connection *c,
			       struct http_request *r)
{
	const struct cli_backend *be = s->cfg.backend;
	struct http_answer_rec *rec = NULL;
	struct MHD_Response *resp;
	struct http_answer *kept = NULL;
	struct cli_session *cs;
	enum MHD_Result rc;
	struct buf out;

	if (r->session_rc != HTTP_SESSION_OK)
		return reply_session(s, c, r, r->route.line);
	if (!deferring && command_kept(s, c, r, &rc))
		return rc;
	if (s->answers)
		rec = http_answer_record(s->answers, s->cfg.backend,
					 s->cfg.backend_ctx, &be);
	cs = cli_session_new(be, rec ? (void *)rec : s->cfg.backend_ctx,
			     r->session.user, r->session.role);
	if (!cs) {
		http_answer_record_free(rec);
		return http_reply_status(s, c, r,
			MHD_HTTP_INTERNAL_SERVER_ERROR, CLI_RESPONSE_ERROR,
			CLI_RC_FAILED, r->route.line, "Out of memory.");
	}
	cli_session_set_output(cs, r->mode);
	buf_init(&out, CLI_OUTPUT_MAX + 4096);
	if (cli_session_execute(cs, r->route.line, strlen(r->route.line),
				&out) == CLI_EXECUTE_EXIT || out.len == 0) {
		/* `exit` through the command path: the caller's session. */
		cli_session_free(cs);
		http_answer_record_free(rec);
		buf_free(&out);
		r->route.kind = HTTP_ROUTE_EXIT;
		return logout(s, c, r);
	}
	cli_session_free(cs);
	if (out.len > HTTP_ANSWER_BYTES_MAX) {
		http_answer_record_free(rec);
		rec = NULL;
	}
	resp = http_response_buf(mime_of(r->mode), &out);
	buf_free(&out);
	if (!resp) {
		http_answer_record_free(rec);
		return MHD_NO;
	}
	if (rec)
		kept = http_answer_keep(s->answers, rec, r->session.user,
					r->session.role, r->mode,
					r->route.line, resp);
	http_answer_record_free(rec);
	if (deferring && kept) {
		/* The answer's reference is the request's until queued. */
		r->deferred_answer = kept;
		r->deferred_code = MHD_HTTP_OK;
		return MHD_YES;
	}
	if (deferring)
		return reply_defer(resp, MHD_HTTP_OK);
	rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
	if (kept)
		http_answer_release(kept);
	else
		MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result http_api_handle(struct http_server *s,
				struct MHD_Connection *c,
				struct http_request *r)
{
	switch (r->route.kind) {
	case HTTP_ROUTE_LOGIN:
		return login(s, c, r);
	case HTTP_ROUTE_LOGOUT:
	case HTTP_ROUTE_EXIT:
		return logout(s, c, r);
	default:
		return command(s, c, r);
	}
}

/* ---- requests that may wait: a thread of their own ---- */

struct deferred {
	struct http_server *s;
	struct MHD_Connection *c;
	void (*fn)(void *arg);
	void *arg;
};

static void *deferred_main(void *arg)
{
	struct deferred d = *(struct deferred *)arg;

	free(arg);
	d.fn(d.arg);
	/* From here on the connection is libmicrohttpd's again, and stop
	 * may free the server once the count is down. */
	MHD_resume_connection(d.c);
	pthread_mutex_lock(&d.s->mu);
	d.s->deferred_running--;
	pthread_cond_broadcast(&d.s->cond);
	pthread_mutex_unlock(&d.s->mu);
	return NULL;
}

bool http_defer(struct http_server *s, struct MHD_Connection *c,
		void (*fn)(void *arg), void *arg)
{
	struct deferred *d = malloc(sizeof(*d));
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (!d)
		return false;
	*d = (struct deferred){ .s = s, .c = c, .fn = fn, .arg = arg };
	pthread_mutex_lock(&s->mu);
	s->deferred_running++;
	pthread_mutex_unlock(&s->mu);
	MHD_suspend_connection(c);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, deferred_main, d);
	pthread_attr_destroy(&attr);
	if (err) {
		MHD_resume_connection(c);
		pthread_mutex_lock(&s->mu);
		s->deferred_running--;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mu);
		free(d);
		return false;
	}
	return true;
}

struct deferred_request {
	struct http_server *s;
	struct MHD_Connection *c;
	struct http_request *r;
};

static void deferred_request_run(void *arg)
{
	struct deferred_request *d = arg;
	struct http_request *r = d->r;

	http_answering_begin(d->s);
	deferring = r;
	if (http_api_handle(d->s, d->c, r) != MHD_YES ||
	    (!r->deferred_resp && !r->deferred_answer))
		r->deferred_failed = true;
	deferring = NULL;
	if (http_answering_end())
		r->closes_listener = true;
	free(d);
}

enum MHD_Result http_api_request(struct http_server *s,
				 struct MHD_Connection *c,
				 struct http_request *r)
{
	struct MHD_Response *resp;
	struct deferred_request *d;
	enum MHD_Result rc;

	if (r->deferred) {
		/* Called again after the resume: the reply it left. */
		if (r->deferred_failed)
			return MHD_NO;
		if (r->deferred_answer) {
			rc = MHD_queue_response(c, r->deferred_code,
				http_answer_response(r->deferred_answer));
			http_answer_release(r->deferred_answer);
			r->deferred_answer = NULL;
			return rc;
		}
		resp = r->deferred_resp;
		r->deferred_resp = NULL;
		rc = MHD_queue_response(c, r->deferred_code, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	/* What cannot wait is answered here: a kept answer, a request
	 * without a session, a logout. */
	if (r->route.kind != HTTP_ROUTE_LOGIN &&
	    (r->route.kind != HTTP_ROUTE_COMMAND ||
	     r->session_rc != HTTP_SESSION_OK))
		return http_api_handle(s, c, r);
	if (r->route.kind == HTTP_ROUTE_COMMAND && command_kept(s, c, r, &rc))
		return rc;
	d = malloc(sizeof(*d));
	if (!d)
		return http_api_handle(s, c, r);
	*d = (struct deferred_request){ .s = s, .c = c, .r = r };
	r->deferred = true;
	if (!http_defer(s, c, deferred_request_run, d)) {
		/* No thread: answered here, as before. */
		free(d);
		r->deferred = false;
		return http_api_handle(s, c, r);
	}
	return MHD_YES;
}
