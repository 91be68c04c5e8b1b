/*
 * test_bundle_verify.c: the streaming verifier against valid bundles fed in
 * chunks of many sizes, every truncation, a bit flip in every region and
 * each malformed archive the format forbids. Each case asserts the exact
 * error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"

struct fixture {
	char dir[64];
	char key[128];		/* trusted */
	char other_key[128];	/* not trusted */
	struct bundle_keyring ring;
	uint8_t *bundle;	/* a valid small bundle */
	size_t len;
	uint8_t mc[5000], sc[700];
};

static struct fixture fx;

static uint8_t *file_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void file_store(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* The bytes of payload i (mc, sc, ec, cpld) in the bundles made here. */
static void payload_fill(uint8_t *data, size_t len, size_t i)
{
	size_t j;

	for (j = 0; j < len; j++)
		data[j] = (uint8_t)(j * 7 + i);
}

/* Writes a bundle of the given payload files with the trusted key. */
static uint8_t *bundle_make(const char *version, size_t nfiles,
			    const size_t *sizes, size_t *len)
{
	struct bundle_create_spec spec = {
		.key_path = fx.key, .version = version,
		.build_date = "Tue Nov 24 08:00:00 UTC 2026",
		.models = { "2324sa", "2312fc" }, .nmodels = 2,
	};
	static const char *names[] = { "mc", "sc", "ec", "cpld" };
	char paths[4][128], out[128];
	struct err e;
	size_t i;

	for (i = 0; i < nfiles; i++) {
		uint8_t *data = malloc(sizes[i] + 1);

		payload_fill(data, sizes[i], i);
		snprintf(paths[i], sizeof(paths[i]), "%s/%s.bin", fx.dir,
			 names[i]);
		file_store(paths[i], data, sizes[i]);
		free(data);
		spec.components[i].name = names[i];
		spec.components[i].version = "V1";
		spec.components[i].path = paths[i];
	}
	spec.ncomponents = nfiles;
	spec.components[0].flags = BUNDLE_FLAG_EXECUTABLE;
	snprintf(out, sizeof(out), "%s/b.tar", fx.dir);
	assert_int_equal(bundle_create(&spec, out, &e), 0);
	return file_load(out, len);
}

static int setup(void **state)
{
	char pub[128];
	struct err e;
	size_t sizes[2] = { sizeof(fx.mc), sizeof(fx.sc) };

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tandem-bv-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.key, sizeof(fx.key), "%s/k1/bundle.key", fx.dir);
	snprintf(fx.other_key, sizeof(fx.other_key), "%s/k2/bundle.key",
		 fx.dir);
	snprintf(pub, sizeof(pub), "%s/k1", fx.dir);
	assert_int_equal(bundle_key_generate(pub, &e), 0);
	snprintf(pub, sizeof(pub), "%s/k2", fx.dir);
	assert_int_equal(bundle_key_generate(pub, &e), 0);
	snprintf(pub, sizeof(pub), "%s/k1", fx.dir);
	memset(&fx.ring, 0, sizeof(fx.ring));
	assert_int_equal(bundle_keyring_add_dir(&fx.ring, pub, &e), 0);
	payload_fill(fx.mc, sizeof(fx.mc), 0);
	payload_fill(fx.sc, sizeof(fx.sc), 1);
	fx.bundle = bundle_make("TS250P003", 2, sizes, &fx.len);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(fx.bundle);
	fs_remove_tree(fx.dir);
	return 0;
}

/* A consumer that hashes what it is handed and records the call order. */
struct sink {
	EVP_MD_CTX *md[BUNDLE_COMPONENTS_MAX];
	uint8_t got[BUNDLE_COMPONENTS_MAX][32];
	size_t begun, ended, manifests;
	bool skip_sc;
	bool refuse_manifest;
};

static int sink_manifest(void *ctx, const struct bundle_manifest *m,
			 struct err *e)
{
	struct sink *s = ctx;

	(void)m;
	s->manifests++;
	if (s->refuse_manifest)
		return err_set(e, -1, "bundle is older than the running one");
	return 0;
}

static int sink_begin(void *ctx, const struct bundle_component *c,
		      struct err *e)
{
	struct sink *s = ctx;

	(void)e;
	s->md[s->begun] = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s->md[s->begun], EVP_sha256(), NULL);
	s->begun++;
	return s->skip_sc && !strcmp(c->name, "sc") ? BUNDLE_SKIP : 0;
}

static int sink_data(void *ctx, const struct bundle_component *c,
		     const uint8_t *data, size_t len, struct err *e)
{
	struct sink *s = ctx;

	(void)c;
	(void)e;
	EVP_DigestUpdate(s->md[s->begun - 1], data, len);
	return 0;
}

static int sink_end(void *ctx, const struct bundle_component *c,
		    struct err *e)
{
	struct sink *s = ctx;

	(void)c;
	(void)e;
	EVP_DigestFinal_ex(s->md[s->ended], s->got[s->ended], NULL);
	EVP_MD_CTX_free(s->md[s->ended]);
	s->md[s->ended] = NULL;
	s->ended++;
	return 0;
}

static const struct bundle_verifier_ops sink_ops = {
	sink_manifest, sink_begin, sink_data, sink_end,
};

static void sink_free(struct sink *s)
{
	size_t i;

	for (i = 0; i < BUNDLE_COMPONENTS_MAX; i++)
		EVP_MD_CTX_free(s->md[i]);
}

/* Feeds data in chunks of the given size; returns the verdict. */
static int verify_chunked(const uint8_t *data, size_t len, size_t chunk,
			  const char *model, struct sink *s, struct err *e)
{
	struct bundle_verify_config cfg = { .keys = &fx.ring, .model = model };
	struct bundle_verifier *v;
	size_t off;
	int rc = 0;

	v = bundle_verifier_new(&cfg, s ? &sink_ops : NULL, s);
	assert_non_null(v);
	for (off = 0; off < len && rc == 0; off += chunk)
		rc = bundle_verifier_feed(v, data + off,
					  len - off < chunk ? len - off
							    : chunk);
	if (rc == 0)
		rc = bundle_verifier_finish(v);
	if (e)
		*e = *bundle_verifier_error(v);
	bundle_verifier_free(v);
	return rc;
}

static int verify(const uint8_t *data, size_t len, struct err *e)
{
	return verify_chunked(data, len, 4096, "2324sa", NULL, e);
}

static void test_valid_in_every_chunk_size(void **state)
{
	static const size_t chunks[] = { 1, 7, 512, 4096, 1024 * 1024 };
	uint8_t want[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		struct sink s = { .begun = 0 };
		struct err e;

		assert_int_equal(verify_chunked(fx.bundle, fx.len, chunks[i],
						"2324sa", &s, &e), 0);
		assert_int_equal(s.manifests, 1);
		assert_int_equal(s.begun, 3);
		assert_int_equal(s.ended, 3);
		/* The consumer received exactly the component bytes. */
		EVP_Digest(fx.mc, sizeof(fx.mc), want, NULL, EVP_sha256(),
			   NULL);
		assert_memory_equal(s.got[1], want, 32);
		EVP_Digest(fx.sc, sizeof(fx.sc), want, NULL, EVP_sha256(),
			   NULL);
		assert_memory_equal(s.got[2], want, 32);
		sink_free(&s);
	}
}

static void test_data_handed_out_is_the_payload(void **state)
{
	size_t sizes[2] = { 3000000, 10 }, len, j;
	struct sink s = { .begun = 0 };
	uint8_t *big, *mc, want[32];
	struct err e;

	(void)state;
	big = bundle_make("TS250P004", 2, sizes, &len);
	assert_int_equal(verify_chunked(big, len, 1024 * 1024, NULL, &s, &e),
			 0);
	mc = malloc(sizes[0]);
	for (j = 0; j < sizes[0]; j++)
		mc[j] = (uint8_t)(j * 7);
	EVP_Digest(mc, sizes[0], want, NULL, EVP_sha256(), NULL);
	assert_memory_equal(s.got[1], want, 32);
	free(mc);
	free(big);
	sink_free(&s);
}

static void test_skip_still_verifies(void **state)
{
	const size_t at[] = { fx.len - 1024 - 1024, fx.len - 1024 - 324 - 1 };
	uint8_t *bad;
	struct err e;
	size_t i;

	(void)state;
	bad = malloc(fx.len);
	/*
	 * The last payload is sc, 700 bytes in two blocks before the
	 * 1024-byte trailer: flip its first byte, then (on a fresh copy) its
	 * last, which ends 324 bytes of padding before the trailer.
	 */
	for (i = 0; i < ARRAY_SIZE(at); i++) {
		struct sink s = { .skip_sc = true };

		memcpy(bad, fx.bundle, fx.len);
		bad[at[i]] ^= 0x01;
		assert_int_equal(verify_chunked(bad, fx.len, 512, NULL, &s,
						&e), BUNDLE_ERR_HASH);
		assert_non_null(strstr(e.msg, "component 'sc'"));
		/* The consumer skipped sc: it was handed none of it. */
		assert_int_equal(s.begun, 3);
		sink_free(&s);
	}
	free(bad);
}

static void test_consumer_refusal_stops(void **state)
{
	struct sink s = { .refuse_manifest = true };
	struct err e;

	(void)state;
	assert_int_equal(verify_chunked(fx.bundle, fx.len, 4096, NULL, &s, &e),
			 BUNDLE_ERR_REJECTED);
	assert_string_equal(e.msg, "bundle is older than the running one");
	assert_int_equal(s.begun, 0);
	sink_free(&s);
}

static void test_every_truncation(void **state)
{
	size_t cut, tried = 0;
	struct err e;

	(void)state;
	/* Every prefix: each header boundary and every offset between. */
	for (cut = 0; cut < fx.len; cut++) {
		int rc = verify(fx.bundle, cut, &e);

		if (rc != BUNDLE_ERR_TRUNCATED)
			fail_msg("cut at %zu of %zu: got %s (%s)", cut, fx.len,
				 bundle_error_name(rc), e.msg);
		tried++;
	}
	assert_int_equal(tried, fx.len);
	print_message("truncations tried: %zu\n", tried);
}

/* Offsets of each member's header, from the valid bundle's layout. */
static size_t member_offsets(size_t *offsets, size_t *sizes, size_t max)
{
	size_t off = 0, n = 0;

	while (off + 512 <= fx.len && n < max) {
		char sizefield[13];
		size_t size;

		if (fx.bundle[off] == 0)
			break;
		memcpy(sizefield, fx.bundle + off + 124, 12);
		sizefield[12] = '\0';
		size = strtoul(sizefield, NULL, 8);
		offsets[n] = off;
		sizes[n++] = size;
		off += 512 + (size + 511) / 512 * 512;
	}
	return n;
}

static void test_truncation_message_names_member(void **state)
{
	size_t offsets[8], sizes[8];
	struct err e;

	(void)state;
	assert_int_equal(member_offsets(offsets, sizes, 8), 5);
	/* 100 bytes into mc's data (member 3). */
	assert_int_equal(verify(fx.bundle, offsets[3] + 512 + 100, &e),
			 BUNDLE_ERR_TRUNCATED);
	assert_non_null(strstr(e.msg, "inside member 'mc' at byte"));
	/* In the middle of sc's header. */
	assert_int_equal(verify(fx.bundle, offsets[4] + 200, &e),
			 BUNDLE_ERR_TRUNCATED);
	assert_non_null(strstr(e.msg, "header at offset"));
}

/*
 * The header checksum field (bytes 148..155) is the one place where a bit
 * flip can leave a header meaning the same: a leading '0' that becomes ' '
 * or a terminator byte that becomes another non-digit parse to the same
 * number. Such a header is the same archive; anything else must fail.
 */
static bool checksum_flip_neutral(size_t i, uint8_t old, uint8_t now)
{
	if (i < 148 || i > 155)
		return false;
	if (old == '0' && now == ' ')
		return true;
	return (old < '0' || old > '7') && (now < '0' || now > '7');
}

static void test_bit_flip_in_every_region(void **state)
{
	size_t offsets[8], sizes[8], n, m, i, flips = 0;
	uint8_t *bad = malloc(fx.len);
	/* manifest, signature, bundle.xml, mc, sc */
	static const int data_errors[] = { BUNDLE_ERR_SIGNATURE, 0,
					   BUNDLE_ERR_HASH, BUNDLE_ERR_HASH,
					   BUNDLE_ERR_HASH };

	(void)state;
	n = member_offsets(offsets, sizes, 8);
	assert_int_equal(n, 5);
	for (m = 0; m < n; m++) {
		/* Every byte of the header, a different bit each time. */
		for (i = 0; i < 512; i++) {
			struct err e;
			int rc;

			memcpy(bad, fx.bundle, fx.len);
			bad[offsets[m] + i] ^= (uint8_t)(1u << (i % 8));
			rc = verify(bad, fx.len, &e);
			if (rc == 0 &&
			    checksum_flip_neutral(i, fx.bundle[offsets[m] + i],
						  bad[offsets[m] + i]))
				continue;
			if (rc != BUNDLE_ERR_NOT_USTAR)
				fail_msg("header %zu byte %zu: %s (%s)", m, i,
					 bundle_error_name(rc), e.msg);
			flips++;
		}
		for (i = 0; i < sizes[m]; i++) {
			struct err e;
			int rc;

			memcpy(bad, fx.bundle, fx.len);
			bad[offsets[m] + 512 + i] ^= (uint8_t)(1u << (i % 8));
			rc = verify(bad, fx.len, &e);
			flips++;
			if (m == 1) {
				/* The signature file: JSON, key id or sig. */
				if (rc != BUNDLE_ERR_SIGNATURE &&
				    rc != BUNDLE_ERR_MANIFEST &&
				    rc != BUNDLE_ERR_UNKNOWN_KEY)
					fail_msg("sig byte %zu: %s", i,
						 bundle_error_name(rc));
				continue;
			}
			if (rc != data_errors[m])
				fail_msg("member %zu byte %zu: %s (%s)", m, i,
					 bundle_error_name(rc), e.msg);
		}
	}
	/* And the end-of-archive blocks. */
	for (i = fx.len - 1024; i < fx.len; i++) {
		struct err e;

		memcpy(bad, fx.bundle, fx.len);
		bad[i] ^= 0x80;
		assert_int_equal(verify(bad, fx.len, &e),
				 BUNDLE_ERR_TRAILING_DATA);
		flips++;
	}
	print_message("bit flips tried: %zu\n", flips);
	free(bad);
}

/* ---- hand-made archives for the malformed cases ---- */

struct member {
	const char *name;
	const void *data;
	size_t len;
	unsigned type;		/* AE_IFREG if 0 */
	const char *link;
	bool hardlink;
};

static uint8_t *archive_make(const struct member *m, size_t n, int format,
			     size_t *len)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0, i;
	uint8_t *out = malloc(cap);

	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	archive_write_set_bytes_per_block(a, 512);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used),
			 ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type ? m[i].type : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (m[i].link && m[i].hardlink)
			archive_entry_set_hardlink(e, m[i].link);
		else if (m[i].link)
			archive_entry_set_symlink(e, m[i].link);
		archive_entry_set_size(e, (la_int64_t)m[i].len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].len)
			archive_write_data(a, m[i].data, m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*len = used;
	return out;
}

/* A signed manifest for the given payloads (all version V1). */
static void manifest_for(const struct member *payloads, size_t n,
			 struct buf *manifest, struct buf *sig,
			 const char *key)
{
	struct bundle_manifest m = { .format = 1, .nmodels = 1 };
	struct err e;
	size_t i;

	snprintf(m.version, sizeof(m.version), "TS250P003");
	snprintf(m.build_date, sizeof(m.build_date), "today");
	snprintf(m.models[0], sizeof(m.models[0]), "2324sa");
	for (i = 0; i < n; i++) {
		snprintf(m.components[i].name, BUNDLE_NAME_MAX, "%s",
			 payloads[i].name);
		snprintf(m.components[i].version, BUNDLE_VERSION_MAX, "V1");
		m.components[i].size = payloads[i].len;
		EVP_Digest(payloads[i].data, payloads[i].len,
			   m.components[i].sha256, NULL, EVP_sha256(), NULL);
	}
	m.ncomponents = n;
	assert_int_equal(bundle_manifest_render(&m, manifest, &e), 0);
	assert_int_equal(bundle_signature_make(key,
					       (uint8_t *)manifest->data,
					       manifest->len, sig, &e), 0);
}

static void sign_text(const char *text, struct buf *manifest, struct buf *sig)
{
	struct err e;

	buf_reset(manifest);
	assert_int_equal(buf_append_str(manifest, text), 0);
	assert_int_equal(bundle_signature_make(fx.key,
					       (uint8_t *)manifest->data,
					       manifest->len, sig, &e), 0);
}

/* Builds [manifest, sig] + extra members and expects code. */
static void expect_archive(const struct buf *manifest, const struct buf *sig,
			   const struct member *rest, size_t nrest, int format,
			   int code, const char *needle)
{
	struct member all[12];
	size_t len, i, n = 0;
	uint8_t *data;
	struct err e;
	int rc;

	all[n++] = (struct member){ BUNDLE_MEMBER_MANIFEST, manifest->data,
				    manifest->len, 0, NULL, false };
	all[n++] = (struct member){ BUNDLE_MEMBER_SIGNATURE, sig->data,
				    sig->len, 0, NULL, false };
	for (i = 0; i < nrest; i++)
		all[n++] = rest[i];
	data = archive_make(all, n, format, &len);
	rc = verify(data, len, &e);
	if (rc != code)
		fail_msg("expected %s, got %s (%s)", bundle_error_name(code),
			 bundle_error_name(rc), e.msg);
	if (needle && !strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	free(data);
}

static const uint8_t pay_a[100] = { 1, 2, 3 };
static const uint8_t pay_b[600] = { 4, 5, 6 };

static void test_handmade_valid_then_each_bad_case(void **state)
{
	struct member p[2] = {
		{ "mc", pay_a, sizeof(pay_a), 0, NULL, false },
		{ "sc", pay_b, sizeof(pay_b), 0, NULL, false },
	};
	struct buf man, sig, sig2;

	(void)state;
	buf_init(&man, BUNDLE_MANIFEST_MAX * 2);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	buf_init(&sig2, BUNDLE_SIGNATURE_MAX);
	manifest_for(p, 2, &man, &sig, fx.key);

	/* The hand-made archive is itself valid: the cases below differ by
	 * exactly the defect they name. */
	expect_archive(&man, &sig, p, 2, ARCHIVE_FORMAT_TAR_USTAR, 0, NULL);

	/* Payload missing, in the wrong order, extra, duplicate. */
	expect_archive(&man, &sig, p, 1, ARCHIVE_FORMAT_TAR_USTAR,
		       BUNDLE_ERR_PAYLOAD_MISSING, "'sc'");
	{
		struct member swapped[2] = { p[1], p[0] };

		expect_archive(&man, &sig, swapped, 2,
			       ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_PAYLOAD_MISSING, "'mc'");
	}
	{
		struct member extra[3] = { p[0], p[1],
			{ "ec", pay_a, 10, 0, NULL, false } };

		expect_archive(&man, &sig, extra, 3, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_EXTRA_MEMBER, "'ec'");
		extra[1] = extra[2];
		expect_archive(&man, &sig, extra, 2, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_EXTRA_MEMBER, "'ec'");
	}
	{
		struct member dup[3] = { p[0], p[0], p[1] };

		expect_archive(&man, &sig, dup, 3, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_DUPLICATE_MEMBER, "'mc'");
		dup[1] = p[1];
		dup[2] = (struct member){ BUNDLE_MEMBER_MANIFEST, man.data,
					  man.len, 0, NULL, false };
		expect_archive(&man, &sig, dup, 3, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_DUPLICATE_MEMBER, "manifest.json");
	}
	/* Size mismatch: the member is longer than the manifest says. */
	{
		struct member longer[2] = { { "mc", pay_b, 101, 0, NULL, false },
					    p[1] };

		expect_archive(&man, &sig, longer, 2, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_SIZE, "payload 'mc' is 101 bytes");
	}
	/* Names: a path, '..', absolute. */
	{
		static const char *names[] = { "dir/mc", "../mc", "/mc", "..",
					       "mc\\x" };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++) {
			struct member bad[1] = { { names[i], pay_a, 100, 0,
						   NULL, false } };

			expect_archive(&man, &sig, bad, 1,
				       ARCHIVE_FORMAT_TAR_USTAR,
				       BUNDLE_ERR_BAD_NAME, NULL);
		}
	}
	/* Links and devices. */
	{
		struct member sym[1] = { { "mc", NULL, 0, AE_IFLNK, "/etc/passwd",
					   false } };
		struct member hard[1] = { { "mc", NULL, 0, AE_IFREG, "sc",
					    true } };
		struct member dev[1] = { { "mc", NULL, 0, AE_IFCHR, NULL,
					   false } };
		struct member dir[1] = { { "mc", NULL, 0, AE_IFDIR, NULL,
					   false } };

		expect_archive(&man, &sig, sym, 1, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_MEMBER_TYPE, NULL);
		expect_archive(&man, &sig, hard, 1, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_MEMBER_TYPE, NULL);
		expect_archive(&man, &sig, dev, 1, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_MEMBER_TYPE, NULL);
		expect_archive(&man, &sig, dir, 1, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_MEMBER_TYPE, NULL);
	}
	/* Other tar dialects are not ustar. */
	expect_archive(&man, &sig, p, 2, ARCHIVE_FORMAT_TAR_GNUTAR,
		       BUNDLE_ERR_NOT_USTAR, NULL);
	expect_archive(&man, &sig, p, 2, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
		       0, NULL); /* plain names: pax writes ustar headers */
	/* Unknown key, and a good signature of other bytes. */
	manifest_for(p, 2, &man, &sig2, fx.other_key);
	expect_archive(&man, &sig2, p, 2, ARCHIVE_FORMAT_TAR_USTAR,
		       BUNDLE_ERR_UNKNOWN_KEY, "does not trust");
	{
		struct buf man2;

		buf_init(&man2, BUNDLE_MANIFEST_MAX);
		sign_text("{\"format\": 1}", &man2, &sig2);
		expect_archive(&man, &sig2, p, 2, ARCHIVE_FORMAT_TAR_USTAR,
			       BUNDLE_ERR_SIGNATURE, "does not match");
		buf_free(&man2);
	}
	buf_free(&man);
	buf_free(&sig);
	buf_free(&sig2);
}

static void test_member_order(void **state)
{
	struct member p[1] = { { "mc", pay_a, sizeof(pay_a), 0, NULL, false } };
	struct buf man, sig;
	struct member all[3];
	size_t len;
	uint8_t *data;
	struct err e;

	(void)state;
	buf_init(&man, BUNDLE_MANIFEST_MAX);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	manifest_for(p, 1, &man, &sig, fx.key);
	all[0] = (struct member){ BUNDLE_MEMBER_SIGNATURE, sig.data, sig.len,
				  0, NULL, false };
	all[1] = (struct member){ BUNDLE_MEMBER_MANIFEST, man.data, man.len,
				  0, NULL, false };
	all[2] = p[0];
	data = archive_make(all, 3, ARCHIVE_FORMAT_TAR_USTAR, &len);
	assert_int_equal(verify(data, len, &e), BUNDLE_ERR_MANIFEST_NOT_FIRST);
	free(data);
	all[0] = all[1];
	all[1] = p[0];
	data = archive_make(all, 2, ARCHIVE_FORMAT_TAR_USTAR, &len);
	assert_int_equal(verify(data, len, &e),
			 BUNDLE_ERR_SIGNATURE_NOT_SECOND);
	free(data);
	/* Only payloads, no manifest at all. */
	data = archive_make(p, 1, ARCHIVE_FORMAT_TAR_USTAR, &len);
	assert_int_equal(verify(data, len, &e), BUNDLE_ERR_MANIFEST_NOT_FIRST);
	free(data);
	/* An empty archive: just the end blocks. */
	data = archive_make(p, 0, ARCHIVE_FORMAT_TAR_USTAR, &len);
	assert_int_equal(verify(data, len, &e), BUNDLE_ERR_PAYLOAD_MISSING);
	free(data);
	buf_free(&man);
	buf_free(&sig);
}

static void test_signed_but_malformed_manifests(void **state)
{
	struct member p[1] = { { "mc", pay_a, sizeof(pay_a), 0, NULL, false } };
	struct buf man, sig;

	(void)state;
	buf_init(&man, BUNDLE_MANIFEST_MAX * 2);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	sign_text("{\"format\": 1, \"version\": ", &man, &sig);
	expect_archive(&man, &sig, p, 1, ARCHIVE_FORMAT_TAR_USTAR,
		       BUNDLE_ERR_MANIFEST, "malformed JSON");
	sign_text("{\"format\": 2, \"whatever\": true}", &man, &sig);
	expect_archive(&man, &sig, p, 1, ARCHIVE_FORMAT_TAR_USTAR,
		       BUNDLE_ERR_FORMAT_VERSION, "format 2");
	/* Model: a valid bundle for another product. */
	{
		struct bundle_verify_config cfg = { .keys = &fx.ring,
						    .model = "p2000g3" };
		struct bundle_verifier *v = bundle_verifier_new(&cfg, NULL,
								NULL);

		bundle_verifier_feed(v, fx.bundle, fx.len);
		assert_int_equal(bundle_verifier_finish(v), BUNDLE_ERR_MODEL);
		assert_non_null(strstr(bundle_verifier_error(v)->msg,
				       "not made for model p2000g3"));
		bundle_verifier_free(v);
	}
	buf_free(&man);
	buf_free(&sig);
}

/* The manifest limit: just under, at and just over. */
static void test_manifest_size_limit(void **state)
{
	struct member p[1] = { { "mc", pay_a, sizeof(pay_a), 0, NULL, false } };
	struct buf man, sig, padded;
	struct err e;
	size_t target;

	(void)state;
	buf_init(&man, BUNDLE_MANIFEST_MAX);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	buf_init(&padded, BUNDLE_MANIFEST_MAX + 1);
	manifest_for(p, 1, &man, &sig, fx.key);
	for (target = BUNDLE_MANIFEST_MAX - 1; target <= BUNDLE_MANIFEST_MAX + 1;
	     target++) {
		int want = target <= BUNDLE_MANIFEST_MAX ? 0
							 : BUNDLE_ERR_TOO_LARGE;

		/* JSON allows trailing whitespace: pad to the exact size. */
		buf_reset(&padded);
		assert_int_equal(buf_append(&padded, man.data, man.len), 0);
		while (padded.len < target)
			assert_int_equal(buf_append_str(&padded, " "), 0);
		assert_int_equal(bundle_signature_make(fx.key,
				 (uint8_t *)padded.data, padded.len, &sig, &e),
				 0);
		expect_archive(&padded, &sig, p, 1, ARCHIVE_FORMAT_TAR_USTAR,
			       want, NULL);
	}
	buf_free(&man);
	buf_free(&sig);
	buf_free(&padded);
}

static void test_trailing_zeros_accepted_garbage_refused(void **state)
{
	uint8_t *longer = calloc(1, fx.len + 10240);
	struct err e;

	(void)state;
	memcpy(longer, fx.bundle, fx.len);
	/* tar writers pad to their record size with zeros: fine. */
	assert_int_equal(verify(longer, fx.len + 10240, &e), 0);
	longer[fx.len + 5000] = 'x';
	assert_int_equal(verify(longer, fx.len + 10240, &e),
			 BUNDLE_ERR_TRAILING_DATA);
	free(longer);
}

/* A source for bundle_verifier_run: pieces of varying size from a
 * buffer, then the end, or a failure of its own at fail_at. */
struct source {
	const uint8_t *data;
	size_t len, off, step, fail_at;
	size_t calls;
};

static ssize_t source_pull(void *arg, uint8_t *buf, size_t len,
			   struct err *e)
{
	struct source *src = arg;
	size_t n = src->step + src->calls++ % 3 * 1000;

	if (src->off >= src->fail_at)
		return err_set(e, -104, "the connection was lost");
	if (n > len)
		n = len;
	if (n > src->len - src->off)
		n = src->len - src->off;
	if (n > src->fail_at - src->off)
		n = src->fail_at - src->off;
	memcpy(buf, src->data + src->off, n);
	src->off += n;
	return (ssize_t)n;
}

static int verify_pulled(const uint8_t *data, size_t len, size_t step,
			 size_t fail_at, struct sink *s, struct err *e)
{
	struct bundle_verify_config cfg = { .keys = &fx.ring,
					    .model = "2324sa" };
	struct source src = { .data = data, .len = len, .step = step,
			      .fail_at = fail_at };
	struct bundle_verifier *v;
	int rc;

	v = bundle_verifier_new(&cfg, s ? &sink_ops : NULL, s);
	assert_non_null(v);
	rc = bundle_verifier_run(v, source_pull, &src);
	/* finish after run gives the same verdict again */
	assert_int_equal(bundle_verifier_finish(v), rc);
	/* a pull source is read to its end, padding included */
	if (rc == 0)
		assert_int_equal(src.off, len);
	*e = *bundle_verifier_error(v);
	bundle_verifier_free(v);
	return rc;
}

static void test_pulled_same_verdicts_as_fed(void **state)
{
	static const size_t steps[] = { 1, 511, 4096, 300 * 1024 };
	uint8_t *padded = calloc(1, fx.len + 10240);
	struct err e;
	size_t i, cut;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct sink s = { .begun = 0 };

		assert_int_equal(verify_pulled(fx.bundle, fx.len, steps[i],
					       SIZE_MAX, &s, &e), 0);
		assert_int_equal(s.ended, s.begun);
		assert_true(s.ended > 0);
		sink_free(&s);
	}
	for (cut = 0; cut < fx.len; cut += 97)
		assert_int_equal(verify_pulled(fx.bundle, cut, 4096,
					       SIZE_MAX, NULL, &e),
				 BUNDLE_ERR_TRUNCATED);
	memcpy(padded, fx.bundle, fx.len);
	assert_int_equal(verify_pulled(padded, fx.len + 10240, 4096,
				       SIZE_MAX, NULL, &e), 0);
	padded[fx.len + 9000] = 'x';
	assert_int_equal(verify_pulled(padded, fx.len + 10240, 4096,
				       SIZE_MAX, NULL, &e),
			 BUNDLE_ERR_TRAILING_DATA);
	free(padded);
}

/* Where the members end and the end blocks begin. */
static size_t members_end(void)
{
	size_t offsets[BUNDLE_COMPONENTS_MAX + 2], sizes[ARRAY_SIZE(offsets)];
	size_t n = member_offsets(offsets, sizes, ARRAY_SIZE(offsets));

	assert_true(n > 2);
	return offsets[n - 1] + 512 + (sizes[n - 1] + 511) / 512 * 512;
}

/* BUNDLE_PADDING_MAX zero bytes after the last member, end blocks
 * included: just under and at are a bundle, just over is refused, fed or
 * pulled. */
static void test_padding_limit(void **state)
{
	size_t end = members_end();
	size_t over = end + BUNDLE_PADDING_MAX + 512;
	uint8_t *padded = calloc(1, over);
	struct err e;

	(void)state;
	assert_non_null(padded);
	memcpy(padded, fx.bundle, end);
	assert_int_equal(verify(padded, end + BUNDLE_PADDING_MAX - 512, &e), 0);
	assert_int_equal(verify(padded, end + BUNDLE_PADDING_MAX, &e), 0);
	assert_int_equal(verify_pulled(padded, end + BUNDLE_PADDING_MAX, 4096,
				       SIZE_MAX, NULL, &e), 0);
	assert_int_equal(verify(padded, over, &e), BUNDLE_ERR_TRAILING_DATA);
	assert_non_null(strstr(e.msg, "bytes of padding after the last "
			       "member"));
	assert_int_equal(verify_pulled(padded, over, 4096, SIZE_MAX, NULL,
				       &e), BUNDLE_ERR_TRAILING_DATA);
	free(padded);
}

/* Zeros where manifest.json must be: refused at once, not read to the
 * end of the stream (the source fails loudly if it is read that far). */
static void test_zeros_refused_at_once(void **state)
{
	size_t len = 8u << 20;
	uint8_t *zeros = calloc(1, len);
	struct err e;

	(void)state;
	assert_non_null(zeros);
	assert_int_equal(verify_pulled(zeros, len, 64 * 1024, 1u << 20, NULL,
				       &e), BUNDLE_ERR_PAYLOAD_MISSING);
	assert_non_null(strstr(e.msg, "before member 'manifest.json'"));
	assert_int_equal(verify(zeros, len, &e), BUNDLE_ERR_PAYLOAD_MISSING);
	free(zeros);
}

static void test_pulled_source_failure_is_its_own(void **state)
{
	struct err e;

	(void)state;
	/* The source fails mid-payload: its code and message, not a
	 * verdict on the bundle's bytes. */
	assert_int_equal(verify_pulled(fx.bundle, fx.len, 4096, fx.len / 2,
				       NULL, &e), -104);
	assert_string_equal(e.msg, "the connection was lost");
	assert_int_equal(verify_pulled(fx.bundle, fx.len, 4096, 0, NULL, &e),
			 -104);
}

static void test_verify_file_and_free_midway(void **state)
{
	struct bundle_verify_config cfg = { .keys = &fx.ring };
	struct bundle_manifest m;
	struct bundle_verifier *v;
	char path[128];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/b.tar", fx.dir);
	file_store(path, fx.bundle, fx.len);
	assert_int_equal(bundle_verify_file(path, &cfg, NULL, NULL, &m, &e), 0);
	assert_string_equal(m.version, "TS250P003");
	assert_int_equal(m.ncomponents, 3);
	assert_string_equal(m.components[0].name, "bundle.xml");
	assert_true(m.components[1].flags & BUNDLE_FLAG_EXECUTABLE);
	assert_int_equal(bundle_verify_file("/nonexistent", &cfg, NULL, NULL,
					    &m, &e), BUNDLE_ERR_IO);
	/* A dropped connection: the verifier is freed without finishing. */
	v = bundle_verifier_new(&cfg, NULL, NULL);
	assert_int_equal(bundle_verifier_feed(v, fx.bundle, fx.len / 2), 0);
	bundle_verifier_free(v);
	/* A verifier without keys is refused unless it is for inspection. */
	cfg.keys = NULL;
	assert_null(bundle_verifier_new(&cfg, NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_in_every_chunk_size),
		cmocka_unit_test(test_data_handed_out_is_the_payload),
		cmocka_unit_test(test_skip_still_verifies),
		cmocka_unit_test(test_consumer_refusal_stops),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_truncation_message_names_member),
		cmocka_unit_test(test_bit_flip_in_every_region),
		cmocka_unit_test(test_handmade_valid_then_each_bad_case),
		cmocka_unit_test(test_member_order),
		cmocka_unit_test(test_signed_but_malformed_manifests),
		cmocka_unit_test(test_manifest_size_limit),
		cmocka_unit_test(test_trailing_zeros_accepted_garbage_refused),
		cmocka_unit_test(test_verify_file_and_free_midway),
		cmocka_unit_test(test_pulled_same_verdicts_as_fed),
		cmocka_unit_test(test_pulled_source_failure_is_its_own),
		cmocka_unit_test(test_padding_limit),
		cmocka_unit_test(test_zeros_refused_at_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
