/*
 * internal.h: what the files of src/http share: the server, one accepted
 * connection and one request. Not for use outside src/http/.
 */
#ifndef TANDEM_HTTP_INTERNAL_H
#define TANDEM_HTTP_INTERNAL_H

#include <pthread.h>
#include <microhttpd.h>

#include "http/http.h"

struct http_conn;
struct http_answers;

struct http_server {
	struct http_server_config cfg;
	char name[16];
	char address[64];
	char cert_dir[4096];
	char web_root[4096];		/* "" when none */
	struct MHD_Daemon *mhd;
	struct http_answers *answers;	/* NULL: none kept */
	struct tcp_listener *listener;
	char *key_pem, *cert_pem;	/* tls: for MHD, daemon's lifetime */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct http_conn *conns;	/* handed to MHD, not yet closed */
	/* A request switched this listener off (`set protocols`): the
	 * close waits until its reply is sent (replied), under mu. */
	bool close_deferred;
	bool close_started;	/* on_completed is closing it */
	bool close_given_up;	/* stop did not wait any longer */
	bool close_replied;
	/* Threads answering a suspended connection (api.c, upload.c),
	 * under mu: stop waits for them, as they resume a connection of
	 * this MHD daemon. */
	unsigned deferred_running;
};

/* Runs fn(arg) on a thread of its own while c is suspended; resumes c
 * after it. false when no thread could be made (nothing suspended). */
bool http_defer(struct http_server *s, struct MHD_Connection *c,
		void (*fn)(void *arg), void *arg);

/* One socket from the listener, as libmicrohttpd serves it. */
struct http_conn {
	struct http_server *srv;
	struct tcp_conn *tcp;
	int fd;			/* the duplicate MHD owns */
	bool attached;		/* MHD's connection points at it */
	bool closed;		/* MHD has closed it: its thread may go */
	struct http_conn *next;
};

struct http_answer;

/* One request, from the access handler's first call to its end. */
struct http_request {
	struct http_route route;
	int route_rc;
	char why[ERR_MESSAGE_MAX];
	enum cli_output_mode mode;
	bool mode_ok;
	bool authenticated;
	struct http_session_info session;
	enum http_session_check session_rc;
	/* Bodies: an upload's state, or the bytes of any other body. */
	struct http_upload *upload;
	size_t body_len;
	bool replied_ok;	/* an upload that loaded: restart after */
	bool is_post;
	bool closes_listener;	/* its command switched this listener off */
	unsigned fail_code;	/* an upload refused before its body */
	int fail_rc;
	/* An API request answered on a thread of its own while its
	 * connection is suspended (api.c): the reply it left, queued when
	 * libmicrohttpd calls again after the resume. */
	bool deferred;
	bool deferred_failed;	/* no reply: the connection closes */
	unsigned deferred_code;
	struct MHD_Response *deferred_resp;
	struct http_answer *deferred_answer;
};

/* api.c */
/* Queues the family's status object alone, in the request's mode. */
enum MHD_Result http_reply_status(struct http_server *s,
				  struct MHD_Connection *c,
				  const struct http_request *r,
				  unsigned code, enum cli_response_type type,
				  int return_code, const char *request,
				  const char *text);
/* A reply of body (taken: body is empty after) with the API's headers;
 * NULL when out of memory. */
struct MHD_Response *http_response_buf(const char *type, struct buf *body);
/* Queues body (taken: body is empty after) as the reply. */
enum MHD_Result http_reply_buf(struct MHD_Connection *c, unsigned code,
			       const char *type, struct buf *body);
/* The session the request names (sessionKey header, wbisessionkey
 * cookie); fills r->session and r->session_rc. */
void http_session_lookup(struct http_server *s, struct MHD_Connection *c,
			 struct http_request *r);
enum MHD_Result http_api_handle(struct http_server *s,
				struct MHD_Connection *c,
				struct http_request *r);
/*
 * An API request (login, logout, a command) from libmicrohttpd's thread.
 * A login and a command without a kept answer may wait (a failed login's
 * delay, a command that reaches the partner): they run on a thread of
 * their own while the connection is suspended and the pool serves the
 * others; the reply is queued on the call after the resume. A kept
 * answer, a logout and a request without a session are answered at once.
 */
enum MHD_Result http_api_request(struct http_server *s,
				 struct MHD_Connection *c,
				 struct http_request *r);
/* The request that switched its own listener off (server.c): set by the
 * thread that ran it. */
void http_answering_begin(struct http_server *s);
bool http_answering_end(void);
/* The connection's tcp side: a request that authenticated marks it. */
void http_conn_authenticated(struct MHD_Connection *c);
const char *http_conn_peer(struct MHD_Connection *c);

/* answers.c: read-only answers sent again while what they were built
 * from reads the same (see there). */
struct http_answer;
struct http_answer_rec;
struct http_answers *http_answers_new(const struct cli_backend *be);
void http_answers_free(struct http_answers *t);
/* The kept answer to (user, role, mode, line) if every backend call it
 * was built from returns the same now; a reference: release it. */
struct http_answer *http_answer_find(struct http_answers *t,
				     const struct cli_backend *be, void *ctx,
				     const char *user, enum cli_role role,
				     enum cli_output_mode mode,
				     const char *line);
struct MHD_Response *http_answer_response(const struct http_answer *a);
void http_answer_release(struct http_answer *a);
/* A recorder for one command's run: the backend (*rec_be) and context
 * (the recorder) to run it with; NULL when out of memory. */
struct http_answer_rec *http_answer_record(struct http_answers *t,
					   const struct cli_backend *be,
					   void *ctx,
					   const struct cli_backend **rec_be);
void http_answer_record_free(struct http_answer_rec *r);
/* Keeps resp (taken on success: the answer destroys it) as the answer
 * the recorded run built, if it made only plain reads; a reference to
 * release, or NULL (resp stays the caller's). */
struct http_answer *http_answer_keep(struct http_answers *t,
				     struct http_answer_rec *r,
				     const char *user, enum cli_role role,
				     enum cli_output_mode mode,
				     const char *line,
				     struct MHD_Response *resp);

/* static.c */
enum MHD_Result http_static_handle(struct http_server *s,
				   struct MHD_Connection *c,
				   struct http_request *r);

/* upload.c */
struct http_upload;
/* The body's next bytes (PUT raw, POST multipart). 0 or negative + e. */
int http_upload_start(struct http_server *s, struct MHD_Connection *c,
		      struct http_request *r, struct err *e);
int http_upload_feed(struct http_request *r, const char *data, size_t len,
		     struct err *e);
/* The bundle failed and HTTP_DRAIN_MAX more bytes have been dropped: the
 * reply goes now (and the connection closes after it). */
bool http_upload_drained(const struct http_request *r);
enum MHD_Result http_upload_finish(struct http_server *s,
				   struct MHD_Connection *c,
				   struct http_request *r);
void http_upload_free(struct http_server *s, struct http_request *r);
enum MHD_Result http_progress_handle(struct http_server *s,
				     struct MHD_Connection *c,
				     struct http_request *r);

#endif
