/*
 * verifier.c: the streaming bundle verifier. Callers push bytes in chunks of
 * any size; libarchive, which reads by pulling, runs on a reader thread that
 * takes each chunk in turn. The two threads hand the chunk back and forth
 * under one mutex, so exactly one of them runs at a time: the consumer's
 * callbacks never race the caller. A caller that can be pulled from (a
 * socket) runs libarchive on its own thread instead, with no hand-off:
 * bundle_verifier_run(). Nothing is buffered beyond libarchive's
 * header block and the manifest; the verdict comes only after the signature
 * and every component's size and sha256 have been checked.
 *
 * Archive layout checked here, by offset (every member a ustar header of
 * 512 bytes, then its data padded to 512):
 *   manifest.json | manifest.sig | payload 1 .. payload n | two zero blocks
 *   [ more zero bytes, as tar writers pad to their record size ]
 * A stream is refused as soon as it cannot be a bundle, never read on to
 * its end: the first header must be a ustar manifest.json, an end block
 * before the last payload ends it, and the padding is capped
 * (BUNDLE_PADDING_MAX).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"

#define VERIFY_FILE_CHUNK (64 * 1024)
#define VERIFY_PULL_CHUNK (256 * 1024)

enum verifier_stage {
	STAGE_MANIFEST,
	STAGE_SIGNATURE,
	STAGE_PAYLOADS,
	STAGE_END,
};

struct bundle_verifier {
	struct bundle_verify_config cfg;
	char model[BUNDLE_NAME_MAX];
	const struct bundle_verifier_ops *ops;
	void *ctx;

	/* Hand-off between the caller and the reader thread (under mu). */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *chunk;
	size_t chunk_len;
	bool chunk_offered;	/* caller offered chunk, reader not yet taken */
	bool chunk_held;	/* reader took it and may still point into it */
	bool input_ended;	/* _finish() called: no more chunks */
	bool aborted;		/* _free() before _finish(): stop quietly */
	bool reader_done;

	/* Pull mode (bundle_verifier_run): the caller's source. */
	bundle_pull_fn pull;
	void *pull_arg;
	uint8_t *pull_buf;
	int pull_rc;		/* the source's failure, 0 if none */
	struct err pull_err;

	/* Caller side. */
	uint64_t fed;
	uint64_t nonzero_end;	/* offset just past the last non-zero byte */
	bool finished;
	int result;		/* 0 until an error is known */
	struct err err;

	/* Reader side. */
	enum verifier_stage stage;
	struct buf manifest_text;
	struct buf sig_text;
	struct bundle_manifest manifest;
	bool manifest_ok;
	size_t next_component;
	uint64_t header_offset;	/* where the next header must start */
	bool saw_eof_marker;
	char member[BUNDLE_NAME_MAX];
	uint64_t member_size;
	uint64_t member_got;
	bool in_member;
	EVP_MD_CTX *sha;
	bool unhashed;		/* this component's sha256 is the consumer's */
};

static uint64_t round_block(uint64_t n)
{
	return (n + BUNDLE_TAR_BLOCK - 1) / BUNDLE_TAR_BLOCK *
	       BUNDLE_TAR_BLOCK;
}

/* ---- reader thread: libarchive's pull callback ---- */

static ssize_t verifier_read_cb(struct archive *a, void *p, const void **out)
{
	struct bundle_verifier *v = p;
	ssize_t n = 0;

	(void)a;
	pthread_mutex_lock(&v->mu);
	/* libarchive is done with the previous chunk once it asks again. */
	if (v->chunk_held) {
		v->chunk_held = false;
		pthread_cond_broadcast(&v->cv);
	}
	while (!v->chunk_offered && !v->input_ended && !v->aborted)
		pthread_cond_wait(&v->cv, &v->mu);
	if (v->chunk_offered && !v->aborted) {
		v->chunk_offered = false;
		v->chunk_held = true;
		*out = v->chunk;
		n = (ssize_t)v->chunk_len;
	}
	pthread_mutex_unlock(&v->mu);
	return n;
}

static void track_zeros(struct bundle_verifier *v, const uint8_t *p,
			size_t len);

static void input_end(struct bundle_verifier *v)
{
	pthread_mutex_lock(&v->mu);
	v->input_ended = true;
	pthread_mutex_unlock(&v->mu);
}

/* Pull mode: libarchive's callback reads from the caller's source. */
static ssize_t verifier_pull_cb(struct archive *a, void *p, const void **out)
{
	struct bundle_verifier *v = p;
	ssize_t n;

	(void)a;
	if (v->input_ended || v->pull_rc)
		return 0;
	n = v->pull(v->pull_arg, v->pull_buf, VERIFY_PULL_CHUNK, &v->pull_err);
	if (n < 0) {
		v->pull_rc = (int)n;
		return -1;
	}
	if (n == 0) {
		input_end(v);
		return 0;
	}
	track_zeros(v, v->pull_buf, (size_t)n);
	*out = v->pull_buf;
	return n;
}

/* ---- reader thread: member checks ---- */

static int reader_fail(struct bundle_verifier *v, int code, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

static int reader_fail(struct bundle_verifier *v, int code, const char *fmt,
		       ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(&v->err, code, fmt, ap);
	va_end(ap);
	return code;
}

static bool input_has_ended(struct bundle_verifier *v)
{
	bool ended;

	pthread_mutex_lock(&v->mu);
	ended = v->input_ended;
	pthread_mutex_unlock(&v->mu);
	return ended;
}

static int name_check(struct bundle_verifier *v, const char *name)
{
	if (!name || !*name)
		return reader_fail(v, BUNDLE_ERR_BAD_NAME,
				   "member at offset %llu has no name",
				   (unsigned long long)v->header_offset);
	if (name[0] == '/' || strchr(name, '/') || strstr(name, ".."))
		return reader_fail(v, BUNDLE_ERR_BAD_NAME,
				   "member at offset %llu has a path for a "
				   "name ('/', '..' or absolute)",
				   (unsigned long long)v->header_offset);
	if (!bundle_name_valid(name))
		return reader_fail(v, BUNDLE_ERR_BAD_NAME,
				   "member at offset %llu has a name with "
				   "characters a bundle never uses",
				   (unsigned long long)v->header_offset);
	return 0;
}

static bool member_seen(struct bundle_verifier *v, const char *name)
{
	size_t i;

	if (v->stage > STAGE_MANIFEST && !strcmp(name, BUNDLE_MEMBER_MANIFEST))
		return true;
	if (v->stage > STAGE_SIGNATURE &&
	    !strcmp(name, BUNDLE_MEMBER_SIGNATURE))
		return true;
	for (i = 0; v->manifest_ok && i < v->next_component; i++)
		if (!strcmp(v->manifest.components[i].name, name))
			return true;
	return false;
}

/* The member's place in the order manifest, signature, payloads. */
static int order_check(struct bundle_verifier *v, const char *name)
{
	const struct bundle_component *want;

	if (member_seen(v, name))
		return reader_fail(v, BUNDLE_ERR_DUPLICATE_MEMBER,
				   "member '%s' appears twice", name);
	switch (v->stage) {
	case STAGE_MANIFEST:
		if (strcmp(name, BUNDLE_MEMBER_MANIFEST))
			return reader_fail(v, BUNDLE_ERR_MANIFEST_NOT_FIRST,
					   "first member is '%s', not "
					   "manifest.json", name);
		return 0;
	case STAGE_SIGNATURE:
		if (strcmp(name, BUNDLE_MEMBER_SIGNATURE))
			return reader_fail(v, BUNDLE_ERR_SIGNATURE_NOT_SECOND,
					   "second member is '%s', not "
					   "manifest.sig", name);
		return 0;
	case STAGE_PAYLOADS:
		want = &v->manifest.components[v->next_component];
		if (!strcmp(name, want->name))
			return 0;
		if (bundle_manifest_find(&v->manifest, name))
			return reader_fail(v, BUNDLE_ERR_PAYLOAD_MISSING,
					   "payload '%s' (component %zu of "
					   "%zu) is missing: '%s' is in its "
					   "place", want->name,
					   v->next_component + 1,
					   v->manifest.ncomponents, name);
		return reader_fail(v, BUNDLE_ERR_EXTRA_MEMBER,
				   "member '%s' is not listed in the manifest "
				   "(expected payload '%s')", name,
				   want->name);
	case STAGE_END:
		break;
	}
	return reader_fail(v, BUNDLE_ERR_EXTRA_MEMBER,
			   "member '%s' follows the last payload", name);
}

static int header_check(struct bundle_verifier *v, struct archive *a,
			struct archive_entry *entry)
{
	const char *name = archive_entry_pathname(entry);
	int64_t size = archive_entry_size(entry);
	int64_t pos = archive_read_header_position(a);
	int rc;

	if (archive_format(a) != ARCHIVE_FORMAT_TAR_USTAR)
		return reader_fail(v, BUNDLE_ERR_NOT_USTAR,
				   "member at offset %llu is not a POSIX "
				   "ustar header (%s)",
				   (unsigned long long)v->header_offset,
				   archive_format_name(a));
	/* libarchive may skip damaged blocks; a bundle has none. */
	if (pos < 0 || (uint64_t)pos != v->header_offset)
		return reader_fail(v, BUNDLE_ERR_NOT_USTAR,
				   "damaged archive: a header at offset %lld "
				   "where %llu was expected", (long long)pos,
				   (unsigned long long)v->header_offset);
	if (archive_entry_filetype(entry) != AE_IFREG ||
	    archive_entry_hardlink(entry) || archive_entry_symlink(entry))
		return reader_fail(v, BUNDLE_ERR_MEMBER_TYPE,
				   "member at offset %llu is not a regular "
				   "file (link, device or directory)",
				   (unsigned long long)v->header_offset);
	if ((rc = name_check(v, name)) < 0)
		return rc;
	if (size < 0)
		return reader_fail(v, BUNDLE_ERR_NOT_USTAR,
				   "member '%s' has no size", name);
	if ((rc = order_check(v, name)) < 0)
		return rc;
	if (v->stage == STAGE_MANIFEST && size > BUNDLE_MANIFEST_MAX)
		return reader_fail(v, BUNDLE_ERR_TOO_LARGE,
				   "manifest.json is %lld bytes, over the "
				   "limit of %d", (long long)size,
				   BUNDLE_MANIFEST_MAX);
	if (v->stage == STAGE_SIGNATURE && size > BUNDLE_SIGNATURE_MAX)
		return reader_fail(v, BUNDLE_ERR_TOO_LARGE,
				   "manifest.sig is %lld bytes, over the "
				   "limit of %d", (long long)size,
				   BUNDLE_SIGNATURE_MAX);
	if (v->stage == STAGE_PAYLOADS &&
	    (uint64_t)size != v->manifest.components[v->next_component].size)
		return reader_fail(v, BUNDLE_ERR_SIZE,
				   "payload '%s' is %lld bytes, the manifest "
				   "says %llu", name, (long long)size,
				   (unsigned long long)v->manifest
					   .components[v->next_component].size);
	snprintf(v->member, sizeof(v->member), "%s", name);
	v->member_size = (uint64_t)size;
	v->member_got = 0;
	v->in_member = true;
	return 0;
}

static int consumer_fail(struct bundle_verifier *v, int rc, struct err *ce)
{
	if (rc >= 0)
		return 0;
	return reader_fail(v, BUNDLE_ERR_REJECTED, "%s",
			   ce->msg[0] ? ce->msg : "refused by the consumer");
}

/* Signature, then (and only then) the manifest's meaning. */
static int manifest_accept(struct bundle_verifier *v)
{
	const uint8_t *mt = (const uint8_t *)v->manifest_text.data;
	const uint8_t *st = (const uint8_t *)v->sig_text.data;
	char key_id[BUNDLE_KEY_ID_LEN + 1] = "";
	struct err ce;
	size_t i;
	int rc;

	if (!v->cfg.unsigned_ok) {
		rc = bundle_signature_check(v->cfg.keys, mt,
					    v->manifest_text.len, st,
					    v->sig_text.len, key_id, &v->err);
		if (rc < 0)
			return rc;
	} else if (bundle_signature_key_id(st, v->sig_text.len, key_id,
					   &ce) < 0) {
		key_id[0] = '\0';	/* inspect: named only if readable */
	}
	rc = bundle_manifest_parse(mt, v->manifest_text.len, &v->manifest,
				   &v->err);
	if (rc < 0)
		return rc;
	memcpy(v->manifest.key_id, key_id, sizeof(key_id));
	if (v->model[0]) {
		for (i = 0; i < v->manifest.nmodels; i++)
			if (!strcmp(v->manifest.models[i], v->model))
				break;
		if (i == v->manifest.nmodels)
			return reader_fail(v, BUNDLE_ERR_MODEL,
					   "bundle %s is not made for model "
					   "%s (it fits %s%s)",
					   v->manifest.version, v->model,
					   v->manifest.models[0],
					   v->manifest.nmodels > 1 ? ", ..."
								   : "");
	}
	v->manifest_ok = true;
	err_clear(&ce);
	if (v->ops && v->ops->manifest)
		return consumer_fail(v, v->ops->manifest(v->ctx, &v->manifest,
							 &ce), &ce);
	return 0;
}

static int payload_begin(struct bundle_verifier *v, bool *skip)
{
	const struct bundle_component *c =
		&v->manifest.components[v->next_component];
	struct err ce;
	int rc = 0;

	*skip = false;
	if (!v->sha)
		v->sha = EVP_MD_CTX_new();
	if (!v->sha || !EVP_DigestInit_ex(v->sha, EVP_sha256(), NULL))
		return reader_fail(v, BUNDLE_ERR_NOMEM, "out of memory");
	err_clear(&ce);
	if (v->ops && v->ops->component_begin)
		rc = v->ops->component_begin(v->ctx, c, &ce);
	if (rc == BUNDLE_SKIP)
		*skip = true;
	v->unhashed = rc == BUNDLE_TAKE_UNHASHED;
	return consumer_fail(v, rc, &ce);
}

static int payload_hash_check(struct bundle_verifier *v,
			      const struct bundle_component *c)
{
	char want[65], got[65];
	uint8_t digest[32];

	if (!EVP_DigestFinal_ex(v->sha, digest, NULL))
		return reader_fail(v, BUNDLE_ERR_NOMEM, "sha256 failed");
	if (memcmp(digest, c->sha256, sizeof(digest))) {
		hex_encode(c->sha256, 32, want);
		hex_encode(digest, 32, got);
		return reader_fail(v, BUNDLE_ERR_HASH,
				   "component '%s': sha256 mismatch (manifest "
				   "%.16s..., data %.16s...)", c->name, want,
				   got);
	}
	return 0;
}

static int payload_end(struct bundle_verifier *v)
{
	const struct bundle_component *c =
		&v->manifest.components[v->next_component];
	struct err ce;
	int rc = v->unhashed ? 0 : payload_hash_check(v, c);

	if (rc < 0)
		return rc;
	err_clear(&ce);
	if (v->ops && v->ops->component_end)
		return consumer_fail(v, v->ops->component_end(v->ctx, c, &ce),
				     &ce);
	return 0;
}

static int member_data(struct bundle_verifier *v, const uint8_t *p, size_t n,
		       bool skip)
{
	const struct bundle_component *c;
	struct err ce;
	int rc = 0;

	switch (v->stage) {
	case STAGE_MANIFEST:
		if (buf_append(&v->manifest_text, p, n) < 0)
			return reader_fail(v, BUNDLE_ERR_TOO_LARGE,
					   "manifest.json over the limit");
		return 0;
	case STAGE_SIGNATURE:
		if (buf_append(&v->sig_text, p, n) < 0)
			return reader_fail(v, BUNDLE_ERR_TOO_LARGE,
					   "manifest.sig over the limit");
		return 0;
	case STAGE_PAYLOADS:
		c = &v->manifest.components[v->next_component];
		if (!v->unhashed && !EVP_DigestUpdate(v->sha, p, n))
			return reader_fail(v, BUNDLE_ERR_NOMEM,
					   "sha256 failed");
		err_clear(&ce);
		if (!skip && v->ops && v->ops->component_data)
			rc = v->ops->component_data(v->ctx, c, p, n, &ce);
		return consumer_fail(v, rc, &ce);
	case STAGE_END:
		break;
	}
	return reader_fail(v, BUNDLE_ERR_EXTRA_MEMBER, "data after the end");
}

/* The member the archive needs next, for messages. */
static const char *member_expected(const struct bundle_verifier *v)
{
	switch (v->stage) {
	case STAGE_MANIFEST:
		return BUNDLE_MEMBER_MANIFEST;
	case STAGE_SIGNATURE:
		return BUNDLE_MEMBER_SIGNATURE;
	case STAGE_PAYLOADS:
		return v->manifest.components[v->next_component].name;
	case STAGE_END:
		break;
	}
	return "";
}

/* Truncation or damage, told apart by whether the input had ended. */
static int archive_fail(struct bundle_verifier *v, struct archive *a)
{
	if (input_has_ended(v)) {
		if (v->in_member)
			return reader_fail(v, BUNDLE_ERR_TRUNCATED,
					   "truncated: bundle ends inside "
					   "member '%s' at byte %llu of %llu",
					   v->member,
					   (unsigned long long)v->member_got,
					   (unsigned long long)v->member_size);
		return reader_fail(v, BUNDLE_ERR_TRUNCATED,
				   "truncated: bundle ends inside the tar "
				   "header at offset %llu%s%s%s",
				   (unsigned long long)v->header_offset,
				   v->member[0] ? " (after member '" : "",
				   v->member, v->member[0] ? "')" : "");
	}
	return reader_fail(v, BUNDLE_ERR_NOT_USTAR,
			   "not a valid ustar archive at offset %llu: %s",
			   (unsigned long long)v->header_offset,
			   archive_error_string(a) ? archive_error_string(a)
						   : "unreadable");
}

static int member_read(struct bundle_verifier *v, struct archive *a)
{
	bool skip = false;
	const void *block;
	int64_t offset;
	size_t n;
	int rc;

	if (v->stage == STAGE_PAYLOADS && (rc = payload_begin(v, &skip)) < 0)
		return rc;
	for (;;) {
		rc = archive_read_data_block(a, &block, &n, &offset);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK)
			return archive_fail(v, a);
		if (offset < 0 || (uint64_t)offset != v->member_got)
			return reader_fail(v, BUNDLE_ERR_NOT_USTAR,
					   "member '%s' has holes", v->member);
		if ((rc = member_data(v, block, n, skip)) < 0)
			return rc;
		v->member_got += n;
	}
	if (v->member_got != v->member_size)
		return input_has_ended(v) ? archive_fail(v, a)
					  : reader_fail(v, BUNDLE_ERR_SIZE,
							"member '%s' is short",
							v->member);
	v->in_member = false;
	v->header_offset += BUNDLE_TAR_BLOCK + round_block(v->member_size);
	switch (v->stage) {
	case STAGE_MANIFEST:
		v->stage = STAGE_SIGNATURE;
		return 0;
	case STAGE_SIGNATURE:
		v->stage = STAGE_PAYLOADS;
		return manifest_accept(v);
	case STAGE_PAYLOADS:
		if ((rc = payload_end(v)) < 0)
			return rc;
		if (++v->next_component == v->manifest.ncomponents)
			v->stage = STAGE_END;
		return 0;
	case STAGE_END:
		break;
	}
	return 0;
}

static int reader_run(struct bundle_verifier *v)
{
	struct archive_entry *entry;
	struct archive *a;
	int rc;

	a = archive_read_new();
	if (!a)
		return reader_fail(v, BUNDLE_ERR_NOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open(a, v, NULL, v->pull ? verifier_pull_cb
						  : verifier_read_cb,
			      NULL) != ARCHIVE_OK) {
		rc = archive_fail(v, a);
		if (rc == BUNDLE_ERR_NOT_USTAR && v->fed == 0)
			rc = reader_fail(v, BUNDLE_ERR_TRUNCATED,
					 "truncated: the bundle is empty");
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(a, &entry);
		if (rc == ARCHIVE_EOF && v->stage != STAGE_END &&
		    !input_has_ended(v)) {
			/* An end block where a member must be, with more
			 * input behind it (30 GiB of zeros once): certain
			 * now, so said now. */
			rc = reader_fail(v, BUNDLE_ERR_PAYLOAD_MISSING,
					 "archive ends before member '%s' (an "
					 "end-of-archive block at offset %llu)",
					 member_expected(v),
					 (unsigned long long)v->header_offset);
			break;
		}
		if (rc == ARCHIVE_EOF) {
			v->saw_eof_marker = true;
			rc = 0;
			break;
		}
		if (rc != ARCHIVE_OK && v->stage == STAGE_END &&
		    !input_has_ended(v)) {
			/* Where only the end blocks belong. */
			rc = reader_fail(v, BUNDLE_ERR_TRAILING_DATA,
					 "non-zero bytes after the last "
					 "member, at offset %llu",
					 (unsigned long long)v->header_offset);
			break;
		}
		if (rc != ARCHIVE_OK) {
			rc = archive_fail(v, a);
			break;
		}
		if ((rc = header_check(v, a, entry)) < 0 ||
		    (rc = member_read(v, a)) < 0)
			break;
	}
out:
	archive_read_free(a);
	return rc;
}

static void *reader_main(void *p)
{
	struct bundle_verifier *v = p;
	int rc = reader_run(v);

	pthread_mutex_lock(&v->mu);
	if (rc < 0 && !v->result)
		v->result = rc;
	v->reader_done = true;
	v->chunk_held = false;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

/* ---- caller side ---- */

struct bundle_verifier *bundle_verifier_new(
	const struct bundle_verify_config *cfg,
	const struct bundle_verifier_ops *ops, void *ctx)
{
	struct bundle_verifier *v;

	if (!cfg || (!cfg->keys && !cfg->unsigned_ok))
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->cfg = *cfg;
	if (cfg->model)
		snprintf(v->model, sizeof(v->model), "%s", cfg->model);
	v->cfg.model = NULL;
	v->ops = ops;
	v->ctx = ctx;
	buf_init(&v->manifest_text, BUNDLE_MANIFEST_MAX);
	buf_init(&v->sig_text, BUNDLE_SIGNATURE_MAX);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	return v;
}

/* Push mode: the reader thread starts with the first chunk. */
static int reader_start(struct bundle_verifier *v)
{
	if (v->thread_started)
		return 0;
	if (pthread_create(&v->thread, NULL, reader_main, v) != 0)
		return v->result = err_set(&v->err, BUNDLE_ERR_NOMEM,
					   "cannot start the reader thread");
	v->thread_started = true;
	return 0;
}

static void track_zeros(struct bundle_verifier *v, const uint8_t *p,
			size_t len)
{
	size_t i = len;

	while (i > 0 && p[i - 1] == 0)
		i--;
	if (i > 0)
		v->nonzero_end = v->fed + i;
	v->fed += len;
}

/*
 * After the end blocks (the reader done, stage END): anything but zeros,
 * or more zeros than BUNDLE_PADDING_MAX, is refused as soon as it arrives.
 */
static int padding_check(struct bundle_verifier *v)
{
	uint64_t end = v->header_offset;

	if (v->nonzero_end > end)
		return err_set(&v->err, BUNDLE_ERR_TRAILING_DATA,
			       "non-zero bytes after the last member, at "
			       "offset %llu", (unsigned long long)end);
	if (v->fed - end > BUNDLE_PADDING_MAX)
		return err_set(&v->err, BUNDLE_ERR_TRAILING_DATA,
			       "more than %llu bytes of padding after the "
			       "last member, at offset %llu",
			       (unsigned long long)BUNDLE_PADDING_MAX,
			       (unsigned long long)end);
	return 0;
}

int bundle_verifier_feed(struct bundle_verifier *v, const void *data,
			 size_t len)
{
	int rc;

	if (v->finished)
		return err_set(&v->err, BUNDLE_ERR_USAGE,
			       "feed after finish");
	if (len == 0)
		return v->result;
	if (reader_start(v) < 0)
		return v->result;
	track_zeros(v, data, len);
	pthread_mutex_lock(&v->mu);
	if (!v->reader_done) {
		v->chunk = data;
		v->chunk_len = len;
		v->chunk_offered = true;
		pthread_cond_broadcast(&v->cv);
		/* Wait until the reader is done with this chunk. */
		while ((v->chunk_offered || v->chunk_held) && !v->reader_done)
			pthread_cond_wait(&v->cv, &v->mu);
		v->chunk_offered = false;
	}
	if (v->reader_done && v->result == 0 && v->saw_eof_marker)
		v->result = padding_check(v);
	rc = v->result;
	pthread_mutex_unlock(&v->mu);
	return rc;
}

/* Checks the end: the zero blocks present, nothing but zeros after them. */
static int end_check(struct bundle_verifier *v)
{
	uint64_t end = v->header_offset;

	if (v->stage != STAGE_END) {
		bool marker = v->fed >= end + 2 * BUNDLE_TAR_BLOCK &&
			      v->nonzero_end <= end;
		const char *what = member_expected(v);

		if (marker)
			return err_set(&v->err, BUNDLE_ERR_PAYLOAD_MISSING,
				       "archive ends before member '%s'",
				       what);
		return err_set(&v->err, BUNDLE_ERR_TRUNCATED,
			       "truncated: bundle ends at byte %llu, before "
			       "member '%s'", (unsigned long long)v->fed,
			       what);
	}
	if (v->nonzero_end > end)
		return err_set(&v->err, BUNDLE_ERR_TRAILING_DATA,
			       "non-zero bytes after the last member, at "
			       "offset %llu", (unsigned long long)end);
	if (v->fed < end + 2 * BUNDLE_TAR_BLOCK)
		return err_set(&v->err, BUNDLE_ERR_TRUNCATED,
			       "truncated: the end-of-archive blocks at "
			       "offset %llu are missing",
			       (unsigned long long)end);
	return 0;
}

static void reader_stop(struct bundle_verifier *v, bool abort)
{
	pthread_mutex_lock(&v->mu);
	v->input_ended = true;
	v->aborted = abort;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	if (v->thread_started) {
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}

/* The verdict on the end of input, once the reader has stopped. */
static int verdict(struct bundle_verifier *v)
{
	v->finished = true;
	if (v->result == 0 && v->saw_eof_marker)
		v->result = end_check(v);
	else if (v->result == 0)
		v->result = err_set(&v->err, BUNDLE_ERR_TRUNCATED,
				    "truncated: the archive did not end");
	return v->result;
}

int bundle_verifier_finish(struct bundle_verifier *v)
{
	if (v->finished)
		return v->result;
	/* Even no input at all gets the reader's verdict on it. */
	if (!v->pull && reader_start(v) < 0) {
		v->finished = true;
		return v->result;
	}
	reader_stop(v, false);
	return verdict(v);
}

int bundle_verifier_run(struct bundle_verifier *v, bundle_pull_fn pull,
			void *arg)
{
	int rc;

	if (v->finished || v->thread_started || v->pull)
		return err_set(&v->err, BUNDLE_ERR_USAGE,
			       "pull after feed or finish");
	v->pull = pull;
	v->pull_arg = arg;
	v->pull_buf = malloc(VERIFY_PULL_CHUNK);
	if (!v->pull_buf) {
		v->finished = true;
		return v->result = err_set(&v->err, BUNDLE_ERR_NOMEM,
					   "out of memory");
	}
	rc = reader_run(v);
	/* What follows the end blocks is read to the end of input: tar
	 * writers pad with zeros, and anything else is an error. */
	while (rc == 0 && !v->input_ended && !v->pull_rc &&
	       (rc = padding_check(v)) == 0) {
		const void *ignored;

		verifier_pull_cb(NULL, v, &ignored);
	}
	input_end(v);
	v->result = rc;
	if (v->pull_rc) {
		v->err = v->pull_err;
		v->result = v->pull_rc;
	}
	free(v->pull_buf);
	v->pull_buf = NULL;
	return verdict(v);
}

const struct err *bundle_verifier_error(const struct bundle_verifier *v)
{
	return &v->err;
}

const struct bundle_manifest *bundle_verifier_manifest(
	const struct bundle_verifier *v)
{
	return v->manifest_ok ? &v->manifest : NULL;
}

int bundle_verifier_signed_manifest(const struct bundle_verifier *v,
				    struct slice *manifest, struct slice *sig)
{
	if (!v->manifest_ok)
		return -1;
	manifest->ptr = (const uint8_t *)v->manifest_text.data;
	manifest->len = v->manifest_text.len;
	sig->ptr = (const uint8_t *)v->sig_text.data;
	sig->len = v->sig_text.len;
	return 0;
}

uint64_t bundle_verifier_bytes_fed(const struct bundle_verifier *v)
{
	return v->fed;
}

void bundle_verifier_free(struct bundle_verifier *v)
{
	if (!v)
		return;
	reader_stop(v, true);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cv);
	buf_free(&v->manifest_text);
	buf_free(&v->sig_text);
	EVP_MD_CTX_free(v->sha);
	free(v);
}

static int feed_piece(void *ctx, const uint8_t *data, size_t len,
		      struct err *e)
{
	(void)e;
	return bundle_verifier_feed(ctx, data, len);
}

int bundle_verify_file(const char *path, const struct bundle_verify_config *cfg,
		       const struct bundle_verifier_ops *ops, void *ctx,
		       struct bundle_manifest *out, struct err *e)
{
	struct bundle_verifier *v;
	uint8_t *chunk = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, BUNDLE_ERR_IO, "%s: %m", path);
	v = bundle_verifier_new(cfg, ops, ctx);
	if (!v) {
		close(fd);
		return err_set(e, BUNDLE_ERR_NOMEM, "out of memory");
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* A regular file is hashed straight from the page cache. */
	rc = fs_map_each(fd, FS_MAP_WINDOW, feed_piece, v, e);
	if (rc == 0)
		rc = bundle_verifier_finish(v);
	if (rc == 1)
		chunk = malloc(VERIFY_FILE_CHUNK);
	while (rc == 1) {
		ssize_t n = chunk ? read(fd, chunk, VERIFY_FILE_CHUNK) : -1;

		if (n < 0 && errno == EINTR)
			continue;
		if (!chunk)
			rc = err_set(e, BUNDLE_ERR_NOMEM, "out of memory");
		else if (n < 0)
			rc = err_set(e, BUNDLE_ERR_IO, "%s: read failed: %m",
				     path);
		else if (n == 0)
			rc = bundle_verifier_finish(v);
		else if ((rc = bundle_verifier_feed(v, chunk, (size_t)n)) == 0)
			rc = 1;
	}
	if (rc < 0 && bundle_verifier_error(v)->code < 0)
		*e = *bundle_verifier_error(v);
	else if (rc == FS_MAP_FAILED)
		rc = e->code = BUNDLE_ERR_IO;
	if (rc == 0 && out)
		*out = *bundle_verifier_manifest(v);
	bundle_verifier_free(v);
	free(chunk);
	close(fd);
	return rc;
}
