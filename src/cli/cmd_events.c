/*
 * cmd_events.c: show events (newest first, `last N`, controller and
 * severity filters) and show firmware-update-status (the update engine's
 * and PFU's state, as the backend reports it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *const severity_names[] = {
	"INFORMATIONAL", "WARNING", "ERROR", "CRITICAL",
};

struct events_walk {
	struct cli_context *c;
	const struct cli_system *sys;
	unsigned severities;		/* bit per enum cli_severity; 0: all */
	enum cli_target target;		/* 0: both */
	unsigned long limit, shown;
	bool truncated;
};

static int event_add(void *arg, const struct cli_event *ev)
{
	struct events_walk *w = arg;
	struct cli_object *o;
	struct cli_property *p;
	char stamp[32], code[16], ctl[2] = { ev->controller, '\0' };
	unsigned sev = (unsigned)ev->severity;

	if (sev >= ARRAY_SIZE(severity_names))
		sev = CLI_SEVERITY_ERROR;
	if (w->severities && !(w->severities & (1u << sev)))
		return 0;
	if ((w->target == CLI_TARGET_A && ev->controller != 'A') ||
	    (w->target == CLI_TARGET_B && ev->controller != 'B'))
		return 0;
	if (w->shown == w->limit) {
		w->truncated = true;
		return 1;
	}
	o = cli_result_object(w->c->result, "events", "event",
			      "/meta/events");
	if (!o)
		return 1;
	w->shown++;
	o->style = CLI_CONSOLE_LINE;
	o->console_line = "{time-stamp} [{event-code}] #{event-id}: {model} "
			  "Array SN#{serial-number} Controller {controller} "
			  "{severity} {message}";
	cli_time_format(ev->time, stamp);
	snprintf(code, sizeof(code), "%u", ev->code);
	p = cli_object_add(o, "time-stamp", "Date/Time", CLI_PROP_STRING, 25,
			   stamp);
	if (p)
		p->sort = "datetime";
	p = cli_object_add_u(o, "time-stamp-numeric", "Date/Time",
			     CLI_PROP_UINT32, 25,
			     ev->time < 0 ? 0 : (uint64_t)ev->time);
	if (p)
		p->sort = "datetime";
	cli_object_add(o, "event-code", "Event Code", CLI_PROP_STRING, 6,
		       code);
	cli_object_add(o, "event-id", "Event ID", CLI_PROP_STRING, 12,
		       ev->event_id);
	cli_object_add(o, "model", "Model", CLI_PROP_STRING, 30,
		       w->sys->product_id);
	cli_object_add(o, "serial-number", "Serial Number", CLI_PROP_STRING,
		       32, w->sys->midplane_serial_number);
	cli_object_add(o, "controller", "Controller", CLI_PROP_STRING, 10,
		       ctl);
	cli_object_add_enum(o, "severity", "Severity", 12,
			    severity_names[sev], sev);
	cli_object_add(o, "message", "Message", CLI_PROP_STRING, 1024,
		       ev->message);
	return 0;
}

static int parse_last(struct cli_context *c, size_t i, unsigned long *n)
{
	uint64_t v;

	if (i >= c->nargs || !u64_parse(c->args[i], CLI_EVENTS_LAST_MAX, &v) ||
	    v == 0) {
		cli_error_unexpected(c, i < c->nargs ? c->args[i] : NULL,
				     "a number of events from 1 to 1000 after 'last'");
		return -1;
	}
	*n = (unsigned long)v;
	return 0;
}

void cli_cmd_show_events(struct cli_context *c)
{
	static const char *const words[] = {
		"last", "detail", "a", "b", "both", "informational",
		"warning", "error", "critical",
	};
	struct events_walk w;
	struct cli_system sys;
	struct err e;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.limit = CLI_EVENTS_LAST_MAX;
	for (i = 0; i < c->nargs; i++) {
		int k = cli_arg_keyword(c, i, words, ARRAY_SIZE(words),
					"last <n>, a|b|both or a severity");

		if (k < 0)
			return;
		if (k == 0 && parse_last(c, ++i, &w.limit) < 0)
			return;
		if (k >= 2 && k <= 4)
			w.target = k == 2 ? CLI_TARGET_A
				 : k == 3 ? CLI_TARGET_B : CLI_TARGET_BOTH;
		if (k >= 5)
			w.severities |= 1u << (k - 5);
	}
	memset(&sys, 0, sizeof(sys));
	err_clear(&e);
	rc = c->backend->system_get(c->backend_ctx, &sys, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Events");
		return;
	}
	w.sys = &sys;
	err_clear(&e);
	rc = c->backend->events_iterate(c->backend_ctx, event_add, &w, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Events");
		return;
	}
	if (w.truncated && w.limit == CLI_EVENTS_LAST_MAX)
		cli_result_info(c->result,
				"Only the newest %d events are shown; use 'show events last <n>' with filters for others.",
				CLI_EVENTS_LAST_MAX);
}

void cli_cmd_show_firmware_update_status(struct cli_context *c)
{
	struct cli_firmware_status *f;
	struct cli_object *o;
	struct cli_property *p;
	char attempts[32];
	struct err e;
	size_t i;
	int rc;

	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		cli_error(c, CLI_RC_FAILED, "Out of memory.");
		return;
	}
	err_clear(&e);
	rc = c->backend->firmware_status_get(c->backend_ctx, f, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Firmware update status");
		free(f);
		return;
	}
	o = cli_result_object(c->result, "firmware-update-status",
			      "firmware-update-status",
			      "/meta/firmware-update-status");
	if (o) {
		snprintf(o->title, sizeof(o->title), "Firmware Update Status");
		cli_object_add(o, "activity", "Activity", CLI_PROP_STRING, 16,
			       f->activity);
		cli_object_add(o, "stage", "Stage", CLI_PROP_STRING, 32,
			       f->stage);
		cli_object_add(o, "bundle-version", "Bundle Version",
			       CLI_PROP_STRING, 24, f->bundle_version);
		cli_object_add(o, "completion-status", "Completion Status",
			       CLI_PROP_STRING, 16, f->completion_status);
		cli_object_add_u(o, "bytes-received", "Bytes Received",
				 CLI_PROP_UINT64, 20, f->bytes_done);
		cli_object_add_u(o, "bytes-total", "Bytes Total",
				 CLI_PROP_UINT64, 20, f->bytes_total);
		cli_object_add_u(o, "percent-complete", "Percent Complete",
				 CLI_PROP_UINT32, 3,
				 f->percent > 100 ? 100 : f->percent);
		cli_object_add(o, "last-outcome", "Last Outcome",
			       CLI_PROP_STRING, 256, f->last_outcome);
		cli_object_add(o, "partner-outcome", "Partner Outcome",
			       CLI_PROP_STRING, 256,
			       f->partner_outcome[0] ? f->partner_outcome :
			       "N/A");
		cli_object_add(o, "pfu-status", "PFU Status", CLI_PROP_STRING,
			       32, f->pfu_status);
		cli_object_add(o, "pfu-target", "PFU Target Bundle",
			       CLI_PROP_STRING, 24,
			       f->pfu_target[0] ? f->pfu_target : "N/A");
		snprintf(attempts, sizeof(attempts), "%u of %u",
			 f->pfu_attempts, f->pfu_attempts_max);
		cli_object_add(o, "pfu-attempts-text", "PFU Attempts",
			       CLI_PROP_STRING, 16, attempts);
		p = cli_object_add_u(o, "pfu-attempts", "PFU Attempts",
				     CLI_PROP_UINT32, 4, f->pfu_attempts);
		if (p)
			p->console = p->draw = false;
		p = cli_object_add_u(o, "pfu-attempts-max",
				     "PFU Attempts Allowed", CLI_PROP_UINT32, 4,
				     f->pfu_attempts_max);
		if (p)
			p->console = p->draw = false;
		cli_object_add(o, "pfu-reason", "PFU Reason", CLI_PROP_STRING,
			       256, f->pfu_reason[0] ? f->pfu_reason : "N/A");
		p = cli_object_add(o, "pfu-advice", "PFU Ways Out",
				   CLI_PROP_STRING, 256,
				   f->pfu_halted && f->pfu_advice[0] ?
				   f->pfu_advice : "N/A");
		/* Only a halted PFU has ways out to show the operator. */
		if (p && !f->pfu_halted)
			p->console = p->draw = false;
	}
	for (i = 0; i < f->nsteps && i < CLI_FW_STEPS_MAX; i++) {
		o = cli_result_object(c->result, "firmware-update-step",
				      "firmware-update-step",
				      "/meta/firmware-update-step");
		if (!o)
			break;
		o->style = CLI_CONSOLE_TABLE;
		cli_object_add(o, "step", "Step", CLI_PROP_STRING, 48,
			       f->steps[i].name);
		cli_object_add(o, "status", "Status", CLI_PROP_STRING, 16,
			       f->steps[i].status);
	}
	free(f);
}
