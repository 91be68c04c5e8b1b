/*
 * check_state.h: a scratch copy of a state directory's config/ for
 * `tandemd -n` (check_state.c), so the check stores nothing.
 */
#ifndef TANDEM_DAEMON_CHECK_STATE_H
#define TANDEM_DAEMON_CHECK_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

/* Makes SCRATCH (under $TMPDIR or /tmp) holding a copy of STATE's config/
 * files and config/keys/; *had_serial: whether STATE has a serial yet.
 * SCRATCH is removed when the program exits. */
int check_state_copy(const char *state, char *scratch, size_t len,
		     bool *had_serial, struct err *e);
void check_state_remove(const char *scratch);

#endif
