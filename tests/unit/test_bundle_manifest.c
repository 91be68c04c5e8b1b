/* test_bundle_manifest.c: strict manifest parsing, limits, names, versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bundle/bundle.h"

#define SHA "\"sha256\": \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\""

static int parse(const char *text, struct bundle_manifest *m, struct err *e)
{
	return bundle_manifest_parse((const uint8_t *)text, strlen(text), m, e);
}

static void test_valid_round_trip(void **state)
{
	const char *text =
		"{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": \"d\","
		" \"models\": [\"2324sa\"], \"components\": [{\"name\": \"mc\", "
		"\"version\": \"V1\", \"size\": 5, " SHA
		", \"flags\": [\"executable\"]}]}";
	struct bundle_manifest m, m2;
	struct buf out;
	struct err e;

	(void)state;
	assert_int_equal(parse(text, &m, &e), 0);
	assert_string_equal(m.components[0].name, "mc");
	assert_int_equal(m.components[0].size, 5);
	assert_int_equal(m.components[0].flags, BUNDLE_FLAG_EXECUTABLE);
	assert_int_equal(m.components[0].sha256[1], 0x11);
	buf_init(&out, BUNDLE_MANIFEST_MAX);
	assert_int_equal(bundle_manifest_render(&m, &out, &e), 0);
	assert_int_equal(bundle_manifest_parse((uint8_t *)out.data, out.len,
					       &m2, &e), 0);
	assert_memory_equal(&m, &m2, sizeof(m));
	buf_free(&out);
}

static void test_strictness(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *needle;
	} cases[] = {
		{ "[]", BUNDLE_ERR_MANIFEST, "not a JSON object" },
		{ "{\"version\": \"TS250P003\"}", BUNDLE_ERR_MANIFEST, "format" },
		{ "{\"format\": 3}", BUNDLE_ERR_FORMAT_VERSION, "format 3" },
		{ "{\"format\": 1, \"format\": 1}", BUNDLE_ERR_MANIFEST,
		  "malformed JSON" },
		{ "{\"format\": 1, \"extra\": 1}", BUNDLE_ERR_MANIFEST,
		  "unknown key 'extra'" },
		{ "{\"format\": 1, \"version\": \"1.0\", \"build_date\": \"d\"}",
		  BUNDLE_ERR_MANIFEST, "TS250P003" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [], \"components\": []}",
		  BUNDLE_ERR_MANIFEST, "models" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"a/b\"], \"components\": []}",
		  BUNDLE_ERR_MANIFEST, "model 1" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"../x\", \"version\": \"1\", \"size\": 1, " SHA "}]}",
		  BUNDLE_ERR_BAD_NAME, "bad name" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"manifest.sig\", \"version\": \"1\", \"size\": 1, " SHA "}]}",
		  BUNDLE_ERR_BAD_NAME, "bad name" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": -1, " SHA "}]}",
		  BUNDLE_ERR_MANIFEST, "size" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": 4294967297, " SHA "}]}",
		  BUNDLE_ERR_TOO_LARGE, "over the limit" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": 1, \"sha256\": \"00\"}]}",
		  BUNDLE_ERR_MANIFEST, "64 hex" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": 1, " SHA ", \"flags\": "
		  "[\"setuid\"]}]}", BUNDLE_ERR_MANIFEST, "unknown flag" },
		{ "{\"format\": 1, \"version\": \"TS250P003\", \"build_date\": "
		  "\"d\", \"models\": [\"m\"], \"components\": [{\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": 1, " SHA "}, {\"name\": "
		  "\"mc\", \"version\": \"1\", \"size\": 1, " SHA "}]}",
		  BUNDLE_ERR_DUPLICATE_MEMBER, "listed twice" },
	};
	struct bundle_manifest m;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = parse(cases[i].text, &m, &e);

		if (rc != cases[i].code || !strstr(e.msg, cases[i].needle))
			fail_msg("case %zu: got %s '%s'", i,
				 bundle_error_name(rc), e.msg);
	}
}

/* Components and models: at the limit, and one over. */
static void test_count_limits(void **state)
{
	struct bundle_manifest m;
	struct buf text;
	struct err e;
	size_t n, i;

	(void)state;
	buf_init(&text, BUNDLE_MANIFEST_MAX);
	for (n = BUNDLE_COMPONENTS_MAX - 1; n <= BUNDLE_COMPONENTS_MAX + 1;
	     n++) {
		buf_reset(&text);
		buf_append_str(&text, "{\"format\": 1, \"version\": "
			       "\"TS250P003\", \"build_date\": \"d\", "
			       "\"models\": [\"m\"], \"components\": [");
		for (i = 0; i < n; i++)
			buf_appendf(&text, "%s{\"name\": \"c%zu\", \"version\": "
				    "\"1\", \"size\": 1, " SHA "}",
				    i ? ", " : "", i);
		buf_append_str(&text, "]}");
		assert_int_equal(parse(text.data, &m, &e),
				 n <= BUNDLE_COMPONENTS_MAX
					 ? 0 : BUNDLE_ERR_TOO_LARGE);
	}
	for (n = BUNDLE_MODELS_MAX - 1; n <= BUNDLE_MODELS_MAX + 1; n++) {
		buf_reset(&text);
		buf_append_str(&text, "{\"format\": 1, \"version\": "
			       "\"TS250P003\", \"build_date\": \"d\", "
			       "\"models\": [");
		for (i = 0; i < n; i++)
			buf_appendf(&text, "%s\"m%zu\"", i ? ", " : "", i);
		buf_append_str(&text, "], \"components\": [{\"name\": \"mc\", "
			       "\"version\": \"1\", \"size\": 1, " SHA "}]}");
		assert_int_equal(parse(text.data, &m, &e),
				 n <= BUNDLE_MODELS_MAX
					 ? 0 : BUNDLE_ERR_TOO_LARGE);
	}
	buf_free(&text);
}

static void test_names(void **state)
{
	char longest[BUNDLE_NAME_MAX], over[BUNDLE_NAME_MAX + 1];

	(void)state;
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(over, 'a', sizeof(over) - 1);
	over[sizeof(over) - 1] = '\0';
	assert_true(bundle_name_valid("mc"));
	assert_true(bundle_name_valid("bundle.xml"));
	assert_true(bundle_name_valid(longest));
	assert_false(bundle_name_valid(over));
	assert_false(bundle_name_valid(""));
	assert_false(bundle_name_valid(".hidden"));
	assert_false(bundle_name_valid(".."));
	assert_false(bundle_name_valid("a/b"));
	assert_false(bundle_name_valid("a b"));
}

static void test_versions(void **state)
{
	(void)state;
	assert_true(bundle_version_valid("TS250P003"));
	assert_true(bundle_version_valid("M112R14-02"));
	assert_true(bundle_version_valid("GL222R061"));
	assert_false(bundle_version_valid("1.0"));
	assert_false(bundle_version_valid("TS250X003"));
	assert_false(bundle_version_valid("TS250P"));
	assert_false(bundle_version_valid("ts250p003"));
	assert_true(bundle_version_compare("TS251R004", "TS252P005") < 0);
	assert_true(bundle_version_compare("TS252P005", "TS251R004-05") > 0);
	assert_true(bundle_version_compare("M112R14", "M112R14-02") < 0);
	assert_true(bundle_version_compare("M110R28", "M112R14") < 0);
	assert_true(bundle_version_compare("M113R11", "M113R9") > 0);
	assert_true(bundle_version_compare("TS250R003", "TS250P003") < 0);
	assert_int_equal(bundle_version_compare("GL222R061", "GL222R061"), 0);
}

static void test_error_names_and_exit_codes(void **state)
{
	int code;

	(void)state;
	assert_string_equal(bundle_error_name(BUNDLE_ERR_TRUNCATED),
			    "truncated");
	assert_int_equal(bundle_error_exit_code(0), 0);
	assert_int_equal(bundle_error_exit_code(BUNDLE_ERR_TRUNCATED), 12);
	/* Every error has a name and its own exit code. */
	for (code = -1; code > -BUNDLE_ERR_COUNT; code--) {
		assert_string_not_equal(bundle_error_name(code), "unknown");
		assert_int_equal(bundle_error_exit_code(code), 10 - code);
	}
	assert_string_equal(bundle_error_name(-BUNDLE_ERR_COUNT), "unknown");
}

#define COMPAT_HEAD "{\"format\": 1, \"version\": \"TS250P003\", " \
	"\"build_date\": \"d\", \"models\": [\"m\"], \"components\": " \
	"[{\"name\": \"mc\", \"version\": \"1\", \"size\": 1, " SHA "}]"

static void test_partner_compat_parse(void **state)
{
	struct bundle_manifest m, m2;
	struct buf out;
	struct err e;

	(void)state;
	assert_int_equal(parse(COMPAT_HEAD ", \"partner_compat\": "
			       "[\"TS250*\", \"TS249P010\"]}", &m, &e), 0);
	assert_int_equal(m.npartner_compat, 2);
	assert_string_equal(m.partner_compat[0], "TS250*");
	assert_string_equal(m.partner_compat[1], "TS249P010");
	/* Rendered and read back, it means the same: it is signed as such. */
	buf_init(&out, BUNDLE_MANIFEST_MAX);
	assert_int_equal(bundle_manifest_render(&m, &out, &e), 0);
	assert_non_null(strstr(out.data, "\"partner_compat\""));
	assert_int_equal(bundle_manifest_parse((uint8_t *)out.data, out.len,
					       &m2, &e), 0);
	assert_memory_equal(&m, &m2, sizeof(m));
	/* None listed: the key is not written at all. */
	assert_int_equal(parse(COMPAT_HEAD "}", &m, &e), 0);
	assert_int_equal(m.npartner_compat, 0);
	assert_int_equal(bundle_manifest_render(&m, &out, &e), 0);
	assert_null(strstr(out.data, "partner_compat"));
	buf_free(&out);
}

static void test_partner_compat_refusals(void **state)
{
	static const struct {
		const char *list;
		int code;
		const char *needle;
	} cases[] = {
		{ "[]", BUNDLE_ERR_MANIFEST, "non-empty list" },
		{ "\"TS250*\"", BUNDLE_ERR_MANIFEST, "non-empty list" },
		{ "[1]", BUNDLE_ERR_MANIFEST, "partner_compat 1" },
		{ "[\"TS250P001\", \"TS*250\"]", BUNDLE_ERR_MANIFEST,
		  "partner_compat 2" },
		{ "[\"*TS250\"]", BUNDLE_ERR_MANIFEST, "prefix ending" },
		{ "[\"TS250**\"]", BUNDLE_ERR_MANIFEST, "partner_compat 1" },
		{ "[\"TS 250\"]", BUNDLE_ERR_MANIFEST, "partner_compat 1" },
		{ "[\"\"]", BUNDLE_ERR_MANIFEST, "partner_compat 1" },
	};
	char text[1024];
	struct bundle_manifest m;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), COMPAT_HEAD
			 ", \"partner_compat\": %s}", cases[i].list);
		assert_int_equal(parse(text, &m, &e), cases[i].code);
		assert_non_null(strstr(e.msg, cases[i].needle));
	}
}

static void test_partner_compat_limits(void **state)
{
	char longest[BUNDLE_VERSION_MAX], over[BUNDLE_VERSION_MAX + 1];
	struct bundle_manifest m;
	struct buf text;
	struct err e;
	size_t n, i;

	(void)state;
	buf_init(&text, BUNDLE_MANIFEST_MAX);
	for (n = BUNDLE_PARTNER_COMPAT_MAX - 1;
	     n <= BUNDLE_PARTNER_COMPAT_MAX + 1; n++) {
		buf_reset(&text);
		buf_append_str(&text, COMPAT_HEAD ", \"partner_compat\": [");
		for (i = 0; i < n; i++)
			buf_appendf(&text, "%s\"TS%03zuP001\"", i ? ", " : "",
				    i);
		buf_append_str(&text, "]}");
		assert_int_equal(parse(text.data, &m, &e),
				 n <= BUNDLE_PARTNER_COMPAT_MAX
					 ? 0 : BUNDLE_ERR_TOO_LARGE);
	}
	buf_free(&text);
	memset(longest, 'A', sizeof(longest) - 1);
	longest[sizeof(longest) - 2] = '*';
	longest[sizeof(longest) - 1] = '\0';
	memset(over, 'A', sizeof(over) - 1);
	over[sizeof(over) - 1] = '\0';
	assert_true(bundle_partner_pattern_valid(longest));
	assert_false(bundle_partner_pattern_valid(over));
	assert_true(bundle_partner_pattern_valid("*"));
	assert_false(bundle_partner_pattern_valid(""));
}

static void test_partner_compat_tolerates(void **state)
{
	struct bundle_manifest m;

	(void)state;
	memset(&m, 0, sizeof(m));
	/* No list: every partner. */
	assert_true(bundle_manifest_tolerates(&m, "TS250P001"));
	assert_true(bundle_manifest_tolerates(&m, ""));
	snprintf(m.partner_compat[0], BUNDLE_VERSION_MAX, "TS250P002");
	snprintf(m.partner_compat[1], BUNDLE_VERSION_MAX, "TS251*");
	m.npartner_compat = 2;
	assert_true(bundle_manifest_tolerates(&m, "TS250P002"));
	assert_false(bundle_manifest_tolerates(&m, "TS250P001"));
	assert_false(bundle_manifest_tolerates(&m, "TS250P0021"));
	assert_false(bundle_manifest_tolerates(&m, "TS250P00"));
	assert_true(bundle_manifest_tolerates(&m, "TS251R004"));
	assert_true(bundle_manifest_tolerates(&m, "TS251"));
	assert_false(bundle_manifest_tolerates(&m, "TS25"));
	assert_false(bundle_manifest_tolerates(&m, ""));
	snprintf(m.partner_compat[0], BUNDLE_VERSION_MAX, "*");
	assert_true(bundle_manifest_tolerates(&m, "M112R14"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_round_trip),
		cmocka_unit_test(test_strictness),
		cmocka_unit_test(test_count_limits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_error_names_and_exit_codes),
		cmocka_unit_test(test_partner_compat_parse),
		cmocka_unit_test(test_partner_compat_refusals),
		cmocka_unit_test(test_partner_compat_limits),
		cmocka_unit_test(test_partner_compat_tolerates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
