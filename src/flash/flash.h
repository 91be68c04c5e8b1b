/*
 * flash.h: one controller's flash store (DESIGN.md "Flash store"): two banks,
 * two CRC'd boot records; each bank holds the signed manifest and images it
 * was installed from, so its bundle can be exported again. Nothing outside
 * src/flash/ touches these files. An install streams a bundle through the
 * verifier into the inactive bank, reads every image back against the signed
 * manifest, and only then flips the boot record; the new bank is on trial
 * until the daemon confirms itself healthy.
 *
 * This header is the contract the update engine, the tool and the loader
 * code against; the implementation may add to it but not change it.
 */
#ifndef TANDEM_FLASH_H
#define TANDEM_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "common/common.h"

#define FLASH_FORMAT_VERSION	1
#define FLASH_BANKS		2
#define FLASH_BOOT_TRIES	3	/* unconfirmed boots before rollback */
/* `write-error=bootrec`: the next boot record write fails (EIO). */
#define FLASH_FAULT_BOOTREC	"bootrec"

enum flash_error {
	FLASH_OK = 0,
	FLASH_ERR_IO = -1,		/* read/write/fsync failed (errno in msg) */
	FLASH_ERR_NOSPACE = -2,		/* ENOSPC: active bank untouched */
	FLASH_ERR_VERIFY = -3,		/* the bundle failed verification */
	FLASH_ERR_READBACK = -4,	/* an image read back differs */
	FLASH_ERR_VERSION = -5,		/* older than installed, no force */
	FLASH_ERR_BUSY = -6,		/* another install holds the store */
	FLASH_ERR_TRIAL = -7,		/* the active bank is still on trial */
	FLASH_ERR_FORMAT = -8,		/* store from a newer format: refused */
	FLASH_ERR_CORRUPT = -9,		/* no valid boot record / bad bank */
	FLASH_ERR_NOT_INIT = -10,	/* no store at that path */
	FLASH_ERR_USAGE = -11,
	FLASH_ERR_NO_PREVIOUS = -12,	/* rollback: the other bank is empty */
	FLASH_ERR_SECURITY = -13,	/* below the security floor, even forced */
};

/* Stages an install goes through, for progress reports. */
enum flash_stage {
	FLASH_STAGE_RECEIVING = 0,	/* verifying + writing as bytes arrive */
	FLASH_STAGE_READBACK,		/* reading every image back */
	FLASH_STAGE_ACTIVATING,		/* writing the boot record */
	FLASH_STAGE_DONE,
};

/* What happened to one component of an install. */
enum flash_component_outcome {
	FLASH_COMPONENT_INSTALLED = 0,
	FLASH_COMPONENT_SKIPPED,	/* active image already has its sha256 */
	FLASH_COMPONENT_FAILED,
};

struct flash_component_state {
	char name[BUNDLE_NAME_MAX];
	char version[BUNDLE_VERSION_MAX];
	uint64_t size;
	uint8_t sha256[32];
	unsigned flags;
	int bank;			/* bank the active image lives in */
};

/* What `show versions` and `tandem flash show` need. */
struct flash_status {
	char bundle_version[BUNDLE_VERSION_MAX];	/* "" when empty */
	char build_date[BUNDLE_BUILD_DATE_MAX];
	struct flash_component_state components[BUNDLE_COMPONENTS_MAX];
	size_t ncomponents;
	int active_bank;		/* bank of the last activation */
	bool trial;			/* active bank not yet confirmed */
	unsigned boot_count;		/* boots on trial so far */
	uint64_t sequence;		/* boot record sequence number */
	/* The other bank's bundle version ("" when empty), for rollback. */
	char previous_version[BUNDLE_VERSION_MAX];
};

struct flash_install;
struct flash_install_result;

struct flash_install_options {
	const struct bundle_keyring *keys;	/* trusted keys, required */
	const char *model;			/* NULL: any */
	bool force;	/* same/older versions; reinstall even if identical */
	/* Bytes per image write; 0 is the default (1 MiB). Tests make it
	 * small to put a power-cut point inside every image. */
	size_t write_unit;
	/*
	 * A client is sending (FTP, SFTP): each image goes to the page cache
	 * as it arrives and its writeback and read-back start once it is
	 * complete, so the device's work does not slow the transfer. Off (a
	 * local file, the partner's push), both run while the image is still
	 * being written.
	 */
	bool receive_first;
	/* Progress, called from the feeding thread; may be NULL. */
	void (*progress)(void *ctx, enum flash_stage stage, uint64_t done,
			 uint64_t total);
	void *progress_ctx;
	/*
	 * Once the signed manifest has passed the version rules and before a
	 * byte is written: a refusal (negative, e set) ends the install with
	 * nothing changed, as FLASH_ERR_VERSION. Not called under force,
	 * which bypasses the version and partner checks. May be NULL.
	 */
	int (*accept)(void *ctx, const struct bundle_manifest *m,
		      struct err *e);
	void *accept_ctx;
	/*
	 * Once every image is in the target bank and read back, before the
	 * bank is sealed and activated (component handlers, src/handlers/):
	 * a refusal (negative, e set) ends the install with the bank not
	 * activated and the active bank unchanged. Not called when every
	 * component was already installed. May be NULL.
	 */
	int (*before_activate)(void *ctx, struct flash_install *fi,
			       const struct flash_install_result *res,
			       int bank, struct err *e);
	void *before_activate_ctx;
};

struct flash_install_result {
	struct bundle_manifest manifest;	/* valid once verified */
	enum flash_component_outcome outcome[BUNDLE_COMPONENTS_MAX];
	size_t ninstalled;
	size_t nskipped;
	bool activated;		/* false when every component was skipped */
	char previous_version[BUNDLE_VERSION_MAX];
};

/*
 * Where a store keeps its banks and boot records (docs/flash.md "Storage
 * backends"). dir: files under <state>/flash (the default). block: each
 * bank a raw partition (or a file standing in for one), images behind a
 * small header; the two boot records in a small partition of their own.
 * The choice is recorded in <state>/flash/storage.json at init, so the
 * tool and the loader open a store by its state directory alone.
 */
enum flash_backend {
	FLASH_BACKEND_DIR = 0,
	FLASH_BACKEND_BLOCK,
};

#define FLASH_STORAGE_PATH_MAX	4096	/* a device path, with its NUL */

struct flash_storage {
	bool set;			/* some storage option was given */
	enum flash_backend backend;
	/* block: device paths; a relative one is under the state dir. */
	char bank[FLASH_BANKS][FLASH_STORAGE_PATH_MAX];
	char bootrec[FLASH_STORAGE_PATH_MAX];
};

/* The long options every program that creates a store takes (their
 * getopt values are FLASH_STORAGE_OPT + 0..3): --storage dir|block,
 * --storage-bank0 PATH, --storage-bank1 PATH, --storage-bootrec PATH. */
#define FLASH_STORAGE_OPT	0x5700
#define FLASH_STORAGE_LONGOPTS \
	{ "storage", required_argument, NULL, FLASH_STORAGE_OPT }, \
	{ "storage-bank0", required_argument, NULL, FLASH_STORAGE_OPT + 1 }, \
	{ "storage-bank1", required_argument, NULL, FLASH_STORAGE_OPT + 2 }, \
	{ "storage-bootrec", required_argument, NULL, FLASH_STORAGE_OPT + 3 }
#define FLASH_STORAGE_HELP \
	"  --storage dir|block     flash store backend (default: as the " \
	"store was made;\n                          dir for a new one)\n" \
	"  --storage-bank0 PATH    block: partition of bank 0\n" \
	"  --storage-bank1 PATH    block: partition of bank 1\n" \
	"  --storage-bootrec PATH  block: partition of the boot records\n"

/* storage.c: one storage option (its getopt value) into st. */
int flash_storage_option(struct flash_storage *st, int opt,
			 const char *value, struct err *e);
/* An empty store with st's backend (NULL or !st->set: dir). */
int flash_store_init_storage(const char *dir, const struct flash_storage *st,
			     struct err *e);
/*
 * At a daemon's start: no store yet, one is made as st says; a store
 * made otherwise than st says (backend or devices) is refused, naming
 * the difference. !st->set: any existing store; dir for a new one.
 */
int flash_storage_ensure(const char *dir, const struct flash_storage *st,
			 struct err *e);
/* The same checks, making nothing: for `tandemd -n`. */
int flash_storage_check(const char *dir, const struct flash_storage *st,
			struct err *e);

struct flash_store;
struct flash_install;

/* store.c */
int flash_store_init(const char *dir, struct err *e);	/* empty store */
int flash_store_open(const char *dir, struct flash_store **out,
		     struct err *e);
void flash_store_close(struct flash_store *s);
int flash_store_status(struct flash_store *s, struct flash_status *out,
		       struct err *e);
/* For a process that asks for the status often (tandemd): changes are
 * learnt from inotify rather than by stat()ing the status's files on
 * every call (watch.c). A dir store only; an error leaves the stamps. */
int flash_store_watch(struct flash_store *s, struct err *e);
/* Marks the trial bank healthy; a no-op when not on trial. */
int flash_store_confirm(struct flash_store *s, struct err *e);
/* Offline integrity check of both banks; 0 only if the active one is good. */
int flash_store_check(struct flash_store *s, struct buf *report,
		      struct err *e);
/*
 * export.c: the signed bundle of the active bank, rebuilt as a ustar
 * stream (manifest.json, manifest.sig, each image in manifest order) and
 * handed to write() in pieces; for the partner's PFU and `tandem flash
 * export`. Each image is checked against the signed manifest as it
 * streams: a bad one stops the export, naming it, before its last bytes
 * and the end of the archive are written. 0, or the error (write's own
 * error as it returned it).
 */
int flash_store_bundle_export(struct flash_store *s,
	int (*write)(void *ctx, const void *data, size_t len, struct err *e),
	void *ctx, struct err *e);
/*
 * The same, first telling start() the export's exact size in bytes (from
 * the bank's manifest, before any image is read; the same bank and lock
 * as the bytes that follow). A start() error ends the export with it.
 * hash false: each image's size is still checked, its sha256 is left to
 * the receiver, which must check it itself (the partner's engine does,
 * and activates nothing that differs).
 */
int flash_store_bundle_export_sized(struct flash_store *s,
	int (*start)(void *ctx, uint64_t size, struct err *e),
	int (*write)(void *ctx, const void *data, size_t len, struct err *e),
	void *ctx, bool hash, struct err *e);
/* The signed manifest the active bank was installed from. */
int flash_store_active_manifest(struct flash_store *s,
				struct bundle_manifest *out, struct err *e);
/* Path of the active bank's image of a component (on the block backend a
 * copy checked against the signed sha256, flash/handler.bankN.NAME), or
 * -1. */
int flash_store_image_path(struct flash_store *s, const char *component,
			   char *out, size_t outlen);
/* The loader's last rollback or boot note ("" if none). */
int flash_store_last_result(struct flash_store *s, struct buf *out);

/*
 * rollback.c: makes the other bank (the previous bundle) active and
 * confirmed, through the same ordered, fsynced boot record write as an
 * activation; PFU's roll-back way out of a halt. Its images are checked
 * against its signed manifest first: an empty bank is refused with
 * FLASH_ERR_NO_PREVIOUS, a damaged one with FLASH_ERR_CORRUPT, a running
 * install with FLASH_ERR_BUSY, a bank below the security floor with
 * FLASH_ERR_SECURITY; then nothing changes. version, if not
 * NULL, receives the bundle now active.
 */
int flash_store_rollback(struct flash_store *s, char *version,
			 size_t versionlen, struct err *e);

/*
 * floor.c: the security floor (docs/flash.md "Security floor"): the highest
 * security_version this controller has activated and confirmed. An install
 * of a bundle below it, forced or not, and a rollback to a bank below it
 * are refused with FLASH_ERR_SECURITY. It rises only when a bank is
 * confirmed (flash_store_confirm) and never goes down.
 */
struct flash_security {
	uint32_t floor;		/* what the checks use (below) */
	uint32_t floor_file;	/* flash/security-floor as written (0: none) */
	uint32_t active;	/* the active bank's security_version */
	uint32_t previous;	/* the other bank's (0 when empty) */
};
int flash_store_security(struct flash_store *s, struct flash_security *out,
			 struct err *e);

/* install.c: streaming install; feed from any transport, in any chunks. */
struct flash_install *flash_install_begin(struct flash_store *s,
	const struct flash_install_options *opt, struct err *e);
int flash_install_feed(struct flash_install *fi, const void *data,
		       size_t len, struct err *e);
/* Instead of feeding: the whole input pulled from a source on this thread
 * (bundle_verifier_run); then flash_install_finish() as after feeding. */
int flash_install_pull(struct flash_install *fi, bundle_pull_fn pull,
		       void *arg, struct err *e);
/* Path of component i's image in the bank the install writes (block: a
 * checked copy, flash/handler.bankN.NAME); for
 * before_activate. 0, or -1 when it does not fit. */
int flash_install_image_path(const struct flash_install *fi, size_t i,
			     char *out, size_t len);
/* End of input: verify the tail, read back, activate. 0 or the error. */
int flash_install_finish(struct flash_install *fi,
			 struct flash_install_result *res, struct err *e);
/* Drop an unfinished install: the active bank is untouched. */
void flash_install_abort(struct flash_install *fi);
void flash_install_free(struct flash_install *fi);

/* boot.c: used by tandem-loader. */
struct flash_boot_choice {
	int bank;
	bool rolled_back;	/* this boot fell back to the previous bank */
	char reason[ERR_MESSAGE_MAX];
	char mc_image[4096];	/* executable MC image, "" if none */
};
int flash_store_boot(struct flash_store *s, struct flash_boot_choice *out,
		     struct err *e);

#endif
