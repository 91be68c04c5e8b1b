/*
 * cli_test_backend.h: a backend for the CLI's tests with fixed data held in
 * memory: two controllers, settings, events, users. Not part of the
 * product; tandemd implements struct cli_backend with the real state.
 */
#ifndef TANDEM_CLI_TEST_BACKEND_H
#define TANDEM_CLI_TEST_BACKEND_H

#include "cli/cli.h"

#define CLI_TEST_USERS_MAX 8
#define CLI_TEST_SETTINGS 15
#define CLI_TEST_NOW 1622627486	/* 2021-06-02 09:51:26 UTC */

struct cli_test_backend {
	bool partner_up;
	bool pfu_halted;		/* PFU gave up after its attempt limit */
	bool rollback_fails;		/* firmware_rollback refuses */
	bool fail_settings;		/* settings_set fails: nothing changes */
	struct cli_setting settings[CLI_TEST_SETTINGS];
	struct cli_user users[CLI_TEST_USERS_MAX];
	char passwords[CLI_TEST_USERS_MAX][CLI_PASSWORD_MAX + 1];
	size_t nusers;
	char last_action[CLI_TEXT_MAX];	/* what restart/shutdown were asked */
};

extern const struct cli_backend cli_test_backend_ops;
void cli_test_backend_init(struct cli_test_backend *b);
const char *cli_test_backend_setting(const struct cli_test_backend *b,
				     const char *name);

#endif
