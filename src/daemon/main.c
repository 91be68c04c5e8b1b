/*
 * main.c: tandemd's command line. Opens the controller's parts, starts the
 * listeners the protocol settings ask for, confirms a trial boot once they
 * are up, and runs until SIGTERM (exit 0), a shutdown (exit 0) or an MC
 * restart (exit CONTROLLER_EXIT_RESTART, for the supervisor to start the
 * loader again).
 */
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conffile.h"
#include "daemon/check_state.h"
#include "daemon/controller.h"
#include "daemon/notify.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tandemd --state DIR [--controller a|b] [--address ADDR]\n"
		"         [--ssh-port N] [--sftp-port N] [--telnet-port N] "
		"[--ftp-port N]\n"
		"         [--enable PROTO]... [--disable PROTO]... [--console]\n"
		"         [--user NAME:PASSWORD:manage|monitor]... "
		"[--keys DIR] [--model MODEL]\n"
		"         [--user-hash NAME:manage|monitor:YESCRYPT-HASH]...\n"
		"         [--idle-seconds N] [--set NAME=VALUE]... "
		"[--ftp-reply-hold N]\n"
		"         [--upload-stall N] [--login-seconds N] "
		"[--write-seconds N]\n"
		"         [--source-max N] [--simulator] [-n]\n"
		"         [--log-file PATH [--log-max-bytes N]] "
		"[--events-max-bytes N]\n"
		"         [--partner ADDR:PORT | --link-port PORT] "
		"[--enclosure-key PATH]\n"
		"         [--heartbeat-ms N] [--http-port N] [--https-port N]\n"
		"         [--web-root DIR] [--http-session-seconds N] "
		"[--http-idle-seconds N]\n"
		"         [--serial S | --serial-file PATH | "
		"--serial-command CMD] [--config FILE]\n"
		"         [--handler TYPE:PATH]...\n"
		"DIR is this controller's state directory (flash, config, "
		"events.log).\n"
		"Bundles are trusted if signed by a key in DIR/config/keys/*.pub"
		"\n(kept) or in --keys DIR (this run only).\n"
		"Ports: 0 picks a free port; each open listener prints\n"
		"\"PROTO listening on ADDR:PORT\". --enable/--disable change "
		"the stored\nprotocol settings (telnet and ftp are disabled "
		"by default). --set stores\na setting "
		"(as settings.json names it: login-lockout-threshold=5).\n"
		"--simulator adds the family's well-known "
		"default users to an empty user list.\n"
		"Every listener: --login-seconds from connect to login (60), "
		"--write-seconds\nfor a client that stops reading (60), "
		"--source-max connections not logged\nin from one address (4)."
		"\n"
		"--log-file points stderr at PATH, which moves to PATH.1 "
		"(keeping %d\nolder files) when it would pass N bytes "
		"(default %u).\n--events-max-bytes caps DIR/events.log "
		"likewise (default %u; one older file).\n"
		"Partner link (none without --partner or --link-port): "
		"controller A dials its\npartner at --partner ADDR:PORT; "
		"controller B listens on its --address at\n--link-port PORT "
		"(0 picks a free port, printed as \"link listening on "
		"ADDR:PORT\").\nBoth need --enclosure-key PATH, the "
		"enclosure.key that 'tandem enclosure init'\nwrites. "
		"--heartbeat-ms N: the link's heartbeat (default %d); the "
		"partner is down\nafter 3 missed.\n"
		"HTTP and HTTPS (http disabled, https enabled by default) "
		"serve the XML API\nunder /api/, firmware upload under "
		"/firmware/ and the web UI's files from\n--web-root DIR "
		"(none: 404). The HTTPS certificate is DIR/config/https.crt,"
		"\nmade at first start. --http-session-seconds: an API "
		"session's idle timeout\n(default %d); --http-idle-seconds: a "
		"keep-alive connection's (default %d).\n"
		"The serial number: --serial S, the contents of --serial-file "
		"PATH or the\noutput of --serial-command CMD (/bin/sh, %d s), "
		"kept in DIR/config/serial;\nwithout one, a random serial "
		"made at first start.\n"
		"--config FILE (default $TANDEM_CONFIG, else %s\nwhen it "
		"exists; --no-config: none): its [tandemd] section's KEY = "
		"VALUE\nlines are options read before the command line's "
		"(docs/config.md).\n--user-hash takes a yescrypt hash, so no "
		"clear password is in the file.\n"
		"--handler TYPE:PATH: the executable that installs, verifies "
		"and reports the\nversion of the component TYPE "
		"(docs/handlers.md); one per type.\n",
		LOG_FILE_KEEP_DEFAULT, LOG_FILE_MAX_DEFAULT,
		(unsigned)EVENTS_LOG_MAX_DEFAULT, PARTNER_HEARTBEAT_MS,
		HTTP_SESSION_SECONDS, HTTP_IDLE_SECONDS,
		CONTROLLER_SERIAL_COMMAND_SECONDS, CONFFILE_DEFAULT);
	fprintf(f, "Flash store (docs/flash.md \"Storage backends\"):\n%s",
		FLASH_STORAGE_HELP);
}

struct console_arg {
	struct shell_service svc;
	struct daemon *d;
	int stop[2];		/* a byte on stop[1] ends the console */
};

static void *console_main(void *arg)
{
	struct console_arg *c = arg;

	console_run(&c->svc, STDIN_FILENO, STDOUT_FILENO, true, c->stop[0]);
	/* The console's input has ended: a terminal run stops with it. */
	daemon_request_stop(c->d);
	return NULL;
}

static int port_arg(const char *s, int *out)
{
	uint64_t v;

	if (!u64_parse(s, 65535, &v))
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * --user NAME:PASSWORD:ROLE, or --user-hash NAME:ROLE:HASH (a yescrypt
 * string, so no clear password is in the config file or on the command
 * line), created unless the user exists (provisioning).
 */
static int user_arg(struct controller *c, const char *spec, bool hashed,
		    struct err *e)
{
	char buf[256], *pw, *role;
	struct config_user u;
	unsigned roles;

	snprintf(buf, sizeof(buf), "%s", spec);
	pw = strchr(buf, ':');
	role = !pw ? NULL : hashed ? strchr(pw + 1, ':') : strrchr(pw + 1, ':');
	if (!pw || !role)
		return err_set(e, -1, "--%s %s: expected %s", hashed ?
			       "user-hash" : "user", spec, hashed ?
			       "NAME:ROLE:HASH" : "NAME:PASSWORD:ROLE");
	*pw++ = '\0';
	*role++ = '\0';
	if (hashed) {		/* NAME:ROLE:HASH */
		char *t = pw;

		pw = role;
		role = t;
	}
	if (config_user_get(c->config, buf, &u) == 0)
		return 0;
	if (config_roles_parse(role, &roles, e) < 0)
		return e->code;
	config_user_defaults(&u, buf, roles);
	if (hashed && config_user_create_hashed(c->config, &u, pw, e) < 0)
		return err_prefix(e, "--user-hash %s", buf);
	return hashed ? 0 : config_user_create(c->config, &u, pw, e);
}

struct options {
	const char *state;
	const char *keys;
	const char *model;
	const char *users[16];
	bool user_hashed[16];		/* --user-hash, not --user */
	size_t nusers;
	const char *settings[16];
	size_t nsettings;
	const char *protocols[16];
	bool protocol_on[16];
	size_t nprotocols;
	bool console, check_only, simulator;
	long idle;
	const char *log_file;
	size_t log_max;
	size_t events_max;
	struct partner_config partner;
	const char *enclosure_key;
	char partner_host[64];
	const char *serial_option, *serial_value;	/* --serial* */
	const char *handlers[HANDLERS_MAX + 1];
	size_t nhandlers;
};

/* --partner ADDR:PORT: a numeric address and a port 1..65535. */
static int partner_arg(const char *s, struct options *o)
{
	const char *colon = strrchr(s, ':');
	uint64_t v;

	if (!colon || colon == s || (size_t)(colon - s) >=
	    sizeof(o->partner_host) || !u64_parse(colon + 1, 65535, &v) ||
	    v == 0)
		return -1;
	snprintf(o->partner_host, sizeof(o->partner_host), "%.*s",
		 (int)(colon - s), s);
	o->partner.partner_address = o->partner_host;
	o->partner.partner_port = (uint16_t)v;
	return 0;
}

/* Starts the partner link when --partner or --link-port asked for one. */
static int partner_link(struct controller *c, struct options *o,
			const struct daemon_config *cfg, struct err *e)
{
	uint8_t key[PARTNER_KEY_MAX];

	if (!o->partner.partner_address && !o->partner.listen)
		return 0;
	if (partner_key_load(o->enclosure_key, key, &o->partner.key_len,
			     e) < 0)
		return e->code;
	o->partner.key = key;
	o->partner.admission = cfg->admission;
	return partner_start(c, &o->partner, e);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "controller", required_argument, NULL, 'c' },
		{ "address", required_argument, NULL, 'a' },
		{ "ssh-port", required_argument, NULL, 1 },
		{ "sftp-port", required_argument, NULL, 2 },
		{ "telnet-port", required_argument, NULL, 3 },
		{ "ftp-port", required_argument, NULL, 4 },
		{ "enable", required_argument, NULL, 'E' },
		{ "disable", required_argument, NULL, 'D' },
		{ "console", no_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },
		{ "keys", required_argument, NULL, 'k' },
		{ "model", required_argument, NULL, 'm' },
		{ "idle-seconds", required_argument, NULL, 'i' },
		{ "set", required_argument, NULL, 'T' },
		{ "ftp-reply-hold", required_argument, NULL, 5 },
		{ "upload-stall", required_argument, NULL, 6 },
		{ "login-seconds", required_argument, NULL, 7 },
		{ "write-seconds", required_argument, NULL, 8 },
		{ "source-max", required_argument, NULL, 9 },
		{ "simulator", no_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "log-max-bytes", required_argument, NULL, 'M' },
		{ "events-max-bytes", required_argument, NULL, 'V' },
		{ "partner", required_argument, NULL, 10 },
		{ "link-port", required_argument, NULL, 11 },
		{ "enclosure-key", required_argument, NULL, 12 },
		{ "heartbeat-ms", required_argument, NULL, 13 },
		{ "http-port", required_argument, NULL, 14 },
		{ "https-port", required_argument, NULL, 15 },
		{ "web-root", required_argument, NULL, 16 },
		{ "http-session-seconds", required_argument, NULL, 17 },
		{ "http-idle-seconds", required_argument, NULL, 18 },
		{ "serial", required_argument, NULL, 300 },
		{ "serial-file", required_argument, NULL, 301 },
		{ "serial-command", required_argument, NULL, 302 },
		{ "user-hash", required_argument, NULL, 303 },
		FLASH_STORAGE_LONGOPTS,
		{ "handler", required_argument, NULL, 19 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct controller ctl;
	struct daemon_config cfg = {
		.controller = 'a',
		.address = "127.0.0.1",
		.ports = { 22, 1022, 23, 21, 80, 443 },
		.http = &controller_http_ops,
		.http_ctx = &ctl,
		.cli_backend = &controller_cli_backend,
		.cli_ctx = &ctl,
		.ftp_reply_hold = FTP_REPLY_HOLD_SECONDS,
		.upload_stall = FTP_UPLOAD_STALL_SECONDS,
	};
	struct options o = { .idle = -1, .log_max = LOG_FILE_MAX_DEFAULT };
	static struct flash_storage storage;
	struct shell_service svc = { &controller_shell_ops, &ctl };
	struct sftp_service sftp = { &controller_sftp_ops, &ctl };
	struct console_arg carg;
	char hostkeys[PATH_MAX + 16], scratch[PATH_MAX];
	const char *real_state = NULL;
	bool had_serial = false;
	struct err e = { 0 };
	static struct conffile_args conf;	/* options point into it */
	char serial[sizeof(ctl.serial)];
	pthread_t console_thread;
	bool console_running = false;
	size_t i;
	int c, p, rc;
	uint64_t v;

	/* One malloc arena for all threads, before any starts: the memory a
	 * session frees goes back to the one heap, where the listener's
	 * malloc_trim() at its end can return it, instead of staying in one
	 * of up to eight arenas per core, each keeping its pages. */
	mallopt(M_ARENA_MAX, 1);
	/* OpenSSL as built in, before anything uses it: the system's
	 * openssl.cnf is not read (tandemd's algorithms are fixed: Ed25519,
	 * SHA-256 and libssh's), and its error strings are not loaded, as
	 * nothing prints OpenSSL's error queue. Each would keep about half a
	 * MiB of libcrypto resident once the first digest or key is used. */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
				 OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL)) {
		log_error("cannot initialise OpenSSL");
		return 1;
	}
	log_set_program("tandemd");
	fault_arm_from_env();
	fault_watch_start();	/* the simulator's faults file and SIGUSR1 */
	/* The config file's [tandemd] entries come first: flags override. */
	if (conffile_args_build("tandemd", opts, argc, argv, &conf, &e) < 0) {
		log_error("%s", e.msg);
		return 2;
	}
	argc = conf.argc;
	argv = conf.argv;
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		log_set_context(conffile_where(&conf, optind - 1));
		switch (c) {
		case 's':
			o.state = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "a") && strcmp(optarg, "b")) {
				log_error("--controller must be a or b");
				return 2;
			}
			cfg.controller = optarg[0];
			break;
		case 'a':
			cfg.address = optarg;
			break;
		case 1: case 2: case 3: case 4: {
			static const enum daemon_protocol which[] = {
				DAEMON_PROTO_SSH, DAEMON_PROTO_SFTP,
				DAEMON_PROTO_TELNET, DAEMON_PROTO_FTP,
			};

			if (port_arg(optarg, &cfg.ports[which[c - 1]]) < 0) {
				log_error("bad port '%s'", optarg);
				return 2;
			}
			break;
		}
		case 'E':
		case 'D':
			if (daemon_protocol_from_name(optarg) < 0 ||
			    o.nprotocols == ARRAY_SIZE(o.protocols)) {
				log_error("unknown protocol '%s' (ssh, sftp, "
					  "telnet, ftp, http, https)", optarg);
				return 2;
			}
			o.protocols[o.nprotocols] = optarg;
			o.protocol_on[o.nprotocols++] = c == 'E';
			break;
		case 'C':
			o.console = true;
			break;
		case 'u': case 303:
			if (o.nusers == ARRAY_SIZE(o.users)) {
				log_error("too many --user options");
				return 2;
			}
			o.user_hashed[o.nusers] = c == 303;
			o.users[o.nusers++] = optarg;
			break;
		case 'k':
			o.keys = optarg;
			break;
		case 'm':
			o.model = optarg;
			break;
		case 'i':
			if (!u64_parse(optarg, 86400, &v) || v == 0) {
				log_error("bad --idle-seconds '%s'", optarg);
				return 2;
			}
			o.idle = (long)v;
			break;
		case 'T':
			if (o.nsettings == ARRAY_SIZE(o.settings) ||
			    !strchr(optarg, '=')) {
				log_error("--set %s: expected NAME=VALUE (at "
					  "most %zu)", optarg,
					  ARRAY_SIZE(o.settings));
				return 2;
			}
			o.settings[o.nsettings++] = optarg;
			break;
		case 5:
			/* Seconds an FTP reply waits for the code load's
			 * outcome before it opens a 226- (docs/ftp.md); under
			 * lftp's 300 s. Tests make it short. */
			if (!u64_parse(optarg, FTP_REPLY_HOLD_SECONDS, &v)) {
				log_error("bad --ftp-reply-hold '%s' (0 to %d)",
					  optarg, FTP_REPLY_HOLD_SECONDS);
				return 2;
			}
			cfg.ftp_reply_hold = (int)v;
			break;
		case 6:
			if (!u64_parse(optarg, 3600, &v) || v == 0) {
				log_error("bad --upload-stall '%s' (1 to 3600)",
					  optarg);
				return 2;
			}
			cfg.upload_stall = (int)v;
			break;
		case 7: case 8: case 9: {
			static const char *const names[] = {
				"login-seconds", "write-seconds", "source-max",
			};
			unsigned *field[] = {
				&cfg.admission.login_seconds,
				&cfg.admission.write_seconds,
				&cfg.admission.source_max,
			};

			if (!u64_parse(optarg, c == 9 ? SHELL_SESSIONS_MAX
						      : TCP_SECONDS_MAX, &v) ||
			    v == 0) {
				log_error("bad --%s '%s'", names[c - 7],
					  optarg);
				return 2;
			}
			*field[c - 7] = (unsigned)v;
			break;
		}
		case 'S':
			o.simulator = true;
			break;
		case 'L':
			o.log_file = optarg;
			break;
		case 'M':
			if (!u64_parse(optarg, SIZE_MAX, &v) ||
			    v < LOG_FILE_MIN) {
				log_error("bad --log-max-bytes '%s' (at least "
					  "%d)", optarg, LOG_FILE_MIN);
				return 2;
			}
			o.log_max = (size_t)v;
			break;
		case 'V':
			if (!u64_parse(optarg, SIZE_MAX, &v) ||
			    v < EVENTS_LOG_MIN) {
				log_error("bad --events-max-bytes '%s' (at "
					  "least %d)", optarg, EVENTS_LOG_MIN);
				return 2;
			}
			o.events_max = (size_t)v;
			break;
		case 10:
			if (partner_arg(optarg, &o) < 0) {
				log_error("bad --partner '%s' (ADDR:PORT)",
					  optarg);
				return 2;
			}
			break;
		case 11:
			if (port_arg(optarg, &p) < 0) {
				log_error("bad --link-port '%s'", optarg);
				return 2;
			}
			o.partner.listen = true;
			o.partner.listen_port = (uint16_t)p;
			break;
		case 12:
			o.enclosure_key = optarg;
			break;
		case 13:
			if (!u64_parse(optarg, PARTNER_HEARTBEAT_MAX_MS, &v) ||
			    v < PARTNER_HEARTBEAT_MIN_MS) {
				log_error("bad --heartbeat-ms '%s' (%d to %d)",
					  optarg, PARTNER_HEARTBEAT_MIN_MS,
					  PARTNER_HEARTBEAT_MAX_MS);
				return 2;
			}
			o.partner.heartbeat_ms = (unsigned)v;
			break;
		case 14: case 15:
			if (port_arg(optarg, &cfg.ports[c == 14 ?
					DAEMON_PROTO_HTTP :
					DAEMON_PROTO_HTTPS]) < 0) {
				log_error("bad port '%s'", optarg);
				return 2;
			}
			break;
		case 16:
			cfg.web_root = optarg;
			break;
		case 17:
			if (!u64_parse(optarg, HTTP_SESSION_SECONDS_MAX, &v) ||
			    v == 0) {
				log_error("bad --http-session-seconds '%s' (1 "
					  "to %d)", optarg,
					  HTTP_SESSION_SECONDS_MAX);
				return 2;
			}
			cfg.http_session_seconds = (unsigned)v;
			break;
		case 18:
			if (!u64_parse(optarg, HTTP_IDLE_SECONDS_MAX, &v) ||
			    v == 0) {
				log_error("bad --http-idle-seconds '%s' (1 to "
					  "%d)", optarg, HTTP_IDLE_SECONDS_MAX);
				return 2;
			}
			cfg.http_idle_seconds = (unsigned)v;
			break;
		case 300: case 301: case 302:	/* the last one given wins */
			o.serial_option = (const char *[]){ "serial",
				"serial-file", "serial-command" }[c - 300];
			o.serial_value = optarg;
			break;
		case 19:
			if (o.nhandlers == HANDLERS_MAX) {
				log_error("more than %d --handler options",
					  HANDLERS_MAX);
				return 2;
			}
			o.handlers[o.nhandlers++] = optarg;
			break;
		case 'F':
			break;	/* tandemd never daemonizes itself */
		case 'n':
			o.check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case FLASH_STORAGE_OPT ... FLASH_STORAGE_OPT + 3:
			if (flash_storage_option(&storage, c, optarg, &e) < 0) {
				log_error("%s", e.msg);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_set_context("");
	if (optind != argc || !o.state) {
		usage(stderr);
		return 2;
	}
	if (o.serial_option && controller_serial_read(o.serial_option,
			o.serial_value, serial, sizeof(serial), &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	/* The link's roles are fixed: A dials, B listens. */
	if (o.partner.partner_address && cfg.controller != 'a') {
		log_error("--partner is for controller A, which dials; "
			  "controller B listens with --link-port");
		return 2;
	}
	if (o.partner.listen && cfg.controller != 'b') {
		log_error("--link-port is for controller B, which listens; "
			  "controller A dials with --partner");
		return 2;
	}
	if ((o.partner.partner_address || o.partner.listen) &&
	    !o.enclosure_key) {
		log_error("the partner link needs --enclosure-key PATH");
		return 2;
	}
	/* -n: everything below runs on a scratch copy and stores nothing;
	 * the storage choice is checked against the store, if there is one. */
	if (o.check_only) {
		if (flash_storage_check(o.state, &storage, &e) < 0 ||
		    check_state_copy(o.state, scratch, sizeof(scratch),
				     &had_serial, &e) < 0) {
			log_error("%s", e.msg);
			return 1;
		}
		real_state = o.state;
		o.state = scratch;
	} else if (o.log_file && log_open_file(o.log_file, o.log_max,
					       LOG_FILE_KEEP_DEFAULT, &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	if ((!o.check_only && flash_storage_ensure(o.state, &storage,
						   &e) < 0) ||
	    controller_open(&ctl, o.state, cfg.controller, cfg.address,
			    o.simulator, o.events_max, &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	if (o.keys && bundle_keyring_add_path(&ctl.keys, o.keys, &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	for (i = 0; i < o.nhandlers; i++) {
		if (handler_set_add(&ctl.handlers, o.handlers[i], &e) < 0) {
			log_error("%s", e.msg);
			controller_close(&ctl);
			return 2;
		}
	}
	if (o.model)
		controller_set_model(&ctl, o.model);
	if (o.serial_option && controller_set_serial(&ctl, serial, &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	if (o.idle > 0)
		ctl.idle_override = (unsigned)o.idle;
	for (i = 0; i < o.nusers; i++) {
		if (user_arg(&ctl, o.users[i], o.user_hashed[i], &e) < 0) {
			log_error("%s", e.msg);
			return 2;
		}
	}
	for (i = 0; i < o.nprotocols; i++) {
		const struct config_key_info *k =
			config_protocol_find(o.protocols[i]);

		if (k && config_set_bool(ctl.config, k->key, o.protocol_on[i],
					 &e) < 0) {
			log_error("%s", e.msg);
			return 1;
		}
	}
	for (i = 0; i < o.nsettings; i++) {
		char name[64];
		const char *eq = strchr(o.settings[i], '=');

		snprintf(name, sizeof(name), "%.*s",
			 (int)(eq - o.settings[i]), o.settings[i]);
		if (config_set_text(ctl.config, name, eq + 1, &e) < 0) {
			log_error("--set %s: %s", o.settings[i], e.msg);
			return 2;
		}
	}
	if (o.check_only) {
		printf("config %s\nstate %s\ncontroller %c\naddress %s\n"
		       "serial %s\nmodel %s\n", conf.path[0] ? conf.path :
		       "(none)", real_state, ctl.id, cfg.address,
		       o.serial_option || had_serial ? ctl.serial :
		       "(made at first start)", ctl.model);
		for (i = 0; i < ctl.handlers.count; i++)
			printf("handler %s:%s\n", ctl.handlers.handlers[i].type,
			       ctl.handlers.handlers[i].path);
		for (p = 0; p < DAEMON_PROTO_COUNT; p++)
			printf("%s port %d\n", daemon_protocol_name(p),
			       cfg.ports[p]);
		if (o.partner.partner_address)
			printf("partner %s:%u\n", o.partner.partner_address,
			       o.partner.partner_port);
		if (o.partner.listen)
			printf("link port %u\n", o.partner.listen_port);
		controller_close(&ctl);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Before anything reports versions: each device on the active
	 * bank's image (a roll-back or a fallen-back trial left it on
	 * another). */
	controller_handlers_sync(&ctl);
	snprintf(hostkeys, sizeof(hostkeys), "%s/config", o.state);
	cfg.state_dir = o.state;
	cfg.hostkey_dir = hostkeys;
	/* Listeners open below, from the settings, once ctl.daemon is set. */
	ctl.daemon = daemon_new(&cfg, &svc, &sftp, &controller_ftp_ops, &ctl,
				&e);
	if (!ctl.daemon) {
		log_error("%s", e.msg);
		controller_close(&ctl);
		return 1;
	}
	controller_apply_protocols(&ctl);
	config_watch(ctl.config, controller_setting_changed, &ctl);
	if (partner_link(&ctl, &o, &cfg, &e) < 0) {
		log_error("partner link: %s", e.msg);
		daemon_free(ctl.daemon);
		controller_close(&ctl);
		return 1;
	}
	controller_started(&ctl);
	notify_ready("Controller %c serving on %s", ctl.id, cfg.address);
	carg.svc = svc;
	carg.d = ctl.daemon;
	if (o.console && pipe2(carg.stop, O_CLOEXEC) == 0) {
		console_running = pthread_create(&console_thread, NULL,
						 console_main, &carg) == 0;
		if (!console_running) {
			close(carg.stop[0]);
			close(carg.stop[1]);
		}
	}
	rc = daemon_run(ctl.daemon);
	notify_stopping(ctl.exit_status == CONTROLLER_EXIT_RESTART ?
			"Restarting the management controller" : "Stopping");
	/* Every thread that uses the daemon or the controller ends here,
	 * before either is freed. */
	if (console_running) {
		if (write(carg.stop[1], "", 1) < 0)
			log_warn("cannot stop the console: %m");
		pthread_join(console_thread, NULL);
		close(carg.stop[0]);
		close(carg.stop[1]);
	}
	/* PFU pushes over the link: it ends before the link does. The
	 * link's handlers call into the daemon (mirrored protocol
	 * switches). */
	partner_quiesce(ctl.partner);
	controller_pfu_stop(&ctl);
	partner_stop(ctl.partner);
	controller_join_threads(&ctl);
	daemon_free(ctl.daemon);
	rc = rc < 0 ? 1 : ctl.exit_status;
	controller_event(&ctl, EVENTS_INFORMATIONAL, EVENTS_CODE_DAEMON_STOP,
			 "Management controller %c stopped%s.", ctl.id,
			 rc == CONTROLLER_EXIT_RESTART ? " to restart" : "");
	controller_close(&ctl);
	log_info("stopped");
	log_flush_limits();
	return rc;
}
