/*
 * config_stress.c: the helper of tests/system/test_config_crash.py.
 *   config-stress run DIR    changes the config in a loop until killed
 *                            or cut (TANDEM_FAULTS=powercut=N),
 *                            printing "name N" once system-name is gen-N
 *                            on disk and "done N" after each iteration
 *   config-stress check DIR  opens the config and prints its state as JSON
 * Iteration N: system-name gen-N, pfu-attempt-limit N % 20 + 1, ftp
 * enabled when N is odd, system-contact gen-N, create monitor user
 * uN (password Pass-N-x), delete every older u* user. A restart first
 * finishes the iteration it finds on disk.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"

static unsigned gen_of(struct config *cfg, enum config_key key)
{
	char s[CONFIG_STRING_MAX];

	config_get_string(cfg, key, s, sizeof(s));
	return strncmp(s, "gen-", 4) ? 0 : (unsigned)strtoul(s + 4, NULL, 10);
}

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "config-stress: %s: %s\n", what, e->msg);
	exit(1);
}

static void iteration(struct config *cfg, unsigned n)
{
	struct config_user list[CONFIG_USERS_MAX], u;
	char name[32], text[32], password[32];
	size_t count;
	struct err e;

	snprintf(text, sizeof(text), "gen-%u", n);
	if (config_set_string(cfg, CONFIG_SYSTEM_NAME, text, &e) < 0)
		die("set name", &e);
	printf("name %u\n", n);
	/* More small settings writes, so kills land in them often. */
	if (config_set_uint(cfg, CONFIG_PFU_ATTEMPT_LIMIT, n % 20 + 1, &e) < 0 ||
	    config_set_bool(cfg, CONFIG_PROTO_FTP, n % 2, &e) < 0)
		die("set pfu/ftp", &e);
	if (config_set_string(cfg, CONFIG_SYSTEM_CONTACT, text, &e) < 0)
		die("set contact", &e);
	snprintf(name, sizeof(name), "u%u", n);
	snprintf(password, sizeof(password), "Pass-%u-x", n);
	if (config_user_get(cfg, name, &u) != 0) {
		config_user_defaults(&u, name, CONFIG_ROLE_MONITOR);
		if (config_user_create(cfg, &u, password, &e) < 0)
			die("create user", &e);
	}
	count = config_users_list(cfg, list, CONFIG_USERS_MAX);
	for (size_t i = 0; i < count && i < CONFIG_USERS_MAX; i++)
		if (list[i].name[0] == 'u' && strcmp(list[i].name, name) &&
		    config_user_delete(cfg, list[i].name, &e) < 0)
			die("delete user", &e);
	printf("done %u\n", n);
}

static int run(const char *dir)
{
	struct config *cfg;
	struct err e;
	unsigned n;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (config_open(dir, NULL, &cfg, &e) < 0)
		die("open", &e);
	if (config_users_list(cfg, NULL, 0) == 0) {
		struct config_user keeper;

		config_user_defaults(&keeper, "keeper", CONFIG_ROLE_MANAGE);
		if (config_user_create(cfg, &keeper, "Keep-it-1", &e) < 0)
			die("create keeper", &e);
	}
	n = gen_of(cfg, CONFIG_SYSTEM_NAME);
	printf("start %u\n", n);
	for (n = n ? n : 1;; n++)
		iteration(cfg, n);
	return 0;
}

static int check(const char *dir)
{
	struct config_user list[CONFIG_USERS_MAX];
	json_t *out, *users;
	struct config *cfg;
	unsigned roles;
	struct err e;
	size_t count;

	if (config_open(dir, NULL, &cfg, &e) < 0)
		die("open", &e);
	out = json_object();
	users = json_array();
	count = config_users_list(cfg, list, CONFIG_USERS_MAX);
	for (size_t i = 0; i < count && i < CONFIG_USERS_MAX; i++) {
		char password[32];
		json_t *u;

		snprintf(password, sizeof(password), "Pass-%s-x",
			 list[i].name + 1);
		if (!strcmp(list[i].name, "keeper"))
			snprintf(password, sizeof(password), "Keep-it-1");
		u = json_pack("{s:s, s:b}", "name", list[i].name, "login",
			      config_auth_login(cfg, list[i].name, password,
						CONFIG_IFACE_CLI, "check",
						&roles, &e) == 0);
		json_array_append_new(users, u);
	}
	json_object_set_new(out, "note",
			    json_string(config_recovery_note(cfg)));
	json_object_set_new(out, "name",
			    json_integer(gen_of(cfg, CONFIG_SYSTEM_NAME)));
	json_object_set_new(out, "contact",
			    json_integer(gen_of(cfg, CONFIG_SYSTEM_CONTACT)));
	json_object_set_new(out, "users", users);
	json_object_set_new(out, "pfu-attempt-limit",
			    json_integer(config_get_uint(cfg,
						CONFIG_PFU_ATTEMPT_LIMIT)));
	json_object_set_new(out, "ftp",
			    json_boolean(config_get_bool(cfg, CONFIG_PROTO_FTP)));
	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	config_close(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	/* Power cuts (TANDEM_FAULTS=powercut=N) come from the tests. */
	fault_arm_from_env();
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return check(argv[2]);
	fprintf(stderr, "usage: config-stress run|check DIR\n");
	return 2;
}
