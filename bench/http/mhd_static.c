/*
 * mhd_static.c: the bare libmicrohttpd server bench/api compares tandemd's
 * API with: one file's bytes, read once, answered to every GET with
 * keep-alive (the reply queued on the handler's second call), from an
 * epoll thread pool. Prints "listening PORT"; runs until SIGTERM.
 * Usage: mhd-static FILE [THREADS]
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static int first;

	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	if (!*con_cls) {
		*con_cls = &first;
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, cls);
}

int main(int argc, char **argv)
{
	struct MHD_Response *resp;
	struct MHD_Daemon *d;
	struct buf body;
	struct err e;
	sigset_t set;
	int sig;

	if (argc < 2) {
		fprintf(stderr, "usage: mhd-static FILE [THREADS]\n");
		return 2;
	}
	buf_init(&body, 64u << 20);
	if (fs_read_file(argv[1], 64u << 20, &body, &e) < 0) {
		fprintf(stderr, "mhd-static: %s\n", e.msg);
		return 1;
	}
	resp = MHD_create_response_from_buffer(body.len, body.data,
					       MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "text/xml");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_TURBO,
			     0, NULL, NULL, answer, resp,
			     MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned)(argc > 2 ? atoi(argv[2]) : 2),
			     MHD_OPTION_CONNECTION_LIMIT, 1024u,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mhd-static: cannot start\n");
		return 1;
	}
	printf("listening %u\n",
	       MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(resp);
	buf_free(&body);
	return 0;
}
