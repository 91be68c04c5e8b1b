/*
 * store.c: opening the config directory, loading each file with its
 * checksum and falling back to the last good copy, saving through
 * fs_atomic_write, and telling watchers and the event log. The meaning of
 * settings and users belongs to settings.c and users.c.
 *
 * Invariants:
 *  C1: <name> is only ever replaced by fs_atomic_write, so it is always a
 *      whole file: the old contents or the new.
 *  C2: <name>.prev holds the contents <name> had before the last
 *      replacement, written (atomically) before that replacement began.
 *  C3: a file that fails its checks is never silently replaced by
 *      defaults: it is moved aside as <name>.corrupt, the .prev copy takes
 *      its place and the recovery is reported; with no good .prev,
 *      config_open() fails with CONFIG_ERR_CORRUPT.
 *  C4: in memory, a change is undone when its save fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/internal.h"
#include "events/events.h"

static const char *const config_error_names[CONFIG_ERR_COUNT] = {
	"ok", "io", "corrupt", "unknown-key", "bad-value", "user-exists",
	"no-such-user", "bad-user-name", "bad-password", "too-many-users",
	"last-manage-user", "authentication", "locked-out", "interface",
	"out-of-memory", "hash",
};

const char *config_error_name(int code)
{
	if (code > 0 || code <= -CONFIG_ERR_COUNT)
		return "unknown";
	return config_error_names[-code];
}

/* Keeps the message, changes the code to this part's. */
static int err_recode(struct err *e, int code)
{
	if (e)
		e->code = code;
	return code;
}

static int file_path(struct config *cfg, const char *name, const char *suffix,
		     char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s/%s%s", cfg->dir, name, suffix) >=
	    (int)outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* CRC32C of the body dumped compact with sorted keys, as 8 hex digits. */
static int body_checksum(json_t *body, char out[9])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text)
		return -ENOMEM;
	snprintf(out, 9, "%08x", crc32c(0, text, strlen(text)));
	free(text);
	return 0;
}

/* Parses and checks one file's bytes; on success *body is the object. */
static int file_parse(const struct buf *text, const char *path, json_t **body,
		      struct err *e)
{
	char want[9];
	json_error_t jerr;
	const char *sum;
	json_t *root;

	if (text->len == 0)
		return err_set(e, CONFIG_ERR_CORRUPT,
			       "%s: empty file, not valid JSON", path);
	root = json_loadb(text->data, text->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, CONFIG_ERR_CORRUPT,
			       "%s: not valid JSON (line %d: %s)", path,
			       jerr.line, jerr.text);
	if (!json_is_object(root) ||
	    !json_is_string(json_object_get(root, "checksum"))) {
		json_decref(root);
		return err_set(e, CONFIG_ERR_CORRUPT,
			       "%s: no checksum member", path);
	}
	sum = json_string_value(json_object_get(root, "checksum"));
	if (strlen(sum) != 8) {
		json_decref(root);
		return err_set(e, CONFIG_ERR_CORRUPT, "%s: malformed checksum",
			       path);
	}
	{
		char got[9];

		snprintf(got, sizeof(got), "%s", sum);
		json_object_del(root, "checksum");
		if (body_checksum(root, want) < 0 || strcmp(got, want)) {
			json_decref(root);
			return err_set(e, CONFIG_ERR_CORRUPT,
				       "%s: checksum mismatch (file says %s, "
				       "contents give %s)", path, got, want);
		}
	}
	if (json_integer_value(json_object_get(root, "format")) !=
	    CONFIG_FORMAT_VERSION) {
		json_decref(root);
		return err_set(e, CONFIG_ERR_CORRUPT,
			       "%s: unknown format version", path);
	}
	*body = root;
	return 0;
}

/* Returns 1 when the file does not exist, 0 when good, < 0 when bad. */
static int file_read_parse(const char *path, struct buf *text, json_t **body,
			   struct err *e)
{
	int rc = fs_read_file(path, CONFIG_FILE_MAX, text, e);

	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return err_recode(e, CONFIG_ERR_CORRUPT);
	return file_parse(text, path, body, e);
}

static void note_add(struct config *cfg, const char *msg)
{
	size_t len = strlen(cfg->note);

	snprintf(cfg->note + len, sizeof(cfg->note) - len, "%s%s",
		 len ? "\n" : "", msg);
}

/*
 * Loads f into *body (NULL when neither file exists: a fresh controller).
 * Falls back to f.prev per C3.
 */
int config_file_load(struct config *cfg, struct config_file *f,
		     json_t **body, struct err *e)
{
	char path[PATH_MAX], prev[PATH_MAX], aside[PATH_MAX];
	char msg[CONFIG_NOTE_MAX];
	struct err main_err, prev_err;
	bool main_missing;
	struct buf text;
	int rc, prc;

	*body = NULL;
	if (file_path(cfg, f->name, "", path, sizeof(path)) < 0 ||
	    file_path(cfg, f->name, ".prev", prev, sizeof(prev)) < 0 ||
	    file_path(cfg, f->name, ".corrupt", aside, sizeof(aside)) < 0)
		return err_set(e, CONFIG_ERR_IO, "%s: path too long", cfg->dir);
	buf_init(&text, CONFIG_FILE_MAX);
	err_clear(&main_err);
	rc = file_read_parse(path, &f->good, body, &main_err);
	if (rc == 0)
		goto out;
	main_missing = rc == 1;
	prc = file_read_parse(prev, &text, body, &prev_err);
	if (prc == 1 && main_missing) {
		buf_reset(&f->good);
		rc = 0;		/* fresh: the caller keeps the defaults */
		goto out;
	}
	if (prc != 0) {
		rc = err_set(e, CONFIG_ERR_CORRUPT,
			     "%s; no good copy to fall back to: %s",
			     main_missing ? "file missing" : main_err.msg,
			     prc == 1 ? "no .prev file" : prev_err.msg);
		goto out;
	}
	/* C3: keep the damaged file, put the last good one in its place. */
	if (!main_missing && powerloss_rename(path, aside) < 0) {
		rc = err_set(e, CONFIG_ERR_IO, "%s: cannot move aside: %s",
			     path, strerror(errno));
		goto out;
	}
	rc = fs_atomic_write(path, text.data, text.len, f->mode, e);
	if (rc < 0) {
		rc = err_recode(e, CONFIG_ERR_IO);
		goto out;
	}
	buf_reset(&f->good);
	buf_append(&f->good, text.data, text.len);
	/* A message longer than the event limit is cut, never overrun. */
	if (snprintf(msg, sizeof(msg),
		 "Configuration file %s was %s (%s); using the last good copy "
		 "from %s.prev%s", path,
		 main_missing ? "missing" : "corrupt",
		 main_missing ? "no such file" : main_err.msg, f->name,
		 main_missing ? "" :
		 "; the damaged file was kept as .corrupt") >= (int)sizeof(msg))
		msg[sizeof(msg) - 1] = '\0';
	note_add(cfg, msg);
	log_error("%s", msg);
	config_event(cfg, EVENTS_ERROR, EVENTS_CODE_CONFIG_CORRUPT, "%s", msg);
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

/*
 * Writes body (a JSON object; this adds format and checksum) as f: the
 * last good bytes go to f.prev first (C2), then f is replaced (C1).
 * Called with cfg->lock held.
 */
int config_file_save(struct config *cfg, struct config_file *f,
		     json_t *body, struct err *e)
{
	char path[PATH_MAX], prev[PATH_MAX], sum[9];
	char *text = NULL;
	int rc;

	if (!body)
		return err_set(e, CONFIG_ERR_NOMEM, "%s: out of memory",
			       f->name);
	if (file_path(cfg, f->name, "", path, sizeof(path)) < 0 ||
	    file_path(cfg, f->name, ".prev", prev, sizeof(prev)) < 0) {
		json_decref(body);
		return err_set(e, CONFIG_ERR_IO, "%s: path too long", cfg->dir);
	}
	json_object_set_new(body, "format",
			    json_integer(CONFIG_FORMAT_VERSION));
	if (body_checksum(body, sum) < 0 ||
	    json_object_set_new(body, "checksum", json_string(sum)) < 0 ||
	    !(text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		json_decref(body);
		return err_set(e, CONFIG_ERR_NOMEM, "%s: out of memory", path);
	}
	json_decref(body);
	if (strlen(text) + 1 > CONFIG_FILE_MAX) {
		free(text);
		return err_set(e, CONFIG_ERR_VALUE, "%s: would exceed %d bytes",
			       path, CONFIG_FILE_MAX);
	}
	if (f->good.len) {
		rc = fs_atomic_write(prev, f->good.data, f->good.len, f->mode,
				     e);
		if (rc < 0)
			goto fail;
	}
	rc = fs_atomic_write(path, text, strlen(text), f->mode, e);
	if (rc < 0)
		goto fail;
	buf_reset(&f->good);
	buf_append_str(&f->good, text);
	free(text);
	return 0;
fail:
	free(text);
	return err_recode(e, CONFIG_ERR_IO);
}

void config_event(struct config *cfg, int severity, unsigned code,
		  const char *fmt, ...)
{
	va_list ap;

	if (!cfg->events)
		return;
	va_start(ap, fmt);
	events_appendv(cfg->events, (enum events_severity)severity, code, fmt,
		       ap);
	va_end(ap);
}

/* Calls the watchers; never with cfg->lock held, so they may read config. */
void config_notify(struct config *cfg, enum config_key key)
{
	config_watch_fn fns[CONFIG_WATCHERS_MAX];
	void *ctxs[CONFIG_WATCHERS_MAX];
	size_t n;

	pthread_mutex_lock(&cfg->lock);
	n = cfg->nwatchers;
	for (size_t i = 0; i < n; i++) {
		fns[i] = cfg->watchers[i].fn;
		ctxs[i] = cfg->watchers[i].ctx;
	}
	pthread_mutex_unlock(&cfg->lock);
	for (size_t i = 0; i < n; i++)
		fns[i](ctxs[i], key);
}

int config_watch(struct config *cfg, config_watch_fn fn, void *ctx)
{
	int rc = 0;

	pthread_mutex_lock(&cfg->lock);
	if (cfg->nwatchers == CONFIG_WATCHERS_MAX) {
		rc = CONFIG_ERR_TOO_MANY;
	} else {
		cfg->watchers[cfg->nwatchers].fn = fn;
		cfg->watchers[cfg->nwatchers].ctx = ctx;
		cfg->nwatchers++;
	}
	pthread_mutex_unlock(&cfg->lock);
	return rc;
}

void config_unwatch(struct config *cfg, config_watch_fn fn, void *ctx)
{
	pthread_mutex_lock(&cfg->lock);
	for (size_t i = 0; i < cfg->nwatchers; i++) {
		if (cfg->watchers[i].fn != fn || cfg->watchers[i].ctx != ctx)
			continue;
		memmove(&cfg->watchers[i], &cfg->watchers[i + 1],
			(cfg->nwatchers - i - 1) * sizeof(cfg->watchers[0]));
		cfg->nwatchers--;
		break;
	}
	pthread_mutex_unlock(&cfg->lock);
}

static time_t config_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The sources locked out before a restart stay locked out. Losing that
 * file must not keep the controller from starting: a bad one (and no
 * good .prev) is moved aside, loudly, and the table starts empty.
 */
static void lockouts_load(struct config *cfg)
{
	char path[PATH_MAX], aside[PATH_MAX], msg[CONFIG_NOTE_MAX];
	struct err e;
	json_t *body = NULL;

	err_clear(&e);
	if (config_file_load(cfg, &cfg->lockout_file, &body, &e) == 0 &&
	    (!body || config_lockouts_from_json(cfg, body, &e) == 0)) {
		json_decref(body);
		return;
	}
	json_decref(body);
	memset(cfg->lockouts, 0, sizeof(cfg->lockouts));
	if (file_path(cfg, CONFIG_LOCKOUT_FILE, "", path, sizeof(path)) == 0 &&
	    file_path(cfg, CONFIG_LOCKOUT_FILE, ".corrupt", aside,
		      sizeof(aside)) == 0)
		powerloss_rename(path, aside);
	if (snprintf(msg, sizeof(msg), "Login lockout state lost (%s); the "
		     "damaged file was kept as %s.corrupt", e.msg,
		     CONFIG_LOCKOUT_FILE) >= (int)sizeof(msg))
		msg[sizeof(msg) - 1] = '\0';
	note_add(cfg, msg);
	log_error("%s", msg);
	config_event(cfg, EVENTS_ERROR, EVENTS_CODE_CONFIG_CORRUPT, "%s", msg);
}

/*
 * Opens the config directory dir (created if missing). events may be NULL;
 * when given, recoveries, changes and lockouts are recorded there. A fresh
 * directory gets the defaults written out and no users.
 */
int config_open(const char *dir, struct events_log *events,
		struct config **out, struct err *e)
{
	struct config *cfg;
	json_t *body;
	int rc;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return err_set(e, CONFIG_ERR_NOMEM, "config: out of memory");
	if (snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir) >=
	    (int)sizeof(cfg->dir)) {
		free(cfg);
		return err_set(e, CONFIG_ERR_IO, "%s: path too long", dir);
	}
	pthread_mutex_init(&cfg->lock, NULL);
	cfg->events = events;
	cfg->now = config_clock;
	cfg->settings_file.name = CONFIG_SETTINGS_FILE;
	cfg->settings_file.mode = 0644;
	cfg->users_file.name = CONFIG_USERS_FILE;
	cfg->users_file.mode = 0600;	/* password hashes */
	cfg->lockout_file.name = CONFIG_LOCKOUT_FILE;
	cfg->lockout_file.mode = 0600;	/* who was guessing */
	buf_init(&cfg->settings_file.good, CONFIG_FILE_MAX);
	buf_init(&cfg->users_file.good, CONFIG_FILE_MAX);
	buf_init(&cfg->lockout_file.good, CONFIG_FILE_MAX);
	config_settings_defaults(cfg);
	config_lockouts_init(cfg);
	rc = fs_mkdir_p(dir, 0700, e);
	if (rc < 0) {
		rc = err_recode(e, CONFIG_ERR_IO);
		goto fail;
	}

	rc = config_file_load(cfg, &cfg->settings_file, &body, e);
	if (rc < 0)
		goto fail;
	if (body) {
		rc = config_settings_from_json(cfg, body, e);
		json_decref(body);
	} else {
		rc = config_settings_save(cfg, e);
	}
	if (rc < 0)
		goto fail;

	rc = config_file_load(cfg, &cfg->users_file, &body, e);
	if (rc < 0)
		goto fail;
	if (body) {
		rc = config_users_from_json(cfg, body, e);
		json_decref(body);
	} else {
		rc = config_users_save(cfg, e);
	}
	if (rc < 0)
		goto fail;
	lockouts_load(cfg);
	*out = cfg;
	return 0;
fail:
	config_close(cfg);
	return rc;
}

void config_close(struct config *cfg)
{
	if (!cfg)
		return;
	buf_free(&cfg->settings_file.good);
	buf_free(&cfg->users_file.good);
	buf_free(&cfg->lockout_file.good);
	pthread_mutex_destroy(&cfg->lock);
	explicit_bzero(cfg->users, sizeof(cfg->users));
	free(cfg);
}

/* What open had to repair, one line per file; "" when nothing. */
const char *config_recovery_note(struct config *cfg)
{
	return cfg->note;
}
