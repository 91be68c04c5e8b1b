/*
 * install.c: the streaming install. Bytes from any transport go through
 * the verifier; verified component data goes into the inactive bank. The
 * bundle itself is not kept: the bank holds the signed manifest and every
 * image, from which export.c rebuilds it. Each image is read back from the
 * device range by range while it is written (readback.c); only after the
 * tail verified and every image read back does the boot record flip (I1,
 * I3 in store.c). Must not touch the active bank's files or write a boot
 * record before that point.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flash/flash_impl.h"

struct flash_install {
	struct flash_store *s;
	struct flash_install_options opt;
	struct bundle_verifier *v;
	int lock_fd;
	size_t write_unit;		/* bytes per image write */
	int active, target;		/* banks */
	uint32_t floor;			/* the security floor (floor.c) */
	struct bundle_manifest *active_m;	/* NULL when active is empty */
	bool skip[BUNDLE_COMPONENTS_MAX];
	/* CRC-32C of each image as it arrived: when a read-back's sha256
	 * differs, it tells a bundle that never matched its manifest from
	 * flash that changed what was written. */
	uint32_t crc[BUNDLE_COMPONENTS_MAX];
	bool all_skipped;
	/* Each image written, open until its fsync: they all come after the
	 * last write, so no image's flush stalls the writing of the next
	 * (the read-back has pushed each range to the device already). Kept
	 * open, not reopened, so a writeback error reaches its fsync. */
	int written_fd[BUNDLE_COMPONENTS_MAX];
	/* block: the target bank's device, where its entries go next. */
	int bank_fd;
	struct flash_blk_writing blk;
	/* The image being written, from image_base of its file or device. */
	int image_fd;
	uint64_t image_base;
	size_t index;
	uint64_t image_off, image_kicked;	/* the writer's, after wait */
	struct flash_writer *writer;
	bool corrupt;		/* fault point: flip a bit in this image */
	/* Two read-backs taking turns, so that one can finish the last
	 * range of an image while the next image is written into the
	 * other; the image each holds, and the first image in manifest
	 * order whose read-back failed (-1: none yet) with its reason. */
	struct flash_readback *readbacks[2];
	int readback_index[2];
	struct flash_readback *readback;	/* the image being written */
	int readback_turn;
	int readback_failed;
	struct err readback_err;
	uint8_t *chunks[2];	/* one filling, one being written */
	uint8_t *chunk;		/* the one filling */
	size_t chunk_len;
	uint64_t done, total;
	struct flash_install_result res;
	int code;			/* our own error behind a rejection */
	struct err err;
	bool ended;
};

static const char *unchanged_note(struct flash_install *fi)
{
	static __thread char note[64];

	snprintf(note, sizeof(note), "; the active bank (%d) is unchanged",
		 fi->active);
	return note;
}

/* An errno from writing something into the target bank, as our error. */
static int write_fail(struct flash_install *fi, struct err *e, int err_no,
		      const char *what)
{
	return err_set(e, err_no == ENOSPC ? FLASH_ERR_NOSPACE : FLASH_ERR_IO,
		       "writing %s to bank %d: %s%s", what, fi->target,
		       strerror(err_no), unchanged_note(fi));
}

/*
 * A read-back differed from the manifest: did the bank hold exactly the
 * bytes that arrived (then the bundle itself was bad), or did the flash
 * change them? Only a skipped image was never received.
 */
static bool arrived_as_written(struct flash_install *fi, size_t i)
{
	const struct bundle_component *c = &fi->res.manifest.components[i];
	struct flash_extent x;
	uint32_t crc;
	struct err e;

	if (fi->skip[i] || fi->all_skipped ||
	    flash_image_locate(fi->s, fi->target, c->name, &x, &e) <= 0 ||
	    flash_image_crc(&x, &crc, &e) < 0)
		return false;
	return crc == fi->crc[i];
}

static void progress(struct flash_install *fi, enum flash_stage stage)
{
	if (fi->opt.progress)
		fi->opt.progress(fi->opt.progress_ctx, stage, fi->done,
				 fi->total);
}

static int component_index(const struct bundle_manifest *m,
			   const struct bundle_component *c)
{
	for (size_t i = 0; i < m->ncomponents; i++)
		if (!strcmp(m->components[i].name, c->name))
			return (int)i;
	return -1;
}

/*
 * "Already installed" means the active image reads back with this hash.
 * Only an image its own signed manifest lists with this size and sha256
 * can: any other is written without reading it (a damaged one that read
 * back with the new hash would be a sha256 collision), so an update does
 * not read and hash the whole image it replaces.
 */
static bool already_installed(struct flash_install *fi,
			      const struct bundle_component *c)
{
	const struct bundle_component *old;
	struct err e;

	if (!fi->active_m)
		return false;
	old = bundle_manifest_find(fi->active_m, c->name);
	if (!old || old->size != c->size ||
	    memcmp(old->sha256, c->sha256, sizeof(c->sha256)))
		return false;
	return flash_image_check(fi->s, fi->active, c, &e) == 0;
}

/* The same components, in the same order, byte for byte (by sha256). */
static bool same_content(const struct bundle_manifest *a,
			 const struct bundle_manifest *b)
{
	if (a->ncomponents != b->ncomponents)
		return false;
	for (size_t i = 0; i < a->ncomponents; i++) {
		const struct bundle_component *x = &a->components[i];
		const struct bundle_component *y = &b->components[i];

		if (strcmp(x->name, y->name) || strcmp(x->version, y->version) ||
		    x->size != y->size || x->flags != y->flags ||
		    memcmp(x->sha256, y->sha256, sizeof(x->sha256)))
			return false;
	}
	return true;
}

static int on_manifest(void *ctx, const struct bundle_manifest *m,
		       struct err *e)
{
	struct flash_install *fi = ctx;
	size_t nskip = 0;
	int order;

	fi->res.manifest = *m;
	/* Before the version rules, and whatever force says. */
	if (m->security_version < fi->floor)
		return fi->code = err_set(e, FLASH_ERR_SECURITY,
			"bundle %s has security version %u, below this "
			"controller's security floor %u; refused even with "
			"force%s", m->version, m->security_version, fi->floor,
			unchanged_note(fi));
	order = fi->active_m ? bundle_version_compare(m->version,
						      fi->active_m->version)
			     : 1;
	if (!fi->opt.force && order < 0)
		return fi->code = err_set(e, FLASH_ERR_VERSION,
			"bundle %s is older than the installed %s; force "
			"installs it anyway", m->version,
			fi->active_m->version);
	/* A version names one content: the same name over other bytes is
	 * not "the same version" (DESIGN.md: force for the same or older). */
	if (!fi->opt.force && order == 0 && !same_content(m, fi->active_m))
		return fi->code = err_set(e, FLASH_ERR_VERSION,
			"bundle %s has the installed version but different "
			"content; force installs it anyway", m->version);
	if (!fi->opt.force && fi->opt.accept &&
	    fi->opt.accept(fi->opt.accept_ctx, m, e) < 0) {
		e->code = FLASH_ERR_VERSION;	/* like a version refusal */
		return fi->code = FLASH_ERR_VERSION;
	}
	for (size_t i = 0; i < m->ncomponents; i++) {
		fi->total += m->components[i].size;
		fi->skip[i] = !fi->opt.force &&
			      already_installed(fi, &m->components[i]);
		nskip += fi->skip[i];
	}
	fi->all_skipped = nskip == m->ncomponents;
	if (fi->all_skipped)
		return 0;	/* nothing will be written, not even a clear */
	if (fi->bank_fd >= 0 && flash_blk_fits(fi->s, fi->target, m, e) < 0) {
		fi->code = e->code;
		return err_prefix(e, "bank %d not changed to %s%s", fi->target,
				  m->version, unchanged_note(fi));
	}
	if (flash_bank_clear(fi->s, fi->target, e) < 0) {
		fi->code = e->code;
		return err_prefix(e, "bank %d not changed to %s%s", fi->target,
				  m->version, unchanged_note(fi));
	}
	if (fi->bank_fd >= 0 && flash_blk_writing_start(&fi->blk, e) < 0)
		return fi->code = e->code;
	return 0;
}

/* The verdict of one read-back (none pending: nothing to do); of the
 * failures, the first image's is kept. */
static void readback_collect(struct flash_install *fi, int turn)
{
	int i = fi->readback_index[turn];
	struct err e;

	if (flash_readback_wait(fi->readbacks[turn], &e) < 0 &&
	    (fi->readback_failed < 0 || i < fi->readback_failed)) {
		fi->readback_failed = i;
		fi->readback_err = e;
	}
}

static int image_begin(struct flash_install *fi,
		       const struct bundle_component *c, int i,
		       const struct flash_extent *x, struct err *e);

/*
 * block: the image's entry goes next in the target bank. An unchanged one
 * is copied from the active bank (there is no inode to share); it is read
 * back with the others and fsynced with them.
 */
static int blk_begin(struct flash_install *fi,
		     const struct bundle_component *c, int i, struct err *e)
{
	struct flash_extent x = { .len = c->size, .size = c->size };
	int fd, rc;

	fd = dup(fi->bank_fd);
	if (fd < 0)
		return fi->code = write_fail(fi, e, errno, c->name);
	if (fi->skip[i]) {
		fi->written_fd[i] = fd;
		if (flash_blk_image_copy(fi->s, fi->active, fd, &fi->blk, c,
					 e) < 0)
			return fi->code = e->code;
		fi->res.outcome[i] = FLASH_COMPONENT_SKIPPED;
		fi->done += c->size;
		return BUNDLE_SKIP;
	}
	fi->readback_turn = 1 - fi->readback_turn;
	readback_collect(fi, fi->readback_turn);
	fi->readback = fi->readbacks[fi->readback_turn];
	fi->image_fd = fd;
	rc = flash_blk_image_header(fd, &fi->blk, c->name, c->size, c->sha256,
				    c->flags, &fi->image_base);
	if (rc < 0)
		return fi->code = write_fail(fi, e, -rc, c->name);
	snprintf(x.path, sizeof(x.path), "%s", fi->s->dev_bank[fi->target]);
	x.base = fi->image_base;
	return image_begin(fi, c, i, &x, e);
}

/* block: manifest.sig, then manifest.json, each whole and fsynced. */
static int blk_seal(struct flash_install *fi, const struct slice *mj,
		    const struct slice *sig, struct err *e)
{
	int rc = flash_blk_entry_write(fi->bank_fd, &fi->blk,
				       FLASH_MANIFEST_SIG, sig->ptr, sig->len);

	if (rc < 0)
		return write_fail(fi, e, -rc, FLASH_MANIFEST_SIG);
	rc = flash_blk_entry_write(fi->bank_fd, &fi->blk, FLASH_MANIFEST_JSON,
				   mj->ptr, mj->len);
	if (rc < 0)
		return write_fail(fi, e, -rc, FLASH_MANIFEST_JSON);
	return 0;
}

static int on_begin(void *ctx, const struct bundle_component *c,
		    struct err *e)
{
	struct flash_install *fi = ctx;
	char path[PATH_MAX], from[PATH_MAX];
	struct flash_extent x;
	int i = component_index(&fi->res.manifest, c);

	assert(i >= 0);
	fi->index = (size_t)i;
	if (fi->all_skipped) {
		fi->res.outcome[i] = FLASH_COMPONENT_SKIPPED;
		return BUNDLE_SKIP;
	}
	if (fi->bank_fd >= 0)
		return blk_begin(fi, c, i, e);
	flash_bank_file(fi->s, fi->target, c->name, path, sizeof(path));
	if (fi->skip[i]) {
		/* A full set in every bank: share the unchanged inode. */
		flash_bank_file(fi->s, fi->active, c->name, from,
				sizeof(from));
		if (powerloss_link(from, path) < 0)
			return fi->code = write_fail(fi, e, errno, c->name);
		fault_step("link");
		fi->res.outcome[i] = FLASH_COMPONENT_SKIPPED;
		fi->done += c->size;
		return BUNDLE_SKIP;
	}
	/* This turn's read-back held the image before last. */
	fi->readback_turn = 1 - fi->readback_turn;
	readback_collect(fi, fi->readback_turn);
	fi->readback = fi->readbacks[fi->readback_turn];
	fi->image_fd = powerloss_open(path,
				      O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
				      (c->flags & BUNDLE_FLAG_EXECUTABLE) ?
				      0755 : 0644);
	if (fi->image_fd < 0)
		return fi->code = write_fail(fi, e, errno, c->name);
	x = (struct flash_extent){ .len = UINT64_MAX };
	snprintf(x.path, sizeof(x.path), "%s", path);
	fi->image_base = 0;
	return image_begin(fi, c, i, &x, e);
}

/* The image's writing and read-back start: x is where it goes. */
static int image_begin(struct flash_install *fi,
		       const struct bundle_component *c, int i,
		       const struct flash_extent *x, struct err *e)
{
	if (flash_readback_begin(fi->readback, x, fi->target, c, e) < 0)
		return fi->code = e->code;
	fi->readback_index[fi->readback_turn] = i;
	fi->corrupt = fault_corrupt(c->name);
	fi->image_off = fi->image_kicked = 0;
	fi->chunk_len = 0;
	fi->crc[i] = 0;
	fi->res.outcome[i] = FLASH_COMPONENT_FAILED;
	/* The read-back checks this image's sha256: hash it once, there. */
	return BUNDLE_TAKE_UNHASHED;
}

/*
 * A flipped bit the read-back must find (fault point "corrupt"): in the
 * middle of the image, as soon as the write that covers it has ended and
 * before the range holding it can be read back.
 */
static void corrupt_image(struct flash_install *fi,
			  const struct bundle_component *c)
{
	uint8_t byte;
	off_t at = (off_t)(fi->image_base + c->size / 2);

	if (!fi->corrupt || fi->image_off <= c->size / 2)
		return;
	fi->corrupt = false;
	if (pread(fi->image_fd, &byte, 1, at) != 1)
		return;
	byte ^= 0x10;
	if (powerloss_pwrite(fi->image_fd, &byte, 1, at) == 1)
		fault_step("write");
}

/* The write in flight (always of component c) has ended: what it wrote
 * may be read back. */
static int image_wait(struct flash_install *fi,
		      const struct bundle_component *c, bool complete,
		      struct err *e)
{
	int rc = flash_writer_wait(fi->writer);

	if (rc < 0)
		return fi->code = write_fail(fi, e, -rc, c->name);
	corrupt_image(fi, c);
	if (complete || !fi->opt.receive_first)
		flash_readback_written(fi->readback, fi->image_off, complete);
	return 0;
}

/* Hands the filled chunk to the writer and fills the other meanwhile. */
static int image_flush(struct flash_install *fi,
		       const struct bundle_component *c, struct err *e)
{
	if (!fi->chunk_len)
		return 0;
	if (image_wait(fi, c, false, e) < 0)
		return fi->code;
	flash_writer_start(fi->writer, fi->image_fd, fi->image_base, fi->chunk,
			   fi->chunk_len, c->name, &fi->image_off,
			   fi->opt.receive_first ? NULL : &fi->image_kicked,
			   &fi->crc[fi->index]);
	fi->chunk = fi->chunk == fi->chunks[0] ? fi->chunks[1]
					       : fi->chunks[0];
	fi->chunk_len = 0;
	return 0;
}

/* Collects data into one large aligned chunk per write. */
static int on_data(void *ctx, const struct bundle_component *c,
		   const uint8_t *data, size_t len, struct err *e)
{
	struct flash_install *fi = ctx;

	while (len > 0) {
		size_t n = fi->write_unit - fi->chunk_len;

		if (n > len)
			n = len;
		memcpy(fi->chunk + fi->chunk_len, data, n);
		fi->chunk_len += n;
		data += n;
		len -= n;
		fi->done += n;
		if (fi->chunk_len == fi->write_unit &&
		    image_flush(fi, c, e) < 0)
			return fi->code;
	}
	/* Each piece as it arrives (one lock and a few stores): `show
	 * firmware-update-status` moves within a member, not per write
	 * unit of 1 MiB. */
	progress(fi, FLASH_STAGE_RECEIVING);
	return 0;
}

static int on_end(void *ctx, const struct bundle_component *c,
		  struct err *e)
{
	struct flash_install *fi = ctx;

	if (fi->image_fd < 0)
		return 0;	/* skipped: only hashed */
	if (image_flush(fi, c, e) < 0 || image_wait(fi, c, true, e) < 0)
		return fi->code;
	fi->written_fd[fi->index] = fi->image_fd;
	fi->image_fd = -1;
	fi->res.outcome[fi->index] = FLASH_COMPONENT_INSTALLED;
	progress(fi, FLASH_STAGE_RECEIVING);
	return 0;
}

/* Every image written is fsynced, in manifest order, before the bank
 * directory and long before the boot record. */
static int images_sync(struct flash_install *fi, struct err *e)
{
	const struct bundle_manifest *m = &fi->res.manifest;

	for (size_t i = 0; i < m->ncomponents; i++) {
		int fd = fi->written_fd[i];

		if (fd < 0)
			continue;
		fi->written_fd[i] = -1;
		fault_slow_flash();	/* a slow device flushes slowly too */
		if (powerloss_fsync(fd) < 0) {
			int err_no = errno;

			close(fd);
			fi->res.outcome[i] = FLASH_COMPONENT_FAILED;
			return write_fail(fi, e, err_no, m->components[i].name);
		}
		fault_step("fsync");
		if (close(fd) < 0) {
			fi->res.outcome[i] = FLASH_COMPONENT_FAILED;
			return write_fail(fi, e, errno, m->components[i].name);
		}
	}
	return 0;
}

static const struct bundle_verifier_ops install_ops = {
	.manifest = on_manifest,
	.component_begin = on_begin,
	.component_data = on_data,
	.component_end = on_end,
};

static int lock_store(struct flash_install *fi, struct err *e)
{
	char path[PATH_MAX];

	flash_path(fi->s, path, sizeof(path), "lock");
	fi->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fi->lock_fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", path,
			       strerror(errno));
	if (flock(fi->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return err_set(e, errno == EWOULDBLOCK ? FLASH_ERR_BUSY
						       : FLASH_ERR_IO,
			       "another install is writing this flash store");
	return 0;
}

static void release(struct flash_install *fi)
{
	if (fi->ended)
		return;
	if (fi->writer)
		flash_writer_wait(fi->writer);	/* before its fd closes */
	for (int turn = 0; turn < 2; turn++)
		if (fi->readbacks[turn])
			flash_readback_cancel(fi->readbacks[turn]);
	if (fi->image_fd >= 0)
		close(fi->image_fd);
	fi->image_fd = -1;
	if (fi->bank_fd >= 0)
		close(fi->bank_fd);
	fi->bank_fd = -1;
	for (size_t i = 0; i < BUNDLE_COMPONENTS_MAX; i++) {
		if (fi->written_fd[i] >= 0)
			close(fi->written_fd[i]);
		fi->written_fd[i] = -1;
	}
	bundle_verifier_free(fi->v);
	fi->v = NULL;
	if (fi->lock_fd >= 0)
		close(fi->lock_fd);	/* drops the flock */
	fi->lock_fd = -1;
	fi->ended = true;
}

struct flash_install *flash_install_begin(struct flash_store *s,
	const struct flash_install_options *opt, struct err *e)
{
	struct bundle_verify_config cfg = { 0 };
	struct flash_install *fi;
	bool present, trial;
	int rc;

	assert(s && opt && opt->keys);
	fi = calloc(1, sizeof(*fi));
	if (!fi) {
		err_set(e, FLASH_ERR_IO, "out of memory");
		return NULL;
	}
	fi->s = s;
	fi->opt = *opt;
	fi->lock_fd = fi->image_fd = fi->bank_fd = -1;
	fi->readback_failed = -1;
	for (size_t i = 0; i < BUNDLE_COMPONENTS_MAX; i++)
		fi->written_fd[i] = -1;
	fi->write_unit = opt->write_unit && opt->write_unit < FLASH_IO_CHUNK
			 ? opt->write_unit : FLASH_IO_CHUNK;
	if (lock_store(fi, e) < 0)
		goto fail;
	/* Re-read under the lock: a loader or daemon may have moved on. */
	pthread_mutex_lock(&s->rec_mu);
	rc = flash_bootrec_load(s, e);
	fi->active = (int)s->rec.bank;
	trial = s->rec.trial;
	if (rc == 0)
		rc = flash_floor_get(s, &s->rec, &fi->floor, e);
	pthread_mutex_unlock(&s->rec_mu);
	if (rc < 0)
		goto fail;
	fi->target = 1 - fi->active;
	if (s->backend == FLASH_BACKEND_BLOCK) {
		uint64_t size;

		fi->bank_fd = flash_blk_dev_open(s->dev_bank[fi->target],
						 O_RDWR, &size, e);
		if (fi->bank_fd < 0) {
			fi->bank_fd = -1;
			goto fail;
		}
	}
	if (trial) {
		err_set(e, FLASH_ERR_TRIAL,
			"the active bank (%d) is on trial until the controller "
			"confirms itself healthy; installing now would lose "
			"the known-good bank %d", fi->active, fi->target);
		goto fail;
	}
	fi->active_m = malloc(sizeof(*fi->active_m));
	if (!fi->active_m ||
	    posix_memalign((void **)&fi->chunks[0], FLASH_IO_ALIGN,
			   FLASH_IO_CHUNK) != 0 ||
	    posix_memalign((void **)&fi->chunks[1], FLASH_IO_ALIGN,
			   FLASH_IO_CHUNK) != 0 ||
	    !(fi->writer = flash_writer_new()) ||
	    !(fi->readbacks[0] = flash_readback_new()) ||
	    !(fi->readbacks[1] = flash_readback_new())) {
		err_set(e, FLASH_ERR_IO, "out of memory");
		goto fail;
	}
	fi->chunk = fi->chunks[0];
	if (flash_bank_manifest(s, fi->active, fi->active_m, &present, e) < 0)
		goto fail;
	if (!present) {
		free(fi->active_m);
		fi->active_m = NULL;
	}
	cfg.keys = opt->keys;
	cfg.model = opt->model;
	fi->v = bundle_verifier_new(&cfg, &install_ops, fi);
	if (!fi->v) {
		err_set(e, FLASH_ERR_IO, "out of memory");
		goto fail;
	}
	return fi;
fail:
	flash_install_free(fi);
	return NULL;
}

/* A verifier failure: ours if a callback refused, else the bundle's. */
static int verify_fail(struct flash_install *fi, struct err *e)
{
	const struct err *ve = bundle_verifier_error(fi->v);

	if (fi->code < 0)
		err_set(e, fi->code, "%s", ve->msg);
	else
		err_set(e, FLASH_ERR_VERIFY, "bundle rejected (%s): %s%s",
			bundle_error_name(ve->code), ve->msg,
			unchanged_note(fi));
	release(fi);
	return e->code;
}

int flash_install_feed(struct flash_install *fi, const void *data,
		       size_t len, struct err *e)
{
	if (fi->ended)
		return err_set(e, FLASH_ERR_USAGE, "install already ended");
	if (bundle_verifier_feed(fi->v, data, len) < 0)
		return verify_fail(fi, e);
	return 0;
}

int flash_install_pull(struct flash_install *fi, bundle_pull_fn pull,
		       void *arg, struct err *e)
{
	if (fi->ended)
		return err_set(e, FLASH_ERR_USAGE, "install already ended");
	if (bundle_verifier_run(fi->v, pull, arg) < 0)
		return verify_fail(fi, e);
	return 0;
}

/* The signed manifest bytes go in last: they mark the bank complete. */
static int bank_seal(struct flash_install *fi, struct err *e)
{
	struct slice mj, sig;
	char path[PATH_MAX];

	if (bundle_verifier_signed_manifest(fi->v, &mj, &sig) < 0)
		return err_set(e, FLASH_ERR_VERIFY, "no verified manifest");
	if (fi->bank_fd >= 0)
		return blk_seal(fi, &mj, &sig, e);
	flash_bank_file(fi->s, fi->target, FLASH_MANIFEST_SIG, path,
			sizeof(path));
	if (fs_atomic_write(path, sig.ptr, sig.len, 0644, e) < 0)
		return write_fail(fi, e, -e->code, FLASH_MANIFEST_SIG);
	flash_bank_file(fi->s, fi->target, FLASH_MANIFEST_JSON, path,
			sizeof(path));
	if (fs_atomic_write(path, mj.ptr, mj.len, 0644, e) < 0)
		return write_fail(fi, e, -e->code, FLASH_MANIFEST_JSON);
	return 0;
}

/*
 * Image i as the device gives it back: a written image was read back while
 * it was written, a linked one (skipped) is read back now.
 */
static int image_read_back(struct flash_install *fi, size_t i, struct err *e)
{
	if (fi->res.outcome[i] == FLASH_COMPONENT_SKIPPED)
		return flash_image_check(fi->s, fi->target,
					 &fi->res.manifest.components[i], e);
	if (fi->readback_failed == (int)i) {
		*e = fi->readback_err;
		return e->code;
	}
	if (fi->res.outcome[i] != FLASH_COMPONENT_INSTALLED)
		return err_set(e, FLASH_ERR_READBACK, "%s in bank %d was "
			       "never written",
			       fi->res.manifest.components[i].name,
			       fi->target);
	return 0;
}

static int finish_steps(struct flash_install *fi, struct err *e)
{
	const struct bundle_manifest *m = &fi->res.manifest;
	int rc;

	if (bundle_verifier_finish(fi->v) < 0)
		return verify_fail(fi, e);
	fi->res.previous_version[0] = '\0';
	if (fi->active_m)
		snprintf(fi->res.previous_version,
			 sizeof(fi->res.previous_version), "%s",
			 fi->active_m->version);
	for (size_t i = 0; i < m->ncomponents; i++) {
		if (fi->res.outcome[i] == FLASH_COMPONENT_SKIPPED)
			fi->res.nskipped++;
		else
			fi->res.ninstalled++;
	}
	if (fi->all_skipped) {
		fi->res.activated = false;
		return 0;
	}
	/* The images' names (new files and links in the bank directory, and
	 * the clear's removals) need no directory fsync of their own here:
	 * the one that ends manifest.sig's atomic write in bank_seal() makes
	 * them durable before manifest.json can mark the bank whole. A cut
	 * before it leaves a bank without manifest.json, which nothing boots
	 * or takes as installed. */
	if (images_sync(fi, e) < 0)
		return e->code;
	fi->done = 0;
	progress(fi, FLASH_STAGE_READBACK);
	readback_collect(fi, 0);
	readback_collect(fi, 1);
	for (size_t i = 0; i < m->ncomponents; i++) {
		if (image_read_back(fi, i, e) < 0) {
			char why[ERR_MESSAGE_MAX];

			fi->res.outcome[i] = FLASH_COMPONENT_FAILED;
			if (arrived_as_written(fi, i))
				return err_set(e, FLASH_ERR_VERIFY,
					       "component '%s': sha256 mismatch:"
					       " the bundle's data is not what "
					       "its signed manifest lists; bank "
					       "%d not activated%s",
					       m->components[i].name,
					       fi->target, unchanged_note(fi));
			memcpy(why, e->msg, sizeof(why));
			return err_set(e, FLASH_ERR_READBACK,
				       "read-back of %s failed: %.300s; bank "
				       "%d not activated%s",
				       m->components[i].name, why,
				       fi->target, unchanged_note(fi));
		}
		fi->done += m->components[i].size;
		progress(fi, FLASH_STAGE_READBACK);
	}
	if (fi->opt.before_activate &&
	    fi->opt.before_activate(fi->opt.before_activate_ctx, fi,
				    &fi->res, fi->target, e) < 0) {
		char why[ERR_MESSAGE_MAX];

		memcpy(why, e->msg, sizeof(why));
		return err_set(e, e->code, "%.380s; bank %d not activated%s",
			       why, fi->target, unchanged_note(fi));
	}
	if (bank_seal(fi, e) < 0)
		return e->code;
	progress(fi, FLASH_STAGE_ACTIVATING);
	pthread_mutex_lock(&fi->s->rec_mu);
	rc = flash_bootrec_commit(fi->s, (uint32_t)fi->target, true, 0, e);
	pthread_mutex_unlock(&fi->s->rec_mu);
	if (rc < 0)
		return err_prefix(e, "activating bank %d%s", fi->target,
				  unchanged_note(fi));
	fi->res.activated = true;
	progress(fi, FLASH_STAGE_DONE);
	return 0;
}

int flash_install_image_path(const struct flash_install *fi, size_t i,
			     char *out, size_t len)
{
	if (i >= fi->res.manifest.ncomponents)
		return -1;
	if (fi->s->backend == FLASH_BACKEND_BLOCK)
		return flash_blk_handler_file(fi->s, fi->target,
			&fi->res.manifest.components[i], out, len);
	return flash_bank_file(fi->s, fi->target,
			       fi->res.manifest.components[i].name, out, len);
}

int flash_install_finish(struct flash_install *fi,
			 struct flash_install_result *res, struct err *e)
{
	int rc;

	if (fi->ended)
		return err_set(e, FLASH_ERR_USAGE, "install already ended");
	rc = finish_steps(fi, e);
	*res = fi->res;
	release(fi);
	return rc;
}

void flash_install_abort(struct flash_install *fi)
{
	if (fi && !fi->ended)
		release(fi);
}

void flash_install_free(struct flash_install *fi)
{
	if (!fi)
		return;
	flash_install_abort(fi);
	free(fi->active_m);
	flash_writer_free(fi->writer);
	flash_readback_free(fi->readbacks[0]);
	flash_readback_free(fi->readbacks[1]);
	free(fi->chunks[0]);
	free(fi->chunks[1]);
	free(fi);
}
