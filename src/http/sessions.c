/*
 * sessions.c: the API's session keys: random, compared in constant time,
 * ended by logout or after HTTP_SESSION_SECONDS (a tandemd setting) with
 * no request. An expired key is remembered until its slot is needed, so
 * its client hears "expired" rather than "unknown". Shared by the HTTP
 * and HTTPS listeners; one mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "http/http.h"

struct http_session {
	bool used;
	bool expired;		/* kept only to say so */
	char key[HTTP_KEY_TEXT];
	struct http_session_info info;
	int64_t last;		/* monotonic seconds of the last request */
};

struct http_sessions {
	pthread_mutex_t mu;
	unsigned timeout;
	int64_t (*now)(void);
	struct http_session s[HTTP_SESSIONS_MAX];
};

static int64_t monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

struct http_sessions *http_sessions_new(unsigned timeout_seconds,
					int64_t (*now)(void))
{
	struct http_sessions *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->timeout = timeout_seconds ? timeout_seconds : HTTP_SESSION_SECONDS;
	t->now = now ? now : monotonic_seconds;
	return t;
}

void http_sessions_free(struct http_sessions *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	explicit_bzero(t, sizeof(*t));
	free(t);
}

/* Marks the sessions idle past the timeout. Under mu. */
static void expire(struct http_sessions *t, int64_t now)
{
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++)
		if (t->s[i].used && !t->s[i].expired &&
		    now - t->s[i].last >= (int64_t)t->timeout)
			t->s[i].expired = true;
}

/* The slot of key (constant time in the key's bytes), or NULL. */
static struct http_session *find(struct http_sessions *t, const char *key)
{
	struct http_session *hit = NULL;
	size_t len = strlen(key);

	if (len != HTTP_KEY_TEXT - 1)
		return NULL;
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++)
		if (t->s[i].used &&
		    CRYPTO_memcmp(t->s[i].key, key, len) == 0)
			hit = &t->s[i];
	return hit;
}

int http_sessions_create(struct http_sessions *t, const char *user,
			 enum cli_role role, char key[HTTP_KEY_TEXT])
{
	unsigned char raw[HTTP_KEY_BYTES];
	struct http_session *slot = NULL;
	int64_t now;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	hex_encode(raw, sizeof(raw), key);
	key[HTTP_KEY_TEXT - 1] = '\0';
	explicit_bzero(raw, sizeof(raw));
	pthread_mutex_lock(&t->mu);
	now = t->now();
	expire(t, now);
	/* A free slot, else the expired one idle longest, else the least
	 * recently used. */
	for (size_t i = 0; i < HTTP_SESSIONS_MAX && !slot; i++)
		if (!t->s[i].used)
			slot = &t->s[i];
	for (size_t i = 0; i < HTTP_SESSIONS_MAX && !slot; i++)
		if (t->s[i].expired)
			slot = &t->s[i];
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++)
		if (!slot || (t->s[i].expired == slot->expired &&
			      t->s[i].last < slot->last && t->s[i].used))
			slot = &t->s[i];
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	memcpy(slot->key, key, HTTP_KEY_TEXT);
	snprintf(slot->info.user, sizeof(slot->info.user), "%s", user);
	slot->info.role = role;
	slot->last = now;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

enum http_session_check http_sessions_use(struct http_sessions *t,
					  const char *key,
					  struct http_session_info *out)
{
	enum http_session_check rc = HTTP_SESSION_UNKNOWN;
	struct http_session *s;
	int64_t now;

	pthread_mutex_lock(&t->mu);
	now = t->now();
	expire(t, now);
	s = find(t, key);
	if (s && s->expired) {
		rc = HTTP_SESSION_EXPIRED;
	} else if (s) {
		s->last = now;
		*out = s->info;
		rc = HTTP_SESSION_OK;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int http_sessions_end(struct http_sessions *t, const char *key)
{
	struct http_session *s;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->mu);
	s = find(t, key);
	if (s) {
		memset(s, 0, sizeof(*s));
		rc = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

size_t http_sessions_end_user(struct http_sessions *t, const char *user)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++)
		if (t->s[i].used && !strcmp(t->s[i].info.user, user)) {
			memset(&t->s[i], 0, sizeof(t->s[i]));
			n++;
		}
	pthread_mutex_unlock(&t->mu);
	return n;
}

size_t http_sessions_count(struct http_sessions *t)
{
	size_t n = 0;

	pthread_mutex_lock(&t->mu);
	expire(t, t->now());
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++)
		n += t->s[i].used && !t->s[i].expired;
	pthread_mutex_unlock(&t->mu);
	return n;
}
