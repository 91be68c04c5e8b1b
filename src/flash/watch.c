/*
 * watch.c: for a long-running reader (tandemd), flash_store_status learns
 * of a change to its four files from inotify instead of stat()ing each of
 * them on every call: one look at the queue (FIONREAD) instead of four
 * path walks. The API's `show versions` asks on every request, and those
 * walks were half its cost.
 *
 * inotify queues an event before the call that made the change returns,
 * so a status asked after a change (in this process or by `tandem flash`
 * beside it) always sees it. Only events naming what the status is read
 * from count: the boot records and bank directories in flash/, each
 * bank's manifest; image writes do not. A lost watch (a bank directory
 * removed, made anew) or an overflowed queue counts as a change and the
 * watches are set again before the status is read, so nothing made
 * between is missed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "flash/flash_impl.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | \
		    IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |		 \
		    IN_DELETE_SELF | IN_MOVE_SELF)

/* (Re)sets the watches: flash/ must be watched, a bank directory not yet
 * made is seen being made through flash/'s. */
static int watch_add(struct flash_store *s)
{
	char path[PATH_MAX];

	s->watch_wd[0] = inotify_add_watch(s->watch_fd, s->dir, WATCH_MASK);
	if (s->watch_wd[0] < 0)
		return -1;
	for (int b = 0; b < FLASH_BANKS; b++) {
		flash_path(s, path, sizeof(path), "bank%d", b);
		s->watch_wd[1 + b] = inotify_add_watch(s->watch_fd, path,
						       WATCH_MASK |
						       IN_ONLYDIR);
	}
	return 0;
}

int flash_store_watch(struct flash_store *s, struct err *e)
{
	if (s->backend != FLASH_BACKEND_DIR || s->watch_fd >= 0)
		return 0;
	s->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->watch_fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: inotify: %s", s->dir,
			       strerror(errno));
	if (watch_add(s) < 0) {
		err_set(e, FLASH_ERR_IO, "%s: inotify watch: %s", s->dir,
			strerror(errno));
		close(s->watch_fd);
		s->watch_fd = -1;
		return e->code;
	}
	pthread_mutex_lock(&s->status_mu);
	s->status_valid = false;
	atomic_store(&s->watching, true);
	pthread_mutex_unlock(&s->status_mu);
	return 0;
}

void flash_watch_close(struct flash_store *s)
{
	if (s->watch_fd >= 0)
		close(s->watch_fd);
	s->watch_fd = -1;
	atomic_store(&s->watching, false);
}

static bool event_counts(const struct flash_store *s,
			 const struct inotify_event *ev)
{
	static const char *const top[] = { "bootrec.0", "bootrec.1",
					   "bank0", "bank1" };

	if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF |
			IN_MOVE_SELF))
		return true;
	if (!ev->len)
		return false;
	if (ev->wd == s->watch_wd[0]) {
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
			if (strcmp(ev->name, top[i]) == 0)
				return true;
		return false;
	}
	return strcmp(ev->name, FLASH_MANIFEST_JSON) == 0;
}

/* Without status_mu: whether any event waits (one that counts or not;
 * store.c says why looking without reading is safe). */
bool flash_watch_pending(const struct flash_store *s)
{
	int n = 0;

	return ioctl(s->watch_fd, FIONREAD, &n) < 0 || n > 0;
}

/* Under status_mu: whether anything the status is read from may have
 * changed since the last call; reads every queued event. */
bool flash_watch_changed(struct flash_store *s)
{
	char ev_buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, rewatch = false;
	ssize_t n;

	while ((n = read(s->watch_fd, ev_buf, sizeof(ev_buf))) > 0) {
		for (char *p = ev_buf; p < ev_buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (event_counts(s, ev)) {
				changed = true;
				rewatch |= ev->wd == s->watch_wd[0] ||
					   (ev->mask & (IN_Q_OVERFLOW |
							IN_IGNORED)) != 0;
			}
			p += sizeof(*ev) + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN)
		changed = true;
	/* A bank directory made or replaced, or a watch dropped: watched
	 * again before the caller reads. flash/ itself gone: back to the
	 * stamps for good, which see it come back (the descriptor stays
	 * open: flash_watch_pending may be using it). */
	if (rewatch && watch_add(s) < 0)
		atomic_store(&s->watching, false);
	return changed;
}
