/*
 * powerloss.c: what a power cut loses. Every durable I/O call (open with
 * O_CREAT or O_TRUNC, write, pwrite, ftruncate, fsync, fdatasync, rename,
 * link, unlink, mkdir) goes through a wrapper here. Disarmed, a wrapper is
 * the system call behind one branch. Armed (a powercut fault), it records
 * what is not yet durable, and powerloss_cut() undoes it before the
 * process dies. Nothing here decides when to cut: fault.c does.
 *
 * The model is the worst case POSIX allows, so that code which is safe
 * under it is safe on any filesystem (the spirit of LazyFS, ALICE and
 * CrashMonkey):
 *   P1  Data written to a file (write, pwrite, ftruncate, O_TRUNC) since
 *       its last fsync or fdatasync is lost: the file goes back to the
 *       content it had at that sync, size included; a block device (the
 *       flash store's block backend) likewise, its size aside.
 *       sync_file_range makes nothing durable (it writes no metadata and
 *       flushes no cache).
 *   P2  A name created (O_CREAT, link, mkdir), removed (unlink) or moved
 *       (rename) since the last fsync of its directory is undone: a new
 *       file or directory disappears, an unlinked file comes back with its
 *       durable content, a rename is reversed and the file it replaced
 *       comes back. A rename between directories needs both fsynced.
 *   P3  fsync of a file makes its data durable, never its name (P2).
 *   P4  Unsynced changes need not persist in the order they were made. With
 *       powerloss=keep-last the newest change of names not yet durable
 *       survives and every older one is lost: what an fsync of a directory
 *       put in order (a bank's manifest removed before its images) then
 *       shows when it is missing.
 * Changes are undone newest first, data (P1) before names (P2). The model
 * is per process: what one process left unsynced is not undone by a cut
 * in another it execs (the loader execs the MC with nothing pending when
 * its writes are correct).
 *
 * Threads: the flash install writes on a writer thread while another
 * thread may be cut. Each armed wrapper records and calls the system under
 * one mutex, and the cut takes it too and never lets it go, so the undo
 * runs once, on a consistent record, with no I/O of ours in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* A file written since its last sync, and what it held at that sync. */
struct powerloss_file {
	dev_t dev;
	ino_t ino;
	int fd;			/* our own O_RDWR, to put the content back */
	uint8_t *durable;
	size_t len;
};

enum powerloss_op_kind {
	POWERLOSS_CREATE,	/* a new file or link at path */
	POWERLOSS_MKDIR,	/* a new directory at path */
	POWERLOSS_UNLINK,	/* path removed; kept holds its inode */
	POWERLOSS_RENAME,	/* from moved to path; kept holds the old */
};

/* A change of names not yet made durable by its directories' fsync. */
struct powerloss_op {
	enum powerloss_op_kind kind;
	char *path, *from;
	dev_t dir_dev, from_dev;
	ino_t dir_ino, from_ino;
	bool dir_synced, from_synced;
	int kept;		/* the replaced or unlinked inode, or -1 */
};

static struct {
	bool armed;
	bool keep_last;
	pthread_mutex_t mu;
	struct powerloss_file *files;
	size_t nfiles, files_cap;
	struct powerloss_op *ops;
	size_t nops, ops_cap;
} model = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The model cannot be kept: a cut could no longer be trusted. */
static __attribute__((noreturn)) void model_fail(const char *what)
{
	log_error("power-loss model: %s: %s", what, strerror(errno));
	_exit(POWERLOSS_MODEL_FAILED);
}

static void *grow(void *array, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 16;
	void *p;

	if (n > POWERLOSS_RECORDS_MAX)
		n = POWERLOSS_RECORDS_MAX;
	if (n <= *cap) {
		errno = E2BIG;
		model_fail("too many changes not yet durable");
	}
	p = realloc(array, n * size);
	if (!p)
		model_fail("out of memory");
	*cap = n;
	return p;
}

static void release_all(void)
{
	for (size_t i = 0; i < model.nfiles; i++) {
		close(model.files[i].fd);
		free(model.files[i].durable);
	}
	for (size_t i = 0; i < model.nops; i++) {
		if (model.ops[i].kept >= 0)
			close(model.ops[i].kept);
		free(model.ops[i].path);
		free(model.ops[i].from);
	}
	free(model.files);
	free(model.ops);
	model.files = NULL;
	model.ops = NULL;
	model.nfiles = model.files_cap = model.nops = model.ops_cap = 0;
}

void powerloss_arm(enum powerloss_mode mode)
{
	pthread_mutex_lock(&model.mu);
	release_all();
	model.armed = mode != POWERLOSS_OFF;
	model.keep_last = mode == POWERLOSS_KEEP_LAST;
	pthread_mutex_unlock(&model.mu);
}

bool powerloss_armed(void)
{
	return model.armed;
}

/* A second open file description of fd: readable whatever fd's mode, and
 * without O_APPEND, so the content can be read and put back. */
static int reopen(int fd)
{
	char proc[64];
	int rw;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rw = open(proc, O_RDWR | O_CLOEXEC);
	if (rw < 0)
		model_fail("cannot reopen a written file");
	return rw;
}

/* A file's size, or a block device's (the flash store's block backend). */
static size_t content_size(int fd)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0)
		model_fail("fstat");
	if (!S_ISBLK(st.st_mode))
		return (size_t)st.st_size;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		model_fail("the size of a block device");
	return (size_t)size;
}

static uint8_t *read_whole(int fd, size_t *len)
{
	size_t size = content_size(fd);
	uint8_t *p;
	size_t got = 0;

	p = malloc(size + 1);
	if (!p)
		model_fail("out of memory for a file's durable content");
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    fs_read_all(fd, p, size, &got) < 0)
		model_fail("reading a file's durable content");
	*len = got;
	return p;
}

/* P1: before fd's file first changes after a sync, keep what it holds. */
static void file_dirty(int fd)
{
	struct powerloss_file *f;
	struct stat st;

	if (fstat(fd, &st) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return;		/* pipes and terminals hold nothing */
	for (size_t i = 0; i < model.nfiles; i++)
		if (model.files[i].dev == st.st_dev &&
		    model.files[i].ino == st.st_ino)
			return;
	if (model.nfiles == model.files_cap)
		model.files = grow(model.files, &model.files_cap,
				   sizeof(*model.files));
	f = &model.files[model.nfiles++];
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->fd = reopen(fd);
	f->durable = read_whole(f->fd, &f->len);
}

static void file_synced(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return;
	for (size_t i = 0; i < model.nfiles; i++) {
		struct powerloss_file *f = &model.files[i];

		if (f->dev != st.st_dev || f->ino != st.st_ino)
			continue;
		close(f->fd);
		free(f->durable);
		*f = model.files[--model.nfiles];
		return;
	}
}

static void dir_id(const char *path, dev_t *dev, ino_t *ino)
{
	char tmp[PATH_MAX];
	struct stat st;

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (stat(dirname(tmp), &st) < 0)
		model_fail("stat of a directory");
	*dev = st.st_dev;
	*ino = st.st_ino;
}

static char *copy_path(const char *path)
{
	char *p = strdup(path);

	if (!p)
		model_fail("out of memory");
	return p;
}

static struct powerloss_op *op_add(enum powerloss_op_kind kind,
				   const char *path, const char *from,
				   int kept)
{
	struct powerloss_op *op;

	if (model.nops == model.ops_cap)
		model.ops = grow(model.ops, &model.ops_cap,
				 sizeof(*model.ops));
	op = &model.ops[model.nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->path = copy_path(path);
	dir_id(path, &op->dir_dev, &op->dir_ino);
	op->from_synced = true;
	if (from) {
		op->from = copy_path(from);
		dir_id(from, &op->from_dev, &op->from_ino);
		op->from_synced = op->from_dev == op->dir_dev &&
				  op->from_ino == op->dir_ino;
	}
	op->kept = kept;
	return op;
}

/* P2: the directory's fsync makes every change of names in it durable. */
static void dir_synced(const struct stat *dir)
{
	size_t keep = 0;

	for (size_t i = 0; i < model.nops; i++) {
		struct powerloss_op *op = &model.ops[i];

		if (op->dir_dev == dir->st_dev && op->dir_ino == dir->st_ino)
			op->dir_synced = true;
		if (op->from && op->from_dev == dir->st_dev &&
		    op->from_ino == dir->st_ino)
			op->from_synced = true;
		if (op->dir_synced && op->from_synced) {
			if (op->kept >= 0)
				close(op->kept);
			free(op->path);
			free(op->from);
			continue;
		}
		model.ops[keep++] = *op;
	}
	model.nops = keep;
}

/* The inode at path, held open so it can be brought back; -1 if none. */
static int keep_inode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

int powerloss_open(const char *path, int flags, int mode)
{
	bool existed;
	int fd;

	if (!model.armed)
		return open(path, flags, mode);
	pthread_mutex_lock(&model.mu);
	existed = access(path, F_OK) == 0;
	if (existed && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		/* The truncation is a change of data like any write (P1). */
		fd = open(path, flags & ~O_TRUNC, mode);
		if (fd >= 0) {
			file_dirty(fd);
			if (ftruncate(fd, 0) < 0) {
				int err_no = errno;

				close(fd);
				fd = -1;
				errno = err_no;
			}
		}
	} else {
		fd = open(path, flags, mode);
	}
	if (fd >= 0 && !existed && (flags & O_CREAT))
		op_add(POWERLOSS_CREATE, path, NULL, -1);
	pthread_mutex_unlock(&model.mu);
	return fd;
}

ssize_t powerloss_write(int fd, const void *data, size_t len)
{
	ssize_t n;

	if (!model.armed)
		return write(fd, data, len);
	pthread_mutex_lock(&model.mu);
	file_dirty(fd);
	n = write(fd, data, len);
	pthread_mutex_unlock(&model.mu);
	return n;
}

ssize_t powerloss_pwrite(int fd, const void *data, size_t len, off_t off)
{
	ssize_t n;

	if (!model.armed)
		return pwrite(fd, data, len, off);
	pthread_mutex_lock(&model.mu);
	file_dirty(fd);
	n = pwrite(fd, data, len, off);
	pthread_mutex_unlock(&model.mu);
	return n;
}

int powerloss_ftruncate(int fd, off_t len)
{
	int rc;

	if (!model.armed)
		return ftruncate(fd, len);
	pthread_mutex_lock(&model.mu);
	file_dirty(fd);
	rc = ftruncate(fd, len);
	pthread_mutex_unlock(&model.mu);
	return rc;
}

static int sync_recorded(int fd, int (*sync_fn)(int))
{
	struct stat st;
	int rc;

	if (!model.armed)
		return sync_fn(fd);
	pthread_mutex_lock(&model.mu);
	rc = sync_fn(fd);
	if (rc == 0 && fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			dir_synced(&st);
		else
			file_synced(fd);
	}
	pthread_mutex_unlock(&model.mu);
	return rc;
}

int powerloss_fsync(int fd)
{
	return sync_recorded(fd, fsync);
}

int powerloss_fdatasync(int fd)
{
	return sync_recorded(fd, fdatasync);
}

int powerloss_rename(const char *from, const char *to)
{
	int kept, rc;

	if (!model.armed)
		return rename(from, to);
	pthread_mutex_lock(&model.mu);
	kept = keep_inode(to);
	rc = rename(from, to);
	if (rc == 0)
		op_add(POWERLOSS_RENAME, to, from, kept);
	else if (kept >= 0)
		close(kept);
	pthread_mutex_unlock(&model.mu);
	return rc;
}

int powerloss_link(const char *from, const char *to)
{
	int rc;

	if (!model.armed)
		return link(from, to);
	pthread_mutex_lock(&model.mu);
	rc = link(from, to);
	if (rc == 0)
		op_add(POWERLOSS_CREATE, to, NULL, -1);
	pthread_mutex_unlock(&model.mu);
	return rc;
}

int powerloss_unlink(const char *path)
{
	int kept, rc;

	if (!model.armed)
		return unlink(path);
	pthread_mutex_lock(&model.mu);
	kept = keep_inode(path);
	rc = unlink(path);
	if (rc == 0)
		op_add(POWERLOSS_UNLINK, path, NULL, kept);
	else if (kept >= 0)
		close(kept);
	pthread_mutex_unlock(&model.mu);
	return rc;
}

int powerloss_mkdir(const char *path, int mode)
{
	int rc;

	if (!model.armed)
		return mkdir(path, (mode_t)mode);
	pthread_mutex_lock(&model.mu);
	rc = mkdir(path, (mode_t)mode);
	if (rc == 0)
		op_add(POWERLOSS_MKDIR, path, NULL, -1);
	pthread_mutex_unlock(&model.mu);
	return rc;
}

/* Puts content back at offset 0 and cuts the file to its length. */
static void put_back(int fd, const uint8_t *data, size_t len)
{
	struct stat st;
	size_t done = 0;

	/* A block device keeps its size: only its content goes back. */
	if (!(fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) &&
	    ftruncate(fd, 0) < 0)
		log_error("power-loss model: truncate: %s", strerror(errno));
	while (done < len) {
		ssize_t n = pwrite(fd, data + done, len - done, (off_t)done);

		if (n <= 0) {
			log_error("power-loss model: restore: %s",
				  strerror(errno));
			return;
		}
		done += (size_t)n;
	}
}

/* A removed or replaced file comes back as it was: a copy of its inode. */
static void recreate(const char *path, int kept)
{
	uint8_t *data;
	struct stat st;
	size_t len;
	int fd;

	if (kept < 0 || fstat(kept, &st) < 0)
		return;
	data = read_whole(kept, &len);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  st.st_mode & 07777);
	if (fd < 0) {
		log_error("power-loss model: %s: %s", path, strerror(errno));
	} else {
		put_back(fd, data, len);
		close(fd);
	}
	free(data);
}

static void op_undo(const struct powerloss_op *op)
{
	switch (op->kind) {
	case POWERLOSS_CREATE:
		unlink(op->path);
		break;
	case POWERLOSS_MKDIR:
		fs_remove_tree(op->path);
		break;
	case POWERLOSS_UNLINK:
		recreate(op->path, op->kept);
		break;
	case POWERLOSS_RENAME:
		if (rename(op->path, op->from) < 0)
			log_error("power-loss model: rename back %s: %s",
				  op->path, strerror(errno));
		recreate(op->path, op->kept);
		break;
	}
}

void powerloss_cut(void)
{
	if (!model.armed)
		return;
	/* Held until _exit: no thread of ours changes a file after this. */
	pthread_mutex_lock(&model.mu);
	for (size_t i = 0; i < model.nfiles; i++)
		put_back(model.files[i].fd, model.files[i].durable,
			 model.files[i].len);
	for (size_t i = model.nops; i-- > 0;)
		if (!(model.keep_last && i == model.nops - 1))
			op_undo(&model.ops[i]);
}
