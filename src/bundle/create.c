/*
 * create.c: writes a signed bundle. Two passes over each component file:
 * one to hash it for the manifest, one to copy it into the archive while
 * hashing again, so a file that changes in between is caught, not shipped.
 * The output appears under its name only when complete (temp + rename).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"

#define CREATE_CHUNK (1024 * 1024)
#define BUNDLE_XML_MAX 4096

/* Hashes path (or, when out is given, also writes it to the archive). */
static int component_pass(const char *path, struct archive *out,
			  uint8_t *chunk, uint64_t *size, uint8_t sha[32],
			  struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t total = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !md) {
		EVP_MD_CTX_free(md);
		if (fd >= 0)
			close(fd);
		return err_set(e, BUNDLE_ERR_IO, "%s: %m", path);
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = read(fd, chunk, CREATE_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(e, BUNDLE_ERR_IO, "%s: read failed: %m",
				     path);
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, chunk, (size_t)n);
		total += (uint64_t)n;
		if (total > BUNDLE_COMPONENT_MAX) {
			rc = err_set(e, BUNDLE_ERR_TOO_LARGE,
				     "%s: over the component limit of %llu "
				     "bytes", path,
				     (unsigned long long)BUNDLE_COMPONENT_MAX);
			break;
		}
		if (out && archive_write_data(out, chunk, (size_t)n) != n) {
			rc = err_set(e, BUNDLE_ERR_IO, "writing %s: %s", path,
				     archive_error_string(out));
			break;
		}
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	close(fd);
	*size = total;
	return rc;
}

static int bundle_xml_make(const struct bundle_manifest *m, struct buf *xml,
			   uint64_t payload_bytes)
{
	/* The family's code load estimate: a minute plus 1 s per 16 MiB. */
	unsigned long long seconds = 60 + payload_bytes / (16u << 20);
	size_t i;
	int rc;

	rc = buf_appendf(xml,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<BUNDLE version=\"%s\" build_date=\"%s\" "
			 "seconds=\"%llu\">\n", m->version, m->build_date,
			 seconds);
	for (i = 1; rc == 0 && i < m->ncomponents; i++)
		rc = buf_appendf(xml,
				 "  <COMPONENT name=\"%s\" version=\"%s\"/>\n",
				 m->components[i].name,
				 m->components[i].version);
	if (rc == 0)
		rc = buf_append_str(xml, "</BUNDLE>\n");
	return rc;
}

static int spec_check(const struct bundle_create_spec *spec,
		      struct bundle_manifest *m, struct err *e)
{
	size_t i, j;

	memset(m, 0, sizeof(*m));
	m->format = BUNDLE_FORMAT_VERSION;
	if (!spec->version || !bundle_version_valid(spec->version))
		return err_set(e, BUNDLE_ERR_USAGE,
			       "bundle version must look like TS250P003 or "
			       "M112R14-02");
	snprintf(m->version, sizeof(m->version), "%s", spec->version);
	if (spec->nmodels == 0 || spec->nmodels > BUNDLE_MODELS_MAX)
		return err_set(e, BUNDLE_ERR_USAGE,
			       "give 1 to %d --model", BUNDLE_MODELS_MAX);
	for (i = 0; i < spec->nmodels; i++) {
		if (!bundle_name_valid(spec->models[i]))
			return err_set(e, BUNDLE_ERR_USAGE,
				       "model '%s' is not a valid name",
				       spec->models[i]);
		snprintf(m->models[i], sizeof(m->models[i]), "%s",
			 spec->models[i]);
	}
	m->nmodels = spec->nmodels;
	/* One slot goes to bundle.xml. */
	if (spec->ncomponents == 0 ||
	    spec->ncomponents > BUNDLE_COMPONENTS_MAX - 1)
		return err_set(e, BUNDLE_ERR_USAGE, "give 1 to %d --component",
			       BUNDLE_COMPONENTS_MAX - 1);
	for (i = 0; i < spec->ncomponents; i++) {
		const struct bundle_create_component *c = &spec->components[i];

		if (!bundle_name_valid(c->name) ||
		    !strcmp(c->name, BUNDLE_XML_COMPONENT) ||
		    !strcmp(c->name, BUNDLE_MEMBER_MANIFEST) ||
		    !strcmp(c->name, BUNDLE_MEMBER_SIGNATURE))
			return err_set(e, BUNDLE_ERR_USAGE,
				       "component name '%s' is not allowed",
				       c->name);
		if (!c->version || !*c->version ||
		    strlen(c->version) >= BUNDLE_VERSION_MAX)
			return err_set(e, BUNDLE_ERR_USAGE,
				       "component '%s' needs a version",
				       c->name);
		for (j = 0; j < i; j++)
			if (!strcmp(spec->components[j].name, c->name))
				return err_set(e, BUNDLE_ERR_USAGE,
					       "component '%s' given twice",
					       c->name);
	}
	if (spec->npartner_compat > BUNDLE_PARTNER_COMPAT_MAX)
		return err_set(e, BUNDLE_ERR_USAGE, "give at most %d "
			       "--partner-compat", BUNDLE_PARTNER_COMPAT_MAX);
	for (i = 0; i < spec->npartner_compat; i++) {
		if (!bundle_partner_pattern_valid(spec->partner_compat[i]))
			return err_set(e, BUNDLE_ERR_USAGE,
				       "partner_compat '%s' is not a version "
				       "or a prefix ending in '*' (TS250P002, "
				       "TS250*)", spec->partner_compat[i]);
		snprintf(m->partner_compat[i], sizeof(m->partner_compat[i]),
			 "%s", spec->partner_compat[i]);
	}
	m->npartner_compat = spec->npartner_compat;
	m->security_version = spec->security_version;
	return 0;
}

static int entry_write(struct archive *a, const char *name, uint64_t size,
		       time_t mtime, struct err *e)
{
	struct archive_entry *entry = archive_entry_new();
	int rc = 0;

	archive_entry_set_pathname(entry, name);
	archive_entry_set_size(entry, (la_int64_t)size);
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_perm(entry, 0644);
	archive_entry_set_mtime(entry, mtime, 0);
	archive_entry_set_uname(entry, "tandem");
	archive_entry_set_gname(entry, "tandem");
	if (archive_write_header(a, entry) != ARCHIVE_OK)
		rc = err_set(e, BUNDLE_ERR_IO, "writing header of %s: %s",
			     name, archive_error_string(a));
	archive_entry_free(entry);
	return rc;
}

static int memory_member(struct archive *a, const char *name,
			 const struct buf *data, time_t mtime, struct err *e)
{
	int rc = entry_write(a, name, data->len, mtime, e);

	if (rc == 0 && data->len &&
	    archive_write_data(a, data->data, data->len) !=
		    (la_ssize_t)data->len)
		rc = err_set(e, BUNDLE_ERR_IO, "writing %s: %s", name,
			     archive_error_string(a));
	return rc;
}

static int archive_write_all(const struct bundle_create_spec *spec,
			     const struct bundle_manifest *m,
			     const struct buf *xml, const struct buf *manifest,
			     const struct buf *sig, int fd, uint8_t *chunk,
			     time_t now, struct err *e)
{
	struct archive *a = archive_write_new();
	uint8_t sha[32];
	uint64_t size;
	size_t i;
	int rc;

	if (!a)
		return err_set(e, BUNDLE_ERR_NOMEM, "out of memory");
	archive_write_set_format_ustar(a);
	/* No record padding: the archive ends with its two zero blocks. */
	archive_write_set_bytes_per_block(a, BUNDLE_TAR_BLOCK);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		rc = err_set(e, BUNDLE_ERR_IO, "%s", archive_error_string(a));
		goto out;
	}
	if ((rc = memory_member(a, BUNDLE_MEMBER_MANIFEST, manifest, now,
				e)) < 0 ||
	    (rc = memory_member(a, BUNDLE_MEMBER_SIGNATURE, sig, now, e)) < 0 ||
	    (rc = memory_member(a, BUNDLE_XML_COMPONENT, xml, now, e)) < 0)
		goto out;
	for (i = 0; i < spec->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i + 1];

		if ((rc = entry_write(a, c->name, c->size, now, e)) < 0 ||
		    (rc = component_pass(spec->components[i].path, a, chunk,
					 &size, sha, e)) < 0)
			goto out;
		if (size != c->size || memcmp(sha, c->sha256, 32)) {
			rc = err_set(e, BUNDLE_ERR_IO,
				     "%s changed while it was being bundled",
				     spec->components[i].path);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = err_set(e, BUNDLE_ERR_IO, "%s", archive_error_string(a));
out:
	archive_write_free(a);
	return rc;
}

int bundle_create(const struct bundle_create_spec *spec, const char *out_path,
		  struct err *e)
{
	struct buf xml, manifest, sig;
	struct bundle_manifest m;
	char tmp[PATH_MAX];
	uint64_t payload = 0;
	uint8_t *chunk = NULL;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int fd = -1, rc;

	buf_init(&xml, BUNDLE_XML_MAX);
	buf_init(&manifest, BUNDLE_MANIFEST_MAX);
	buf_init(&sig, BUNDLE_SIGNATURE_MAX);
	if ((rc = spec_check(spec, &m, e)) < 0)
		goto out;
	if (spec->build_date)
		snprintf(m.build_date, sizeof(m.build_date), "%s",
			 spec->build_date);
	else
		strftime(m.build_date, sizeof(m.build_date),
			 "%a %b %d %H:%M:%S UTC %Y", gmtime_r(&now, &tm));
	chunk = malloc(CREATE_CHUNK);
	if (!chunk) {
		rc = err_set(e, BUNDLE_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Slot 0 is bundle.xml, filled in once the others are known. */
	m.ncomponents = spec->ncomponents + 1;
	for (i = 0; i < spec->ncomponents; i++) {
		struct bundle_component *c = &m.components[i + 1];

		snprintf(c->name, sizeof(c->name), "%s",
			 spec->components[i].name);
		snprintf(c->version, sizeof(c->version), "%s",
			 spec->components[i].version);
		c->flags = spec->components[i].flags;
		rc = component_pass(spec->components[i].path, NULL, chunk,
				    &c->size, c->sha256, e);
		if (rc < 0)
			goto out;
		payload += c->size;
	}
	snprintf(m.components[0].name, BUNDLE_NAME_MAX, "%s",
		 BUNDLE_XML_COMPONENT);
	snprintf(m.components[0].version, BUNDLE_VERSION_MAX, "%s", m.version);
	if (bundle_xml_make(&m, &xml, payload) < 0) {
		rc = err_set(e, BUNDLE_ERR_TOO_LARGE, "bundle.xml too large");
		goto out;
	}
	m.components[0].size = xml.len;
	EVP_Digest(xml.data, xml.len, m.components[0].sha256, NULL,
		   EVP_sha256(), NULL);
	if ((rc = bundle_manifest_render(&m, &manifest, e)) < 0 ||
	    (rc = bundle_signature_make(spec->key_path,
					(const uint8_t *)manifest.data,
					manifest.len, &sig, e)) < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = err_set(e, BUNDLE_ERR_IO, "%s: %m", tmp);
		goto out;
	}
	rc = archive_write_all(spec, &m, &xml, &manifest, &sig, fd, chunk, now,
			       e);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_set(e, BUNDLE_ERR_IO, "%s: fsync failed: %m", tmp);
	close(fd);
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = err_set(e, BUNDLE_ERR_IO, "%s: %m", out_path);
	if (rc < 0)
		unlink(tmp);
out:
	free(chunk);
	buf_free(&xml);
	buf_free(&manifest);
	buf_free(&sig);
	return rc;
}
