/*
 * tls.c: the link's TLS 1.3 contexts. Authentication is an external PSK
 * (RFC 8446 section 4.2.11) derived from the enclosure key; no
 * certificates, no session tickets, TLS 1.3 only, one cipher suite. A
 * peer with another key fails the handshake on the PSK binder. Owns no
 * sockets.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "link/link.h"

/* TLS_AES_128_GCM_SHA256: its hash is the PSK's (SHA-256, 32 bytes). */
#define LINK_TLS_CIPHER		"TLS_AES_128_GCM_SHA256"
static const unsigned char cipher_id[2] = { 0x13, 0x01 };

/* The PSK, kept with its context (ex_data index made once). */
struct link_psk {
	unsigned char key[SHA256_DIGEST_LENGTH];
};

static int psk_index = -1;
static pthread_once_t psk_index_once = PTHREAD_ONCE_INIT;

static void psk_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		     long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr) {
		OPENSSL_cleanse(ptr, sizeof(struct link_psk));
		free(ptr);
	}
}

static void psk_index_make(void)
{
	psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, psk_free);
}

/* A fresh session that carries the PSK; OpenSSL owns (and frees) it. */
static SSL_SESSION *psk_session(SSL *ssl)
{
	const struct link_psk *psk =
		SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, cipher_id);
	SSL_SESSION *s;

	if (!psk || !cipher)
		return NULL;
	s = SSL_SESSION_new();
	if (!s)
		return NULL;
	if (!SSL_SESSION_set1_master_key(s, psk->key, sizeof(psk->key)) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

/* Client (A): offers the one identity; the hash must be SHA-256. */
static int psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id,
		   size_t *idlen, SSL_SESSION **sess)
{
	*sess = NULL;
	if (md && EVP_MD_get_type(md) != NID_sha256)
		return 1;	/* no PSK for that hash: the handshake fails */
	*sess = psk_session(ssl);
	if (!*sess)
		return 0;
	*id = (const unsigned char *)LINK_PSK_IDENTITY;
	*idlen = strlen(LINK_PSK_IDENTITY);
	return 1;
}

/* Server (B): knows the one identity and no other. */
static int psk_find(SSL *ssl, const unsigned char *identity,
		    size_t identity_len, SSL_SESSION **sess)
{
	*sess = NULL;
	if (identity_len != strlen(LINK_PSK_IDENTITY) ||
	    memcmp(identity, LINK_PSK_IDENTITY, identity_len) != 0)
		return 1;	/* unknown identity: no PSK, handshake fails */
	*sess = psk_session(ssl);
	return *sess ? 1 : 0;
}

struct ssl_ctx_st *link_tls_ctx_new(const uint8_t *key, size_t key_len,
				    bool server, struct err *e)
{
	struct link_psk *psk;
	SSL_CTX *ctx;

	if (key_len < LINK_KEY_MIN) {
		err_set(e, -EINVAL,
			"link: the enclosure key is %zu bytes, under the %u "
			"it needs", key_len, LINK_KEY_MIN);
		return NULL;
	}
	pthread_once(&psk_index_once, psk_index_make);
	if (psk_index < 0) {
		err_set(e, -ENOMEM, "link: cannot keep the PSK in OpenSSL");
		return NULL;
	}
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	psk = calloc(1, sizeof(*psk));
	if (!ctx || !psk) {
		SSL_CTX_free(ctx);
		free(psk);
		err_set(e, -ENOMEM, "link: cannot make a TLS context");
		return NULL;
	}
	SHA256(key, key_len, psk->key);
	if (!SSL_CTX_set_ex_data(ctx, psk_index, psk)) {
		OPENSSL_cleanse(psk, sizeof(*psk));
		free(psk);
		SSL_CTX_free(ctx);
		err_set(e, -ENOMEM, "link: cannot keep the PSK in OpenSSL");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, LINK_TLS_CIPHER)) {
		char why[160];

		link_tls_error(why, sizeof(why));
		SSL_CTX_free(ctx);
		err_set(e, -EINVAL, "link: cannot set up TLS 1.3: %s", why);
		return NULL;
	}
	/* One connection at a time, nothing to resume: no tickets. A close
	 * without close_notify is an ordinary end: frames carry their own
	 * lengths, so a truncated stream cannot pass for a whole one. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET |
				 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Writes may return part-way (non-blocking socket) and retry from
	 * wherever the rest of the frame now is. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (server) {
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_psk_find_session_callback(ctx, psk_find);
	} else {
		SSL_CTX_set_psk_use_session_callback(ctx, psk_use);
	}
	return ctx;
}

void link_tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

void link_tls_error(char *out, size_t outlen)
{
	unsigned long code = ERR_get_error();
	const char *reason;

	if (!code) {
		snprintf(out, outlen, "no error from OpenSSL");
		return;
	}
	reason = ERR_reason_error_string(code);
	if (reason)
		snprintf(out, outlen, "%s", reason);
	else
		ERR_error_string_n(code, out, outlen);
	ERR_clear_error();
}
