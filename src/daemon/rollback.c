/*
 * rollback.c: `rollback firmware`, the way back from a halted PFU. PFU
 * owns the roll-back (its record, the other bank, the restart); until it
 * is part of this build this refuses, saying so, and changes nothing. The
 * CLI command, its role check and the backend hook are in place.
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
