/*
 * flash_fixture.h: a flash store in a temporary directory with a bundle
 * key, and bundles installed into it as a load and a healthy restart do
 * (test_flash_rollback, test_flash_watch).
 */
#ifndef TANDEM_TESTS_FLASH_FIXTURE_H
#define TANDEM_TESTS_FLASH_FIXTURE_H

#include "flash/flash_impl.h"

struct flash_fixture {
	char dir[64];
	char key[128];
	struct bundle_keyring ring;
	struct flash_store *s;
};

/* A store and a key under /tmp/NAME.XXXXXX, opened as s. */
void flash_fixture_setup(struct flash_fixture *fx, const char *name);
void flash_fixture_teardown(struct flash_fixture *fx);
/* A signed bundle of version v (its sc image depends on v). */
void flash_fixture_bundle(struct flash_fixture *fx, const char *v, char *out,
			  size_t outlen);
/* Installs bundle v into s and confirms it. */
void flash_fixture_install(struct flash_fixture *fx, struct flash_store *s,
			   const char *v);

#endif
