/*
 * bundle_cmd.c: `tandem bundle keygen|create|inspect|verify`. Argument
 * handling and printing only; every check lives in src/bundle.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle.h"
#include "tool/tool.h"

static int bundle_fail(const struct err *e)
{
	const char *name = bundle_error_name(e->code);
	size_t n = strlen(name);

	/* Some messages already begin with their error's name. */
	if (!strncmp(e->msg, name, n) && e->msg[n] == ':')
		fprintf(stderr, "tandem bundle: %s\n", e->msg);
	else
		fprintf(stderr, "tandem bundle: %s: %s\n", name, e->msg);
	return bundle_error_exit_code(e->code);
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char pub[4096], id[BUNDLE_KEY_ID_LEN + 1];
	const char *out = NULL;
	struct err e;
	int c;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else {
			printf("usage: tandem bundle keygen --out KEYDIR\n");
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (!out || optind != argc) {
		tool_usage_error("bundle keygen: needs --out KEYDIR");
		return TOOL_EXIT_USAGE;
	}
	if (bundle_key_generate(out, &e) < 0)
		return bundle_fail(&e);
	snprintf(pub, sizeof(pub), "%s/bundle.pub", out);
	if (bundle_key_file_id(pub, id, &e) < 0)
		return bundle_fail(&e);
	printf("wrote %s/bundle.key (private, mode 0600) and "
	       "%s/bundle.pub\nkey id: %s\n", out, out, id);
	return TOOL_EXIT_OK;
}

/* The id a trust store and a revocation list know a public key by. */
static int cmd_keyid(int argc, char **argv)
{
	char id[BUNDLE_KEY_ID_LEN + 1];
	struct err e;
	int i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: tandem bundle keyid PUBKEY...\n");
		return argc < 2 ? TOOL_EXIT_USAGE : TOOL_EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		if (bundle_key_file_id(argv[i], id, &e) < 0)
			return bundle_fail(&e);
		printf("%s  %s\n", id, argv[i]);
	}
	return TOOL_EXIT_OK;
}

/* NAME=VERSION:FILE */
static int component_arg(char *arg, struct bundle_create_component *c)
{
	char *eq = strchr(arg, '='), *colon;

	if (!eq)
		return -1;
	colon = strchr(eq + 1, ':');
	if (!colon || colon == eq + 1 || !colon[1])
		return -1;
	*eq = '\0';
	*colon = '\0';
	c->name = arg;
	c->version = eq + 1;
	c->path = colon + 1;
	c->flags = 0;
	return 0;
}

/* Decimal digits only: no sign, no spaces, no 0x. */
static int security_version_arg(const char *arg, uint32_t *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!*arg || strlen(arg) > 10)
		return -1;
	for (p = arg; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > BUNDLE_SECURITY_VERSION_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void create_usage(FILE *f)
{
	fprintf(f,
		"usage: tandem bundle create --key KEY --version TS250P003 "
		"--model MODEL [--model ...]\n"
		"           --component NAME=VERSION:FILE [--component ...]\n"
		"           [--executable NAME] [--build-date TEXT]\n"
		"           [--partner-compat VERSION|PREFIX*]... "
		"[--security-version N] -o OUT\n"
		"  --partner-compat: a partner version this bundle tolerates "
		"while the two\n  controllers differ (TS250P002, or TS250* for "
		"every TS250 version);\n  none given: any partner.\n"
		"  --security-version: the minimum security version (0 to "
		"4294967295,\n  default 0); a controller that confirmed a "
		"higher one refuses this\n  bundle, even with force.\n");
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "version", required_argument, NULL, 'v' },
		{ "model", required_argument, NULL, 'm' },
		{ "component", required_argument, NULL, 'c' },
		{ "executable", required_argument, NULL, 'x' },
		{ "build-date", required_argument, NULL, 'd' },
		{ "partner-compat", required_argument, NULL, 'P' },
		{ "security-version", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_create_spec spec;
	const char *out = NULL, *exec[BUNDLE_COMPONENTS_MAX];
	size_t nexec = 0, i, j;
	struct err e;
	int c;

	memset(&spec, 0, sizeof(spec));
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': spec.key_path = optarg; break;
		case 'v': spec.version = optarg; break;
		case 'd': spec.build_date = optarg; break;
		case 'o': out = optarg; break;
		case 'm':
			if (spec.nmodels == BUNDLE_MODELS_MAX) {
				tool_usage_error("at most %d models",
						 BUNDLE_MODELS_MAX);
				return TOOL_EXIT_USAGE;
			}
			spec.models[spec.nmodels++] = optarg;
			break;
		case 'c':
			if (spec.ncomponents == BUNDLE_COMPONENTS_MAX - 1) {
				tool_usage_error("at most %d components",
						 BUNDLE_COMPONENTS_MAX - 1);
				return TOOL_EXIT_USAGE;
			}
			if (component_arg(optarg,
					  &spec.components[spec.ncomponents]) <
			    0) {
				tool_usage_error("--component wants "
						 "NAME=VERSION:FILE, not '%s'",
						 optarg);
				return TOOL_EXIT_USAGE;
			}
			spec.ncomponents++;
			break;
		case 'P':
			if (spec.npartner_compat == BUNDLE_PARTNER_COMPAT_MAX) {
				tool_usage_error("at most %d --partner-compat",
						 BUNDLE_PARTNER_COMPAT_MAX);
				return TOOL_EXIT_USAGE;
			}
			spec.partner_compat[spec.npartner_compat++] = optarg;
			break;
		case 'S':
			if (security_version_arg(optarg,
						 &spec.security_version) < 0) {
				tool_usage_error("--security-version wants an "
						 "integer from 0 to %llu, not "
						 "'%s'", (unsigned long long)
						 BUNDLE_SECURITY_VERSION_MAX,
						 optarg);
				return TOOL_EXIT_USAGE;
			}
			break;
		case 'x':
			if (nexec < BUNDLE_COMPONENTS_MAX)
				exec[nexec++] = optarg;
			break;
		case 'h':
			create_usage(stdout);
			return TOOL_EXIT_OK;
		default:
			create_usage(stderr);
			return TOOL_EXIT_USAGE;
		}
	}
	if (!spec.key_path || !spec.version || !out || optind != argc) {
		create_usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	for (i = 0; i < nexec; i++) {
		for (j = 0; j < spec.ncomponents; j++)
			if (!strcmp(spec.components[j].name, exec[i]))
				break;
		if (j == spec.ncomponents) {
			tool_usage_error("--executable %s: no such component",
					 exec[i]);
			return TOOL_EXIT_USAGE;
		}
		spec.components[j].flags |= BUNDLE_FLAG_EXECUTABLE;
	}
	if (bundle_create(&spec, out, &e) < 0)
		return bundle_fail(&e);
	printf("wrote %s (bundle %s, %zu components)\n", out, spec.version,
	       spec.ncomponents + 1);
	return TOOL_EXIT_OK;
}

static void manifest_print_table(const struct bundle_manifest *m,
				 bool checked)
{
	size_t i;

	printf("Bundle Version: %s\n", m->version);
	printf("Build Date: %s\n", m->build_date);
	printf("Format: %d\n", m->format);
	printf("Models:");
	for (i = 0; i < m->nmodels; i++)
		printf(" %s", m->models[i]);
	printf("\nPartner Compatibility:");
	for (i = 0; i < m->npartner_compat; i++)
		printf(" %s", m->partner_compat[i]);
	printf("%s\n", m->npartner_compat ? "" : " any partner version");
	printf("Security Version: %u\n", m->security_version);
	printf("Signed By Key: %s%s\n\n", m->key_id[0] ? m->key_id : "?",
	       checked ? "" : " (signature not checked)");
	printf("%-12s %-16s %12s  %-64s %s\n", "Component", "Version",
	       "Size", "SHA-256", "Flags");
	for (i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];
		char hex[65];

		hex_encode(c->sha256, 32, hex);
		printf("%-12s %-16s %12llu  %s %s\n", c->name, c->version,
		       (unsigned long long)c->size, hex,
		       (c->flags & BUNDLE_FLAG_EXECUTABLE) ? "executable"
							   : "-");
	}
}

static void manifest_print_json(const struct bundle_manifest *m,
				const char *verdict)
{
	struct buf text;
	struct err e;
	json_t *root;

	buf_init(&text, BUNDLE_MANIFEST_MAX);
	if (bundle_manifest_render(m, &text, &e) == 0) {
		root = json_loads(text.data, 0, NULL);
		if (root) {
			json_object_set_new(root, "key_id",
					    json_string(m->key_id));
			json_object_set_new(root, "security_version",
					    json_integer(m->security_version));
			json_object_set_new(root, "verdict",
					    json_string(verdict));
			json_dumpf(root, stdout,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(root);
		}
	}
	buf_free(&text);
}

static int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_verify_config cfg = { .unsigned_ok = true };
	struct bundle_manifest m;
	bool json = false;
	struct err e;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else {
			printf("usage: tandem bundle inspect [--json] FILE\n");
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		tool_usage_error("bundle inspect: needs one FILE");
		return TOOL_EXIT_USAGE;
	}
	/* Every hash is checked; only the signature needs the key. */
	if (bundle_verify_file(argv[optind], &cfg, NULL, NULL, &m, &e) < 0)
		return bundle_fail(&e);
	if (json)
		manifest_print_json(&m, "intact, signature not checked");
	else {
		manifest_print_table(&m, false);
		printf("\nIntegrity: every component matches its sha256; "
		       "signature not checked (use 'tandem bundle verify')\n");
	}
	return TOOL_EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "revoked", required_argument, NULL, 'r' },
		{ "model", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bundle_verify_config cfg = { 0 };
	struct bundle_keyring kr = { .nkeys = 0 };
	struct bundle_manifest m;
	bool json = false, have_key = false;
	struct err e;
	int c;

	while ((c = getopt_long(argc, argv, "p:r:m:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (bundle_keyring_add_path(&kr, optarg, &e) < 0)
				return bundle_fail(&e);
			have_key = true;
			break;
		case 'r':
			if (bundle_keyring_revoke_file(&kr, optarg, &e) < 0)
				return bundle_fail(&e);
			break;
		case 'm': cfg.model = optarg; break;
		case 'j': json = true; break;
		default:
			printf("usage: tandem bundle verify --pubkey KEY|KEYDIR "
			       "[--revoked FILE] [--model MODEL] [--json] "
			       "FILE\n  a KEYDIR's own revocation list "
			       "(KEYDIR/revoked) applies too\n");
			return c == 'h' ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
		}
	}
	if (!have_key || optind != argc - 1) {
		tool_usage_error("bundle verify: needs --pubkey and one FILE");
		return TOOL_EXIT_USAGE;
	}
	cfg.keys = &kr;
	if (bundle_verify_file(argv[optind], &cfg, NULL, NULL, &m, &e) < 0)
		return bundle_fail(&e);
	if (json) {
		manifest_print_json(&m, "verified");
	} else {
		manifest_print_table(&m, true);
		printf("\nVerified: signature by key %s, every component's "
		       "size and sha256%s%s\n", m.key_id,
		       cfg.model ? ", model " : "",
		       cfg.model ? cfg.model : "");
	}
	return TOOL_EXIT_OK;
}

static const struct tool_command bundle_commands[] = {
	{ "keygen", cmd_keygen, "make an Ed25519 signing key pair" },
	{ "keyid", cmd_keyid, "print the key id of public key files" },
	{ "create", cmd_create, "write a signed bundle" },
	{ "inspect", cmd_inspect, "show a bundle's manifest (no key needed)" },
	{ "verify", cmd_verify, "check signature, hashes, sizes and model" },
};

int tool_bundle(int argc, char **argv)
{
	return tool_dispatch("bundle", "SUBCOMMAND [ARGS...]", bundle_commands,
			     ARRAY_SIZE(bundle_commands), argc, argv);
}
