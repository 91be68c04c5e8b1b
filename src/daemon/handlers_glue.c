/*
 * handlers_glue.c: the controller's side of component handlers
 * (docs/handlers.md): the start-up pass that brings each device to the
 * active bank, and the versions `show versions` and the partner link
 * report. The install before activation is the update engine's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/controller.h"

struct active_bank {
	struct controller *c;
	const struct bundle_manifest *m;
};

static int active_image(void *ctx, size_t i, char *out, size_t len)
{
	struct active_bank *a = ctx;

	return flash_store_image_path(a->c->store, a->m->components[i].name,
				      out, len);
}

void controller_handlers_sync(struct controller *c)
{
	struct bundle_manifest *m;
	bool stale[BUNDLE_COMPONENTS_MAX] = { false };
	struct flash_status st;
	struct active_bank a;
	size_t nstale = 0;
	struct err e;

	if (!c->handlers.count)
		return;
	handler_set_refresh(&c->handlers, c->id, c->dir);
	err_clear(&e);
	m = calloc(1, sizeof(*m));
	if (!m || flash_store_status(c->store, &st, &e) < 0 ||
	    !st.bundle_version[0] ||
	    flash_store_active_manifest(c->store, m, &e) < 0) {
		free(m);
		return;		/* nothing installed yet: nothing to match */
	}
	for (size_t i = 0; i < m->ncomponents; i++) {
		char running[BUNDLE_VERSION_MAX];

		if (handler_set_version(&c->handlers, m->components[i].name,
					running, sizeof(running)) == 0 ||
		    !strcmp(running, m->components[i].version))
			continue;
		stale[i] = true;
		nstale++;
		/* A device that cannot tell (never programmed: a new
		 * board) is provisioned; one on another version is news. */
		controller_event(c, running[0] ? EVENTS_WARNING :
				 EVENTS_INFORMATIONAL,
				 EVENTS_CODE_FIRMWARE_UPDATE,
				 "Component %s runs %s, not %s of the active "
				 "bundle %s: its handler installs it.",
				 m->components[i].name,
				 running[0] ? running : "no version it can tell",
				 m->components[i].version, m->version);
	}
	a.c = c;
	a.m = m;
	if (nstale && handler_set_install(&c->handlers, m, stale,
					  st.active_bank, active_image, &a,
					  c->id, c->dir, &e) < 0)
		controller_event(c, EVENTS_ERROR, EVENTS_CODE_FIRMWARE_UPDATE,
				 "The active bundle %s could not be installed "
				 "into every device: %s", m->version, e.msg);
	free(m);
}

void controller_handler_versions(struct controller *c,
				 struct flash_status *st, bool ask)
{
	if (!c->handlers.count)
		return;
	if (ask)
		handler_set_refresh(&c->handlers, c->id, c->dir);
	for (size_t i = 0; i < st->ncomponents; i++) {
		struct flash_component_state *cs = &st->components[i];
		char running[BUNDLE_VERSION_MAX];
		int rc = handler_set_version(&c->handlers, cs->name, running,
					     sizeof(running));

		if (rc != 0)	/* a handler's word, "" when it could not tell */
			snprintf(cs->version, sizeof(cs->version), "%s",
				 running);
	}
}
