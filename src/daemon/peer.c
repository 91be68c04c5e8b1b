/*
 * peer.c: the partner as this controller knows it: the partner link's
 * view (partner.c), or, without a link configured, simply not known.
 * (PFU's view is pfu_glue.c's.)
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/controller.h"
#include "daemon/peer.h"

void controller_peer_view(struct controller *c, struct peer_view *out)
{
	struct partner *p;

	/* Set once the listeners are open (main.c), cleared after they
	 * closed: the partner outlives every reader that found it. */
	pthread_mutex_lock(&c->lock);
	p = c->partner;
	pthread_mutex_unlock(&c->lock);
	if (p) {
		partner_view_get(p, out);
		out->configured = true;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->id = c->id == 'A' ? 'B' : 'A';
	out->health = PEER_HEALTH_UNKNOWN;
	snprintf(out->down_reason, sizeof(out->down_reason),
		 "no partner link configured");
}
