/*
 * daemon.c: which listeners are open, and the libevent loop that waits for
 * the signal to stop. Listeners run their own threads (src/ssh, src/ftp);
 * this file only opens and closes them, under one lock, so `set protocols`
 * from any session and shutdown never race.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "daemon/daemon.h"
#include "daemon/notify.h"

static const char *const protocol_names[DAEMON_PROTO_COUNT] = {
	[DAEMON_PROTO_SSH] = "ssh",
	[DAEMON_PROTO_SFTP] = "sftp",
	[DAEMON_PROTO_TELNET] = "telnet",
	[DAEMON_PROTO_FTP] = "ftp",
	[DAEMON_PROTO_HTTP] = "http",
	[DAEMON_PROTO_HTTPS] = "https",
};

struct daemon {
	struct daemon_config cfg;
	char state_dir[4096];
	char address[64];
	char hostkey[4096];
	struct shell_service shell;
	struct sftp_service sftp;
	const struct ftp_ops *ftp;
	void *ftp_ctx;
	pthread_mutex_t mu;
	uint16_t ports[DAEMON_PROTO_COUNT];	/* bound once, kept after */
	struct telnet_server *telnet;
	struct sshd_server *sshd[2];		/* ssh, sftp */
	struct ftp_server *ftpd;
	struct http_server *httpd[2];		/* http, https */
	struct http_sessions *sessions;		/* the API's, shared */
	char web_root[4096];
	char cert_dir[4096];
	struct event_base *base;
	struct event *term, *intr;	/* watched from daemon_new on */
	bool stopped;
	struct reaper *reapers;		/* joined at shutdown, under mu */
};

const char *daemon_protocol_name(enum daemon_protocol p)
{
	return protocol_names[p];
}

int daemon_protocol_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < DAEMON_PROTO_COUNT; i++)
		if (!strcmp(name, protocol_names[i]))
			return (int)i;
	return -1;
}

char daemon_controller(const struct daemon *d)
{
	return d->cfg.controller;
}

static bool is_open(struct daemon *d, enum daemon_protocol p)
{
	switch (p) {
	case DAEMON_PROTO_SSH:
		return d->sshd[0] != NULL;
	case DAEMON_PROTO_SFTP:
		return d->sshd[1] != NULL;
	case DAEMON_PROTO_TELNET:
		return d->telnet != NULL;
	case DAEMON_PROTO_HTTP:
	case DAEMON_PROTO_HTTPS:
		return d->httpd[p == DAEMON_PROTO_HTTPS] != NULL;
	default:
		return d->ftpd != NULL;
	}
}

static int open_listener(struct daemon *d, enum daemon_protocol p,
			 struct err *e)
{
	uint16_t port = d->ports[p];

	switch (p) {
	case DAEMON_PROTO_SSH:
	case DAEMON_PROTO_SFTP: {
		struct sshd_config sc = {
			.address = d->address,
			.port = port,
			.hostkey_path = d->hostkey,
			.mode = p == DAEMON_PROTO_SSH ? SSHD_MODE_ALL
						       : SSHD_MODE_SFTP_ONLY,
			.shell = &d->shell,
			.sftp = &d->sftp,
			.admission = d->cfg.admission,
		};
		struct sshd_server *s = sshd_server_start(&sc, e);

		if (!s)
			return e->code;
		d->sshd[p == DAEMON_PROTO_SFTP] = s;
		port = sshd_server_port(s);
		break;
	}
	case DAEMON_PROTO_TELNET:
		d->telnet = telnet_server_start(d->address, port, &d->shell,
						&d->cfg.admission, e);
		if (!d->telnet)
			return e->code;
		port = telnet_server_port(d->telnet);
		break;
	case DAEMON_PROTO_HTTP:
	case DAEMON_PROTO_HTTPS: {
		bool tls = p == DAEMON_PROTO_HTTPS;
		struct http_server_config hc = {
			.name = protocol_names[p],
			.address = d->address,
			.port = port,
			.tls = tls,
			.cert_dir = d->cert_dir,
			.web_root = d->web_root[0] ? d->web_root : NULL,
			.admission = d->cfg.admission,
			.idle_seconds = d->cfg.http_idle_seconds,
			.backend = d->cfg.cli_backend,
			.backend_ctx = d->cfg.cli_ctx,
			.ops = d->cfg.http,
			.ctx = d->cfg.http_ctx,
			.sessions = d->sessions,
		};

		if (!d->cfg.http || !d->sessions)
			return err_set(e, -ENOTSUP, "%s: not available in "
				       "this build", protocol_names[p]);
		d->httpd[tls] = http_server_start(&hc, e);
		if (!d->httpd[tls])
			return e->code;
		port = http_server_port(d->httpd[tls]);
		break;
	}
	default: {
		struct ftp_config fc = {
			.address = d->address,
			.port = port,
			.ops = d->ftp,
			.ctx = d->ftp_ctx,
			.greeting = "Tandem FTP server ready.",
			.reply_hold_seconds = d->cfg.ftp_reply_hold,
			.upload_stall_seconds = d->cfg.upload_stall,
			.admission = d->cfg.admission,
		};

		if (!d->ftp)
			return err_set(e, -ENOTSUP, "ftp: not available in "
				       "this build");
		d->ftpd = ftp_server_start(&fc, e);
		if (!d->ftpd)
			return e->code;
		port = ftp_server_port(d->ftpd);
		break;
	}
	}
	/* Port 0 picks a free port once; re-enabling keeps it. */
	d->ports[p] = port;
	printf("%s listening on %s:%u\n", protocol_names[p], d->address, port);
	fflush(stdout);
	return 0;
}

/*
 * A closed listener whose sessions are still ending. Its thread is joined,
 * never detached: the sessions use the config, the update engine and the
 * flash store, which main() frees once daemon_run() returns.
 */
struct reaper {
	enum daemon_protocol p;
	void *server;
	pthread_t thread;
	struct reaper *next;
};

static void stop_server(enum daemon_protocol p, void *server)
{
	if (p == DAEMON_PROTO_SSH || p == DAEMON_PROTO_SFTP)
		sshd_server_stop(server);
	else if (p == DAEMON_PROTO_TELNET)
		telnet_server_stop(server);
	else if (p == DAEMON_PROTO_HTTP || p == DAEMON_PROTO_HTTPS)
		http_server_stop(server);
	else
		ftp_server_stop(server);
}

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;

	stop_server(r->p, r->server);
	return NULL;
}

/* Frees the reapers that have finished, so toggling keeps no memory. */
static void reapers_trim(struct daemon *d)
{
	struct reaper **link = &d->reapers;

	while (*link) {
		struct reaper *r = *link;

		if (pthread_tryjoin_np(r->thread, NULL) == 0) {
			*link = r->next;
			free(r);
		} else {
			link = &r->next;
		}
	}
}

/* Joins every reaper; their sessions have all ended when this returns. */
static void reapers_join(struct daemon *d)
{
	struct reaper *r;

	pthread_mutex_lock(&d->mu);
	r = d->reapers;
	d->reapers = NULL;
	pthread_mutex_unlock(&d->mu);
	while (r) {
		struct reaper *next = r->next;

		pthread_join(r->thread, NULL);
		free(r);
		r = next;
	}
}

/*
 * Takes the protocol's server out of d. With wait false the port closes
 * and sessions are cut now, and a reaper thread waits for them (the
 * session that typed `set protocols ... disabled` may be one of them);
 * shutdown joins it. Called with d->mu held when wait is false.
 */
static void close_listener(struct daemon *d, enum daemon_protocol p,
			   bool wait)
{
	struct reaper *r;
	void *server;

	switch (p) {
	case DAEMON_PROTO_SSH:
	case DAEMON_PROTO_SFTP:
		server = d->sshd[p == DAEMON_PROTO_SFTP];
		d->sshd[p == DAEMON_PROTO_SFTP] = NULL;
		if (!wait)
			sshd_server_close(server);
		break;
	case DAEMON_PROTO_TELNET:
		server = d->telnet;
		d->telnet = NULL;
		if (!wait)
			telnet_server_close(server);
		break;
	case DAEMON_PROTO_HTTP:
	case DAEMON_PROTO_HTTPS:
		/* A request may have switched its own listener off. */
		server = d->httpd[p == DAEMON_PROTO_HTTPS];
		d->httpd[p == DAEMON_PROTO_HTTPS] = NULL;
		if (!wait)
			http_server_close(server);
		break;
	default:
		/* FTP sessions never run commands: stopping it here is safe. */
		server = d->ftpd;
		d->ftpd = NULL;
		wait = true;
		break;
	}
	printf("%s closed\n", protocol_names[p]);
	fflush(stdout);
	r = wait ? NULL : malloc(sizeof(*r));
	if (r) {
		r->p = p;
		r->server = server;
		if (pthread_create(&r->thread, NULL, reaper_main, r) == 0) {
			reapers_trim(d);
			r->next = d->reapers;
			d->reapers = r;
			return;
		}
		free(r);
		log_warn("%s: waiting for its sessions here", protocol_names[p]);
	}
	stop_server(p, server);
}

static void on_signal(evutil_socket_t sig, short what, void *arg);

/* The watchdog's check: a daemon whose lock never comes free (a listener
 * stuck opening or closing) stops pinging and is restarted. */
static bool daemon_alive(void *arg)
{
	struct daemon *d = arg;

	pthread_mutex_lock(&d->mu);
	pthread_mutex_unlock(&d->mu);
	return true;
}

struct daemon *daemon_new(const struct daemon_config *cfg,
			  const struct shell_service *shell,
			  const struct sftp_service *sftp,
			  const struct ftp_ops *ftp, void *ftp_ctx,
			  struct err *e)
{
	struct daemon *d = calloc(1, sizeof(*d));
	char dir[4096];
	size_t i;

	if (!d) {
		err_set(e, -ENOMEM, "tandemd: out of memory");
		return NULL;
	}
	d->cfg = *cfg;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", cfg->state_dir);
	snprintf(d->address, sizeof(d->address), "%s", cfg->address);
	d->cfg.state_dir = d->state_dir;
	d->cfg.address = d->address;
	d->shell = *shell;
	d->sftp = *sftp;
	d->ftp = ftp;
	d->ftp_ctx = ftp_ctx;
	for (i = 0; i < DAEMON_PROTO_COUNT; i++)
		d->ports[i] = cfg->ports[i] < 0 ? 0 : (uint16_t)cfg->ports[i];
	if (cfg->hostkey_dir)
		snprintf(dir, sizeof(dir), "%s", cfg->hostkey_dir);
	else
		snprintf(dir, sizeof(dir), "%s/%c/config", cfg->state_dir,
			 cfg->controller);
	if (ssh_hostkey_ensure(dir, d->hostkey, sizeof(d->hostkey), e) < 0) {
		free(d);
		return NULL;
	}
	/* The HTTPS certificate beside the host key, made at first start
	 * when `tandem enclosure init` has not made it. */
	snprintf(d->cert_dir, sizeof(d->cert_dir), "%s", dir);
	snprintf(d->web_root, sizeof(d->web_root), "%s",
		 cfg->web_root ? cfg->web_root : "");
	if (cfg->http) {
		if (http_cert_ensure(d->cert_dir, d->address, e) < 0) {
			free(d);
			return NULL;
		}
		d->sessions = http_sessions_new(cfg->http_session_seconds,
						NULL);
		if (!d->sessions) {
			err_set(e, -ENOMEM, "tandemd: out of memory");
			free(d);
			return NULL;
		}
	}
	pthread_mutex_init(&d->mu, NULL);
	evthread_use_pthreads();
	d->base = event_base_new();
	if (!d->base) {
		err_set(e, -ENOMEM, "tandemd: cannot make the event loop");
		pthread_mutex_destroy(&d->mu);
		http_sessions_free(d->sessions);
		free(d);
		return NULL;
	}
	/*
	 * Watch for SIGTERM before any listener opens: a supervisor may stop
	 * us as soon as it sees a port, and the signal is then handled when
	 * the loop starts instead of killing us mid-start.
	 */
	d->term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->intr = evsignal_new(d->base, SIGINT, on_signal, d);
	if (!d->term || !d->intr || evsignal_add(d->term, NULL) < 0 ||
	    evsignal_add(d->intr, NULL) < 0) {
		err_set(e, -EIO, "tandemd: cannot watch for signals");
		daemon_free(d);
		return NULL;
	}
	if (notify_watchdog_start(d->base, daemon_alive, d) < 0) {
		err_set(e, -EIO, "tandemd: cannot start the watchdog timer");
		daemon_free(d);
		return NULL;
	}
	for (i = 0; i < DAEMON_PROTO_COUNT; i++) {
		if (!cfg->enabled[i])
			continue;
		if (open_listener(d, (enum daemon_protocol)i, e) < 0) {
			daemon_free(d);
			return NULL;
		}
	}
	return d;
}

int daemon_protocol_set(struct daemon *d, const char *name, bool enabled,
			struct err *e)
{
	int p = daemon_protocol_from_name(name);
	int rc = 0;

	if (p < 0)
		return err_set(e, -EINVAL, "unknown protocol '%s' (ssh, sftp, "
			       "telnet, ftp, http or https)", name);
	pthread_mutex_lock(&d->mu);
	if (d->stopped)
		rc = err_set(e, -ESHUTDOWN, "tandemd is shutting down");
	else if (enabled && !is_open(d, (enum daemon_protocol)p))
		rc = open_listener(d, (enum daemon_protocol)p, e);
	else if (!enabled && is_open(d, (enum daemon_protocol)p))
		close_listener(d, (enum daemon_protocol)p, false);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

bool daemon_protocol_enabled(struct daemon *d, enum daemon_protocol p)
{
	bool open;

	pthread_mutex_lock(&d->mu);
	open = is_open(d, p);
	pthread_mutex_unlock(&d->mu);
	return open;
}

uint16_t daemon_protocol_port(struct daemon *d, enum daemon_protocol p)
{
	uint16_t port;

	pthread_mutex_lock(&d->mu);
	port = d->ports[p];
	pthread_mutex_unlock(&d->mu);
	return port;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(d->base);
}

void daemon_request_stop(struct daemon *d)
{
	event_base_loopbreak(d->base);
}

/* Shutdown: every listener closed and every session ended and joined. */
static void close_all(struct daemon *d)
{
	size_t i;

	for (i = 0; i < DAEMON_PROTO_COUNT; i++) {
		/* Taken out under the lock, stopped outside it: a session
		 * blocked in daemon_protocol_set must be able to finish. */
		pthread_mutex_lock(&d->mu);
		d->stopped = true;
		if (!is_open(d, (enum daemon_protocol)i)) {
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		close_listener(d, (enum daemon_protocol)i, true);
	}
	reapers_join(d);
}

int daemon_run(struct daemon *d)
{
	int rc = event_base_loop(d->base, EVLOOP_NO_EXIT_ON_EMPTY);

	close_all(d);
	return rc < 0 ? -1 : 0;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	close_all(d);
	if (d->term)
		event_free(d->term);
	if (d->intr)
		event_free(d->intr);
	notify_watchdog_stop();
	event_base_free(d->base);
	http_sessions_free(d->sessions);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
