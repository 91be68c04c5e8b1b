/*
 * update_cmd.c: `tandem update --host H [--controller a|b] [--force]
 * [--user U] BUNDLE`. Reads the options and the password (never from the
 * command line), logs in, checks readiness, uploads, and hands over to
 * update_follow.c; each way it can fail has its own exit code, listed in
 * --help and docs/update.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bundle/bundle.h"
#include "config/conffile.h"
#include "tool/tool.h"
#include "tool/update.h"

static const char usage_text[] =
"usage: tandem update --host HOST[:PORT] [--controller a|b] [--force]\n"
"                     [--user USER] [--cacert FILE | --insecure] [--http]\n"
"                     [--timeout SECONDS] BUNDLE\n"
"\n"
"Loads BUNDLE into a controller over its HTTPS API (PUT /firmware/bundle),\n"
"then follows the controller's restart and the partner firmware upgrade\n"
"(PFU) until both controllers run the bundle.\n"
"\n"
"  --host HOST[:PORT]   a controller's address (port: 443, or 80 with --http)\n"
"  --controller a|b     the controller to load (default: the one at HOST);\n"
"                       the other is reached at the address `show\n"
"                       controllers` gives for it, on the same port\n"
"  --force              load even if the readiness check fails or the\n"
"                       bundle is not newer (FTP's flash:force)\n"
"  --user USER          default manage; the password is read from\n"
"                       TANDEM_PASSWORD, else asked on the terminal, else\n"
"                       read as one line from stdin\n"
"  --cacert FILE        trust the controller's certificate (or its CA) in FILE\n"
"  --insecure, -k       accept any certificate, as curl -k does\n"
"  --http               plain HTTP (the controller must have it enabled)\n"
"  --timeout SECONDS    for the whole update, upload included; default 1800\n"
"  --config FILE        options from its [tandem update] section, before\n"
"                       these (docs/config.md); --no-config: none\n"
"\n"
"On a terminal a progress bar shows percent, MB/s, time left and stage;\n"
"otherwise plain lines. Exit status:\n"
"  0  both controllers run the bundle\n"
"  1  other failure (the bundle file cannot be read, an unexpected reply)\n"
"  2  bad usage\n"
"  3  cannot connect to the controller (or its certificate is refused)\n"
"  4  login refused (or the user may not load firmware)\n"
"  5  bundle refused by verification (damaged, tampered, wrong key/model)\n"
"  6  readiness check refused (or another load is running)\n"
"  7  load failed (flash write, activation), or the controller came back\n"
"     on another bundle\n"
"  8  PFU halted (or disabled): the partner does not run the bundle\n"
"  9  timed out\n"
" 10  the bundle is not newer than the running one (use --force)\n";

/* The password: TANDEM_PASSWORD, a prompt on the terminal with echo off,
 * or one line of stdin. */
static int read_password(struct update_options *o)
{
	const char *env = getenv("TANDEM_PASSWORD");
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO);
	size_t len;

	if (env) {
		if (strlen(env) >= sizeof(o->password))
			return -1;
		snprintf(o->password, sizeof(o->password), "%s", env);
		return 0;
	}
	if (tty) {
		fprintf(stderr, "Password for %s@%s: ", o->user, o->host);
		fflush(stderr);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(o->password, sizeof(o->password), stdin))
		o->password[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	len = strcspn(o->password, "\r\n");
	if (o->password[len] == '\0' && len == sizeof(o->password) - 1)
		return -1;
	o->password[len] = '\0';
	return len ? 0 : -1;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A transport failure as the operator should read it. */
static int connect_failed(struct update_show *show, const struct err *e)
{
	update_show_fail(show, "cannot connect: %s", e->msg);
	return UPDATE_EXIT_CONNECT;
}

static int login(struct update_client *c, struct update_show *show)
{
	struct err e = { 0 };
	int rc = update_client_login(c, &e);

	if (rc == UPDATE_EXIT_LOGIN) {
		update_show_fail(show, "%s", e.msg);
		return UPDATE_EXIT_LOGIN;
	}
	return rc < 0 ? connect_failed(show, &e) : 0;
}

/*
 * Which controller is at the client's address ('A'/'B', 0 unknown), and
 * the address of `want` (from `show controllers`' ip-address).
 */
static int controllers(struct update_client *c, const char *address,
		       char want, char *here, char *other, size_t len,
		       struct update_show *show)
{
	json_t *doc, *arr, *o;
	struct err e = { 0 };
	long status = 0;
	size_t i;
	int rc = update_client_get(c, "/api/show/controllers", &status, &doc,
				   &e);

	if (rc < 0)
		return connect_failed(show, &e);
	*here = 0;
	other[0] = '\0';
	arr = json_object_get(doc, "controllers");
	json_array_foreach(arr, i, o) {
		const char *id = str(o, "controller-id");

		if (!strcmp(str(o, "ip-address"), address))
			*here = id[0];
		if (want && id[0] == want)
			snprintf(other, len, "%s", str(o, "ip-address"));
	}
	json_decref(doc);
	return 0;
}

/* Unless forced: the controller's own check, with its reasons. */
static int readiness(struct update_client *c, struct update_show *show)
{
	json_t *doc, *r, *reasons, *o;
	struct err e = { 0 };
	long status = 0;
	size_t i;
	int rc = update_client_get(c, "/api/check/firmware-upgrade-health",
				   &status, &doc, &e);

	if (rc < 0)
		return connect_failed(show, &e);
	r = json_array_get(json_object_get(doc, "code-load-readiness"), 0);
	if (!r || !strcmp(str(r, "overall-health"), "Pass")) {
		json_decref(doc);
		return 0;
	}
	update_show_fail(show, "readiness check refused the update (--force "
			 "loads anyway):");
	reasons = json_object_get(r, "code-load-readiness-reasons");
	json_array_foreach(reasons, i, o)
		fprintf(stderr, "  %s %s\n", str(o, "readiness-reason"),
			str(o, "recommended-action"));
	json_decref(doc);
	return UPDATE_EXIT_READINESS;
}

struct upload_view {
	struct update_client *client;
	struct update_show *show;
	char loaded;
	int64_t polled_ms;
};

/* The bar while bytes go; once all are sent, the controller's stage
 * (verifying, flashing, activating) read from /firmware/progress. */
static int on_sent(void *arg, uint64_t sent, uint64_t total, bool all_sent)
{
	struct upload_view *v = arg;
	json_t *doc, *arr, *o;
	struct err e = { 0 };
	long status = 0;
	size_t i;

	if (!all_sent) {
		update_show_upload(v->show, sent, total);
		return 0;
	}
	if (update_now_ms() - v->polled_ms < 1000)
		return 0;
	if (!v->polled_ms)
		update_show_upload(v->show, sent, total);
	v->polled_ms = update_now_ms();
	if (update_client_get(v->client, "/firmware/progress", &status, &doc,
			      &e) < 0)
		return 0;
	arr = json_object_get(doc, "controllers");
	json_array_foreach(arr, i, o)
		if (str(o, "controller")[0] == v->loaded &&
		    strcmp(str(o, "stage"), "idle") != 0 &&
		    strcmp(str(o, "stage"), "receiving") != 0)
			update_show_stage(v->show, str(o, "stage"),
					  (int)json_integer_value(
						  json_object_get(o, "percent")));
	json_decref(doc);
	return 0;
}

/* The controller's answer to the upload, as an exit code (0: loaded). */
static int upload_verdict(long status, json_t *reply, struct update_follow *f)
{
	json_t *st = update_status_object(reply);
	const char *text = str(st, "response");
	json_int_t code = json_integer_value(json_object_get(st,
							     "return-code"));

	if (status == 200 && !strcmp(str(st, "response-type"), "Success")) {
		/* 8: the versions match, nothing was loaded or restarts. */
		f->restarts = code != 8;
		update_show_line(f->show, "controller %c: %s", f->loaded,
				 text);
		return 0;
	}
	if (status == 401 || status == 403) {
		/* The session ended, or the user's role may not load. */
		update_show_fail(f->show, "login refused for the upload: %s",
				 text);
		return UPDATE_EXIT_LOGIN;
	}
	switch (code) {
	case 20:
		update_show_fail(f->show, "bundle refused by verification: "
				 "%s", text);
		return UPDATE_EXIT_VERIFY;
	case 22:
		update_show_fail(f->show, "bundle refused: %s (--force loads "
				 "it anyway)", text);
		return UPDATE_EXIT_VERSION;
	case 24:
		update_show_fail(f->show, "controller busy: %s", text);
		return UPDATE_EXIT_READINESS;
	default:
		break;
	}
	/* 503: a passing state (FTP's 450); 409: a refusal before any
	 * byte was taken, such as the readiness check's. */
	if (status == 503 || (status == 409 && strstr(text, "refused"))) {
		update_show_fail(f->show, "readiness check refused the update: "
				 "%s", text);
		return UPDATE_EXIT_READINESS;
	}
	update_show_fail(f->show, "load failed on controller %c (HTTP %ld): "
			 "%s", f->loaded, status, text[0] ? text : "no reason");
	return UPDATE_EXIT_LOAD;
}

static int parse(int argc, char **argv, struct update_options *o)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "controller", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "http", no_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct conffile_args conf;	/* o points into its argv */
	uint64_t v;
	int ch;

	o->user = "manage";
	o->timeout = UPDATE_TIMEOUT_DEFAULT;
	if (tool_config("tandem update", opts, &argc, &argv, &conf) < 0)
		return UPDATE_EXIT_USAGE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "kh", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': o->host = optarg; break;
		case 'f': o->force = true; break;
		case 'u': o->user = optarg; break;
		case 'C': o->cacert = optarg; break;
		case 'k': o->insecure = true; break;
		case 'P': o->http = true; break;
		case 'c':
			if (strcasecmp(optarg, "a") && strcasecmp(optarg, "b")) {
				tool_usage_error("update: --controller is a or "
						 "b, not '%s'", optarg);
				return UPDATE_EXIT_USAGE;
			}
			o->controller = (char)(optarg[0] & ~0x20);
			break;
		case 't':
			if (!u64_parse(optarg, 86400, &v) || v == 0) {
				tool_usage_error("update: --timeout is 1 to "
						 "86400 seconds");
				return UPDATE_EXIT_USAGE;
			}
			o->timeout = (unsigned)v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		default:
			fputs(usage_text, stderr);
			return UPDATE_EXIT_USAGE;
		}
	}
	if (!o->host || optind != argc - 1) {
		tool_usage_error("update: needs --host and one BUNDLE (see "
				 "'tandem update --help')");
		return UPDATE_EXIT_USAGE;
	}
	if (o->insecure && o->cacert) {
		tool_usage_error("update: --cacert and --insecure exclude each "
				 "other");
		return UPDATE_EXIT_USAGE;
	}
	o->bundle = argv[optind];
	return 0;
}

/* The bundle's version from its manifest, every hash checked (the
 * signature is the controller's to check); a damaged bundle is refused
 * before anything is sent. */
static int bundle_version(const char *path, char *out, size_t len,
			  struct update_show *show)
{
	struct bundle_verify_config cfg = { .unsigned_ok = true };
	struct bundle_manifest *m = malloc(sizeof(*m));
	struct err e = { 0 };
	int rc;

	if (!m)
		return UPDATE_EXIT_OTHER;
	rc = bundle_verify_file(path, &cfg, NULL, NULL, m, &e);
	if (rc == 0)
		snprintf(out, len, "%s", m->version);
	free(m);
	if (rc == 0)
		return 0;
	update_show_fail(show, "bundle refused by verification: %s (nothing "
			 "was sent)", e.msg);
	return UPDATE_EXIT_VERIFY;
}

static int run(struct update_options *o, struct update_show *show)
{
	struct update_follow f = { .opt = o, .show = show };
	struct upload_view view = { .show = show };
	char address[256], other[256], here = 0;
	struct err e = { 0 };
	json_t *reply = NULL;
	struct stat st;
	unsigned port;
	long status = 0;
	FILE *fp;
	int rc;

	f.deadline_ms = update_now_ms() + (int64_t)o->timeout * 1000;
	errno = 0;
	if (access(o->bundle, R_OK) < 0 || stat(o->bundle, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		update_show_fail(show, "cannot read %s: %s", o->bundle,
				 errno ? strerror(errno) : "not a file");
		return UPDATE_EXIT_OTHER;
	}
	rc = bundle_version(o->bundle, f.target, sizeof(f.target), show);
	if (rc)
		return rc;
	if (update_host_split(o->host, o->http, address, sizeof(address),
			      &port) < 0) {
		tool_usage_error("update: bad --host '%s' (ADDRESS or "
				 "ADDRESS:PORT)", o->host);
		return UPDATE_EXIT_USAGE;
	}
	f.client = update_client_new(o, address, port, &e);
	if (!f.client) {
		update_show_fail(show, "%s", e.msg);
		return UPDATE_EXIT_OTHER;
	}
	rc = login(f.client, show);
	if (!rc)
		rc = controllers(f.client, address, o->controller, &here,
				 other, sizeof(other), show);
	if (rc)
		goto out;
	f.loaded = o->controller ? o->controller : here;
	if (!f.loaded) {
		update_show_fail(show, "cannot tell which controller %s is: "
				 "give --controller a|b", address);
		rc = UPDATE_EXIT_USAGE;
		goto out;
	}
	if (here != f.loaded) {
		/* The other controller, at its own address. */
		if (!other[0]) {
			update_show_fail(show, "controller %c's address is not "
					 "known to %s", f.loaded, address);
			rc = UPDATE_EXIT_CONNECT;
			goto out;
		}
		update_client_free(f.client);
		f.client = update_client_new(o, other, port, &e);
		if (!f.client) {
			update_show_fail(show, "%s", e.msg);
			rc = UPDATE_EXIT_OTHER;
			goto out;
		}
		rc = login(f.client, show);
		if (rc)
			goto out;
	}
	if (!o->force && (rc = readiness(f.client, show)) != 0)
		goto out;
	fp = fopen(o->bundle, "rb");
	if (!fp || fstat(fileno(fp), &st) < 0) {
		update_show_fail(show, "cannot read %s: %s", o->bundle,
				 strerror(errno));
		if (fp)
			fclose(fp);
		rc = UPDATE_EXIT_OTHER;
		goto out;
	}
	update_show_line(show, "loading %s (%s, %.1f MB) into controller %c "
			 "at %s", o->bundle, f.target, (double)st.st_size / 1e6,
			 f.loaded, update_client_base(f.client));
	view.client = f.client;
	view.loaded = f.loaded;
	rc = update_client_put(f.client, fp, (uint64_t)st.st_size, o->force,
			       (f.deadline_ms - update_now_ms()) / 1000 + 1,
			       on_sent, &view, &status, &reply, &e);
	fclose(fp);
	if (rc < 0) {
		update_show_fail(show, "the upload did not finish: %s", e.msg);
		rc = rc == UPDATE_HTTP_TIMEOUT ? UPDATE_EXIT_TIMEOUT :
		     rc == UPDATE_HTTP_TLS || rc == UPDATE_HTTP_UNREACHABLE ?
		     UPDATE_EXIT_CONNECT : UPDATE_EXIT_OTHER;
		goto out;
	}
	rc = upload_verdict(status, reply, &f);
	json_decref(reply);
	if (rc == 0)
		rc = update_follow_run(&f);
out:
	update_client_free(f.client);
	return rc;
}

int tool_update(int argc, char **argv)
{
	struct update_options o = { 0 };
	struct update_show *show;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? TOOL_EXIT_OK : rc;
	if (read_password(&o) < 0) {
		tool_usage_error("update: no password (set TANDEM_PASSWORD, or "
				 "type it when asked)");
		return UPDATE_EXIT_USAGE;
	}
	o.terminal = isatty(STDOUT_FILENO);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tandem update: libcurl could not start\n");
		return UPDATE_EXIT_OTHER;
	}
	show = update_show_new(o.terminal);
	rc = show ? run(&o, show) : UPDATE_EXIT_OTHER;
	update_show_free(show);
	explicit_bzero(o.password, sizeof(o.password));
	curl_global_cleanup();
	return rc;
}
