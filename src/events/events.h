/*
 * events.h: the persistent event log (DESIGN.md: <state>/<a|b>/events.log).
 * Append-only framed records, each checksummed with CRC32C and made durable
 * before events_append() returns. A torn last record after a crash is
 * dropped; a corrupt record in the middle is skipped, the damaged file kept
 * aside as events.log.corrupt and a WARNING event says so. The log is
 * bounded: an append that would pass the cap first moves the file to
 * events.log.1 (replacing the older one; EVENTS_LOG_KEEP) and starts a
 * new one, and reading goes on into events.log.1, so `show events` sees
 * between one and two caps' worth of the newest events. The partner's
 * events, forwarded over the partner link, are kept in the same log with
 * their origin controller and sequence (#B17 in A's log).
 * Thread-safe: one mutex per log.
 */
#ifndef TANDEM_EVENTS_H
#define TANDEM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Limits of this part. */
#define EVENTS_MESSAGE_MAX	512		/* bytes, with NUL */
#define EVENTS_LOG_MAX_DEFAULT	(1024 * 1024)	/* bytes on disk */
#define EVENTS_LOG_MIN		4096		/* smallest cap accepted */
#define EVENTS_LOG_KEEP		1		/* older files kept: events.log.1 */
#define EVENTS_RECORD_HEADER	8		/* magic + length */
#define EVENTS_RECORD_FIXED	20		/* payload bytes before the message */
#define EVENTS_RECORD_MAX	(EVENTS_RECORD_HEADER + EVENTS_RECORD_FIXED + \
				 EVENTS_MESSAGE_MAX - 1 + 4)

/* Severities, with the family's names (MSA-REFERENCE.md "show events"). */
enum events_severity {
	EVENTS_INFORMATIONAL = 0,
	EVENTS_WARNING = 1,
	EVENTS_ERROR = 2,
	EVENTS_CRITICAL = 3,
	EVENTS_RESOLVED = 4,
};
#define EVENTS_SEVERITY_COUNT 5
#define EVENTS_SEVERITY_BIT(s)	(1u << (s))
#define EVENTS_SEVERITY_ALL	((1u << EVENTS_SEVERITY_COUNT) - 1)

/*
 * Event codes. Below 1000 are the family's numbers (MSA-REFERENCE.md);
 * 1000 and above are Tandem's own, for what the family has no code for.
 */
enum events_code {
	EVENTS_CODE_FIRMWARE_UPDATE = 237,	/* firmware update progress */
	EVENTS_CODE_PFU = 269,			/* partner firmware update progress */

	EVENTS_CODE_CONFIG_CORRUPT = 1001,	/* a config file was corrupt; last good copy used */
	EVENTS_CODE_CONFIG_CHANGED = 1002,	/* a setting changed */
	EVENTS_CODE_USER_CREATED = 1003,
	EVENTS_CODE_USER_DELETED = 1004,
	EVENTS_CODE_USER_PASSWORD = 1005,	/* a user's password changed */
	EVENTS_CODE_LOGIN_LOCKOUT = 1006,	/* a source was locked out after failed logins */
	EVENTS_CODE_EVENTS_CORRUPT = 1007,	/* corrupt records skipped in this log */
	EVENTS_CODE_DAEMON_START = 1008,
	EVENTS_CODE_DAEMON_STOP = 1009,
	EVENTS_CODE_DEFAULT_USERS = 1010,	/* well-known default users present (simulator) */
	EVENTS_CODE_PFU_HALTED = 1011,		/* PFU stopped after its attempt limit */
	EVENTS_CODE_STATE = 1012,		/* a state machine changed state */
	EVENTS_CODE_PARTNER_LINK = 1013,	/* partner link up, down or refused */
};

struct event {
	uint64_t seq;		/* per controller, from 1; shown as #A<seq> */
	int64_t time;		/* seconds since the epoch, UTC */
	uint16_t code;
	enum events_severity severity;
	char controller;	/* 'A' or 'B' */
	char message[EVENTS_MESSAGE_MAX];
};

struct events_log;

/* What events_open() found and repaired; for the daemon's start-up log. */
struct events_open_info {
	size_t records;		/* valid records kept, older file included */
	size_t torn_bytes;	/* bytes of a torn last record dropped */
	size_t corrupt_bytes;	/* bytes skipped in the middle */
	size_t corrupt_runs;	/* how many damaged stretches */
};

/*
 * Stops events_each() when non-zero; that value is then returned.
 */
typedef int (*events_fn)(void *ctx, const struct event *ev);
/* Called after each durable append, outside the log's lock. */
typedef void (*events_listener_fn)(void *ctx, const struct event *ev);

/* log.c */
int events_open(const char *path, char controller, size_t max_bytes,
		struct events_log **out, struct events_open_info *info,
		struct err *e);
void events_close(struct events_log *log);
int events_append(struct events_log *log, enum events_severity severity,
		  unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int events_appendv(struct events_log *log, enum events_severity severity,
		   unsigned code, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
int events_each(struct events_log *log, size_t limit, unsigned severity_mask,
		events_fn fn, void *ctx);
/*
 * Stores an event the partner forwarded, as it was (its origin controller,
 * sequence, time): 0, 1 when that origin sequence is held already (E4,
 * nothing written), -EINVAL for an event of this controller's own or a
 * bad field, or the write's error. The listener hears it too.
 */
int events_append_foreign(struct events_log *log, const struct event *ev);
/* The newest sequence held from origin controller ('A' or 'B'), 0: none. */
uint64_t events_last_seq(struct events_log *log, char controller);
/* Up to max of controller's events with seq > after, oldest first. */
int events_since(struct events_log *log, char controller, uint64_t after,
		 struct event *out, size_t max, size_t *n);
size_t events_count(struct events_log *log);
void events_set_listener(struct events_log *log, events_listener_fn fn,
			 void *ctx);

/* record.c: the on-disk frame; pure, no I/O. */
size_t events_record_encode(const struct event *ev, uint8_t *out,
			    size_t outlen);
int events_record_decode(const uint8_t *in, size_t len, struct event *ev,
			 size_t *used);

/* format.c */
const char *events_severity_name(enum events_severity s);
int events_severity_parse(const char *name, enum events_severity *out);
int events_format_console(const struct event *ev, const char *system_label,
			  struct buf *out);

#endif
