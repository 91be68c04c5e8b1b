/*
 * hostkey.c: the SSH host key: made with libssh at first start, written
 * through the atomic-write helper with mode 0600, and never replaced once
 * it exists (clients pin it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libssh/libssh.h>

#include "ssh/shell.h"

#define HOSTKEY_NAME "ssh_host_ed25519_key"

int ssh_hostkey_ensure(const char *dir, char *path, size_t path_max,
		       struct err *e)
{
	ssh_key key = NULL;
	char *pem = NULL;
	struct stat st;
	int rc;

	if ((size_t)snprintf(path, path_max, "%s/%s", dir, HOSTKEY_NAME) >=
	    path_max)
		return err_set(e, -ENAMETOOLONG, "ssh: host key path too long "
			       "under %s", dir);
	if (stat(path, &st) == 0) {
		if (st.st_mode & 077)
			return err_set(e, -EPERM, "ssh: host key %s is readable "
				       "by others (mode %o); refusing it",
				       path, (unsigned)(st.st_mode & 0777));
		return 0;
	}
	if (errno != ENOENT)
		return err_set(e, -errno, "ssh: cannot read host key %s: %s",
			       path, strerror(errno));
	rc = fs_mkdir_p(dir, 0700, e);
	if (rc < 0)
		return rc;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return err_set(e, -EIO, "ssh: cannot generate an Ed25519 "
			       "host key");
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &pem) !=
	    SSH_OK) {
		ssh_key_free(key);
		return err_set(e, -EIO, "ssh: cannot encode the host key");
	}
	ssh_key_free(key);
	rc = fs_atomic_write(path, pem, strlen(pem), 0600, e);
	ssh_string_free_char(pem);
	if (rc < 0)
		return rc;
	log_info("ssh: made host key %s", path);
	return 0;
}
