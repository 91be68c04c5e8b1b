/*
 * check_state.c: `tandemd -n` checks a controller's setup on a scratch
 * copy of its state directory's config/ (settings, users, serial, keys,
 * certificates), so that a check stores nothing: no state directory, flash
 * store, serial, user or setting is made or changed by it, as `sshd -t`
 * and `nginx -t` leave their servers' files alone.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/check_state.h"

#define CHECK_FILE_MAX (16u << 20)	/* a config file larger is refused */

static int copy_files(const char *from, const char *to, struct err *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *d;
	struct stat st;
	struct buf b;
	DIR *dir = opendir(from);
	int rc = 0;

	if (!dir)
		return errno == ENOENT ? 0 : err_set(e, -errno, "%s: %s",
						     from, strerror(errno));
	if (fs_mkdir_p(to, 0700, e) < 0) {
		closedir(dir);
		return e->code;
	}
	buf_init(&b, CHECK_FILE_MAX);
	while (rc == 0 && (d = readdir(dir))) {
		snprintf(src, sizeof(src), "%s/%s", from, d->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, d->d_name);
		if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		buf_reset(&b);
		rc = fs_read_file(src, CHECK_FILE_MAX, &b, e);
		if (rc == 0)
			rc = fs_atomic_write(dst, b.data, b.len,
					     (int)(st.st_mode & 07777), e);
	}
	buf_free(&b);
	closedir(dir);
	return rc;
}

static char made[PATH_MAX];	/* removed at exit, however main returns */

static void remove_made(void)
{
	if (made[0])
		check_state_remove(made);
}

int check_state_copy(const char *state, char *scratch, size_t len,
		     bool *had_serial, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	char from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	int rc;

	if ((size_t)snprintf(scratch, len, "%s/tandemd-check-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= len)
		return err_set(e, -ENAMETOOLONG, "TMPDIR too long");
	if (!mkdtemp(scratch))
		return err_set(e, -errno, "cannot make a scratch directory "
			       "for the check (%s): %s", scratch,
			       strerror(errno));
	if (!made[0])
		atexit(remove_made);
	snprintf(made, sizeof(made), "%s", scratch);
	snprintf(from, sizeof(from), "%s/config/serial", state);
	*had_serial = stat(from, &st) == 0;
	snprintf(from, sizeof(from), "%s/config", state);
	snprintf(to, sizeof(to), "%s/config", scratch);
	rc = copy_files(from, to, e);
	if (rc == 0) {
		snprintf(from, sizeof(from), "%s/config/keys", state);
		snprintf(to, sizeof(to), "%s/config/keys", scratch);
		rc = copy_files(from, to, e);
	}
	if (rc < 0)
		err_prefix(e, "checking %s", state);
	return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void check_state_remove(const char *scratch)
{
	nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
