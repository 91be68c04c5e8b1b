/*
 * render_console.c: the family's console text. Objects in "pairs" style
 * print a heading, an underline and "Display Name: value" lines; runs of
 * table objects share one header; event-like objects print one line each
 * from a template. Then any Info lines and the status line with its time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *prop_value(const struct cli_object *o, const char *name,
			      size_t len)
{
	size_t i;

	for (i = 0; i < o->nprops; i++)
		if (strlen(o->props[i].name) == len &&
		    strncmp(o->props[i].name, name, len) == 0)
			return o->props[i].value;
	return NULL;
}

static int render_pairs(const struct cli_object *o, struct buf *out)
{
	size_t i, tlen = strlen(o->title);
	int rc = 0;

	if (tlen) {
		rc |= buf_appendf(out, "%s\n", o->title);
		for (i = 0; i < tlen; i++)
			rc |= buf_append(out, "-", 1);
		rc |= buf_append(out, "\n", 1);
	}
	for (i = 0; i < o->nprops; i++) {
		const struct cli_property *p = &o->props[i];

		if (p->console)
			rc |= buf_appendf(out, "%s: %s\n", p->display_name,
					  p->value);
	}
	rc |= buf_append(out, "\n", 1);
	return rc;
}

/* One row: cells padded to their column, no trailing blanks. */
static int table_row(const struct cli_object *head,
		     const struct cli_object *row, const size_t *width,
		     struct buf *out)
{
	size_t j, last = 0, start = out->len;
	int rc = 0;

	for (j = 0; j < head->nprops; j++)
		if (head->props[j].console)
			last = j;
	for (j = 0; j < head->nprops && j < row->nprops; j++) {
		const char *cell = row == head && width[CLI_PROPERTIES_MAX]
					   ? head->props[j].display_name
					   : row->props[j].value;

		if (!head->props[j].console)
			continue;
		if (j == last)
			rc |= buf_appendf(out, "%s", cell);
		else
			rc |= buf_appendf(out, "%-*s ", (int)width[j], cell);
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	rc |= buf_append(out, "\n", 1);
	return rc;
}

/* Objects [first, end) share one table: widths fit the widest cell. */
static int render_table(const struct cli_object *objs, size_t first,
			size_t end, struct buf *out)
{
	const struct cli_object *head = &objs[first];
	/* The extra slot says "print the header" to table_row(). */
	size_t width[CLI_PROPERTIES_MAX + 1] = { 0 };
	size_t i, j, total = 0;
	int rc = 0;

	for (j = 0; j < head->nprops; j++)
		width[j] = strlen(head->props[j].display_name);
	for (i = first; i < end; i++)
		for (j = 0; j < objs[i].nprops && j < head->nprops; j++)
			if (strlen(objs[i].props[j].value) > width[j])
				width[j] = strlen(objs[i].props[j].value);
	for (j = 0; j < head->nprops; j++)
		if (head->props[j].console)
			total += width[j] + (total ? 1 : 0);
	width[CLI_PROPERTIES_MAX] = 1;
	rc |= table_row(head, head, width, out);
	width[CLI_PROPERTIES_MAX] = 0;
	for (j = 0; j < total; j++)
		rc |= buf_append(out, "-", 1);
	rc |= buf_append(out, "\n", 1);
	for (i = first; i < end; i++)
		rc |= table_row(head, &objs[i], width, out);
	rc |= buf_append(out, "\n", 1);
	return rc;
}

/* "{name}" in the template becomes that property's value. */
static int render_line(const struct cli_object *o, struct buf *out)
{
	const char *t = o->console_line;
	int rc = 0;

	while (*t) {
		const char *close;
		const char *v;

		if (*t != '{' || !(close = strchr(t, '}'))) {
			rc |= buf_append(out, t, 1);
			t++;
			continue;
		}
		v = prop_value(o, t + 1, (size_t)(close - t - 1));
		rc |= buf_append_str(out, v ? v : "");
		t = close + 1;
	}
	rc |= buf_append(out, "\n", 1);
	return rc;
}

static int render_text(const struct cli_object *o, struct buf *out)
{
	const char *v = o->nprops ? o->props[0].value : "";
	size_t len = strlen(v);
	int rc = buf_append(out, v, len);

	if (len && v[len - 1] != '\n')
		rc |= buf_append(out, "\n", 1);
	return rc;
}

int cli_render_console(const struct cli_result *r, struct buf *out)
{
	char stamp[32];
	size_t i = 0;
	int rc = 0;

	while (i < r->nobjects) {
		const struct cli_object *o = &r->objects[i];
		size_t end = i + 1;

		switch (o->style) {
		case CLI_CONSOLE_PAIRS:
			rc |= render_pairs(o, out);
			break;
		case CLI_CONSOLE_TABLE:
			while (end < r->nobjects &&
			       r->objects[end].style == CLI_CONSOLE_TABLE &&
			       strcmp(r->objects[end].basetype,
				      o->basetype) == 0)
				end++;
			rc |= render_table(r->objects, i, end, out);
			break;
		case CLI_CONSOLE_LINE:
			rc |= render_line(o, out);
			break;
		case CLI_CONSOLE_TEXT:
			rc |= render_text(o, out);
			break;
		case CLI_CONSOLE_HIDDEN:
			break;
		}
		i = end;
	}
	cli_time_format(r->time, stamp);
	for (i = 0; i < r->ninfos; i++)
		rc |= buf_appendf(out, "Info: %s (%s)\n", r->infos[i].text,
				  stamp);
	rc |= buf_appendf(out, "%s: %s (%s)\n",
			  cli_response_type_name(r->status.type),
			  r->status.text, stamp);
	return rc ? -ENOSPC : 0;
}
