/*
 * cmd_firmware.c: check firmware-upgrade-health and rollback firmware.
 * The backend decides readiness (the same conditions refuse an upload)
 * and does the roll-back; these only ask and lay the answer out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

/* A reason belongs to the verdict (parent), as in the family's. */
static void reason_object(struct cli_context *c, unsigned parent,
			  const struct cli_readiness_reason *x)
{
	struct cli_object *o;

	o = cli_result_object(c->result, "code-load-readiness-reasons",
			      "code-load-readiness-reasons",
			      "/meta/code-load-readiness-reasons");
	if (!o)
		return;
	o->parent = parent;
	snprintf(o->title, sizeof(o->title), "Readiness Reason");
	cli_object_add(o, "reason-id", "Reason ID", CLI_PROP_STRING, 32,
		       x->id);
	cli_object_add(o, "readiness-reason", "Readiness Reason",
		       CLI_PROP_STRING, 256, x->text);
	cli_object_add_enum(o, "failure-risks", "Failure Risks", 256,
			    x->risk, x->risk_numeric);
	cli_object_add(o, "recommended-action", "Recommended Action",
		       CLI_PROP_STRING, 256, x->action);
}

void cli_cmd_check_firmware_upgrade_health(struct cli_context *c)
{
	struct cli_readiness *r;
	struct cli_object *o;
	unsigned parent;
	struct err e;
	size_t i;
	int rc;

	if (c->nargs) {
		cli_error_unexpected(c, c->args[0], "nothing more");
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		cli_error(c, CLI_RC_FAILED, "Out of memory.");
		return;
	}
	err_clear(&e);
	rc = c->backend->readiness_get(c->backend_ctx, r, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "Firmware upgrade health");
		free(r);
		return;
	}
	o = cli_result_object(c->result, "code-load-readiness",
			      "code-load-readiness",
			      "/meta/code-load-readiness");
	if (!o) {
		free(r);
		return;
	}
	snprintf(o->title, sizeof(o->title), "Upgrade Health");
	cli_object_add_enum(o, "overall-health", "Overall Health", 12,
			    r->pass ? "Pass" : "Fail", r->pass ? 0 : 1);
	parent = o->oid;
	for (i = 0; !r->pass && i < r->nreasons && i < CLI_READINESS_MAX; i++)
		reason_object(c, parent, &r->reasons[i]);
	free(r);
}

void cli_cmd_rollback_firmware(struct cli_context *c)
{
	struct err e;
	int rc;

	if (c->nargs && strcasecmp(c->args[0], "noprompt") != 0) {
		cli_error_unexpected(c, c->args[0], "noprompt or nothing");
		return;
	}
	if (c->nargs > 1) {
		cli_error_unexpected(c, c->args[1], "nothing more");
		return;
	}
	err_clear(&e);
	rc = c->backend->firmware_rollback(c->backend_ctx, &e);
	if (rc < 0) {
		cli_error_backend(c, rc, &e, "The roll back was not started");
		return;
	}
	cli_success(c, "Returning this controller to its previous bundle; "
		    "its management controller restarts.");
}
