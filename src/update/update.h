/*
 * update.h: the update engine (DESIGN.md "Code layout"). Every transport
 * that carries a bundle (FTP, SFTP, HTTP, the partner link) hands its byte
 * stream here; the engine runs one code load at a time through the flash
 * store, keeps its progress for `show firmware-update-status` and `get
 * progress`, and writes the code load's report in the family's words.
 *
 * Threads: a job is driven by one transport thread (begin, feed, finish or
 * abort); status and report readers may call in from any other thread.
 */
#ifndef TANDEM_UPDATE_H
#define TANDEM_UPDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bundle/bundle.h"
#include "common/common.h"
#include "flash/flash.h"
#include "handlers/handlers.h"

#define UPDATE_REPORT_MAX	(16 * 1024)
/*
 * While a job finishes, at most one progress line a second goes to the
 * transport's keepalive; the transport decides which it sends (FTP holds
 * its reply until the outcome is known, docs/ftp.md).
 */
#define UPDATE_KEEPALIVE_SECONDS 1

/*
 * RETURN_CODE values printed at the end of a code load. 9 and 8 are the
 * family's successes (a load, and a no-op because the versions match);
 * the failures are ours, one per cause, documented in docs/ftp.md.
 */
enum update_return_code {
	UPDATE_RC_LOADED = 9,
	UPDATE_RC_VERSIONS_MATCH = 8,
	UPDATE_RC_VERIFY = 20,		/* truncated, tampered, key, model */
	UPDATE_RC_VERSION = 22,		/* older or same version, no force */
	UPDATE_RC_WRITE = 23,		/* flash write, read-back, no space */
	UPDATE_RC_BUSY = 24,		/* another load runs or trial pending */
	UPDATE_RC_ABORTED = 25,		/* transfer lost before the end */
	UPDATE_RC_STORE = 26,		/* flash store unusable */
	UPDATE_RC_SECURITY = 27,	/* below the security floor; force too */
	UPDATE_RC_HANDLER = 28,		/* a component handler failed */
};

enum update_state {
	UPDATE_IDLE = 0,
	UPDATE_RUNNING,
};

/* Event severities, as the family names them. */
enum update_severity {
	UPDATE_INFO = 0,
	UPDATE_WARNING,
	UPDATE_ERROR,
	UPDATE_CRITICAL,
};

/* The family's event code for firmware update progress. */
#define UPDATE_EVENT_CODE	237

struct update_config {
	struct flash_store *store;
	const struct bundle_keyring *keys;
	const char *model;		/* NULL: any */
	char controller;		/* 'A' or 'B' */
	/* Where the last code load's outcome and report are kept, so they
	 * survive the MC restart that follows a load; NULL: memory only. */
	const char *last_path;
	/* Before a load writes anything (not under force): may refuse the
	 * bundle, e.g. a pairing with the partner it rules out. NULL: all. */
	int (*accept)(void *ctx, const struct bundle_manifest *m,
		      struct err *e);
	/* Component handlers run before a bank is activated
	 * (docs/handlers.md); NULL or empty: none. state_dir is passed to
	 * them. */
	struct handler_set *handlers;
	const char *state_dir;
	/* Event sink (the daemon's event log); may be NULL. */
	void (*event)(void *ctx, enum update_severity sev, int code,
		      const char *message);
	void *ctx;
};

/* A snapshot for `show firmware-update-status` and `get progress`. */
struct update_status {
	enum update_state state;
	char source[16];		/* FTP, SFTP, HTTP, partner */
	char user[64];
	bool force;
	const char *stage;		/* "receiving", "verifying", ... */
	uint64_t bytes_received;	/* component bytes, as they arrive */
	uint64_t bytes_total;		/* 0 until the manifest is known */
	unsigned percent;
	time_t started;
	/* The last finished code load ("" before the first). */
	bool have_last;
	bool last_ok;
	/* Who supplied it (FTP, SFTP, HTTP, partner): after the MC restart
	 * PFU starts only from an operator's load, never the partner's. */
	char last_source[16];
	int last_return_code;
	char last_version[BUNDLE_VERSION_MAX];
	char last_message[ERR_MESSAGE_MAX];
	time_t last_finished;
	/* Set by the daemon for the partner's entry: PFU is bringing that
	 * controller to its bundle (it shows codeload even while it
	 * restarts). */
	bool pfu_active;
};

struct update_engine;
struct update_job;

/* engine.c */
struct update_engine *update_engine_new(const struct update_config *cfg,
					struct err *e);
void update_engine_free(struct update_engine *u);
/* Fails with -EBUSY while another job runs. */
struct update_job *update_begin(struct update_engine *u, const char *source,
				const char *user, bool force, struct err *e);
/*
 * The same for a sender that is itself a controller (the partner's push,
 * docs/partner.md): each image is written back and read back from the
 * device range by range while later ranges arrive (src/flash/readback.c),
 * so little of the device's work is left after the last byte. An operator's
 * client (update_begin) is not held to the device's pace while it sends.
 */
struct update_job *update_begin_overlapped(struct update_engine *u,
					   const char *source,
					   const char *user, bool force,
					   struct err *e);
int update_feed(struct update_job *j, const void *data, size_t len,
		struct err *e);
/*
 * Instead of feeding: the whole input pulled from the transport on its own
 * thread. A failure of pull itself (the connection) is the transport's to
 * report and does not count as the bundle's; then update_abort().
 */
int update_pull(struct update_job *j, bundle_pull_fn pull, void *arg,
		struct err *e);
/*
 * End of input: verify the tail, read back, activate. Writes the report
 * (one line per "\n") and frees the job. keepalive, if given, is called
 * with a progress line now and then while the finish runs long.
 * 0 on success (including "Versions match"), else a negative errno-style
 * code: -ENOSPC, -EIO (write), -EBUSY, -EINVAL (bad bundle), -EPERM.
 */
int update_finish(struct update_job *j, struct buf *report,
		  void (*keepalive)(void *arg, const char *line), void *arg,
		  struct err *e);
/* The transfer failed or was dropped: nothing activated; frees the job. */
void update_abort(struct update_job *j, const char *why);
void update_status_get(struct update_engine *u, struct update_status *out);
/* Text of the last code load's report (`get progress:lastcodeload:text`). */
int update_last_report(struct update_engine *u, struct buf *out);
/*
 * Appends one line to the last code load's report and persists it (PFU's
 * outcome: "Partner: Codeload completed successfully."); -EAGAIN while a
 * load runs, -ENOENT before any load, -EFBIG past UPDATE_REPORT_MAX.
 */
int update_last_report_append(struct update_engine *u, const char *line,
			      struct err *e);
/* Whether the last job activated a new bank (the MC should restart). */
bool update_restart_pending(struct update_engine *u);

/* report.c */
const char *update_component_label(const char *component);
int update_progress_xml(const struct update_status *mine, char mine_id,
			const struct update_status *partner, char partner_id,
			struct buf *out);

#endif
