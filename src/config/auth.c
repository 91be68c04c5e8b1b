/*
 * auth.c: password hashing (yescrypt through libxcrypt) and the login
 * check with its limits. Hashing runs outside cfg->lock; the lockout
 * table and the global bucket are read and changed under it.
 *
 * Lockout: after login-lockout-threshold failed logins from one source,
 * each no more than login-lockout-seconds after the one before, that
 * source is refused for login-lockout-seconds, whatever it sends; other
 * sources are unaffected. Each lockout is an event, and the sources
 * locked out are saved (lockout.json) so a restart does not free them.
 *
 * Rules that keep guessing bounded:
 *  A1: an attempt is reserved (in_flight) before its hash, and refused
 *      once failures + in_flight reach the threshold: parallel attempts
 *      from one source never check more passwords than the threshold.
 *  A2: a locked source, or one with attempts in flight, is never evicted
 *      from the table; with no room left a source goes without an entry
 *      and only A3 bounds it.
 *  A3: every attempt takes a token from one bucket shared by all sources
 *      (CONFIG_LOGIN_GLOBAL_BURST, refilled at login-global-failures a
 *      minute; a success gives its token back). With the bucket empty a
 *      login waits its turn, up to CONFIG_LOGIN_WAIT_MAX_SECONDS, and is
 *      refused beyond that. The local console takes no token.
 *  A4: a failed login returns after login-failure-delay-ms, doubled by
 *      each further failure from that source (CONFIG_LOGIN_DELAY_MAX_MS
 *      at most), on every transport, as this is where they all check.
 */
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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
	time_t shift;

	pthread_mutex_lock(&cfg->lock);
	/* Lockouts keep the time they have left on the new clock. */
	shift = now() - cfg->now();
	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++)
		if (cfg->lockouts[i].locked_until)
			cfg->lockouts[i].locked_until += shift;
	cfg->now = now;
	cfg->global_refilled = now();
	pthread_mutex_unlock(&cfg->lock);
}

void config_auth_set_sleep(struct config *cfg, void (*sleep_ms)(unsigned))
{
	pthread_mutex_lock(&cfg->lock);
	cfg->sleep_ms = sleep_ms;
	pthread_mutex_unlock(&cfg->lock);
}

static void sleep_real(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A fresh table and a full bucket. */
void config_lockouts_init(struct config *cfg)
{
	cfg->sleep_ms = sleep_real;
	cfg->global_tokens = CONFIG_LOGIN_GLOBAL_BURST * 1000LL;
	cfg->global_refilled = cfg->now();
}

static struct config_lockout *lockout_find(struct config *cfg,
					   const char *source)
{
	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++) {
		struct config_lockout *l = &cfg->lockouts[i];

		if (l->source[0] && !strcmp(l->source, source))
			return l;
	}
	return NULL;
}

/* A new entry: a free slot, else the one idle longest that is neither
 * locked nor busy (A2); NULL when every slot is one of those. */
static struct config_lockout *lockout_new(struct config *cfg,
					  const char *source)
{
	struct config_lockout *victim = NULL;

	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++) {
		struct config_lockout *l = &cfg->lockouts[i];

		if (!l->source[0]) {
			victim = l;
			break;
		}
		if (!l->locked_until && !l->in_flight &&
		    (!victim || l->last_failure < victim->last_failure))
			victim = l;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->source, sizeof(victim->source), "%s", source);
	return victim;
}

/*
 * lockout.json: {"lockouts": [{"source": TEXT, "until": UNIX-SECONDS}],
 * "format": 1, "checksum": ...} (store.c adds the last two). Wall-clock
 * time on disk, as the monotonic clock starts again at each boot.
 * Called with cfg->lock held.
 */
static int lockouts_save(struct config *cfg, struct err *e)
{
	json_t *body = json_object(), *list = json_array();
	time_t now = cfg->now(), wall = time(NULL);

	if (!body || !list) {
		json_decref(body);
		json_decref(list);
		return err_set(e, CONFIG_ERR_NOMEM, "lockout: out of memory");
	}
	for (size_t i = 0; i < CONFIG_LOCKOUT_SOURCES; i++) {
		const struct config_lockout *l = &cfg->lockouts[i];

		if (!l->source[0] || l->locked_until <= now)
			continue;
		json_array_append_new(list, json_pack(
			"{s:s, s:I}", "source", l->source, "until",
			(json_int_t)(wall + (l->locked_until - now))));
	}
	json_object_set_new(body, "lockouts", list);
	return config_file_save(cfg, &cfg->lockout_file, body, e);
}

int config_lockouts_from_json(struct config *cfg, json_t *body,
			      struct err *e)
{
	json_t *list = json_object_get(body, "lockouts"), *item;
	time_t now = cfg->now(), wall = time(NULL);
	size_t i, n = 0;

	if (!json_is_array(list))
		return err_set(e, CONFIG_ERR_CORRUPT, "%s/%s: no lockouts list",
			       cfg->dir, CONFIG_LOCKOUT_FILE);
	json_array_foreach(list, i, item) {
		const char *source = json_string_value(
			json_object_get(item, "source"));
		json_t *until = json_object_get(item, "until");
		long long left;

		if (!source || !*source || strlen(source) >= CONFIG_SOURCE_MAX ||
		    !json_is_integer(until))
			return err_set(e, CONFIG_ERR_CORRUPT,
				       "%s/%s: bad entry %zu", cfg->dir,
				       CONFIG_LOCKOUT_FILE, i);
		left = (long long)json_integer_value(until) - (long long)wall;
		if (left <= 0 || n == CONFIG_LOCKOUT_SOURCES)
			continue;
		/* A clock set back cannot lengthen a lockout past its rule. */
		if (left > (long long)cfg->values[CONFIG_LOGIN_LOCKOUT_SECONDS].u)
			left = cfg->values[CONFIG_LOGIN_LOCKOUT_SECONDS].u;
		snprintf(cfg->lockouts[n].source, CONFIG_SOURCE_MAX, "%s",
			 source);
		cfg->lockouts[n].locked_until = now + (time_t)left;
		n++;
	}
	return 0;
}

/* A3: refill by the seconds gone, at most up to the burst. */
static void global_refill(struct config *cfg, time_t now)
{
	long long per_second =
		cfg->values[CONFIG_LOGIN_GLOBAL_FAILURES].u * 1000LL / 60;

	if (now > cfg->global_refilled) {
		cfg->global_tokens += (long long)(now - cfg->global_refilled) *
				      (per_second ? per_second : 1);
		if (cfg->global_tokens > CONFIG_LOGIN_GLOBAL_BURST * 1000LL)
			cfg->global_tokens = CONFIG_LOGIN_GLOBAL_BURST * 1000LL;
	}
	cfg->global_refilled = now;
}

/* Milliseconds this attempt waits for its token, or -1: too long. */
static long long global_take(struct config *cfg, time_t now)
{
	unsigned rate = cfg->values[CONFIG_LOGIN_GLOBAL_FAILURES].u;
	long long wait;

	global_refill(cfg, now);
	if (cfg->global_tokens >= 1000) {
		cfg->global_tokens -= 1000;
		return 0;
	}
	/* The tokens owed, at rate a minute: 1000 milli-tokens a failure. */
	wait = (1000 - cfg->global_tokens) * 60 / rate;
	if (wait > CONFIG_LOGIN_WAIT_MAX_SECONDS * 1000LL)
		return -1;
	cfg->global_tokens -= 1000;
	return wait;
}

static void global_give_back(struct config *cfg)
{
	cfg->global_tokens += 1000;
	if (cfg->global_tokens > CONFIG_LOGIN_GLOBAL_BURST * 1000LL)
		cfg->global_tokens = CONFIG_LOGIN_GLOBAL_BURST * 1000LL;
}

/* Failures more than seconds before now no longer count towards the
 * lockout: only failures each no more than seconds after the one before
 * add up. Called with cfg->lock held. */
static void window_expire(struct config_lockout *l, time_t now,
			  unsigned seconds)
{
	if (l->failures && now - l->last_failure > (time_t)seconds)
		l->failures = 0;
}

/* A4: the wait after the step-th failure in a row (1, 2, ...). */
static unsigned failure_delay_ms(unsigned base, unsigned step)
{
	uint64_t ms = base;

	for (unsigned i = 1; i < step && ms < CONFIG_LOGIN_DELAY_MAX_MS; i++)
		ms *= 2;
	return ms > CONFIG_LOGIN_DELAY_MAX_MS ? CONFIG_LOGIN_DELAY_MAX_MS
					      : (unsigned)ms;
}

/* What a refused user lacks, in the words of `create user interfaces`. */
static const char *iface_need(unsigned ifaces)
{
	if (ifaces == CONFIG_IFACE_FTP)
		return "FTP and SFTP need the ftp interface";
	if (ifaces == CONFIG_IFACE_CLI)
		return "the CLI needs the cli interface";
	if (ifaces == (CONFIG_IFACE_CLI | CONFIG_IFACE_FTP))
		return "SSH needs the cli or ftp interface";
	return "the user's interfaces do not include it";
}

/*
 * One login attempt's accounting (A1-A4), whatever is checked: a password
 * against a user's hash, or a digest against every user's verifiers.
 */
struct attempt {
	const char *source;
	bool local;
	struct config_lockout *l;
	long long wait;
};

/* Reserves the attempt (A1, A3), or refuses it with the reason; under
 * cfg->lock, which it leaves held on success. */
static int attempt_begin(struct config *cfg, const char *source,
			 struct attempt *a, struct err *e)
{
	unsigned threshold, seconds;
	struct config_lockout *l;
	long long wait;
	bool local;
	time_t now;

	/* The serial console is not reachable from the network: the global
	 * limit, which guards against many network sources, leaves it be. */
	local = !source || !*source;
	a->local = local;
	a->source = local ? "console" : source;
	pthread_once(&config_dummy_once, dummy_hash_make);
	pthread_mutex_lock(&cfg->lock);
	now = cfg->now();
	threshold = cfg->values[CONFIG_LOGIN_LOCKOUT_THRESHOLD].u;
	seconds = cfg->values[CONFIG_LOGIN_LOCKOUT_SECONDS].u;
	l = lockout_find(cfg, a->source);
	if (l && l->locked_until) {
		if (now < l->locked_until) {
			long left = (long)(l->locked_until - now);

			pthread_mutex_unlock(&cfg->lock);
			return err_set(e, CONFIG_ERR_LOCKED_OUT,
				       "Too many failed logins from %.*s; "
				       "try again in %ld second(s)",
				       CONFIG_SOURCE_MAX - 1, a->source, left);
		}
		/* The lockout has ended; attempts in flight stay counted. */
		l->locked_until = 0;
		l->failures = 0;
		l->delay_step = 0;
	}
	if (l)
		window_expire(l, now, seconds);
	if (!l)
		l = lockout_new(cfg, a->source);
	if (l && l->failures + l->in_flight >= threshold) {	/* A1 */
		pthread_mutex_unlock(&cfg->lock);
		return err_set(e, CONFIG_ERR_LOCKED_OUT,
			       "Too many failed logins from %.*s; try again "
			       "in %u second(s)", CONFIG_SOURCE_MAX - 1,
			       a->source, seconds);
	}
	wait = local ? 0 : global_take(cfg, now);		/* A3 */
	if (wait < 0) {
		pthread_mutex_unlock(&cfg->lock);
		return err_set(e, CONFIG_ERR_LOCKED_OUT,
			       "Too many failed logins on this controller "
			       "from many sources; try again in %d second(s)",
			       CONFIG_LOGIN_WAIT_MAX_SECONDS);
	}
	if (l)
		l->in_flight++;
	a->l = l;
	a->wait = wait;
	return 0;
}

/* Counts the outcome (A2, A4 and the lockout); user names the account
 * tried, for the lockout event. Takes and leaves cfg->lock. */
static int attempt_end(struct config *cfg, struct attempt *a, bool ok,
		       const char *user, struct err *e)
{
	unsigned threshold, seconds, delay = 0;
	char shown[CONFIG_USER_NAME_MAX];
	struct config_lockout *l = a->l;
	bool locked_now = false;
	struct err se;
	time_t now;

	pthread_mutex_lock(&cfg->lock);
	now = cfg->now();
	threshold = cfg->values[CONFIG_LOGIN_LOCKOUT_THRESHOLD].u;
	seconds = cfg->values[CONFIG_LOGIN_LOCKOUT_SECONDS].u;
	/* l is still this source's: A2 keeps an entry in flight. */
	if (l)
		l->in_flight--;
	if (ok) {
		if (!a->local)
			global_give_back(cfg);
		if (l) {
			l->failures = 0;
			l->delay_step = 0;
		}
	} else if (l) {
		window_expire(l, now, seconds);	/* the hash may have waited */
		l->failures++;
		l->delay_step++;
		l->last_failure = now;
		delay = failure_delay_ms(
			cfg->values[CONFIG_LOGIN_FAILURE_DELAY_MS].u,
			l->delay_step);
		if (l->failures >= threshold && !l->locked_until) {
			l->locked_until = now + (time_t)seconds;
			l->failures = 0;
			locked_now = true;
			err_clear(&se);
			if (lockouts_save(cfg, &se) < 0)
				log_error("login lockout of %s not saved: %s",
					  a->source, se.msg);
		}
	} else {
		delay = cfg->values[CONFIG_LOGIN_FAILURE_DELAY_MS].u;
	}
	pthread_mutex_unlock(&cfg->lock);

	if (locked_now) {
		/* Only a well-formed name goes into the log, never raw input. */
		if (!user)
			snprintf(shown, sizeof(shown), "(by digest)");
		else if (config_user_name_check(user, NULL) == 0)
			snprintf(shown, sizeof(shown), "%s", user);
		else
			snprintf(shown, sizeof(shown), "(invalid name)");
		config_event(cfg, EVENTS_WARNING, EVENTS_CODE_LOGIN_LOCKOUT,
			     "Login lockout: %u failed logins from %s (last as "
			     "user '%s'); logins from there are refused for %u "
			     "second(s).", threshold, a->source, shown,
			     seconds);
	}
	if (!ok) {
		if (delay)
			cfg->sleep_ms(delay);			/* A4 */
		return err_set(e, CONFIG_ERR_AUTH, "Authentication Unsuccessful");
	}
	return 0;
}

/*
 * Checks user and password for a login from source (an address as text;
 * NULL means the local console) on a port that may start any of ifaces
 * (CONFIG_IFACE_* bits). On success *roles holds the user's CONFIG_ROLE_*
 * bits. Returns CONFIG_ERR_AUTH for a wrong name or password alike (after
 * the A4 delay), CONFIG_ERR_LOCKED_OUT with the reason and when to try
 * again while source is locked out or A1/A3 refuse the attempt (the
 * password is then not even tried), CONFIG_ERR_INTERFACE when the user
 * may use none of ifaces.
 */
int config_auth_login(struct config *cfg, const char *user,
		      const char *password, unsigned ifaces,
		      const char *source, unsigned *roles, struct err *e)
{
	char hash[CONFIG_HASH_MAX];
	unsigned user_roles = 0, user_ifaces = 0;
	struct config_user_record *r;
	struct attempt a;
	bool known, ok;
	int rc;

	rc = attempt_begin(cfg, source, &a, e);
	if (rc < 0)
		return rc;
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

	if (a.wait > 0)
		cfg->sleep_ms((unsigned)a.wait);
	ok = hash[0] && password_matches(password, hash) && known;
	explicit_bzero(hash, sizeof(hash));

	rc = attempt_end(cfg, &a, ok, user, e);
	if (rc < 0)
		return rc;
	if (!(user_ifaces & ifaces))
		return err_set(e, CONFIG_ERR_INTERFACE,
			       "user '%s' may not log in on this interface: "
			       "%s", user, iface_need(ifaces));
	*roles = user_roles;
	return 0;
}

/* The hex MD5 or SHA-256 (by length) of "user_password". */
static int digest_hex(const char *user, const char *password, bool sha256,
		      char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[CONFIG_USER_NAME_MAX + CONFIG_PASSWORD_MAX + 2];
	int n;

	n = snprintf(text, sizeof(text), "%s_%s", user, password);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    !EVP_Digest(text, (size_t)n, md, &mdlen,
			sha256 ? EVP_sha256() : EVP_md5(), NULL) ||
	    outlen < 2 * (size_t)mdlen + 1) {
		explicit_bzero(text, sizeof(text));
		return -1;
	}
	hex_encode(md, mdlen, out);
	explicit_bzero(text, sizeof(text));
	explicit_bzero(md, sizeof(md));
	return 0;
}

/*
 * The verifiers of the HTTP API's digest login: yescrypt hashes of the
 * hex MD5 and hex SHA-256 of "user_password" (MSA-REFERENCE.md, "HTTP
 * API"), so that no password equivalent is kept in the clear.
 */
int config_digest_hashes(const char *user, const char *password,
			 char md5[CONFIG_HASH_MAX],
			 char sha256[CONFIG_HASH_MAX], struct err *e)
{
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	int rc;

	if (digest_hex(user, password, false, hex, sizeof(hex)) < 0)
		return err_set(e, CONFIG_ERR_HASH, "cannot digest the password");
	rc = config_password_hash(hex, md5, CONFIG_HASH_MAX, e);
	if (rc == 0 && digest_hex(user, password, true, hex, sizeof(hex)) < 0)
		rc = err_set(e, CONFIG_ERR_HASH, "cannot digest the password");
	if (rc == 0)
		rc = config_password_hash(hex, sha256, CONFIG_HASH_MAX, e);
	explicit_bzero(hex, sizeof(hex));
	return rc;
}

/*
 * A login by digest (the HTTP API's /api/login/<digest>): digest is the
 * lower-case hex MD5 (32) or SHA-256 (64) of "user_password"; every user
 * with a verifier of that kind is tried (no user name is sent). One
 * attempt for the lockout rules, as config_auth_login. On success the
 * user's name goes to user (CONFIG_USER_NAME_MAX) and roles to *roles.
 * A user whose password was set before verifiers existed has none and
 * cannot log in so until the password is set again.
 */
int config_auth_login_digest(struct config *cfg, const char *digest,
			     unsigned ifaces, const char *source,
			     char *user, unsigned *roles, struct err *e)
{
	struct {
		char name[CONFIG_USER_NAME_MAX];
		char hash[CONFIG_HASH_MAX];
		unsigned roles, ifaces;
	} *tries;
	size_t n = 0, hit = SIZE_MAX, len = strlen(digest);
	bool sha256 = len == 64;
	struct attempt a;
	int rc;

	if (len != 32 && len != 64)
		return err_set(e, CONFIG_ERR_AUTH, "Authentication Unsuccessful");
	tries = calloc(CONFIG_USERS_MAX, sizeof(*tries));
	if (!tries)
		return err_set(e, CONFIG_ERR_NOMEM, "out of memory");
	rc = attempt_begin(cfg, source, &a, e);
	if (rc < 0) {
		free(tries);
		return rc;
	}
	for (size_t i = 0; i < cfg->nusers; i++) {
		const struct config_user_record *r = &cfg->users[i];
		const char *h = sha256 ? r->sha256_hash : r->md5_hash;

		if (!h[0])
			continue;
		snprintf(tries[n].name, sizeof(tries[n].name), "%s",
			 r->pub.name);
		memcpy(tries[n].hash, h, CONFIG_HASH_MAX);
		tries[n].roles = r->pub.roles;
		tries[n].ifaces = r->pub.interfaces;
		n++;
	}
	pthread_mutex_unlock(&cfg->lock);

	if (a.wait > 0)
		cfg->sleep_ms((unsigned)a.wait);
	if (n == 0)	/* as long as one real check */
		password_matches(digest, config_dummy_hash);
	/* Every verifier is tried, so the time does not say which matched. */
	for (size_t i = 0; i < n; i++)
		if (password_matches(digest, tries[i].hash) && hit == SIZE_MAX)
			hit = i;
	rc = attempt_end(cfg, &a, hit != SIZE_MAX,
			 hit != SIZE_MAX ? tries[hit].name : NULL, e);
	if (rc == 0 && !(tries[hit].ifaces & ifaces))
		rc = err_set(e, CONFIG_ERR_INTERFACE,
			     "user '%s' may not log in on this interface: "
			     "%s", tries[hit].name, iface_need(ifaces));
	if (rc == 0) {
		snprintf(user, CONFIG_USER_NAME_MAX, "%s", tries[hit].name);
		*roles = tries[hit].roles;
	}
	explicit_bzero(tries, CONFIG_USERS_MAX * sizeof(*tries));
	free(tries);
	return rc;
}

/*
 * Whether user may start a session of iface (one CONFIG_IFACE_* bit):
 * checked where the session starts, as one port (SSH's) can start a CLI
 * or an SFTP session after one login. 0, or CONFIG_ERR_INTERFACE /
 * CONFIG_ERR_NO_USER with a message for the client.
 */
int config_auth_may_use(struct config *cfg, const char *user,
			unsigned iface, struct err *e)
{
	struct config_user_record *r;
	unsigned have;

	pthread_mutex_lock(&cfg->lock);
	r = config_user_find(cfg, user);
	have = r ? r->pub.interfaces : 0;
	pthread_mutex_unlock(&cfg->lock);
	if (!r)
		return err_set(e, CONFIG_ERR_NO_USER, "user '%s' no longer "
			       "exists", user);
	if (!(have & iface))
		return err_set(e, CONFIG_ERR_INTERFACE,
			       "user '%s' may not use this interface: %s",
			       user, iface_need(iface));
	return 0;
}
