/*
 * partner_state.c: the STATE frame: this controller's running state as the
 * partner needs it (peer.h), sent when the link comes up and whenever it
 * changes, and the partner's read into the peer view. Reads the flash
 * store, update engine and PFU view; changes none of them.
 *
 * STATE payload (JSON object; every member optional on receipt, unknown
 * members ignored, so either side may be newer):
 *   "controller": "A", "serial", "midplane_serial", "address",
 *   "bundle_version", "build_date", "previous_version",
 *   "components": [{"name": "mc", "version": "TSM250R01"}, ...],
 *   "mc_loader": the running MC's own version (CONTROLLER_VERSION),
 *   "health": "OK" | "Degraded" | "Fault", "health_reason",
 *   "trial": bool, "updating": bool, "update_source", "stage",
 *   "percent": N, "pfu_status", "free_bytes": N,
 *   "events_seen": N   newest sequence of the receiver's own events the
 *                      sender holds: the receiver forwards those after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "daemon/controller.h"
#include "daemon/partner_impl.h"

static const char *const health_names[] = {
	[PEER_HEALTH_OK] = "OK",
	[PEER_HEALTH_DEGRADED] = "Degraded",
	[PEER_HEALTH_FAULT] = "Fault",
	[PEER_HEALTH_UNKNOWN] = "Unknown",
};

json_t *partner_state_build(struct partner *p)
{
	struct controller *c = p->c;
	struct flash_status st;
	struct update_status us;
	struct pfu_view pfu;
	struct statvfs vfs;
	enum peer_health health = PEER_HEALTH_OK;
	char reason[PEER_TEXT_MAX] = "";
	json_t *root, *comps;
	uint64_t free_bytes = 0;
	struct err e;

	err_clear(&e);
	memset(&st, 0, sizeof(st));
	if (flash_store_status(c->store, &st, &e) < 0) {
		health = PEER_HEALTH_FAULT;
		snprintf(reason, sizeof(reason), "The flash store cannot be "
			 "read: %.180s", e.msg);
	} else if (st.trial) {
		health = PEER_HEALTH_DEGRADED;
		snprintf(reason, sizeof(reason), "Bundle %s is on trial and "
			 "not yet confirmed.", st.bundle_version);
	}
	/* The partner sees what the handlers last reported, as show
	 * versions here does (asked there, not at every state). */
	controller_handler_versions(c, &st, false);
	update_status_get(c->update, &us);
	controller_pfu_view(c, &pfu);
	if (statvfs(c->dir, &vfs) == 0)
		/* In whole MiB: a STATE is sent when it changes, and the
		 * log's own appends should not make it change. */
		free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize &
			     ~(uint64_t)(1024 * 1024 - 1);
	comps = json_array();
	for (size_t i = 0; comps && i < st.ncomponents; i++)
		json_array_append_new(comps, json_pack("{ssss}", "name",
			st.components[i].name, "version",
			st.components[i].version));
	root = json_pack("{s:s#, s:s, s:s, s:s, s:s, s:s, s:s, s:o*, s:s, "
			 "s:s, s:s, s:b, s:b, s:s, s:s, s:i, s:s, s:I, s:I}",
			 "controller", &p->id, 1,
			 "serial", c->serial,
			 "midplane_serial", c->midplane_serial,
			 "address", c->address,
			 "bundle_version", st.bundle_version,
			 "build_date", st.build_date,
			 "previous_version", st.previous_version,
			 "components", comps,
			 "mc_loader", CONTROLLER_VERSION,
			 "health", health_names[health],
			 "health_reason", reason,
			 "trial", (int)st.trial,
			 "updating", (int)(us.state == UPDATE_RUNNING),
			 "update_source", us.state == UPDATE_RUNNING ?
					  us.source : "",
			 "stage", us.state == UPDATE_RUNNING && us.stage ?
				  us.stage : "",
			 "percent", (int)us.percent,
			 "pfu_status", pfu.status,
			 "free_bytes", (json_int_t)free_bytes,
			 "events_seen",
			 (json_int_t)events_last_seq(c->events, p->peer_id));
	return root;
}

/* Sends a STATE when it differs from the last one sent, or when forced. */
void partner_state_send(struct partner *p, bool force)
{
	json_t *body = partner_state_build(p);
	char *text;
	struct err e;
	bool same;

	if (!body)
		return;
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (!text)
		return;
	pthread_mutex_lock(&p->lock);
	same = !force && p->last_state && !strcmp(p->last_state, text);
	pthread_mutex_unlock(&p->lock);
	err_clear(&e);
	if (same || partner_send(p, LINK_FRAME_STATE, text, strlen(text),
				 &e) < 0) {
		free(text);
		return;		/* down: up() sends it again */
	}
	pthread_mutex_lock(&p->lock);
	free(p->last_state);
	p->last_state = text;
	pthread_mutex_unlock(&p->lock);
}

static void text_field(json_t *root, const char *name, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(root, name));

	if (v)
		snprintf(out, len, "%s", v);
}

static uint64_t uint_field(json_t *root, const char *name)
{
	json_t *j = json_object_get(root, name);

	return json_is_integer(j) && json_integer_value(j) > 0 ?
	       (uint64_t)json_integer_value(j) : 0;
}

int partner_state_receive(struct partner *p, const uint8_t *payload,
			  size_t len, struct err *e)
{
	struct peer_view v;
	json_error_t jerr;
	json_t *root, *comps, *item;
	const char *health;
	uint64_t seen;
	size_t i;

	root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, -EPROTO, "partner STATE is not a JSON "
			       "object");
	}
	pthread_mutex_lock(&p->lock);
	v = p->view;
	pthread_mutex_unlock(&p->lock);
	text_field(root, "serial", v.serial, sizeof(v.serial));
	text_field(root, "midplane_serial", v.midplane_serial,
		   sizeof(v.midplane_serial));
	text_field(root, "address", v.address, sizeof(v.address));
	text_field(root, "bundle_version", v.bundle_version,
		   sizeof(v.bundle_version));
	text_field(root, "build_date", v.build_date, sizeof(v.build_date));
	text_field(root, "previous_version", v.previous_version,
		   sizeof(v.previous_version));
	comps = json_object_get(root, "components");
	v.ncomponents = 0;
	json_array_foreach(comps, i, item) {
		struct peer_component *pc = &v.components[v.ncomponents];

		if (v.ncomponents == BUNDLE_COMPONENTS_MAX)
			break;
		memset(pc, 0, sizeof(*pc));
		text_field(item, "name", pc->name, sizeof(pc->name));
		text_field(item, "version", pc->version, sizeof(pc->version));
		if (pc->name[0])
			v.ncomponents++;
	}
	v.mc_loader[0] = '\0';
	text_field(root, "mc_loader", v.mc_loader, sizeof(v.mc_loader));
	v.health = PEER_HEALTH_UNKNOWN;
	health = json_string_value(json_object_get(root, "health"));
	for (i = 0; health && i < ARRAY_SIZE(health_names); i++)
		if (!strcmp(health, health_names[i]))
			v.health = (enum peer_health)i;
	v.health_reason[0] = '\0';
	text_field(root, "health_reason", v.health_reason,
		   sizeof(v.health_reason));
	v.trial = json_is_true(json_object_get(root, "trial"));
	v.updating = json_is_true(json_object_get(root, "updating"));
	v.update_source[0] = v.stage[0] = '\0';
	text_field(root, "update_source", v.update_source,
		   sizeof(v.update_source));
	text_field(root, "stage", v.stage, sizeof(v.stage));
	v.percent = (unsigned)(uint_field(root, "percent") % 101);
	text_field(root, "pfu_status", v.pfu_status, sizeof(v.pfu_status));
	v.free_bytes = uint_field(root, "free_bytes");
	seen = uint_field(root, "events_seen");
	json_decref(root);
	v.ever_seen = true;

	pthread_mutex_lock(&p->lock);
	/* Fields only: up/down and its reason are the link's (P3). */
	v.up = p->view.up;
	v.last_seen = p->view.last_seen;
	snprintf(v.down_reason, sizeof(v.down_reason), "%s",
		 p->view.down_reason);
	p->view = v;
	/* The first STATE of a session says where our events resume. */
	if (!p->events_known) {
		p->events_known = true;
		p->events_sent = seen;
		partner_wake_locked(p);
	}
	partner_view_changed_locked(p);
	pthread_mutex_unlock(&p->lock);
	partner_view_notify(p);
	return 0;
}
