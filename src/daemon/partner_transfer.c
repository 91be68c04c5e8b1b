/*
 * partner_transfer.c: a bundle pushed from one controller to the other
 * (PFU). The sender streams its active bank's signed export; the receiver
 * hands the bytes to its own update engine, which checks signature, model,
 * hashes and version as for any upload: nothing here trusts the partner
 * more than an FTP client.
 *
 * Wire, in order on one link session:
 *   BUNDLE_BEGIN {"target": "TS250P002", "size": N, "attempt": K}
 *   BUNDLE_DATA  raw bytes, <= LINK_BUNDLE_DATA_MAX each
 *   BUNDLE_END   (or BUNDLE_ABORT {"why": ...}: the receiver drops the job)
 * and the receiver answers exactly one BUNDLE_RESULT per BEGIN:
 *   {"ok": bool, "code": RETURN_CODE, "message": ..., "report": ...}
 * early (at BEGIN when busy, at the DATA that failed verification; it then
 * ignores the rest of that transfer) or after END.
 *
 * Version rule: the receiver installs without force. PFU brings the partner
 * to exactly the initiator's bundle: the same bundle is a successful no-op
 * (code 8, "Versions match"), a newer one is installed, an older one is
 * refused by the version rules (code 22): a partner is never taken down a
 * version by its partner, only by an operator's flash:force.
 *
 * Invariants:
 *  T1: a link that drops mid-transfer aborts the receiver's job (nothing
 *      activated) and fails the sender's push with -ENOTCONN.
 *  T2: a successful load on the receiver schedules its MC restart after
 *      the RESULT is sent, as an operator's load does. The sender, once
 *      it has read an ok RESULT of a load (code 9), closes the link and
 *      redials quickly; the receiver restarts as soon as the link closes,
 *      or after PARTNER_RESTART_DELAY if it never does. The RESULT is
 *      read before the receiver's process ends, so it is never lost to
 *      the reset of a closing socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/controller.h"
#include "daemon/partner_impl.h"

/* ---- sender ---- */

/*
 * Two threads: the caller runs the export (reads the bank) and fills
 * slots; a sender thread writes them out as BUNDLE_DATA frames (TLS
 * encryption and the socket), so reading overlaps sending. The export
 * checks each image's size against the signed manifest as it streams and
 * holds back each image's last chunk until it matched, so a short or
 * unreadable image never reaches the partner whole; the push then ends
 * with an ABORT. Its sha256 is the partner's to check: its engine reads
 * every image back, compares it with the signed manifest and activates
 * nothing that differs (a damaged image here fails the push there).
 */
struct push_stream {
	struct partner *p;
	uint64_t session;
	const char *target;
	unsigned attempt;
	bool begun;			/* BEGIN went out */
	uint64_t total;
	uint8_t *fill;			/* the slot being filled */
	size_t fill_len;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint8_t *slot[PARTNER_PUSH_SLOTS];
	size_t slot_len[PARTNER_PUSH_SLOTS];
	unsigned head, queued;		/* ring: the sender takes head */
	bool eof;			/* no more slots come */
	bool cancel;			/* the sender drops what is queued */
	/* A send that failed: the export wraps it in its own words
	 * ("exporting mc: ..."), which would blame this controller's bank. */
	bool send_failed;
	struct err send_err;
};

/* Whether the push must stop: answered early, or another session. */
static bool push_cut(struct push_stream *s)
{
	bool cut;

	pthread_mutex_lock(&s->p->lock);
	cut = s->p->push_answered || !s->p->up ||
	      s->p->session != s->session;
	pthread_mutex_unlock(&s->p->lock);
	return cut;
}

/* One slot as BUNDLE_DATA frames. */
static int push_slot(struct push_stream *s, const uint8_t *data, size_t len,
		     struct err *e)
{
	while (len > 0) {
		size_t n = len < LINK_BUNDLE_DATA_MAX ? len
			: LINK_BUNDLE_DATA_MAX;
		int rc;

		if (partner_is_stopping(s->p))
			return err_set(e, -ESHUTDOWN, "this controller is "
				       "stopping");
		if (push_cut(s))
			return err_set(e, -ECANCELED, "the partner answered "
				       "early");
		rc = partner_send(s->p, LINK_FRAME_BUNDLE_DATA, data, n, e);
		if (rc < 0)
			return rc;
		partner_fault_data_frame(s->p);
		data += n;
		len -= n;
	}
	return 0;
}

static void *push_sender_main(void *arg)
{
	struct push_stream *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct err e;
		uint8_t *data;
		size_t len;
		int rc;

		while (!s->queued && !s->eof && !s->cancel)
			pthread_cond_wait(&s->cond, &s->mu);
		if (s->cancel || !s->queued)
			break;
		data = s->slot[s->head];
		len = s->slot_len[s->head];
		pthread_mutex_unlock(&s->mu);
		err_clear(&e);
		rc = push_slot(s, data, len, &e);
		pthread_mutex_lock(&s->mu);
		if (rc < 0) {
			s->send_failed = true;
			s->send_err = e;
			pthread_cond_broadcast(&s->cond);
			break;
		}
		s->head = (s->head + 1) % PARTNER_PUSH_SLOTS;
		s->queued--;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queues the filled slot and takes a free one (waits while all are
 * queued); the sender's error once it has failed. */
static int push_queue(struct push_stream *s, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (s->fill_len > 0 && !s->send_failed) {
		unsigned at = (s->head + s->queued) % PARTNER_PUSH_SLOTS;

		s->slot_len[at] = s->fill_len;
		s->queued++;
		pthread_cond_broadcast(&s->cond);
		while (s->queued == PARTNER_PUSH_SLOTS && !s->send_failed)
			pthread_cond_wait(&s->cond, &s->mu);
		s->fill = s->slot[(s->head + s->queued) % PARTNER_PUSH_SLOTS];
		s->fill_len = 0;
	}
	if (s->send_failed) {
		*e = s->send_err;
		rc = e->code;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The export's start: the size is known, BEGIN goes before any byte. */
static int push_begin(void *ctx, uint64_t size, struct err *e)
{
	struct push_stream *s = ctx;
	int rc;

	rc = partner_send_json(s->p, LINK_FRAME_BUNDLE_BEGIN,
			       json_pack("{ss sI si}", "target", s->target,
					 "size", (json_int_t)size,
					 "attempt", (int)s->attempt), e);
	if (rc < 0) {
		pthread_mutex_lock(&s->mu);
		s->send_failed = true;
		s->send_err = *e;
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	s->begun = true;
	return 0;
}

static int push_write(void *ctx, const void *data, size_t len, struct err *e)
{
	struct push_stream *s = ctx;
	const uint8_t *in = data;

	s->total += len;
	while (len > 0) {
		size_t n = PARTNER_PUSH_SLOT_BYTES - s->fill_len;

		if (n > len)
			n = len;
		memcpy(s->fill + s->fill_len, in, n);
		s->fill_len += n;
		in += n;
		len -= n;
		if (s->fill_len == PARTNER_PUSH_SLOT_BYTES &&
		    push_queue(s, e) < 0)
			return e->code;
	}
	return 0;
}

/* Waits for the RESULT; 0 answered, else -ENOTCONN or -ETIMEDOUT. */
static int push_wait(struct partner *p, uint64_t session, time_t deadline,
		     struct err *e)
{
	struct timespec until = { .tv_sec = deadline };
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->push_answered && p->up && p->session == session &&
	       !p->stopping && rc == 0)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &until);
	if (p->push_answered)
		rc = 0;
	else if (p->stopping)
		rc = err_set(e, -ESHUTDOWN, "this controller is stopping");
	else if (!p->up || p->session != session)
		rc = err_set(e, -ENOTCONN, "the partner link dropped before "
			     "the partner answered (%s)",
			     p->view.down_reason[0] ? p->view.down_reason :
			     "reconnected");
	else
		rc = err_set(e, -ETIMEDOUT, "the partner did not answer "
			     "within %d s", PARTNER_PUSH_SECONDS);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/*
 * Runs the export with the sender thread: 0 when every byte went out,
 * else the error (s->send_failed: the link's).
 */
static int push_stream_run(struct push_stream *s, struct err *e)
{
	pthread_t sender;
	int rc;

	for (unsigned i = 0; i < PARTNER_PUSH_SLOTS; i++) {
		s->slot[i] = malloc(PARTNER_PUSH_SLOT_BYTES);
		if (!s->slot[i])
			return err_set(e, -ENOMEM, "out of memory");
	}
	s->fill = s->slot[0];
	if (pthread_create(&sender, NULL, push_sender_main, s) != 0)
		return err_set(e, -EAGAIN, "cannot start the push's thread");
	/* No sha256 here: the partner's engine checks every image against
	 * the signed manifest in its read-back and activates nothing that
	 * differs; hashing here too only took the CPU its install needs.
	 * The sizes are still checked: a short image ends with an ABORT. */
	rc = flash_store_bundle_export_sized(s->p->c->store, push_begin,
					     push_write, s, false, e);
	if (rc == 0)
		rc = push_queue(s, e);
	pthread_mutex_lock(&s->mu);
	if (rc < 0)
		s->cancel = true;	/* what is queued is not sent */
	s->eof = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(sender, NULL);
	if (rc == 0 && s->send_failed)
		rc = err_set(e, s->send_err.code, "%s", s->send_err.msg);
	else if (rc < 0 && s->send_failed)
		*e = s->send_err;	/* the link's error, not the export's */
	else if (rc < 0)
		err_prefix(e, "this controller's bundle cannot be exported");
	return rc;
}

int partner_push_bundle(struct partner *p, const char *target,
			unsigned attempt, struct partner_push_result *out,
			struct err *e)
{
	struct push_stream s = { .p = p, .target = target,
				 .attempt = attempt };
	struct timespec now;
	time_t deadline;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	if (!p->up || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return err_set(e, -ENOTCONN, "the partner link is %s",
			       p->stopping ? "stopping" : "down");
	}
	if (p->push_active) {
		pthread_mutex_unlock(&p->lock);
		return err_set(e, -EBUSY, "a push to the partner is already "
			       "under way");
	}
	p->push_active = true;
	p->push_answered = false;
	p->push_session = s.session = p->session;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cond, NULL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = now.tv_sec + PARTNER_PUSH_SECONDS;

	rc = push_stream_run(&s, e);
	if (!s.begun)
		goto out;	/* nothing went out: nothing to end */
	if (rc == -ECANCELED) {
		rc = 0;	/* answered already: the RESULT says why */
		goto abort;
	}
	if (rc < 0)
		goto abort;
	rc = partner_send(p, LINK_FRAME_BUNDLE_END, NULL, 0, e);
	if (rc < 0)
		goto out;
	rc = push_wait(p, s.session, deadline, e);
	goto out;
abort:
	{
		struct err ae;

		/* Before the END: the partner drops its job and activates
		 * nothing (a damaged image here, a dropped link there). */
		err_clear(&ae);
		partner_send_json(p, LINK_FRAME_BUNDLE_ABORT,
				  json_pack("{ss}", "why", rc < 0 ? e->msg :
					    "the partner answered early"),
				  &ae);
		if (rc == 0)
			rc = push_wait(p, s.session, deadline, e);
	}
out:
	/* The connection's own errors all mean the same to PFU. */
	if (rc == -ECONNRESET || rc == -EPIPE || rc == -ECONNABORTED ||
	    rc == -ESHUTDOWN)
		e->code = rc = -ENOTCONN;
	if (rc == -ENOTCONN && !strstr(e->msg, "partner link"))
		err_prefix(e, "the partner link dropped");
	for (unsigned i = 0; i < PARTNER_PUSH_SLOTS; i++)
		free(s.slot[i]);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.mu);
	pthread_mutex_lock(&p->lock);
	if (rc == 0)
		*out = p->push_result;
	p->push_active = false;
	p->push_answered = false;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int result_receive(struct partner *p, const uint8_t *payload,
			  size_t len, struct err *e)
{
	struct partner_push_result r = { 0 };
	const char *msg = "", *report = "";
	json_error_t jerr;
	json_t *root;
	int ok = 0, code = 0;
	bool restarts = false;

	root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root || json_unpack(root, "{sb si s?s s?s}", "ok", &ok, "code",
				 &code, "message", &msg, "report",
				 &report) < 0) {
		json_decref(root);
		return err_set(e, -EPROTO, "partner BUNDLE_RESULT is "
			       "malformed");
	}
	r.ok = ok;
	r.code = code;
	snprintf(r.message, sizeof(r.message), "%s", msg);
	snprintf(r.report, sizeof(r.report), "%s", report);
	json_decref(root);
	pthread_mutex_lock(&p->lock);
	if (p->push_active && !p->push_answered) {
		p->push_result = r;
		p->push_answered = true;
		pthread_cond_broadcast(&p->cond);
		restarts = r.ok && r.code == UPDATE_RC_LOADED;
	}
	pthread_mutex_unlock(&p->lock);
	if (restarts) {
		/* T2: the partner waits for this close to restart. */
		link_redial_quickly(p->link, PARTNER_RESTART_REDIAL_MS);
		partner_link_drop(p, "it restarts into the bundle it was "
				  "sent");
	}
	return 0;
}

/* ---- receiver (the reader thread; rx_lock held) ---- */

static void rx_result(struct partner *p, bool ok, int code, const char *msg,
		      const char *report)
{
	struct err e;

	err_clear(&e);
	partner_send_json(p, LINK_FRAME_BUNDLE_RESULT,
			  json_pack("{sb si ss ss}", "ok", (int)ok, "code",
				    code, "message", msg, "report",
				    report ? report : ""), &e);
}

/* After update_abort/finish: the engine's verdict, as the RESULT says it. */
static void rx_result_from_engine(struct partner *p, bool ok, const char *msg)
{
	struct update_status us;
	struct buf report;

	update_status_get(p->c->update, &us);
	buf_init(&report, UPDATE_REPORT_MAX);
	if (update_last_report(p->c->update, &report) < 0)
		buf_reset(&report);
	buf_append(&report, "", 1);
	rx_result(p, ok, us.last_return_code, msg && *msg ? msg :
		  us.last_message, report.data);
	buf_free(&report);
}

static void rx_refused(struct partner *p, const char *why)
{
	partner_event(p, EVENTS_ERROR, EVENTS_CODE_PFU,
		      "Partner firmware update: the bundle %s from controller "
		      "%c was refused: %s", p->rx_target[0] ? p->rx_target :
		      "(unnamed)", p->peer_id, why);
}

static int rx_begin(struct partner *p, const uint8_t *payload, size_t len,
		    struct err *e)
{
	struct controller *c = p->c;
	const char *target = NULL;
	json_int_t size = 0;
	json_error_t jerr;
	json_t *root;
	int attempt = 0;
	bool restarting;
	struct err ue;

	if (p->rx_job) {
		update_abort(p->rx_job, "the partner began another transfer");
		p->rx_job = NULL;
	}
	root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root || json_unpack(root, "{ss s?I s?i}", "target", &target,
				 "size", &size, "attempt", &attempt) < 0) {
		json_decref(root);
		return err_set(e, -EPROTO, "partner BUNDLE_BEGIN is malformed");
	}
	snprintf(p->rx_target, sizeof(p->rx_target), "%s", target);
	json_decref(root);
	/* From here on this transfer is answered once, ok or not. */
	p->rx_active = true;
	pthread_mutex_lock(&c->lock);
	restarting = c->restarting;
	pthread_mutex_unlock(&c->lock);
	err_clear(&ue);
	if (restarting) {
		err_set(&ue, -EBUSY, "The management controller is "
			"restarting; try again when it is back.");
	} else {
		partner_event(p, EVENTS_INFORMATIONAL, EVENTS_CODE_PFU,
			      "Partner firmware update: receiving bundle %s "
			      "from controller %c (attempt %d, %lld bytes).",
			      p->rx_target, p->peer_id, attempt,
			      (long long)size);
		/* Its device's work overlaps the stream: after END only
		 * the last range is left to write back and read back. */
		p->rx_job = update_begin_overlapped(c->update, "partner",
						    "partner", false, &ue);
	}
	if (!p->rx_job) {
		rx_refused(p, ue.msg);
		rx_result(p, false, ue.code == -EBUSY ? UPDATE_RC_BUSY :
			  UPDATE_RC_STORE, ue.msg, NULL);
		p->rx_active = false;	/* the rest is ignored */
		return 0;
	}
	partner_state_changed(p);
	return 0;
}

static void rx_data(struct partner *p, const uint8_t *payload, size_t len)
{
	struct err ue;

	if (!p->rx_job)
		return;		/* refused or failed: answered already */
	err_clear(&ue);
	if (update_feed(p->rx_job, payload, len, &ue) == 0)
		return;
	update_abort(p->rx_job, ue.msg);
	p->rx_job = NULL;
	p->rx_active = false;
	rx_refused(p, ue.msg);
	rx_result_from_engine(p, false, ue.msg);
	partner_state_changed(p);
}

static void rx_end(struct partner *p)
{
	struct update_status us;
	struct buf report;
	struct err ue;
	bool loaded;
	int rc;

	if (!p->rx_job)
		return;
	buf_init(&report, UPDATE_REPORT_MAX);
	err_clear(&ue);
	rc = update_finish(p->rx_job, &report, NULL, NULL, &ue);
	p->rx_job = NULL;
	p->rx_active = false;
	if (rc < 0)
		rx_refused(p, ue.msg);
	buf_append(&report, "", 1);
	update_status_get(p->c->update, &us);
	loaded = us.last_return_code == UPDATE_RC_LOADED;
	/* T2: as restart_if_loaded() does for an operator's load (a
	 * "Versions match" no-op activates nothing). Scheduled before the
	 * RESULT goes, so the sender hears of a controller already on its
	 * way to restart; it restarts once the sender closed the link. */
	if (rc == 0 && loaded && update_restart_pending(p->c->update)) {
		controller_schedule_stop(p->c, CONTROLLER_EXIT_RESTART,
					 PARTNER_RESTART_DELAY,
					 "a new bundle from the partner was "
					 "activated");
		p->rx_restart_on_close = true;
	}
	rx_result(p, rc == 0, us.last_return_code,
		  rc < 0 ? ue.msg : us.last_message, report.data);
	buf_free(&report);
	partner_state_changed(p);
}

static void rx_abort(struct partner *p, const uint8_t *payload, size_t len)
{
	json_error_t jerr;
	json_t *root;
	const char *why = NULL;
	char text[256];

	if (!p->rx_job) {
		p->rx_active = false;
		return;
	}
	root = json_loadb((const char *)payload, len, 0, &jerr);
	why = json_string_value(json_object_get(root, "why"));
	snprintf(text, sizeof(text), "the partner abandoned the transfer: %s",
		 why ? why : "no reason given");
	json_decref(root);
	update_abort(p->rx_job, text);
	p->rx_job = NULL;
	p->rx_active = false;
	partner_state_changed(p);
}

int partner_transfer_frame(struct partner *p, unsigned type,
			   const uint8_t *payload, size_t len, struct err *e)
{
	int rc = 0;

	if (type == LINK_FRAME_BUNDLE_RESULT)
		return result_receive(p, payload, len, e);
	pthread_mutex_lock(&p->rx_lock);
	switch (type) {
	case LINK_FRAME_BUNDLE_BEGIN:
		rc = rx_begin(p, payload, len, e);
		break;
	case LINK_FRAME_BUNDLE_DATA:
		rx_data(p, payload, len);
		break;
	case LINK_FRAME_BUNDLE_END:
		rx_end(p);
		break;
	case LINK_FRAME_BUNDLE_ABORT:
		rx_abort(p, payload, len);
		break;
	}
	pthread_mutex_unlock(&p->rx_lock);
	return rc;
}

bool partner_transfer_link_down(struct partner *p, const char *why)
{
	char text[LINK_WHY_MAX + 64];
	bool restart;

	pthread_mutex_lock(&p->rx_lock);
	if (p->rx_job) {
		/* T1 */
		snprintf(text, sizeof(text), "the partner link dropped (%s)",
			 why);
		update_abort(p->rx_job, text);
		p->rx_job = NULL;
	}
	p->rx_active = false;
	restart = p->rx_restart_on_close;
	p->rx_restart_on_close = false;
	pthread_mutex_unlock(&p->rx_lock);
	/* T2: the RESULT was read, or can no longer be. */
	if (restart)
		controller_stop_now(p->c, "the partner link closed after the "
				    "pushed bundle's result");
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return restart;
}

/* ---- PFU's attempt record ---- */

int partner_send_record(struct partner *p, const char *json, size_t len,
			struct err *e)
{
	return partner_send(p, LINK_FRAME_PFU_RECORD, json, len, e);
}

void partner_on_record(struct partner *p, partner_record_fn fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->on_record = fn;
	p->on_record_ctx = ctx;
	pthread_mutex_unlock(&p->lock);
}
