/*
 * manifest.c: manifest.json <-> struct bundle_manifest. Strict: unknown
 * keys, wrong types, duplicate keys and out-of-range values are errors,
 * because a signed manifest must mean exactly one thing. No I/O here.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"

static const struct {
	const char *name;
	unsigned flag;
} bundle_flag_names[] = {
	{ "executable", BUNDLE_FLAG_EXECUTABLE },
};

static bool safe_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Component and model names: 1..31 safe characters, not starting with '.'. */
bool bundle_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= BUNDLE_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!safe_char(name[i]))
			return false;
	return true;
}

static bool version_text_valid(const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len >= BUNDLE_VERSION_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!safe_char(v[i]))
			return false;
	return true;
}

bool bundle_partner_pattern_valid(const char *pattern)
{
	size_t i, len = strlen(pattern);

	if (len == 0 || len >= BUNDLE_VERSION_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!safe_char(pattern[i]) &&
		    !(pattern[i] == '*' && i == len - 1))
			return false;
	return true;
}

bool bundle_manifest_tolerates(const struct bundle_manifest *m,
			       const char *partner_version)
{
	size_t i;

	if (m->npartner_compat == 0)
		return true;
	for (i = 0; i < m->npartner_compat; i++) {
		const char *p = m->partner_compat[i];
		size_t len = strlen(p);

		if (len > 0 && p[len - 1] == '*' ?
		    !strncmp(p, partner_version, len - 1) :
		    !strcmp(p, partner_version))
			return true;
	}
	return false;
}

static int keys_allowed(json_t *obj, const char *const *allowed, size_t n,
			const char *where, struct err *e)
{
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(obj, key, val) {
		for (i = 0; i < n; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (i == n)
			return err_set(e, BUNDLE_ERR_MANIFEST,
				       "manifest: unknown key '%.40s' in %s",
				       key, where);
	}
	return 0;
}

static int get_string(json_t *obj, const char *key, char *out, size_t outlen,
		      const char *where, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v || !json_is_string(v))
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: %s needs string '%s'", where, key);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) >= outlen)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: %s '%s' is too long or has NUL",
			       where, key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int parse_flags(json_t *arr, unsigned *flags, const char *cname,
		       struct err *e)
{
	size_t i, j;
	json_t *f;

	*flags = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: component '%s' flags must be a list",
			       cname);
	json_array_foreach(arr, i, f) {
		const char *s = json_is_string(f) ? json_string_value(f) : "";

		for (j = 0; j < ARRAY_SIZE(bundle_flag_names); j++)
			if (!strcmp(s, bundle_flag_names[j].name))
				break;
		if (j == ARRAY_SIZE(bundle_flag_names))
			return err_set(e, BUNDLE_ERR_MANIFEST,
				       "manifest: component '%s' has an "
				       "unknown flag", cname);
		*flags |= bundle_flag_names[j].flag;
	}
	return 0;
}

static int parse_component(json_t *obj, size_t index,
			   struct bundle_component *c, struct err *e)
{
	static const char *const keys[] = { "name", "version", "size",
					    "sha256", "flags" };
	char where[64], hex[65];
	json_t *size;
	int rc;

	snprintf(where, sizeof(where), "component %zu", index + 1);
	if (!json_is_object(obj))
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: %s is not an object", where);
	if ((rc = keys_allowed(obj, keys, ARRAY_SIZE(keys), where, e)) < 0)
		return rc;
	if ((rc = get_string(obj, "name", c->name, sizeof(c->name), where,
			     e)) < 0)
		return rc;
	if (!bundle_name_valid(c->name) ||
	    !strcmp(c->name, BUNDLE_MEMBER_MANIFEST) ||
	    !strcmp(c->name, BUNDLE_MEMBER_SIGNATURE))
		return err_set(e, BUNDLE_ERR_BAD_NAME,
			       "manifest: %s has a bad name", where);
	if ((rc = get_string(obj, "version", c->version, sizeof(c->version),
			     where, e)) < 0)
		return rc;
	if (!version_text_valid(c->version))
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: component '%s' has a bad version",
			       c->name);
	size = json_object_get(obj, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: component '%s' needs a size",
			       c->name);
	c->size = (uint64_t)json_integer_value(size);
	if (c->size > BUNDLE_COMPONENT_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "manifest: component '%s' is %llu bytes, over "
			       "the limit of %llu", c->name,
			       (unsigned long long)c->size,
			       (unsigned long long)BUNDLE_COMPONENT_MAX);
	if ((rc = get_string(obj, "sha256", hex, sizeof(hex), where, e)) < 0)
		return rc;
	if (hex_decode(hex, c->sha256, sizeof(c->sha256)) < 0)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: component '%s' sha256 is not 64 hex "
			       "digits", c->name);
	return parse_flags(json_object_get(obj, "flags"), &c->flags, c->name,
			   e);
}

static int parse_models(json_t *arr, struct bundle_manifest *m,
			struct err *e)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: 'models' must be a non-empty list");
	if (json_array_size(arr) > BUNDLE_MODELS_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "manifest: %zu models, over the limit of %d",
			       json_array_size(arr), BUNDLE_MODELS_MAX);
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (!bundle_name_valid(s) || strlen(s) != json_string_length(v))
			return err_set(e, BUNDLE_ERR_MANIFEST,
				       "manifest: model %zu is not a valid "
				       "name", i + 1);
		memcpy(m->models[i], s, strlen(s) + 1);
	}
	m->nmodels = json_array_size(arr);
	return 0;
}

static int parse_components(json_t *arr, struct bundle_manifest *m,
			    struct err *e)
{
	size_t i, j;
	json_t *v;
	int rc;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: 'components' must be a non-empty "
			       "list");
	if (json_array_size(arr) > BUNDLE_COMPONENTS_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "manifest: %zu components, over the limit of "
			       "%d", json_array_size(arr),
			       BUNDLE_COMPONENTS_MAX);
	json_array_foreach(arr, i, v) {
		rc = parse_component(v, i, &m->components[i], e);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++)
			if (!strcmp(m->components[j].name,
				    m->components[i].name))
				return err_set(e, BUNDLE_ERR_DUPLICATE_MEMBER,
					       "manifest: component '%s' is "
					       "listed twice",
					       m->components[i].name);
	}
	m->ncomponents = json_array_size(arr);
	return 0;
}

/* Optional; when present, a non-empty list of valid patterns. */
static int parse_partner_compat(json_t *arr, struct bundle_manifest *m,
				struct err *e)
{
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: 'partner_compat' must be a non-empty "
			       "list");
	if (json_array_size(arr) > BUNDLE_PARTNER_COMPAT_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "manifest: %zu partner_compat patterns, over "
			       "the limit of %d", json_array_size(arr),
			       BUNDLE_PARTNER_COMPAT_MAX);
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strlen(s) != json_string_length(v) ||
		    !bundle_partner_pattern_valid(s))
			return err_set(e, BUNDLE_ERR_MANIFEST,
				       "manifest: partner_compat %zu is not a "
				       "version or a prefix ending in '*'",
				       i + 1);
		memcpy(m->partner_compat[i], s, strlen(s) + 1);
	}
	m->npartner_compat = json_array_size(arr);
	return 0;
}

/* Optional: an integer from 0 to BUNDLE_SECURITY_VERSION_MAX; absent, 0. */
static int parse_security_version(json_t *v, struct bundle_manifest *m,
				  struct err *e)
{
	json_int_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: 'security_version' must be an "
			       "unsigned integer");
	n = json_integer_value(v);
	if (n < 0 || (unsigned long long)n > BUNDLE_SECURITY_VERSION_MAX)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: 'security_version' %lld is outside "
			       "0..%llu", (long long)n,
			       (unsigned long long)BUNDLE_SECURITY_VERSION_MAX);
	m->security_version = (uint32_t)n;
	return 0;
}

int bundle_manifest_parse(const uint8_t *text, size_t len,
			  struct bundle_manifest *m, struct err *e)
{
	static const char *const keys[] = { "format", "version", "build_date",
					    "models", "components",
					    "partner_compat",
					    "security_version" };
	json_error_t jerr;
	json_t *root, *format;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len > BUNDLE_MANIFEST_MAX)
		return err_set(e, BUNDLE_ERR_TOO_LARGE,
			       "manifest: %zu bytes, over the limit of %d",
			       len, BUNDLE_MANIFEST_MAX);
	root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root)
		return err_set(e, BUNDLE_ERR_MANIFEST,
			       "manifest: malformed JSON at line %d column "
			       "%d: %s", jerr.line, jerr.column, jerr.text);
	rc = err_set(e, BUNDLE_ERR_MANIFEST, "manifest: not a JSON object");
	if (!json_is_object(root))
		goto out;
	/* The format first: a newer format may have keys we don't know. */
	format = json_object_get(root, "format");
	if (!json_is_integer(format)) {
		rc = err_set(e, BUNDLE_ERR_MANIFEST,
			     "manifest: needs integer 'format'");
		goto out;
	}
	if (json_integer_value(format) != BUNDLE_FORMAT_VERSION) {
		rc = err_set(e, BUNDLE_ERR_FORMAT_VERSION,
			     "manifest: format %lld is not supported (this "
			     "controller reads format %d)",
			     (long long)json_integer_value(format),
			     BUNDLE_FORMAT_VERSION);
		goto out;
	}
	m->format = BUNDLE_FORMAT_VERSION;
	if ((rc = keys_allowed(root, keys, ARRAY_SIZE(keys), "the manifest",
			       e)) < 0)
		goto out;
	if ((rc = get_string(root, "version", m->version, sizeof(m->version),
			     "the manifest", e)) < 0)
		goto out;
	if (!bundle_version_valid(m->version)) {
		rc = err_set(e, BUNDLE_ERR_MANIFEST,
			     "manifest: bundle version is not of the form "
			     "TS250P003");
		goto out;
	}
	if ((rc = get_string(root, "build_date", m->build_date,
			     sizeof(m->build_date), "the manifest", e)) < 0)
		goto out;
	if ((rc = parse_models(json_object_get(root, "models"), m, e)) < 0)
		goto out;
	if ((rc = parse_components(json_object_get(root, "components"), m,
				   e)) < 0)
		goto out;
	if ((rc = parse_partner_compat(json_object_get(root, "partner_compat"),
				       m, e)) < 0)
		goto out;
	rc = parse_security_version(json_object_get(root, "security_version"),
				    m, e);
out:
	json_decref(root);
	return rc;
}

int bundle_manifest_render(const struct bundle_manifest *m, struct buf *out,
			   struct err *e)
{
	json_t *root, *models, *comps;
	char *text;
	size_t i, j;
	int rc = 0;

	root = json_object();
	models = json_array();
	comps = json_array();
	json_object_set_new(root, "format", json_integer(m->format));
	json_object_set_new(root, "version", json_string(m->version));
	json_object_set_new(root, "build_date", json_string(m->build_date));
	for (i = 0; i < m->nmodels; i++)
		json_array_append_new(models, json_string(m->models[i]));
	json_object_set_new(root, "models", models);
	for (i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];
		json_t *obj = json_object(), *flags = json_array();
		char hex[65];

		hex_encode(c->sha256, sizeof(c->sha256), hex);
		json_object_set_new(obj, "name", json_string(c->name));
		json_object_set_new(obj, "version", json_string(c->version));
		json_object_set_new(obj, "size",
				    json_integer((json_int_t)c->size));
		json_object_set_new(obj, "sha256", json_string(hex));
		for (j = 0; j < ARRAY_SIZE(bundle_flag_names); j++)
			if (c->flags & bundle_flag_names[j].flag)
				json_array_append_new(flags,
					json_string(bundle_flag_names[j].name));
		json_object_set_new(obj, "flags", flags);
		json_array_append_new(comps, obj);
	}
	json_object_set_new(root, "components", comps);
	/* Absent when empty: a bundle without it reads as before. */
	if (m->npartner_compat) {
		json_t *compat = json_array();

		for (i = 0; i < m->npartner_compat; i++)
			json_array_append_new(compat,
				json_string(m->partner_compat[i]));
		json_object_set_new(root, "partner_compat", compat);
	}
	/* Absent when 0, as above: controllers of older builds refuse a
	 * manifest key they do not know. */
	if (m->security_version)
		json_object_set_new(root, "security_version",
				    json_integer(m->security_version));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return err_set(e, BUNDLE_ERR_NOMEM, "manifest: out of memory");
	buf_reset(out);
	if (buf_append_str(out, text) < 0 || buf_append_str(out, "\n") < 0)
		rc = err_set(e, BUNDLE_ERR_TOO_LARGE,
			     "manifest: over the limit of %zu bytes", out->max);
	free(text);
	return rc;
}

const struct bundle_component *bundle_manifest_find(
	const struct bundle_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ncomponents; i++)
		if (!strcmp(m->components[i].name, name))
			return &m->components[i];
	return NULL;
}
