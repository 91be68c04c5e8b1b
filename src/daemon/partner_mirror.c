/*
 * partner_mirror.c: what both controllers hold alike: the enclosure-scope
 * settings (newest change wins, config.h's stamps) and the event log (each
 * controller's events kept in both logs with their origin). Sends from the
 * worker thread; receives on the link's reader thread.
 *
 * SETTINGS payload: {"settings": [{"name": "ftp", "value": "Enabled",
 *   "ms": 1764858000123, "by": "B"}, ...]}: values in config_get_text's
 *   form, stamps as config.h defines them. On up() each side sends every
 *   enclosure setting it has changed; later, each local change.
 * EVENT payload: {"controller": "B", "seq": 17, "time": 1764858000,
 *   "code": 1013, "severity": 1, "message": "..."}: one event of the
 *   sender's own; the receiver stores it with that origin (events.h E4).
 *
 * No echo: only settings whose stamp names this controller are sent, so a
 * mirrored change (stamped by the partner) is never sent back; only this
 * controller's own events are forwarded, never the partner's stored here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"
#include "daemon/partner_impl.h"

void partner_mirror_setting_changed(void *ctx, enum config_key key)
{
	struct partner *p = ctx;
	const struct config_key_info *keys;
	struct config_stamp st;
	char text[CONFIG_STRING_MAX];
	size_t n;

	keys = config_keys(&n);
	if ((size_t)key >= n || keys[key].scope != CONFIG_SCOPE_ENCLOSURE ||
	    config_get_stamped(p->c->config, key, text, sizeof(text),
			       &st) < 0 || st.origin != p->id)
		return;
	pthread_mutex_lock(&p->lock);
	p->dirty[key] = true;
	partner_wake_locked(p);
	pthread_mutex_unlock(&p->lock);
}

void partner_mirror_event_appended(void *ctx, const struct event *ev)
{
	struct partner *p = ctx;

	if (ev->controller != p->id)
		return;	/* the partner's own, stored here: not sent */
	pthread_mutex_lock(&p->lock);
	partner_wake_locked(p);
	pthread_mutex_unlock(&p->lock);
}

void partner_mirror_send_settings(struct partner *p, bool all)
{
	const struct config_key_info *keys;
	bool due[CONFIG_KEY_COUNT];
	json_t *list = json_array();
	size_t n, count = 0;
	struct err e;

	keys = config_keys(&n);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		due[i] = keys[i].scope == CONFIG_SCOPE_ENCLOSURE &&
			 (all || p->dirty[i]);
		p->dirty[i] = false;
	}
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; list && i < CONFIG_KEY_COUNT; i++) {
		char text[CONFIG_STRING_MAX];
		struct config_stamp st;

		if (!due[i] || config_get_stamped(p->c->config, keys[i].key,
						  text, sizeof(text), &st) < 0)
			continue;
		/* Never changed: the partner's value is as good as ours. */
		if (st.ms == 0)
			continue;
		/* Stamped before this controller knew its id (written
		 * offline): the change is ours. */
		if (st.origin != 'A' && st.origin != 'B')
			st.origin = p->c->id;
		json_array_append_new(list, json_pack("{ss ss sI ss#}",
			"name", keys[i].name, "value", text,
			"ms", (json_int_t)st.ms, "by", &st.origin, 1));
		count++;
	}
	if (!list || count == 0) {
		json_decref(list);
		return;
	}
	err_clear(&e);
	/* Down: up() sends every setting again. */
	partner_send_json(p, LINK_FRAME_SETTINGS,
			  json_pack("{so}", "settings", list), &e);
}

int partner_mirror_settings_receive(struct partner *p, const uint8_t *payload,
				    size_t len, struct err *e)
{
	json_error_t jerr;
	json_t *root, *list, *item;
	size_t i;

	root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	list = json_object_get(root, "settings");
	if (!json_is_array(list)) {
		json_decref(root);
		return err_set(e, -EPROTO, "partner SETTINGS has no settings "
			       "list");
	}
	json_array_foreach(list, i, item) {
		const char *name = json_string_value(json_object_get(item,
								     "name"));
		const char *value = json_string_value(json_object_get(item,
								      "value"));
		const char *by = json_string_value(json_object_get(item, "by"));
		json_t *ms = json_object_get(item, "ms");
		struct config_stamp st = { 0 };
		struct err ae;

		if (!name || !value || !by || strlen(by) != 1 ||
		    !json_is_integer(ms) || json_integer_value(ms) <= 0) {
			json_decref(root);
			return err_set(e, -EPROTO, "partner SETTINGS: "
				       "malformed entry %zu", i);
		}
		st.ms = (uint64_t)json_integer_value(ms);
		st.origin = by[0];
		err_clear(&ae);
		/* A setting this build does not know, or a value it refuses,
		 * is the partner's newer build talking: skip it, keep ours. */
		if (config_mirror_apply(p->c->config, name, value, &st,
					&ae) < 0)
			log_warn_limited("partner-settings", "partner setting "
					 "not taken: %s", ae.msg);
	}
	json_decref(root);
	return 0;
}

void partner_mirror_send_events(struct partner *p)
{
	struct event *batch;
	uint64_t after, session;
	size_t n;
	struct err e;

	pthread_mutex_lock(&p->lock);
	if (!p->up || !p->events_known) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	after = p->events_sent;
	session = p->session;
	pthread_mutex_unlock(&p->lock);
	if (events_last_seq(p->c->events, p->id) <= after)
		return;
	batch = calloc(PARTNER_EVENTS_BATCH, sizeof(*batch));
	if (!batch)
		return;
	do {
		if (events_since(p->c->events, p->id, after, batch,
				 PARTNER_EVENTS_BATCH, &n) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			const struct event *ev = &batch[i];

			err_clear(&e);
			if (partner_send_json(p, LINK_FRAME_EVENT,
				json_pack("{ss# sI sI si si ss}",
					  "controller", &ev->controller, 1,
					  "seq", (json_int_t)ev->seq,
					  "time", (json_int_t)ev->time,
					  "code", (int)ev->code,
					  "severity", (int)ev->severity,
					  "message", ev->message), &e) < 0) {
				n = 0;
				break;
			}
			after = ev->seq;
		}
		pthread_mutex_lock(&p->lock);
		if (p->session != session || !p->up) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (after > p->events_sent)
			p->events_sent = after;
		pthread_mutex_unlock(&p->lock);
	} while (n == PARTNER_EVENTS_BATCH);
	free(batch);
}

int partner_mirror_event_receive(struct partner *p, const uint8_t *payload,
				 size_t len, struct err *e)
{
	json_error_t jerr;
	const char *ctl, *msg;
	struct event ev;
	json_t *root;
	json_int_t seq, when, code, sev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root || json_unpack(root, "{ss sI sI sI sI ss}",
				 "controller", &ctl, "seq", &seq, "time", &when,
				 "code", &code, "severity", &sev, "message",
				 &msg) < 0 ||
	    strlen(ctl) != 1 || ctl[0] != p->peer_id || seq <= 0 ||
	    code < 0 || code > UINT16_MAX || sev < 0 ||
	    sev >= EVENTS_SEVERITY_COUNT) {
		json_decref(root);
		return err_set(e, -EPROTO, "partner EVENT is malformed");
	}
	ev.controller = ctl[0];
	ev.seq = (uint64_t)seq;
	ev.time = (int64_t)when;
	ev.code = (uint16_t)code;
	ev.severity = (enum events_severity)sev;
	/* Shown on consoles: no control bytes from the wire. */
	for (size_t i = 0; msg[i] && i < sizeof(ev.message) - 1; i++)
		ev.message[i] = (unsigned char)msg[i] < 0x20 ||
				msg[i] == 0x7f ? '?' : msg[i];
	json_decref(root);
	rc = events_append_foreign(p->c->events, &ev);
	if (rc < 0)
		log_warn_limited("partner-event", "partner event #%c%llu not "
				 "stored: %s", ev.controller,
				 (unsigned long long)ev.seq, strerror(-rc));
	return 0;
}
