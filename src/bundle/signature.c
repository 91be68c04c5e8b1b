/*
 * signature.c: Ed25519 keys and manifest.sig. The signature covers the exact
 * bytes of manifest.json. manifest.sig is a small JSON object:
 *   {"algorithm": "ed25519", "key_id": "<16 hex>", "signature": "<128 hex>"}
 * where key_id is the first 8 bytes of SHA-256 over the raw 32-byte public
 * key. Keys are PEM files: bundle.key (PKCS#8, mode 0600) and bundle.pub.
 * A trust store is a directory of *.pub files and an optional revocation
 * list, "revoked" (docs/bundle.md "Keys"). Verification takes the one key
 * the signature names; it never tries the others.
 */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"

#define KEY_FILE_MAX 4096

int bundle_key_id(const uint8_t raw[32], char out[BUNDLE_KEY_ID_LEN + 1])
{
	uint8_t digest[32];

	if (!EVP_Digest(raw, 32, digest, NULL, EVP_sha256(), NULL))
		return -1;
	hex_encode(digest, BUNDLE_KEY_ID_LEN / 2, out);
	return 0;
}

static EVP_PKEY *key_read_pem(const char *path, bool private_key,
			      struct err *e)
{
	struct buf text;
	EVP_PKEY *key = NULL;
	BIO *bio;

	buf_init(&text, KEY_FILE_MAX);
	if (fs_read_file(path, KEY_FILE_MAX, &text, e) < 0) {
		err_set(e, BUNDLE_ERR_KEY, "key %s: %s", path, e->msg);
		goto out;
	}
	bio = BIO_new_mem_buf(text.data, (int)text.len);
	if (bio) {
		key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL,
							    NULL)
				  : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (!key) {
		err_set(e, BUNDLE_ERR_KEY, "key %s: not a PEM %s key", path,
			private_key ? "private" : "public");
		goto out;
	}
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		key = NULL;
		err_set(e, BUNDLE_ERR_KEY, "key %s: not an Ed25519 key", path);
	}
out:
	buf_free(&text);
	return key;
}

static int key_file_raw(const char *path, uint8_t raw[32], struct err *e)
{
	size_t rawlen = 32;
	EVP_PKEY *key;

	key = key_read_pem(path, false, e);
	if (!key)
		return e->code;
	if (!EVP_PKEY_get_raw_public_key(key, raw, &rawlen) || rawlen != 32) {
		EVP_PKEY_free(key);
		return err_set(e, BUNDLE_ERR_KEY, "key %s: unreadable", path);
	}
	EVP_PKEY_free(key);
	return 0;
}

int bundle_key_file_id(const char *path, char out[BUNDLE_KEY_ID_LEN + 1],
		       struct err *e)
{
	uint8_t raw[32];

	if (key_file_raw(path, raw, e) < 0)
		return e->code;
	if (bundle_key_id(raw, out) < 0)
		return err_set(e, BUNDLE_ERR_NOMEM, "key %s: no SHA-256", path);
	return 0;
}

int bundle_keyring_add_file(struct bundle_keyring *kr, const char *path,
			    struct err *e)
{
	char id[BUNDLE_KEY_ID_LEN + 1];
	uint8_t raw[32];

	if (key_file_raw(path, raw, e) < 0)
		return e->code;
	bundle_key_id(raw, id);
	/* The same key under two file names is one trusted key. */
	for (size_t i = 0; i < kr->nkeys; i++)
		if (!memcmp(kr->keys[i].raw, raw, sizeof(raw)))
			return 0;
	if (kr->nkeys >= BUNDLE_KEYS_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "key %s: keyring holds at most %d keys", path,
			       BUNDLE_KEYS_MAX);
	memcpy(kr->keys[kr->nkeys].raw, raw, 32);
	memcpy(kr->keys[kr->nkeys].id, id, sizeof(id));
	kr->nkeys++;
	return 0;
}

bool bundle_keyring_is_revoked(const struct bundle_keyring *kr,
			       const char *id)
{
	for (size_t i = 0; i < kr->nrevoked; i++)
		if (!strcmp(kr->revoked[i], id))
			return true;
	return false;
}

/* A failed revocation list leaves the keyring refusing every bundle. */
static int keyring_break(struct bundle_keyring *kr, struct err *e)
{
	snprintf(kr->broken, sizeof(kr->broken), "%s", e->msg);
	return e->code;
}

int bundle_keyring_revoke_text(struct bundle_keyring *kr, const char *text,
			       size_t len, const char *where, struct err *e)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		char id[BUNDLE_KEY_ID_LEN + 1];
		bool ok = true;

		line++;
		if (n == 0 || p[0] == '#') {
			p = eol + 1;
			continue;
		}
		if (n < BUNDLE_KEY_ID_LEN ||
		    (n > BUNDLE_KEY_ID_LEN && p[BUNDLE_KEY_ID_LEN] != ' ' &&
		     p[BUNDLE_KEY_ID_LEN] != '\t'))
			ok = false;
		for (size_t i = 0; ok && i < BUNDLE_KEY_ID_LEN; i++)
			ok = (p[i] >= '0' && p[i] <= '9') ||
			     (p[i] >= 'a' && p[i] <= 'f');
		for (size_t i = 0; ok && i < n; i++)
			ok = p[i] != '\0';
		if (!ok) {
			err_set(e, BUNDLE_ERR_KEY, "revocation list %s line "
				"%u: not a key id (16 lower-case hex digits, "
				"then optionally a note)", where, line);
			return keyring_break(kr, e);
		}
		memcpy(id, p, BUNDLE_KEY_ID_LEN);
		id[BUNDLE_KEY_ID_LEN] = '\0';
		if (!bundle_keyring_is_revoked(kr, id)) {
			if (kr->nrevoked >= BUNDLE_REVOKED_MAX) {
				err_set(e, BUNDLE_ERR_TOO_LARGE, "revocation "
					"list %s: more than %d key ids", where,
					BUNDLE_REVOKED_MAX);
				return keyring_break(kr, e);
			}
			memcpy(kr->revoked[kr->nrevoked++], id, sizeof(id));
		}
		p = eol + 1;
	}
	return 0;
}

int bundle_keyring_revoke_file(struct bundle_keyring *kr, const char *path,
			       struct err *e)
{
	struct buf text;
	int rc;

	buf_init(&text, BUNDLE_REVOKED_FILE_MAX);
	if (fs_read_file(path, BUNDLE_REVOKED_FILE_MAX, &text, e) < 0) {
		buf_free(&text);
		err_set(e, BUNDLE_ERR_KEY, "revocation list %s: %s", path,
			e->msg);
		return keyring_break(kr, e);
	}
	rc = bundle_keyring_revoke_text(kr, text.data ? text.data : "",
					text.len, path, e);
	buf_free(&text);
	return rc;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_pub_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 4 &&
	       !strcmp(d->d_name + len - 4, ".pub");
}

/* Adds every *.pub in dir, in name order; a dir with none is an error. */
/* A public key file, or every *.pub in a directory. */
int bundle_keyring_add_path(struct bundle_keyring *kr, const char *path,
			    struct err *e)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return bundle_keyring_add_dir(kr, path, e);
	return bundle_keyring_add_file(kr, path, e);
}

int bundle_keyring_add_dir(struct bundle_keyring *kr, const char *dir,
			   struct err *e)
{
	struct dirent **names;
	char revoked[PATH_MAX];
	int n, i, rc = 0;

	/* The revocation list first: a store whose list cannot be read
	 * trusts nothing (the keyring is marked broken). */
	snprintf(revoked, sizeof(revoked), "%s/%s", dir, BUNDLE_REVOKED_FILE);
	if (access(revoked, F_OK) == 0 &&
	    bundle_keyring_revoke_file(kr, revoked, e) < 0)
		return e->code;
	n = scandir(dir, &names, is_pub_file, name_cmp);
	if (n < 0)
		return err_set(e, BUNDLE_ERR_KEY, "keys %s: cannot read: %m",
			       dir);
	if (n == 0)
		rc = err_set(e, BUNDLE_ERR_KEY,
			     "keys %s: no trusted public keys (*.pub)", dir);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0)
			rc = bundle_keyring_add_file(kr, path, e);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int key_write(const char *path, EVP_PKEY *key, bool private_key,
		     struct err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok, rc;

	if (!bio)
		return err_set(e, BUNDLE_ERR_NOMEM, "out of memory");
	ok = private_key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
						    NULL, NULL)
			 : PEM_write_bio_PUBKEY(bio, key);
	len = BIO_get_mem_data(bio, &data);
	if (!ok || len <= 0) {
		BIO_free(bio);
		return err_set(e, BUNDLE_ERR_KEY, "%s: cannot encode key",
			       path);
	}
	rc = fs_atomic_write(path, data, (size_t)len,
			     private_key ? 0600 : 0644, e);
	BIO_free(bio);
	return rc < 0 ? err_set(e, BUNDLE_ERR_IO, "%s", e->msg) : 0;
}

/* Writes dir/bundle.key (0600) and dir/bundle.pub; refuses to overwrite. */
int bundle_key_generate(const char *dir, struct err *e)
{
	char priv[PATH_MAX], pub[PATH_MAX];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	int rc;

	if (fs_mkdir_p(dir, 0700, e) < 0)
		return err_set(e, BUNDLE_ERR_IO, "%s", e->msg);
	snprintf(priv, sizeof(priv), "%s/bundle.key", dir);
	snprintf(pub, sizeof(pub), "%s/bundle.pub", dir);
	if (access(priv, F_OK) == 0)
		return err_set(e, BUNDLE_ERR_USAGE,
			       "%s exists; not overwriting a key", priv);
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_keygen(ctx, &key) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return err_set(e, BUNDLE_ERR_KEY, "Ed25519 key generation "
			       "failed");
	}
	EVP_PKEY_CTX_free(ctx);
	rc = key_write(priv, key, true, e);
	if (rc == 0)
		rc = key_write(pub, key, false, e);
	EVP_PKEY_free(key);
	return rc;
}

int bundle_signature_make(const char *key_path, const uint8_t *manifest,
			  size_t mlen, struct buf *sig_file, struct err *e)
{
	uint8_t sig[BUNDLE_SIG_LEN], raw[32];
	size_t siglen = sizeof(sig), rawlen = sizeof(raw);
	char id[BUNDLE_KEY_ID_LEN + 1], hex[2 * BUNDLE_SIG_LEN + 1];
	EVP_MD_CTX *md;
	EVP_PKEY *key;
	int rc = 0;

	key = key_read_pem(key_path, true, e);
	if (!key)
		return e->code;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) <= 0 ||
	    EVP_DigestSign(md, sig, &siglen, manifest, mlen) <= 0 ||
	    !EVP_PKEY_get_raw_public_key(key, raw, &rawlen)) {
		rc = err_set(e, BUNDLE_ERR_KEY, "key %s: signing failed",
			     key_path);
		goto out;
	}
	bundle_key_id(raw, id);
	hex_encode(sig, siglen, hex);
	buf_reset(sig_file);
	if (buf_appendf(sig_file,
			"{\"algorithm\": \"ed25519\", \"key_id\": \"%s\", "
			"\"signature\": \"%s\"}\n", id, hex) < 0)
		rc = err_set(e, BUNDLE_ERR_NOMEM, "signature: out of memory");
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}

/* One spelling only: the signature file must mean exactly one thing. */
static bool hex_lower(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int sig_file_parse(const uint8_t *text, size_t len,
			  char id[BUNDLE_KEY_ID_LEN + 1],
			  uint8_t sig[BUNDLE_SIG_LEN], struct err *e)
{
	json_t *root, *alg, *kid, *s;
	json_error_t jerr;
	int rc = 0;

	root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest.sig: malformed JSON: %s", jerr.text);
	alg = json_object_get(root, "algorithm");
	kid = json_object_get(root, "key_id");
	s = json_object_get(root, "signature");
	if (!json_is_object(root) || json_object_size(root) != 3 ||
	    !json_is_string(alg) || !json_is_string(kid) ||
	    !json_is_string(s)) {
		rc = err_set(e, BUNDLE_ERR_MANIFEST,
			     "manifest.sig: needs exactly algorithm, key_id "
			     "and signature");
	} else if (strcmp(json_string_value(alg), "ed25519")) {
		rc = err_set(e, BUNDLE_ERR_SIGNATURE,
			     "manifest.sig: algorithm is not ed25519");
	} else if (json_string_length(kid) != BUNDLE_KEY_ID_LEN ||
		   !hex_lower(json_string_value(kid)) ||
		   !hex_lower(json_string_value(s)) ||
		   hex_decode(json_string_value(s), sig, BUNDLE_SIG_LEN) < 0) {
		rc = err_set(e, BUNDLE_ERR_MANIFEST,
			     "manifest.sig: bad key_id or signature field");
	} else {
		memcpy(id, json_string_value(kid), BUNDLE_KEY_ID_LEN + 1);
	}
	json_decref(root);
	return rc;
}

int bundle_signature_key_id(const uint8_t *sig_file, size_t slen,
			    char key_id_out[BUNDLE_KEY_ID_LEN + 1],
			    struct err *e)
{
	uint8_t sig[BUNDLE_SIG_LEN];

	return sig_file_parse(sig_file, slen, key_id_out, sig, e);
}

int bundle_signature_check(const struct bundle_keyring *kr,
			   const uint8_t *manifest, size_t mlen,
			   const uint8_t *sig_file, size_t slen,
			   char key_id_out[BUNDLE_KEY_ID_LEN + 1],
			   struct err *e)
{
	char id[BUNDLE_KEY_ID_LEN + 1];
	uint8_t sig[BUNDLE_SIG_LEN];
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *key = NULL;
	size_t i;
	int rc;

	if (kr->broken[0])
		return err_set(e, BUNDLE_ERR_KEY, "the trust store is unusable, "
			       "so no bundle is accepted: %.400s", kr->broken);
	if ((rc = sig_file_parse(sig_file, slen, id, sig, e)) < 0)
		return rc;
	memcpy(key_id_out, id, sizeof(id));
	/* Before the trusted keys: a revoked key stays refused while its
	 * public key is still in the store. */
	if (bundle_keyring_is_revoked(kr, id))
		return err_set(e, BUNDLE_ERR_REVOKED_KEY,
			       "manifest.sig: signed by revoked key %s", id);
	for (i = 0; i < kr->nkeys; i++)
		if (!strcmp(kr->keys[i].id, id))
			break;
	if (i == kr->nkeys)
		return err_set(e, BUNDLE_ERR_UNKNOWN_KEY,
			       "manifest.sig: signed by key %s, which this "
			       "controller does not trust", id);
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
					  kr->keys[i].raw, 32);
	md = EVP_MD_CTX_new();
	if (!key || !md ||
	    EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) <= 0) {
		rc = err_set(e, BUNDLE_ERR_NOMEM, "signature: out of memory");
	} else if (EVP_DigestVerify(md, sig, sizeof(sig), manifest, mlen) !=
		   1) {
		rc = err_set(e, BUNDLE_ERR_SIGNATURE,
			     "manifest.sig: signature by key %s does not "
			     "match manifest.json", id);
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return rc;
}
