/*
 * flash_cmd.c: `tandem flash init|install|show|check|confirm|export
 * STATE_DIR`.
 * Offline access to one controller's flash store through the same flash
 * API the daemon uses; prints, never touches the store's files itself.
 * Exit status: 0, 1 failure, 2 usage, or 40 + n for flash error -n.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootenv/bootenv.h"
#include "flash/flash.h"
#include "tool/tool.h"

#define FLASH_CMD_CHUNK		(64 * 1024)	/* cache-sized reads */
#define FLASH_CMD_EXIT_BASE	40

static int flash_fail(const struct err *e)
{
	fprintf(stderr, "tandem flash: %s\n", e->msg);
	return e->code < 0 ? FLASH_CMD_EXIT_BASE - e->code : TOOL_EXIT_FAILURE;
}

static int open_store(const char *dir, struct flash_store **s)
{
	struct err e;

	if (flash_store_open(dir, s, &e) < 0)
		return flash_fail(&e);
	return 0;
}

static int one_dir(int argc, char **argv, const char *usage)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: tandem flash %s\n", usage);
		return -1;
	}
	if (argc != 2) {
		tool_usage_error("flash: usage: tandem flash %s", usage);
		return TOOL_EXIT_USAGE;
	}
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		FLASH_STORAGE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct flash_storage st = { .set = false };
	struct err e;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= FLASH_STORAGE_OPT && c <= FLASH_STORAGE_OPT + 3) {
			if (flash_storage_option(&st, c, optarg, &e) < 0) {
				tool_usage_error("flash init: %s", e.msg);
				return TOOL_EXIT_USAGE;
			}
			continue;
		}
		printf("usage: tandem flash init STATE_DIR [--storage dir|"
		       "block --storage-bank0 PATH --storage-bank1 PATH "
		       "--storage-bootrec PATH]\n" FLASH_STORAGE_HELP);
		return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		tool_usage_error("flash: usage: tandem flash init STATE_DIR "
				 "[--storage ...]");
		return TOOL_EXIT_USAGE;
	}
	if (flash_store_init_storage(argv[optind], &st, &e) < 0)
		return flash_fail(&e);
	printf("flash store ready in %s/flash\n", argv[optind]);
	return TOOL_EXIT_OK;
}

static void print_result(const struct flash_install_result *r)
{
	if (!r->activated) {
		printf("Not attempted (Versions match): every component of "
		       "%s is already installed\n", r->manifest.version);
		return;
	}
	for (size_t i = 0; i < r->manifest.ncomponents; i++)
		printf("  %-12s %-16s %s\n", r->manifest.components[i].name,
		       r->manifest.components[i].version,
		       r->outcome[i] == FLASH_COMPONENT_SKIPPED
			       ? "skipped (already installed)" : "installed");
	printf("Installed %s (%zu installed, %zu skipped; previous %s); on "
	       "trial until the controller confirms itself healthy\n",
	       r->manifest.version, r->ninstalled, r->nskipped,
	       r->previous_version[0] ? r->previous_version : "none");
}

static int feed_piece(void *ctx, const uint8_t *data, size_t len,
		      struct err *e)
{
	return flash_install_feed(ctx, data, len, e);
}

static int install_stream(struct flash_store *s,
			  const struct flash_install_options *opt, int fd,
			  size_t chunk_size, struct flash_install_result *r,
			  struct err *e)
{
	struct flash_install *fi;
	uint8_t *chunk = NULL;
	int rc;

	fi = flash_install_begin(s, opt, e);
	if (!fi)
		return e->code;
	/* A regular file is fed straight from the page cache. */
	rc = fs_map_each(fd, chunk_size, feed_piece, fi, e);
	if (rc == 1)
		chunk = malloc(chunk_size);
	while (rc == 1) {
		ssize_t n = chunk ? read(fd, chunk, chunk_size) : -1;

		if (n < 0 && errno == EINTR)
			continue;
		if (!chunk)
			rc = err_set(e, FLASH_ERR_IO, "out of memory");
		else if (n < 0)
			rc = err_set(e, FLASH_ERR_IO, "reading the bundle: %s",
				     strerror(errno));
		else if (n == 0)
			rc = 0;
		else if ((rc = flash_install_feed(fi, chunk, (size_t)n,
						  e)) == 0)
			rc = 1;
	}
	if (rc == FS_MAP_FAILED)
		rc = e->code = FLASH_ERR_IO;
	if (rc == 0)
		rc = flash_install_finish(fi, r, e);
	flash_install_free(fi);
	free(chunk);
	return rc;
}

static int cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "model", required_argument, NULL, 'm' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_keyring kr = { .nkeys = 0 };
	struct flash_install_options opt = { .keys = &kr };
	struct flash_install_result *r;
	struct flash_store *s;
	uint64_t chunk = FLASH_CMD_CHUNK;
	struct err e;
	int c, fd, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fp:m:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': opt.force = true; break;
		case 'p':
			if (bundle_keyring_add_path(&kr, optarg, &e) < 0)
				return flash_fail(&e);
			break;
		case 'm': opt.model = optarg; break;
		case 'c':
			if (!u64_parse(optarg, 64 << 20, &chunk) || !chunk) {
				tool_usage_error("--chunk-size: 1..64M bytes");
				return TOOL_EXIT_USAGE;
			}
			/* Also the image write unit (capped at 1 MiB), so a
			 * small one gives a cut point inside every image. */
			opt.write_unit = (size_t)chunk;
			break;
		default:
			printf("usage: tandem flash install STATE_DIR BUNDLE "
			       "--pubkey KEY|KEYDIR... [--force] [--model M] "
			       "[--chunk-size BYTES]\n");
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc - 2 || kr.nkeys == 0) {
		tool_usage_error("flash install: needs STATE_DIR, BUNDLE and "
				 "at least one --pubkey");
		return TOOL_EXIT_USAGE;
	}
	fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_set(&e, FLASH_ERR_USAGE, "%s: %s", argv[optind + 1],
			strerror(errno));
		return flash_fail(&e);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((rc = open_store(argv[optind], &s)) != 0) {
		close(fd);
		return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		flash_store_close(s);
		return TOOL_EXIT_FAILURE;
	}
	rc = install_stream(s, &opt, fd, (size_t)chunk, r, &e);
	close(fd);
	flash_store_close(s);
	if (rc == 0)
		print_result(r);
	free(r);
	return rc < 0 ? flash_fail(&e) : TOOL_EXIT_OK;
}

/* The security floor's lines; a floor that cannot be read says why. */
struct show_security {
	struct flash_security sec;
	bool ok;
	char why[ERR_MESSAGE_MAX];
};

static void show_json(const struct flash_status *st, const char *note,
		      const struct show_security *sec)
{
	json_t *o = json_object(), *comps = json_array();
	char hex[65];

	json_object_set_new(o, "bundle_version", json_string(st->bundle_version));
	json_object_set_new(o, "build_date", json_string(st->build_date));
	json_object_set_new(o, "active_bank", json_integer(st->active_bank));
	json_object_set_new(o, "trial", json_boolean(st->trial));
	json_object_set_new(o, "boot_count", json_integer(st->boot_count));
	json_object_set_new(o, "sequence",
			    json_integer((json_int_t)st->sequence));
	json_object_set_new(o, "previous_version",
			    json_string(st->previous_version));
	json_object_set_new(o, "last_result", json_string(note));
	json_object_set_new(o, "security_version",
			    json_integer(sec->sec.active));
	json_object_set_new(o, "previous_security_version",
			    json_integer(sec->sec.previous));
	json_object_set_new(o, "security_floor", sec->ok ?
			    json_integer(sec->sec.floor) : json_null());
	if (!sec->ok)
		json_object_set_new(o, "security_floor_error",
				    json_string(sec->why));
	for (size_t i = 0; i < st->ncomponents; i++) {
		const struct flash_component_state *c = &st->components[i];
		json_t *j = json_object();

		hex_encode(c->sha256, 32, hex);
		json_object_set_new(j, "name", json_string(c->name));
		json_object_set_new(j, "version", json_string(c->version));
		json_object_set_new(j, "size", json_integer((json_int_t)c->size));
		json_object_set_new(j, "sha256", json_string(hex));
		json_object_set_new(j, "executable", json_boolean(
				c->flags & BUNDLE_FLAG_EXECUTABLE));
		json_object_set_new(j, "bank", json_integer(c->bank));
		json_array_append_new(comps, j);
	}
	json_object_set_new(o, "components", comps);
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}

static void show_text(const struct flash_status *st, const char *note,
		      const struct show_security *sec)
{
	printf("Bundle Version: %s\n", st->bundle_version[0]
				       ? st->bundle_version : "(empty)");
	printf("Build Date: %s\n", st->build_date);
	printf("Active Bank: %d%s\n", st->active_bank,
	       st->trial ? " (on trial)" : "");
	printf("Boot Count: %u\n", st->boot_count);
	printf("Sequence: %llu\n", (unsigned long long)st->sequence);
	printf("Previous Bank: %d (%s)\n", 1 - st->active_bank,
	       st->previous_version[0] ? st->previous_version : "empty");
	printf("Last Result: %s\n", note[0] ? note : "none");
	printf("Security Version: %u\n", sec->sec.active);
	if (sec->ok)
		printf("Security Floor: %u\n", sec->sec.floor);
	else
		printf("Security Floor: unreadable: %s\n", sec->why);
	if (st->ncomponents)
		printf("\n%-12s %-16s %12s %-4s %s\n", "Component", "Version",
		       "Size", "Bank", "Flags");
	for (size_t i = 0; i < st->ncomponents; i++) {
		const struct flash_component_state *c = &st->components[i];

		printf("%-12s %-16s %12llu %-4d %s\n", c->name, c->version,
		       (unsigned long long)c->size, c->bank,
		       (c->flags & BUNDLE_FLAG_EXECUTABLE) ? "executable" : "");
	}
}

static int cmd_show(int argc, char **argv)
{
	struct show_security sec;
	struct flash_status st;
	struct flash_store *s;
	bool json = false;
	struct buf note;
	struct err e;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		json = true;
		argv[1] = argv[2];
		argc = 2;
	} else if (argc == 3 && !strcmp(argv[2], "--json")) {
		json = true;
		argc = 2;
	}
	rc = one_dir(argc, argv, "show [--json] STATE_DIR");
	if (rc)
		return rc < 0 ? TOOL_EXIT_OK : rc;
	if ((rc = open_store(argv[1], &s)) != 0)
		return rc;
	if (flash_store_status(s, &st, &e) < 0) {
		flash_store_close(s);
		return flash_fail(&e);
	}
	buf_init(&note, 4096);
	flash_store_last_result(s, &note);
	while (note.len && note.data[note.len - 1] == '\n')
		note.data[--note.len] = '\0';
	sec.ok = flash_store_security(s, &sec.sec, &e) == 0;
	if (!sec.ok)
		snprintf(sec.why, sizeof(sec.why), "%s", e.msg);
	if (json)
		show_json(&st, note.data ? note.data : "", &sec);
	else
		show_text(&st, note.data ? note.data : "", &sec);
	buf_free(&note);
	flash_store_close(s);
	return TOOL_EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
	struct flash_store *s;
	struct buf report;
	struct err e;
	int rc = one_dir(argc, argv, "check STATE_DIR");

	if (rc)
		return rc < 0 ? TOOL_EXIT_OK : rc;
	if ((rc = open_store(argv[1], &s)) != 0)
		return rc;
	buf_init(&report, 64 * 1024);
	rc = flash_store_check(s, &report, &e);
	if (report.data)
		fputs(report.data, stdout);
	buf_free(&report);
	flash_store_close(s);
	return rc < 0 ? flash_fail(&e) : TOOL_EXIT_OK;
}

/* Started by tandem-loader --uboot-env: U-Boot stops counting the boots of
 * a bank that is now confirmed. The loader syncs again at every start, so
 * a failure here is a warning, not a failed confirmation. */
static void confirm_uboot(struct flash_store *s)
{
	struct flash_status st;
	struct err e;

	err_clear(&e);
	if (flash_store_status(s, &st, &e) < 0 ||
	    bootenv_sync_from_environment(st.active_bank, st.trial, &e) < 0)
		fprintf(stderr, "tandem: warning: U-Boot environment not "
			"updated: %s\n", e.msg);
}

static int cmd_confirm(int argc, char **argv)
{
	struct flash_store *s;
	struct err e;
	int rc = one_dir(argc, argv, "confirm STATE_DIR");

	if (rc)
		return rc < 0 ? TOOL_EXIT_OK : rc;
	if ((rc = open_store(argv[1], &s)) != 0)
		return rc;
	rc = flash_store_confirm(s, &e);
	if (rc == 0)
		confirm_uboot(s);
	flash_store_close(s);
	if (rc < 0)
		return flash_fail(&e);
	printf("active bank confirmed healthy\n");
	return TOOL_EXIT_OK;
}

struct export_out {
	int fd;
	const char *name;
};

static int export_write(void *ctx, const void *data, size_t len,
			struct err *e)
{
	struct export_out *o = ctx;
	int rc = fs_write_all(o->fd, data, len);

	if (rc < 0)
		return err_set(e, rc == -ENOSPC ? FLASH_ERR_NOSPACE
						: FLASH_ERR_IO,
			       "writing %s: %s", o->name, strerror(-rc));
	return 0;
}

/* To a file: a temp beside it, fsynced, renamed only when complete. */
static int export_file(struct flash_store *s, const char *out, struct err *e)
{
	struct export_out o = { .name = out };
	char tmp[4096];
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= sizeof(tmp))
		return err_set(e, FLASH_ERR_USAGE, "%s: path too long", out);
	o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o.fd < 0)
		return err_set(e, FLASH_ERR_IO, "%s: %s", tmp,
			       strerror(errno));
	rc = flash_store_bundle_export(s, export_write, &o, e);
	if (rc == 0 && fsync(o.fd) < 0)
		rc = err_set(e, FLASH_ERR_IO, "%s: fsync: %s", tmp,
			     strerror(errno));
	if (close(o.fd) < 0 && rc == 0)
		rc = err_set(e, FLASH_ERR_IO, "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, out) < 0)
		rc = err_set(e, FLASH_ERR_IO, "%s: %s", out, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct export_out o = { .fd = STDOUT_FILENO, .name = "stdout" };
	const char *out = NULL;
	struct flash_store *s;
	struct err e;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		default:
			printf("usage: tandem flash export STATE_DIR -o FILE|-\n");
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out) {
		tool_usage_error("flash export: needs STATE_DIR and -o FILE "
				 "(or -o - for stdout)");
		return TOOL_EXIT_USAGE;
	}
	if (!strcmp(out, "-") && isatty(STDOUT_FILENO)) {
		tool_usage_error("flash export: not writing a bundle to a "
				 "terminal");
		return TOOL_EXIT_USAGE;
	}
	if ((rc = open_store(argv[optind], &s)) != 0)
		return rc;
	if (!strcmp(out, "-"))
		rc = flash_store_bundle_export(s, export_write, &o, &e);
	else
		rc = export_file(s, out, &e);
	flash_store_close(s);
	if (rc < 0)
		return flash_fail(&e);
	if (strcmp(out, "-"))
		printf("exported the active bank's bundle to %s\n", out);
	return TOOL_EXIT_OK;
}

static const struct tool_command flash_commands[] = {
	{ "init", cmd_init, "create an empty flash store in STATE_DIR" },
	{ "install", cmd_install, "verify a bundle and install it offline" },
	{ "show", cmd_show, "banks, versions, trial state, last result" },
	{ "check", cmd_check, "read both banks back against their manifests" },
	{ "confirm", cmd_confirm, "mark the trial bank healthy" },
	{ "export", cmd_export, "write the active bank's signed bundle" },
};

int tool_flash(int argc, char **argv)
{
	return tool_dispatch("flash", "SUBCOMMAND STATE_DIR [ARGS...]",
			     flash_commands, ARRAY_SIZE(flash_commands), argc,
			     argv);
}
