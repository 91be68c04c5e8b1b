/*
 * render_xml.c: the family's XML API document (MSA-REFERENCE.md, "XML API
 * documents"): one RESPONSE with the request, the data OBJECTs, then the
 * status object(s). In api mode each data object is preceded by a COMP
 * element naming its parent oid (0: none); api-embed has no COMP
 * elements: a child object is written inside its parent's OBJECT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/*
 * The API answers every request with one of these documents, so the
 * writer is built for speed: bytes gather in a fixed block and go to the
 * buf in large appends; numbers and escapes are written by hand, never
 * through printf. XW_BLOCK bounds the stack it takes.
 */
#define XW_BLOCK	8192

struct xw {
	struct buf *out;
	size_t n;
	int rc;
	char block[XW_BLOCK];
};

static void xw_flush(struct xw *w)
{
	if (w->n)
		w->rc |= buf_append(w->out, w->block, w->n);
	w->n = 0;
}

static void xw_put(struct xw *w, const char *s, size_t len)
{
	if (len > XW_BLOCK - w->n) {
		xw_flush(w);
		if (len > XW_BLOCK) {
			w->rc |= buf_append(w->out, s, len);
			return;
		}
	}
	memcpy(w->block + w->n, s, len);
	w->n += len;
}

#define XW_LIT(w, lit) xw_put((w), (lit), sizeof(lit) - 1)

static void xw_str(struct xw *w, const char *s)
{
	xw_put(w, s, strlen(s));
}

static void xw_uint(struct xw *w, unsigned v)
{
	char digits[16];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	xw_put(w, digits + i, sizeof(digits) - i);
}

/* The entity for each byte that needs one; NULL for the rest. */
static const char *const entity[256] = {
	['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
	['\''] = "&apos;", ['\n'] = "&#10;",
};

/* s escaped for an attribute or element text: runs of plain bytes are
 * copied whole. */
static void xw_escape(struct xw *w, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *ent = entity[(unsigned char)*s];

		if (!ent)
			continue;
		xw_put(w, run, (size_t)(s - run));
		xw_str(w, ent);
		run = s + 1;
	}
	xw_put(w, run, (size_t)(s - run));
}

int cli_xml_escape(struct buf *out, const char *s)
{
	struct xw w;

	w.out = out;
	w.n = 0;
	w.rc = 0;
	xw_escape(&w, s);
	xw_flush(&w);
	return w.rc;
}

static const char *type_name(enum cli_prop_type t)
{
	switch (t) {
	case CLI_PROP_STRING:
		return "string";
	case CLI_PROP_UINT32:
		return "uint32";
	case CLI_PROP_SINT32:
		return "sint32";
	case CLI_PROP_UINT64:
		return "uint64";
	case CLI_PROP_UINT8:
		return "uint8";
	}
	return "string";
}

static void render_object(const struct cli_result *r, size_t index,
			  bool embed, struct xw *w)
{
	const struct cli_object *o = &r->objects[index];
	size_t i;

	XW_LIT(w, "<OBJECT basetype=\"");
	xw_escape(w, o->basetype);
	XW_LIT(w, "\" name=\"");
	xw_escape(w, o->name);
	XW_LIT(w, "\" oid=\"");
	xw_uint(w, o->oid);
	/* The family's status object carries no format attribute. */
	if (strcmp(o->basetype, "status") == 0)
		XW_LIT(w, "\">\n");
	else if (o->style == CLI_CONSOLE_TABLE || o->style == CLI_CONSOLE_LINE)
		XW_LIT(w, "\" format=\"rows\">\n");
	else
		XW_LIT(w, "\" format=\"pairs\">\n");
	for (i = 0; i < o->nprops; i++) {
		const struct cli_property *p = &o->props[i];

		XW_LIT(w, "  <PROPERTY name=\"");
		xw_escape(w, p->name);
		XW_LIT(w, "\" type=\"");
		xw_str(w, type_name(p->type));
		XW_LIT(w, "\" size=\"");
		xw_uint(w, p->size);
		if (p->draw)
			XW_LIT(w, "\" draw=\"true\" sort=\"");
		else
			XW_LIT(w, "\" draw=\"false\" sort=\"");
		xw_str(w, p->sort);
		XW_LIT(w, "\" display-name=\"");
		xw_escape(w, p->display_name);
		XW_LIT(w, "\">");
		xw_escape(w, p->value);
		XW_LIT(w, "</PROPERTY>\n");
	}
	/* Children follow their parent in the result; nested here. */
	for (i = index + 1; embed && i < r->nobjects; i++)
		if (r->objects[i].parent == o->oid)
			render_object(r, i, embed, w);
	XW_LIT(w, "</OBJECT>\n");
}

/* The status objects are not in the result: rendered on their own. */
static void render_status(const struct cli_object *status, struct xw *w)
{
	struct cli_result one = { 0 };

	one.objects = (struct cli_object *)status;
	one.nobjects = 1;
	render_object(&one, 0, false, w);
}

int cli_render_xml(const struct cli_result *r, bool embed, struct buf *out)
{
	struct cli_object status;
	unsigned oid = (unsigned)r->nobjects;
	struct xw *w = malloc(sizeof(*w));
	size_t i;
	int rc;

	if (!w)
		return -ENOMEM;
	w->out = out;
	w->n = 0;
	w->rc = 0;
	XW_LIT(w,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		"<RESPONSE VERSION=\"L100\" REQUEST=\"");
	xw_escape(w, r->request ? r->request : "");
	XW_LIT(w, "\">\n");
	for (i = 0; i < r->nobjects; i++) {
		if (embed && r->objects[i].parent)
			continue;	/* written inside its parent */
		if (!embed) {
			XW_LIT(w, "<COMP G=\"");
			xw_uint(w, r->objects[i].parent);
			XW_LIT(w, "\" P=\"");
			xw_uint(w, r->objects[i].oid);
			XW_LIT(w, "\"/>\n");
		}
		render_object(r, i, embed, w);
	}
	for (i = 0; i <= r->ninfos; i++) {
		const struct cli_message *m = i < r->ninfos ? &r->infos[i]
							    : &r->status;

		if (cli_status_object(m, i < r->ninfos ? 0 : r->return_code,
				      r->time, ++oid, &status) < 0) {
			free(w);
			return -ENOMEM;
		}
		render_status(&status, w);
		cli_object_props_free(&status);
	}
	XW_LIT(w, "</RESPONSE>\n");
	xw_flush(w);
	rc = w->rc;
	free(w);
	return rc ? -ENOSPC : 0;
}
