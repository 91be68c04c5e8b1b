/*
 * rollback.c: `rollback firmware`, the way back from a halted PFU. The
 * flash store has no call yet to reactivate the other bank, so until the
 * PFU part provides one this refuses, saying so; the CLI command, its
 * role check and the backend hook are in place.
 */
#include <errno.h>

#include "daemon/controller.h"

int controller_rollback(struct controller *c, struct err *e)
{
	(void)c;
	return err_set(e, -ENOSYS, "Roll back is not available yet in this "
		       "build: flash the previous bundle with "
		       "'put <bundle> flash:force' instead.");
}
