/*
 * upload_parse.c: the client-controlled parts of a firmware upload
 * (upload.h): Content-Type and boundary, ?force=, the multipart parts as
 * libmicrohttpd's post processor reports them, and the reply's line. Pure:
 * no I/O, no libmicrohttpd, no globals; the fuzz target drives it alone.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "http/upload.h"

#define MEDIA_MULTIPART		"multipart/"
#define MEDIA_FORM_DATA		"multipart/form-data"
#define PARAM_BOUNDARY		"boundary"

static void say(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (!why_size)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
}

/* RFC 9110 tchar. */
static bool is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars (space only inside, checked by the caller). */
static bool is_boundary_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("'()+_,-./:=? ", c));
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * One parameter value at *pp: a token, or a quoted string (backslash
 * escapes allowed, kept as they are). Sets [*start, *end) to the value
 * without quotes. 0, or -1 when it is malformed.
 */
static int param_value(const char **pp, const char **start,
		       const char **end, bool *quoted)
{
	const char *p = *pp;

	*quoted = *p == '"';
	if (*quoted) {
		*start = ++p;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return -1;
			p++;
		}
		if (*p != '"')
			return -1;
		*end = p++;
	} else {
		*start = p;
		while (is_token_char(*p))
			p++;
		*end = p;
		if (*end == *start)
			return -1;
	}
	*pp = p;
	return 0;
}

static int boundary_take(const char *start, const char *end, bool quoted,
			 char *boundary, size_t boundary_size, char *why,
			 size_t why_size)
{
	size_t n = (size_t)(end - start);

	if (n == 0 || n > HTTP_UPLOAD_BOUNDARY_MAX) {
		say(why, why_size, "The multipart/form-data boundary must "
		    "have 1 to %d characters.", HTTP_UPLOAD_BOUNDARY_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_boundary_char(start[i]) || (!quoted && start[i] == ' ')) {
			say(why, why_size, "The multipart/form-data boundary "
			    "has a character RFC 2046 does not allow.");
			return -EINVAL;
		}
	if (start[n - 1] == ' ') {
		say(why, why_size, "The multipart/form-data boundary ends "
		    "with a space.");
		return -EINVAL;
	}
	assert(boundary_size > n);
	memcpy(boundary, start, n);
	boundary[n] = '\0';
	return 0;
}

int http_upload_content_type_parse(bool post, const char *type,
				   enum http_upload_body *body,
				   char *boundary, size_t boundary_size,
				   char *why, size_t why_size)
{
	const char *p, *media, *media_end, *name_at = NULL;
	bool seen = false;

	assert(boundary_size > HTTP_UPLOAD_BOUNDARY_MAX);
	boundary[0] = '\0';
	if (type && strlen(type) > HTTP_UPLOAD_CONTENT_TYPE_MAX) {
		say(why, why_size, "The Content-Type is longer than %d "
		    "bytes.", HTTP_UPLOAD_CONTENT_TYPE_MAX);
		return -EINVAL;
	}
	media = skip_blanks(type ? type : "");
	for (media_end = media; *media_end && *media_end != ';' &&
	     *media_end != ' ' && *media_end != '\t'; media_end++)
		;
	if (!post) {
		if (!strncasecmp(media, MEDIA_MULTIPART,
				 strlen(MEDIA_MULTIPART))) {
			say(why, why_size, "PUT takes the bundle itself as "
			    "the body: POST a multipart/form-data form "
			    "instead.");
			return -ENOTSUP;
		}
		*body = HTTP_UPLOAD_BODY_RAW;
		return 0;
	}
	if ((size_t)(media_end - media) != strlen(MEDIA_FORM_DATA) ||
	    strncasecmp(media, MEDIA_FORM_DATA, strlen(MEDIA_FORM_DATA))) {
		say(why, why_size, "POST a bundle as multipart/form-data "
		    "with the field '%s', or PUT it as the body.",
		    HTTP_UPLOAD_FIELD);
		return -ENOTSUP;
	}
	for (p = skip_blanks(media_end); *p; p = skip_blanks(p)) {
		const char *name, *name_end, *start, *end;
		bool quoted;
		int rc;

		if (*p != ';')
			goto malformed;
		p = skip_blanks(p + 1);
		if (!*p)
			break;		/* a trailing ';' */
		for (name = p; is_token_char(*p); p++)
			;
		name_end = p;
		if (name == name_end || *p != '=')
			goto malformed;
		p++;
		if (param_value(&p, &start, &end, &quoted) < 0)
			goto malformed;
		if ((size_t)(name_end - name) != strlen(PARAM_BOUNDARY) ||
		    strncasecmp(name, PARAM_BOUNDARY, strlen(PARAM_BOUNDARY)))
			continue;
		if (seen) {
			say(why, why_size, "The Content-Type has two "
			    "boundary parameters.");
			return -EINVAL;
		}
		seen = true;
		name_at = name;
		/* libmicrohttpd takes all the rest as a bare boundary. */
		if (!quoted && *skip_blanks(p)) {
			say(why, why_size, "The multipart/form-data "
			    "boundary must be quoted or be the last "
			    "parameter.");
			return -EINVAL;
		}
		rc = boundary_take(start, end, quoted, boundary,
				   boundary_size, why, why_size);
		if (rc < 0)
			return rc;
	}
	if (!seen) {
		say(why, why_size, "The multipart/form-data Content-Type "
		    "has no boundary.");
		return -EINVAL;
	}
	/* libmicrohttpd finds the boundary as the first "boundary=" in the
	 * header: it must be this parameter, written so. */
	if (strstr(type, PARAM_BOUNDARY "=") != name_at) {
		say(why, why_size, "The Content-Type must name its boundary "
		    "once, as '" PARAM_BOUNDARY "='.");
		return -EINVAL;
	}
	*body = HTTP_UPLOAD_BODY_MULTIPART;
	return 0;
malformed:
	say(why, why_size, "The Content-Type's parameters are malformed.");
	return -EINVAL;
}

int http_upload_force_parse(const char *arg, bool *force)
{
	*force = false;
	if (!arg || !strcmp(arg, "0") || !strcasecmp(arg, "false"))
		return 0;
	if (!strcmp(arg, "1") || !strcasecmp(arg, "true")) {
		*force = true;
		return 0;
	}
	return -1;
}

static bool encoding_readable(const char *encoding)
{
	return !encoding || !strcasecmp(encoding, "binary") ||
	       !strcasecmp(encoding, "8bit") || !strcasecmp(encoding, "7bit");
}

static enum http_upload_part_action refuse(struct http_upload_parts *p)
{
	p->failed = true;
	return HTTP_UPLOAD_PART_REFUSE;
}

enum http_upload_part_action
http_upload_part_chunk(struct http_upload_parts *p, const char *key,
		       const char *transfer_encoding, uint64_t off,
		       size_t size, char *why, size_t why_size)
{
	bool bundle = key && !strcmp(key, HTTP_UPLOAD_FIELD);

	if (p->failed) {
		say(why, why_size, "The multipart/form-data body was "
		    "refused.");
		return HTTP_UPLOAD_PART_REFUSE;
	}
	if (off == 0) {
		if (p->parts == HTTP_UPLOAD_PARTS_MAX) {
			say(why, why_size, "The multipart/form-data body has "
			    "more than %d parts.", HTTP_UPLOAD_PARTS_MAX);
			return refuse(p);
		}
		p->parts++;
		p->in_bundle = bundle;
		if (bundle) {
			if (p->got_bundle) {
				say(why, why_size, "The multipart/form-data "
				    "body has the field '%s' twice.",
				    HTTP_UPLOAD_FIELD);
				return refuse(p);
			}
			if (!encoding_readable(transfer_encoding)) {
				say(why, why_size, "The field '%s' has a "
				    "Content-Transfer-Encoding: send it as "
				    "binary, with none.", HTTP_UPLOAD_FIELD);
				return refuse(p);
			}
			p->got_bundle = true;
			p->bundle_bytes = 0;
		}
	} else if (p->parts == 0 || bundle != p->in_bundle ||
		   (bundle && off != p->bundle_bytes)) {
		/* A chunk out of its part's order. */
		say(why, why_size, "The multipart/form-data body is "
		    "malformed.");
		return refuse(p);
	}
	if (!bundle)
		return HTTP_UPLOAD_PART_SKIP;
	if (!u64_add(p->bundle_bytes, size, &p->bundle_bytes)) {
		say(why, why_size, "The field '%s' is too large.",
		    HTTP_UPLOAD_FIELD);
		return refuse(p);
	}
	return HTTP_UPLOAD_PART_FEED;
}

int http_upload_parts_end(const struct http_upload_parts *p, char *why,
			  size_t why_size)
{
	if (p->failed) {
		say(why, why_size, "The multipart/form-data body was "
		    "refused.");
		return -1;
	}
	if (!p->got_bundle) {
		say(why, why_size, "The multipart/form-data body has no "
		    "field '%s'.", HTTP_UPLOAD_FIELD);
		return -1;
	}
	return 0;
}

void http_upload_status_line(const char *text, char *line,
			     size_t line_size)
{
	size_t n = strlen(text), start = 0, o = 0;

	assert(line_size >= 8);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (n >= line_size) {
		start = n - (line_size - 5);
		memcpy(line, "... ", 4);
		o = 4;
	}
	for (size_t i = start; i < n && o + 1 < line_size; i++)
		line[o++] = text[i] == '\n' ? ' ' : text[i];
	line[o] = '\0';
}
