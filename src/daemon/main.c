/*
 * main.c: tandemd's command line: options, the stand-ins until the real
 * parts are wired, the console thread, and the exit status (0 after a
 * clean SIGTERM shutdown).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/standin.h"

#define TANDEMD_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tandemd --state DIR [--controller a|b] [--address ADDR]\n"
		"         [--ssh-port N] [--sftp-port N] [--telnet-port N] "
		"[--ftp-port N]\n"
		"         [--enable PROTO]... [--disable PROTO]... [--console]\n"
		"         [--user USER:PASSWORD:manage|monitor]... "
		"[--users FILE]\n"
		"         [--keys DIR] [--model MODEL] [--idle-seconds N]\n"
		"         [--config FILE] [-n] [--foreground]\n"
		"Ports: 0 picks a free port; each open listener prints\n"
		"\"PROTO listening on ADDR:PORT\". telnet and ftp start "
		"disabled.\n");
}

struct console_arg {
	struct shell_service svc;
	struct daemon *d;
};

static void *console_main(void *arg)
{
	struct console_arg *c = arg;

	console_run(&c->svc, STDIN_FILENO, STDOUT_FILENO, true);
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
		{ "users", required_argument, NULL, 'U' },
		{ "keys", required_argument, NULL, 'k' },
		{ "model", required_argument, NULL, 'm' },
		{ "idle-seconds", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'f' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_config cfg = {
		.controller = 'a',
		.address = "127.0.0.1",
		.ports = { 22, 1022, 23, 21 },
		.enabled = { true, true, false, false },
	};
	bool console = false, check_only = false;
	const char *keys = NULL, *config = NULL;
	struct console_arg carg;
	struct standin *standin;
	struct daemon *d;
	struct err e = { 0 };
	pthread_t console_thread;
	int c, p, rc;
	uint64_t v;

	log_set_program("tandemd");
	fault_arm_from_env();
	standin = standin_new(TANDEMD_VERSION, 'a', &e);
	if (!standin) {
		log_error("%s", e.msg);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "a") && strcmp(optarg, "b")) {
				log_error("--controller must be a or b");
				return 2;
			}
			cfg.controller = optarg[0];
			standin->controller = optarg[0];
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
			p = daemon_protocol_from_name(optarg);
			if (p < 0) {
				log_error("unknown protocol '%s' (ssh, sftp, "
					  "telnet, ftp)", optarg);
				return 2;
			}
			cfg.enabled[p] = c == 'E';
			break;
		case 'C':
			console = true;
			break;
		case 'u':
			if (standin_user_add(standin, optarg, &e) < 0) {
				log_error("%s", e.msg);
				return 2;
			}
			break;
		case 'U':
			if (standin_users_load(standin, optarg, &e) < 0) {
				log_error("%s", e.msg);
				return 2;
			}
			break;
		case 'k':
			keys = optarg;
			break;
		case 'm':
			standin_set_model(standin, optarg);
			break;
		case 'i':
			if (!u64_parse(optarg, 86400, &v)) {
				log_error("bad --idle-seconds '%s'", optarg);
				return 2;
			}
			standin->idle_seconds = (unsigned)v;
			break;
		case 'f':
			config = optarg;
			break;
		case 'F':
			break;	/* tandemd never daemonizes itself */
		case 'n':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !cfg.state_dir) {
		usage(stderr);
		return 2;
	}
	if (config)
		log_warn("--config %s: the config part is not wired yet; "
			 "ignored", config);
	if (keys && standin_keys_load(standin, keys, &e) < 0) {
		log_error("%s", e.msg);
		return 1;
	}
	if (check_only) {
		printf("state %s\ncontroller %c\naddress %s\n", cfg.state_dir,
		       cfg.controller, cfg.address);
		for (p = 0; p < DAEMON_PROTO_COUNT; p++)
			printf("%s %s port %d\n", daemon_protocol_name(p),
			       cfg.enabled[p] ? "enabled" : "disabled",
			       cfg.ports[p]);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	{
		/* Only the event loop takes these signals (via libevent). */
		struct shell_service svc = { standin_shell_ops(), standin };
		struct sftp_service sftp = { standin_sftp_ops(), standin };

		d = daemon_new(&cfg, &svc, &sftp, standin_ftp_ops(), standin,
			       &e);
		if (!d) {
			log_error("%s", e.msg);
			return 1;
		}
		carg.svc = svc;
	}
	standin_set_daemon(standin, d);
	carg.d = d;
	if (console &&
	    pthread_create(&console_thread, NULL, console_main, &carg) == 0)
		pthread_detach(console_thread);
	rc = daemon_run(d);
	daemon_free(d);
	log_info("stopped");
	return rc < 0 ? 1 : 0;
}
