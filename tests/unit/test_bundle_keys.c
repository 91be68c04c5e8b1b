/*
 * test_bundle_keys.c: the manifest's security_version, the trust store's
 * key selection by id (several keys, rotation), and the revocation list:
 * a revoked key is refused even while its public key is trusted, and a
 * list that cannot be read makes the keyring refuse everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"

#define SHA "\"sha256\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\""
#define HEAD "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": \"d\", " \
	     "\"models\": [\"2324sa\"], \"components\": [{\"name\": \"mc\", " \
	     "\"version\": \"V1\", \"size\": 5, " SHA "}]"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_bundle_keys.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(dir);
	return 0;
}

static int parse(const char *text, struct bundle_manifest *m, struct err *e)
{
	return bundle_manifest_parse((const uint8_t *)text, strlen(text), m, e);
}

static void test_security_version_field(void **state)
{
	static const struct {
		const char *tail;
		int rc;
		uint32_t value;
	} cases[] = {
		{ "}", 0, 0 },				/* absent: 0 */
		{ ", \"security_version\": 0}", 0, 0 },
		{ ", \"security_version\": 7}", 0, 7 },
		{ ", \"security_version\": 4294967295}", 0, UINT32_MAX },
		{ ", \"security_version\": 4294967296}", BUNDLE_ERR_MANIFEST,
		  0 },
		{ ", \"security_version\": -1}", BUNDLE_ERR_MANIFEST, 0 },
		{ ", \"security_version\": \"7\"}", BUNDLE_ERR_MANIFEST, 0 },
		{ ", \"security_version\": 7.0}", BUNDLE_ERR_MANIFEST, 0 },
		{ ", \"security_version\": null}", BUNDLE_ERR_MANIFEST, 0 },
		{ ", \"security_version\": 1, \"security_version\": 2}",
		  BUNDLE_ERR_MANIFEST, 0 },
	};
	struct bundle_manifest m;
	char text[1024];
	struct err e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "%s%s", HEAD, cases[i].tail);
		assert_int_equal(parse(text, &m, &e), cases[i].rc);
		if (cases[i].rc == 0)
			assert_true(m.security_version == cases[i].value);
		else
			assert_non_null(strstr(e.msg, "security_version") ?
					e.msg : strstr(e.msg, "JSON"));
	}
}

/* Rendered only when not 0, so older builds read a 0 bundle as before. */
static void test_security_version_render(void **state)
{
	struct bundle_manifest m, back;
	struct buf out;
	struct err e;

	(void)state;
	buf_init(&out, BUNDLE_MANIFEST_MAX);
	assert_int_equal(parse(HEAD "}", &m, &e), 0);
	assert_int_equal(bundle_manifest_render(&m, &out, &e), 0);
	assert_null(strstr(out.data, "security_version"));
	m.security_version = 12;
	assert_int_equal(bundle_manifest_render(&m, &out, &e), 0);
	assert_non_null(strstr(out.data, "\"security_version\": 12"));
	assert_int_equal(bundle_manifest_parse((uint8_t *)out.data, out.len,
					       &back, &e), 0);
	assert_int_equal(back.security_version, 12);
	buf_free(&out);
}

/* Keys k0..k2 in dir/k<i>/, public keys copied into dir/trust/. */
static void make_key(int i, char id[BUNDLE_KEY_ID_LEN + 1])
{
	char kd[128], pub[160];
	struct err e;

	snprintf(kd, sizeof(kd), "%s/k%d", dir, i);
	assert_int_equal(bundle_key_generate(kd, &e), 0);
	snprintf(pub, sizeof(pub), "%s/bundle.pub", kd);
	assert_int_equal(bundle_key_file_id(pub, id, &e), 0);
}

static void trust_key(int i, const char *as)
{
	char from[160], to[160];
	struct buf b;
	struct err e;

	snprintf(from, sizeof(from), "%s/k%d/bundle.pub", dir, i);
	snprintf(to, sizeof(to), "%s/trust/%s", dir, as);
	buf_init(&b, 4096);
	assert_int_equal(fs_read_file(from, 4096, &b, &e), 0);
	snprintf(from, sizeof(from), "%s/trust", dir);
	assert_int_equal(fs_mkdir_p(from, 0755, &e), 0);
	assert_int_equal(fs_atomic_write(to, b.data, b.len, 0644, &e), 0);
	buf_free(&b);
}

/* manifest.sig for HEAD "}" made with key i. */
static void sign(int i, struct buf *sig)
{
	const char *text = HEAD "}";
	char key[160];
	struct err e;

	snprintf(key, sizeof(key), "%s/k%d/bundle.key", dir, i);
	assert_int_equal(bundle_signature_make(key, (const uint8_t *)text,
					       strlen(text), sig, &e), 0);
}

static int check(const struct bundle_keyring *kr, const struct buf *sig,
		 char id[BUNDLE_KEY_ID_LEN + 1], struct err *e)
{
	const char *text = HEAD "}";

	return bundle_signature_check(kr, (const uint8_t *)text, strlen(text),
				      (const uint8_t *)sig->data, sig->len,
				      id, e);
}

static void load_trust(struct bundle_keyring *kr, int rc_expected)
{
	char trust[128];
	struct err e;

	memset(kr, 0, sizeof(*kr));
	snprintf(trust, sizeof(trust), "%s/trust", dir);
	assert_int_equal(bundle_keyring_add_dir(kr, trust, &e), rc_expected);
}

/* Rotation: old and new key trusted side by side; each bundle is checked
 * with the key its signature names, and only that one. */
static void test_key_selected_by_id(void **state)
{
	char ids[3][BUNDLE_KEY_ID_LEN + 1], got[BUNDLE_KEY_ID_LEN + 1];
	struct bundle_keyring kr;
	struct buf sig;
	struct err e;
	char *at;

	(void)state;
	for (int i = 0; i < 3; i++)
		make_key(i, ids[i]);
	assert_string_not_equal(ids[0], ids[1]);
	trust_key(0, "old.pub");
	trust_key(1, "new.pub");
	trust_key(1, "new-copy.pub");	/* the same key twice: one entry */
	load_trust(&kr, 0);
	assert_int_equal(kr.nkeys, 2);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	for (int i = 0; i < 2; i++) {
		sign(i, &sig);
		assert_int_equal(check(&kr, &sig, got, &e), 0);
		assert_string_equal(got, ids[i]);
	}
	/* Not in the store: unknown-key, naming it. */
	sign(2, &sig);
	assert_int_equal(check(&kr, &sig, got, &e), BUNDLE_ERR_UNKNOWN_KEY);
	assert_non_null(strstr(e.msg, ids[2]));
	/* Made with key 1 but naming key 0: only key 0 is tried, so it
	 * fails, although key 1 (trusted) would verify it. */
	sign(1, &sig);
	at = strstr(sig.data, ids[1]);
	assert_non_null(at);
	memcpy(at, ids[0], BUNDLE_KEY_ID_LEN);
	assert_int_equal(check(&kr, &sig, got, &e), BUNDLE_ERR_SIGNATURE);
	assert_non_null(strstr(e.msg, ids[0]));
	buf_free(&sig);
}

static void write_revoked(const char *text)
{
	char path[160];
	struct err e;

	snprintf(path, sizeof(path), "%s/trust/%s", dir, BUNDLE_REVOKED_FILE);
	assert_int_equal(fs_atomic_write(path, text, strlen(text), 0644, &e),
			 0);
}

/* A revoked key is refused although its public key is still trusted. */
static void test_revoked_key_refused(void **state)
{
	char ids[2][BUNDLE_KEY_ID_LEN + 1], got[BUNDLE_KEY_ID_LEN + 1];
	char list[256], want[64];
	struct bundle_keyring kr;
	struct buf sig;
	struct err e;

	(void)state;
	make_key(0, ids[0]);
	make_key(1, ids[1]);
	trust_key(0, "old.pub");
	trust_key(1, "new.pub");
	snprintf(list, sizeof(list), "# revoked 2026-12-01\n\n%s laptop "
		 "lost\n", ids[0]);
	write_revoked(list);
	load_trust(&kr, 0);
	assert_int_equal(kr.nkeys, 2);
	assert_int_equal(kr.nrevoked, 1);
	assert_true(bundle_keyring_is_revoked(&kr, ids[0]));
	assert_false(bundle_keyring_is_revoked(&kr, ids[1]));
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	sign(0, &sig);
	assert_int_equal(check(&kr, &sig, got, &e), BUNDLE_ERR_REVOKED_KEY);
	snprintf(want, sizeof(want), "signed by revoked key %s", ids[0]);
	assert_non_null(strstr(e.msg, want));
	assert_string_equal(bundle_error_name(BUNDLE_ERR_REVOKED_KEY),
			    "revoked-key");
	assert_int_equal(bundle_error_exit_code(BUNDLE_ERR_REVOKED_KEY), 34);
	sign(1, &sig);
	assert_int_equal(check(&kr, &sig, got, &e), 0);
	buf_free(&sig);
}

static void test_revocation_list_format(void **state)
{
	static const struct {
		const char *text;
		int rc;
		size_t n;
	} cases[] = {
		{ "", 0, 0 },
		{ "# none yet\n", 0, 0 },
		{ "0123456789abcdef\n", 0, 1 },
		{ "0123456789abcdef", 0, 1 },		/* no final newline */
		{ "0123456789abcdef\tnote\n", 0, 1 },
		{ "0123456789abcdef\n0123456789abcdef\n", 0, 1 },
		{ "0123456789ABCDEF\n", BUNDLE_ERR_KEY, 0 },
		{ "0123456789abcde\n", BUNDLE_ERR_KEY, 0 },
		{ "0123456789abcdef0\n", BUNDLE_ERR_KEY, 0 },
		{ " 0123456789abcdef\n", BUNDLE_ERR_KEY, 0 },
		{ "0123456789abcdeg\n", BUNDLE_ERR_KEY, 0 },
	};
	struct bundle_keyring kr;
	struct err e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&kr, 0, sizeof(kr));
		assert_int_equal(bundle_keyring_revoke_text(&kr,
			cases[i].text, strlen(cases[i].text), "t", &e),
			cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(kr.nrevoked, cases[i].n);
			assert_string_equal(kr.broken, "");
		} else {
			assert_non_null(strstr(e.msg, "line 1"));
			assert_string_not_equal(kr.broken, "");
		}
	}
}

/* BUNDLE_REVOKED_MAX ids: just under, at and just over. */
static void test_revocation_list_limit(void **state)
{
	struct bundle_keyring kr;
	char text[(BUNDLE_REVOKED_MAX + 1) * 17 + 1];
	struct err e;

	(void)state;
	for (int n = BUNDLE_REVOKED_MAX - 1; n <= BUNDLE_REVOKED_MAX + 1;
	     n++) {
		size_t len = 0;

		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
						"%016x\n", i);
		memset(&kr, 0, sizeof(kr));
		assert_int_equal(bundle_keyring_revoke_text(&kr, text, len,
							    "t", &e),
				 n <= BUNDLE_REVOKED_MAX ? 0 :
				 BUNDLE_ERR_TOO_LARGE);
	}
}

/* A list that cannot be read: no bundle is accepted, with the reason. */
static void test_broken_list_refuses_everything(void **state)
{
	char id[BUNDLE_KEY_ID_LEN + 1], got[BUNDLE_KEY_ID_LEN + 1];
	char pub[160];
	struct bundle_keyring kr;
	struct buf sig;
	struct err e;

	(void)state;
	make_key(0, id);
	trust_key(0, "k.pub");
	write_revoked("not a key id\n");
	load_trust(&kr, BUNDLE_ERR_KEY);
	assert_int_equal(kr.nkeys, 0);	/* the list is read first */
	/* Even a keyring that went on to hold the key refuses. */
	snprintf(pub, sizeof(pub), "%s/trust/k.pub", dir);
	assert_int_equal(bundle_keyring_add_file(&kr, pub, &e), 0);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	sign(0, &sig);
	assert_int_equal(check(&kr, &sig, got, &e), BUNDLE_ERR_KEY);
	assert_non_null(strstr(e.msg, "trust store is unusable"));
	buf_free(&sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_security_version_field),
		cmocka_unit_test(test_security_version_render),
		cmocka_unit_test_setup_teardown(test_key_selected_by_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_revoked_key_refused,
						setup, teardown),
		cmocka_unit_test(test_revocation_list_format),
		cmocka_unit_test(test_revocation_list_limit),
		cmocka_unit_test_setup_teardown(
			test_broken_list_refuses_everything, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
