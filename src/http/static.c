/*
 * static.c: the web UI's files from the web root (tandemd --web-root).
 * Only regular files that resolve inside the root are served: the router
 * already refused hidden segments and "..", and a symbolic link that
 * leads out of the root is refused here. No listing, no upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/internal.h"

static enum MHD_Result not_found(struct http_server *s,
				 struct MHD_Connection *c,
				 struct http_request *r, const char *why)
{
	return http_reply_status(s, c, r, MHD_HTTP_NOT_FOUND,
				 CLI_RESPONSE_ERROR, CLI_RC_NOT_FOUND, "",
				 why);
}

/* The file's real path, when it lies under the root's real path. */
static int resolve(const struct http_server *s, const char *file,
		   char out[PATH_MAX])
{
	char root[PATH_MAX], joined[PATH_MAX + HTTP_STATIC_PATH_MAX + 2];
	size_t n;

	if (!realpath(s->web_root, root))
		return -1;
	snprintf(joined, sizeof(joined), "%s/%s", root, file);
	if (!realpath(joined, out))
		return -1;
	n = strlen(root);
	if (strncmp(out, root, n) != 0 || out[n] != '/')
		return -1;
	return 0;
}

enum MHD_Result http_static_handle(struct http_server *s,
				   struct MHD_Connection *c,
				   struct http_request *r)
{
	struct MHD_Response *resp;
	char path[PATH_MAX];
	enum MHD_Result rc;
	struct stat st;
	int fd;

	if (!s->web_root[0])
		return not_found(s, c, r, "This controller serves no web UI "
				 "(no web root): use the API under /api/.");
	if (resolve(s, r->route.file, path) < 0)
		return not_found(s, c, r, "No such file.");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return not_found(s, c, r, "No such file.");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return not_found(s, c, r, "No such file.");
	}
	/* MHD closes fd with the response. */
	resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				http_content_type(r->route.file));
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-cache");
	rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return rc;
}
