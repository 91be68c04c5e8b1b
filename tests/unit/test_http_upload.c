/*
 * test_http_upload.c: the client-controlled parts of a firmware upload
 * (src/http/upload.h): Content-Type and boundary at and past their
 * limits, ?force=, the parts of a multipart body, the status line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http/upload.h"

static char boundary[HTTP_UPLOAD_BOUNDARY_MAX + 1];
static char why[HTTP_UPLOAD_WHY_MAX];

static int post(const char *type)
{
	enum http_upload_body body = HTTP_UPLOAD_BODY_RAW;
	int rc;

	why[0] = '\0';
	rc = http_upload_content_type_parse(true, type, &body, boundary,
					    sizeof(boundary), why,
					    sizeof(why));
	if (rc == 0)
		assert_int_equal(body, HTTP_UPLOAD_BODY_MULTIPART);
	else
		assert_true(why[0] != '\0');
	return rc;
}

static void test_content_type(void **state)
{
	enum http_upload_body body;
	char type[512], name[HTTP_UPLOAD_BOUNDARY_MAX + 2];

	(void)state;
	/* What curl and browsers send. */
	assert_int_equal(post("multipart/form-data; boundary=----------"
			      "--------------d74496d66958873e"), 0);
	assert_string_equal(boundary, "------------------------"
			    "d74496d66958873e");
	assert_int_equal(post("Multipart/Form-Data;charset=utf-8; "
			      "boundary=\"a b:c\""), 0);
	assert_string_equal(boundary, "a b:c");
	/* At and past the boundary's length limit. */
	memset(name, 'b', sizeof(name));
	name[HTTP_UPLOAD_BOUNDARY_MAX] = '\0';
	snprintf(type, sizeof(type), "multipart/form-data; boundary=%s",
		 name);
	assert_int_equal(post(type), 0);
	name[HTTP_UPLOAD_BOUNDARY_MAX] = 'b';
	name[HTTP_UPLOAD_BOUNDARY_MAX + 1] = '\0';
	snprintf(type, sizeof(type), "multipart/form-data; boundary=%s",
		 name);
	assert_int_equal(post(type), -EINVAL);
	assert_non_null(strstr(why, "1 to 70"));
	/* Refusals, each with its reason. */
	assert_int_equal(post(NULL), -ENOTSUP);
	assert_int_equal(post("application/x-www-form-urlencoded"), -ENOTSUP);
	assert_int_equal(post("multipart/form-data"), -EINVAL);
	assert_non_null(strstr(why, "no boundary"));
	assert_int_equal(post("multipart/form-data; boundary="), -EINVAL);
	assert_int_equal(post("multipart/form-data; boundary=\"\""), -EINVAL);
	assert_int_equal(post("multipart/form-data; boundary=\"ab \""),
			 -EINVAL);
	assert_int_equal(post("multipart/form-data; boundary=\"a\\\"b\""),
			 -EINVAL);
	assert_int_equal(post("multipart/form-data; boundary=a; x=y"),
			 -EINVAL);
	assert_non_null(strstr(why, "last parameter"));
	assert_int_equal(post("multipart/form-data; boundary=a; "
			      "boundary=\"b\""), -EINVAL);
	assert_int_equal(post("multipart/form-data; x=\"boundary=z\"; "
			      "boundary=a"), -EINVAL);
	assert_int_equal(post("multipart/form-data; BOUNDARY=a"), -EINVAL);
	assert_int_equal(post("multipart/form-data boundary=a"), -EINVAL);
	assert_int_equal(post("multipart/form-data; =a"), -EINVAL);
	memset(type, 'x', sizeof(type));
	memcpy(type, "multipart/form-data; boundary=", 30);
	type[HTTP_UPLOAD_CONTENT_TYPE_MAX + 1] = '\0';
	assert_int_equal(post(type), -EINVAL);
	assert_non_null(strstr(why, "longer than"));
	/* PUT: anything but a multipart body. */
	assert_int_equal(http_upload_content_type_parse(false, NULL, &body,
		boundary, sizeof(boundary), why, sizeof(why)), 0);
	assert_int_equal(body, HTTP_UPLOAD_BODY_RAW);
	assert_int_equal(http_upload_content_type_parse(false,
		"application/octet-stream", &body, boundary, sizeof(boundary),
		why, sizeof(why)), 0);
	assert_int_equal(http_upload_content_type_parse(false,
		"multipart/form-data; boundary=a", &body, boundary,
		sizeof(boundary), why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "PUT takes the bundle"));
}

static void test_force(void **state)
{
	bool force;

	(void)state;
	assert_int_equal(http_upload_force_parse(NULL, &force), 0);
	assert_false(force);
	assert_int_equal(http_upload_force_parse("TRUE", &force), 0);
	assert_true(force);
	assert_int_equal(http_upload_force_parse("0", &force), 0);
	assert_false(force);
	assert_int_equal(http_upload_force_parse("yes", &force), -1);
	assert_int_equal(http_upload_force_parse("", &force), -1);
}

static enum http_upload_part_action chunk(struct http_upload_parts *p,
					  const char *key, const char *enc,
					  uint64_t off, size_t size)
{
	why[0] = '\0';
	return http_upload_part_chunk(p, key, enc, off, size, why,
				      sizeof(why));
}

static void test_parts(void **state)
{
	struct http_upload_parts p = { 0 };

	(void)state;
	/* Another field, then the bundle in three chunks. */
	assert_int_equal(chunk(&p, "note", NULL, 0, 3), HTTP_UPLOAD_PART_SKIP);
	assert_int_equal(http_upload_parts_end(&p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no field 'bundle'"));
	assert_int_equal(chunk(&p, "bundle", "binary", 0, 10),
			 HTTP_UPLOAD_PART_FEED);
	assert_int_equal(chunk(&p, "bundle", "binary", 10, 5),
			 HTTP_UPLOAD_PART_FEED);
	assert_int_equal(chunk(&p, "bundle", "binary", 15, 0),
			 HTTP_UPLOAD_PART_FEED);
	assert_int_equal(p.bundle_bytes, 15);
	assert_int_equal(http_upload_parts_end(&p, why, sizeof(why)), 0);
	/* A second bundle field would be appended to the first: refused,
	 * and everything after it. */
	assert_int_equal(chunk(&p, "bundle", NULL, 0, 1),
			 HTTP_UPLOAD_PART_REFUSE);
	assert_non_null(strstr(why, "twice"));
	assert_int_equal(chunk(&p, "note", NULL, 0, 1),
			 HTTP_UPLOAD_PART_REFUSE);
	assert_int_equal(http_upload_parts_end(&p, why, sizeof(why)), -1);

	/* A bundle the post processor would hand over still encoded. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(chunk(&p, "bundle", "base64", 0, 4),
			 HTTP_UPLOAD_PART_REFUSE);
	assert_non_null(strstr(why, "Content-Transfer-Encoding"));

	/* Chunks out of their part's order. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(chunk(&p, "bundle", NULL, 7, 4),
			 HTTP_UPLOAD_PART_REFUSE);
	memset(&p, 0, sizeof(p));
	assert_int_equal(chunk(&p, "bundle", NULL, 0, 4),
			 HTTP_UPLOAD_PART_FEED);
	assert_int_equal(chunk(&p, "bundle", NULL, 5, 4),
			 HTTP_UPLOAD_PART_REFUSE);

	/* The parts limit: at it, then past it. */
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i + 1 < HTTP_UPLOAD_PARTS_MAX; i++)
		assert_int_equal(chunk(&p, "x", NULL, 0, 1),
				 HTTP_UPLOAD_PART_SKIP);
	assert_int_equal(chunk(&p, "bundle", NULL, 0, 1),
			 HTTP_UPLOAD_PART_FEED);
	assert_int_equal(p.parts, HTTP_UPLOAD_PARTS_MAX);
	assert_int_equal(chunk(&p, "x", NULL, 0, 1), HTTP_UPLOAD_PART_REFUSE);
	assert_non_null(strstr(why, "more than 16 parts"));
}

static void test_status_line(void **state)
{
	char line[16], text[64];

	(void)state;
	http_upload_status_line("Done.\nRETURN_CODE=9\n\n", line,
				sizeof(line));
	/* Too long: its end is kept, where RETURN_CODE is. */
	assert_string_equal(line, "... TURN_CODE=9");
	http_upload_status_line("a\nb \n", line, sizeof(line));
	assert_string_equal(line, "a b");
	snprintf(text, sizeof(text), "Codeload failed.\nRETURN_CODE=20\n");
	http_upload_status_line(text, line, sizeof(line));
	assert_string_equal(line, "... URN_CODE=20");
	http_upload_status_line("Loaded.\n", line, sizeof(line));
	assert_string_equal(line, "Loaded.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_force),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_status_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
