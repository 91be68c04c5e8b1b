/*
 * loader.c: tandem-loader, the MC loader. Asks the flash store which bank
 * to boot (counting trial boots, rolling back after FLASH_BOOT_TRIES), then
 * execs that bank's executable MC image, or tandemd when the bank has none.
 * Small on purpose: it changes rarely and must never be the broken part.
 *
 *   tandem-loader [--config FILE] [--daemon PATH] [--uboot-env FW_ENV_CONFIG]
 *                 [--state] STATE_DIR [-- ARGS...]
 *
 * With --uboot-env the U-Boot environment follows the boot record
 * (src/bootenv/bootenv.h, docs/bootchain.md), and a fallback U-Boot made
 * rolls the store back first.
 *
 * The started program gets ARGS (after --config FILE when a config file
 * was read: tandemd takes its own section of the same file), and
 * TANDEM_STATE_DIR and TANDEM_BOOT_BANK in its environment. tandemd reads
 * neither variable (its state directory is its --state); they are for MC
 * images that are scripts, such as the tests'. The program confirms
 * itself healthy through the flash store (flash_store_confirm, or
 * `tandem flash confirm STATE_DIR`).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootenv/bootenv.h"
#include "config/conffile.h"
#include "flash/flash.h"

#define LOADER_ARGS_MAX 64

/* The loader's options, which are also its config file keys. */
static const struct option loader_options[] = {
	{ "daemon", required_argument, NULL, 'd' },
	{ "state", required_argument, NULL, 's' },
	{ "uboot-env", required_argument, NULL, 'u' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tandem-loader [--config FILE] [--daemon PATH] "
		   "[--uboot-env FW_ENV_CONFIG]\n"
		   "                     [--state] STATE_DIR [-- ARGS...]\n"
		   "--uboot-env: keep the U-Boot environment FW_ENV_CONFIG "
		   "names in step\nwith the boot record (docs/bootchain.md).\n"
		   "--config FILE (default $TANDEM_CONFIG, else %s\nwhen it "
		   "exists): its [tandem-loader] section gives options "
		   "(daemon,\nstate); without a state, [tandemd]'s is used. "
		   "The program started gets\n--config FILE before ARGS.\n",
		   CONFFILE_DEFAULT);
}

/* --NAME VALUE or --NAME=VALUE of a loader option at argv[*i]: its value
 * (advancing *i past it), or NULL when argv[*i] is not name. */
static const char *option_value(const char *name, int argc, char **argv,
				int *i)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], "--", 2) || strncmp(argv[*i] + 2, name, n))
		return NULL;
	if (argv[*i][2 + n] == '=')
		return argv[*i] + 3 + n;
	if (argv[*i][2 + n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* tandemd beside us when installed, or in ../daemon/ in the build tree. */
static void default_daemon(char *out, size_t outlen)
{
	char self[PATH_MAX], dir[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		snprintf(out, outlen, "tandemd");
		return;
	}
	self[n] = '\0';
	if ((size_t)snprintf(dir, sizeof(dir), "%s", dirname(self)) >=
	    sizeof(dir)) {
		snprintf(out, outlen, "tandemd");
		return;
	}
	snprintf(out, outlen, "%s/tandemd", dir);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, outlen, "%s/../daemon/tandemd", dir);
}

/*
 * U-Boot's altbootcmd gave up on the trial bank (tandem_fallback=1) and
 * booted the other one: make the store say the same before booting.
 * Returns false when the environment must be left alone (it cannot be read,
 * or the store cannot follow it), so U-Boot keeps what it chose.
 */
static bool follow_uboot(struct flash_store *s, const char *config)
{
	struct bootenv_state env;
	struct flash_status st;
	char version[BUNDLE_VERSION_MAX];
	struct err e;

	err_clear(&e);
	if (bootenv_read(config, &env, &e) < 0) {
		log_error("%s", e.msg);
		return false;
	}
	if (!env.fallback)
		return true;
	if (flash_store_status(s, &st, &e) < 0) {
		log_error("U-Boot fell back (tandem_fallback=1); the flash "
			  "store cannot be read: %s", e.msg);
		return false;
	}
	if (!st.trial)
		return true;	/* already off the trial bank */
	if (flash_store_rollback(s, version, sizeof(version), &e) < 0) {
		log_error("U-Boot gave up bank %d (bundle %s) after %u boots, "
			  "but the store cannot roll back: %s", st.active_bank,
			  st.bundle_version, env.bootcount, e.msg);
		return false;
	}
	log_warn("U-Boot gave up bank %d (bundle %s) after %u boots "
		 "(tandem_fallback=1): rolled back to bundle %s",
		 st.active_bank, st.bundle_version, env.bootcount, version);
	return true;
}

/* After the boot choice: the environment names the bank and its trial. */
static void sync_uboot(struct flash_store *s, const char *config)
{
	struct flash_status st;
	bool changed;
	struct err e;

	err_clear(&e);
	if (flash_store_status(s, &st, &e) < 0 ||
	    bootenv_sync(config, st.active_bank, st.trial, &changed, &e) < 0) {
		log_error("U-Boot environment not updated: %s", e.msg);
		return;
	}
	if (changed)
		log_info("U-Boot environment: %s=%d %s=%d", BOOTENV_VAR_BANK,
			 st.active_bank, BOOTENV_VAR_TRIAL, st.trial ? 1 : 0);
}

static void run(const char *path, char **args, size_t nargs)
{
	char *argv[LOADER_ARGS_MAX + 4];

	argv[0] = (char *)path;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	argv[nargs + 1] = NULL;
	execv(path, argv);
	log_error("cannot start %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *daemon = NULL, *state = NULL, *uboot = NULL, *v;
	char daemon_path[PATH_MAX], bank[16], conf_state[PATH_MAX];
	char *args[LOADER_ARGS_MAX + 2];
	struct flash_boot_choice choice;
	static struct conffile_args conf;	/* args point into it */
	struct flash_store *s;
	bool uboot_ok = true;
	size_t nargs = 0;
	struct err e;
	int i;

	log_set_program("tandem-loader");
	fault_arm_from_env();
	/* The file's [tandem-loader] entries first: flags override them. */
	if (conffile_args_build("tandem-loader", loader_options, argc, argv,
				&conf, &e) < 0) {
		log_error("%s", e.msg);
		return 2;
	}
	argc = conf.argc;
	argv = conf.argv;
	if (conf.path[0]) {
		args[nargs++] = "--config";
		args[nargs++] = conf.path;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			if (argc - i - 1 > LOADER_ARGS_MAX) {
				usage(stderr);
				return 2;
			}
			while (++i < argc)
				args[nargs++] = argv[i];
			break;
		} else if ((v = option_value("daemon", argc, argv, &i))) {
			daemon = v;
		} else if ((v = option_value("state", argc, argv, &i))) {
			state = v;
		} else if ((v = option_value("uboot-env", argc, argv, &i))) {
			uboot = v;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !state) {
			state = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* One file configures the controller: its tandemd's state. */
	if (!state && conf.path[0]) {
		int rc = conffile_get(conf.path, "tandemd", "state", conf_state,
				      sizeof(conf_state), &e);

		if (rc < 0) {
			log_error("%s", e.msg);
			return 2;
		}
		state = rc ? conf_state : NULL;
	}
	if (!state) {
		usage(stderr);
		return 2;
	}
	if (daemon)
		snprintf(daemon_path, sizeof(daemon_path), "%s", daemon);
	else
		default_daemon(daemon_path, sizeof(daemon_path));
	setenv("TANDEM_STATE_DIR", state, 1);
	if (uboot) {
		if (!bootenv_supported()) {
			log_error("--uboot-env: this build has no libubootenv");
			return 2;
		}
		setenv(BOOTENV_CONFIG_ENV, uboot, 1);
	}

	if (flash_store_open(state, &s, &e) < 0) {
		if (e.code != FLASH_ERR_NOT_INIT) {
			/* Never guess over a damaged or newer store. */
			log_error("%s", e.msg);
			return 1;
		}
		log_info("%s; starting %s", e.msg, daemon_path);
		run(daemon_path, args, nargs);
		return 1;
	}
	if (uboot)
		uboot_ok = follow_uboot(s, uboot);
	if (flash_store_boot(s, &choice, &e) < 0) {
		log_error("boot: %s", e.msg);
		flash_store_close(s);
		return 1;
	}
	if (uboot && uboot_ok)
		sync_uboot(s, uboot);
	flash_store_close(s);
	if (choice.rolled_back)
		log_warn("%s", choice.reason);
	snprintf(bank, sizeof(bank), "%d", choice.bank);
	setenv("TANDEM_BOOT_BANK", bank, 1);
	if (choice.mc_image[0]) {
		log_info("bank %d: starting %s", choice.bank, choice.mc_image);
		run(choice.mc_image, args, nargs);
	} else {
		log_info("bank %d: no executable MC image; starting %s",
			 choice.bank, daemon_path);
		run(daemon_path, args, nargs);
	}
	return 1;
}
