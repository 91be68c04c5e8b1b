/*
 * cert.c: the HTTPS certificate: an EC P-256 key and a self-signed
 * certificate naming the controller's address (CN and subjectAltName),
 * made once (at `tandem enclosure init`, or at tandemd's first start) and
 * never replaced while both files exist and name the address: clients pin
 * it. Both are written
 * through the atomic-write helper; the key with mode 0600.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/http.h"

/* subjectAltName: an IP address entry for a numeric address, else DNS. */
static int add_san(X509 *x, const char *address)
{
	unsigned char raw[16];
	char value[128];
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	bool ip = inet_pton(AF_INET, address, raw) == 1 ||
		  inet_pton(AF_INET6, address, raw) == 1;

	snprintf(value, sizeof(value), "%s:%s", ip ? "IP" : "DNS", address);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, value);
	if (!ext)
		return -1;
	if (!X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		return -1;
	}
	X509_EXTENSION_free(ext);
	return 0;
}

static int pem_of(int (*write)(BIO *, void *), void *obj, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	if (bio && write(bio, obj) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0 && buf_append(out, data, (size_t)len) == 0)
			rc = 0;
	}
	BIO_free(bio);
	return rc;
}

static int write_key(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(BIO *bio, void *x)
{
	return PEM_write_bio_X509(bio, x);
}

/* A fresh key and certificate for address, as PEM. */
static int make(const char *address, struct buf *key_pem,
		struct buf *cert_pem, struct err *e)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	unsigned char serial[16];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *x = X509_new();
	int rc = -1;

	if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;	/* a positive serial number */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)HTTP_CERT_DAYS * 86400) ||
	    !X509_set_pubkey(x, key))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"Tandem", -1,
					-1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)address, -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name) || add_san(x, address) < 0 ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	if (pem_of(write_key, key, key_pem) == 0 &&
	    pem_of(write_cert, x, cert_pem) == 0)
		rc = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	if (rc < 0)
		return err_set(e, -EIO, "https: cannot make a certificate for "
			       "%s", address);
	return 0;
}

/* Whether the certificate at path names address (IP or DNS); a
 * certificate that cannot be read names nothing. */
static bool names_address(const char *path, const char *address)
{
	unsigned char raw[16];
	bool ip = inet_pton(AF_INET, address, raw) == 1 ||
		  inet_pton(AF_INET6, address, raw) == 1;
	BIO *bio = BIO_new_file(path, "r");
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	bool ok = x && (ip ? X509_check_ip_asc(x, address, 0) == 1 :
			X509_check_host(x, address, 0, 0, NULL) == 1);

	X509_free(x);
	BIO_free(bio);
	return ok;
}

int http_cert_ensure(const char *dir, const char *address, struct err *e)
{
	char key_path[4096], cert_path[4096];
	struct buf key_pem, cert_pem;
	struct stat st;
	int rc;

	if ((size_t)snprintf(key_path, sizeof(key_path), "%s/%s", dir,
			     HTTP_KEY_FILE) >= sizeof(key_path) ||
	    (size_t)snprintf(cert_path, sizeof(cert_path), "%s/%s", dir,
			     HTTP_CERT_FILE) >= sizeof(cert_path))
		return err_set(e, -ENAMETOOLONG, "https: path too long under "
			       "%s", dir);
	if (stat(key_path, &st) == 0) {
		if (st.st_mode & 077)
			return err_set(e, -EPERM, "https: key %s is readable "
				       "by others (mode %o); refusing it",
				       key_path,
				       (unsigned)(st.st_mode & 0777));
		if (stat(cert_path, &st) == 0 &&
		    names_address(cert_path, address))
			return 0;
		/* Made for another address (init's default, before `up
		 * --addresses`): no client could check it, so a new one. */
		if (stat(cert_path, &st) == 0)
			log_warn("https: %s does not name this controller's "
				 "address; making a new certificate", cert_path);
	}
	rc = fs_mkdir_p(dir, 0700, e);
	if (rc < 0)
		return rc;
	buf_init(&key_pem, 16384);
	buf_init(&cert_pem, 16384);
	rc = make(address, &key_pem, &cert_pem, e);
	/* The key first: a certificate is never left without its key. */
	if (rc == 0)
		rc = fs_atomic_write(key_path, key_pem.data, key_pem.len,
				     0600, e);
	if (rc == 0)
		rc = fs_atomic_write(cert_path, cert_pem.data, cert_pem.len,
				     0644, e);
	if (key_pem.data)
		explicit_bzero(key_pem.data, key_pem.len);
	buf_free(&key_pem);
	buf_free(&cert_pem);
	if (rc == 0)
		log_info("https: made certificate %s", cert_path);
	return rc;
}
