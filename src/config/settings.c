/*
 * settings.c: the settings key table (name, type, default, range) and
 * their typed get/set, by key or by name for the CLI. Persisting is
 * store.c's job; here a set is: check, change, save, undo on failure (C4),
 * then event and watchers outside the lock.
 *
 * Console labels of the protocols are the family's (MSA-REFERENCE.md
 * "show protocols"): the FTP one is seen, the others recalled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/internal.h"
#include "events/events.h"

#define BOOL_KEY(k, n, g, x, d, sc, def) \
	{ .key = k, .name = n, .group = g, .xml_name = x, .display = d, \
	  .type = CONFIG_BOOL, .scope = sc, .default_bool = def }
#define PROTO_KEY(k, n, x, d, served_, def) \
	{ .key = k, .name = n, .group = "protocols", .xml_name = x, \
	  .display = d, .type = CONFIG_BOOL, .scope = CONFIG_SCOPE_ENCLOSURE, \
	  .served = served_, .default_bool = def }
#define UINT_KEY(k, n, g, d, sc, def, lo, hi) \
	{ .key = k, .name = n, .group = g, .display = d, .type = CONFIG_UINT, \
	  .scope = sc, .default_uint = def, .min_uint = lo, .max_uint = hi }
#define STRING_KEY(k, n, x, d, def) \
	{ .key = k, .name = n, .group = "system", .xml_name = x, .display = d, \
	  .type = CONFIG_STRING, .scope = CONFIG_SCOPE_ENCLOSURE, \
	  .default_string = def }

/*
 * Defaults follow DESIGN.md "Security": FTP and telnet off; services
 * Tandem does not run (served = false) are off and say so honestly.
 */
static const struct config_key_info config_key_table[CONFIG_KEY_COUNT] = {
	BOOL_KEY(CONFIG_PARTNER_FIRMWARE_UPGRADE, "partner-firmware-upgrade",
		 "advanced-settings", "partner-firmware-upgrade",
		 "Partner Firmware Upgrade", CONFIG_SCOPE_ENCLOSURE, true),
	UINT_KEY(CONFIG_PFU_ATTEMPT_LIMIT, "pfu-attempt-limit",
		 "advanced-settings", "PFU Attempt Limit",
		 CONFIG_SCOPE_ENCLOSURE, 3, 1, 20),
	/* PFU's wait after its first failed attempt (doubled after each
	 * further one, up to 16x) and for the partner's return once it
	 * accepted the bundle: minutes in the field, as a partner's flash
	 * and restart take 5-10; the simulator sets seconds. Not in the
	 * family's XML. */
	UINT_KEY(CONFIG_PFU_BACKOFF_SECONDS, "pfu-backoff-seconds",
		 "advanced-settings", "PFU Retry Delay (s)",
		 CONFIG_SCOPE_ENCLOSURE, 300, 1, 86400),
	UINT_KEY(CONFIG_PFU_PARTNER_WAIT_SECONDS, "pfu-partner-wait-seconds",
		 "advanced-settings", "PFU Partner Restart Wait (s)",
		 CONFIG_SCOPE_ENCLOSURE, 1800, 5, 86400),
	/* A halted PFU returns the controller that moved to its previous
	 * bank by itself (DESIGN.md: "a setting can make roll-back
	 * automatic"). */
	BOOL_KEY(CONFIG_PFU_AUTO_ROLLBACK, "pfu-auto-rollback",
		 "advanced-settings", NULL, "PFU Automatic Roll-back",
		 CONFIG_SCOPE_ENCLOSURE, false),
	UINT_KEY(CONFIG_LOGIN_LOCKOUT_THRESHOLD, "login-lockout-threshold",
		 "security", "Login Lockout Threshold",
		 CONFIG_SCOPE_CONTROLLER, 5, 1, 100),
	UINT_KEY(CONFIG_LOGIN_LOCKOUT_SECONDS, "login-lockout-seconds",
		 "security", "Login Lockout Duration",
		 CONFIG_SCOPE_CONTROLLER, 300, 1, 86400),
	/* The wait after a failed login, doubled by each further failure
	 * from the same source (up to CONFIG_LOGIN_DELAY_MAX_MS). */
	UINT_KEY(CONFIG_LOGIN_FAILURE_DELAY_MS, "login-failure-delay-ms",
		 "security", "Login Failure Delay (ms)",
		 CONFIG_SCOPE_CONTROLLER, 1000, 0, 10000),
	/* Failed logins a minute across all sources before every login
	 * waits its turn (after a burst of CONFIG_LOGIN_GLOBAL_BURST). */
	UINT_KEY(CONFIG_LOGIN_GLOBAL_FAILURES, "login-global-failures",
		 "security", "Login Failures per Minute (all sources)",
		 CONFIG_SCOPE_CONTROLLER, 60, 1, 6000),
	/* An SFTP client's time to finish a packet it began (shell.h). */
	UINT_KEY(CONFIG_SFTP_PACKET_SECONDS, "sftp-packet-seconds",
		 "security", "SFTP Packet Deadline",
		 CONFIG_SCOPE_CONTROLLER, 30, 1, 600),
	UINT_KEY(CONFIG_CLI_TIMEOUT_SECONDS, "cli-timeout",
		 "security", "Timeout",
		 CONFIG_SCOPE_CONTROLLER, 1800, 120, 43200),
	STRING_KEY(CONFIG_SYSTEM_NAME, "system-name", "system-name",
		   "System Name", "Uninitialized Name"),
	STRING_KEY(CONFIG_SYSTEM_CONTACT, "system-contact", "system-contact",
		   "System Contact", "Uninitialized Contact"),
	STRING_KEY(CONFIG_SYSTEM_LOCATION, "system-location",
		   "system-location", "System Location",
		   "Uninitialized Location"),
	STRING_KEY(CONFIG_SYSTEM_INFORMATION, "system-information",
		   "system-information", "System Information",
		   "Uninitialized Info"),
	/* Plain HTTP carries the API's session keys in the clear: off
	 * unless asked for, as the family's newer models ship. */
	PROTO_KEY(CONFIG_PROTO_HTTP, "http", "wbi-http",
		  "Web Browser Interface (WBI)", true, false),
	PROTO_KEY(CONFIG_PROTO_HTTPS, "https", "wbi-https",
		  "Secure Web Browser Interface (Secure WBI)", true, true),
	PROTO_KEY(CONFIG_PROTO_TELNET, "telnet", "cli-telnet",
		  "Command Line Interface (CLI)", true, false),
	PROTO_KEY(CONFIG_PROTO_SSH, "ssh", "cli-ssh",
		  "Secure Command Line Interface (Secure CLI)", true, true),
	PROTO_KEY(CONFIG_PROTO_SMIS, "smis", "smis",
		  "Storage Management Initiative Specification (SMI-S)",
		  false, false),
	PROTO_KEY(CONFIG_PROTO_USMIS, "usmis", "usmis",
		  "Unsecure Storage Management Initiative Specification "
		  "(SMI-S 5988)", false, false),
	PROTO_KEY(CONFIG_PROTO_SLP, "slp", "slp",
		  "Service Location Protocol (SLP)", false, false),
	PROTO_KEY(CONFIG_PROTO_FTP, "ftp", "ftp",
		  "File Transfer Protocol (FTP)", true, false),
	PROTO_KEY(CONFIG_PROTO_SFTP, "sftp", "sftp",
		  "Secure File Transfer Protocol (SFTP)", true, true),
	PROTO_KEY(CONFIG_PROTO_SNMP, "snmp", "snmp",
		  "Simple Network Management Protocol (SNMP)", false, false),
	PROTO_KEY(CONFIG_PROTO_DEBUG, "debug", "debug-interface",
		  "Service Debug", false, false),
	PROTO_KEY(CONFIG_PROTO_SES, "ses", "inband-ses",
		  "In-band SES Management (SES)", false, false),
	PROTO_KEY(CONFIG_PROTO_ACTIVITY, "activity", "activity-progress",
		  "Activity Progress Reporting (activity)", false, false),
};

const struct config_key_info *config_keys(size_t *count)
{
	*count = CONFIG_KEY_COUNT;
	return config_key_table;
}

const struct config_key_info *config_key_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
		if (!strcmp(config_key_table[i].name, name))
			return &config_key_table[i];
	return NULL;
}

/* A `set protocols` parameter name: "ftp", "telnet", ... */
const struct config_key_info *config_protocol_find(const char *cli_name)
{
	const struct config_key_info *k = config_key_find(cli_name);

	return k && !strcmp(k->group, "protocols") ? k : NULL;
}

/* The family's switch words: enabled/disabled and on/off. */
int config_parse_switch(const char *text, bool *out)
{
	if (!strcasecmp(text, "enabled") || !strcasecmp(text, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(text, "disabled") || !strcasecmp(text, "off")) {
		*out = false;
		return 0;
	}
	return -1;
}

void config_settings_defaults(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key_info *k = &config_key_table[i];
		struct config_value *v = &cfg->values[i];

		memset(v, 0, sizeof(*v));
		memset(&cfg->stamps[i], 0, sizeof(cfg->stamps[i]));
		v->b = k->default_bool;
		v->u = k->default_uint;
		if (k->default_string)
			snprintf(v->s, sizeof(v->s), "%s", k->default_string);
	}
}

static int string_check(const struct config_key_info *k, const char *s,
			struct err *e)
{
	json_t *probe;

	if (strlen(s) >= CONFIG_STRING_MAX)
		return err_set(e, CONFIG_ERR_VALUE,
			       "%s is longer than %d bytes", k->name,
			       CONFIG_STRING_MAX - 1);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '\\')
			return err_set(e, CONFIG_ERR_VALUE,
				       "%s may not contain control characters "
				       "or any of \" < > \\", k->name);
	probe = json_string(s);
	if (!probe)
		return err_set(e, CONFIG_ERR_VALUE, "%s is not valid UTF-8",
			       k->name);
	json_decref(probe);
	return 0;
}

static int value_check(const struct config_key_info *k,
		       const struct config_value *v, struct err *e)
{
	if (k->type == CONFIG_UINT && (v->u < k->min_uint || v->u > k->max_uint))
		return err_set(e, CONFIG_ERR_VALUE,
			       "%s must be between %u and %u", k->name,
			       k->min_uint, k->max_uint);
	if (k->type == CONFIG_STRING)
		return string_check(k, v->s, e);
	return 0;
}

json_t *config_settings_to_json(struct config *cfg)
{
	json_t *root = json_object(), *s = json_object();

	if (!root || !s) {
		json_decref(root);
		json_decref(s);
		return NULL;
	}
	json_t *stamps = json_object();

	if (!stamps) {
		json_decref(root);
		json_decref(s);
		return NULL;
	}
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key_info *k = &config_key_table[i];
		const struct config_value *v = &cfg->values[i];
		const struct config_stamp *st = &cfg->stamps[i];
		json_t *j = k->type == CONFIG_BOOL ? json_boolean(v->b) :
			    k->type == CONFIG_UINT ? json_integer(v->u) :
			    json_string(v->s);

		if (json_object_set_new(s, k->name, j) < 0 ||
		    (st->ms && json_object_set_new(stamps, k->name,
			json_pack("{sI ss#}", "ms", (json_int_t)st->ms, "by",
				  &st->origin, (int)(st->origin != 0))) < 0)) {
			json_decref(root);
			json_decref(s);
			json_decref(stamps);
			return NULL;
		}
	}
	json_object_set_new(root, "settings", s);
	/* settings.json: "stamps": {"ftp": {"ms": 1764858000123, "by": "B"}}
	 * for each enclosure setting changed since the file began. */
	json_object_set_new(root, "stamps", stamps);
	return root;
}

/* Stamps of a file written before they existed are all 0. */
static int stamps_from_json(struct config *cfg, json_t *stamps, struct err *e)
{
	struct config_stamp st[CONFIG_KEY_COUNT];
	uint64_t clock = 0;

	memset(st, 0, sizeof(st));
	if (stamps && !json_is_object(stamps))
		return err_set(e, CONFIG_ERR_CORRUPT, "%s/%s: bad stamps",
			       cfg->dir, CONFIG_SETTINGS_FILE);
	for (size_t i = 0; stamps && i < CONFIG_KEY_COUNT; i++) {
		const struct config_key_info *k = &config_key_table[i];
		json_t *j = json_object_get(stamps, k->name);
		json_t *ms = json_object_get(j, "ms");
		const char *by = json_string_value(json_object_get(j, "by"));

		if (!j)
			continue;
		if (k->scope != CONFIG_SCOPE_ENCLOSURE ||
		    !json_is_integer(ms) || json_integer_value(ms) <= 0 || !by ||
		    (strcmp(by, "A") && strcmp(by, "B") && *by))
			return err_set(e, CONFIG_ERR_CORRUPT,
				       "%s/%s: bad stamp for %s", cfg->dir,
				       CONFIG_SETTINGS_FILE, k->name);
		st[i].ms = (uint64_t)json_integer_value(ms);
		st[i].origin = by[0];
		if (st[i].ms > clock)
			clock = st[i].ms;
	}
	memcpy(cfg->stamps, st, sizeof(st));
	cfg->clock_ms = clock;
	return 0;
}

/*
 * Strict on what it knows: a known key of the wrong type or out of range
 * fails the file. A key missing (added by a newer build) keeps its default.
 */
int config_settings_from_json(struct config *cfg, json_t *body, struct err *e)
{
	struct config_value vals[CONFIG_KEY_COUNT];
	json_t *s = json_object_get(body, "settings");

	if (!json_is_object(s))
		return err_set(e, CONFIG_ERR_CORRUPT,
			       "%s/%s: no settings object", cfg->dir,
			       CONFIG_SETTINGS_FILE);
	memcpy(vals, cfg->values, sizeof(vals));
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key_info *k = &config_key_table[i];
		json_t *j = json_object_get(s, k->name);
		bool ok;

		if (!j)
			continue;
		if (k->type == CONFIG_BOOL) {
			ok = json_is_boolean(j);
			vals[i].b = json_is_true(j);
		} else if (k->type == CONFIG_UINT) {
			ok = json_is_integer(j) && json_integer_value(j) >= 0 &&
			     json_integer_value(j) <= k->max_uint;
			vals[i].u = ok ? (unsigned)json_integer_value(j) : 0;
		} else {
			ok = json_is_string(j) &&
			     json_string_length(j) < CONFIG_STRING_MAX;
			if (ok)
				snprintf(vals[i].s, sizeof(vals[i].s), "%s",
					 json_string_value(j));
		}
		if (!ok || value_check(k, &vals[i], e) < 0)
			return err_set(e, CONFIG_ERR_CORRUPT,
				       "%s/%s: bad value for %s", cfg->dir,
				       CONFIG_SETTINGS_FILE, k->name);
	}
	memcpy(cfg->values, vals, sizeof(vals));
	return stamps_from_json(cfg, json_object_get(body, "stamps"), e);
}

int config_settings_save(struct config *cfg, struct err *e)
{
	return config_file_save(cfg, &cfg->settings_file,
				config_settings_to_json(cfg), e);
}

static void value_text(const struct config_key_info *k,
		       const struct config_value *v, char *out, size_t outlen)
{
	if (k->type == CONFIG_BOOL)
		snprintf(out, outlen, "%s", v->b ? "Enabled" : "Disabled");
	else if (k->type == CONFIG_UINT)
		snprintf(out, outlen, "%u", v->u);
	else
		snprintf(out, outlen, "%s", v->s);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned stamp_rank(char origin)
{
	return origin == 'A' ? 2 : origin == 'B' ? 1 : 0;
}

bool config_stamp_newer(const struct config_stamp *a,
			const struct config_stamp *b)
{
	if (a->ms != b->ms)
		return a->ms > b->ms;
	return stamp_rank(a->origin) > stamp_rank(b->origin);
}

void config_set_controller(struct config *cfg, char id)
{
	pthread_mutex_lock(&cfg->lock);
	cfg->controller = id;
	pthread_mutex_unlock(&cfg->lock);
}

/*
 * Check, change, save; undo if the save fails (C4); then tell. mirrored:
 * the partner's change with its stamp, taken only when newer (returns 1
 * when taken); NULL: a local change, stamped now.
 */
static int setting_store(struct config *cfg, const struct config_key_info *k,
			 const struct config_value *nv,
			 const struct config_stamp *mirrored, struct err *e)
{
	struct config_value old;
	struct config_stamp old_stamp, stamp;
	uint64_t old_clock;
	char text[CONFIG_STRING_MAX];
	bool same;
	int rc;

	rc = value_check(k, nv, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cfg->lock);
	old = cfg->values[k->key];
	old_stamp = cfg->stamps[k->key];
	old_clock = cfg->clock_ms;
	same = k->type == CONFIG_BOOL ? old.b == nv->b :
	       k->type == CONFIG_UINT ? old.u == nv->u : !strcmp(old.s, nv->s);
	if (mirrored) {
		if (!config_stamp_newer(mirrored, &old_stamp)) {
			pthread_mutex_unlock(&cfg->lock);
			return 0;
		}
		stamp = *mirrored;
	} else {
		if (same) {
			pthread_mutex_unlock(&cfg->lock);
			return 0;
		}
		stamp.ms = wall_ms();
		if (stamp.ms <= cfg->clock_ms)
			stamp.ms = cfg->clock_ms + 1;
		stamp.origin = cfg->controller;
	}
	cfg->values[k->key] = *nv;
	if (k->scope == CONFIG_SCOPE_ENCLOSURE) {
		cfg->stamps[k->key] = stamp;
		if (stamp.ms > cfg->clock_ms)
			cfg->clock_ms = stamp.ms;
	}
	rc = config_settings_save(cfg, e);
	if (rc < 0) {
		cfg->values[k->key] = old;
		cfg->stamps[k->key] = old_stamp;
		cfg->clock_ms = old_clock;
	}
	pthread_mutex_unlock(&cfg->lock);
	if (rc < 0)
		return rc;
	if (same)	/* mirrored: only the stamp moved */
		return 1;
	value_text(k, nv, text, sizeof(text));
	if (mirrored)
		config_event(cfg, EVENTS_INFORMATIONAL,
			     EVENTS_CODE_CONFIG_CHANGED,
			     "Setting '%s' was set to '%s' on controller %c "
			     "(mirrored from the partner).", k->name, text,
			     mirrored->origin ? mirrored->origin : '?');
	else
		config_event(cfg, EVENTS_INFORMATIONAL,
			     EVENTS_CODE_CONFIG_CHANGED,
			     "Setting '%s' was set to '%s'.", k->name, text);
	config_notify(cfg, k->key);
	return mirrored ? 1 : 0;
}

bool config_get_bool(struct config *cfg, enum config_key key)
{
	bool v;

	pthread_mutex_lock(&cfg->lock);
	v = cfg->values[key].b;
	pthread_mutex_unlock(&cfg->lock);
	return v;
}

unsigned config_get_uint(struct config *cfg, enum config_key key)
{
	unsigned v;

	pthread_mutex_lock(&cfg->lock);
	v = cfg->values[key].u;
	pthread_mutex_unlock(&cfg->lock);
	return v;
}

void config_get_string(struct config *cfg, enum config_key key, char *out,
		       size_t outlen)
{
	pthread_mutex_lock(&cfg->lock);
	snprintf(out, outlen, "%s", cfg->values[key].s);
	pthread_mutex_unlock(&cfg->lock);
}

static int key_typed(enum config_key key, enum config_type type,
		     const struct config_key_info **k, struct err *e)
{
	if ((unsigned)key >= CONFIG_KEY_COUNT ||
	    config_key_table[key].type != type)
		return err_set(e, CONFIG_ERR_UNKNOWN_KEY,
			       "no setting of that type");
	*k = &config_key_table[key];
	return 0;
}

int config_set_bool(struct config *cfg, enum config_key key, bool value,
		    struct err *e)
{
	const struct config_key_info *k = NULL;
	struct config_value v = { .b = value };
	int rc = key_typed(key, CONFIG_BOOL, &k, e);

	if (rc < 0)
		return rc;
	return setting_store(cfg, k, &v, NULL, e);
}

int config_set_uint(struct config *cfg, enum config_key key, unsigned value,
		    struct err *e)
{
	const struct config_key_info *k = NULL;
	struct config_value v = { .u = value };
	int rc = key_typed(key, CONFIG_UINT, &k, e);

	if (rc < 0)
		return rc;
	return setting_store(cfg, k, &v, NULL, e);
}

int config_set_string(struct config *cfg, enum config_key key,
		      const char *value, struct err *e)
{
	const struct config_key_info *k = NULL;
	struct config_value v = { 0 };
	int rc = key_typed(key, CONFIG_STRING, &k, e);

	if (rc < 0)
		return rc;
	if (strlen(value) >= sizeof(v.s))
		return err_set(e, CONFIG_ERR_VALUE,
			       "%s is longer than %d bytes", k->name,
			       CONFIG_STRING_MAX - 1);
	snprintf(v.s, sizeof(v.s), "%s", value);
	return setting_store(cfg, k, &v, NULL, e);
}

/* Booleans read "Enabled"/"Disabled", as the family prints them. */
int config_get_text(struct config *cfg, const char *name, char *out,
		    size_t outlen, struct err *e)
{
	const struct config_key_info *k = config_key_find(name);

	if (!k)
		return err_set(e, CONFIG_ERR_UNKNOWN_KEY,
			       "no setting named '%s'", name);
	pthread_mutex_lock(&cfg->lock);
	value_text(k, &cfg->values[k->key], out, outlen);
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

/* A value in its text form (config_set_text's) for key k. */
static int value_parse(const struct config_key_info *k, const char *value,
		       struct config_value *v, struct err *e)
{
	uint64_t n;

	memset(v, 0, sizeof(*v));
	switch (k->type) {
	case CONFIG_BOOL:
		if (config_parse_switch(value, &v->b) < 0)
			return err_set(e, CONFIG_ERR_VALUE,
				       "%s takes enabled|disabled or on|off",
				       k->name);
		return 0;
	case CONFIG_UINT:
		if (!u64_parse(value, k->max_uint, &n) || n < k->min_uint)
			return err_set(e, CONFIG_ERR_VALUE,
				       "%s must be a number between %u and %u",
				       k->name, k->min_uint, k->max_uint);
		v->u = (unsigned)n;
		return 0;
	case CONFIG_STRING:
		if (strlen(value) >= sizeof(v->s))
			return err_set(e, CONFIG_ERR_VALUE,
				       "%s is longer than %d bytes", k->name,
				       CONFIG_STRING_MAX - 1);
		snprintf(v->s, sizeof(v->s), "%s", value);
		return 0;
	}
	return err_set(e, CONFIG_ERR_UNKNOWN_KEY, "bad setting type");
}

int config_set_text(struct config *cfg, const char *name, const char *value,
		    struct err *e)
{
	const struct config_key_info *k = config_key_find(name);
	struct config_value v;

	if (!k)
		return err_set(e, CONFIG_ERR_UNKNOWN_KEY,
			       "no setting named '%s'", name);
	if (value_parse(k, value, &v, e) < 0)
		return e->code;
	return setting_store(cfg, k, &v, NULL, e);
}

int config_get_stamped(struct config *cfg, enum config_key key, char *text,
		       size_t textlen, struct config_stamp *stamp)
{
	if ((unsigned)key >= CONFIG_KEY_COUNT)
		return CONFIG_ERR_UNKNOWN_KEY;
	pthread_mutex_lock(&cfg->lock);
	value_text(&config_key_table[key], &cfg->values[key], text, textlen);
	*stamp = cfg->stamps[key];
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

int config_mirror_apply(struct config *cfg, const char *name,
			const char *value, const struct config_stamp *stamp,
			struct err *e)
{
	const struct config_key_info *k = config_key_find(name);
	struct config_value v;

	if (!k || k->scope != CONFIG_SCOPE_ENCLOSURE)
		return err_set(e, CONFIG_ERR_UNKNOWN_KEY,
			       "no enclosure setting named '%s'", name);
	if (stamp->ms == 0 || (stamp->origin != 'A' && stamp->origin != 'B'))
		return err_set(e, CONFIG_ERR_VALUE, "%s: bad change stamp",
			       name);
	if (value_parse(k, value, &v, e) < 0)
		return e->code;
	return setting_store(cfg, k, &v, stamp, e);
}
