/*
 * log.c: diagnostics to stderr or a capped, rotated file; operator-facing
 * events live in src/events. Every line is escaped here, whoever wrote its
 * arguments, so nothing a client sends can put a terminal escape sequence,
 * a newline or invalid UTF-8 into the log.
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

#include "common.h"

struct log_limit_slot {
	char key[LOG_LIMIT_KEY_MAX];
	int64_t window_start;	/* ms, log_now() */
	unsigned seen;		/* in this window, shown or not */
};

/* One lock for the sink, the rotation and the limiter's table. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *program = "tandem";
static char log_context[PATH_MAX + 64];	/* after the program's name */
static int log_fd = STDERR_FILENO;
static char log_path[PATH_MAX];		/* empty: stderr as inherited */
static size_t log_max_bytes;
static unsigned log_keep;
static size_t log_size;
static bool log_stdout_too;		/* stdout was the same file: follows */
static int log_journal = -1;		/* stderr is the journal: 1; -1 unknown */
static int64_t (*log_clock)(void);
static struct log_limit_slot log_slots[LOG_LIMIT_SLOTS];

void log_set_program(const char *name)
{
	program = name;
}

void log_set_context(const char *text)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_context, sizeof(log_context), "%s", text ? text : "");
	pthread_mutex_unlock(&log_lock);
}

static int64_t log_now(void)
{
	struct timespec ts;

	if (log_clock)
		return log_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_set_clock(int64_t (*now_ms)(void))
{
	pthread_mutex_lock(&log_lock);
	log_clock = now_ms;
	memset(log_slots, 0, sizeof(log_slots));
	pthread_mutex_unlock(&log_lock);
}

/*
 * Length of the well-formed UTF-8 character at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. C1 controls
 * (U+0080..U+009F) count as ill-formed: terminals obey them as escapes.
 */
static size_t utf8_char(const unsigned char *s, size_t len)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	need = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len < need)
		return 0;
	cp = s[0] & (0x7f >> need);
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0)
		return 0;
	return need;
}

size_t log_escape(const char *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (outlen == 0)
		return 0;
	while (i < len) {
		size_t n = s[i] >= 0x80 ? utf8_char(s + i, len - i) : 0;

		if (n) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)s[i++];
		} else if (s[i] == '\\') {
			/* Doubled, so a literal "\x1b" cannot pass as an escape. */
			if (o + 2 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 0xf];
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

static void log_write_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(log_fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* nowhere left to say so */
		data += n;
		len -= (size_t)n;
	}
}

/*
 * Moves path.(k-1) to path.k down to path to path.1, then starts a new
 * path on stderr. Locked. A rename that fails leaves the older file in
 * place: the log keeps going, at worst past its cap.
 */
static void log_rotate(void)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	int fd;

	for (unsigned k = log_keep; k > 1; k--) {
		snprintf(from, sizeof(from), "%s.%u", log_path, k - 1);
		snprintf(to, sizeof(to), "%s.%u", log_path, k);
		rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", log_path);
	if (log_keep > 0)
		rename(log_path, to);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		  (log_keep == 0 ? O_TRUNC : 0), 0644);
	if (fd < 0)
		return;
	dup2(fd, log_fd);
	if (log_stdout_too) {
		fflush(stdout);
		dup2(fd, STDOUT_FILENO);
	}
	close(fd);
	log_size = 0;
}

/* Writes one whole line; rotates first if it would pass the cap. Locked. */
static void log_emit(const char *line, size_t len)
{
	struct stat st;

	if (log_path[0]) {
		/* Others write to stderr too (libraries): ask the file. */
		if (fstat(log_fd, &st) == 0)
			log_size = (size_t)st.st_size;
		if (log_size > 0 && log_size + len > log_max_bytes)
			log_rotate();
	}
	log_write_all(line, len);
	log_size += len;
}

/*
 * The syslog priority prefix ("<3>" error, "<4>" warning, "<6>" info) when
 * stderr is the journal's stream: systemd sets JOURNAL_STREAM to its
 * "DEVICE:INODE", which a redirected stderr (--log-file, a pipe of our
 * own) no longer matches. The journal then keeps each line's level.
 * Locked.
 */
static const char *log_priority(const char *level)
{
	const char *env;
	struct stat st;
	unsigned long long dev, ino;

	if (log_journal < 0) {
		env = getenv("JOURNAL_STREAM");
		log_journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
			      fstat(log_fd, &st) == 0 &&
			      (unsigned long long)st.st_dev == dev &&
			      (unsigned long long)st.st_ino == ino;
	}
	if (!log_journal)
		return "";
	return level[0] == 'e' ? "<3>" : level[0] == 'w' ? "<4>" : "<6>";
}

static void log_emit_text(const char *level, const char *text, size_t len)
{
	char line[LOG_LINE_MAX * 4 + 128];
	int head;
	size_t n;

	head = snprintf(line, sizeof(line), "%s%s: %s", log_priority(level),
			program, level);
	if (head < 0 || (size_t)head >= sizeof(line) / 2)
		head = 0;
	n = (size_t)head + log_escape(log_context, strlen(log_context),
				      line + head, sizeof(line) / 4);
	n += log_escape(text, len, line + n, sizeof(line) - n - 1);
	line[n++] = '\n';
	log_emit(line, n);
}

/* The summary of a slot whose window has ended, if it hid anything. */
static void log_limit_close(struct log_limit_slot *slot, int64_t now)
{
	char text[LOG_LIMIT_KEY_MAX + 96];
	int n;

	if (slot->seen > LOG_LIMIT_BURST) {
		n = snprintf(text, sizeof(text),
			     "%s: (%u similar messages suppressed in the last "
			     "%lld s)", slot->key, slot->seen - LOG_LIMIT_BURST,
			     (long long)((now - slot->window_start + 999) /
					 1000));
		if (n > 0)
			log_emit_text("warning: ", text,
				      (size_t)n < sizeof(text) ? (size_t)n
							       : sizeof(text) - 1);
	}
	slot->seen = 0;
	slot->window_start = now;
}

/* Summaries of every window that has ended. Locked. */
static void log_limit_sweep(int64_t now)
{
	for (size_t i = 0; i < LOG_LIMIT_SLOTS; i++) {
		struct log_limit_slot *slot = &log_slots[i];

		if (slot->key[0] && slot->seen > 0 &&
		    now - slot->window_start >= LOG_LIMIT_WINDOW_SECONDS * 1000)
			log_limit_close(slot, now);
	}
}

/* True when a message under key may be shown now. Locked. */
static bool log_limit_allow(const char *key, int64_t now)
{
	struct log_limit_slot *slot = NULL, *oldest = &log_slots[0];

	for (size_t i = 0; i < LOG_LIMIT_SLOTS && !slot; i++) {
		struct log_limit_slot *s = &log_slots[i];

		if (s->key[0] && strncmp(s->key, key, sizeof(s->key) - 1) == 0)
			slot = s;
		else if (!s->key[0] && oldest->key[0])
			oldest = s;
		else if (s->key[0] && oldest->key[0] &&
			 s->window_start < oldest->window_start)
			oldest = s;
	}
	if (!slot) {
		/* A full table forgets its oldest key, after its summary. */
		slot = oldest;
		if (slot->key[0])
			log_limit_close(slot, now);
		snprintf(slot->key, sizeof(slot->key), "%s", key);
		slot->window_start = now;
		slot->seen = 0;
	}
	if (slot->seen == 0)
		slot->window_start = now;
	return ++slot->seen <= LOG_LIMIT_BURST;
}

static void log_line(const char *key, const char *level, const char *fmt,
		     va_list ap) __attribute__((format(printf, 3, 0)));

static void log_line(const char *key, const char *level, const char *fmt,
		     va_list ap)
{
	char text[LOG_LINE_MAX];
	int n;
	int64_t now;

	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	pthread_mutex_lock(&log_lock);
	now = log_now();
	log_limit_sweep(now);
	if (!key || log_limit_allow(key, now))
		log_emit_text(level, text, (size_t)n);
	pthread_mutex_unlock(&log_lock);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(NULL, "", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(NULL, "warning: ", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(NULL, "error: ", fmt, ap);
	va_end(ap);
}

void log_warn_limited(const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(key, "warning: ", fmt, ap);
	va_end(ap);
}

void log_flush_limits(void)
{
	int64_t now;

	pthread_mutex_lock(&log_lock);
	now = log_now();
	for (size_t i = 0; i < LOG_LIMIT_SLOTS; i++)
		if (log_slots[i].key[0] && log_slots[i].seen > 0)
			log_limit_close(&log_slots[i], now);
	pthread_mutex_unlock(&log_lock);
}

int log_open_file(const char *path, size_t max_bytes, unsigned keep,
		  struct err *e)
{
	struct stat st, out;
	int fd;

	if (max_bytes < LOG_FILE_MIN)
		return err_set(e, -EINVAL, "log file %s: cap %zu below %d "
			       "bytes", path, max_bytes, LOG_FILE_MIN);
	if (keep > LOG_FILE_KEEP_MAX)
		return err_set(e, -EINVAL, "log file %s: keeps at most %d "
			       "older files, not %u", path, LOG_FILE_KEEP_MAX,
			       keep);
	if (strlen(path) >= sizeof(log_path))
		return err_set(e, -ENAMETOOLONG, "log file %s: path too long",
			       path);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, -errno, "log file %s: cannot open: %s", path,
			       strerror(errno));
	pthread_mutex_lock(&log_lock);
	/* On stderr itself, so what libraries print is capped as well. */
	if (dup2(fd, STDERR_FILENO) < 0) {
		int rc = -errno;

		pthread_mutex_unlock(&log_lock);
		close(fd);
		return err_set(e, rc, "log file %s: %s", path, strerror(-rc));
	}
	close(fd);
	log_fd = STDERR_FILENO;
	log_journal = 0;	/* a file now, not the journal's stream */
	/* A supervisor that sent stdout to the same file keeps it there. */
	log_stdout_too = fstat(log_fd, &st) == 0 &&
			 fstat(STDOUT_FILENO, &out) == 0 &&
			 st.st_dev == out.st_dev && st.st_ino == out.st_ino;
	snprintf(log_path, sizeof(log_path), "%s", path);
	log_max_bytes = max_bytes;
	log_keep = keep;
	log_size = fstat(log_fd, &st) == 0 ? (size_t)st.st_size : 0;
	pthread_mutex_unlock(&log_lock);
	return 0;
}
