/*
 * standin.h: inside the stand-ins (shell_standin.c, sftp_standin.c), which
 * the lead replaces with src/cli, src/config and src/update.
 */
#ifndef TANDEM_DAEMON_STANDIN_H
#define TANDEM_DAEMON_STANDIN_H

#include <pthread.h>

#include "bundle/bundle.h"
#include "daemon/daemon.h"

#define STANDIN_USERS_MAX	16
#define STANDIN_SOURCES_MAX	32

struct standin_user {
	char name[SHELL_USER_MAX];
	char password[SHELL_PASSWORD_MAX];
	enum shell_role role;
};

struct standin_source {
	char peer[64];
	int failures;
	int64_t last;
	int64_t locked_until;
};

struct standin_upload {
	struct standin *owner;
	struct bundle_verifier *verifier;
	char target[16];
	char user[SHELL_USER_MAX];
	bool force;
};

struct standin {
	char version[32];
	char controller;
	unsigned idle_seconds;
	struct daemon *daemon;
	pthread_mutex_t mu;
	struct standin_user users[STANDIN_USERS_MAX];
	size_t nusers;
	struct standin_source sources[STANDIN_SOURCES_MAX];
	struct bundle_keyring keys;
	char model[BUNDLE_NAME_MAX];
	/* code load state, under mu */
	struct standin_upload *upload;	/* the one running, or NULL */
	uint64_t bytes;
	char last_bundle[BUNDLE_VERSION_MAX];
	struct buf last_report;
};

#endif
