/*
 * peer.h: what one controller knows of the other, as the partner link
 * last reported it (src/link/ fills it, the CLI backend, PFU and the
 * upgrade-health check read it). A snapshot: copied out under the link's
 * lock, never a pointer into live state.
 */
#ifndef TANDEM_DAEMON_PEER_H
#define TANDEM_DAEMON_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bundle/bundle.h"

#define PEER_TEXT_MAX	256

struct peer_component {
	char name[BUNDLE_NAME_MAX];		/* "mc", "sc", ... */
	char version[BUNDLE_VERSION_MAX];	/* running version */
};

enum peer_health {
	PEER_HEALTH_OK = 0,
	PEER_HEALTH_DEGRADED = 1,
	PEER_HEALTH_FAULT = 2,
	PEER_HEALTH_UNKNOWN = 3,
};

struct peer_view {
	/* A partner link is configured: false on a standalone controller,
	 * where the partner's conditions do not apply. */
	bool configured;
	bool up;			/* link authenticated, heartbeats arriving */
	bool ever_seen;			/* the fields below were reported once */
	char id;			/* 'A' or 'B' */
	char serial[32];		/* controller serial */
	char midplane_serial[32];
	char address[64];		/* management address */
	char bundle_version[BUNDLE_VERSION_MAX];	/* running bundle */
	char build_date[BUNDLE_BUILD_DATE_MAX];
	struct peer_component components[BUNDLE_COMPONENTS_MAX];
	size_t ncomponents;
	char mc_loader[32];		/* its running MC's own version */
	char previous_version[BUNDLE_VERSION_MAX];	/* its other bank */
	enum peer_health health;
	char health_reason[PEER_TEXT_MAX];
	bool trial;			/* running a bank not yet confirmed */
	bool updating;			/* a code load runs there */
	char update_source[16];		/* "FTP", "SFTP", "HTTP", "partner" */
	char stage[32];
	unsigned percent;
	char pfu_status[32];		/* its PFU state ("Idle", ...) */
	uint64_t free_bytes;		/* room for a bundle in its store */
	time_t last_seen;		/* last frame from it */
	char down_reason[PEER_TEXT_MAX];	/* why the link is down */
};

/* The PFU of this controller, for `show system`, `show
 * firmware-update-status`, the health check and the web UI. */
struct pfu_view {
	char status[32];		/* "Idle", "Waiting", "In Progress",
					   "Backoff", "Halted", "Complete",
					   "Disabled" */
	bool enabled;			/* partner-firmware-upgrade */
	bool running;			/* a PFU owns the pair now */
	bool halted;
	char target[BUNDLE_VERSION_MAX];	/* bundle it brings the partner to */
	char partner_serial[32];
	unsigned attempts;		/* failed or started, for this target */
	unsigned limit;
	time_t next_attempt;		/* 0: none scheduled */
	char reason[PEER_TEXT_MAX];	/* why it waits, or the last failure */
	char advice[PEER_TEXT_MAX];	/* when halted: the ways out */
};

struct controller;

/* peer.c until the partner link fills it: the partner unknown. */
void controller_peer_view(struct controller *c, struct peer_view *out);
/* pfu_glue.c: the PFU policy's view. */
void controller_pfu_view(struct controller *c, struct pfu_view *out);

#endif
