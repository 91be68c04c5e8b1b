/*
 * peer.c: the partner as this controller knows it. Without a partner link
 * the partner is simply not known. (PFU's view is pfu_glue.c's.)
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/controller.h"
#include "daemon/peer.h"

void controller_peer_view(struct controller *c, struct peer_view *out)
{
	memset(out, 0, sizeof(*out));
	out->id = c->id == 'A' ? 'B' : 'A';
	out->health = PEER_HEALTH_UNKNOWN;
	snprintf(out->down_reason, sizeof(out->down_reason),
		 "no partner link configured");
}
