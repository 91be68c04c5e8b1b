/*
 * common.h: the small helpers every part shares: errors, a capped growing
 * buffer, borrowed slices, checked size arithmetic, atomic file writes,
 * CRC32C, hex, logging and fault points. Nothing here knows about bundles,
 * flash or protocols.
 */
#ifndef TANDEM_COMMON_H
#define TANDEM_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Limits of this part (STYLE.md: limits in one place). */
#define ERR_MESSAGE_MAX 512
#define FAULT_SPEC_MAX 256

/*
 * An error carries a negative code (the part's own enum) and a message that
 * names the thing, the place and the cause. Functions return 0 or the
 * negative code they stored.
 */
struct err {
	int code;
	char msg[ERR_MESSAGE_MAX];
};

/* err.c */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_setv(struct err *e, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);

/* A borrowed run of bytes; never owns its memory. */
struct slice {
	const uint8_t *ptr;
	size_t len;
};

/*
 * buf.c: a growing byte string with a hard cap, always NUL-terminated so it
 * can be printed. Appends past the cap fail and leave the buffer unchanged.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_appendf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *buf_steal(struct buf *b);

/* size.c: overflow-checked size arithmetic; each returns false on overflow. */
bool size_add(size_t a, size_t b, size_t *out);
bool size_mul(size_t a, size_t b, size_t *out);
bool u64_add(uint64_t a, uint64_t b, uint64_t *out);
bool u64_parse(const char *s, uint64_t max, uint64_t *out);

/* fsutil.c: whole-file I/O that survives signals and power cuts. */
int fs_write_all(int fd, const void *data, size_t len);
int fs_read_all(int fd, void *data, size_t len, size_t *got);
int fs_fsync_dir(const char *dir);
int fs_atomic_write(const char *path, const void *data, size_t len,
		    int mode, struct err *e);
int fs_read_file(const char *path, size_t max, struct buf *out,
		 struct err *e);
int fs_mkdir_p(const char *path, int mode, struct err *e);
int fs_remove_tree(const char *path);
#define FS_MAP_WINDOW	(1u << 20)	/* bytes fs_map_each maps at once */
#define FS_MAP_FAILED	(-1000)		/* a window could not be mapped */
int fs_map_each(int fd, size_t piece,
		int (*fn)(void *ctx, const uint8_t *data, size_t len,
			  struct err *e),
		void *ctx, struct err *e);

/*
 * powerloss.c: every durable I/O call goes through these; armed by a
 * powercut fault, they record what a power failure would lose and
 * powerloss_cut() loses it (the model is at the top of powerloss.c).
 */
#define POWERLOSS_RECORDS_MAX	65536	/* unsynced files or name changes */
#define POWERLOSS_MODEL_FAILED	87	/* exit status: could not record */
enum powerloss_mode {
	POWERLOSS_OFF,
	POWERLOSS_ALL,		/* every change not yet durable is lost */
	POWERLOSS_KEEP_LAST,	/* as ALL, but the newest change of names
				 * not yet durable survives */
};
void powerloss_arm(enum powerloss_mode mode);
bool powerloss_armed(void);
int powerloss_open(const char *path, int flags, int mode);
ssize_t powerloss_write(int fd, const void *data, size_t len);
ssize_t powerloss_pwrite(int fd, const void *data, size_t len, off_t off);
int powerloss_ftruncate(int fd, off_t len);
int powerloss_fsync(int fd);
int powerloss_fdatasync(int fd);
int powerloss_rename(const char *from, const char *to);
int powerloss_link(const char *from, const char *to);
int powerloss_unlink(const char *path);
int powerloss_mkdir(const char *path, int mode);
void powerloss_cut(void);

/* crc32c.c: CRC-32C (Castagnoli), as used by the boot records. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* hex.c */
void hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
int hex_decode(const char *in, uint8_t *out, size_t outlen);

/*
 * log.c: to stderr (or a capped file that stderr is pointed at), with the
 * program name and a level. Every line passes through log_escape(): bytes
 * below 0x20, DEL, backslash, C1 controls and anything not well-formed
 * UTF-8 are written as \xNN (a backslash as \\), so what a client sent
 * can never add a line or drive the terminal that reads the log.
 */
#define LOG_LINE_MAX		1024	/* message bytes kept, before escaping */
#define LOG_LIMIT_SLOTS		32	/* keys the rate limiter tracks at once */
#define LOG_LIMIT_KEY_MAX	48	/* bytes of a key, with NUL */
#define LOG_LIMIT_BURST		5	/* messages shown per key and window */
#define LOG_LIMIT_WINDOW_SECONDS 60
#define LOG_FILE_MAX_DEFAULT	(4u << 20)	/* bytes before rotation */
#define LOG_FILE_MIN		4096	/* smallest cap accepted */
#define LOG_FILE_KEEP_DEFAULT	2	/* older files kept: path.1, path.2 */
#define LOG_FILE_KEEP_MAX	9

void log_set_program(const char *name);
/* Text every line carries after the program's name and level, "" for none
 * (the config file's "FILE:LINE: KEY: " while options are parsed). */
void log_set_context(const char *text);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A warning that may repeat at a client's pace: per key, the first
 * LOG_LIMIT_BURST in a window of LOG_LIMIT_WINDOW_SECONDS are shown, the
 * rest counted; once the window has passed, the next line logged says
 * "<key>: (N similar messages suppressed in the last S s)".
 */
void log_warn_limited(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes the summaries still pending (at shutdown). */
void log_flush_limits(void);
/* Escapes len bytes of in; returns the length written (out is NUL-ended). */
size_t log_escape(const char *in, size_t len, char *out, size_t outlen);
/*
 * Points stderr at path, appending; past max_bytes the file moves to
 * path.1 (path.1 to path.2 ..., keeping keep older files) and a new one
 * starts.
 */
int log_open_file(const char *path, size_t max_bytes, unsigned keep,
		  struct err *e);
/* For tests: the limiter's clock, in milliseconds (NULL: monotonic). */
void log_set_clock(int64_t (*now_ms)(void));

/*
 * fault.c: fault points for the simulator and the tests, armed only through
 * the TANDEM_FAULTS environment variable, the simulator's faults file (see
 * fault_watch_start) or fault_arm(), for example
 *   TANDEM_FAULTS="powercut=37"         right after the 37th I/O step, undo
 *                                      what was not yet durable (powerloss.c)
 *                                      and _exit(FAULT_POWERCUT_STATUS)
 *   TANDEM_FAULTS="powercut=37,powerloss=keep-last"
 *                                      the same, but the newest change of
 *                                      names not yet durable survives the cut
 *                                      (default powerloss=all: none does)
 *   TANDEM_FAULTS="write-error=mc"      writes of component mc fail (EIO)
 *   TANDEM_FAULTS="write-error=mc@partner"
 *                                      only in loads the partner pushes
 *                                      (@ftp, @sftp, @http likewise)
 *   TANDEM_FAULTS="corrupt=sc"          one bit of sc flips after its write
 *   TANDEM_FAULTS="slow-flash=5"        each flash write sleeps 5 ms
 *   TANDEM_FAULTS="enospc=mc"           writes of component mc fail (ENOSPC)
 *   TANDEM_FAULTS="powercut=9@partner"  the cut comes at the 9th step of loads
 *                                      the partner pushes (steps elsewhere
 *                                      are not counted)
 *   TANDEM_FAULTS="link-drop=3"         in every bundle transfer over the
 *                                      partner link, the link drops right
 *                                      after the 3rd BUNDLE_DATA frame this
 *                                      controller sends or receives (armed on
 *                                      the sender, the receiver, or both)
 *   TANDEM_FAULTS="link-delay=200"      each frame tandemd sends to its
 *                                      partner waits 200 ms first (the link's
 *                                      own heartbeats do not)
 * Several are joined with commas. Unarmed, every check is a cheap no-op.
 * Arming replaces the whole armed set and restarts the step count; a spec
 * that does not parse disarms everything (fault_spec_check() first keeps
 * what is armed).
 */
#define FAULT_POWERCUT_STATUS 86
#define FAULT_SOURCE_MAX 16	/* a load source's name, with NUL */
#define FAULT_LINK_DELAY_MAX_MS 60000

int fault_arm(const char *spec, struct err *e);
/* Parses spec as fault_arm() would, arming nothing. */
int fault_spec_check(const char *spec, struct err *e);
void fault_disarm(void);
void fault_arm_from_env(void);
/*
 * The running load's source (update_begin's: "FTP", "SFTP", "HTTP",
 * "partner"), for faults limited with @SOURCE; NULL when it ends.
 */
void fault_load_source(const char *source);
void fault_step(const char *what);
unsigned long fault_steps_taken(void);
int fault_write_errno(const char *component);
bool fault_corrupt(const char *component);
void fault_slow_flash(void);
/* The partner link's fault points: a bundle transfer begins (sent or
 * received); a BUNDLE_DATA frame went or came (true: drop the link now);
 * a frame is about to be sent (sleeps for link-delay). */
void fault_link_transfer_begin(void);
bool fault_link_data_frame(void);
void fault_link_delay(void);
/*
 * Arms the spec held in path ("" or "clear" disarms everything); a bad
 * spec or an unreadable file changes nothing (-ENOENT when it is absent).
 */
int fault_rearm_from_file(const char *path, struct err *e);
/*
 * When TANDEM_FAULTS_FILE names a file (the simulator's run/<c>.faults):
 * arms what it holds, replacing TANDEM_FAULTS, then again on every
 * SIGUSR1, and after each read writes <file>.armed ("pid N", "rearms N",
 * "armed SPEC", "error MSG" when the spec was refused). Call before any
 * other thread starts: SIGUSR1 is blocked in the caller, for its threads
 * to inherit, and taken by a watcher thread.
 */
void fault_watch_start(void);

#endif
