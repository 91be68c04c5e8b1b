/*
 * bootenv.c: reads and writes the U-Boot environment through libubootenv
 * (the library behind fw_printenv/fw_setenv), so the redundant copies,
 * their flags and CRCs are handled as U-Boot expects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootenv/bootenv.h"

#ifdef HAVE_UBOOTENV
#include <libuboot.h>

bool bootenv_supported(void)
{
	return true;
}

static int env_open(const char *config, struct uboot_ctx **out,
		    struct err *e)
{
	struct uboot_ctx *ctx = NULL;
	int rc;

	if (access(config, R_OK) < 0)
		return err_set(e, BOOTENV_ERR_CONFIG,
			       "U-Boot environment config %s: %s", config,
			       strerror(errno));
	if (libuboot_initialize(&ctx, NULL) < 0)
		return err_set(e, BOOTENV_ERR_CONFIG,
			       "U-Boot environment: cannot initialise "
			       "libubootenv");
	rc = libuboot_read_config(ctx, config);
	if (rc < 0) {
		libuboot_exit(ctx);
		return err_set(e, BOOTENV_ERR_CONFIG,
			       "U-Boot environment config %s: not a valid "
			       "fw_env.config (%s)", config, strerror(-rc));
	}
	rc = libuboot_open(ctx);
	if (rc < 0) {
		/* libuboot_open keeps its lock (a flock on a file in
		 * /var/lock) when no copy is valid; close releases it, or
		 * every program we start would wait on it. */
		libuboot_close(ctx);
		libuboot_exit(ctx);
		return err_set(e, BOOTENV_ERR_READ,
			       "U-Boot environment named by %s cannot be read "
			       "(no copy with a valid CRC: %s); it is left "
			       "as it is", config, strerror(-rc));
	}
	*out = ctx;
	return 0;
}

static void env_close(struct uboot_ctx *ctx)
{
	libuboot_close(ctx);
	libuboot_exit(ctx);
}

/* A variable's value, "" when unset; never longer than out. */
static void env_get(struct uboot_ctx *ctx, const char *name, char *out,
		    size_t outlen)
{
	char *v = libuboot_get_env(ctx, name);

	snprintf(out, outlen, "%s", v ? v : "");
	free(v);
}

static void state_of(struct uboot_ctx *ctx, struct bootenv_state *st)
{
	char v[32];
	uint64_t n;

	env_get(ctx, BOOTENV_VAR_BANK, v, sizeof(v));
	st->bank = !strcmp(v, "0") ? 0 : !strcmp(v, "1") ? 1 : -1;
	env_get(ctx, BOOTENV_VAR_TRIAL, v, sizeof(v));
	st->trial = !strcmp(v, "1");
	env_get(ctx, BOOTENV_VAR_FALLBACK, v, sizeof(v));
	st->fallback = !strcmp(v, "1");
	env_get(ctx, BOOTENV_VAR_COUNT, v, sizeof(v));
	st->bootcount = u64_parse(v, UINT32_MAX, &n) ? (unsigned)n : 0;
}

int bootenv_read(const char *config, struct bootenv_state *out,
		 struct err *e)
{
	struct uboot_ctx *ctx = NULL;

	if (env_open(config, &ctx, e) < 0)
		return e->code;
	state_of(ctx, out);
	env_close(ctx);
	return 0;
}

static int env_set(struct uboot_ctx *ctx, const char *name,
		   const char *value, struct err *e)
{
	int rc = libuboot_set_env(ctx, name, value);

	if (rc < 0)
		return err_set(e, BOOTENV_ERR_WRITE, "U-Boot environment: "
			       "cannot set %s: %s", name, strerror(-rc));
	return 0;
}

int bootenv_sync(const char *config, int bank, bool trial, bool *changed,
		 struct err *e)
{
	struct bootenv_state st;
	struct uboot_ctx *ctx = NULL;
	char digit[2] = { (char)('0' + bank), '\0' };
	bool reset_count;
	int rc;

	if (changed)
		*changed = false;
	if (bank != 0 && bank != 1)
		return err_set(e, BOOTENV_ERR_WRITE, "U-Boot environment: "
			       "no bank %d", bank);
	if (env_open(config, &ctx, e) < 0)
		return e->code;
	state_of(ctx, &st);
	if (st.bank == bank && st.trial == trial && !st.fallback &&
	    (trial || st.bootcount == 0)) {
		env_close(ctx);
		return 0;
	}
	/* A new bank or a new trial starts counting from 0; so does a
	 * confirmation, as U-Boot's own bootcount reset does. */
	reset_count = st.bank != bank || st.trial != trial || !trial;
	if (env_set(ctx, BOOTENV_VAR_BANK, digit, e) < 0 ||
	    env_set(ctx, BOOTENV_VAR_TRIAL, trial ? "1" : "0", e) < 0 ||
	    (reset_count && env_set(ctx, BOOTENV_VAR_COUNT, "0", e) < 0) ||
	    (st.fallback && env_set(ctx, BOOTENV_VAR_FALLBACK, NULL, e) < 0)) {
		env_close(ctx);
		return e->code;
	}
	rc = libuboot_env_store(ctx);
	env_close(ctx);
	if (rc < 0)
		return err_set(e, BOOTENV_ERR_WRITE, "U-Boot environment "
			       "named by %s: store failed: %s", config,
			       strerror(-rc));
	if (changed)
		*changed = true;
	return 0;
}

#else /* !HAVE_UBOOTENV */

bool bootenv_supported(void)
{
	return false;
}

static int unsupported(const char *config, struct err *e)
{
	return err_set(e, BOOTENV_ERR_UNSUPPORTED, "U-Boot environment %s: "
		       "this build has no libubootenv (rebuild with "
		       "libubootenv-dev installed)", config);
}

int bootenv_read(const char *config, struct bootenv_state *out,
		 struct err *e)
{
	(void)out;
	return unsupported(config, e);
}

int bootenv_sync(const char *config, int bank, bool trial, bool *changed,
		 struct err *e)
{
	(void)bank;
	(void)trial;
	if (changed)
		*changed = false;
	return unsupported(config, e);
}

#endif

int bootenv_sync_from_environment(int bank, bool trial, struct err *e)
{
	const char *config = getenv(BOOTENV_CONFIG_ENV);

	if (!config || !*config)
		return 0;
	return bootenv_sync(config, bank, trial, NULL, e);
}
