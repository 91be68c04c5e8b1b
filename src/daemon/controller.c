/*
 * controller.c: brings a controller's parts up in order (event log first,
 * so every later problem can be recorded), turns what the loader and the
 * config store found at start into events, and owns the MC's lifecycle:
 * confirming a trial boot, restarting after a code load, shutting down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bootenv/bootenv.h"
#include "daemon/controller.h"
#include "daemon/notify.h"

void controller_event(struct controller *c, enum events_severity sev,
		      unsigned code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (events_appendv(c->events, sev, code, fmt, ap) < 0)
		log_warn("event log: could not append an event");
	va_end(ap);
}

static void update_event(void *ctx, enum update_severity sev, int code,
			 const char *message)
{
	static const enum events_severity map[] = {
		[UPDATE_INFO] = EVENTS_INFORMATIONAL,
		[UPDATE_WARNING] = EVENTS_WARNING,
		[UPDATE_ERROR] = EVENTS_ERROR,
		[UPDATE_CRITICAL] = EVENTS_CRITICAL,
	};

	controller_event(ctx, map[sev], (unsigned)code, "%s", message);
}

/* The controller's serial number, made at first start and kept. */
static int identity(struct controller *c, struct err *e)
{
	char path[PATH_MAX + 16];
	struct buf b;
	int rc;

	snprintf(path, sizeof(path), "%s/config/serial", c->dir);
	buf_init(&b, 64);
	rc = fs_read_file(path, 64, &b, e);
	if (rc == 0 && b.len > 0 && b.len < sizeof(c->serial)) {
		snprintf(c->serial, sizeof(c->serial), "%.*s",
			 (int)strcspn(b.data, "\n"), b.data);
	} else {
		unsigned char r[6];
		char hex[13];

		if (RAND_bytes(r, sizeof(r)) != 1) {
			buf_free(&b);
			return err_set(e, -EIO, "no random bytes for a serial");
		}
		hex_encode(r, sizeof(r), hex);
		snprintf(c->serial, sizeof(c->serial), "TD%c%s", c->id, hex);
		buf_reset(&b);
		buf_appendf(&b, "%s\n", c->serial);
		rc = fs_atomic_write(path, b.data, b.len, 0644, e);
	}
	buf_reset(&b);
	snprintf(path, sizeof(path), "%.4000s/config/midplane-serial", c->dir);
	if (rc == 0 && fs_read_file(path, 64, &b, e) == 0)
		snprintf(c->midplane_serial, sizeof(c->midplane_serial),
			 "%.*s", (int)strcspn(b.data, "\n"), b.data);
	buf_free(&b);
	return rc;
}

/*
 * The loader writes why it rolled back into the flash store; each note is
 * turned into an event once (the last one logged is remembered).
 */
static void loader_note(struct controller *c)
{
	char path[PATH_MAX + 32];
	struct buf note, seen;
	struct err e;

	buf_init(&note, 4096);
	buf_init(&seen, 4096);
	snprintf(path, sizeof(path), "%s/config/loader-note-logged", c->dir);
	if (flash_store_last_result(c->store, &note) == 0 && note.len > 0 &&
	    (fs_read_file(path, 4096, &seen, &e) < 0 ||
	     strcmp(seen.data, note.data) != 0)) {
		controller_event(c, strstr(note.data, "rollback") ?
				 EVENTS_CRITICAL : EVENTS_WARNING,
				 EVENTS_CODE_FIRMWARE_UPDATE,
				 "MC loader: %.*s", (int)strcspn(note.data,
				 "\n"), note.data);
		fs_atomic_write(path, note.data, note.len, 0644, &e);
	}
	buf_free(&note);
	buf_free(&seen);
}

int controller_open(struct controller *c, const char *dir, char id,
		    const char *address, bool simulator, size_t events_max,
		    struct err *e)
{
	struct update_config ucfg = { 0 };
	struct events_open_info info;
	char path[PATH_MAX + 32];
	int rc;

	memset(c, 0, sizeof(*c));
	c->id = (char)(id == 'b' || id == 'B' ? 'B' : 'A');
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->address, sizeof(c->address), "%s", address);
	c->simulator = simulator;
	c->events_max = events_max;
	c->started = time(NULL);
	handler_set_init(&c->handlers);
	snprintf(c->model, sizeof(c->model), "%s", CONTROLLER_MODEL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_rwlock_init(&c->pfu_lock, NULL);
	{
		pthread_condattr_t attr;

		/* stop_later's deadline must not move with the wall clock. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&c->stop_cond, &attr);
		pthread_condattr_destroy(&attr);
	}

	snprintf(path, sizeof(path), "%s/config/keys", dir);
	if (fs_mkdir_p(path, 0700, e) < 0)
		return e->code;
	snprintf(path, sizeof(path), "%s/events.log", dir);
	if (events_open(path, c->id, c->events_max, &c->events, &info, e) < 0)
		return e->code;
	snprintf(path, sizeof(path), "%s/config", dir);
	if (config_open(path, c->events, &c->config, e) < 0)
		return e->code;
	/* Stamps the enclosure settings changed here (the partner mirror). */
	config_set_controller(c->config, c->id);
	if (identity(c, e) < 0)
		return e->code;
	if (simulator) {
		struct config_user u;

		if (config_users_list(c->config, &u, 1) == 0 &&
		    config_users_seed_defaults(c->config, e) < 0)
			return e->code;
	}
	rc = flash_store_open(dir, &c->store, e);
	if (rc == FLASH_ERR_NOT_INIT) {
		if (flash_store_init(dir, e) < 0 ||
		    flash_store_open(dir, &c->store, e) < 0)
			return e->code;
	} else if (rc < 0) {
		return rc;
	}
	/* The CLI and the API ask for the status on every command. */
	if (flash_store_watch(c->store, e) < 0)
		log_warn("%s; the flash status is checked with stat() on each "
			 "command", e->msg);
	snprintf(path, sizeof(path), "%s/config/keys", dir);
	err_clear(e);
	if (bundle_keyring_add_dir(&c->keys, path, e) < 0 ||
	    c->keys.nkeys == 0)
		controller_event(c, EVENTS_WARNING, EVENTS_CODE_FIRMWARE_UPDATE,
				 "No trusted bundle key in %s: every firmware "
				 "upload will be refused until one is "
				 "installed.", path);
	ucfg.store = c->store;
	ucfg.keys = &c->keys;
	ucfg.model = c->model;
	ucfg.controller = c->id;
	ucfg.event = update_event;
	ucfg.accept = controller_pairing_accept;
	ucfg.ctx = c;
	ucfg.handlers = &c->handlers;
	ucfg.state_dir = c->dir;
	snprintf(path, sizeof(path), "%.4000s/last-codeload.json", dir);
	ucfg.last_path = path;
	c->update = update_engine_new(&ucfg, e);
	if (!c->update)
		return e->code;
	loader_note(c);
	return 0;
}

void controller_close(struct controller *c)
{
	controller_pfu_stop(c);		/* its roll-back may schedule a stop */
	controller_join_threads(c);
	update_engine_free(c->update);
	if (c->store)
		flash_store_close(c->store);
	if (c->config)
		config_close(c->config);
	if (c->events)
		events_close(c->events);
	pthread_cond_destroy(&c->stop_cond);
	pthread_mutex_destroy(&c->lock);
	pthread_rwlock_destroy(&c->pfu_lock);
	handler_set_free(&c->handlers);
}

void controller_started(struct controller *c)
{
	struct flash_status st;
	bool confirmed = false;
	struct err e;

	err_clear(&e);
	if (flash_store_status(c->store, &st, &e) < 0) {
		controller_event(c, EVENTS_ERROR, EVENTS_CODE_DAEMON_START,
				 "Management controller started; the flash "
				 "store cannot be read: %s", e.msg);
		return;
	}
	if (st.trial) {
		if (flash_store_confirm(c->store, &e) < 0)
			controller_event(c, EVENTS_ERROR,
					 EVENTS_CODE_FIRMWARE_UPDATE,
					 "Could not confirm bundle %s: %s",
					 st.bundle_version, e.msg);
		else
			confirmed = true;
		/* Under tandem-loader --uboot-env: U-Boot stops counting. */
		if (confirmed && bootenv_sync_from_environment(st.active_bank,
							       false, &e) < 0)
			controller_event(c, EVENTS_WARNING,
					 EVENTS_CODE_FIRMWARE_UPDATE,
					 "Bundle %s is confirmed, but the U-Boot "
					 "environment was not updated: %s",
					 st.bundle_version, e.msg);
		if (confirmed)
			controller_event(c, EVENTS_INFORMATIONAL,
					 EVENTS_CODE_FIRMWARE_UPDATE,
					 "Firmware update progress: bundle %s "
					 "started on bank %d and is confirmed "
					 "healthy (trial boot %u).",
					 st.bundle_version, st.active_bank,
					 st.boot_count);
	}
	controller_event(c, EVENTS_INFORMATIONAL, EVENTS_CODE_DAEMON_START,
			 "Management controller %c started (tandemd %s, "
			 "bundle %s).", c->id, CONTROLLER_VERSION,
			 st.bundle_version[0] ? st.bundle_version : "none");
	controller_pfu_start(c, confirmed);
}

/*
 * Waits delay seconds, or until controller_join_threads() says stop,
 * then breaks the event loop. Joined before the daemon is freed.
 */
static void *stop_later(void *arg)
{
	struct controller *c = arg;
	struct timespec until;
	bool cancelled;

	pthread_mutex_lock(&c->lock);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += c->stop_delay;
	while (!c->stop_cancel && !c->stop_now &&
	       pthread_cond_timedwait(&c->stop_cond, &c->lock, &until) == 0)
		;
	cancelled = c->stop_cancel;
	pthread_mutex_unlock(&c->lock);
	/* Cancelled: the daemon is stopping already, and may be gone next.
	 * A controller run without a daemon (unit tests) has none to stop. */
	if (!cancelled && c->daemon)
		daemon_request_stop(c->daemon);
	return NULL;
}

void controller_schedule_stop(struct controller *c, int status,
			      unsigned delay, const char *why)
{
	bool started;

	pthread_mutex_lock(&c->lock);
	if (c->restarting) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->restarting = true;
	c->exit_status = status;
	c->stop_delay = delay;
	pthread_mutex_unlock(&c->lock);
	controller_event(c, EVENTS_INFORMATIONAL, EVENTS_CODE_DAEMON_STOP,
			 "Management controller %c %s in %u s: %s.", c->id,
			 status == CONTROLLER_EXIT_RESTART ? "restarting" :
			 "shutting down", delay, why);
	notify_status("%s in %u s: %s",
		      status == CONTROLLER_EXIT_RESTART ? "Restarting" :
		      "Shutting down", delay, why);
	pthread_mutex_lock(&c->lock);
	started = pthread_create(&c->stop_thread, NULL, stop_later, c) == 0;
	c->stop_thread_running = started;
	pthread_mutex_unlock(&c->lock);
	if (!started)
		daemon_request_stop(c->daemon);
}

void controller_stop_now(struct controller *c, const char *why)
{
	unsigned delay = 0;
	bool now = false;

	pthread_mutex_lock(&c->lock);
	if (c->restarting && !c->stop_now) {
		c->stop_now = now = true;
		delay = c->stop_delay;
		pthread_cond_broadcast(&c->stop_cond);
	}
	pthread_mutex_unlock(&c->lock);
	if (now)
		log_info("stopping now, not after %u s: %s", delay, why);
}

void controller_join_threads(struct controller *c)
{
	bool running;

	pthread_mutex_lock(&c->lock);
	c->stop_cancel = true;
	running = c->stop_thread_running;
	c->stop_thread_running = false;
	pthread_cond_broadcast(&c->stop_cond);
	pthread_mutex_unlock(&c->lock);
	if (running)
		pthread_join(c->stop_thread, NULL);
}

static const struct {
	enum config_key key;
	const char *protocol;
} served[] = {
	{ CONFIG_PROTO_SSH, "ssh" },
	{ CONFIG_PROTO_SFTP, "sftp" },
	{ CONFIG_PROTO_TELNET, "telnet" },
	{ CONFIG_PROTO_FTP, "ftp" },
	{ CONFIG_PROTO_HTTP, "http" },
	{ CONFIG_PROTO_HTTPS, "https" },
};

void controller_apply_protocols(struct controller *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(served); i++) {
		bool on = config_get_bool(c->config, served[i].key);
		struct err e;

		err_clear(&e);
		if (daemon_protocol_set(c->daemon, served[i].protocol, on,
					&e) < 0)
			controller_event(c, EVENTS_ERROR,
					 EVENTS_CODE_CONFIG_CHANGED,
					 "Could not %s %s: %s",
					 on ? "open" : "close",
					 served[i].protocol, e.msg);
	}
}

void controller_setting_changed(void *ctx, enum config_key key)
{
	struct controller *c = ctx;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(served); i++)
		if (served[i].key == key)
			controller_apply_protocols(c);
	controller_pfu_notify(c);
}

void controller_set_model(struct controller *c, const char *model)
{
	snprintf(c->model, sizeof(c->model), "%s", model);
}
