/*
 * storage.c: which backend a store uses and where its devices are. The
 * choice is made once, at init, and kept in <state>/flash/storage.json:
 *   {"backend": "block", "bank0": PATH, "bank1": PATH, "bootrec": PATH}
 * (paths as given; a relative one is under the state directory). A store
 * without the file is a dir store, as every store before backends was.
 * Everything that opens a store by its state directory (tandemd, the
 * tool, the loader) finds its devices here.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flash/flash_impl.h"

/* flashdir/name; -1 when it does not fit. */
static int join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static const char *const storage_names[] = {
	"--storage", "--storage-bank0", "--storage-bank1", "--storage-bootrec",
};

int flash_storage_option(struct flash_storage *st, int opt,
			 const char *value, struct err *e)
{
	int i = opt - FLASH_STORAGE_OPT;
	char *to;

	if (i < 0 || i > 3)
		return err_set(e, FLASH_ERR_USAGE, "not a storage option");
	st->set = true;
	if (i == 0) {
		if (!strcmp(value, "dir"))
			st->backend = FLASH_BACKEND_DIR;
		else if (!strcmp(value, "block"))
			st->backend = FLASH_BACKEND_BLOCK;
		else
			return err_set(e, FLASH_ERR_USAGE, "--storage '%s': "
				       "dir or block", value);
		return 0;
	}
	to = i == 3 ? st->bootrec : st->bank[i - 1];
	if (!*value || strlen(value) >= sizeof(st->bootrec))
		return err_set(e, FLASH_ERR_USAGE, "%s: a device path, not "
			       "'%.64s'", storage_names[i], value);
	snprintf(to, sizeof(st->bootrec), "%s", value);
	return 0;
}

/* Block needs its three devices; dir takes none. */
static int storage_valid(const struct flash_storage *st, struct err *e)
{
	const char *paths[3] = { st->bank[0], st->bank[1], st->bootrec };

	for (int i = 0; i < 3; i++) {
		if (st->backend == FLASH_BACKEND_BLOCK && !*paths[i])
			return err_set(e, FLASH_ERR_USAGE, "--storage block "
				       "needs %s", storage_names[i + 1]);
		if (st->backend == FLASH_BACKEND_DIR && *paths[i])
			return err_set(e, FLASH_ERR_USAGE, "%s is for "
				       "--storage block", storage_names[i + 1]);
	}
	return 0;
}

/* <state>/flash minus "/flash": what relative device paths are under. */
static int resolve(const struct flash_store *s, const char *path, char *out,
		   size_t outlen)
{
	size_t n = strlen(s->dir) - strlen("/flash");

	if (path[0] == '/')
		return (size_t)snprintf(out, outlen, "%s", path) < outlen
		       ? 0 : -1;
	return (size_t)snprintf(out, outlen, "%.*s/%s", (int)n, s->dir,
				path) < outlen ? 0 : -1;
}

static int storage_apply(struct flash_store *s, const struct flash_storage *st,
			 struct err *e)
{
	s->backend = st->backend;
	if (st->backend == FLASH_BACKEND_DIR)
		return 0;
	if (resolve(s, st->bank[0], s->dev_bank[0], PATH_MAX) < 0 ||
	    resolve(s, st->bank[1], s->dev_bank[1], PATH_MAX) < 0 ||
	    resolve(s, st->bootrec, s->dev_bootrec, PATH_MAX) < 0)
		return err_set(e, FLASH_ERR_USAGE, "%s: device path too long",
			       s->dir);
	return 0;
}

/* 1 and *st when the store records a backend, 0 when it has no file. */
static int storage_read(const char *flashdir, struct flash_storage *st,
			struct err *e)
{
	const char *backend, *b0, *b1, *br;
	char path[PATH_MAX];
	json_error_t je;
	json_t *root;
	int rc = 1;

	memset(st, 0, sizeof(*st));
	if (join(path, sizeof(path), flashdir, FLASH_STORAGE_FILE) < 0)
		return err_set(e, FLASH_ERR_USAGE, "%s: path too long",
			       flashdir);
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : err_set(e, FLASH_ERR_IO, "%s: %s",
						     path, strerror(errno));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return err_set(e, FLASH_ERR_CORRUPT, "%s: %s", path, je.text);
	if (json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s?s, s?s, s?s}",
			   "backend", &backend, "bank0", &b0, "bank1", &b1,
			   "bootrec", &br) < 0) {
		rc = err_set(e, FLASH_ERR_CORRUPT, "%s: %s", path, je.text);
	} else if (!strcmp(backend, "dir")) {
		st->backend = FLASH_BACKEND_DIR;
	} else if (!strcmp(backend, "block")) {
		st->backend = FLASH_BACKEND_BLOCK;
		if (!b0 || !b1 || !br)
			rc = err_set(e, FLASH_ERR_CORRUPT, "%s: a block store "
				     "names bank0, bank1 and bootrec", path);
		else if (strlen(b0) >= sizeof(st->bank[0]) ||
			 strlen(b1) >= sizeof(st->bank[1]) ||
			 strlen(br) >= sizeof(st->bootrec))
			rc = err_set(e, FLASH_ERR_CORRUPT, "%s: device path "
				     "too long", path);
		else {
			snprintf(st->bank[0], sizeof(st->bank[0]), "%s", b0);
			snprintf(st->bank[1], sizeof(st->bank[1]), "%s", b1);
			snprintf(st->bootrec, sizeof(st->bootrec), "%s", br);
		}
	} else {
		rc = err_set(e, FLASH_ERR_FORMAT, "%s: backend '%s' is unknown "
			     "to this build; refusing the store", path,
			     backend);
	}
	json_decref(root);
	st->set = rc == 1;
	return rc;
}

static int storage_write(const char *flashdir, const struct flash_storage *st,
			 struct err *e)
{
	char path[PATH_MAX], *text;
	json_t *root;
	int rc;

	root = json_pack("{s:s, s:s, s:s, s:s}", "backend", "block",
			 "bank0", st->bank[0], "bank1", st->bank[1],
			 "bootrec", st->bootrec);
	text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (!text)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	if (join(path, sizeof(path), flashdir, FLASH_STORAGE_FILE) < 0) {
		free(text);
		return err_set(e, FLASH_ERR_USAGE, "%s: path too long",
			       flashdir);
	}
	rc = fs_atomic_write(path, text, strlen(text), 0644, e);
	free(text);
	if (rc < 0) {
		e->code = FLASH_ERR_IO;
		return err_prefix(e, "recording the storage backend");
	}
	return 0;
}

int flash_storage_load(struct flash_store *s, struct err *e)
{
	struct flash_storage st;
	int rc = storage_read(s->dir, &st, e);

	if (rc < 0)
		return rc;
	return storage_apply(s, &st, e);
}

/* Whether two storage choices are the same: same backend, same paths. */
static bool storage_same(const struct flash_storage *a,
			 const struct flash_storage *b)
{
	if (a->backend != b->backend)
		return false;
	return a->backend == FLASH_BACKEND_DIR ||
	       (!strcmp(a->bank[0], b->bank[0]) &&
		!strcmp(a->bank[1], b->bank[1]) &&
		!strcmp(a->bootrec, b->bootrec));
}

static void describe(const struct flash_storage *st, char *out, size_t len)
{
	if (st->backend == FLASH_BACKEND_DIR)
		snprintf(out, len, "--storage dir");
	else
		snprintf(out, len, "--storage block --storage-bank0 %.200s "
			 "--storage-bank1 %.200s --storage-bootrec %.200s",
			 st->bank[0], st->bank[1], st->bootrec);
}

/* What the store in flashdir was made with; 0: there is no store. */
static int storage_recorded(const char *flashdir, struct flash_storage *st,
			    struct err *e)
{
	char path[PATH_MAX];
	int rc = storage_read(flashdir, st, e);

	if (rc != 0)
		return rc;
	for (int slot = 0; slot < 2; slot++) {
		if (join(path, sizeof(path), flashdir,
			 slot ? "bootrec.1" : "bootrec.0") == 0 &&
		    access(path, F_OK) == 0)
			return 1;	/* dir: st is zeroed, FLASH_BACKEND_DIR */
	}
	return 0;
}

static int mismatch(const char *flashdir, const struct flash_storage *had,
		    const struct flash_storage *want, struct err *e)
{
	char a[800], b[800];

	describe(had, a, sizeof(a));
	describe(want, b, sizeof(b));
	return err_set(e, FLASH_ERR_USAGE, "the flash store in %s was made "
		       "with %s, not %s; move it away to make a new one",
		       flashdir, a, b);
}

int flash_store_init_storage(const char *dir, const struct flash_storage *st,
			     struct err *e)
{
	struct flash_store *s;
	struct flash_storage had;
	int rc;

	if (!st || !st->set || st->backend == FLASH_BACKEND_DIR) {
		if (st && st->set && storage_valid(st, e) < 0)
			return e->code;
		return flash_store_init(dir, e);
	}
	if (storage_valid(st, e) < 0)
		return e->code;
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, FLASH_ERR_IO, "out of memory");
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/flash", dir) >=
	    sizeof(s->dir)) {
		rc = err_set(e, FLASH_ERR_USAGE, "%s: path too long", dir);
		goto out;
	}
	rc = storage_recorded(s->dir, &had, e);
	if (rc < 0)
		goto out;
	if (rc == 1 && !storage_same(&had, st)) {
		rc = mismatch(s->dir, &had, st, e);
		goto out;
	}
	if ((rc = fs_mkdir_p(s->dir, 0755, e)) < 0) {
		rc = e->code = FLASH_ERR_IO;
		goto out;
	}
	if ((rc = storage_apply(s, st, e)) < 0 ||
	    (rc = flash_blk_init(s, e)) < 0)
		goto out;
	/* Last: until it is recorded, nothing opens the store as block. */
	rc = storage_write(s->dir, st, e);
out:
	free(s);
	return rc;
}

static int storage_check(const char *dir, const struct flash_storage *st,
			 bool create, struct err *e)
{
	struct flash_storage had;
	char flashdir[PATH_MAX];
	int rc;

	if (!st || !st->set)
		return 0;
	if (storage_valid(st, e) < 0)
		return e->code;
	if ((size_t)snprintf(flashdir, sizeof(flashdir), "%s/flash", dir) >=
	    sizeof(flashdir))
		return err_set(e, FLASH_ERR_USAGE, "%s: path too long", dir);
	rc = storage_recorded(flashdir, &had, e);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return storage_same(&had, st) ? 0
		       : mismatch(flashdir, &had, st, e);
	return create ? flash_store_init_storage(dir, st, e) : 0;
}

int flash_storage_ensure(const char *dir, const struct flash_storage *st,
			 struct err *e)
{
	return storage_check(dir, st, true, e);
}

int flash_storage_check(const char *dir, const struct flash_storage *st,
			struct err *e)
{
	return storage_check(dir, st, false, e);
}
