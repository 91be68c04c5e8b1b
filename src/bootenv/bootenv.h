/*
 * bootenv.h: the U-Boot environment as a projection of the flash store's
 * boot record (docs/bootchain.md), for boards whose bank holds components
 * that only an OS reboot starts (kernel, root file system).
 *
 * The boot record stays the truth. After every boot and every confirmation
 * Tandem writes what U-Boot needs from it: tandem_bank (the bank to boot),
 * upgrade_available (1 while that bank is on trial, so U-Boot's bootcount
 * counts its boots) and bootcount (back to 0 when the bank or its trial
 * changes). The one thing U-Boot tells Tandem is tandem_fallback=1: its
 * altbootcmd gave up on the trial bank after bootlimit boots and started
 * the other one; the loader then rolls the store back to match.
 *
 * The environment is named by an fw_env.config file (the libubootenv and
 * fw_printenv format: device or file, offset, size, and a second line for
 * a redundant copy). An environment that cannot be read is never written:
 * Tandem does not replace a board's environment with its own.
 */
#ifndef TANDEM_BOOTENV_H
#define TANDEM_BOOTENV_H

#include <stdbool.h>

#include "common/common.h"

#define BOOTENV_VAR_BANK "tandem_bank"
#define BOOTENV_VAR_FALLBACK "tandem_fallback"
#define BOOTENV_VAR_TRIAL "upgrade_available"
#define BOOTENV_VAR_COUNT "bootcount"
/* The loader hands the setting to what it starts (tandemd, an MC image,
 * `tandem flash confirm`) in the environment. */
#define BOOTENV_CONFIG_ENV "TANDEM_UBOOT_ENV"

enum bootenv_error {
	BOOTENV_ERR_CONFIG = -1,	/* no such fw_env.config, bad line */
	BOOTENV_ERR_READ = -2,		/* the environment cannot be read */
	BOOTENV_ERR_WRITE = -3,		/* storing it failed */
	BOOTENV_ERR_UNSUPPORTED = -4,	/* built without libubootenv */
};

struct bootenv_state {
	int bank;		/* tandem_bank, -1 when unset or not 0/1 */
	bool trial;		/* upgrade_available=1 */
	bool fallback;		/* tandem_fallback=1 */
	unsigned bootcount;	/* U-Boot's count (0 when unset) */
};

/* Whether this build can reach a U-Boot environment at all. */
bool bootenv_supported(void);

int bootenv_read(const char *config, struct bootenv_state *out,
		 struct err *e);

/*
 * Makes the environment say: boot `bank`, on trial or confirmed; clears
 * tandem_fallback. bootcount goes to 0 when the bank or the trial flag
 * changes. Writes nothing when the environment already says all this, so
 * a boot that changes nothing costs no environment write. *changed (may be
 * NULL) tells whether it wrote.
 */
int bootenv_sync(const char *config, int bank, bool trial, bool *changed,
		 struct err *e);

/* bootenv_sync for a program the loader started: reads BOOTENV_CONFIG_ENV
 * and does nothing (0) when it is unset or empty. */
int bootenv_sync_from_environment(int bank, bool trial, struct err *e);

#endif
