/*
 * report.c: the words and documents a code load is described in: the
 * family's component names, and the `get progress` XML that tools poll
 * until every controller's activity is `none`.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "update/update.h"

static const struct {
	const char *component;
	const char *label;
} labels[] = {
	{ "mc", "Management Controller" },
	{ "sc", "Storage Controller" },
	{ "ec", "Expander Controller" },
	{ "cpld", "CPLD" },
	{ "bundle.xml", "Bundle Description" },
};

const char *update_component_label(const char *component)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(labels); i++)
		if (!strcmp(labels[i].component, component))
			return labels[i].label;
	return component;
}

/* Appends s with the five XML specials escaped. */
static int xml_text(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		switch (*s) {
		case '<':
			rc = buf_append_str(out, "&lt;");
			break;
		case '>':
			rc = buf_append_str(out, "&gt;");
			break;
		case '&':
			rc = buf_append_str(out, "&amp;");
			break;
		case '"':
			rc = buf_append_str(out, "&quot;");
			break;
		case '\'':
			rc = buf_append_str(out, "&apos;");
			break;
		default:
			rc = buf_append(out, s, 1);
		}
	}
	return rc;
}

static int property(struct buf *out, const char *name, const char *type,
		    const char *display, const char *value)
{
	int rc = buf_appendf(out, " <PROPERTY name=\"%s\" type=\"%s\" "
			     "size=\"32\" draw=\"true\" sort=\"string\" "
			     "display-name=\"%s\">", name, type, display);

	rc = rc ? rc : xml_text(out, value);
	return rc ? rc : buf_append_str(out, "</PROPERTY>\n");
}

static int controller_object(struct buf *out, const struct update_status *st,
			     char id, int oid)
{
	char num[32], ctl[2] = { id, '\0' };
	int rc;

	rc = buf_appendf(out, "<OBJECT basetype=\"progress\" "
			 "name=\"controller-%c-progress\" oid=\"%d\" "
			 "format=\"pairs\">\n", tolower((unsigned char)id), oid);
	rc = rc ? rc : property(out, "controller", "string", "Controller",
				ctl);
	if (!st) {
		rc = rc ? rc : property(out, "activity", "string", "Activity",
					"unknown");
		rc = rc ? rc : property(out, "stage", "string", "Stage",
					"partner not available");
		return rc ? rc : buf_append_str(out, "</OBJECT>\n");
	}
	rc = rc ? rc : property(out, "activity", "string", "Activity",
				st->state == UPDATE_RUNNING || st->pfu_active ?
				"codeload" : "none");
	rc = rc ? rc : property(out, "stage", "string", "Stage", st->stage);
	snprintf(num, sizeof(num), "%" PRIu64, st->bytes_received);
	rc = rc ? rc : property(out, "bytes-received", "uint64",
				"Bytes Received", num);
	snprintf(num, sizeof(num), "%u", st->percent);
	rc = rc ? rc : property(out, "percent-complete", "uint32",
				"Percent Complete", num);
	rc = rc ? rc : property(out, "last-codeload", "string",
				"Last Code Load", !st->have_last ? "none" :
				st->last_ok ? "success" : "failed");
	rc = rc ? rc : property(out, "last-codeload-version", "string",
				"Last Code Load Version", st->last_version);
	return rc ? rc : buf_append_str(out, "</OBJECT>\n");
}

int update_progress_xml(const struct update_status *mine, char mine_id,
			const struct update_status *partner, char partner_id,
			struct buf *out)
{
	const struct update_status *a = mine_id == 'A' ? mine : partner;
	const struct update_status *b = mine_id == 'A' ? partner : mine;
	int rc;

	(void)partner_id;
	rc = buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
			    "standalone=\"yes\"?>\n<RESPONSE VERSION=\"L100\" "
			    "REQUEST=\"get progress\">\n");
	rc = rc ? rc : controller_object(out, a, 'A', 1);
	rc = rc ? rc : controller_object(out, b, 'B', 2);
	return rc ? rc : buf_append_str(out, "</RESPONSE>\n");
}
