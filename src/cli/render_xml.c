/*
 * render_xml.c: the family's XML API document (MSA-REFERENCE.md, "XML API
 * documents"): one RESPONSE with the request, the data OBJECTs, then the
 * status object(s). In api mode each data object is preceded by a COMP
 * element naming its parent oid (0: none); api-embed has no COMP
 * elements: a child object is written inside its parent's OBJECT.
 */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"

int cli_xml_escape(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s; s++) {
		switch (*s) {
		case '&':
			rc |= buf_append_str(out, "&amp;");
			break;
		case '<':
			rc |= buf_append_str(out, "&lt;");
			break;
		case '>':
			rc |= buf_append_str(out, "&gt;");
			break;
		case '"':
			rc |= buf_append_str(out, "&quot;");
			break;
		case '\'':
			rc |= buf_append_str(out, "&apos;");
			break;
		case '\n':
			rc |= buf_append_str(out, "&#10;");
			break;
		default:
			rc |= buf_append(out, s, 1);
		}
	}
	return rc;
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

static int render_object(const struct cli_result *r, size_t index,
			 bool embed, struct buf *out)
{
	const struct cli_object *o = &r->objects[index];
	const char *format = o->style == CLI_CONSOLE_TABLE ||
			     o->style == CLI_CONSOLE_LINE ? "rows" : "pairs";
	size_t i;
	int rc = 0;

	rc |= buf_append_str(out, "<OBJECT basetype=\"");
	rc |= cli_xml_escape(out, o->basetype);
	rc |= buf_append_str(out, "\" name=\"");
	rc |= cli_xml_escape(out, o->name);
	/* The family's status object carries no format attribute. */
	if (strcmp(o->basetype, "status") == 0)
		rc |= buf_appendf(out, "\" oid=\"%u\">\n", o->oid);
	else
		rc |= buf_appendf(out, "\" oid=\"%u\" format=\"%s\">\n",
				  o->oid, format);
	for (i = 0; i < o->nprops; i++) {
		const struct cli_property *p = &o->props[i];

		rc |= buf_append_str(out, "  <PROPERTY name=\"");
		rc |= cli_xml_escape(out, p->name);
		rc |= buf_appendf(out,
				  "\" type=\"%s\" size=\"%u\" draw=\"%s\" sort=\"%s\" display-name=\"",
				  type_name(p->type), p->size,
				  p->draw ? "true" : "false", p->sort);
		rc |= cli_xml_escape(out, p->display_name);
		rc |= buf_append_str(out, "\">");
		rc |= cli_xml_escape(out, p->value);
		rc |= buf_append_str(out, "</PROPERTY>\n");
	}
	/* Children follow their parent in the result; nested here. */
	for (i = index + 1; embed && i < r->nobjects; i++)
		if (r->objects[i].parent == o->oid)
			rc |= render_object(r, i, embed, out);
	rc |= buf_append_str(out, "</OBJECT>\n");
	return rc;
}

/* The status objects are not in the result: rendered on their own. */
static int render_status(const struct cli_object *status, struct buf *out)
{
	struct cli_result one = { 0 };

	one.objects = (struct cli_object *)status;
	one.nobjects = 1;
	return render_object(&one, 0, false, out);
}

int cli_render_xml(const struct cli_result *r, bool embed, struct buf *out)
{
	struct cli_object status;
	unsigned oid = (unsigned)r->nobjects;
	size_t i;
	int rc = 0;

	rc |= buf_append_str(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		"<RESPONSE VERSION=\"L100\" REQUEST=\"");
	rc |= cli_xml_escape(out, r->request ? r->request : "");
	rc |= buf_append_str(out, "\">\n");
	for (i = 0; i < r->nobjects; i++) {
		if (embed && r->objects[i].parent)
			continue;	/* written inside its parent */
		if (!embed)
			rc |= buf_appendf(out, "<COMP G=\"%u\" P=\"%u\"/>\n",
					  r->objects[i].parent,
					  r->objects[i].oid);
		rc |= render_object(r, i, embed, out);
	}
	for (i = 0; i <= r->ninfos; i++) {
		const struct cli_message *m = i < r->ninfos ? &r->infos[i]
							    : &r->status;

		if (cli_status_object(m, i < r->ninfos ? 0 : r->return_code,
				      r->time, ++oid, &status) < 0)
			return -ENOMEM;
		rc |= render_status(&status, out);
		cli_object_props_free(&status);
	}
	rc |= buf_append_str(out, "</RESPONSE>\n");
	return rc ? -ENOSPC : 0;
}
