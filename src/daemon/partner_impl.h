/*
 * partner_impl.h: struct partner and what partner.c, partner_mirror.c and
 * partner_transfer.c share. Not for use outside these files.
 */
#ifndef TANDEM_DAEMON_PARTNER_IMPL_H
#define TANDEM_DAEMON_PARTNER_IMPL_H

#include <jansson.h>
#include <pthread.h>

#include "config/config.h"
#include "daemon/partner.h"
#include "events/events.h"
#include "link/link.h"
#include "update/update.h"

struct controller;

struct partner {
	struct controller *c;
	struct link *link;
	char id, peer_id;		/* 'A'/'B': ours and the partner's */
	unsigned heartbeat_ms;

	pthread_mutex_t lock;		/* everything below but rx */
	pthread_cond_t cond;		/* wakes, view changes, push */
	pthread_t worker;
	bool worker_running;
	bool stopping;
	bool closing;			/* partner_stop() runs */
	bool link_ready;		/* p->link is set (P4) */
	bool wake;

	/* The current link session. */
	bool up;
	uint64_t session;		/* counts up()s */
	bool send_state;		/* STATE due whatever changed */
	bool send_all_settings;		/* every enclosure setting due */
	bool dirty[CONFIG_KEY_COUNT];	/* local changes not yet sent */
	bool events_known;		/* the partner said what it holds */
	uint64_t events_sent;		/* own events it holds or got */
	char *last_state;		/* the STATE last sent (JSON) */

	/* The partner as it last told us. */
	struct peer_view view;
	uint64_t generation;
	partner_view_fn on_view;
	void *on_view_ctx;
	partner_record_fn on_record;
	void *on_record_ctx;
	partner_up_fn on_up;
	void *on_up_ctx;
	uint64_t up_announced;		/* session on_up was told of */

	/* Refused connections: one event a PARTNER_REFUSED_EVENT_SECONDS. */
	time_t refused_logged;
	unsigned refused_quiet;		/* refusals since, not logged */

	/* Sender of a push (partner_transfer.c). */
	bool push_active;
	bool push_answered;
	uint64_t push_session;		/* the session it began on */
	struct partner_push_result push_result;

	/* Receiver of a push: the reader thread's, but down() may come from
	 * link_stop's thread; rx_lock orders the two. */
	pthread_mutex_t rx_lock;
	bool rx_active;			/* a BEGIN not yet ended */
	struct update_job *rx_job;
	char rx_target[BUNDLE_VERSION_MAX];
	bool rx_restart_on_close;	/* T2: restart once the link closes */
};

/* partner.c */
void partner_wake_locked(struct partner *p);
void partner_view_changed_locked(struct partner *p);
void partner_view_notify(struct partner *p);
void partner_event(struct partner *p, int severity, unsigned code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Every frame tandemd sends goes through partner_send() (the link-delay
 * fault point); each BUNDLE_DATA sent or taken calls
 * partner_fault_data_frame() (the link-drop fault point). */
int partner_send(struct partner *p, unsigned type, const void *payload,
		 size_t len, struct err *e);
void partner_fault_data_frame(struct partner *p);
int partner_send_json(struct partner *p, unsigned type, json_t *body,
		      struct err *e);

/* partner_state.c */
json_t *partner_state_build(struct partner *p);
int partner_state_receive(struct partner *p, const uint8_t *payload,
			  size_t len, struct err *e);
void partner_state_send(struct partner *p, bool force);

/* partner_mirror.c */
void partner_mirror_setting_changed(void *ctx, enum config_key key);
void partner_mirror_event_appended(void *ctx, const struct event *ev);
void partner_mirror_send_settings(struct partner *p, bool all);
void partner_mirror_send_events(struct partner *p);
int partner_mirror_settings_receive(struct partner *p, const uint8_t *payload,
				    size_t len, struct err *e);
int partner_mirror_event_receive(struct partner *p, const uint8_t *payload,
				 size_t len, struct err *e);

/* partner_transfer.c */
int partner_transfer_frame(struct partner *p, unsigned type,
			   const uint8_t *payload, size_t len, struct err *e);
/* The link went down; true when this controller now restarts into a
 * pushed bundle (T2: the partner has read the RESULT). */
bool partner_transfer_link_down(struct partner *p, const char *why);

#endif
