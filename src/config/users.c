/*
 * users.c: the user table: validation rules, create, delete, password and
 * preference changes, the simulator's default users, and users.json.
 * Password hashes are made in auth.c and never leave this part.
 *
 * Rules (the family's, as recalled from its CLI guides; see
 * docs/compat.md): a user name is 1-29 bytes of printable ASCII without
 * space, comma, double quote, backslash, < or >; a password is 8-32
 * printable ASCII characters with at least one upper-case letter, one
 * lower-case letter, one digit and one other character, and none of
 * space, comma, double quote, backslash, < or >.
 */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "events/events.h"

static const char config_forbidden[] = " ,\"\\<>";

static const struct {
	const char *name;
	unsigned bit;
} config_iface_names[] = {
	{ "cli", CONFIG_IFACE_CLI },
	{ "wbi", CONFIG_IFACE_WBI },
	{ "ftp", CONFIG_IFACE_FTP },
	{ "smis", CONFIG_IFACE_SMIS },
};

static const struct {
	const char *name;
	unsigned bit;
} config_role_names[] = {
	{ "monitor", CONFIG_ROLE_MONITOR },
	{ "manage", CONFIG_ROLE_MANAGE },
};

static const char *const config_units[] = { "auto", "MB", "GB", "TB" };

/* users.json's "output-format" values, by enum config_output. */
static const char *const config_outputs[] = {
	"console", "api", "api-embed", "json",
};

const char *config_output_name(enum config_output output)
{
	return (size_t)output < ARRAY_SIZE(config_outputs) ?
	       config_outputs[output] : "console";
}

int config_output_parse(const char *text, enum config_output *out,
			struct err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_outputs); i++)
		if (!strcmp(text, config_outputs[i])) {
			*out = (enum config_output)i;
			return 0;
		}
	return err_set(e, CONFIG_ERR_VALUE,
		       "output format must be console, api, api-embed or json");
}

int config_user_name_check(const char *name, struct err *e)
{
	size_t len = strlen(name);

	if (len == 0 || len >= CONFIG_USER_NAME_MAX)
		return err_set(e, CONFIG_ERR_USER_NAME,
			       "a user name must be 1 to %d bytes",
			       CONFIG_USER_NAME_MAX - 1);
	for (const char *p = name; *p; p++)
		if (!isprint((unsigned char)*p) || strchr(config_forbidden, *p) ||
		    (unsigned char)*p > 0x7e)
			return err_set(e, CONFIG_ERR_USER_NAME,
				       "a user name may not contain spaces, "
				       "control characters or any of , \" \\ < >");
	return 0;
}

int config_password_check(const char *password, struct err *e)
{
	size_t len = strlen(password);
	bool upper = false, lower = false, digit = false, other = false;

	if (len < CONFIG_PASSWORD_MIN || len > CONFIG_PASSWORD_MAX)
		return err_set(e, CONFIG_ERR_PASSWORD,
			       "a password must be %d to %d characters",
			       CONFIG_PASSWORD_MIN, CONFIG_PASSWORD_MAX);
	for (const char *p = password; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x21 || c > 0x7e || strchr(config_forbidden, c))
			return err_set(e, CONFIG_ERR_PASSWORD,
				       "a password may not contain spaces, "
				       "control characters or any of , \" \\ < >");
		upper |= isupper(c) != 0;
		lower |= islower(c) != 0;
		digit |= isdigit(c) != 0;
		other |= !isalnum(c);
	}
	if (!upper || !lower || !digit || !other)
		return err_set(e, CONFIG_ERR_PASSWORD,
			       "a password needs an upper-case letter, a "
			       "lower-case letter, a digit and a character "
			       "that is none of these");
	return 0;
}

/* The family's defaults for a new user (recalled: `create user`). */
void config_user_defaults(struct config_user *u, const char *name,
			  unsigned roles)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->roles = roles;
	u->interfaces = CONFIG_IFACE_CLI | CONFIG_IFACE_WBI;
	snprintf(u->locale, sizeof(u->locale), "English");
	u->base = 10;
	u->precision = 1;
	snprintf(u->units, sizeof(u->units), "auto");
	u->temperature = CONFIG_CELSIUS;
	u->timeout = 1800;
	u->output = CONFIG_OUTPUT_CONSOLE;
}

static int user_check(const struct config_user *u, struct err *e)
{
	bool unit_ok = false;
	int rc = config_user_name_check(u->name, e);

	if (rc < 0)
		return rc;
	if (!u->roles || (u->roles & ~(CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR)))
		return err_set(e, CONFIG_ERR_VALUE,
			       "roles must be manage, monitor or both");
	if (u->interfaces & ~CONFIG_IFACE_ALL)
		return err_set(e, CONFIG_ERR_VALUE, "unknown interface");
	if (u->base != 2 && u->base != 10)
		return err_set(e, CONFIG_ERR_VALUE, "base must be 2 or 10");
	if (u->precision < 1 || u->precision > 10)
		return err_set(e, CONFIG_ERR_VALUE,
			       "precision must be 1 to 10");
	for (size_t i = 0; i < ARRAY_SIZE(config_units); i++)
		unit_ok |= !strcmp(u->units, config_units[i]);
	if (!unit_ok)
		return err_set(e, CONFIG_ERR_VALUE,
			       "units must be auto, MB, GB or TB");
	if (u->temperature != CONFIG_CELSIUS &&
	    u->temperature != CONFIG_FAHRENHEIT)
		return err_set(e, CONFIG_ERR_VALUE,
			       "temperature scale must be celsius or fahrenheit");
	if (u->timeout < 120 || u->timeout > 43200)
		return err_set(e, CONFIG_ERR_VALUE,
			       "timeout must be 120 to 43200 seconds");
	if ((size_t)u->output >= ARRAY_SIZE(config_outputs))
		return err_set(e, CONFIG_ERR_VALUE,
			       "output format must be console, api, "
			       "api-embed or json");
	if (strnlen(u->locale, sizeof(u->locale)) == 0 ||
	    strnlen(u->locale, sizeof(u->locale)) == sizeof(u->locale))
		return err_set(e, CONFIG_ERR_VALUE, "bad locale");
	return 0;
}

struct config_user_record *config_user_find(struct config *cfg,
					    const char *name)
{
	for (size_t i = 0; i < cfg->nusers; i++)
		if (!strcmp(cfg->users[i].pub.name, name))
			return &cfg->users[i];
	return NULL;
}

static size_t managers(struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nusers; i++)
		n += (cfg->users[i].pub.roles & CONFIG_ROLE_MANAGE) != 0;
	return n;
}

/* The digest verifiers (auth.c), when the user has them. */
static void digests_to_json(json_t *u, const struct config_user_record *r)
{
	if (r->md5_hash[0])
		json_object_set_new(u, "wbi-md5", json_string(r->md5_hash));
	if (r->sha256_hash[0])
		json_object_set_new(u, "wbi-sha256",
				    json_string(r->sha256_hash));
}

static int digests_from_json(json_t *j, struct config_user_record *r)
{
	const char *md5 = json_string_value(json_object_get(j, "wbi-md5"));
	const char *sha = json_string_value(json_object_get(j, "wbi-sha256"));

	if ((json_object_get(j, "wbi-md5") && (!md5 || md5[0] != '$' ||
	     strlen(md5) >= CONFIG_HASH_MAX)) ||
	    (json_object_get(j, "wbi-sha256") && (!sha || sha[0] != '$' ||
	     strlen(sha) >= CONFIG_HASH_MAX)))
		return -1;
	snprintf(r->md5_hash, sizeof(r->md5_hash), "%s", md5 ? md5 : "");
	snprintf(r->sha256_hash, sizeof(r->sha256_hash), "%s",
		 sha ? sha : "");
	return 0;
}

json_t *config_users_to_json(struct config *cfg)
{
	json_t *root = json_object(), *arr = json_array();

	if (!root || !arr)
		goto fail;
	for (size_t i = 0; i < cfg->nusers; i++) {
		const struct config_user_record *r = &cfg->users[i];
		json_t *u, *roles = json_array(), *ifaces = json_array();

		u = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:s}",
			      "name", r->pub.name, "hash", r->hash,
			      "locale", r->pub.locale,
			      "base", (int)r->pub.base,
			      "precision", (int)r->pub.precision,
			      "units", r->pub.units,
			      "temperature-scale",
			      r->pub.temperature == CONFIG_FAHRENHEIT ?
			      "fahrenheit" : "celsius",
			      "timeout", (int)r->pub.timeout,
			      "output-format",
			      config_output_name(r->pub.output));
		if (!u || !roles || !ifaces) {
			json_decref(u);
			json_decref(roles);
			json_decref(ifaces);
			goto fail;
		}
		if (r->pub.roles & CONFIG_ROLE_MONITOR)
			json_array_append_new(roles, json_string("monitor"));
		if (r->pub.roles & CONFIG_ROLE_MANAGE)
			json_array_append_new(roles, json_string("manage"));
		for (size_t k = 0; k < ARRAY_SIZE(config_iface_names); k++)
			if (r->pub.interfaces & config_iface_names[k].bit)
				json_array_append_new(ifaces,
					json_string(config_iface_names[k].name));
		json_object_set_new(u, "roles", roles);
		json_object_set_new(u, "interfaces", ifaces);
		digests_to_json(u, r);
		json_array_append_new(arr, u);
	}
	json_object_set_new(root, "users", arr);
	return root;
fail:
	json_decref(root);
	json_decref(arr);
	return NULL;
}

static int user_from_json(json_t *j, struct config_user_record *r)
{
	const char *name, *hash, *locale, *units, *temp;
	const char *output = "console";	/* files from before the field */
	json_t *roles, *ifaces, *v;
	int base, precision, timeout;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (json_unpack(j, "{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:o, s:o}",
			"name", &name, "hash", &hash, "locale", &locale,
			"base", &base, "precision", &precision,
			"units", &units, "temperature-scale", &temp,
			"timeout", &timeout, "roles", &roles,
			"interfaces", &ifaces) < 0 ||
	    json_unpack(j, "{s?:s}", "output-format", &output) < 0 ||
	    config_output_parse(output, &r->pub.output, NULL) < 0)
		return -1;
	if (strlen(name) >= sizeof(r->pub.name) ||
	    strlen(hash) >= sizeof(r->hash) || hash[0] != '$' ||
	    strlen(locale) >= sizeof(r->pub.locale) ||
	    strlen(units) >= sizeof(r->pub.units) || base < 0 ||
	    precision < 0 || timeout < 0 || !json_is_array(roles) ||
	    !json_is_array(ifaces))
		return -1;
	snprintf(r->pub.name, sizeof(r->pub.name), "%s", name);
	snprintf(r->hash, sizeof(r->hash), "%s", hash);
	if (digests_from_json(j, r) < 0)
		return -1;
	snprintf(r->pub.locale, sizeof(r->pub.locale), "%s", locale);
	snprintf(r->pub.units, sizeof(r->pub.units), "%s", units);
	r->pub.base = (unsigned)base;
	r->pub.precision = (unsigned)precision;
	r->pub.timeout = (unsigned)timeout;
	if (!strcmp(temp, "fahrenheit"))
		r->pub.temperature = CONFIG_FAHRENHEIT;
	else if (strcmp(temp, "celsius"))
		return -1;
	json_array_foreach(roles, i, v) {
		const char *s = json_string_value(v);

		if (s && !strcmp(s, "manage"))
			r->pub.roles |= CONFIG_ROLE_MANAGE;
		else if (s && !strcmp(s, "monitor"))
			r->pub.roles |= CONFIG_ROLE_MONITOR;
		else
			return -1;
	}
	json_array_foreach(ifaces, i, v) {
		const char *s = json_string_value(v);
		size_t k;

		for (k = 0; k < ARRAY_SIZE(config_iface_names); k++)
			if (s && !strcmp(s, config_iface_names[k].name))
				break;
		if (k == ARRAY_SIZE(config_iface_names))
			return -1;
		r->pub.interfaces |= config_iface_names[k].bit;
	}
	return user_check(&r->pub, NULL) < 0 ? -1 : 0;
}

int config_users_from_json(struct config *cfg, json_t *body, struct err *e)
{
	json_t *arr = json_object_get(body, "users"), *j;
	struct config_user_record *recs;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > CONFIG_USERS_MAX)
		return err_set(e, CONFIG_ERR_CORRUPT, "%s/%s: bad users list",
			       cfg->dir, CONFIG_USERS_FILE);
	recs = calloc(CONFIG_USERS_MAX, sizeof(*recs));
	if (!recs)
		return err_set(e, CONFIG_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, j) {
		bool dup = false;

		for (size_t k = 0; k < i; k++)
			dup |= !strcmp(recs[k].pub.name,
				       json_string_value(json_object_get(j, "name")) ?: "");
		if (dup || user_from_json(j, &recs[i]) < 0) {
			free(recs);
			return err_set(e, CONFIG_ERR_CORRUPT,
				       "%s/%s: user %zu is malformed", cfg->dir,
				       CONFIG_USERS_FILE, i + 1);
		}
	}
	memcpy(cfg->users, recs, sizeof(*recs) * CONFIG_USERS_MAX);
	cfg->nusers = json_array_size(arr);
	free(recs);
	return 0;
}

int config_users_save(struct config *cfg, struct err *e)
{
	return config_file_save(cfg, &cfg->users_file,
				config_users_to_json(cfg), e);
}

/* Adds a user with ready hashes (rec: its digest verifiers); locked by
 * the caller. */
static int user_add_locked(struct config *cfg, const struct config_user *user,
			   const char *hash,
			   const struct config_user_record *rec, struct err *e)
{
	int rc;

	if (config_user_find(cfg, user->name))
		return err_set(e, CONFIG_ERR_USER_EXISTS,
			       "user '%s' already exists", user->name);
	if (cfg->nusers == CONFIG_USERS_MAX)
		return err_set(e, CONFIG_ERR_TOO_MANY,
			       "there are already %d users", CONFIG_USERS_MAX);
	cfg->users[cfg->nusers].pub = *user;
	snprintf(cfg->users[cfg->nusers].hash, CONFIG_HASH_MAX, "%s", hash);
	memcpy(cfg->users[cfg->nusers].md5_hash, rec->md5_hash,
	       CONFIG_HASH_MAX);
	memcpy(cfg->users[cfg->nusers].sha256_hash, rec->sha256_hash,
	       CONFIG_HASH_MAX);
	cfg->nusers++;
	rc = config_users_save(cfg, e);
	if (rc < 0)
		cfg->nusers--;	/* C4 */
	return rc;
}

int config_user_create(struct config *cfg, const struct config_user *user,
		       const char *password, struct err *e)
{
	struct config_user_record rec = { 0 };
	char hash[CONFIG_HASH_MAX];
	int rc;

	rc = user_check(user, e);
	if (rc == 0)
		rc = config_password_check(password, e);
	if (rc < 0)
		return rc;
	rc = config_password_hash(password, hash, sizeof(hash), e);
	if (rc == 0)
		rc = config_digest_hashes(user->name, password, rec.md5_hash,
					  rec.sha256_hash, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cfg->lock);
	rc = user_add_locked(cfg, user, hash, &rec, e);
	pthread_mutex_unlock(&cfg->lock);
	explicit_bzero(hash, sizeof(hash));
	if (rc == 0)
		config_event(cfg, EVENTS_INFORMATIONAL, EVENTS_CODE_USER_CREATED,
			     "User '%s' was created.", user->name);
	return rc;
}

/* "$y$PARAMS$SALT$HASH": four '$', then the hash's 43 characters. */
#define CONFIG_YESCRYPT_OUTPUT 43

static size_t dollars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '$';
	return n;
}

/*
 * A pre-hashed entry, for provisioning images: no clear password exists
 * anywhere. Only yescrypt ("$y$", crypt(3)) strings that libxcrypt accepts
 * as a setting; the HTTP API's digest login needs the clear password, so
 * such a user logs in to it by the password form until the next change.
 */
int config_user_create_hashed(struct config *cfg,
			      const struct config_user *user, const char *hash,
			      struct err *e)
{
	struct config_user_record rec = { 0 };
	size_t len = strlen(hash);
	int rc;

	rc = user_check(user, e);
	if (rc < 0)
		return rc;
	if (strncmp(hash, "$y$", 3) || len >= CONFIG_HASH_MAX ||
	    strspn(hash, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
		   "nopqrstuvwxyz$") != len ||
	    crypt_checksalt(hash) != CRYPT_SALT_OK || dollars(hash) != 4 ||
	    strlen(strrchr(hash, '$') + 1) != CONFIG_YESCRYPT_OUTPUT)
		return err_set(e, CONFIG_ERR_VALUE, "not a yescrypt password "
			       "hash (crypt(3) \"$y$...\", under %d bytes, as "
			       "mkpasswd -m yescrypt prints)", CONFIG_HASH_MAX);
	pthread_mutex_lock(&cfg->lock);
	rc = user_add_locked(cfg, user, hash, &rec, e);
	pthread_mutex_unlock(&cfg->lock);
	if (rc == 0)
		config_event(cfg, EVENTS_INFORMATIONAL, EVENTS_CODE_USER_CREATED,
			     "User '%s' was created.", user->name);
	return rc;
}

int config_user_delete(struct config *cfg, const char *name, struct err *e)
{
	struct config_user_record *r, saved;
	size_t idx;
	int rc;

	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, name);
	if (!r) {
		rc = err_set(e, CONFIG_ERR_NO_USER, "no user named '%s'", name);
		goto out;
	}
	if ((r->pub.roles & CONFIG_ROLE_MANAGE) && managers(cfg) == 1) {
		rc = err_set(e, CONFIG_ERR_LAST_MANAGER,
			     "user '%s' is the last user with the manage role",
			     name);
		goto out;
	}
	idx = (size_t)(r - cfg->users);
	saved = *r;
	memmove(r, r + 1, (cfg->nusers - idx - 1) * sizeof(*r));
	cfg->nusers--;
	rc = config_users_save(cfg, e);
	if (rc < 0) {	/* C4 */
		memmove(cfg->users + idx + 1, cfg->users + idx,
			(cfg->nusers - idx) * sizeof(*r));
		cfg->users[idx] = saved;
		cfg->nusers++;
	}
out:
	pthread_mutex_unlock(&cfg->lock);
	if (rc == 0)
		config_event(cfg, EVENTS_INFORMATIONAL, EVENTS_CODE_USER_DELETED,
			     "User '%s' was deleted.", name);
	return rc;
}

int config_user_set_password(struct config *cfg, const char *name,
			     const char *password, struct err *e)
{
	char hash[CONFIG_HASH_MAX];
	struct config_user_record *r, old, rec = { 0 };
	int rc;

	rc = config_password_check(password, e);
	if (rc < 0)
		return rc;
	rc = config_password_hash(password, hash, sizeof(hash), e);
	if (rc == 0)
		rc = config_digest_hashes(name, password, rec.md5_hash,
					  rec.sha256_hash, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, name);
	if (!r) {
		rc = err_set(e, CONFIG_ERR_NO_USER, "no user named '%s'", name);
	} else {
		old = *r;
		memcpy(r->hash, hash, sizeof(hash));
		memcpy(r->md5_hash, rec.md5_hash, sizeof(rec.md5_hash));
		memcpy(r->sha256_hash, rec.sha256_hash,
		       sizeof(rec.sha256_hash));
		rc = config_users_save(cfg, e);
		if (rc < 0)
			*r = old;
		explicit_bzero(&old, sizeof(old));
	}
	pthread_mutex_unlock(&cfg->lock);
	explicit_bzero(hash, sizeof(hash));
	if (rc == 0)
		config_event(cfg, EVENTS_INFORMATIONAL, EVENTS_CODE_USER_PASSWORD,
			     "The password of user '%s' was changed.", name);
	return rc;
}

/* Changes everything but the name and password of an existing user. */
int config_user_update(struct config *cfg, const struct config_user *user,
		       struct err *e)
{
	struct config_user_record *r;
	struct config_user old;
	int rc;

	rc = user_check(user, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, user->name);
	if (!r) {
		rc = err_set(e, CONFIG_ERR_NO_USER, "no user named '%s'",
			     user->name);
	} else if ((r->pub.roles & CONFIG_ROLE_MANAGE) &&
		   !(user->roles & CONFIG_ROLE_MANAGE) && managers(cfg) == 1) {
		rc = err_set(e, CONFIG_ERR_LAST_MANAGER,
			     "user '%s' is the last user with the manage role",
			     user->name);
	} else {
		old = r->pub;
		r->pub = *user;
		rc = config_users_save(cfg, e);
		if (rc < 0)
			r->pub = old;
	}
	pthread_mutex_unlock(&cfg->lock);
	return rc;
}

/* Only the output format, read and changed under one lock. */
int config_user_set_output(struct config *cfg, const char *name,
			   enum config_output output, struct err *e)
{
	struct config_user_record *r;
	enum config_output old;
	int rc;

	if ((size_t)output >= ARRAY_SIZE(config_outputs))
		return err_set(e, CONFIG_ERR_VALUE,
			       "output format must be console, api, "
			       "api-embed or json");
	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, name);
	if (!r) {
		rc = err_set(e, CONFIG_ERR_NO_USER, "no user named '%s'", name);
	} else {
		old = r->pub.output;
		r->pub.output = output;
		rc = config_users_save(cfg, e);
		if (rc < 0)
			r->pub.output = old;	/* C4 */
	}
	pthread_mutex_unlock(&cfg->lock);
	return rc;
}

int config_user_get(struct config *cfg, const char *name,
		    struct config_user *out)
{
	struct config_user_record *r;
	int rc = CONFIG_ERR_NO_USER;

	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, name);
	if (r) {
		*out = r->pub;
		rc = 0;
	}
	pthread_mutex_unlock(&cfg->lock);
	return rc;
}

/* Copies up to max users to out, in creation order; returns the total. */
size_t config_users_list(struct config *cfg, struct config_user *out,
			 size_t max)
{
	size_t n;

	pthread_mutex_lock(&cfg->lock);
	n = cfg->nusers;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = cfg->users[i].pub;
	pthread_mutex_unlock(&cfg->lock);
	return n;
}

/*
 * The family's well-known users, for the simulator only (DESIGN.md
 * "Security"): their passwords break the rules above on purpose, as on
 * the arrays. Existing users are left alone. Returns how many were added.
 */
int config_users_seed_defaults(struct config *cfg, struct err *e)
{
	static const struct {
		const char *name, *password;
		unsigned roles, interfaces;
	} seeds[] = {
		{ "manage", "!manage", CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR,
		  CONFIG_IFACE_CLI | CONFIG_IFACE_WBI | CONFIG_IFACE_FTP },
		{ "monitor", "!monitor", CONFIG_ROLE_MONITOR,
		  CONFIG_IFACE_CLI | CONFIG_IFACE_WBI },
		{ "ftp", "!ftp", CONFIG_ROLE_MANAGE | CONFIG_ROLE_MONITOR,
		  CONFIG_IFACE_FTP },
	};
	int added = 0;

	for (size_t i = 0; i < ARRAY_SIZE(seeds); i++) {
		struct config_user_record rec = { 0 };
		char hash[CONFIG_HASH_MAX];
		struct config_user u;
		int rc;

		config_user_defaults(&u, seeds[i].name, seeds[i].roles);
		u.interfaces = seeds[i].interfaces;
		pthread_mutex_lock(&cfg->lock);
		rc = config_user_find(cfg, u.name) ? 1 : 0;
		pthread_mutex_unlock(&cfg->lock);
		if (rc)
			continue;	/* no hashing for a user kept */
		rc = config_password_hash(seeds[i].password, hash,
					  sizeof(hash), e);
		if (rc == 0)
			rc = config_digest_hashes(u.name, seeds[i].password,
						  rec.md5_hash,
						  rec.sha256_hash, e);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&cfg->lock);
		rc = config_user_find(cfg, u.name) ? 1 :
		     user_add_locked(cfg, &u, hash, &rec, e);
		pthread_mutex_unlock(&cfg->lock);
		if (rc < 0)
			return rc;
		added += rc == 0;
	}
	if (added)
		config_event(cfg, EVENTS_WARNING, EVENTS_CODE_DEFAULT_USERS,
			     "Well-known default users (manage, monitor, ftp) "
			     "were created for the simulator; change their "
			     "passwords before any real use.");
	return added;
}

/*
 * Comma-separated word lists as `create user` takes them and `show users`
 * prints them: roles "monitor,manage", interfaces "cli,wbi,ftp,smis" or
 * "none". Parsing refuses unknown or repeated words and changes nothing.
 */
static int words_parse(const char *text, unsigned *out, bool allow_none,
		       const char *what, struct err *e,
		       const char *(*name_of)(size_t), unsigned (*bit_of)(size_t),
		       size_t count)
{
	char copy[128], *save = NULL, *w;
	unsigned bits = 0;

	if (strlen(text) >= sizeof(copy))
		return err_set(e, CONFIG_ERR_VALUE, "%s list too long", what);
	snprintf(copy, sizeof(copy), "%s", text);
	if (allow_none && !strcmp(copy, "none")) {
		*out = 0;
		return 0;
	}
	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < count; i++)
			if (!strcmp(w, name_of(i)))
				break;
		if (i == count || (bits & bit_of(i)))
			return err_set(e, CONFIG_ERR_VALUE,
				       "bad or repeated word in %s list", what);
		bits |= bit_of(i);
	}
	if (!bits)
		return err_set(e, CONFIG_ERR_VALUE, "empty %s list", what);
	*out = bits;
	return 0;
}

static const char *role_name(size_t i) { return config_role_names[i].name; }
static unsigned role_bit(size_t i) { return config_role_names[i].bit; }
static const char *iface_name(size_t i) { return config_iface_names[i].name; }
static unsigned iface_bit(size_t i) { return config_iface_names[i].bit; }

int config_roles_parse(const char *text, unsigned *roles, struct err *e)
{
	return words_parse(text, roles, false, "roles", e, role_name, role_bit,
			   ARRAY_SIZE(config_role_names));
}

int config_interfaces_parse(const char *text, unsigned *ifaces,
			    struct err *e)
{
	return words_parse(text, ifaces, true, "interfaces", e, iface_name,
			   iface_bit, ARRAY_SIZE(config_iface_names));
}

static int words_format(unsigned bits, struct buf *out,
			const char *(*name_of)(size_t),
			unsigned (*bit_of)(size_t), size_t count)
{
	bool first = true;
	int rc = 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		if (!(bits & bit_of(i)))
			continue;
		rc = buf_appendf(out, "%s%s", first ? "" : ",", name_of(i));
		first = false;
	}
	if (first && rc == 0)
		rc = buf_append_str(out, "none");
	return rc;
}

int config_roles_format(unsigned roles, struct buf *out)
{
	return words_format(roles, out, role_name, role_bit,
			    ARRAY_SIZE(config_role_names));
}

int config_interfaces_format(unsigned ifaces, struct buf *out)
{
	return words_format(ifaces, out, iface_name, iface_bit,
			    ARRAY_SIZE(config_iface_names));
}
