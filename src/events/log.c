/*
 * log.c: the event log file: open with repair, durable append, bounded
 * size, newest-first iteration. Owns the file descriptor and the in-memory
 * index of record offsets; the record bytes are record.c's business.
 *
 * Invariants:
 *  E1: every record before log->size is whole and valid (checked at open,
 *      appended only as whole records, truncated back after a failed write).
 *  E2: events_append() returns 0 only after the record is on disk.
 *  E3: rotation is one rename of the whole file to events.log.1, then a
 *      new file, then the directory's fsync: a crash leaves every record
 *      in one of the two files, and events_open() reads both.
 *  E4: the log also holds the partner's events, forwarded over the partner
 *      link, each with its origin controller and origin sequence; a
 *      sequence is stored at most once per origin (a forwarded event not
 *      newer than the newest held from its origin is dropped), and this
 *      controller's own numbering counts its own events only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events/events.h"

/* A log bigger than this is not ours to read whole, whatever its cap. */
#define EVENTS_FILE_READ_MAX	(64u * 1024 * 1024)

struct events_log {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	int fd;
	char controller;
	size_t max_bytes;
	size_t size;
	uint64_t next_seq;
	/* Newest sequence held per origin controller (E4), 'A' then 'B'. */
	uint64_t last_seq[2];
	size_t *offsets;	/* start of each valid record, oldest first */
	size_t count, cap;
	/* events.log.1, read only: the records before the last rotation. */
	int old_fd;
	size_t *old_offsets;
	size_t old_count, old_size;
	events_listener_fn listener;
	void *listener_ctx;
};

/* last_seq's slot of an origin controller. */
static int origin_slot(char controller)
{
	return controller == 'B';
}

static void seq_note(uint64_t last_seq[2], const struct event *ev)
{
	int i = origin_slot(ev->controller);

	if (ev->seq > last_seq[i])
		last_seq[i] = ev->seq;
}

static int index_push(struct events_log *log, size_t off)
{
	if (log->count == log->cap) {
		size_t ncap = log->cap ? log->cap * 2 : 256, bytes;
		size_t *p;

		if (!size_mul(ncap, sizeof(*p), &bytes))
			return -ENOMEM;
		p = realloc(log->offsets, bytes);
		if (!p)
			return -ENOMEM;
		log->offsets = p;
		log->cap = ncap;
	}
	log->offsets[log->count++] = off;
	return 0;
}

/* The next offset after pos where a whole valid record starts, or len. */
static size_t resync(const uint8_t *data, size_t len, size_t pos)
{
	struct event ev;
	size_t used;

	for (size_t q = pos + 1; q < len; q++)
		if (events_record_decode(data + q, len - q, &ev, &used) == 0)
			return q;
	return len;
}

/*
 * Splits data into valid records (copied to keep, if not NULL) and
 * damage. Returns the length of the clean prefix before a torn tail.
 */
static size_t scan(const uint8_t *data, size_t len, struct buf *keep,
		   struct events_open_info *info, uint64_t max_seq[2])
{
	struct event ev;
	size_t pos = 0, end = 0, used;

	while (pos < len) {
		size_t next;

		if (events_record_decode(data + pos, len - pos, &ev,
					 &used) == 0) {
			if (keep)
				buf_append(keep, data + pos, used);
			seq_note(max_seq, &ev);
			info->records++;
			pos += used;
			end = pos;
			continue;
		}
		next = resync(data, len, pos);
		if (next == len) {
			info->torn_bytes = len - pos;
			break;
		}
		info->corrupt_bytes += next - pos;
		info->corrupt_runs++;
		pos = next;
	}
	return end;
}

static int index_build(struct events_log *log, const uint8_t *data,
		       size_t len)
{
	struct event ev;
	size_t pos = 0, used;

	log->count = 0;
	while (pos < len &&
	       events_record_decode(data + pos, len - pos, &ev, &used) == 0) {
		if (index_push(log, pos) < 0)
			return -ENOMEM;
		pos += used;
	}
	log->size = pos;
	return 0;
}

static void old_path(const struct events_log *log, char *out, size_t len)
{
	snprintf(out, len, "%s.1", log->path);
}

static void dir_of(const char *path, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else
		snprintf(dir, len, slash ? "/" : ".");
}

/*
 * The older file, read only: its whole valid records from the start (a
 * damaged one ends it; it was checked when it was the live file). Raises
 * max_seq to the newest sequence seen per origin. Absent is fine.
 */
static int events_load_old(struct events_log *log, uint64_t max_seq[2],
			   size_t *records)
{
	char path[PATH_MAX + 8];
	struct event ev;
	size_t pos = 0, used;
	struct err e;
	struct buf data;
	int rc;

	old_path(log, path, sizeof(path));
	buf_init(&data, EVENTS_FILE_READ_MAX);
	rc = fs_read_file(path, EVENTS_FILE_READ_MAX, &data, &e);
	if (rc < 0) {
		buf_free(&data);
		return rc == -ENOENT ? 0 : rc;
	}
	log->old_fd = open(path, O_RDONLY | O_CLOEXEC);
	while (log->old_fd >= 0 && pos < data.len &&
	       events_record_decode((uint8_t *)data.data + pos, data.len - pos,
				    &ev, &used) == 0) {
		size_t *p = log->old_offsets;

		if (log->old_count % 256 == 0) {
			size_t bytes;

			if (!size_mul(log->old_count + 256, sizeof(*p), &bytes) ||
			    !(p = realloc(log->old_offsets, bytes))) {
				buf_free(&data);
				return -ENOMEM;
			}
			log->old_offsets = p;
		}
		log->old_offsets[log->old_count++] = pos;
		seq_note(max_seq, &ev);
		pos += used;
	}
	log->old_size = pos;
	*records += log->old_count;
	buf_free(&data);
	return 0;
}

/* Loads, repairs and indexes the file; leaves log->fd open for append. */
static int events_load(struct events_log *log, struct events_open_info *info,
		       struct err *e)
{
	struct buf data, keep;
	uint64_t max_seq[2] = { 0, 0 };
	size_t clean;
	int rc = 0;

	buf_init(&data, EVENTS_FILE_READ_MAX);
	buf_init(&keep, EVENTS_FILE_READ_MAX);
	rc = fs_read_file(log->path, EVENTS_FILE_READ_MAX, &data, e);
	if (rc == -ENOENT) {
		err_clear(e);
		rc = 0;
	} else if (rc < 0) {
		goto out;
	}
	clean = scan((uint8_t *)data.data, data.len, &keep, info, max_seq);
	rc = events_load_old(log, max_seq, &info->records);
	if (rc < 0) {
		err_set(e, rc, "%s.1: cannot read: %s", log->path,
			strerror(-rc));
		goto out;
	}
	log->last_seq[0] = max_seq[0];
	log->last_seq[1] = max_seq[1];
	log->next_seq = max_seq[origin_slot(log->controller)] + 1;
	if (info->corrupt_runs) {
		/* Keep the damaged file for inspection, then the good records. */
		char aside[PATH_MAX + 16];

		snprintf(aside, sizeof(aside), "%s.corrupt", log->path);
		rc = fs_atomic_write(aside, data.data, data.len, 0644, e);
		if (rc == 0)
			rc = fs_atomic_write(log->path, keep.data, keep.len,
					     0644, e);
		if (rc < 0)
			goto out;
	}
	log->fd = powerloss_open(log->path,
				 O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (log->fd < 0) {
		rc = err_set(e, -errno, "%s: cannot open: %s", log->path,
			     strerror(errno));
		goto out;
	}
	/* E1: drop the torn tail so appends follow a whole record (the
	 * corrupt case above rewrote the file without it). */
	if (!info->corrupt_runs && info->torn_bytes &&
	    powerloss_ftruncate(log->fd, (off_t)clean) < 0) {
		rc = err_set(e, -errno, "%s: cannot drop torn record: %s",
			     log->path, strerror(errno));
		goto out;
	}
	if (info->torn_bytes && powerloss_fsync(log->fd) < 0) {
		rc = err_set(e, -errno, "%s: fsync failed: %s", log->path,
			     strerror(errno));
		goto out;
	}
	if (data.len == 0) {
		char dir[PATH_MAX], *slash;

		snprintf(dir, sizeof(dir), "%s", log->path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), slash ? "/" : ".");
		fs_fsync_dir(dir);
	}
	rc = index_build(log, (uint8_t *)keep.data, keep.len);
	if (rc < 0)
		err_set(e, rc, "%s: out of memory indexing events", log->path);
out:
	buf_free(&data);
	buf_free(&keep);
	return rc;
}

int events_open(const char *path, char controller, size_t max_bytes,
		struct events_log **out, struct events_open_info *info,
		struct err *e)
{
	struct events_open_info scratch;
	struct events_log *log;
	int rc;

	if (controller != 'A' && controller != 'B')
		return err_set(e, -EINVAL, "events: controller must be A or B");
	if (max_bytes == 0)
		max_bytes = EVENTS_LOG_MAX_DEFAULT;
	if (max_bytes < EVENTS_LOG_MIN)
		return err_set(e, -EINVAL, "events: cap %zu below %d bytes",
			       max_bytes, EVENTS_LOG_MIN);
	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	log = calloc(1, sizeof(*log));
	if (!log)
		return err_set(e, -ENOMEM, "events: out of memory");
	if (snprintf(log->path, sizeof(log->path), "%s", path) >=
	    (int)sizeof(log->path)) {
		free(log);
		return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	}
	log->fd = log->old_fd = -1;
	log->controller = controller;
	log->max_bytes = max_bytes;
	pthread_mutex_init(&log->lock, NULL);
	rc = events_load(log, info, e);
	if (rc < 0) {
		events_close(log);
		return rc;
	}
	if (info->corrupt_runs)
		events_append(log, EVENTS_WARNING, EVENTS_CODE_EVENTS_CORRUPT,
			      "Event log: skipped %zu corrupt byte(s) in %zu "
			      "place(s); the damaged file was kept as %s.corrupt",
			      info->corrupt_bytes, info->corrupt_runs,
			      log->path);
	*out = log;
	return 0;
}

void events_close(struct events_log *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		close(log->fd);
	if (log->old_fd >= 0)
		close(log->old_fd);
	pthread_mutex_destroy(&log->lock);
	free(log->offsets);
	free(log->old_offsets);
	free(log);
}

/*
 * Moves the live file to events.log.1 and starts an empty one (E3).
 * Locked. On failure nothing has moved and the log grows past its cap.
 */
static int events_rotate(struct events_log *log)
{
	char old[PATH_MAX + 8], dir[PATH_MAX];
	int fd, rc;

	old_path(log, old, sizeof(old));
	dir_of(log->path, dir, sizeof(dir));
	if (powerloss_rename(log->path, old) < 0)
		return -errno;
	fd = powerloss_open(log->path,
			    O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC,
			    0644);
	if (fd < 0) {
		rc = -errno;
		/* Put the live file back, so appends carry on in it. */
		powerloss_rename(old, log->path);
		return rc;
	}
	rc = fs_fsync_dir(dir);
	if (rc < 0)
		log_warn("%s: rotated, but the directory's fsync failed: %s",
			 log->path, strerror(-rc));
	/* The live file's index becomes the older file's. */
	if (log->old_fd >= 0)
		close(log->old_fd);
	free(log->old_offsets);
	log->old_fd = log->fd;
	log->old_offsets = log->offsets;
	log->old_count = log->count;
	log->old_size = log->size;
	log->fd = fd;
	log->offsets = NULL;
	log->count = log->cap = 0;
	log->size = 0;
	return 0;
}

/*
 * Writes one record durably (E1, E2), rotating first when it would pass
 * the cap. Locked; on success the record is indexed.
 */
static int append_locked(struct events_log *log, const struct event *ev)
{
	uint8_t rec[EVENTS_RECORD_MAX];
	size_t n;
	int rc;

	n = events_record_encode(ev, rec, sizeof(rec));
	if (log->size > 0 && log->size + n > log->max_bytes) {
		rc = events_rotate(log);
		if (rc < 0)
			log_warn("%s: rotation failed: %s", log->path,
				 strerror(-rc));
	}
	rc = fs_write_all(log->fd, rec, n);
	fault_step("events-append");
	if (rc == 0 && powerloss_fdatasync(log->fd) < 0)
		rc = -errno;
	if (rc < 0) {
		/* E1: never leave part of a record behind a later one. */
		if (powerloss_ftruncate(log->fd, (off_t)log->size) < 0)
			log_warn("%s: cannot undo failed append: %s",
				 log->path, strerror(errno));
		log_warn("%s: event not recorded: %s", log->path,
			 strerror(-rc));
		return rc;
	}
	rc = index_push(log, log->size);
	log->size += n;
	seq_note(log->last_seq, ev);
	return rc;
}

int events_appendv(struct events_log *log, enum events_severity severity,
		   unsigned code, const char *fmt, va_list ap)
{
	events_listener_fn listener;
	struct event ev;
	void *lctx;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.time = (int64_t)time(NULL);
	ev.code = (uint16_t)code;
	ev.severity = severity;
	vsnprintf(ev.message, sizeof(ev.message), fmt, ap);
	pthread_mutex_lock(&log->lock);
	ev.seq = log->next_seq;
	ev.controller = log->controller;
	rc = append_locked(log, &ev);
	if (rc < 0) {
		pthread_mutex_unlock(&log->lock);
		return rc;
	}
	log->next_seq++;
	listener = log->listener;
	lctx = log->listener_ctx;
	pthread_mutex_unlock(&log->lock);
	if (listener)
		listener(lctx, &ev);
	return rc;
}

int events_append_foreign(struct events_log *log, const struct event *ev)
{
	events_listener_fn listener;
	struct event copy;
	void *lctx;
	int rc;

	if ((ev->controller != 'A' && ev->controller != 'B') ||
	    ev->controller == log->controller || ev->seq == 0 ||
	    (unsigned)ev->severity >= EVENTS_SEVERITY_COUNT)
		return -EINVAL;
	copy = *ev;
	copy.message[EVENTS_MESSAGE_MAX - 1] = '\0';
	pthread_mutex_lock(&log->lock);
	/* E4: each origin event once. */
	if (copy.seq <= log->last_seq[origin_slot(copy.controller)]) {
		pthread_mutex_unlock(&log->lock);
		return 1;
	}
	rc = append_locked(log, &copy);
	listener = log->listener;
	lctx = log->listener_ctx;
	pthread_mutex_unlock(&log->lock);
	if (rc == 0 && listener)
		listener(lctx, &copy);
	return rc;
}

uint64_t events_last_seq(struct events_log *log, char controller)
{
	uint64_t v;

	pthread_mutex_lock(&log->lock);
	v = log->last_seq[origin_slot(controller)];
	pthread_mutex_unlock(&log->lock);
	return v;
}

/* Record i of both files, the older file's first; locked. */
static int read_at(struct events_log *log, size_t i, struct event *ev)
{
	uint8_t rec[EVENTS_RECORD_MAX];
	const size_t *offsets = log->old_offsets;
	size_t count = log->old_count, size = log->old_size, off, len, used;
	int fd = log->old_fd;
	ssize_t got;

	if (i >= log->old_count) {
		i -= log->old_count;
		offsets = log->offsets;
		count = log->count;
		size = log->size;
		fd = log->fd;
	}
	off = offsets[i];
	len = (i + 1 < count ? offsets[i + 1] : size) - off;
	if (len > sizeof(rec))
		len = sizeof(rec);
	got = pread(fd, rec, len, (off_t)off);
	if (got < 0 || (size_t)got != len ||
	    events_record_decode(rec, len, ev, &used) != 0)
		return -EIO;
	return 0;
}

int events_since(struct events_log *log, char controller, uint64_t after,
		 struct event *out, size_t max, size_t *n)
{
	size_t total, start, i;
	struct event ev;
	int rc = 0;

	*n = 0;
	pthread_mutex_lock(&log->lock);
	/* old_count is 0 without an older file. */
	total = log->old_count + log->count;
	/* Back from the newest to the first of controller's records not
	 * after `after`: one origin's records are in sequence order (E4). */
	for (start = total; start > 0; start--) {
		rc = read_at(log, start - 1, &ev);
		if (rc < 0)
			goto out;
		if (ev.controller == controller && ev.seq <= after)
			break;
	}
	for (i = start; i < total && *n < max; i++) {
		rc = read_at(log, i, &ev);
		if (rc < 0)
			goto out;
		if (ev.controller == controller && ev.seq > after)
			out[(*n)++] = ev;
	}
out:
	pthread_mutex_unlock(&log->lock);
	return rc;
}

int events_append(struct events_log *log, enum events_severity severity,
		  unsigned code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = events_appendv(log, severity, code, fmt, ap);
	va_end(ap);
	return rc;
}

struct events_walk {
	size_t limit, shown;
	unsigned severity_mask;
	events_fn fn;
	void *ctx;
};

/* One file's records, newest first; 1 when the walk is over. */
static int walk_file(struct events_walk *w, int fd, const size_t *offsets,
		     size_t count, size_t size, int *rc)
{
	uint8_t rec[EVENTS_RECORD_MAX];

	for (size_t i = count; i-- > 0;) {
		size_t off = offsets[i], len, used;
		struct event ev;
		ssize_t got;

		if (w->limit && w->shown >= w->limit)
			return 1;
		len = (i + 1 < count ? offsets[i + 1] : size) - off;
		if (len > sizeof(rec))
			len = sizeof(rec);
		got = pread(fd, rec, len, (off_t)off);
		if (got < 0 || (size_t)got != len ||
		    events_record_decode(rec, len, &ev, &used) != 0) {
			*rc = -EIO;
			return 1;
		}
		if (!(w->severity_mask & EVENTS_SEVERITY_BIT(ev.severity)))
			continue;
		w->shown++;
		*rc = w->fn(w->ctx, &ev);
		if (*rc)
			return 1;
	}
	return 0;
}

/* One record's place in time order. */
struct events_order {
	int64_t time;
	size_t at;		/* read_at() index: file order */
};

/* Newest first; of the same second, the one stored later first. */
static int order_cmp(const void *a, const void *b)
{
	const struct events_order *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return x->at < y->at ? 1 : x->at > y->at ? -1 : 0;
}

/*
 * By time: the partner's events arrive late after the link was down and
 * are stored after newer local ones (E4); `show events` lists both
 * controllers' events newest first, as the family does. 1: no memory for
 * the order (the caller walks in file order instead).
 */
static int walk_by_time(struct events_log *log, struct events_walk *w,
			int *rc)
{
	size_t total = log->old_count + log->count, bytes, i;
	struct events_order *order;
	struct event ev;

	if (!size_mul(total ? total : 1, sizeof(*order), &bytes) ||
	    !(order = malloc(bytes)))
		return 1;
	for (i = 0; i < total; i++) {
		if (read_at(log, i, &ev) < 0) {
			*rc = -EIO;
			free(order);
			return 0;
		}
		order[i].time = ev.time;
		order[i].at = i;
	}
	qsort(order, total, sizeof(*order), order_cmp);
	for (i = 0; i < total; i++) {
		if (w->limit && w->shown >= w->limit)
			break;
		if (read_at(log, order[i].at, &ev) < 0) {
			*rc = -EIO;
			break;
		}
		if (!(w->severity_mask & EVENTS_SEVERITY_BIT(ev.severity)))
			continue;
		w->shown++;
		*rc = w->fn(w->ctx, &ev);
		if (*rc)
			break;
	}
	free(order);
	return 0;
}

/*
 * Calls fn for up to limit events (0 = all) whose severity is in
 * severity_mask, newest first by time (ties: the later stored first),
 * over the live file and events.log.1. fn runs under the log's lock: it
 * must not call back into this log.
 */
int events_each(struct events_log *log, size_t limit, unsigned severity_mask,
		events_fn fn, void *ctx)
{
	struct events_walk w = { limit, 0, severity_mask, fn, ctx };
	int rc = 0;

	pthread_mutex_lock(&log->lock);
	if (walk_by_time(log, &w, &rc) == 1 &&
	    !walk_file(&w, log->fd, log->offsets, log->count, log->size,
		       &rc) && log->old_fd >= 0)
		walk_file(&w, log->old_fd, log->old_offsets, log->old_count,
			  log->old_size, &rc);
	pthread_mutex_unlock(&log->lock);
	return rc;
}

size_t events_count(struct events_log *log)
{
	size_t n;

	pthread_mutex_lock(&log->lock);
	n = log->count + log->old_count;
	pthread_mutex_unlock(&log->lock);
	return n;
}

void events_set_listener(struct events_log *log, events_listener_fn fn,
			 void *ctx)
{
	pthread_mutex_lock(&log->lock);
	log->listener = fn;
	log->listener_ctx = ctx;
	pthread_mutex_unlock(&log->lock);
}
