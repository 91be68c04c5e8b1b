/*
 * bundle.h: the firmware bundle format (DESIGN.md "Bundle format"): a POSIX
 * ustar archive of manifest.json, manifest.sig, then one payload per
 * component in manifest order. This part alone parses bundles; everyone
 * else (flash store, update engine, FTP, HTTP, partner link) feeds bytes to
 * a struct bundle_verifier and receives verified component data.
 */
#ifndef TANDEM_BUNDLE_H
#define TANDEM_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

/* Limits of this part; each is tested just under, at and just over. */
#define BUNDLE_FORMAT_VERSION	1
#define BUNDLE_MANIFEST_MAX	(64 * 1024)
#define BUNDLE_SIGNATURE_MAX	1024
#define BUNDLE_COMPONENTS_MAX	16
#define BUNDLE_MODELS_MAX	16
#define BUNDLE_COMPONENT_MAX	(UINT64_C(4) << 30)	/* bytes */
#define BUNDLE_NAME_MAX		32	/* component and model names, with NUL */
#define BUNDLE_VERSION_MAX	32	/* with NUL */
#define BUNDLE_BUILD_DATE_MAX	64	/* with NUL */
#define BUNDLE_KEY_ID_LEN	16	/* hex digits: first 8 bytes of SHA-256(pubkey) */
#define BUNDLE_KEYS_MAX		8
/* Key ids a trust store may list as revoked, and that list's file size. */
#define BUNDLE_REVOKED_MAX	64
#define BUNDLE_REVOKED_FILE_MAX	(16 * 1024)
#define BUNDLE_REVOKED_FILE	"revoked"	/* beside the *.pub files */
/* The manifest's security_version: 0 (absent) up to this. */
#define BUNDLE_SECURITY_VERSION_MAX UINT32_MAX
/* partner_compat: patterns, each a version or a prefix and '*', with NUL. */
#define BUNDLE_PARTNER_COMPAT_MAX 16
#define BUNDLE_SIG_LEN		64	/* Ed25519 */
#define BUNDLE_TAR_BLOCK	512
/*
 * Zero bytes accepted after the last member, the two end blocks included:
 * tar writers pad to their record size (10 KiB by default, 1 MiB at
 * `tar -b 2048`). More is refused at once rather than read to its end.
 */
#define BUNDLE_PADDING_MAX	(UINT64_C(1) << 20)

#define BUNDLE_MEMBER_MANIFEST	"manifest.json"
#define BUNDLE_MEMBER_SIGNATURE	"manifest.sig"
#define BUNDLE_XML_COMPONENT	"bundle.xml"

/* Component flags (manifest "flags": ["executable"]). */
#define BUNDLE_FLAG_EXECUTABLE	0x1u

/*
 * Errors. Each has a stable name and a distinct exit code for the tool
 * (bundle_error_exit_code): 10 + the error's number.
 */
enum bundle_error {
	BUNDLE_OK = 0,
	BUNDLE_ERR_IO = -1,		  /* reading the input failed */
	BUNDLE_ERR_TRUNCATED = -2,	  /* input ends inside the archive */
	BUNDLE_ERR_HASH = -3,		  /* a component's sha256 differs */
	BUNDLE_ERR_SIZE = -4,		  /* a member's size differs from the manifest */
	BUNDLE_ERR_SIGNATURE = -5,	  /* signature does not verify */
	BUNDLE_ERR_UNKNOWN_KEY = -6,	  /* signed by a key id not trusted */
	BUNDLE_ERR_MANIFEST_NOT_FIRST = -7,
	BUNDLE_ERR_SIGNATURE_NOT_SECOND = -8,
	BUNDLE_ERR_PAYLOAD_MISSING = -9,  /* archive ends before a listed payload */
	BUNDLE_ERR_EXTRA_MEMBER = -10,	  /* a member the manifest does not list */
	BUNDLE_ERR_DUPLICATE_MEMBER = -11,
	BUNDLE_ERR_BAD_NAME = -12,	  /* '/', '..', absolute or bad characters */
	BUNDLE_ERR_MEMBER_TYPE = -13,	  /* link, device, directory... */
	BUNDLE_ERR_TOO_LARGE = -14,	  /* over one of the limits above */
	BUNDLE_ERR_MANIFEST = -15,	  /* malformed manifest or signature file */
	BUNDLE_ERR_FORMAT_VERSION = -16,  /* manifest format this build can't read */
	BUNDLE_ERR_MODEL = -17,		  /* not made for this model */
	BUNDLE_ERR_NOT_USTAR = -18,	  /* not a POSIX ustar archive */
	BUNDLE_ERR_TRAILING_DATA = -19,	  /* non-zero bytes after the archive end */
	BUNDLE_ERR_REJECTED = -20,	  /* a consumer callback refused (its message) */
	BUNDLE_ERR_NOMEM = -21,
	BUNDLE_ERR_KEY = -22,		  /* key file unreadable or not Ed25519 */
	BUNDLE_ERR_USAGE = -23,		  /* the caller's arguments */
	BUNDLE_ERR_REVOKED_KEY = -24,	  /* signed by a key listed as revoked */
};
#define BUNDLE_ERR_COUNT 25

/* A component may be skipped by a consumer: still hashed, not handed out. */
#define BUNDLE_SKIP 1
/*
 * Or taken over: handed out, its size checked, but its sha256 left to the
 * consumer, which must compare what it stored against the manifest before
 * trusting it. The flash store does, from what it reads back from the
 * device, and so hashes each image once instead of twice.
 */
#define BUNDLE_TAKE_UNHASHED 2

struct bundle_component {
	char name[BUNDLE_NAME_MAX];
	char version[BUNDLE_VERSION_MAX];
	uint64_t size;
	uint8_t sha256[32];
	unsigned flags;
};

struct bundle_manifest {
	int format;
	char version[BUNDLE_VERSION_MAX];
	char build_date[BUNDLE_BUILD_DATE_MAX];
	char models[BUNDLE_MODELS_MAX][BUNDLE_NAME_MAX];
	size_t nmodels;
	struct bundle_component components[BUNDLE_COMPONENTS_MAX];
	size_t ncomponents;
	/*
	 * The partner versions this bundle tolerates while the two
	 * controllers differ (PFU, the pre-flight): "TS250P002" matches that
	 * version only, "TS250*" every version that starts with TS250.
	 * None listed (the manifest has no "partner_compat"): any partner.
	 */
	char partner_compat[BUNDLE_PARTNER_COMPAT_MAX][BUNDLE_VERSION_MAX];
	size_t npartner_compat;
	/*
	 * The minimum security version (docs/bundle.md "Security version"):
	 * a controller whose security floor is above it refuses the bundle,
	 * even under force. 0 when the manifest has no "security_version".
	 */
	uint32_t security_version;
	char key_id[BUNDLE_KEY_ID_LEN + 1];	/* who signed it */
};

/*
 * A trust store: public keys (Ed25519), each known by its key id, and the
 * key ids revoked. A signature names its key id; only that key is tried,
 * and a revoked id is refused even while its key is still listed. A
 * revocation list that could not be read leaves the keyring refusing
 * every bundle with that reason (broken), never trusting more.
 */
struct bundle_keyring {
	struct {
		char id[BUNDLE_KEY_ID_LEN + 1];
		uint8_t raw[32];
	} keys[BUNDLE_KEYS_MAX];
	size_t nkeys;
	char revoked[BUNDLE_REVOKED_MAX][BUNDLE_KEY_ID_LEN + 1];
	size_t nrevoked;
	char broken[ERR_MESSAGE_MAX];	/* "" unless the store is unusable */
};

/*
 * What a consumer of a verified stream implements. Every callback may fail
 * by returning a negative code and filling e; the verifier then stops with
 * BUNDLE_ERR_REJECTED and the consumer's message.
 *
 * The callbacks run on the verifier's own reader thread, but only while the
 * caller is blocked inside bundle_verifier_feed() or _finish(), never
 * concurrently with the caller: consumers need no locking. With
 * bundle_verifier_run() they run on the caller's thread.
 *
 * Component data is handed out as it arrives, before its hash is known:
 * component_end() is the moment its sha256 and size have matched, and the
 * bundle as a whole is good only when _finish() returns 0.
 */
struct bundle_verifier_ops {
	/* After manifest and signature verified, format and model checked. */
	int (*manifest)(void *ctx, const struct bundle_manifest *m,
			struct err *e);
	/* Return 0 to receive the data, BUNDLE_SKIP to only verify it. */
	int (*component_begin)(void *ctx, const struct bundle_component *c,
			       struct err *e);
	int (*component_data)(void *ctx, const struct bundle_component *c,
			      const uint8_t *data, size_t len, struct err *e);
	int (*component_end)(void *ctx, const struct bundle_component *c,
			     struct err *e);
};

struct bundle_verify_config {
	const struct bundle_keyring *keys;	/* required unless unsigned_ok */
	const char *model;			/* NULL: any model */
	bool unsigned_ok;			/* inspect only: skip the signature */
};

struct bundle_verifier;

/*
 * A source the verifier pulls from (bundle_verifier_run): fills up to len
 * bytes of buf and returns how many, 0 at the end of input, or a negative
 * code with its message in e, which then becomes the verifier's error.
 */
typedef ssize_t (*bundle_pull_fn)(void *arg, uint8_t *buf, size_t len,
				  struct err *e);

/* verifier.c */
struct bundle_verifier *bundle_verifier_new(
	const struct bundle_verify_config *cfg,
	const struct bundle_verifier_ops *ops, void *ctx);
/* Feed the next len bytes (any size, including 0). 0 or the error. */
int bundle_verifier_feed(struct bundle_verifier *v, const void *data,
			 size_t len);
/* End of input: 0 only if the whole bundle verified. */
int bundle_verifier_finish(struct bundle_verifier *v);
/*
 * Instead of feed and finish: reads the whole input from pull on this
 * thread, with no hand-off to the reader thread, then gives the verdict
 * _finish() would (a later _finish() returns it again). 0 only if the whole
 * bundle verified; the source's own failure is returned as it gave it.
 */
int bundle_verifier_run(struct bundle_verifier *v, bundle_pull_fn pull,
			void *arg);
const struct err *bundle_verifier_error(const struct bundle_verifier *v);
/* The verified manifest, or NULL before the signature has been checked. */
const struct bundle_manifest *bundle_verifier_manifest(
	const struct bundle_verifier *v);
uint64_t bundle_verifier_bytes_fed(const struct bundle_verifier *v);
/*
 * The exact signed bytes of manifest.json and manifest.sig, once the
 * signature has been checked (-1 before): the flash store keeps them beside
 * the images so a bank can be checked against what was signed.
 */
int bundle_verifier_signed_manifest(const struct bundle_verifier *v,
				    struct slice *manifest, struct slice *sig);
void bundle_verifier_free(struct bundle_verifier *v);

/* Feeds a whole file through a new verifier; 0 only if it verified. */
int bundle_verify_file(const char *path, const struct bundle_verify_config *cfg,
		       const struct bundle_verifier_ops *ops, void *ctx,
		       struct bundle_manifest *out, struct err *e);

/* manifest.c */
int bundle_manifest_parse(const uint8_t *json, size_t len,
			  struct bundle_manifest *m, struct err *e);
int bundle_manifest_render(const struct bundle_manifest *m, struct buf *out,
			   struct err *e);
bool bundle_name_valid(const char *name);
const struct bundle_component *bundle_manifest_find(
	const struct bundle_manifest *m, const char *name);
/* A partner_compat pattern: version characters, at most one '*', last. */
bool bundle_partner_pattern_valid(const char *pattern);
/* Whether a partner running partner_version may pair with this bundle
 * (true when the manifest lists no partner_compat). */
bool bundle_manifest_tolerates(const struct bundle_manifest *m,
			       const char *partner_version);

/* signature.c */
/*
 * Adding a key whose id the keyring already holds is a no-op. A directory
 * adds every *.pub in it, in name order, then its revocation list
 * (BUNDLE_REVOKED_FILE) when there is one.
 */
int bundle_keyring_add_file(struct bundle_keyring *kr, const char *path,
			    struct err *e);
int bundle_keyring_add_dir(struct bundle_keyring *kr, const char *dir,
			   struct err *e);
int bundle_keyring_add_path(struct bundle_keyring *kr, const char *path,
			    struct err *e);
/*
 * A revocation list: one key id (16 lower-case hex digits) a line, which
 * may go on with white space and a note; '#' lines and blank lines are
 * skipped. Any other line refuses the whole file, names the line and
 * marks the keyring broken.
 */
int bundle_keyring_revoke_file(struct bundle_keyring *kr, const char *path,
			       struct err *e);
int bundle_keyring_revoke_text(struct bundle_keyring *kr, const char *text,
			       size_t len, const char *where, struct err *e);
bool bundle_keyring_is_revoked(const struct bundle_keyring *kr,
			       const char *id);
/* The key id of a public key file (PEM). */
int bundle_key_file_id(const char *path, char out[BUNDLE_KEY_ID_LEN + 1],
		       struct err *e);
/* The key id manifest.sig names, without checking the signature. */
int bundle_signature_key_id(const uint8_t *sig_file, size_t slen,
			    char key_id_out[BUNDLE_KEY_ID_LEN + 1],
			    struct err *e);
int bundle_signature_check(const struct bundle_keyring *kr,
			   const uint8_t *manifest, size_t mlen,
			   const uint8_t *sig_file, size_t slen,
			   char key_id_out[BUNDLE_KEY_ID_LEN + 1],
			   struct err *e);
int bundle_key_generate(const char *dir, struct err *e);
int bundle_signature_make(const char *key_path, const uint8_t *manifest,
			  size_t mlen, struct buf *sig_file, struct err *e);
int bundle_key_id(const uint8_t raw[32], char out[BUNDLE_KEY_ID_LEN + 1]);

/* create.c */
struct bundle_create_component {
	const char *name;
	const char *version;
	const char *path;
	unsigned flags;
};

struct bundle_create_spec {
	const char *key_path;		/* private key (PEM) */
	const char *version;
	const char *build_date;		/* NULL: now */
	const char *models[BUNDLE_MODELS_MAX];
	size_t nmodels;
	struct bundle_create_component components[BUNDLE_COMPONENTS_MAX];
	size_t ncomponents;
	const char *partner_compat[BUNDLE_PARTNER_COMPAT_MAX];	/* patterns */
	size_t npartner_compat;
	uint32_t security_version;	/* 0: left out of the manifest */
};

int bundle_create(const struct bundle_create_spec *spec, const char *out_path,
		  struct err *e);

/* version.c: family version strings (TS250P003, M112R14-02, GL222R061). */
bool bundle_version_valid(const char *v);
int bundle_version_compare(const char *a, const char *b);

/* errors.c */
const char *bundle_error_name(int code);
int bundle_error_exit_code(int code);

#endif
