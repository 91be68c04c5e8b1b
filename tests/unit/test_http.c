/*
 * test_http.c: the pure parts of src/http: the router (path to command
 * words, login digests, static paths), the datatype header, the session
 * table's keys and expiry; and config's digest login (the verifiers made
 * when a password is set, and its lockout accounting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "config/config.h"
#include "http/http.h"

static int route(const char *method, const char *path, struct http_route *r)
{
	char why[256];

	return http_route_parse(method, path, r, why, sizeof(why));
}

static void test_route_command_words(void **state)
{
	struct http_route r;

	(void)state;
	assert_int_equal(route("GET", "/api/show/versions", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_COMMAND);
	assert_string_equal(r.line, "show versions");
	/* Empty segments and a trailing slash are not words. */
	assert_int_equal(route("GET", "//api/show//versions/detail/", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_STATIC);
	assert_int_equal(route("GET", "/api//show//versions/detail/", &r), 0);
	assert_string_equal(r.line, "show versions detail");
	assert_int_equal(route("GET", "/api/set/protocols/ftp/enabled", &r), 0);
	assert_string_equal(r.line, "set protocols ftp enabled");
	/* A word with a space is quoted for the CLI lexer. */
	assert_int_equal(route("GET", "/api/create/user/password/a b/x", &r),
			 0);
	assert_string_equal(r.line, "create user password \"a b\" x");
	assert_int_equal(route("POST", "/API/show/system", &r), 0);
	assert_string_equal(r.line, "show system");
}

static void test_route_refusals(void **state)
{
	struct http_route r;
	char path[HTTP_URL_MAX + 16];

	(void)state;
	assert_int_equal(route("GET", "/api/show/\"x", &r), HTTP_ROUTE_BAD_PATH);
	assert_int_equal(route("GET", "/api/show/a\x01", &r),
			 HTTP_ROUTE_BAD_PATH);
	assert_int_equal(route("GET", "/api/", &r), HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("GET", "/api", &r), HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("DELETE", "/api/show/versions", &r),
			 HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route("GET", "relative", &r), HTTP_ROUTE_BAD_PATH);
	assert_int_equal(route("GET", NULL, &r), HTTP_ROUTE_BAD_PATH);
	/* The length limit: a path of HTTP_URL_MAX bytes is taken, one
	 * byte more is not. */
	memset(path, 'a', sizeof(path));
	memcpy(path, "/api/", 5);
	path[HTTP_URL_MAX] = '\0';
	assert_int_equal(route("GET", path, &r), 0);
	assert_int_equal(strlen(r.line), HTTP_URL_MAX - 5);
	path[HTTP_URL_MAX] = 'a';
	path[HTTP_URL_MAX + 1] = '\0';
	assert_int_equal(route("GET", path, &r), HTTP_ROUTE_BAD_PATH);
	/* Quoting a word may make the line longer than the path. */
	for (size_t i = 5; i + 4 <= HTTP_URL_MAX; i += 4)
		memcpy(path + i, "a b/", 4);
	path[HTTP_URL_MAX - 3] = '\0';
	assert_int_equal(route("GET", path, &r), HTTP_ROUTE_BAD_PATH);
	path[400] = '\0';
	assert_int_equal(route("GET", path, &r), 0);
}

static void test_route_login_logout(void **state)
{
	static const char md5[] = "539E12F63B693A9970A97B885E857F8B";
	struct http_route r;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "/api/login/%s", md5);
	assert_int_equal(route("GET", path, &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_LOGIN);
	assert_string_equal(r.arg, "539e12f63b693a9970a97b885e857f8b");
	snprintf(path, sizeof(path), "/api/login/%064d", 7);
	assert_int_equal(route("GET", path, &r), 0);
	assert_int_equal(strlen(r.arg), 64);
	/* Neither 32 nor 64 hex digits, a non-hex digit, a second segment. */
	assert_int_equal(route("GET", "/api/login/abc", &r),
			 HTTP_ROUTE_BAD_DIGEST);
	snprintf(path, sizeof(path), "/api/login/%031dg", 0);
	assert_int_equal(route("GET", path, &r), HTTP_ROUTE_BAD_DIGEST);
	snprintf(path, sizeof(path), "/api/login/%033d", 0);
	assert_int_equal(route("GET", path, &r), HTTP_ROUTE_BAD_DIGEST);
	snprintf(path, sizeof(path), "/api/login/%032d/x", 0);
	assert_int_equal(route("GET", path, &r), HTTP_ROUTE_BAD_DIGEST);
	assert_int_equal(route("GET", "/api/login", &r), HTTP_ROUTE_BAD_DIGEST);

	assert_int_equal(route("GET", "/api/exit", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_EXIT);
	assert_int_equal(route("GET", "/api/logout", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_LOGOUT);
	assert_string_equal(r.arg, "");
	assert_int_equal(route("GET", "/api/logout/0123abcd", &r), 0);
	assert_string_equal(r.arg, "0123abcd");
	assert_int_equal(route("GET", "/api/logout/a/b", &r),
			 HTTP_ROUTE_BAD_PATH);
}

static void test_route_firmware_and_static(void **state)
{
	struct http_route r;

	(void)state;
	assert_int_equal(route("PUT", "/firmware/bundle", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_FW_BUNDLE);
	assert_int_equal(route("POST", "/firmware/bundle", &r), 0);
	assert_int_equal(route("GET", "/firmware/bundle", &r),
			 HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route("GET", "/firmware/progress", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_FW_PROGRESS);
	assert_int_equal(route("PUT", "/firmware/progress", &r),
			 HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route("GET", "/firmware/other", &r),
			 HTTP_ROUTE_NOT_FOUND);

	assert_int_equal(route("GET", "/", &r), 0);
	assert_int_equal(r.kind, HTTP_ROUTE_STATIC);
	assert_string_equal(r.file, "index.html");
	assert_int_equal(route("GET", "/css/app.css", &r), 0);
	assert_string_equal(r.file, "css/app.css");
	assert_int_equal(route("HEAD", "/img/", &r), 0);
	assert_string_equal(r.file, "img/index.html");
	assert_int_equal(route("GET", "/../etc/passwd", &r),
			 HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("GET", "/a/../../b", &r), HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("GET", "/.git/config", &r),
			 HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("GET", "/a\\b", &r), HTTP_ROUTE_NOT_FOUND);
	assert_int_equal(route("POST", "/index.html", &r),
			 HTTP_ROUTE_BAD_METHOD);
	assert_string_equal(http_content_type("index.html"),
			    "text/html; charset=utf-8");
	assert_string_equal(http_content_type("a/app.JS"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(http_content_type("x.bin"),
			    "application/octet-stream");
}

/* Every prefix of a valid path routes without a crash and fills why. */
static void test_route_every_prefix(void **state)
{
	static const char path[] = "/api/set/protocols/ftp/enabled";
	char buf[sizeof(path)], why[256];
	struct http_route r;

	(void)state;
	for (size_t n = 0; n < sizeof(path); n++) {
		int rc;

		memcpy(buf, path, n);
		buf[n] = '\0';
		why[0] = '\0';
		rc = http_route_parse("GET", buf, &r, why, sizeof(why));
		assert_true(rc == 0 || why[0] != '\0');
	}
}

static void test_datatype(void **state)
{
	static const struct {
		const char *text;
		int rc;
		enum cli_output_mode mode;
	} cases[] = {
		{ NULL, 0, CLI_OUTPUT_API }, { "", 0, CLI_OUTPUT_API },
		{ "api", 0, CLI_OUTPUT_API }, { "API", 0, CLI_OUTPUT_API },
		{ "xml", 0, CLI_OUTPUT_API }, { "ipa", 0, CLI_OUTPUT_API },
		{ "api-embed", 0, CLI_OUTPUT_API_EMBED },
		{ "Api-Embed", 0, CLI_OUTPUT_API_EMBED },
		{ "json", 0, CLI_OUTPUT_JSON }, { "JSON", 0, CLI_OUTPUT_JSON },
		{ "console", -1, 0 }, { "jsonx", -1, 0 }, { "api ", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum cli_output_mode mode = CLI_OUTPUT_CONSOLE;

		assert_int_equal(http_datatype_parse(cases[i].text, &mode),
				 cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(mode, cases[i].mode);
	}
}

static int64_t fake_seconds = 100;

static int64_t fake_monotonic(void)
{
	return fake_seconds;
}

static void test_sessions_expiry(void **state)
{
	struct http_sessions *t = http_sessions_new(60, fake_monotonic);
	struct http_session_info info;
	char a[HTTP_KEY_TEXT], b[HTTP_KEY_TEXT];

	(void)state;
	fake_seconds = 100;
	assert_int_equal(http_sessions_create(t, "manage", CLI_ROLE_MANAGE, a),
			 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(http_sessions_create(t, "monitor", CLI_ROLE_MONITOR,
					      b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(http_sessions_use(t, a, &info), HTTP_SESSION_OK);
	assert_string_equal(info.user, "manage");
	assert_int_equal(info.role, CLI_ROLE_MANAGE);
	/* Activity resets the idle timer: b idles, a does not. */
	fake_seconds = 159;
	assert_int_equal(http_sessions_use(t, a, &info), HTTP_SESSION_OK);
	fake_seconds = 160;
	assert_int_equal(http_sessions_use(t, b, &info), HTTP_SESSION_EXPIRED);
	assert_int_equal(http_sessions_use(t, a, &info), HTTP_SESSION_OK);
	assert_int_equal(http_sessions_count(t), 1);
	fake_seconds = 220;
	assert_int_equal(http_sessions_use(t, a, &info), HTTP_SESSION_EXPIRED);
	/* Unknown keys, wrong lengths. */
	assert_int_equal(http_sessions_use(t, "00000000000000000000000000000000",
					   &info), HTTP_SESSION_UNKNOWN);
	assert_int_equal(http_sessions_use(t, "", &info), HTTP_SESSION_UNKNOWN);
	a[31] = '\0';
	assert_int_equal(http_sessions_use(t, a, &info), HTTP_SESSION_UNKNOWN);
	http_sessions_free(t);
}

static void test_sessions_end_and_full(void **state)
{
	struct http_sessions *t = http_sessions_new(600, fake_monotonic);
	struct http_session_info info;
	char keys[HTTP_SESSIONS_MAX + 1][HTTP_KEY_TEXT];

	(void)state;
	fake_seconds = 1000;
	for (size_t i = 0; i < HTTP_SESSIONS_MAX; i++) {
		fake_seconds++;
		assert_int_equal(http_sessions_create(t, "u", CLI_ROLE_MONITOR,
						      keys[i]), 0);
	}
	assert_int_equal(http_sessions_count(t), HTTP_SESSIONS_MAX);
	/* Key 0 is used again: key 1 is now the least recently used. */
	fake_seconds++;
	assert_int_equal(http_sessions_use(t, keys[0], &info),
			 HTTP_SESSION_OK);
	fake_seconds++;
	assert_int_equal(http_sessions_create(t, "v", CLI_ROLE_MANAGE,
					      keys[HTTP_SESSIONS_MAX]), 0);
	assert_int_equal(http_sessions_count(t), HTTP_SESSIONS_MAX);
	assert_int_equal(http_sessions_use(t, keys[1], &info),
			 HTTP_SESSION_UNKNOWN);
	assert_int_equal(http_sessions_use(t, keys[0], &info),
			 HTTP_SESSION_OK);
	assert_int_equal(http_sessions_end(t, keys[0]), 0);
	assert_int_equal(http_sessions_end(t, keys[0]), -ENOENT);
	assert_int_equal(http_sessions_use(t, keys[0], &info),
			 HTTP_SESSION_UNKNOWN);
	assert_int_equal(http_sessions_end_user(t, "u"),
			 HTTP_SESSIONS_MAX - 2);
	assert_int_equal(http_sessions_count(t), 1);
	http_sessions_free(t);
}

/* ---- config's digest login ---- */

static time_t fake_now = 5000;

static time_t fake_clock(void)
{
	return fake_now;
}

static void no_sleep(unsigned ms)
{
	(void)ms;
}

static void digest(const char *text, bool sha256, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_true(EVP_Digest(text, strlen(text), md, &n,
			       sha256 ? EVP_sha256() : EVP_md5(), NULL));
	hex_encode(md, n, out);
}

struct cfg_fixture {
	char dir[64];
	struct config *cfg;
};

static int cfg_setup(void **state)
{
	struct cfg_fixture *f = calloc(1, sizeof(*f));
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-http-XXXXXX");
	if (!f || !mkdtemp(f->dir) ||
	    config_open(f->dir, NULL, &f->cfg, &e) < 0)
		return -1;
	config_auth_set_clock(f->cfg, fake_clock);
	config_auth_set_sleep(f->cfg, no_sleep);
	*state = f;
	return 0;
}

static int cfg_teardown(void **state)
{
	struct cfg_fixture *f = *state;

	config_close(f->cfg);
	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

static void test_digest_login(void **state)
{
	struct cfg_fixture *f = *state;
	char md5[65], sha[65], user[CONFIG_USER_NAME_MAX];
	struct config_user u;
	unsigned roles = 0;
	struct err e;

	config_user_defaults(&u, "ops", CONFIG_ROLE_MONITOR);
	assert_int_equal(config_user_create(f->cfg, &u, "Secret#12", &e), 0);
	digest("ops_Secret#12", false, md5);
	digest("ops_Secret#12", true, sha);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e), 0);
	assert_string_equal(user, "ops");
	assert_int_equal(roles, CONFIG_ROLE_MONITOR);
	assert_int_equal(config_auth_login_digest(f->cfg, sha,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e), 0);
	/* Upper-case hex is the router's to fold; here it is a mismatch. */
	sha[0] = sha[0] == 'a' ? 'b' : 'a';
	assert_int_equal(config_auth_login_digest(f->cfg, sha,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e),
		CONFIG_ERR_AUTH);
	assert_string_equal(e.msg, "Authentication Unsuccessful");
	assert_int_equal(config_auth_login_digest(f->cfg, "abc",
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e),
		CONFIG_ERR_AUTH);
	/* The right digest on an interface the user lacks. */
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_FTP, "10.0.0.1", user, &roles, &e),
		CONFIG_ERR_INTERFACE);
	/* A new password: the old digests fail, the new ones work. */
	assert_int_equal(config_user_set_password(f->cfg, "ops", "Other#345",
						  &e), 0);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e),
		CONFIG_ERR_AUTH);
	digest("ops_Other#345", false, md5);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e), 0);
	/* No digest or password equivalent is stored in the clear. */
	{
		char path[128];
		struct buf b;

		snprintf(path, sizeof(path), "%s/users.json", f->dir);
		buf_init(&b, 1 << 20);
		assert_int_equal(fs_read_file(path, 1 << 20, &b, &e), 0);
		assert_null(strstr(b.data, md5));
		assert_null(strstr(b.data, "Other#345"));
		assert_non_null(strstr(b.data, "\"wbi-md5\": \"$y$"));
		assert_non_null(strstr(b.data, "\"wbi-sha256\": \"$y$"));
		buf_free(&b);
	}
}

static void test_digest_lockout(void **state)
{
	struct cfg_fixture *f = *state;
	char md5[65], user[CONFIG_USER_NAME_MAX];
	struct config_user u;
	unsigned roles;
	struct err e;

	assert_int_equal(config_set_text(f->cfg, "login-lockout-threshold",
					 "3", &e), 0);
	config_user_defaults(&u, "ops", CONFIG_ROLE_MANAGE);
	assert_int_equal(config_user_create(f->cfg, &u, "Secret#12", &e), 0);
	digest("ops_Secret#12", false, md5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(config_auth_login_digest(f->cfg,
			"00000000000000000000000000000000", CONFIG_IFACE_WBI,
			"10.0.0.9", user, &roles, &e), CONFIG_ERR_AUTH);
	/* Locked: even the right digest is refused from there, and the
	 * same counters hold for a password login from that source. */
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.9", user, &roles, &e),
		CONFIG_ERR_LOCKED_OUT);
	assert_int_equal(config_auth_login(f->cfg, "ops", "Secret#12",
		CONFIG_IFACE_CLI, "10.0.0.9", &roles, &e),
		CONFIG_ERR_LOCKED_OUT);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.10", user, &roles, &e), 0);
	fake_now += 3600;
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.9", user, &roles, &e), 0);
}

/* A user stored before verifiers existed (no wbi-* members) loads, and
 * cannot log in by digest until the password is set again. */
static void test_digest_missing_verifiers(void **state)
{
	struct cfg_fixture *f = *state;
	char md5[65], user[CONFIG_USER_NAME_MAX], path[128];
	struct config_user u;
	unsigned roles;
	struct buf b;
	struct err e;
	json_t *j;

	config_user_defaults(&u, "old", CONFIG_ROLE_MANAGE);
	assert_int_equal(config_user_create(f->cfg, &u, "Secret#12", &e), 0);
	config_close(f->cfg);
	f->cfg = NULL;
	snprintf(path, sizeof(path), "%s/users.json", f->dir);
	buf_init(&b, 1 << 20);
	assert_int_equal(fs_read_file(path, 1 << 20, &b, &e), 0);
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	buf_free(&b);
	json_object_del(json_array_get(json_object_get(j, "users"), 0),
			"wbi-md5");
	json_object_del(json_array_get(json_object_get(j, "users"), 0),
			"wbi-sha256");
	json_object_del(j, "checksum");
	{
		/* The file's checksum: CRC32C of the compact sorted dump. */
		char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		char sum[16], *out;

		snprintf(sum, sizeof(sum), "%08x",
			 crc32c(0, text, strlen(text)));
		free(text);
		json_object_set_new(j, "checksum", json_string(sum));
		out = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		assert_int_equal(fs_atomic_write(path, out, strlen(out), 0600,
						 &e), 0);
		free(out);
	}
	json_decref(j);
	assert_int_equal(config_open(f->dir, NULL, &f->cfg, &e), 0);
	config_auth_set_clock(f->cfg, fake_clock);
	config_auth_set_sleep(f->cfg, no_sleep);
	assert_null(config_recovery_note(f->cfg) &&
		    config_recovery_note(f->cfg)[0] ? "recovered" : NULL);
	digest("old_Secret#12", false, md5);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e),
		CONFIG_ERR_AUTH);
	assert_int_equal(config_auth_login(f->cfg, "old", "Secret#12",
		CONFIG_IFACE_CLI, "10.0.0.1", &roles, &e), 0);
	assert_int_equal(config_user_set_password(f->cfg, "old", "Secret#12",
						  &e), 0);
	assert_int_equal(config_auth_login_digest(f->cfg, md5,
		CONFIG_IFACE_WBI, "10.0.0.1", user, &roles, &e), 0);
}

/* The HTTPS certificate: made once with a private key, kept while it
 * names the address, made again for another address, refused when the
 * key is readable by others. */
static void test_cert_ensure(void **state)
{
	char dir[64], key[128], crt[128];
	struct buf a, b;
	struct stat st;
	struct err e;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tandem-cert-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/%s", dir, HTTP_KEY_FILE);
	snprintf(crt, sizeof(crt), "%s/%s", dir, HTTP_CERT_FILE);
	assert_int_equal(http_cert_ensure(dir, "127.0.0.2", &e), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_init(&a, 1 << 16);
	buf_init(&b, 1 << 16);
	assert_int_equal(fs_read_file(crt, 1 << 16, &a, &e), 0);
	assert_non_null(strstr(a.data, "BEGIN CERTIFICATE"));
	/* Kept while it names the address. */
	assert_int_equal(http_cert_ensure(dir, "127.0.0.2", &e), 0);
	assert_int_equal(fs_read_file(crt, 1 << 16, &b, &e), 0);
	assert_string_equal(a.data, b.data);
	/* Another address: a new one. */
	buf_reset(&b);
	assert_int_equal(http_cert_ensure(dir, "127.0.0.9", &e), 0);
	assert_int_equal(fs_read_file(crt, 1 << 16, &b, &e), 0);
	assert_string_not_equal(a.data, b.data);
	/* A key others may read is refused, and left as it is. */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(http_cert_ensure(dir, "127.0.0.9", &e), -EPERM);
	assert_non_null(strstr(e.msg, "readable by others"));
	buf_free(&a);
	buf_free(&b);
	fs_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_command_words),
		cmocka_unit_test(test_route_refusals),
		cmocka_unit_test(test_route_login_logout),
		cmocka_unit_test(test_route_firmware_and_static),
		cmocka_unit_test(test_route_every_prefix),
		cmocka_unit_test(test_datatype),
		cmocka_unit_test(test_sessions_expiry),
		cmocka_unit_test(test_sessions_end_and_full),
		cmocka_unit_test(test_cert_ensure),
		cmocka_unit_test_setup_teardown(test_digest_login, cfg_setup,
						cfg_teardown),
		cmocka_unit_test_setup_teardown(test_digest_lockout, cfg_setup,
						cfg_teardown),
		cmocka_unit_test_setup_teardown(test_digest_missing_verifiers,
						cfg_setup, cfg_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
