/*
 * upload.c: firmware over HTTP(S): PUT /firmware/bundle (the body is the
 * bundle) and POST /firmware/bundle (multipart/form-data, field "bundle",
 * through libmicrohttpd's post processor), streamed into the update engine
 * as the bytes arrive: the engine verifies while receiving and nothing
 * here holds more than one chunk (UPLOAD_CHUNK). GET /firmware/progress
 * is the JSON the daemon writes. Only a manage session may load; ?force=1
 * is FTP's flash:force. What the client sends is judged in upload_parse.c
 * (pure, fuzzed); this file only glues it to libmicrohttpd and the engine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "http/upload.h"
#include "update/update.h"

#define UPLOAD_POST_BUFFER	(64 * 1024)	/* the post processor's */
/* What goes to the engine at once. libmicrohttpd hands the body on as it
 * reads it, a TLS record (16 KiB) or less at a time; each piece the
 * engine takes is a hand-off to its verifying thread, and at that size
 * the hand-offs cost more than the bytes (FTP's chunk: ftp.h). */
#define UPLOAD_CHUNK		(256 * 1024)
#define UPLOAD_REPORT_MAX	(16 * 1024)

struct http_upload {
	struct http_server *srv;
	void *job;			/* the daemon's upload, until the end */
	struct MHD_PostProcessor *pp;	/* POST only */
	struct http_upload_parts parts;	/* POST: what the body holds */
	bool failed;
	size_t dropped;			/* body bytes read after the failure */
	uint8_t *stage;			/* body bytes not yet given on */
	size_t staged;
	unsigned code;			/* HTTP status of a failure */
	int return_code;
	struct buf report;
	/* The last steps (read-back, activation) run on a thread of their
	 * own while the connection is suspended, so the pool thread keeps
	 * serving its other connections (http_defer). */
	bool finishing, finished;
	int finish_rc;
	struct err finish_e;
};

/* A refusal before any byte is read: the reply says why. */
static int refuse(struct http_request *r, unsigned code, int return_code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct http_request *r, unsigned code, int return_code,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	r->fail_code = code;
	r->fail_rc = return_code;
	return -1;
}

/* The engine refused or failed the bundle: the job is gone, its report
 * (the FTP-side text with RETURN_CODE) kept for the reply. */
static void fail(struct http_upload *u, const char *why)
{
	struct http_server *s = u->srv;

	if (u->failed)
		return;
	u->failed = true;
	u->code = MHD_HTTP_UNPROCESSABLE_CONTENT;
	buf_reset(&u->report);
	s->cfg.ops->upload_abort(u->job, why, &u->report, &u->return_code);
	u->job = NULL;
	if (u->report.len == 0)
		buf_append_str(&u->report, why);
}

static int engine_feed(struct http_upload *u, const void *data, size_t len)
{
	struct err e = { 0 };

	if (u->srv->cfg.ops->upload_feed(u->job, data, len, &e) < 0) {
		fail(u, e.msg);
		return -1;
	}
	return 0;
}

/* The bytes staged so far go on: when the stage is full, at the end. */
static int flush(struct http_upload *u)
{
	size_t n = u->staged;

	u->staged = 0;
	if (u->failed || n == 0)
		return 0;
	return engine_feed(u, u->stage, n);
}

static int feed(struct http_upload *u, const char *data, size_t len)
{
	while (!u->failed && len > 0) {
		size_t n = UPLOAD_CHUNK - u->staged;

		/* A whole chunk and nothing staged: no copy. */
		if (u->staged == 0 && len >= UPLOAD_CHUNK) {
			if (engine_feed(u, data, UPLOAD_CHUNK) < 0)
				return -1;
			data += UPLOAD_CHUNK;
			len -= UPLOAD_CHUNK;
			continue;
		}
		n = n < len ? n : len;
		memcpy(u->stage + u->staged, data, n);
		u->staged += n;
		data += n;
		len -= n;
		if (u->staged == UPLOAD_CHUNK && flush(u) < 0)
			return -1;
	}
	return u->failed ? -1 : 0;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *filename,
				const char *content_type,
				const char *transfer_encoding,
				const char *data, uint64_t off, size_t size)
{
	struct http_upload *u = cls;
	char why[HTTP_UPLOAD_WHY_MAX];

	(void)kind;
	(void)filename;
	(void)content_type;
	switch (http_upload_part_chunk(&u->parts, key, transfer_encoding,
				       off, size, why, sizeof(why))) {
	case HTTP_UPLOAD_PART_SKIP:
		return MHD_YES;		/* other fields: not ours */
	case HTTP_UPLOAD_PART_FEED:
		return feed(u, data, size) == 0 ? MHD_YES : MHD_NO;
	case HTTP_UPLOAD_PART_REFUSE:
		break;
	}
	fail(u, why);
	return MHD_NO;
}

int http_upload_start(struct http_server *s, struct MHD_Connection *c,
		      struct http_request *r, struct err *e)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *force = MHD_lookup_connection_value(c,
		MHD_GET_ARGUMENT_KIND, "force");
	struct http_upload *u;
	enum http_upload_body body;
	char boundary[HTTP_UPLOAD_BOUNDARY_MAX + 1];
	char why[HTTP_UPLOAD_WHY_MAX];
	bool forced;
	int rc;

	(void)e;
	if (!r->mode_ok)
		return refuse(r, MHD_HTTP_BAD_REQUEST, CLI_RC_SYNTAX,
			      "Unknown datatype: use api, xml, ipa, "
			      "api-embed or json.");
	if (r->session_rc != HTTP_SESSION_OK)
		return refuse(r, MHD_HTTP_UNAUTHORIZED, HTTP_RC_SESSION, "%s",
			      r->session_rc == HTTP_SESSION_EXPIRED ?
			      "The session has expired: log in again "
			      "(/api/login)." :
			      "Invalid session key: log in first "
			      "(/api/login) and send the key as header "
			      "sessionKey.");
	if (r->session.role != CLI_ROLE_MANAGE)
		return refuse(r, MHD_HTTP_FORBIDDEN, CLI_RC_PERMISSION,
			      "Permission denied: the user '%s' has the "
			      "monitor role, which may not load firmware.",
			      r->session.user);
	rc = http_upload_content_type_parse(r->is_post, type, &body,
					    boundary, sizeof(boundary), why,
					    sizeof(why));
	if (rc < 0)
		return refuse(r, rc == -ENOTSUP ?
			      MHD_HTTP_UNSUPPORTED_MEDIA_TYPE :
			      MHD_HTTP_BAD_REQUEST, CLI_RC_SYNTAX, "%s", why);
	if (http_upload_force_parse(force, &forced) < 0)
		return refuse(r, MHD_HTTP_BAD_REQUEST, CLI_RC_SYNTAX,
			      "force takes 1 or 0.");
	u = calloc(1, sizeof(*u));
	if (!u)
		return refuse(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			      CLI_RC_FAILED, "Out of memory.");
	u->srv = s;
	u->stage = malloc(UPLOAD_CHUNK);
	if (!u->stage) {
		free(u);
		return refuse(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			      CLI_RC_FAILED, "Out of memory.");
	}
	buf_init(&u->report, UPLOAD_REPORT_MAX);
	if (body == HTTP_UPLOAD_BODY_MULTIPART) {
		u->pp = MHD_create_post_processor(c, UPLOAD_POST_BUFFER,
						  on_field, u);
		if (!u->pp) {
			free(u->stage);
			free(u);
			return refuse(r, MHD_HTTP_BAD_REQUEST, CLI_RC_SYNTAX,
				      "The multipart/form-data body has no "
				      "usable boundary.");
		}
	}
	{
		struct err be = { 0 };

		u->job = s->cfg.ops->upload_begin(s->cfg.ctx,
			r->session.user, forced, &be);
		if (!u->job) {
			if (u->pp)
				MHD_destroy_post_processor(u->pp);
			buf_free(&u->report);
			free(u->stage);
			free(u);
			/* A passing state (FTP's 450) or a refusal. */
			bool later = be.code == -EBUSY || be.code == -EAGAIN;

			return refuse(r, later ? MHD_HTTP_SERVICE_UNAVAILABLE :
				      MHD_HTTP_CONFLICT,
				      later ? UPDATE_RC_BUSY : CLI_RC_FAILED,
				      "%s", be.msg);
		}
	}
	http_conn_authenticated(c);
	r->upload = u;
	return 0;
}

int http_upload_feed(struct http_request *r, const char *data, size_t len,
		     struct err *e)
{
	struct http_upload *u = r->upload;

	(void)e;
	if (u->failed) {
		u->dropped += len;
		return 0;
	}
	if (u->pp) {
		if (!u->failed &&
		    MHD_post_process(u->pp, data, len) != MHD_YES &&
		    !u->failed)
			fail(u, "The multipart/form-data body is malformed.");
		return 0;
	}
	return feed(u, data, len);
}

bool http_upload_drained(const struct http_request *r)
{
	return r->upload && r->upload->failed &&
	       r->upload->dropped >= HTTP_DRAIN_MAX;
}

/* The code load's text as the status object's response (the whole text
 * stays in /firmware/progress). */
static enum MHD_Result reply(struct http_server *s, struct MHD_Connection *c,
			     struct http_request *r, unsigned code,
			     enum cli_response_type type, int return_code,
			     const char *text)
{
	char line[CLI_TEXT_MAX * 2 - 8];

	http_upload_status_line(text, line, sizeof(line));
	return http_reply_status(s, c, r, code, type, return_code,
				 "firmware bundle", line);
}

static void finish_job(void *arg)
{
	struct http_upload *u = arg;

	u->finish_rc = u->srv->cfg.ops->upload_finish(u->job, &u->report,
						      &u->return_code,
						      &u->finish_e);
	u->job = NULL;
	u->finished = true;
}

enum MHD_Result http_upload_finish(struct http_server *s,
				   struct MHD_Connection *c,
				   struct http_request *r)
{
	struct http_upload *u = r->upload;
	struct err e = { 0 };
	int rc;

	if (r->route_rc != HTTP_ROUTE_OK)
		return reply(s, c, r, MHD_HTTP_BAD_REQUEST,
			     CLI_RESPONSE_ERROR, CLI_RC_SYNTAX, r->why);
	if (!u)
		return reply(s, c, r, r->fail_code ? r->fail_code :
			     MHD_HTTP_BAD_REQUEST, CLI_RESPONSE_ERROR,
			     r->fail_rc, r->why);
	flush(u);
	if (u->pp && !u->failed) {
		char why[HTTP_UPLOAD_WHY_MAX];

		if (http_upload_parts_end(&u->parts, why, sizeof(why)) < 0)
			fail(u, why);
	}
	if (!u->failed && !u->finished) {
		if (u->finishing)
			return MHD_YES;		/* suspended: not called */
		u->finishing = true;
		if (http_defer(s, c, finish_job, u))
			return MHD_YES;		/* called again after it */
		finish_job(u);
	}
	if (!u->failed) {
		rc = u->finish_rc;
		e = u->finish_e;
		if (rc < 0) {
			u->failed = true;
			u->code = rc == -EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE :
				  rc == -EINVAL || rc == -EPERM ?
				  MHD_HTTP_UNPROCESSABLE_CONTENT :
				  MHD_HTTP_INTERNAL_SERVER_ERROR;
			if (u->report.len == 0)
				buf_append_str(&u->report, e.msg);
		}
	}
	if (u->failed)
		return reply(s, c, r, u->code, CLI_RESPONSE_ERROR,
			     u->return_code, u->report.data ?
			     u->report.data : "Codeload failed.");
	r->replied_ok = true;
	return reply(s, c, r, MHD_HTTP_OK, CLI_RESPONSE_SUCCESS,
		     u->return_code, u->report.data ? u->report.data :
		     "Codeload completed successfully.");
}

void http_upload_free(struct http_server *s, struct http_request *r)
{
	struct http_upload *u = r->upload;

	if (!u)
		return;
	/* A transfer that ended before its reply: nothing is activated. */
	if (u->job)
		s->cfg.ops->upload_abort(u->job, "the HTTP client went away "
					 "before the end of the bundle",
					 NULL, NULL);
	if (u->pp)
		MHD_destroy_post_processor(u->pp);
	buf_free(&u->report);
	free(u->stage);
	free(u);
	r->upload = NULL;
}

enum MHD_Result http_progress_handle(struct http_server *s,
				     struct MHD_Connection *c,
				     struct http_request *r)
{
	enum MHD_Result rc;
	struct buf out;

	if (r->session_rc != HTTP_SESSION_OK) {
		struct http_request json = *r;

		json.mode = CLI_OUTPUT_JSON;
		return http_reply_status(s, c, &json, MHD_HTTP_UNAUTHORIZED,
			CLI_RESPONSE_ERROR, HTTP_RC_SESSION,
			"firmware progress", "Invalid or expired session "
			"key: log in first (/api/login).");
	}
	buf_init(&out, 64 * 1024);
	if (s->cfg.ops->progress_json(s->cfg.ctx, &out) < 0) {
		buf_free(&out);
		return reply(s, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     CLI_RESPONSE_ERROR, CLI_RC_FAILED,
			     "The progress could not be read.");
	}
	rc = http_reply_buf(c, MHD_HTTP_OK, "application/json", &out);
	buf_free(&out);
	return rc;
}
