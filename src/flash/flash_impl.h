/*
 * flash_impl.h: what the files of src/flash/ share and nobody else sees:
 * the store handle, the boot record and the bank helpers. The public
 * contract is flash.h.
 */
#ifndef TANDEM_FLASH_IMPL_H
#define TANDEM_FLASH_IMPL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "flash/flash.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define FLASH_BOOTREC_SIZE	64
#define FLASH_IO_CHUNK		(1024 * 1024)	/* write unit */
/* Read-back unit: small enough that what read() copies is still in the
 * cache when it is hashed. */
#define FLASH_READBACK_CHUNK	(128 * 1024)
/* An image is read back a range at a time while later ranges are still
 * being written: large enough that each sync and drop is one long device
 * request, small enough that the last range's read-back is short. */
#define FLASH_READBACK_RANGE	(16 * 1024 * 1024)
#define FLASH_IO_ALIGN		4096
#define FLASH_WRITEBACK_KICK	(8 * 1024 * 1024) /* start writeback after */
#define FLASH_NOTE_MAX		4096		/* flash/last-result */
#define FLASH_MANIFEST_SIG	"manifest.sig"
#define FLASH_MANIFEST_JSON	"manifest.json"
#define FLASH_FLOOR_FILE	"security-floor"	/* floor.c */
#define FLASH_STORAGE_FILE	"storage.json"		/* storage.c */
/* block backend (blk.c): header region before each image, one boot
 * record slot, and the smallest bank and boot record partitions. */
#define FLASH_BLK_HEADER	4096
#define FLASH_BLK_SLOT		4096
#define FLASH_BLK_BANK_MIN	(1024 * 1024)
#define FLASH_BLK_BOOTREC_MIN	(2 * FLASH_BLK_SLOT)

/* One boot record, decoded (layout in bootrec.c). */
struct flash_bootrec {
	uint32_t format;
	uint64_t sequence;
	uint32_t bank;
	bool trial;
	uint32_t boot_count;
};

/* A file's identity and last change, as stat() gives them. */
struct flash_file_stamp {
	int err;			/* errno of stat(), 0 if it exists */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* The files flash_store_status reads: both boot records, both manifests. */
#define FLASH_STATUS_FILES 4

/* Where one image of a bank lies: a file of its own (dir: base 0, len
 * UINT64_MAX, to the end of the file), or a region of the bank's device
 * (block: after the image's header). */
struct flash_extent {
	char path[PATH_MAX];
	uint64_t base;
	uint64_t len;			/* read limit */
	uint64_t size;			/* dir: the file's, block: header's */
	uint8_t sha256[32];		/* block: what its header names */
	int64_t mtime;			/* block: when it was written */
};

struct flash_store {
	char dir[PATH_MAX];		/* <state>/flash */
	enum flash_backend backend;
	/* block: resolved paths of the bank and boot record devices. */
	char dev_bank[FLASH_BANKS][PATH_MAX];
	char dev_bootrec[PATH_MAX];
	/* One lock over the boot record: held from each load to the last
	 * use of rec and across each commit, so threads of one process
	 * (CLI sessions, an install, the confirmation) never see or write
	 * it half changed. Another process is kept out by flash/lock. */
	pthread_mutex_t rec_mu;
	struct flash_bootrec rec;	/* the newest valid record */
	int rec_slot;			/* which bootrec.N holds it */
	/* flash_store_status's last answer, kept while the files it came
	 * from are unchanged (the CLI asks on every command). */
	pthread_mutex_t status_mu;
	bool status_valid;
	struct flash_file_stamp status_stamps[FLASH_STATUS_FILES];
	struct flash_status status;
	/* With flash_store_watch: inotify tells of changes instead of the
	 * stamps (watch.c) while watching; a lost watch (flash/ gone)
	 * clears it for good. The descriptor (flash/, bank0/, bank1/)
	 * stays open until the store closes; -1 without. */
	atomic_bool watching;
	int watch_fd;
	int watch_wd[1 + FLASH_BANKS];
	unsigned long status_reads;	/* from the files, not kept */
};

/* watch.c; changed under status_mu */
bool flash_watch_pending(const struct flash_store *s);
bool flash_watch_changed(struct flash_store *s);
void flash_watch_close(struct flash_store *s);

/* bootrec.c */
void flash_bootrec_encode(const struct flash_bootrec *r,
			  uint8_t out[FLASH_BOOTREC_SIZE]);
int flash_bootrec_decode(const uint8_t *p, size_t len,
			 struct flash_bootrec *out, struct err *e);
int flash_bootrec_load(struct flash_store *s, struct err *e);
int flash_bootrec_commit(struct flash_store *s, uint32_t bank, bool trial,
			 uint32_t boot_count, struct err *e);

/* floor.c: rec as loaded under rec_mu; raise with rec_mu held, after the
 * confirming record's commit. */
int flash_floor_parse(const char *text, size_t len, uint32_t *out);
int flash_floor_read(const struct flash_store *s, uint32_t *out,
		     struct err *e);
int flash_floor_get(const struct flash_store *s,
		    const struct flash_bootrec *rec, uint32_t *floor,
		    struct err *e);
int flash_floor_raise(struct flash_store *s, struct err *e);

/* bank.c */
int flash_path(const struct flash_store *s, char *out, size_t outlen,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int flash_bank_file(const struct flash_store *s, int bank, const char *name,
		    char *out, size_t outlen);
int flash_bank_clear(struct flash_store *s, int bank, struct err *e);
int flash_bank_manifest(const struct flash_store *s, int bank,
			struct bundle_manifest *m, bool *present,
			struct err *e);
/* 1 and *x when the bank holds the image (or manifest file), 0 when it
 * does not, or the error. */
int flash_image_locate(const struct flash_store *s, int bank,
		       const char *name, struct flash_extent *x,
		       struct err *e);
bool flash_bank_has(const struct flash_store *s, int bank, const char *name);
/* A small file of a bank (the manifest's two), whole. */
int flash_bank_read(const struct flash_store *s, int bank, const char *name,
		    size_t max, struct buf *out, struct err *e);
int flash_image_hash(const struct flash_extent *x, uint8_t sha[32],
		     uint64_t *size, struct err *e);
int flash_image_crc(const struct flash_extent *x, uint32_t *crc,
		    struct err *e);
int flash_image_check(const struct flash_store *s, int bank,
		      const struct bundle_component *c, struct err *e);
void flash_drop_cache(int fd);

/* writer.c: one image write in flight on its own thread. */
struct flash_writer;
struct flash_writer *flash_writer_new(void);
/* data must stay untouched until flash_writer_wait returns; kicked NULL:
 * no early writeback. crc: the CRC-32C of what is written, carried on. */
void flash_writer_start(struct flash_writer *w, int fd, uint64_t base,
			const void *data, size_t len, const char *component,
			uint64_t *off, uint64_t *kicked, uint32_t *crc);
/* Waits for the write in flight: 0 or its -errno. */
int flash_writer_wait(struct flash_writer *w);
void flash_writer_free(struct flash_writer *w);	/* waits first */

/*
 * readback.c: one image read back on its own thread while it is written.
 * The installer begins it once the image file exists, reports each write
 * that ended, and collects the verdict (size, sha256 against the signed
 * manifest, still the file its path names) before the next image.
 */
struct flash_readback;
struct flash_readback *flash_readback_new(void);
int flash_readback_begin(struct flash_readback *r,
			 const struct flash_extent *x, int bank,
			 const struct bundle_component *c, struct err *e);
/* Bytes [0, upto) are written; complete: that is the whole image. */
void flash_readback_written(struct flash_readback *r, uint64_t upto,
			    bool complete);
/* 0 (also when nothing is pending), or FLASH_ERR_READBACK with e set. */
int flash_readback_wait(struct flash_readback *r, struct err *e);
void flash_readback_cancel(struct flash_readback *r);
void flash_readback_free(struct flash_readback *r);	/* cancels first */

/* storage.c: the store's backend from <state>/flash/storage.json. */
int flash_storage_load(struct flash_store *s, struct err *e);

/*
 * blk.c: the block backend. A bank: entries one after another from offset
 * 0, each a FLASH_BLK_HEADER header (layout in blk.c) and its data padded
 * to FLASH_IO_ALIGN; the images in manifest order, then manifest.sig,
 * then manifest.json, which marks the bank whole.
 */
struct flash_blk_writing {
	uint64_t next;			/* offset of the next header */
	uint64_t gen;			/* this install's generation */
	uint32_t index;			/* of the next entry */
};
int flash_blk_dev_open(const char *path, int flags, uint64_t *size,
		       struct err *e);
int flash_blk_locate(const struct flash_store *s, int bank,
		     const char *name, struct flash_extent *x, struct err *e);
int flash_blk_clear(struct flash_store *s, int bank, struct err *e);
/* Bytes a bank needs for m; 0 and e set when its device is smaller. */
int flash_blk_fits(const struct flash_store *s, int bank,
		   const struct bundle_manifest *m, struct err *e);
/* A new install's first entry goes to offset 0 with a new generation. */
int flash_blk_writing_start(struct flash_blk_writing *w, struct err *e);
/* Writes an image's header at w->next and reserves its data region:
 * *base is where the data goes. -errno on failure. */
int flash_blk_image_header(int fd, struct flash_blk_writing *w,
			   const char *name, uint64_t size,
			   const uint8_t sha[32], uint32_t flags,
			   uint64_t *base);
/* A small entry whole: data, fsync, then its header, fsync. -errno. */
int flash_blk_entry_write(int fd, struct flash_blk_writing *w,
			  const char *name, const void *data, size_t len);
/* Copies an image from one bank into the other's next entry. */
int flash_blk_image_copy(const struct flash_store *s, int from, int fd,
			 struct flash_blk_writing *w,
			 const struct bundle_component *c, struct err *e);
int flash_blk_init(struct flash_store *s, struct err *e);
int flash_blk_bootrec_read(const struct flash_store *s, int slot,
			   struct buf *out, struct err *e);
int flash_blk_bootrec_write(const struct flash_store *s, int slot,
			    const uint8_t *raw, size_t len, struct err *e);
/*
 * An image of a bank copied to flash/NAME (mode MODE), checked against the
 * signed sha256 on the way: the MC image the loader runs (mc.bankN), the
 * image a component handler reads (handler.bankN.COMPONENT), since a
 * program cannot be given a region of a partition as a file. out: its path.
 */
int flash_blk_image_file(const struct flash_store *s, int bank,
			 const struct bundle_component *c, const char *name,
			 int mode, char *out, size_t outlen, struct err *e);
/* flash_blk_image_file as handler.bankN.COMPONENT, -1 on any failure. */
int flash_blk_handler_file(const struct flash_store *s, int bank,
			   const struct bundle_component *c, char *out,
			   size_t outlen);

#endif
