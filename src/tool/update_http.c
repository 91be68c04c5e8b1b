/*
 * update_http.c: the controller's HTTP(S) API as `tandem update` uses it,
 * through libcurl: the family's login (`/api/login/<sha256 digest>`), GETs
 * of JSON documents with the session key, and the bundle's PUT streamed
 * from its file. It knows the protocol, not what an update means.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "tool/update.h"

#define UPDATE_KEY_MAX 256

struct update_client {
	const struct update_options *opt;
	CURL *easy;		/* requests, one at a time */
	/* GETs made while the upload runs on easy (its progress callback
	 * polls /firmware/progress), with their own connection. */
	CURL *side;
	bool uploading;
	char base[UPDATE_URL_MAX];
	char key[UPDATE_KEY_MAX];	/* the session key, "" before login */
	char error[CURL_ERROR_SIZE];
	char side_error[CURL_ERROR_SIZE];
};

int update_host_split(const char *host, bool http, char *addr, size_t len,
		      unsigned *port)
{
	const char *colon = strrchr(host, ':');
	const char *end = host + strlen(host);
	uint64_t v;

	*port = http ? 80 : 443;
	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -1;
		colon = close[1] == ':' ? close + 1 : NULL;
		host++;
		end = close;
	} else if (colon && strchr(host, ':') != colon) {
		colon = NULL;	/* a bare IPv6 address */
	} else if (colon) {
		end = colon;
	}
	if (colon && (!u64_parse(colon + 1, 65535, &v) || v == 0))
		return -1;
	if (colon)
		*port = (unsigned)v;
	if (end == host || (size_t)(end - host) >= len)
		return -1;
	memcpy(addr, host, (size_t)(end - host));
	addr[end - host] = '\0';
	return 0;
}

struct update_client *update_client_new(const struct update_options *o,
					 const char *address, unsigned port,
					 struct err *e)
{
	struct update_client *c = calloc(1, sizeof(*c));
	bool v6 = strchr(address, ':') != NULL;

	if (!c) {
		err_set(e, -ENOMEM, "out of memory");
		return NULL;
	}
	c->opt = o;
	c->easy = curl_easy_init();
	c->side = curl_easy_init();
	if (!c->easy || !c->side) {
		curl_easy_cleanup(c->easy);
		curl_easy_cleanup(c->side);
		free(c);
		err_set(e, -ENOMEM, "libcurl could not start");
		return NULL;
	}
	if (snprintf(c->base, sizeof(c->base), "%s://%s%s%s:%u",
		     o->http ? "http" : "https", v6 ? "[" : "", address,
		     v6 ? "]" : "", port) >= (int)sizeof(c->base)) {
		update_client_free(c);
		err_set(e, -ENAMETOOLONG, "host name too long: %s", address);
		return NULL;
	}
	return c;
}

void update_client_free(struct update_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	curl_easy_cleanup(c->side);
	explicit_bzero(c->key, sizeof(c->key));
	free(c);
}

const char *update_client_base(const struct update_client *c)
{
	return c->base;
}

/* A reply's bytes, capped (a controller never sends more). */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, data, size * n) < 0 ? 0 : size * n;
}

static int transport_rc(struct update_client *c, const char *error,
			CURLcode rc, struct err *e)
{
	const char *why = error[0] ? error : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		err_set(e, UPDATE_HTTP_UNREACHABLE, "%s: %s", c->base, why);
		return UPDATE_HTTP_UNREACHABLE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		err_set(e, UPDATE_HTTP_TLS, "%s: TLS refused: %s (give the "
			"controller's certificate with --cacert, or --insecure "
			"to accept any)", c->base, why);
		return UPDATE_HTTP_TLS;
	case CURLE_OPERATION_TIMEDOUT:
		err_set(e, UPDATE_HTTP_TIMEOUT, "%s: %s", c->base, why);
		return UPDATE_HTTP_TIMEOUT;
	default:
		err_set(e, UPDATE_HTTP_FAILED, "%s: %s", c->base, why);
		return UPDATE_HTTP_FAILED;
	}
}

/* The options every request shares; headers are the caller's. */
static CURL *handle(struct update_client *c, char **error)
{
	*error = c->uploading ? c->side_error : c->error;
	return c->uploading ? c->side : c->easy;
}

static void prepare(struct update_client *c, const char *path,
		    struct buf *body, long timeout)
{
	char url[UPDATE_URL_MAX + 256], *error;
	CURL *h = handle(c, &error);

	snprintf(url, sizeof(url), "%s%s", c->base, path);
	curl_easy_reset(h);
	error[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 (long)UPDATE_CONNECT_SECONDS);
	if (timeout)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
			 c->opt->http ? "http" : "https");
	if (c->opt->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->opt->cacert) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opt->cacert);
	}
}

static struct curl_slist *headers(struct update_client *c, bool upload)
{
	char key[UPDATE_KEY_MAX + 16];
	struct curl_slist *h = curl_slist_append(NULL, "datatype: json");

	if (c->key[0]) {
		snprintf(key, sizeof(key), "sessionKey: %s", c->key);
		h = curl_slist_append(h, key);
	}
	if (upload)
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
	return h;
}

/* Runs the prepared request; the reply parsed into *out. */
static int perform(struct update_client *c, struct curl_slist *h,
		   struct buf *body, long *status, json_t **out,
		   struct err *e)
{
	char *error;
	CURL *easy = handle(c, &error);
	CURLcode rc;

	*out = NULL;
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(easy);
	curl_slist_free_all(h);
	if (rc != CURLE_OK)
		return transport_rc(c, error, rc, e);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
	*out = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	if (!*out) {
		err_set(e, UPDATE_HTTP_FAILED, "%s answered HTTP %ld without "
			"a JSON document", c->base, *status);
		return UPDATE_HTTP_FAILED;
	}
	return UPDATE_HTTP_OK;
}

int update_client_get(struct update_client *c, const char *path,
		      long *status, json_t **out, struct err *e)
{
	struct buf body;
	int rc;

	buf_init(&body, UPDATE_REPLY_MAX);
	prepare(c, path, &body, UPDATE_REQUEST_SECONDS);
	rc = perform(c, headers(c, false), &body, status, out, e);
	buf_free(&body);
	return rc;
}

json_t *update_status_object(json_t *reply)
{
	json_t *arr = json_object_get(reply, "status");
	size_t n = json_array_size(arr);

	return n ? json_array_get(arr, n - 1) : NULL;
}

/* The family's login digest: hex SHA-256 of "user_password". */
static void login_digest(const char *user, const char *password,
			 char out[65])
{
	uint8_t md[32];
	unsigned len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, user, strlen(user));
	EVP_DigestUpdate(ctx, "_", 1);
	EVP_DigestUpdate(ctx, password, strlen(password));
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
	explicit_bzero(md, sizeof(md));
}

int update_client_login(struct update_client *c, struct err *e)
{
	char path[16 + 65];
	const char *type, *text;
	json_t *reply, *st;
	long status = 0;
	int rc;

	c->key[0] = '\0';
	memcpy(path, "/api/login/", 11);
	login_digest(c->opt->user, c->opt->password, path + 11);
	rc = update_client_get(c, path, &status, &reply, e);
	explicit_bzero(path, sizeof(path));
	if (rc < 0)
		return rc;
	st = update_status_object(reply);
	type = json_string_value(json_object_get(st, "response-type"));
	text = json_string_value(json_object_get(st, "response"));
	if (type && !strcmp(type, "Success") && text && text[0] &&
	    strlen(text) < sizeof(c->key)) {
		snprintf(c->key, sizeof(c->key), "%s", text);
		json_decref(reply);
		return 0;
	}
	err_set(e, UPDATE_EXIT_LOGIN, "%s refused the login of user '%s': %s",
		c->base, c->opt->user, text ? text : "no reason given");
	json_decref(reply);
	return UPDATE_EXIT_LOGIN;
}

struct upload {
	FILE *fp;
	uint64_t size;
	update_sent_fn sent;
	void *arg;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t got = fread(buf, 1, size * n, u->fp);

	return got == 0 && ferror(u->fp) ? CURL_READFUNC_ABORT : got;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload *u = arg;

	(void)dltotal, (void)dlnow, (void)ultotal;
	if (!u->sent)
		return 0;
	return u->sent(u->arg, (uint64_t)ulnow, u->size,
		       (uint64_t)ulnow >= u->size);
}

int update_client_put(struct update_client *c, FILE *fp, uint64_t size,
		      bool force, long seconds, update_sent_fn sent, void *arg,
		      long *status, json_t **out, struct err *e)
{
	struct upload u = { fp, size, sent, arg };
	struct curl_slist *h;
	struct buf body;
	CURLcode code;
	int rc;

	buf_init(&body, UPDATE_REPLY_MAX);
	/* What is left of the update's time; a stalled transfer is cut
	 * sooner by the speed limit below. */
	prepare(c, force ? "/firmware/bundle?force=1" : "/firmware/bundle",
		&body, seconds > 0 ? seconds : 1);
	curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c->easy, CURLOPT_READDATA, &u);
	curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	curl_easy_setopt(c->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->easy, CURLOPT_XFERINFODATA, &u);
	/* The controller verifies and flashes before it answers: wait for
	 * that, but not for a peer that has gone silent for minutes. */
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, 600L);
	h = headers(c, true);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, h);
	c->uploading = true;
	code = curl_easy_perform(c->easy);
	c->uploading = false;
	curl_slist_free_all(h);
	*out = NULL;
	if (code != CURLE_OK) {
		rc = transport_rc(c, c->error, code, e);
	} else {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, status);
		*out = body.len ? json_loadb(body.data, body.len, 0, NULL)
				: NULL;
		rc = UPDATE_HTTP_OK;
		if (!*out)
			rc = err_set(e, UPDATE_HTTP_FAILED, "%s answered HTTP "
				     "%ld to the upload without a JSON "
				     "document", c->base, *status);
	}
	buf_free(&body);
	return rc;
}
