/*
 * upload.h: what a firmware upload takes from the client, parsed with no
 * I/O and no libmicrohttpd: the Content-Type and its boundary, the force
 * argument, the parts of a multipart body as the post processor reports
 * them, and the code load's text folded into one status line. upload.c
 * glues these to libmicrohttpd and the update engine; the fuzz target
 * (tests/fuzz/fuzz_http_upload.c) drives them alone.
 */
#ifndef TANDEM_HTTP_UPLOAD_H
#define TANDEM_HTTP_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of the upload (STYLE.md: limits in one place). */
#define HTTP_UPLOAD_FIELD		"bundle"	/* the multipart field */
#define HTTP_UPLOAD_BOUNDARY_MAX	70	/* RFC 2046, section 5.1.1 */
#define HTTP_UPLOAD_CONTENT_TYPE_MAX	256	/* the header's value */
#define HTTP_UPLOAD_PARTS_MAX		16	/* parts of one body */
#define HTTP_UPLOAD_WHY_MAX		160	/* a refusal's text */

/* What the body is: the bundle itself (PUT) or a multipart form (POST). */
enum http_upload_body {
	HTTP_UPLOAD_BODY_RAW,
	HTTP_UPLOAD_BODY_MULTIPART,
};

/*
 * The request's Content-Type (NULL when absent) for its method. POST
 * takes multipart/form-data with one boundary of 1 to
 * HTTP_UPLOAD_BOUNDARY_MAX characters of RFC 2046's set, quoted or, when
 * it is the last parameter, bare (libmicrohttpd takes the rest of the
 * header as a bare boundary). PUT takes anything but a multipart type.
 * Returns 0 and the body's kind, and for multipart the boundary (NUL
 * terminated, boundary_size > HTTP_UPLOAD_BOUNDARY_MAX), or -1 and why.
 */
int http_upload_content_type_parse(bool post, const char *type,
				   enum http_upload_body *body,
				   char *boundary, size_t boundary_size,
				   char *why, size_t why_size);

/* ?force=: NULL (absent), 1/true or 0/false (case-insensitive). 0 or -1. */
int http_upload_force_parse(const char *arg, bool *force);

/* The parts of a multipart body, as the post processor reports them. */
struct http_upload_parts {
	unsigned parts;		/* parts begun */
	bool in_bundle;		/* the current part is the bundle field */
	bool got_bundle;	/* a bundle part has begun */
	uint64_t bundle_bytes;	/* of the bundle part so far */
	bool failed;		/* refused: nothing more is fed */
};

enum http_upload_part_action {
	HTTP_UPLOAD_PART_SKIP,	/* not the bundle: dropped */
	HTTP_UPLOAD_PART_FEED,	/* bundle bytes: to the engine */
	HTTP_UPLOAD_PART_REFUSE,	/* the body is refused: why says so */
};

/*
 * One chunk of a part: its field name (NULL when none), the part's
 * Content-Transfer-Encoding (NULL when none), the chunk's offset in the
 * part's value (0 begins a part) and its size. The bundle must come as
 * one part, with no transfer encoding the engine cannot read (base64,
 * quoted-printable: the post processor does not decode them). After a
 * refusal every chunk is refused.
 */
enum http_upload_part_action
http_upload_part_chunk(struct http_upload_parts *p, const char *key,
		       const char *transfer_encoding, uint64_t off,
		       size_t size, char *why, size_t why_size);

/* At the end of the body: 0, or -1 and why (no bundle field). */
int http_upload_parts_end(const struct http_upload_parts *p, char *why,
			  size_t why_size);

/*
 * The code load's text as one status line: lines joined by spaces,
 * trailing blanks dropped; a text too long keeps its end (the outcome
 * and RETURN_CODE are there) after "... ". line_size >= 8.
 */
void http_upload_status_line(const char *text, char *line,
			     size_t line_size);

#endif
