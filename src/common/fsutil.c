/*
 * fsutil.c: the one atomic-write helper (temp file in the same directory,
 * write, fsync, rename, fsync directory) and whole-buffer I/O. Every step
 * that reaches the disk passes a fault point and goes through powerloss.c,
 * so a power cut loses what it would.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int fs_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = powerloss_write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until len bytes or end of file; *got says how many arrived. */
int fs_read_all(int fd, void *data, size_t len, size_t *got)
{
	uint8_t *p = data;
	size_t total = 0;

	while (total < len) {
		ssize_t n = read(fd, p + total, len - total);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	*got = total;
	return 0;
}

int fs_fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (powerloss_fsync(fd) < 0)
		rc = -errno;
	close(fd);
	fault_step("fsync-dir");
	return rc;
}

static void dir_of(const char *path, char *out, size_t outlen)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(out, outlen, "%s", dirname(tmp));
}

/*
 * Replaces path with data so that a crash at any moment leaves either the
 * old file or the new one, never a mixture. On failure the old file is
 * untouched and the temporary file is removed.
 */
int fs_atomic_write(const char *path, const void *data, size_t len,
		    int mode, struct err *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return err_set(e, -ENAMETOOLONG, "%s: path too long", path);
	dir_of(path, dir, sizeof(dir));
	fd = powerloss_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    mode);
	if (fd < 0)
		return err_set(e, -errno, "%s: cannot create: %s", tmp,
			       strerror(errno));
	rc = fs_write_all(fd, data, len);
	fault_step("write");
	if (rc < 0) {
		err_set(e, rc, "%s: write failed: %s", tmp, strerror(-rc));
		goto fail;
	}
	if (powerloss_fsync(fd) < 0) {
		rc = err_set(e, -errno, "%s: fsync failed: %s", tmp,
			     strerror(errno));
		goto fail;
	}
	fault_step("fsync");
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(e, -errno, "%s: close failed: %s", tmp,
			     strerror(errno));
		goto fail;
	}
	fd = -1;
	if (powerloss_rename(tmp, path) < 0) {
		rc = err_set(e, -errno, "%s: rename failed: %s", path,
			     strerror(errno));
		goto fail;
	}
	fault_step("rename");
	rc = fs_fsync_dir(dir);
	if (rc < 0)
		return err_set(e, rc, "%s: fsync of directory failed: %s",
			       dir, strerror(-rc));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	powerloss_unlink(tmp);
	return rc;
}

/* Reads a whole small file into out (replacing its contents). */
int fs_read_file(const char *path, size_t max, struct buf *out,
		 struct err *e)
{
	uint8_t chunk[4096];
	int fd, rc = 0;

	buf_reset(out);
	out->max = max;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(e, -errno, "%s: read failed: %s", path,
				     strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			rc = err_set(e, -EFBIG, "%s: larger than %zu bytes",
				     path, max);
			break;
		}
	}
	close(fd);
	return rc;
}

/*
 * Creates path and any missing parent. Each directory it creates is made
 * durable at once (its parent fsynced): a file later made durable inside
 * it must not vanish with a directory entry that never reached the disk.
 */
int fs_mkdir_p(const char *path, int mode, struct err *e)
{
	char tmp[PATH_MAX], parent[PATH_MAX];
	size_t i, len;
	int rc;

	len = strlen(path);
	if (len == 0 || len >= sizeof(tmp))
		return err_set(e, -ENAMETOOLONG, "bad directory name");
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (powerloss_mkdir(tmp, mode) == 0) {
			dir_of(tmp, parent, sizeof(parent));
			if ((rc = fs_fsync_dir(parent)) < 0)
				return err_set(e, rc, "%s: fsync failed: %s",
					       parent, strerror(-rc));
		} else if (errno != EEXIST) {
			return err_set(e, -errno, "%s: cannot create: %s", tmp,
				       strerror(errno));
		}
		tmp[i] = path[i];
	}
	return 0;
}

/* Removes a directory and everything below it; missing is not an error. */
int fs_remove_tree(const char *path)
{
	struct dirent *d;
	DIR *dir;
	int rc = 0;

	dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR)
			return unlink(path) < 0 ? -errno : 0;
		return -errno;
	}
	while ((d = readdir(dir)) != NULL) {
		char child[PATH_MAX];
		struct stat st;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			rc = fs_remove_tree(child);
		else if (unlink(child) < 0)
			rc = -errno;
		if (rc < 0)
			break;
	}
	closedir(dir);
	if (rc == 0 && rmdir(path) < 0)
		rc = -errno;
	return rc;
}

/*
 * Hands a regular file to fn in pieces of at most `piece` bytes, straight
 * from the page cache through one mapped window at a time: no read() copy,
 * and the resident size stays one window. 1 when fd can't be mapped (a
 * pipe, an empty file): the caller then reads it. Else 0, fn's error, or
 * FS_MAP_FAILED.
 */
int fs_map_each(int fd, size_t piece,
		int (*fn)(void *ctx, const uint8_t *data, size_t len,
			  struct err *e),
		void *ctx, struct err *e)
{
	struct stat st;
	off_t off;
	int rc = 0;

	if (piece == 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == 0)
		return 1;
	for (off = 0; off < st.st_size && rc == 0; off += FS_MAP_WINDOW) {
		size_t len = (size_t)(st.st_size - off) < FS_MAP_WINDOW ?
			     (size_t)(st.st_size - off) : FS_MAP_WINDOW;
		uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, off);
		size_t done;

		if (p == MAP_FAILED) {
			if (off == 0)
				return 1;
			return err_set(e, FS_MAP_FAILED, "cannot map the "
				       "file: %s", strerror(errno));
		}
		madvise(p, len, MADV_SEQUENTIAL | MADV_WILLNEED);
		for (done = 0; done < len && rc == 0; done += piece)
			rc = fn(ctx, p + done, len - done < piece ?
				len - done : piece, e);
		munmap(p, len);
	}
	return rc;
}
