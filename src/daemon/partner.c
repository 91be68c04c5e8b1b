/*
 * partner.c: the partner link's lifecycle in tandemd: starting src/link/
 * with the enclosure key, its handlers (up, down, refused, frames handed
 * to the state, mirror and transfer files), the worker thread that sends,
 * and the peer view others read. It never parses a bundle or writes
 * config itself: those go through the update engine and src/config/.
 *
 * Invariants:
 *  P1: no lock of this file is held while an event is appended (the event
 *      log's listener takes p->lock) or while a frame is sent.
 *  P2: up() and down() alternate (link.h), so "partner up" and "partner
 *      down" events are logged once per transition.
 *  P3: the peer view keeps the last fields the partner reported when the
 *      link goes down (ever_seen), with up=false and the reason.
 *  P4: p->link is used only while it is valid: set before any handler
 *      goes past on_up() and before the worker starts; the worker is
 *      joined before link_stop() frees it. partner_push_bundle() callers
 *      (PFU) end before partner_stop().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/controller.h"
#include "daemon/partner_impl.h"

/* ---- helpers shared with the other partner files ---- */

void partner_wake_locked(struct partner *p)
{
	p->wake = true;
	pthread_cond_broadcast(&p->cond);
}

void partner_view_changed_locked(struct partner *p)
{
	p->generation++;
	pthread_cond_broadcast(&p->cond);
}

void partner_event(struct partner *p, int severity, unsigned code,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (events_appendv(p->c->events, (enum events_severity)severity, code,
			   fmt, ap) < 0)
		log_warn("event log: could not append a partner event");
	va_end(ap);
}

int partner_send(struct partner *p, unsigned type, const void *payload,
		 size_t len, struct err *e)
{
	/* The link-delay fault point: a slow midplane, frame by frame. */
	fault_link_delay();
	if (type == LINK_FRAME_BUNDLE_BEGIN)
		fault_link_transfer_begin();
	return link_send(p->link, type, payload, len, e);
}

void partner_fault_data_frame(struct partner *p)
{
	static const char why[] = "the link-drop fault point cut the link "
				  "in a bundle transfer";

	/* The link-drop fault point: the link goes as a pulled cable's
	 * would, right after this frame. */
	if (!fault_link_data_frame())
		return;
	log_warn("partner link: %s", why);
	partner_link_drop(p, why);
}

int partner_send_json(struct partner *p, unsigned type, json_t *body,
		      struct err *e)
{
	char *text;
	int rc;

	if (!body)
		return err_set(e, -ENOMEM, "out of memory");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	rc = partner_send(p, type, text, strlen(text), e);
	free(text);
	return rc;
}

/* Calls the view callback, if any, after a change (outside the lock). */
void partner_view_notify(struct partner *p)
{
	partner_view_fn fn;
	void *ctx;

	pthread_mutex_lock(&p->lock);
	fn = p->on_view;
	ctx = p->on_view_ctx;
	pthread_mutex_unlock(&p->lock);
	if (fn)
		fn(ctx);
}

/* ---- the link's handlers ---- */

static void on_up(void *ctx, const struct link_hello *peer)
{
	struct partner *p = ctx;
	char was[sizeof(p->view.serial)];

	pthread_mutex_lock(&p->lock);
	/* P4: the first handler of a connection; later frames wait too. */
	while (!p->link_ready && !p->closing)
		pthread_cond_wait(&p->cond, &p->lock);
	snprintf(was, sizeof(was), "%s", p->view.serial);
	pthread_mutex_unlock(&p->lock);
	/* Logged before the view changes, as on_down() does. */
	partner_event(p, EVENTS_INFORMATIONAL, EVENTS_CODE_PARTNER_LINK,
		      "Partner controller %c is up (serial %s): the partner "
		      "link is connected.", peer->controller, peer->serial);
	/* Whoever holds the enclosure key may take the link; a new serial
	 * is either a replaced controller or one that should not be there. */
	if (was[0] && strcmp(was, peer->serial))
		partner_event(p, EVENTS_WARNING, EVENTS_CODE_PARTNER_LINK,
			      "Partner controller %c has another serial "
			      "number than before (%s, was %s): a replaced "
			      "controller, or another holder of the enclosure "
			      "key.", peer->controller, peer->serial, was);
	pthread_mutex_lock(&p->lock);
	p->up = true;
	p->session++;
	p->send_state = true;
	p->send_all_settings = true;
	p->events_known = false;
	memset(p->dirty, 0, sizeof(p->dirty));
	free(p->last_state);
	p->last_state = NULL;
	p->view.up = true;
	p->view.id = peer->controller;
	snprintf(p->view.serial, sizeof(p->view.serial), "%s", peer->serial);
	snprintf(p->view.midplane_serial, sizeof(p->view.midplane_serial),
		 "%s", peer->midplane_serial);
	p->view.down_reason[0] = '\0';
	p->view.last_seen = time(NULL);
	partner_view_changed_locked(p);
	partner_wake_locked(p);
	pthread_mutex_unlock(&p->lock);
	partner_view_notify(p);
}

static void on_down(void *ctx, const char *why)
{
	struct partner *p = ctx;
	bool was_up, restarting;

	restarting = partner_transfer_link_down(p, why);
	pthread_mutex_lock(&p->lock);
	/* This controller stopping is not the partner going down, nor is
	 * the close it waited for to restart into a pushed bundle. */
	was_up = p->up && !p->closing && !restarting;
	pthread_mutex_unlock(&p->lock);
	/* Logged before the view changes: whoever sees the partner down
	 * finds the event already there (P1: no lock held). */
	if (was_up)
		partner_event(p, EVENTS_WARNING, EVENTS_CODE_PARTNER_LINK,
			      "Partner controller %c is down: %s.", p->peer_id,
			      why);
	pthread_mutex_lock(&p->lock);
	p->up = false;
	p->view.up = false;
	p->view.updating = false;
	snprintf(p->view.down_reason, sizeof(p->view.down_reason), "%s", why);
	partner_view_changed_locked(p);
	pthread_mutex_unlock(&p->lock);
	partner_view_notify(p);
}

static void on_refused(void *ctx, const char *peer_address, const char *why)
{
	struct partner *p = ctx;
	time_t now = time(NULL);
	unsigned quiet = 0;
	bool log_it;

	pthread_mutex_lock(&p->lock);
	/* Anyone can connect and fail: one event a minute at most, whatever
	 * the reasons, so a flood cannot fill the event log. */
	log_it = p->refused_logged == 0 ||
		 now - p->refused_logged >= PARTNER_REFUSED_EVENT_SECONDS;
	if (log_it) {
		quiet = p->refused_quiet;
		p->refused_quiet = 0;
		p->refused_logged = now;
	} else {
		p->refused_quiet++;
	}
	pthread_mutex_unlock(&p->lock);
	if (!log_it)
		return;
	if (quiet)
		partner_event(p, EVENTS_WARNING, EVENTS_CODE_PARTNER_LINK,
			      "Partner link refused: %s: %s (and %u more "
			      "refusal(s) since the last report).",
			      peer_address, why, quiet);
	else
		partner_event(p, EVENTS_WARNING, EVENTS_CODE_PARTNER_LINK,
			      "Partner link refused: %s: %s.", peer_address,
			      why);
}

static int on_frame(void *ctx, unsigned type, const uint8_t *payload,
		    size_t len, struct err *e)
{
	struct partner *p = ctx;
	partner_record_fn fn;
	void *fctx;
	int rc;

	pthread_mutex_lock(&p->lock);
	p->view.last_seen = time(NULL);
	pthread_mutex_unlock(&p->lock);
	switch (type) {
	case LINK_FRAME_STATE:
		return partner_state_receive(p, payload, len, e);
	case LINK_FRAME_SETTINGS:
		return partner_mirror_settings_receive(p, payload, len, e);
	case LINK_FRAME_EVENT:
		return partner_mirror_event_receive(p, payload, len, e);
	case LINK_FRAME_BUNDLE_BEGIN:
		fault_link_transfer_begin();
		return partner_transfer_frame(p, type, payload, len, e);
	case LINK_FRAME_BUNDLE_DATA:
		rc = partner_transfer_frame(p, type, payload, len, e);
		if (rc == 0)
			partner_fault_data_frame(p);
		return rc;
	case LINK_FRAME_BUNDLE_END:
	case LINK_FRAME_BUNDLE_ABORT:
	case LINK_FRAME_BUNDLE_RESULT:
		return partner_transfer_frame(p, type, payload, len, e);
	case LINK_FRAME_PFU_RECORD:
		pthread_mutex_lock(&p->lock);
		fn = p->on_record;
		fctx = p->on_record_ctx;
		pthread_mutex_unlock(&p->lock);
		if (fn)
			fn(fctx, (const char *)payload, len);
		return 0;
	case LINK_FRAME_COMMAND:
		return 0;	/* reserved: a newer partner's, ignored */
	default:
		return err_set(e, -EPROTO, "partner sent an unexpected %s "
			       "frame", link_frame_type_name(type));
	}
}

static const struct link_handlers partner_handlers = {
	.up = on_up,
	.down = on_down,
	.frame = on_frame,
	.refused = on_refused,
};

/* ---- the worker: every frame this side sends on its own ---- */

static void *worker_main(void *arg)
{
	struct partner *p = arg;
	struct timespec until;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		partner_up_fn up_fn = NULL;
		void *up_ctx = NULL;
		bool all, state;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += p->heartbeat_ms / 1000;
		until.tv_nsec += (long)(p->heartbeat_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!p->wake && !p->stopping &&
		       pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
			;
		p->wake = false;
		if (p->stopping || !p->up)
			continue;
		state = p->send_state;
		all = p->send_all_settings;
		p->send_state = false;
		p->send_all_settings = false;
		if (p->up_announced != p->session) {
			p->up_announced = p->session;
			up_fn = p->on_up;
			up_ctx = p->on_up_ctx;
		}
		pthread_mutex_unlock(&p->lock);
		/* P1: the sends run unlocked. STATE first: it carries what we
		 * hold of the partner's events, which it needs before ours. */
		partner_state_send(p, state);
		partner_mirror_send_settings(p, all);
		partner_mirror_send_events(p);
		if (up_fn)
			up_fn(up_ctx);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- lifecycle ---- */

int partner_key_load(const char *path, uint8_t *key, size_t *key_len,
		     struct err *e)
{
	struct buf text;
	size_t n;
	int rc;

	buf_init(&text, 4 * PARTNER_KEY_MAX);
	rc = fs_read_file(path, 4 * PARTNER_KEY_MAX, &text, e);
	if (rc < 0) {
		buf_free(&text);
		return err_prefix(e, "enclosure key");
	}
	n = text.len;
	while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r' ||
			 text.data[n - 1] == ' '))
		n--;
	if (n > 0)
		text.data[n] = '\0';
	if (n % 2 || n / 2 < LINK_KEY_MIN || n / 2 > PARTNER_KEY_MAX ||
	    hex_decode(text.data, key, n / 2) < 0) {
		buf_free(&text);
		return err_set(e, -EINVAL, "%s: not an enclosure key (expected "
			       "%d to %d hex digits)", path, 2 * LINK_KEY_MIN,
			       2 * PARTNER_KEY_MAX);
	}
	*key_len = n / 2;
	buf_free(&text);
	return 0;
}

int partner_start(struct controller *c, const struct partner_config *cfg,
		  struct err *e)
{
	struct link_config lc = { 0 };
	struct partner *p;
	pthread_condattr_t attr;

	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(e, -ENOMEM, "out of memory");
	p->c = c;
	p->id = c->id;
	p->peer_id = c->id == 'A' ? 'B' : 'A';
	p->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms :
			  PARTNER_HEARTBEAT_MS;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->rx_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);
	p->view.id = p->peer_id;
	p->view.health = PEER_HEALTH_UNKNOWN;
	snprintf(p->view.down_reason, sizeof(p->view.down_reason),
		 "the partner link has not connected yet");

	lc.controller = c->id;
	lc.serial = c->serial;
	lc.midplane_serial = c->midplane_serial;
	lc.listen_address = cfg->listen ? c->address : NULL;
	lc.listen_port = cfg->listen_port;
	lc.partner_address = cfg->partner_address;
	lc.partner_port = cfg->partner_port;
	lc.key = cfg->key;
	lc.key_len = cfg->key_len;
	lc.heartbeat_ms = p->heartbeat_ms;
	lc.admission = cfg->admission;
	lc.handlers = &partner_handlers;
	lc.ctx = p;

	pthread_mutex_lock(&c->lock);
	c->partner = p;
	pthread_mutex_unlock(&c->lock);
	if (config_watch(c->config, partner_mirror_setting_changed, p) < 0) {
		err_set(e, -ENOSPC, "partner: no room for a settings watcher");
		goto fail;
	}
	events_set_listener(c->events, partner_mirror_event_appended, p);
	p->link = link_start(&lc, e);
	if (!p->link)
		goto fail;
	/* P4: handlers wait for this before they may send. */
	pthread_mutex_lock(&p->lock);
	p->link_ready = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (pthread_create(&p->worker, NULL, worker_main, p) != 0) {
		err_set(e, -EAGAIN, "partner: cannot start its thread");
		goto fail;
	}
	p->worker_running = true;
	if (cfg->listen) {
		printf("link listening on %s:%u\n", c->address,
		       partner_listen_port(p));
		fflush(stdout);
	}
	return 0;
fail:
	partner_stop(p);
	return e->code ? e->code : -EIO;
}

void partner_quiesce(struct partner *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

bool partner_is_stopping(struct partner *p)
{
	bool stopping;

	pthread_mutex_lock(&p->lock);
	stopping = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stopping;
}

void partner_stop(struct partner *p)
{
	if (!p)
		return;
	events_set_listener(p->c->events, NULL, NULL);
	/* P4: the worker ends first, then the link's threads (link_stop
	 * frees the link): no send and no handler runs after this. */
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->worker_running)
		pthread_join(p->worker, NULL);
	if (p->link)
		link_stop(p->link);
	config_unwatch(p->c->config, partner_mirror_setting_changed, p);
	pthread_mutex_lock(&p->c->lock);
	p->c->partner = NULL;
	pthread_mutex_unlock(&p->c->lock);
	if (p->rx_job)
		update_abort(p->rx_job, "the management controller stopped");
	free(p->last_state);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->rx_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void partner_view_get(struct partner *p, struct peer_view *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->view;
	pthread_mutex_unlock(&p->lock);
	/* Up means heartbeats are arriving now. */
	if (out->up)
		out->last_seen = time(NULL);
}

uint64_t partner_view_generation(struct partner *p)
{
	uint64_t g;

	pthread_mutex_lock(&p->lock);
	g = p->generation;
	pthread_mutex_unlock(&p->lock);
	return g;
}

int partner_view_wait(struct partner *p, uint64_t seen, unsigned timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	while (p->generation == seen && rc == 0)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &until);
	rc = p->generation != seen ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void partner_on_view_change(struct partner *p, partner_view_fn fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->on_view = fn;
	p->on_view_ctx = ctx;
	pthread_mutex_unlock(&p->lock);
}

void partner_state_changed(struct partner *p)
{
	pthread_mutex_lock(&p->lock);
	partner_wake_locked(p);
	pthread_mutex_unlock(&p->lock);
}

uint16_t partner_listen_port(struct partner *p)
{
	return link_listen_port(p->link);
}

void partner_link_drop(struct partner *p, const char *why)
{
	link_drop(p->link, why);
}

void partner_on_up(struct partner *p, partner_up_fn fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->on_up = fn;
	p->on_up_ctx = ctx;
	pthread_mutex_unlock(&p->lock);
}
