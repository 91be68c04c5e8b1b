/*
 * enclosure_cmd.c: `tandem enclosure init|up|down|status|fault|console`:
 * options, the run directory and what `up` prints. The supervisor is
 * enclosure_power.c, the consoles enclosure_console.c, the faults
 * enclosure_fault.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "flash/flash.h"
#include "tool/enclosure.h"
#include "config/conffile.h"
#include "tool/tool.h"

static int write_run_files(const char *dir, const struct enclosure_layout *l,
			   const char *const faults[2], struct err *e)
{
	char path[PATH_MAX], pid[32], text[FAULT_SPEC_MAX + 2];
	struct buf b;
	int c, s, rc = 0;

	tool_path(path, sizeof(path), "%s/run", dir);
	if (fs_mkdir_p(path, 0755, e) < 0)
		return e->code;
	buf_init(&b, 4096);
	for (c = 0; c < 2; c++)
		for (s = 0; s < SVC_COUNT; s++)
			rc = rc ? rc : buf_appendf(&b, "%c %s %s %u\n", 'a' + c,
				enclosure_service_name(s), l->address[c],
				l->port[c][s]);
	tool_path(path, sizeof(path), "%s/run/layout", dir);
	rc = rc ? rc : fs_atomic_write(path, b.data, b.len, 0644, e);
	buf_free(&b);
	/* Each run starts with what its --faults say, nothing older. */
	for (c = 0; rc == 0 && c < 2; c++) {
		snprintf(text, sizeof(text), "%s\n",
			 faults[c] ? faults[c] : "clear");
		tool_path(path, sizeof(path), "%s/run/%c.faults", dir, 'a' + c);
		rc = fs_atomic_write(path, text, strlen(text), 0644, e);
		tool_path(path, sizeof(path), "%s/run/%c.faults.armed", dir,
			  'a' + c);
		unlink(path);
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	tool_path(path, sizeof(path), "%s/run/up.pid", dir);
	return rc ? rc : fs_atomic_write(path, pid, strlen(pid), 0644, e);
}

static void up_usage(FILE *f)
{
	fprintf(f, "usage: tandem enclosure up [--dir DIR] "
		"[--faults a:SPEC] [--faults b:SPEC]\n"
		"                          [--addresses A,B] [--port-base N] "
		"[--web-root DIR]\n"
		"  DIR defaults to ./%s and is made on first use.\n"
		"  A,B: the controllers' IPv4 addresses (127.0.0.2,127.0.0.3).\n"
		"  N: a high-port layout at N + 1000 x controller (A 0, B 1) "
		"+ the family's\n  port modulo 1000 (SFTP + 100) instead of "
		"the family's ports (21, 22, 23,\n  1022, link %d, 80, 443).\n"
		"  DIR of --web-root: the web UI's files (the project's web/)."
		"\n"
		"  SPEC arms fault points in that controller, e.g. "
		"b:write-error=mc,\n  a:powercut=40, b:corrupt=sc, "
		"b:write-error=mc@partner, b:link-drop=3\n  "
		"(see docs/simulator.md); "
		"  'tandem enclosure fault' changes them while up runs.\n"
		"  --config FILE: options from its [tandem enclosure up] "
		"section first.\n"
		"  Each controller's own config file: DIR/a.conf, DIR/b.conf "
		"(written here).\n",
		ENCLOSURE_DEFAULT_DIR, ENCLOSURE_LINK_PORT);
}

/* "A,B": two different dotted IPv4 addresses. */
static int addresses_parse(const char *arg, char out[2][16])
{
	const char *comma = strchr(arg, ',');
	struct in_addr a, b;

	if (!comma || comma - arg >= 16 || strlen(comma + 1) >= 16)
		return -1;
	snprintf(out[0], 16, "%.*s", (int)(comma - arg), arg);
	snprintf(out[1], 16, "%s", comma + 1);
	if (inet_pton(AF_INET, out[0], &a) != 1 ||
	    inet_pton(AF_INET, out[1], &b) != 1 || a.s_addr == b.s_addr)
		return -1;
	return 0;
}

static int port_base_parse(const char *arg, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || n < 1024 ||
	    n > ENCLOSURE_PORT_BASE_MAX)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/*
 * The simulator's component handler (docs/handlers.md), copied into the
 * enclosure so that it runs as the enclosure's own file: DIR/handlers/
 * device-file, passed to each tandemd for the SC, EC and CPLD images.
 */
static int handler_install(struct enclosure_run *run, struct err *e)
{
	char src[PATH_MAX], dir[PATH_MAX];
	struct buf b;
	int rc;

	tool_path(src, sizeof(src), "%s/device-file", tool_handlers_dir());
	tool_path(dir, sizeof(dir), "%s/handlers", run->abs_dir);
	buf_init(&b, 64 * 1024);
	rc = fs_read_file(src, 64 * 1024, &b, e);
	if (rc == 0)
		rc = fs_mkdir_p(dir, 0755, e);
	if (rc == 0) {
		snprintf(run->handler, sizeof(run->handler), "%s/device-file",
			 dir);
		rc = fs_atomic_write(run->handler, b.data, b.len, 0755, e);
	}
	buf_free(&b);
	if (rc < 0) {
		run->handler[0] = '\0';
		return err_prefix(e, "the simulator's component handler");
	}
	return 0;
}

static int cmd_up(int argc, char **argv)
{
	const char *self;
	char port[16];
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "faults", required_argument, NULL, 'f' },
		{ "addresses", required_argument, NULL, 'a' },
		{ "port-base", required_argument, NULL, 'p' },
		{ "web-root", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enclosure_controller ctl[2] = { { .id = 'a' }, { .id = 'b' } };
	static struct enclosure_run run;
	const char *faults[2] = { NULL, NULL };
	char address[2][16];
	const char *addresses[2] = { address[0], address[1] };
	bool own_addresses = false;
	unsigned port_base = 0;
	char path[PATH_MAX];
	struct err e;
	int c;

	static struct conffile_args conf;	/* run points into its argv */

	if (tool_config("tandem enclosure up", opts, &argc, &argv, &conf) < 0)
		return TOOL_EXIT_USAGE;
	run.dir = ENCLOSURE_DEFAULT_DIR;
	run.web_root = tool_web_root();
	while ((c = getopt_long(argc, argv, "d:f:a:p:w:h", opts, NULL)) != -1) {
		if (c == 'd') {
			run.dir = optarg;
		} else if (c == 'w') {
			run.web_root = optarg;
		} else if (c == 'f' && (optarg[0] == 'a' || optarg[0] == 'b') &&
			   optarg[1] == ':') {
			if (fault_spec_check(optarg + 2, &e) < 0) {
				fprintf(stderr, "tandem enclosure: --faults "
					"%s: %s\n", optarg, e.msg);
				return TOOL_EXIT_USAGE;
			}
			faults[optarg[0] - 'a'] = optarg + 2;
		} else if (c == 'a') {
			if (addresses_parse(optarg, address) < 0) {
				fprintf(stderr, "tandem enclosure: --addresses "
					"needs two different IPv4 addresses, "
					"A,B (e.g. 127.0.0.2,127.0.0.3)\n");
				return TOOL_EXIT_USAGE;
			}
			own_addresses = true;
		} else if (c == 'p') {
			if (port_base_parse(optarg, &port_base) < 0) {
				fprintf(stderr, "tandem enclosure: --port-base "
					"must be a number from 1024 to %d\n",
					ENCLOSURE_PORT_BASE_MAX);
				return TOOL_EXIT_USAGE;
			}
		} else {
			up_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		up_usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	err_clear(&e);
	tool_path(path, sizeof(path), "%s/enclosure.key", run.dir);
	if (access(path, F_OK) != 0) {
		printf("making a new enclosure in %s ...\n", run.dir);
		fflush(stdout);
		if (enclosure_init(run.dir, &e) < 0) {
			fprintf(stderr, "tandem enclosure: %s\n", e.msg);
			return TOOL_EXIT_FAILURE;
		}
	}
	if (enclosure_up_pid(run.dir) > 0) {
		fprintf(stderr, "tandem enclosure: an enclosure is already up "
			"in %s\n", run.dir);
		return TOOL_EXIT_FAILURE;
	}
	if (!realpath(run.dir, run.abs_dir)) {
		fprintf(stderr, "tandem enclosure: %s: %s\n", run.dir,
			strerror(errno));
		return TOOL_EXIT_FAILURE;
	}
	if (handler_install(&run, &e) < 0) {
		fprintf(stderr, "tandem enclosure: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	enclosure_layout_pick(&run.layout, own_addresses ? addresses : NULL,
			      port_base);
	run.link = true;
	if (write_run_files(run.dir, &run.layout, faults, &e) < 0) {
		fprintf(stderr, "tandem enclosure: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	for (c = 0; c < 2; c++) {
		if (enclosure_console_open(run.dir, &ctl[c], &e) < 0) {
			fprintf(stderr, "tandem enclosure: %s\n", e.msg);
			enclosure_console_close(run.dir, &ctl[0]);
			enclosure_console_close(run.dir, &ctl[1]);
			return TOOL_EXIT_FAILURE;
		}
	}
	printf("Tandem simulated enclosure, model %s, in %s\n\n",
	       ENCLOSURE_MODEL, run.dir);
	enclosure_layout_print(&run.layout, run.link, stdout);
	/* As the operator invoked us (scripts/enclosure-up: build/...). */
	self = program_invocation_name;
	if (run.layout.port[0][SVC_SSH] == 22)
		snprintf(port, sizeof(port), "%s", "");
	else
		snprintf(port, sizeof(port), " -p %u",
			 run.layout.port[0][SVC_SSH]);
	printf("\nLog in:  ssh manage@%s%s   (password !manage)\n"
	       "Console: %s enclosure console --dir %s a   (Ctrl-] "
	       "detaches)\n"
	       "The simulator keeps the family's well-known default users "
	       "(manage/!manage,\nmonitor/!monitor): fine for a demo, never "
	       "for a real controller.\n"
	       "Newer bundles to load: %s/bundles/%s.bundle (SC), "
	       "%s/bundles/%s.bundle (MC)\n"
	       "Controller logs: %s/run/a.log, %s/run/b.log\n"
	       "Controller configs (tandemd --config): %s/a.conf, "
	       "%s/b.conf\n",
	       run.layout.address[0], port, self, run.dir,
	       run.dir, enclosure_update.bundle, run.dir,
	       enclosure_mc_update.bundle, run.dir, run.dir, run.dir,
	       run.dir);
	if (run.layout.port[0][SVC_HTTPS] == 443)
		snprintf(port, sizeof(port), "%s", "");
	else
		snprintf(port, sizeof(port), ":%u",
			 run.layout.port[0][SVC_HTTPS]);
	printf("Web UI and API: https://%s%s/   (certificate %s/a/config/"
	       "https.crt)\n\n", run.layout.address[0], port, run.dir);
	for (c = 0; c < 2; c++)
		if (faults[c])
			printf("faults armed on controller %c: %s\n", 'A' + c,
			       faults[c]);
	fflush(stdout);
	return enclosure_supervise(&run, ctl);
}

/*
 * `init`, `down` and `status` take the directory as `up`, `fault` and
 * `console` do (--dir DIR), or as their one argument. -1 with *dir set, or
 * the exit status (usage printed).
 */
static int dir_args(int argc, char **argv, const char *name,
		    const char **dir)
{
	*dir = ENCLOSURE_DEFAULT_DIR;
	if (argc == 2 && argv[1][0] != '-')
		*dir = argv[1];
	else if (argc == 3 && !strcmp(argv[1], "--dir"))
		*dir = argv[2];
	else if (argc != 1) {
		bool help = argc == 2 && !strcmp(argv[1], "--help");

		fprintf(help ? stdout : stderr, "usage: tandem enclosure %s "
			"[--dir DIR]\n  DIR defaults to ./%s.\n", name,
			ENCLOSURE_DEFAULT_DIR);
		return help ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
	}
	return -1;
}

static int cmd_init(int argc, char **argv)
{
	const char *dir;
	struct err e;
	int rc;

	if ((rc = dir_args(argc, argv, "init", &dir)) >= 0)
		return rc;
	err_clear(&e);
	if (enclosure_init(dir, &e) < 0) {
		fprintf(stderr, "tandem enclosure init: %s\n", e.msg);
		return TOOL_EXIT_FAILURE;
	}
	printf("made enclosure %s: controllers A and B run bundle %s; "
	       "%s/bundles/%s.bundle is newer (SC), %s/bundles/%s.bundle "
	       "newer still (MC)\n", dir, enclosure_factory.bundle, dir,
	       enclosure_update.bundle, dir, enclosure_mc_update.bundle);
	return TOOL_EXIT_OK;
}

static int cmd_down(int argc, char **argv)
{
	const char *dir;
	long pid;
	int n;

	if ((n = dir_args(argc, argv, "down", &dir)) >= 0)
		return n;
	pid = enclosure_up_pid(dir);
	if (pid < 0) {
		fprintf(stderr, "tandem enclosure down: no enclosure is up "
			"in %s\n", dir);
		return TOOL_EXIT_FAILURE;
	}
	kill((pid_t)pid, SIGTERM);
	for (n = 0; n < 200 && kill((pid_t)pid, 0) == 0; n++)
		usleep(100 * 1000);
	printf("enclosure in %s is down\n", dir);
	return TOOL_EXIT_OK;
}

/* The controller's serial (<ctl>/config/serial), or "" unknown. */
static void own_serial(const char *cdir, char *out, size_t len)
{
	char path[PATH_MAX];
	struct buf b;
	struct err e;

	out[0] = '\0';
	tool_path(path, sizeof(path), "%s/config/serial", cdir);
	buf_init(&b, 64);
	if (fs_read_file(path, 64, &b, &e) == 0 && buf_append(&b, "", 1) == 0)
		snprintf(out, len, "%.*s", (int)strcspn(b.data, "\n"),
			 b.data);
	buf_free(&b);
}

/* One line per record of <ctl>/config/pfu.json, or "PFU: none". Each
 * controller keeps the partner's records too: a record whose partner is
 * this controller is the partner's PFU of this one. */
static void status_pfu(const char *cdir)
{
	char path[PATH_MAX], serial[64];
	json_error_t jerr;
	json_t *root, *records, *r;
	size_t i;

	tool_path(path, sizeof(path), "%s/config/pfu.json", cdir);
	if (access(path, F_OK) != 0) {
		printf("  PFU: none\n");
		return;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	records = root ? json_object_get(root, "records") : NULL;
	if (!json_is_array(records)) {
		printf("  PFU: %s is not a PFU record file\n", path);
		json_decref(root);
		return;
	}
	if (json_array_size(records) == 0)
		printf("  PFU: none\n");
	own_serial(cdir, serial, sizeof(serial));
	json_array_foreach(records, i, r) {
		const char *target = json_string_value(
			json_object_get(r, "target"));
		const char *partner = json_string_value(
			json_object_get(r, "partner"));
		const char *reason = json_string_value(
			json_object_get(r, "reason"));
		json_int_t attempts = json_integer_value(
			json_object_get(r, "attempts"));
		const char *state =
			json_is_true(json_object_get(r, "complete")) ?
				"complete" :
			json_is_true(json_object_get(r, "halted")) ? "halted" :
			json_is_true(json_object_get(r, "in_flight")) ?
				"attempt in flight" :
			attempts > 0 ? "retrying" : "pending";

		char who[96];

		if (partner && !strcmp(partner, serial))
			snprintf(who, sizeof(who), "from the partner to this "
				 "controller");
		else
			snprintf(who, sizeof(who), "to partner %s",
				 partner ? partner : "?");
		printf("  PFU: %s %s: %s, %lld attempt%s%s%s\n",
		       target ? target : "?", who, state,
		       (long long)attempts, attempts == 1 ? "" : "s",
		       reason && *reason ? "; last failure: " : "",
		       reason && *reason ? reason : "");
	}
	json_decref(root);
}

static int cmd_status(int argc, char **argv)
{
	const char *dir;
	char cdir[PATH_MAX];
	int c;

	if ((c = dir_args(argc, argv, "status", &dir)) >= 0)
		return c;
	printf("enclosure %s: %s\n", dir,
	       enclosure_up_pid(dir) > 0 ? "up" : "down");
	for (c = 0; c < 2; c++) {
		struct flash_status st;
		struct flash_store *s;
		struct err e;
		long pid = enclosure_controller_pid(dir, 'a' + c);

		tool_path(cdir, sizeof(cdir), "%s/%c", dir, 'a' + c);
		if (flash_store_open(cdir, &s, &e) < 0) {
			printf("controller %c: %s\n", 'A' + c, e.msg);
			continue;
		}
		if (flash_store_status(s, &st, &e) < 0)
			printf("controller %c: %s\n", 'A' + c, e.msg);
		else
			printf("controller %c: bundle %s, bank %d%s\n", 'A' + c,
			       st.bundle_version[0] ? st.bundle_version :
			       "(none)", st.active_bank,
			       st.trial ? " (on trial)" : "");
		flash_store_close(s);
		if (pid > 0)
			printf("  MC: running, pid %ld\n", pid);
		else
			printf("  MC: not running\n");
		status_pfu(cdir);
	}
	return TOOL_EXIT_OK;
}

static const struct tool_command enclosure_commands[] = {
	{ "init", cmd_init, "make a state directory: keys, bundles, both "
	  "controllers provisioned" },
	{ "up", cmd_up, "run both controllers until Ctrl-C (makes DIR if "
	  "needed)" },
	{ "down", cmd_down, "stop an enclosure started elsewhere" },
	{ "status", cmd_status, "up or down; each controller's bundle, MC "
	  "and PFU" },
	{ "fault", tool_enclosure_fault, "arm or clear fault points in a "
	  "running controller" },
	{ "console", tool_enclosure_console, "attach to a controller's "
	  "serial console (Ctrl-] detaches)" },
};

int tool_enclosure(int argc, char **argv)
{
	return tool_dispatch("enclosure", "SUBCOMMAND [ARGS...]",
			     enclosure_commands,
			     ARRAY_SIZE(enclosure_commands), argc, argv);
}
