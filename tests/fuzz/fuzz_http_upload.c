/*
 * fuzz_http_upload.c: libFuzzer target for what a client controls in a
 * firmware upload (src/http/upload.h): the Content-Type and its boundary,
 * ?force=, the parts of a multipart body as libmicrohttpd's post processor
 * reports them, and the reply's status line. libmicrohttpd's post
 * processor itself needs a connection of a running daemon
 * (MHD_create_post_processor reads the request's headers from it), so the
 * target drives our side of it: the chunks it would hand over.
 *
 * Input: byte 0 (bit 0: POST; the rest sizes the status line), the
 * Content-Type up to '\n', the force argument up to '\n' ("-" for none),
 * then chunks of 4 bytes each: field, transfer encoding, offset kind,
 * size; then size data bytes. The whole input is also folded as a code
 * load's text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool fuzz_input_accepted(void);

static bool accepted;

bool fuzz_input_accepted(void)
{
	return accepted;
}

/* The next '\n'-ended line as a string (malloc'd), or NULL at the end. */
static char *take_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;
	char *s;

	if (!nl)
		return NULL;
	n = (size_t)(nl - *p);
	s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl + 1;
	return s;
}

static void check_boundary(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > HTTP_UPLOAD_BOUNDARY_MAX || b[n - 1] == ' ')
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789'()+_,-./:=? ", b[i]))
			__builtin_trap();
}

/* The chunks, as the post processor would report them. */
static bool drive_parts(const uint8_t *p, const uint8_t *end)
{
	static const char *const keys[] = { "bundle", "other", NULL,
					     "Bundle" };
	static const char *const encodings[] = { NULL, "binary", "base64",
						 "8BIT" };
	struct http_upload_parts parts = { 0 };
	char why[HTTP_UPLOAD_WHY_MAX];
	uint64_t fed = 0, off = 0;
	bool refused = false;

	while (end - p >= 4) {
		const char *key = keys[p[0] % 4];
		const char *encoding = encodings[p[1] % 4];
		size_t n = p[3];
		enum http_upload_part_action a;
		uint64_t at = p[2] % 3 == 0 ? 0 : p[2] % 3 == 1 ? off : n;

		p += 4;
		if ((size_t)(end - p) < n)
			n = (size_t)(end - p);
		why[0] = '\0';
		a = http_upload_part_chunk(&parts, key, encoding, at, n, why,
					   sizeof(why));
		switch (a) {
		case HTTP_UPLOAD_PART_FEED:
			if (refused || !key || strcmp(key, "bundle"))
				__builtin_trap();
			fed += n;
			break;
		case HTTP_UPLOAD_PART_SKIP:
			if (refused || (key && !strcmp(key, "bundle")))
				__builtin_trap();
			break;
		case HTTP_UPLOAD_PART_REFUSE:
			if (!why[0] || !parts.failed)
				__builtin_trap();
			refused = true;
			break;
		default:
			__builtin_trap();
		}
		off = at + n;
		p += n;
		if (parts.parts > HTTP_UPLOAD_PARTS_MAX)
			__builtin_trap();
		if (!refused && parts.got_bundle && fed != parts.bundle_bytes)
			__builtin_trap();
	}
	why[0] = '\0';
	if (http_upload_parts_end(&parts, why, sizeof(why)) < 0) {
		if (!why[0])
			__builtin_trap();
		return false;
	}
	return !refused;
}

static void check_status_line(const uint8_t *data, size_t size)
{
	size_t line_size = 8 + data[0] % 256, n;
	char *text = malloc(size + 1), *line = malloc(line_size);
	size_t got, kept;

	if (!text || !line)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(line, 'x', line_size);
	http_upload_status_line(text, line, line_size);
	got = strnlen(line, line_size);
	if (got == line_size || strchr(line, '\n'))
		__builtin_trap();
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (n < line_size) {
		if (got != n)
			__builtin_trap();
		kept = got;
	} else if (memcmp(line, "... ", 4) || got != line_size - 1) {
		__builtin_trap();
	} else {
		kept = got - 4;
	}
	/* The end of the text is kept, newlines as spaces. */
	for (size_t i = 1; i <= kept; i++)
		if (line[got - i] != (text[n - i] == '\n' ? ' ' : text[n - i]))
			__builtin_trap();
out:
	free(text);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	char boundary[HTTP_UPLOAD_BOUNDARY_MAX + 1];
	char why[HTTP_UPLOAD_WHY_MAX];
	enum http_upload_body body;
	char *type = NULL, *force = NULL;
	bool post, forced, type_ok, force_ok = false;

	accepted = false;
	if (size == 0)
		return 0;
	post = data[0] & 1;
	check_status_line(data, size);
	type = take_line(&p, end);
	force = take_line(&p, end);
	if (!type || !force)
		goto out;
	why[0] = '\0';
	type_ok = http_upload_content_type_parse(post, type[0] ? type : NULL,
		&body, boundary, sizeof(boundary), why, sizeof(why)) == 0;
	if (!type_ok && !why[0])
		__builtin_trap();
	if (type_ok && post != (body == HTTP_UPLOAD_BODY_MULTIPART))
		__builtin_trap();
	if (type_ok && post)
		check_boundary(boundary);
	if (type_ok && !post && boundary[0])
		__builtin_trap();
	force_ok = http_upload_force_parse(strcmp(force, "-") ? force : NULL,
					   &forced) == 0;
	if (force_ok && forced && strcmp(force, "1") &&
	    strcasecmp(force, "true"))
		__builtin_trap();
	/* A PUT's body is the bundle: only a POST has parts. */
	accepted = type_ok && force_ok && (!post || drive_parts(p, end));
	if (post && !type_ok)
		(void)drive_parts(p, end);
out:
	free(type);
	free(force);
	return 0;
}
