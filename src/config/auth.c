/*
 * auth.c: password hashing (yescrypt through libxcrypt) and the login
 * check with its lockout. The lockout is kept in memory only: a restart
 * forgets it, as it forgets the sessions it protects. Hashing runs outside
 * cfg->lock; the lockout table is read and changed under it.
 *
 * Lockout: after login-lockout-threshold failed logins from one source,
 * each no more than login-lockout-seconds after the one before, that
 * source is refused for login-lockout-seconds, whatever it sends; other
 * sources are unaffected. Each lockout is an event.
 */
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "events/events.h"

/*
 * A real yescrypt hash of a random password, made once, so that a login
 * for an unknown user costs the same time as one for a known user.
 */
static char config_dummy_hash[CONFIG_HASH_MAX];
static pthread_once_t config_dummy_once = PTHREAD_ONCE_INIT;

int config_password_hash(const char *password, char *out, size_t outlen,
			 struct err *e)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	int rc = 0;

	/* NULL random bytes: libxcrypt draws them from the OS itself. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		return err_set(e, CONFIG_ERR_HASH, "cannot make a salt: %s",
			       strerror(errno));
	data = calloc(1, sizeof(*data));
	if (!data)
		return err_set(e, CONFIG_ERR_NOMEM, "out of memory");
	if (!crypt_r(password, salt, data) || data->output[0] == '*' ||
	    strlen(data->output) >= outlen)
		rc = err_set(e, CONFIG_ERR_HASH, "yescrypt hashing failed");
	else
		snprintf(out, outlen, "%s", data->output);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return rc;
}

static bool password_matches(const char *password, const char *hash)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	size_t len = strlen(hash);
	bool ok;

	if (!data)
		return false;
	ok = crypt_r(password, hash, data) && data->output[0] != '*' &&
	     strlen(data->output) == len &&
	     CRYPTO_memcmp(data->output, hash, len) == 0;
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

static void dummy_hash_make(void)
{
	if (config_password_hash("tandem-no-such-user", config_dummy_hash,
				 sizeof(config_dummy_hash), NULL) < 0)
		config_dummy_hash[0] = '\0';
}

void config_auth_set_clock(struct config *cfg, time_t (*now)(void))
{
	pthread_mutex_lock(&cfg->lock);
	cfg->now = now;
	pthread_mutex_unlock(&cfg->lock);
}

static struct config_lockout *lockout_find(struct config *cfg,
					   const char *source, bool create)
{
	struct config_lockout *victim = NULL;

	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++) {
		struct config_lockout *l = &cfg->lockouts[i];

		if (l->source[0] && !strcmp(l->source, source))
			return l;
	}
	if (!create)
		return NULL;
	/* A free slot, else the one idle longest that is not locked. */
	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++) {
		struct config_lockout *l = &cfg->lockouts[i];

		if (!l->source[0]) {
			victim = l;
			break;
		}
		if (!l->locked_until &&
		    (!victim || l->last_failure < victim->last_failure))
			victim = l;
	}
	if (!victim)
		victim = &cfg->lockouts[0];
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->source, sizeof(victim->source), "%s", source);
	return victim;
}

/*
 * Checks user and password for a login on iface from source (an address
 * as text; NULL means the local console). On success *roles holds the
 * user's CONFIG_ROLE_* bits. Returns CONFIG_ERR_AUTH for a wrong name or
 * password alike, CONFIG_ERR_LOCKED_OUT while source is locked out (the
 * password is then not even tried), CONFIG_ERR_INTERFACE when the user
 * may not use iface.
 */
int config_auth_login(struct config *cfg, const char *user,
		      const char *password, enum config_interface iface,
		      const char *source, unsigned *roles, struct err *e)
{
	char hash[CONFIG_HASH_MAX], shown[CONFIG_USER_NAME_MAX];
	unsigned user_roles = 0, user_ifaces = 0, threshold, seconds;
	struct config_user_record *r;
	struct config_lockout *l;
	bool known, ok, locked_now = false;
	time_t now;

	if (!source || !*source)
		source = "console";
	pthread_once(&config_dummy_once, dummy_hash_make);
	pthread_mutex_lock(&cfg->lock);
	now = cfg->now();
	threshold = cfg->values[CONFIG_LOGIN_LOCKOUT_THRESHOLD].u;
	seconds = cfg->values[CONFIG_LOGIN_LOCKOUT_SECONDS].u;
	l = lockout_find(cfg, source, false);
	if (l && l->locked_until) {
		if (now < l->locked_until) {
			long left = (long)(l->locked_until - now);

			pthread_mutex_unlock(&cfg->lock);
			return err_set(e, CONFIG_ERR_LOCKED_OUT,
				       "Too many failed logins from %.*s; "
				       "try again in %ld second(s)",
				       CONFIG_SOURCE_MAX - 1, source, left);
		}
		memset(l, 0, sizeof(*l));	/* the lockout has ended */
	}
	r = config_user_find(cfg, user);
	known = r != NULL;
	if (r) {
		memcpy(hash, r->hash, sizeof(hash));
		user_roles = r->pub.roles;
		user_ifaces = r->pub.interfaces;
	} else {
		memcpy(hash, config_dummy_hash, sizeof(hash));
	}
	pthread_mutex_unlock(&cfg->lock);

	ok = hash[0] && password_matches(password, hash) && known;
	explicit_bzero(hash, sizeof(hash));

	pthread_mutex_lock(&cfg->lock);
	now = cfg->now();
	if (ok) {
		l = lockout_find(cfg, source, false);
		if (l)
			memset(l, 0, sizeof(*l));
	} else {
		l = lockout_find(cfg, source, true);
		if (l->failures && now - l->last_failure > (time_t)seconds)
			l->failures = 0;
		l->failures++;
		l->last_failure = now;
		if (l->failures >= threshold) {
			l->locked_until = now + (time_t)seconds;
			l->failures = 0;
			locked_now = true;
		}
	}
	pthread_mutex_unlock(&cfg->lock);

	if (locked_now) {
		/* Only a well-formed name goes into the log, never raw input. */
		if (config_user_name_check(user, NULL) == 0)
			snprintf(shown, sizeof(shown), "%s", user);
		else
			snprintf(shown, sizeof(shown), "(invalid name)");
		config_event(cfg, EVENTS_WARNING, EVENTS_CODE_LOGIN_LOCKOUT,
			     "Login lockout: %u failed logins from %s (last as "
			     "user '%s'); logins from there are refused for %u "
			     "second(s).", threshold, source, shown, seconds);
	}
	if (!ok)
		return err_set(e, CONFIG_ERR_AUTH, "Authentication Unsuccessful");
	if (!(user_ifaces & (unsigned)iface))
		return err_set(e, CONFIG_ERR_INTERFACE,
			       "user '%s' may not log in on this interface",
			       user);
	*roles = user_roles;
	return 0;
}
