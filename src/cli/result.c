/*
 * result.c: the result model every command fills and every renderer reads.
 * Values are copied in and sanitised here, once, so renderers can trust
 * them to be valid UTF-8 without control characters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_result_init(struct cli_result *r)
{
	memset(r, 0, sizeof(*r));
}

void cli_result_free(struct cli_result *r)
{
	size_t i, j;

	for (i = 0; i < r->nobjects; i++)
		for (j = 0; j < r->objects[i].nprops; j++)
			free(r->objects[i].props[j].value);
	free(r->objects);
	cli_result_init(r);
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * A copy of in with every control character and every byte that is not
 * part of valid UTF-8 replaced by '?': XML 1.0 cannot carry them and
 * jansson refuses them, and an operator's terminal should not obey them.
 */
static char *sanitize(const char *in, size_t len, bool newlines)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out = malloc(len + 1);
	size_t i = 0, o = 0;

	if (!out)
		return NULL;
	while (i < len) {
		size_t n = utf8_sequence(s + i, len - i);

		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f) &&
			       !(newlines && s[i] == '\n'))) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

char *cli_text_sanitize(const char *in, size_t len)
{
	return sanitize(in, len, false);
}

struct cli_object *cli_result_object(struct cli_result *r,
				     const char *basetype, const char *name,
				     const char *meta)
{
	struct cli_object *o;

	if (r->nobjects >= CLI_OBJECTS_MAX) {
		r->overflow = true;
		return NULL;
	}
	if (r->nobjects == r->capacity) {
		size_t cap = r->capacity ? r->capacity * 2 : 8;
		struct cli_object *p = realloc(r->objects, cap * sizeof(*p));

		if (!p) {
			r->overflow = true;
			return NULL;
		}
		r->objects = p;
		r->capacity = cap;
	}
	o = &r->objects[r->nobjects++];
	memset(o, 0, sizeof(*o));
	o->basetype = basetype;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->meta = meta;
	o->oid = (unsigned)r->nobjects;
	return o;
}

struct cli_property *cli_object_add(struct cli_object *o, const char *name,
				    const char *display_name,
				    enum cli_prop_type type, unsigned size,
				    const char *value)
{
	struct cli_property *p;

	if (!o || o->nprops >= CLI_PROPERTIES_MAX)
		return NULL;
	p = &o->props[o->nprops];
	/* Only the console's own text (help) may span lines. */
	p->value = sanitize(value, strlen(value),
			    o->style == CLI_CONSOLE_TEXT);
	if (!p->value)
		return NULL;
	o->nprops++;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->display_name = display_name;
	p->type = type;
	p->size = size;
	p->sort = "string";
	p->draw = true;
	p->console = true;
	return p;
}

struct cli_property *cli_object_add_u(struct cli_object *o, const char *name,
				      const char *display_name,
				      enum cli_prop_type type, unsigned size,
				      uint64_t value)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
	return cli_object_add(o, name, display_name, type, size, text);
}

struct cli_property *cli_object_add_s32(struct cli_object *o,
					const char *name,
					const char *display_name,
					unsigned size, int32_t value)
{
	char text[16];

	snprintf(text, sizeof(text), "%d", value);
	return cli_object_add(o, name, display_name, CLI_PROP_SINT32, size,
			      text);
}

/*
 * The family's enumerations: the text, then a "-numeric" twin holding the
 * number, which the console does not show.
 */
void cli_object_add_enum(struct cli_object *o, const char *name,
			 const char *display_name, unsigned size,
			 const char *text, uint32_t numeric)
{
	char twin[CLI_FIELD_MAX];
	struct cli_property *p;

	if (!cli_object_add(o, name, display_name, CLI_PROP_STRING, size,
			    text))
		return;
	snprintf(twin, sizeof(twin), "%s-numeric", name);
	p = cli_object_add_u(o, twin, display_name, CLI_PROP_UINT32, size,
			     numeric);
	if (p)
		p->console = false;
}

static void message_set(struct cli_message *m, enum cli_response_type type,
			const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void message_set(struct cli_message *m, enum cli_response_type type,
			const char *fmt, va_list ap)
{
	char raw[sizeof(m->text)];
	char *clean;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	m->type = type;
	clean = cli_text_sanitize(raw, strlen(raw));
	snprintf(m->text, sizeof(m->text), "%s", clean ? clean : "");
	free(clean);
}

void cli_result_info(struct cli_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->ninfos >= ARRAY_SIZE(r->infos))
		return;
	va_start(ap, fmt);
	message_set(&r->infos[r->ninfos++], CLI_RESPONSE_INFO, fmt, ap);
	va_end(ap);
}

void cli_result_status(struct cli_result *r, enum cli_response_type type,
		       int return_code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message_set(&r->status, type, fmt, ap);
	va_end(ap);
	r->return_code = return_code;
}

const char *cli_response_type_name(enum cli_response_type t)
{
	switch (t) {
	case CLI_RESPONSE_SUCCESS:
		return "Success";
	case CLI_RESPONSE_ERROR:
		return "Error";
	case CLI_RESPONSE_INFO:
		return "Info";
	case CLI_RESPONSE_WARNING:
		return "Warning";
	}
	return "Error";
}

/* The family's "2018-11-29 22:50:53"; controllers keep UTC. */
void cli_time_format(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, 32, "1970-01-01 00:00:00");
		return;
	}
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/*
 * The status object that ends every XML and JSON reply (MSA-REFERENCE.md,
 * "XML API documents"): property names, types, sizes and order as the
 * family has them. Info lines become status objects of type Info before it.
 */
int cli_status_object(const struct cli_message *m, int return_code,
		      time_t t, unsigned oid, struct cli_object *o)
{
	char stamp[32];
	struct cli_property *p;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->basetype = "status";
	snprintf(o->name, sizeof(o->name), "status");
	o->meta = "/meta/status";
	o->oid = oid;
	o->style = CLI_CONSOLE_HIDDEN;
	cli_time_format(t, stamp);
	cli_object_add(o, "response-type", "Response Type", CLI_PROP_STRING,
		       12, cli_response_type_name(m->type));
	cli_object_add_u(o, "response-type-numeric", "Response Type",
			 CLI_PROP_UINT32, 12, (uint64_t)m->type);
	cli_object_add(o, "response", "Response", CLI_PROP_STRING, 180,
		       m->text);
	cli_object_add_s32(o, "return-code", "Return Code", 15, return_code);
	cli_object_add(o, "component-id", "Component ID", CLI_PROP_STRING, 80,
		       "");
	cli_object_add(o, "time-stamp", "Time", CLI_PROP_STRING, 25, stamp);
	cli_object_add_u(o, "time-stamp-numeric", "Time", CLI_PROP_UINT32, 25,
			 t < 0 ? 0 : (uint64_t)t);
	if (o->nprops != 7) {
		cli_object_props_free(o);
		return -1;
	}
	for (i = 0; i < o->nprops; i++) {
		p = &o->props[i];
		p->draw = strcmp(p->name, "response") == 0;
		p->sort = i >= 5 ? "datetime" : "nosort";
	}
	return 0;
}

void cli_object_props_free(struct cli_object *o)
{
	size_t i;

	for (i = 0; i < o->nprops; i++)
		free(o->props[i].value);
	o->nprops = 0;
}
