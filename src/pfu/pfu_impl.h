/*
 * pfu_impl.h: what the files of src/pfu/ share and nobody else sees: the
 * policy object and the helpers its passes use. The contract is pfu.h.
 */
#ifndef TANDEM_PFU_IMPL_H
#define TANDEM_PFU_IMPL_H

#include <limits.h>
#include <pthread.h>

#include "pfu/pfu.h"

struct pfu {
	struct pfu_config cfg;
	const struct pfu_ops *ops;
	void *ctx;
	char path[PATH_MAX];
	pthread_t thread;

	/* Owned by the policy thread. */
	struct pfu_record recs[PFU_RECORDS_MAX];
	size_t nrecs;
	int cur;			/* index of the record in use, or -1 */
	bool seen_disabled;

	pthread_mutex_t mu;		/* guards everything below */
	pthread_cond_t cond;
	bool stop;
	uint64_t notified;
	struct pfu_record inbox[PFU_RECORDS_MAX];
	size_t ninbox;
	bool send_all;
	bool rollback_running;
	bool attempting;		/* an attempt owns the pair */
	bool rollback_done;		/* pfu_rollback() succeeded */
	/* The published view. */
	enum pfu_state state;
	bool enabled;
	unsigned limit;
	struct pfu_record shown;	/* copy of the record in use */
	char reason[PFU_REASON_MAX];
	char advice[PFU_REASON_MAX];
};

/* pfu.c: the thread, its published view, its records. */
void pfu_emit(struct pfu *p, enum events_severity sev, unsigned code,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* One line for the last code load report. */
void pfu_report(struct pfu *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Publishes the state; a change of state is an event (STYLE.md). */
void pfu_enter_state(struct pfu *p, enum pfu_state st, const char *advice,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
struct pfu_record *pfu_current(struct pfu *p);
bool pfu_stopping(struct pfu *p);
/* One tick, or less when notified. False once the policy is stopping. */
bool pfu_wait_tick(struct pfu *p);
/* Persists every record, then sends this one to the partner. */
int pfu_save_and_mirror(struct pfu *p, struct pfu_record *r);

/* attempt.c: one attempt and its outcomes. */
bool pfu_partner_runs(const struct peer_view *peer,
		      const struct pfu_local *local);
const char *pfu_preflight(struct pfu *p, const struct peer_view *peer,
			  const char *target, char *why, size_t whylen);
void pfu_advice(const struct pfu_record *r, const struct pfu_local *local,
		char *out, size_t len);
void pfu_rollback_now(struct pfu *p, struct pfu_record *r,
		      const struct pfu_local *local, const char *how);
void pfu_attempt_failed(struct pfu *p, struct pfu_record *r,
			const struct pfu_local *local, unsigned limit,
			const char *where, const char *reason);
void pfu_attempt(struct pfu *p, struct pfu_record *r,
		 const struct pfu_local *local, unsigned limit);
void pfu_record_reset(struct pfu_record *r);
void pfu_partner_matches(struct pfu *p, struct pfu_record *r);

#endif
