/*
 * config.h: a controller's settings and users (DESIGN.md: <state>/<a|b>/
 * config/), persisted atomically, and the login check with its lockout.
 *
 * Files: settings.json and users.json, each a JSON object with a
 * "checksum" member (CRC32C, 8 hex digits, of the object without it,
 * dumped compact with sorted keys). Before a file is replaced its last
 * good contents are written to <name>.prev; both writes go through
 * fs_atomic_write. A kill -9 at any moment leaves the old or the new
 * file. A file that fails to parse or check is moved aside as
 * <name>.corrupt, the .prev copy is used and rewritten in its place, and
 * the daemon is told (event CONFIG_CORRUPT and config_recovery_note()).
 *
 * Thread-safe: one mutex per struct config. Password hashing runs outside
 * it so a login does not stall other threads.
 */
#ifndef TANDEM_CONFIG_H
#define TANDEM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/common.h"

struct events_log;

/* Limits of this part; each is tested under, at and over. */
#define CONFIG_FILE_MAX		(256 * 1024)	/* bytes of one config file */
#define CONFIG_STRING_MAX	80	/* string settings, with NUL (79 bytes) */
#define CONFIG_USERS_MAX	16
#define CONFIG_USER_NAME_MAX	30	/* with NUL: 1..29 bytes */
#define CONFIG_PASSWORD_MIN	8
#define CONFIG_PASSWORD_MAX	32
#define CONFIG_HASH_MAX		128	/* yescrypt hash string, with NUL */
#define CONFIG_WATCHERS_MAX	8
#define CONFIG_LOCKOUT_SOURCES	256	/* failed-login sources remembered */
#define CONFIG_LOGIN_GLOBAL_BURST 10	/* failures at once, all sources */
#define CONFIG_LOGIN_WAIT_MAX_SECONDS 5	/* longest queue for the global limit */
#define CONFIG_LOGIN_DELAY_MAX_MS 8000	/* cap of the growing delay */
#define CONFIG_SOURCE_MAX	64	/* source address text, with NUL */
#define CONFIG_NOTE_MAX		1024

enum config_error {
	CONFIG_OK = 0,
	CONFIG_ERR_IO = -1,		/* reading or writing a file failed */
	CONFIG_ERR_CORRUPT = -2,	/* a file and its .prev are both bad */
	CONFIG_ERR_UNKNOWN_KEY = -3,	/* no setting of that name */
	CONFIG_ERR_VALUE = -4,		/* value of the wrong type or range */
	CONFIG_ERR_USER_EXISTS = -5,
	CONFIG_ERR_NO_USER = -6,
	CONFIG_ERR_USER_NAME = -7,	/* breaks the name rules */
	CONFIG_ERR_PASSWORD = -8,	/* breaks the password rules */
	CONFIG_ERR_TOO_MANY = -9,	/* CONFIG_USERS_MAX reached */
	CONFIG_ERR_LAST_MANAGER = -10,	/* would leave no manage user */
	CONFIG_ERR_AUTH = -11,		/* wrong user name or password */
	CONFIG_ERR_LOCKED_OUT = -12,	/* source locked out after failures */
	CONFIG_ERR_INTERFACE = -13,	/* user may not use that interface */
	CONFIG_ERR_NOMEM = -14,
	CONFIG_ERR_HASH = -15,		/* the password hashing library failed */
};
#define CONFIG_ERR_COUNT 16

/* Settings; the table in settings.c gives each its name, type, default. */
enum config_key {
	CONFIG_PARTNER_FIRMWARE_UPGRADE,
	CONFIG_PFU_ATTEMPT_LIMIT,
	CONFIG_PFU_BACKOFF_SECONDS,
	CONFIG_PFU_PARTNER_WAIT_SECONDS,
	CONFIG_PFU_AUTO_ROLLBACK,
	CONFIG_LOGIN_LOCKOUT_THRESHOLD,
	CONFIG_LOGIN_LOCKOUT_SECONDS,
	CONFIG_LOGIN_FAILURE_DELAY_MS,
	CONFIG_LOGIN_GLOBAL_FAILURES,
	CONFIG_SFTP_PACKET_SECONDS,
	CONFIG_CLI_TIMEOUT_SECONDS,
	CONFIG_SYSTEM_NAME,
	CONFIG_SYSTEM_CONTACT,
	CONFIG_SYSTEM_LOCATION,
	CONFIG_SYSTEM_INFORMATION,
	/* Protocols, in `show protocols` order (MSA-REFERENCE.md). */
	CONFIG_PROTO_HTTP,
	CONFIG_PROTO_HTTPS,
	CONFIG_PROTO_TELNET,
	CONFIG_PROTO_SSH,
	CONFIG_PROTO_SMIS,
	CONFIG_PROTO_USMIS,
	CONFIG_PROTO_SLP,
	CONFIG_PROTO_FTP,
	CONFIG_PROTO_SFTP,
	CONFIG_PROTO_SNMP,
	CONFIG_PROTO_DEBUG,
	CONFIG_PROTO_SES,
	CONFIG_PROTO_ACTIVITY,
	CONFIG_KEY_COUNT
};
#define CONFIG_PROTO_FIRST CONFIG_PROTO_HTTP
#define CONFIG_PROTO_LAST  CONFIG_PROTO_ACTIVITY

enum config_type { CONFIG_BOOL, CONFIG_UINT, CONFIG_STRING };

/* Where a setting belongs; enclosure settings are mirrored to the partner. */
enum config_scope { CONFIG_SCOPE_CONTROLLER, CONFIG_SCOPE_ENCLOSURE };

struct config_key_info {
	enum config_key key;
	const char *name;	/* settings.json name and the CLI's get/set name */
	const char *group;	/* "advanced-settings", "protocols", "system", "security" */
	const char *xml_name;	/* property name in the family's XML, or NULL */
	const char *display;	/* console label */
	enum config_type type;
	enum config_scope scope;
	bool served;		/* protocols: Tandem really runs this service */
	bool default_bool;
	unsigned default_uint, min_uint, max_uint;
	const char *default_string;
};

/* Roles and interfaces of a user, as bit sets. */
#define CONFIG_ROLE_MONITOR	0x1u
#define CONFIG_ROLE_MANAGE	0x2u

enum config_interface {
	CONFIG_IFACE_CLI = 0x1,		/* console, telnet, SSH */
	CONFIG_IFACE_WBI = 0x2,		/* web UI and HTTP API */
	CONFIG_IFACE_FTP = 0x4,		/* FTP and SFTP */
	CONFIG_IFACE_SMIS = 0x8,
};
#define CONFIG_IFACE_ALL 0xfu

enum config_temperature { CONFIG_CELSIUS, CONFIG_FAHRENHEIT };

/* The output format a user's CLI sessions and one-shot SSH commands start
 * in (ours: the family keeps it per session only; docs/compat.md). Same
 * order as the CLI's output modes. */
enum config_output {
	CONFIG_OUTPUT_CONSOLE = 0,
	CONFIG_OUTPUT_API,
	CONFIG_OUTPUT_API_EMBED,
	CONFIG_OUTPUT_JSON,
};

/* What `show users` prints for each user; the hash never leaves config. */
struct config_user {
	char name[CONFIG_USER_NAME_MAX];
	unsigned roles;
	unsigned interfaces;
	char locale[16];		/* "English" */
	unsigned base;			/* storage size base: 2 or 10 */
	unsigned precision;		/* 1..10 */
	char units[8];			/* "auto", "MB", "GB", "TB" */
	enum config_temperature temperature;
	unsigned timeout;		/* CLI idle seconds */
	enum config_output output;	/* users.json "output-format" */
};

/*
 * When an enclosure-scope setting last changed, for the partner mirror
 * (DESIGN.md: a change on either controller holds on both, newest wins).
 * ms is a hybrid clock: the wall clock in milliseconds, but always above
 * every stamp this config has held, so a change made after a mirrored one
 * is newer even when the partner's clock runs ahead. origin is the
 * controller the change was made on; a value never changed has ms 0.
 * Order: ms, then origin 'A' above 'B' above none (config_stamp_newer).
 */
struct config_stamp {
	uint64_t ms;
	char origin;		/* 'A', 'B' or 0 */
};

typedef void (*config_watch_fn)(void *ctx, enum config_key key);

struct config;

/* store.c */
int config_open(const char *dir, struct events_log *events,
		struct config **out, struct err *e);
void config_close(struct config *cfg);
const char *config_recovery_note(struct config *cfg);
int config_watch(struct config *cfg, config_watch_fn fn, void *ctx);
/* Removes a watcher; a call already under way may still finish. */
void config_unwatch(struct config *cfg, config_watch_fn fn, void *ctx);
const char *config_error_name(int code);

/* settings.c */
const struct config_key_info *config_keys(size_t *count);
const struct config_key_info *config_key_find(const char *name);
const struct config_key_info *config_protocol_find(const char *cli_name);
bool config_get_bool(struct config *cfg, enum config_key key);
unsigned config_get_uint(struct config *cfg, enum config_key key);
void config_get_string(struct config *cfg, enum config_key key, char *out,
		       size_t outlen);
int config_set_bool(struct config *cfg, enum config_key key, bool value,
		    struct err *e);
int config_set_uint(struct config *cfg, enum config_key key, unsigned value,
		    struct err *e);
int config_set_string(struct config *cfg, enum config_key key,
		      const char *value, struct err *e);
int config_get_text(struct config *cfg, const char *name, char *out,
		    size_t outlen, struct err *e);
int config_set_text(struct config *cfg, const char *name, const char *value,
		    struct err *e);
int config_parse_switch(const char *text, bool *out);
/* The origin of this controller's own changes ('A' or 'B'). */
void config_set_controller(struct config *cfg, char id);
bool config_stamp_newer(const struct config_stamp *a,
			const struct config_stamp *b);
/* Value (config_get_text's form) and its stamp, read together. */
int config_get_stamped(struct config *cfg, enum config_key key, char *text,
		       size_t textlen, struct config_stamp *stamp);
/*
 * A partner's enclosure-scope setting: taken when its stamp is newer than
 * ours (1: applied, watchers told as for a local change, an event names
 * the origin), kept otherwise (0). CONFIG_ERR_UNKNOWN_KEY for no such or
 * a controller-scope setting, CONFIG_ERR_VALUE for a bad value or stamp.
 */
int config_mirror_apply(struct config *cfg, const char *name,
			const char *value, const struct config_stamp *stamp,
			struct err *e);

/* users.c */
int config_user_create(struct config *cfg, const struct config_user *user,
		       const char *password, struct err *e);
/* A pre-hashed entry: hash is a crypt(3) yescrypt string ("$y$..."). */
int config_user_create_hashed(struct config *cfg,
			      const struct config_user *user, const char *hash,
			      struct err *e);
int config_user_delete(struct config *cfg, const char *name, struct err *e);
int config_user_set_password(struct config *cfg, const char *name,
			     const char *password, struct err *e);
int config_user_update(struct config *cfg, const struct config_user *user,
		       struct err *e);
int config_user_set_output(struct config *cfg, const char *name,
			   enum config_output output, struct err *e);
int config_user_get(struct config *cfg, const char *name,
		    struct config_user *out);
size_t config_users_list(struct config *cfg, struct config_user *out,
			 size_t max);
void config_user_defaults(struct config_user *u, const char *name,
			  unsigned roles);
int config_user_name_check(const char *name, struct err *e);
int config_password_check(const char *password, struct err *e);
int config_users_seed_defaults(struct config *cfg, struct err *e);
int config_roles_parse(const char *text, unsigned *roles, struct err *e);
int config_interfaces_parse(const char *text, unsigned *ifaces,
			    struct err *e);
int config_roles_format(unsigned roles, struct buf *out);
int config_interfaces_format(unsigned ifaces, struct buf *out);
/* "console", "api", "api-embed", "json"; parse: 0 or CONFIG_ERR_VALUE. */
const char *config_output_name(enum config_output output);
int config_output_parse(const char *text, enum config_output *out,
			struct err *e);

/* auth.c */
int config_auth_login(struct config *cfg, const char *user,
		      const char *password, unsigned ifaces,
		      const char *source, unsigned *roles, struct err *e);
int config_auth_may_use(struct config *cfg, const char *user,
			unsigned iface, struct err *e);
int config_auth_login_digest(struct config *cfg, const char *digest,
			     unsigned ifaces, const char *source,
			     char *user, unsigned *roles, struct err *e);
int config_digest_hashes(const char *user, const char *password,
			 char md5[CONFIG_HASH_MAX],
			 char sha256[CONFIG_HASH_MAX], struct err *e);
void config_auth_set_clock(struct config *cfg, time_t (*now)(void));
void config_auth_set_sleep(struct config *cfg, void (*sleep_ms)(unsigned));

#endif
