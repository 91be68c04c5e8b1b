/*
 * answers.c: the API's read-only answers, sent again while everything
 * they were built from is unchanged.
 *
 * The command engine reads the controller only through struct cli_backend
 * and is otherwise a function of the command line, the user, the role and
 * the output mode (cli.h: it does no I/O of its own). So a command runs
 * through a recording backend that keeps every call it made and what the
 * call returned. A later request with the same line, user, role and mode
 * makes the same calls again (plain reads) and compares: all equal, the
 * command would build the same answer, and the rendered reply is sent
 * again; any difference (the clock's next second in the time stamp, a new
 * bundle, the partner gone) and the command runs anew. An answer is never
 * older than the state it shows: that state is read for every request.
 * A command that calls anything but a plain read (a change, an iteration)
 * is never kept.
 *
 * Every output goes to the command from a zeroed buffer of our own, so
 * the recorded run and each comparison see the same bytes.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

enum answer_op {
	OP_NOW,
	OP_LOCAL,
	OP_VERSIONS,
	OP_CONTROLLER,
	OP_SYSTEM,
	OP_SETTING,
	OP_FIRMWARE,
	OP_ADVANCED,
	OP_READINESS,
};

/* One backend call as the command made it, and what it returned. */
struct answer_call {
	enum answer_op op;
	int64_t rc;		/* now's time, local's letter, or the rc */
	char controller;	/* versions, controller */
	size_t size;		/* setting's value length; advanced's max */
	char *name;		/* setting */
	size_t n;		/* advanced: how many it listed */
	void *out;		/* the output's bytes */
	size_t out_len;
	struct err e;
};

struct http_answer {
	atomic_uint refs;
	char user[CLI_USER_NAME_MAX + 1];
	enum cli_role role;
	enum cli_output_mode mode;
	char *line;
	struct answer_call calls[HTTP_ANSWER_CALLS_MAX];
	size_t ncalls;
	struct MHD_Response *resp;
	uint64_t used;		/* LRU stamp, under the table's mutex */
};

struct http_answers {
	pthread_mutex_t mu;
	uint64_t clock;
	struct http_answer *slot[HTTP_ANSWERS_MAX];
	struct cli_backend recorder;
};

/* A command's run: the real backend, and the calls so far. */
struct http_answer_rec {
	const struct cli_backend *be;
	void *ctx;
	bool keep;		/* only plain reads so far */
	struct answer_call calls[HTTP_ANSWER_CALLS_MAX];
	size_t ncalls;
};

/* ---- recording ---- */

static struct answer_call *rec_add(struct http_answer_rec *r,
				   enum answer_op op)
{
	struct answer_call *k;

	if (!r->keep || r->ncalls == HTTP_ANSWER_CALLS_MAX) {
		r->keep = false;
		return NULL;
	}
	k = &r->calls[r->ncalls++];
	memset(k, 0, sizeof(*k));
	k->op = op;
	return k;
}

/* Runs one output call into a zeroed buffer of ours, hands the bytes and
 * the error to the command, and records them. */
static void rec_out(struct answer_call *k, void *scratch, void *out,
		    size_t len, const struct err *le, struct err *e)
{
	memcpy(out, scratch, len);
	if (e)
		*e = *le;
	if (!k) {
		free(scratch);
		return;
	}
	k->out = scratch;
	k->out_len = len;
	k->e = *le;
}

static time_t rec_now(void *ctx)
{
	struct http_answer_rec *r = ctx;
	time_t t = r->be->now(r->ctx);
	struct answer_call *k = rec_add(r, OP_NOW);

	if (k)
		k->rc = (int64_t)t;
	return t;
}

static char rec_local(void *ctx)
{
	struct http_answer_rec *r = ctx;
	char id = r->be->local_controller(r->ctx);
	struct answer_call *k = rec_add(r, OP_LOCAL);

	if (k)
		k->rc = id;
	return id;
}

/* The calls whose output is one struct of a fixed size. */
#define REC_STRUCT(fn, OP, field, type)					\
static int fn(void *ctx, type *out, struct err *e)			\
{									\
	struct http_answer_rec *r = ctx;				\
	struct err le = { 0 };						\
	type *scratch = calloc(1, sizeof(*scratch));			\
	struct answer_call *k;						\
	int rc;								\
									\
	if (!scratch) {							\
		r->keep = false;					\
		return r->be->field(r->ctx, out, e);			\
	}								\
	rc = r->be->field(r->ctx, scratch, &le);			\
	k = rec_add(r, OP);						\
	if (k)								\
		k->rc = rc;						\
	rec_out(k, scratch, out, sizeof(*out), &le, e);		\
	return rc;							\
}

REC_STRUCT(rec_system, OP_SYSTEM, system_get, struct cli_system)
REC_STRUCT(rec_firmware, OP_FIRMWARE, firmware_status_get,
	   struct cli_firmware_status)
REC_STRUCT(rec_readiness, OP_READINESS, readiness_get, struct cli_readiness)

static int rec_versions(void *ctx, char id, struct cli_versions *out,
			struct err *e)
{
	struct http_answer_rec *r = ctx;
	struct err le = { 0 };
	struct cli_versions *scratch = calloc(1, sizeof(*scratch));
	struct answer_call *k;
	int rc;

	if (!scratch) {
		r->keep = false;
		return r->be->versions_get(r->ctx, id, out, e);
	}
	rc = r->be->versions_get(r->ctx, id, scratch, &le);
	k = rec_add(r, OP_VERSIONS);
	if (k) {
		k->rc = rc;
		k->controller = id;
	}
	rec_out(k, scratch, out, sizeof(*out), &le, e);
	return rc;
}

static int rec_controller(void *ctx, char id, struct cli_controller *out,
			  struct err *e)
{
	struct http_answer_rec *r = ctx;
	struct err le = { 0 };
	struct cli_controller *scratch = calloc(1, sizeof(*scratch));
	struct answer_call *k;
	int rc;

	if (!scratch) {
		r->keep = false;
		return r->be->controller_get(r->ctx, id, out, e);
	}
	rc = r->be->controller_get(r->ctx, id, scratch, &le);
	k = rec_add(r, OP_CONTROLLER);
	if (k) {
		k->rc = rc;
		k->controller = id;
	}
	rec_out(k, scratch, out, sizeof(*out), &le, e);
	return rc;
}

static int rec_setting(void *ctx, const char *name, char *value, size_t len,
		       struct err *e)
{
	struct http_answer_rec *r = ctx;
	struct err le = { 0 };
	char *scratch = len && len <= HTTP_ANSWER_VALUE_MAX ?
			calloc(1, len) : NULL;
	struct answer_call *k;
	int rc;

	if (!scratch) {
		r->keep = false;
		return r->be->setting_get(r->ctx, name, value, len, e);
	}
	rc = r->be->setting_get(r->ctx, name, scratch, len, &le);
	k = rec_add(r, OP_SETTING);
	if (k) {
		k->rc = rc;
		k->size = len;
		k->name = strdup(name);
		if (!k->name)
			r->keep = false;
	}
	rec_out(k, scratch, value, len, &le, e);
	return rc;
}

static int rec_advanced(void *ctx, struct cli_setting_info *out, size_t max,
			size_t *n, struct err *e)
{
	struct http_answer_rec *r = ctx;
	struct err le = { 0 };
	struct cli_setting_info *scratch = max ?
		calloc(max, sizeof(*scratch)) : NULL;
	struct answer_call *k;
	size_t got = 0;
	int rc;

	if (!scratch || max > CLI_ADVANCED_SETTINGS_MAX) {
		free(scratch);
		r->keep = false;
		return r->be->advanced_settings_list(r->ctx, out, max, n, e);
	}
	rc = r->be->advanced_settings_list(r->ctx, scratch, max, &got, &le);
	*n = got;
	k = rec_add(r, OP_ADVANCED);
	if (k) {
		k->rc = rc;
		k->size = max;
		k->n = got;
	}
	rec_out(k, scratch, out, max * sizeof(*out), &le, e);
	return rc;
}

/* Anything else changes the controller or walks a list: passed on, and
 * the answer is not kept. */
static int rec_settings_set(void *ctx, const struct cli_setting *pairs,
			    size_t n, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->settings_set(r->ctx, pairs, n, e);
}

static int rec_events(void *ctx, cli_event_fn fn, void *arg, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->events_iterate(r->ctx, fn, arg, e);
}

static int rec_users(void *ctx, cli_user_fn fn, void *arg, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->users_iterate(r->ctx, fn, arg, e);
}

static int rec_user_create(void *ctx, const struct cli_user *user,
			   const char *password, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->user_create(r->ctx, user, password, e);
}

static int rec_user_delete(void *ctx, const char *name, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->user_delete(r->ctx, name, e);
}

static int rec_user_password(void *ctx, const char *name,
			     const char *password, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->user_set_password(r->ctx, name, password, e);
}

static int rec_user_output(void *ctx, const struct cli_user *user,
			   struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->user_set_output(r->ctx, user, e);
}

static int rec_restart(void *ctx, enum cli_processor what,
		       enum cli_target target, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->restart(r->ctx, what, target, e);
}

static int rec_shutdown(void *ctx, enum cli_target target, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->shutdown(r->ctx, target, e);
}

static int rec_rollback(void *ctx, struct err *e)
{
	struct http_answer_rec *r = ctx;

	r->keep = false;
	return r->be->firmware_rollback(r->ctx, e);
}

/* The recording backend has an operation exactly where the real one has. */
#define REC_SET(op, fn) (t->recorder.op = be->op ? fn : NULL)

struct http_answers *http_answers_new(const struct cli_backend *be)
{
	struct http_answers *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	REC_SET(now, rec_now);
	REC_SET(local_controller, rec_local);
	REC_SET(versions_get, rec_versions);
	REC_SET(controller_get, rec_controller);
	REC_SET(system_get, rec_system);
	REC_SET(setting_get, rec_setting);
	REC_SET(settings_set, rec_settings_set);
	REC_SET(events_iterate, rec_events);
	REC_SET(firmware_status_get, rec_firmware);
	REC_SET(users_iterate, rec_users);
	REC_SET(user_create, rec_user_create);
	REC_SET(user_delete, rec_user_delete);
	REC_SET(user_set_password, rec_user_password);
	REC_SET(user_set_output, rec_user_output);
	REC_SET(restart, rec_restart);
	REC_SET(shutdown, rec_shutdown);
	REC_SET(advanced_settings_list, rec_advanced);
	REC_SET(readiness_get, rec_readiness);
	REC_SET(firmware_rollback, rec_rollback);
	return t;
}

static void calls_free(struct answer_call *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(calls[i].out);
		free(calls[i].name);
	}
}

void http_answer_release(struct http_answer *a)
{
	if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	calls_free(a->calls, a->ncalls);
	if (a->resp)
		MHD_destroy_response(a->resp);
	free(a->line);
	free(a);
}

void http_answers_free(struct http_answers *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < HTTP_ANSWERS_MAX; i++)
		http_answer_release(t->slot[i]);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

struct http_answer_rec *http_answer_record(struct http_answers *t,
					   const struct cli_backend *be,
					   void *ctx,
					   const struct cli_backend **rec_be)
{
	struct http_answer_rec *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	r->be = be;
	r->ctx = ctx;
	r->keep = true;
	r->ncalls = 0;
	*rec_be = &t->recorder;
	return r;
}

void http_answer_record_free(struct http_answer_rec *r)
{
	if (!r)
		return;
	calls_free(r->calls, r->ncalls);
	free(r);
}

/* ---- comparing ---- */

static bool same_out(const struct answer_call *k, const void *out,
		     const struct err *le)
{
	return memcmp(k->out, out, k->out_len) == 0 && k->e.code == le->code &&
	       strcmp(k->e.msg, le->msg) == 0;
}

/* Makes call k again: whether it returns what it returned then. The
 * output goes to the stack: every request of the API's busiest answers
 * comes here, and the pool threads would take turns at the one malloc
 * arena (main.c) for it. */
static bool call_same(const struct cli_backend *be, void *ctx,
		      const struct answer_call *k)
{
	_Alignas(max_align_t) unsigned char scratch[HTTP_ANSWER_SCRATCH];
	struct err le = { 0 };
	void *out = NULL;
	bool same = false;
	size_t got = 0;

	switch (k->op) {
	case OP_NOW:
		return (int64_t)be->now(ctx) == k->rc;
	case OP_LOCAL:
		return be->local_controller(ctx) == k->rc;
	default:
		break;
	}
	if (k->out_len <= sizeof(scratch)) {
		out = scratch;
		memset(out, 0, k->out_len);
	} else if (!(out = calloc(1, k->out_len))) {
		return false;
	}
	switch (k->op) {
	case OP_VERSIONS:
		same = be->versions_get(ctx, k->controller, out, &le) == k->rc;
		break;
	case OP_CONTROLLER:
		same = be->controller_get(ctx, k->controller, out, &le) ==
		       k->rc;
		break;
	case OP_SYSTEM:
		same = be->system_get(ctx, out, &le) == k->rc;
		break;
	case OP_SETTING:
		same = be->setting_get(ctx, k->name, out, k->size, &le) ==
		       k->rc;
		break;
	case OP_FIRMWARE:
		same = be->firmware_status_get(ctx, out, &le) == k->rc;
		break;
	case OP_ADVANCED:
		same = be->advanced_settings_list(ctx, out, k->size, &got,
						  &le) == k->rc &&
		       got == k->n;
		break;
	case OP_READINESS:
		same = be->readiness_get(ctx, out, &le) == k->rc;
		break;
	default:
		break;
	}
	same = same && same_out(k, out, &le);
	if (out != scratch)
		free(out);
	return same;
}

static bool key_same(const struct http_answer *a, const char *user,
		     enum cli_role role, enum cli_output_mode mode,
		     const char *line)
{
	return a->role == role && a->mode == mode &&
	       strcmp(a->user, user) == 0 && strcmp(a->line, line) == 0;
}

struct http_answer *http_answer_find(struct http_answers *t,
				     const struct cli_backend *be, void *ctx,
				     const char *user, enum cli_role role,
				     enum cli_output_mode mode,
				     const char *line)
{
	struct http_answer *a = NULL;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < HTTP_ANSWERS_MAX && !a; i++)
		if (t->slot[i] &&
		    key_same(t->slot[i], user, role, mode, line)) {
			a = t->slot[i];
			a->used = ++t->clock;
			atomic_fetch_add(&a->refs, 1);
		}
	pthread_mutex_unlock(&t->mu);
	if (!a)
		return NULL;
	/* The same calls, in the same order: the command, given the same
	 * bytes at each, would make exactly these. */
	for (size_t i = 0; i < a->ncalls; i++)
		if (!call_same(be, ctx, &a->calls[i])) {
			http_answer_release(a);
			return NULL;
		}
	return a;
}

struct MHD_Response *http_answer_response(const struct http_answer *a)
{
	return a->resp;
}

struct http_answer *http_answer_keep(struct http_answers *t,
				     struct http_answer_rec *r,
				     const char *user, enum cli_role role,
				     enum cli_output_mode mode,
				     const char *line,
				     struct MHD_Response *resp)
{
	struct http_answer *a, *old = NULL;
	size_t victim = 0;

	if (!r->keep)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->line = strdup(line))) {
		free(a);
		return NULL;
	}
	atomic_init(&a->refs, 2);	/* the table's and the caller's */
	snprintf(a->user, sizeof(a->user), "%s", user);
	a->role = role;
	a->mode = mode;
	memcpy(a->calls, r->calls, r->ncalls * sizeof(r->calls[0]));
	a->ncalls = r->ncalls;
	r->ncalls = 0;		/* the outputs are the answer's now */
	a->resp = resp;
	pthread_mutex_lock(&t->mu);
	/* Its own key's slot, else a free one, else the least recent. */
	for (size_t i = 0; i < HTTP_ANSWERS_MAX; i++) {
		if (t->slot[i] &&
		    key_same(t->slot[i], user, role, mode, line)) {
			victim = i;
			break;
		}
		if (!t->slot[i] || (t->slot[victim] &&
				    t->slot[i]->used < t->slot[victim]->used))
			victim = i;
	}
	old = t->slot[victim];
	a->used = ++t->clock;
	t->slot[victim] = a;
	pthread_mutex_unlock(&t->mu);
	http_answer_release(old);
	return a;
}
