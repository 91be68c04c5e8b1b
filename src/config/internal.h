/*
 * internal.h: struct config and the helpers its files share. Not for use
 * outside src/config/.
 */
#ifndef TANDEM_CONFIG_INTERNAL_H
#define TANDEM_CONFIG_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>

#include "config/config.h"

#define CONFIG_FORMAT_VERSION	1
#define CONFIG_SETTINGS_FILE	"settings.json"
#define CONFIG_USERS_FILE	"users.json"
#define CONFIG_LOCKOUT_FILE	"lockout.json"

struct config_value {
	bool b;
	unsigned u;
	char s[CONFIG_STRING_MAX];
};

struct config_user_record {
	struct config_user pub;
	char hash[CONFIG_HASH_MAX];
	/* The HTTP API's digest verifiers (auth.c); "" for a user whose
	 * password was set before they existed. */
	char md5_hash[CONFIG_HASH_MAX];
	char sha256_hash[CONFIG_HASH_MAX];
};

struct config_lockout {
	char source[CONFIG_SOURCE_MAX];	/* "" = free slot */
	unsigned failures;
	unsigned in_flight;		/* attempts reserved, hash running */
	unsigned delay_step;		/* failures since the last success */
	time_t last_failure;
	time_t locked_until;		/* 0 = not locked */
};

/* The last good bytes of one file, written to .prev before replacing it. */
struct config_file {
	const char *name;
	int mode;
	struct buf good;
};

struct config {
	pthread_mutex_t lock;
	char dir[PATH_MAX];
	struct events_log *events;
	struct config_value values[CONFIG_KEY_COUNT];
	/* Enclosure-scope keys only; persisted beside the values. */
	struct config_stamp stamps[CONFIG_KEY_COUNT];
	uint64_t clock_ms;		/* the newest stamp held */
	char controller;		/* origin of local changes */
	struct config_user_record users[CONFIG_USERS_MAX];
	size_t nusers;
	struct config_file settings_file, users_file, lockout_file;
	struct {
		config_watch_fn fn;
		void *ctx;
	} watchers[CONFIG_WATCHERS_MAX];
	size_t nwatchers;
	struct config_lockout lockouts[CONFIG_LOCKOUT_SOURCES];
	/* The global limit: failures the bucket still allows (milli-tokens;
	 * below zero, logins queue) and when it was last refilled. */
	long long global_tokens;
	time_t global_refilled;
	time_t (*now)(void);
	void (*sleep_ms)(unsigned ms);
	char note[CONFIG_NOTE_MAX];
};

/* store.c */
int config_file_save(struct config *cfg, struct config_file *f,
		     json_t *body, struct err *e);
void config_notify(struct config *cfg, enum config_key key);
int config_file_load(struct config *cfg, struct config_file *f,
		     json_t **body, struct err *e);
void config_event(struct config *cfg, int severity, unsigned code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* settings.c */
void config_settings_defaults(struct config *cfg);
json_t *config_settings_to_json(struct config *cfg);
int config_settings_from_json(struct config *cfg, json_t *body,
			      struct err *e);
int config_settings_save(struct config *cfg, struct err *e);

/* users.c */
json_t *config_users_to_json(struct config *cfg);
int config_users_from_json(struct config *cfg, json_t *body, struct err *e);
int config_users_save(struct config *cfg, struct err *e);
struct config_user_record *config_user_find(struct config *cfg,
					    const char *name);

/* auth.c */
void config_lockouts_init(struct config *cfg);
int config_lockouts_from_json(struct config *cfg, json_t *body,
			      struct err *e);
int config_password_hash(const char *password, char *out, size_t outlen,
			 struct err *e);

#endif
