/*
 * fuzz_http_route.c: libFuzzer target for the HTTP router and the
 * datatype header: what a client controls before any login. The first
 * byte picks the method, the rest is the (percent-decoded) path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_route(const struct http_route *r)
{
	size_t quotes = 0;

	switch (r->kind) {
	case HTTP_ROUTE_COMMAND:
		/* One CLI line: no control byte, quotes only in pairs. */
		for (const char *p = r->line; *p; p++) {
			if ((unsigned char)*p < 0x20 && *p != '\t')
				__builtin_trap();
			quotes += *p == '"';
		}
		if (quotes % 2 || !r->line[0] ||
		    strlen(r->line) > HTTP_URL_MAX)
			__builtin_trap();
		break;
	case HTTP_ROUTE_LOGIN:
		if (strlen(r->arg) != HTTP_DIGEST_MD5_HEX &&
		    strlen(r->arg) != HTTP_DIGEST_SHA256_HEX)
			__builtin_trap();
		if (strspn(r->arg, "0123456789abcdef") != strlen(r->arg))
			__builtin_trap();
		break;
	case HTTP_ROUTE_STATIC:
		/* Never out of the web root: no absolute path, no "..". */
		if (r->file[0] == '/' || r->file[0] == '.' ||
		    strstr(r->file, "/.") || strchr(r->file, '\\'))
			__builtin_trap();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "HEAD", "DELETE",
	};
	struct http_route *r;
	enum cli_output_mode mode;
	char why[256];
	char *path;

	if (size == 0)
		return 0;
	path = malloc(size);
	r = malloc(sizeof(*r));
	if (!path || !r) {
		free(path);
		free(r);
		return 0;
	}
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	why[0] = '\0';
	if (http_route_parse(methods[data[0] % 5], path, r, why,
			     sizeof(why)) == HTTP_ROUTE_OK)
		check_route(r);
	else if (!why[0])
		__builtin_trap();
	if (http_datatype_parse(path, &mode) == 0 &&
	    mode != CLI_OUTPUT_API && mode != CLI_OUTPUT_API_EMBED &&
	    mode != CLI_OUTPUT_JSON)
		__builtin_trap();
	(void)http_content_type(path);
	free(path);
	free(r);
	return 0;
}
