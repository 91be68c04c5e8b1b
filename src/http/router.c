/*
 * router.c: what an HTTP request asks for, from its method and path, and
 * the datatype header. Pure: no I/O, no globals; the path arrives already
 * percent-decoded by libmicrohttpd. It never decides who may do what.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

#define API_PREFIX	"/api/"

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static int fail(int code, char *why, size_t whylen, const char *text)
{
	snprintf(why, whylen, "%s", text);
	return code;
}

/* The next '/'-separated segment of *p (empty ones skipped): its start
 * and length, or false at the end. */
static bool segment_next(const char **p, const char **seg, size_t *len)
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return false;
	*seg = *p;
	while (**p && **p != '/')
		(*p)++;
	*len = (size_t)(*p - *seg);
	return true;
}

/*
 * The words after /api/ as one CLI line: each segment one word; a word
 * with a space or a tab is quoted (the CLI lexer's only quoting). A word
 * holding a double quote cannot be written so and is refused, as is any
 * control byte (the lexer would refuse it too, but not before it is
 * echoed in REQUEST).
 */
static int api_line(const char *rest, struct http_route *out, char *why,
		    size_t whylen)
{
	const char *p = rest, *seg;
	size_t len, o = 0;

	while (segment_next(&p, &seg, &len)) {
		bool quote = memchr(seg, ' ', len) || memchr(seg, '\t', len);

		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)seg[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
					    "The path contains a control "
					    "character.");
			if (ch == '"')
				return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
					    "A command word in the path may "
					    "not contain a double quote.");
		}
		if (o + len + 3 + (o ? 1 : 0) > HTTP_URL_MAX)
			return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
				    "The command in the path is too long.");
		if (o)
			out->line[o++] = ' ';
		if (quote)
			out->line[o++] = '"';
		memcpy(out->line + o, seg, len);
		o += len;
		if (quote)
			out->line[o++] = '"';
	}
	out->line[o] = '\0';
	if (o == 0)
		return fail(HTTP_ROUTE_NOT_FOUND, why, whylen,
			    "No command: use /api/<command words>, e.g. "
			    "/api/show/versions.");
	return HTTP_ROUTE_OK;
}

/* The one segment after a fixed word (/api/login/X), or "" when none;
 * more segments are an error. */
static int one_arg(const char *rest, const char **arg, size_t *len)
{
	const char *p = rest, *extra;
	size_t extra_len;

	*arg = "";
	*len = 0;
	if (!segment_next(&p, arg, len))
		return 0;
	return segment_next(&p, &extra, &extra_len) ? -1 : 0;
}

static int route_api(const char *method, const char *rest,
		     struct http_route *out, char *why, size_t whylen)
{
	const char *p = rest, *seg, *arg;
	size_t len, alen;

	if (strcmp(method, "GET") && strcmp(method, "POST"))
		return fail(HTTP_ROUTE_BAD_METHOD, why, whylen,
			    "The API answers GET (and POST).");
	if (!segment_next(&p, &seg, &len))
		return api_line(rest, out, why, whylen);
	if (len == 5 && !strncasecmp(seg, "login", 5)) {
		out->kind = HTTP_ROUTE_LOGIN;
		if (one_arg(p, &arg, &alen) < 0 ||
		    (alen != HTTP_DIGEST_MD5_HEX &&
		     alen != HTTP_DIGEST_SHA256_HEX) || !is_hex(arg, alen))
			return fail(HTTP_ROUTE_BAD_DIGEST, why, whylen,
				    "Log in with /api/login/<hex MD5 or "
				    "SHA-256 of user_password>.");
		for (size_t i = 0; i < alen; i++)
			out->arg[i] = (char)((arg[i] >= 'A' && arg[i] <= 'F')
					     ? arg[i] - 'A' + 'a' : arg[i]);
		out->arg[alen] = '\0';
		return HTTP_ROUTE_OK;
	}
	if (len == 6 && !strncasecmp(seg, "logout", 6)) {
		out->kind = HTTP_ROUTE_LOGOUT;
		if (one_arg(p, &arg, &alen) < 0 || alen >= HTTP_KEY_TEXT + 32)
			return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
				    "Log out with /api/logout/<session key> "
				    "or /api/exit.");
		memcpy(out->arg, arg, alen);
		out->arg[alen] = '\0';
		return HTTP_ROUTE_OK;
	}
	if (len == 4 && !strncasecmp(seg, "exit", 4) &&
	    !segment_next(&p, &arg, &alen)) {
		out->kind = HTTP_ROUTE_EXIT;
		return HTTP_ROUTE_OK;
	}
	out->kind = HTTP_ROUTE_COMMAND;
	return api_line(rest, out, why, whylen);
}

/* A static file's path: no hidden segment ("." and ".." included), no
 * backslash, at most HTTP_STATIC_PATH_MAX; a directory gets index.html. */
static int route_static(const char *method, const char *path,
			struct http_route *out, char *why, size_t whylen)
{
	const char *p = path, *seg;
	size_t len, o = 0;
	bool dir = true;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return fail(HTTP_ROUTE_BAD_METHOD, why, whylen,
			    "Only GET and HEAD are served here.");
	while (segment_next(&p, &seg, &len)) {
		if (seg[0] == '.' || memchr(seg, '\\', len))
			return fail(HTTP_ROUTE_NOT_FOUND, why, whylen,
				    "No such file.");
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
				return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
					    "The path contains a control "
					    "character.");
		if (o + len + 2 >= sizeof(out->file))
			return fail(HTTP_ROUTE_NOT_FOUND, why, whylen,
				    "No such file.");
		if (o)
			out->file[o++] = '/';
		memcpy(out->file + o, seg, len);
		o += len;
		dir = *p == '/';
	}
	out->file[o] = '\0';
	if (dir) {
		static const char index[] = "index.html";

		if (o + sizeof(index) + 1 >= sizeof(out->file))
			return fail(HTTP_ROUTE_NOT_FOUND, why, whylen,
				    "No such file.");
		if (o)
			out->file[o++] = '/';
		memcpy(out->file + o, index, sizeof(index));
	}
	out->kind = HTTP_ROUTE_STATIC;
	return HTTP_ROUTE_OK;
}

int http_route_parse(const char *method, const char *path,
		     struct http_route *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (!path || path[0] != '/' || strlen(path) > HTTP_URL_MAX)
		return fail(HTTP_ROUTE_BAD_PATH, why, whylen,
			    "The path must start with '/' and be at most "
			    "4096 bytes.");
	if (!strncasecmp(path, API_PREFIX, strlen(API_PREFIX)))
		return route_api(method, path + strlen(API_PREFIX), out, why,
				 whylen);
	if (!strcasecmp(path, "/api"))
		return route_api(method, "", out, why, whylen);
	if (!strcmp(path, "/firmware/bundle")) {
		out->kind = HTTP_ROUTE_FW_BUNDLE;
		if (strcmp(method, "PUT") && strcmp(method, "POST"))
			return fail(HTTP_ROUTE_BAD_METHOD, why, whylen,
				    "Upload a bundle with PUT, or POST "
				    "multipart/form-data (field 'bundle').");
		return HTTP_ROUTE_OK;
	}
	if (!strcmp(path, "/firmware/progress")) {
		out->kind = HTTP_ROUTE_FW_PROGRESS;
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return fail(HTTP_ROUTE_BAD_METHOD, why, whylen,
				    "Progress is read with GET.");
		return HTTP_ROUTE_OK;
	}
	if (!strncmp(path, "/firmware/", 10) || !strcmp(path, "/firmware"))
		return fail(HTTP_ROUTE_NOT_FOUND, why, whylen,
			    "No such firmware resource: /firmware/bundle "
			    "and /firmware/progress exist.");
	return route_static(method, path, out, why, whylen);
}

int http_datatype_parse(const char *value, enum cli_output_mode *out)
{
	static const struct {
		const char *name;
		enum cli_output_mode mode;
	} types[] = {
		{ "api", CLI_OUTPUT_API },
		{ "xml", CLI_OUTPUT_API },
		{ "ipa", CLI_OUTPUT_API },
		{ "api-embed", CLI_OUTPUT_API_EMBED },
		{ "json", CLI_OUTPUT_JSON },
	};

	if (!value || !*value) {
		*out = CLI_OUTPUT_API;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcasecmp(value, types[i].name)) {
			*out = types[i].mode;
			return 0;
		}
	return -1;
}

const char *http_content_type(const char *file)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	size_t n = strlen(file);

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		size_t k = strlen(types[i].ext);

		if (n > k && !strcasecmp(file + n - k, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}
