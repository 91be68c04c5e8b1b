/*
 * render_json.c: the family's JSON form, built with jansson: one top-level
 * object whose keys are basetypes, each an array of objects carrying
 * "object-name" and "meta" and their properties; numbers are JSON numbers.
 * A child object sits in its parent under its own basetype key (as the
 * family's code-load-readiness holds code-load-readiness-reasons). The
 * "status" array comes last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"

static json_t *prop_json(const struct cli_property *p)
{
	if (p->type == CLI_PROP_SINT32)
		return json_integer(strtoll(p->value, NULL, 10));
	if (p->type != CLI_PROP_STRING)
		return json_integer((json_int_t)strtoull(p->value, NULL, 10));
	return json_string(p->value);
}

/* Appends o under root[basetype]; *made is the new JSON object (owned by
 * root) so that o's children can go into it. */
static int add_object(json_t *root, const struct cli_object *o,
		      json_t **made)
{
	json_t *arr = json_object_get(root, o->basetype);
	json_t *obj = json_object();
	size_t i;

	if (!obj)
		return -ENOMEM;
	if (!arr) {
		arr = json_array();
		if (!arr || json_object_set_new(root, o->basetype, arr) < 0) {
			json_decref(obj);
			return -ENOMEM;
		}
	}
	json_object_set_new(obj, "object-name", json_string(o->name));
	json_object_set_new(obj, "meta", json_string(o->meta ? o->meta : ""));
	for (i = 0; i < o->nprops; i++)
		if (json_object_set_new(obj, o->props[i].name,
					prop_json(&o->props[i])) < 0) {
			json_decref(obj);
			return -ENOMEM;
		}
	if (made)
		*made = obj;
	return json_array_append_new(arr, obj) < 0 ? -ENOMEM : 0;
}

int cli_render_json(const struct cli_result *r, struct buf *out)
{
	json_t *root = json_object();
	struct cli_object status;
	unsigned oid = (unsigned)r->nobjects;
	char *text;
	size_t i;
	int rc = 0;

	json_t **made;

	if (!root)
		return -ENOMEM;
	/* The JSON object of each result object, by index (oid - 1). */
	made = calloc(r->nobjects ? r->nobjects : 1, sizeof(*made));
	if (!made) {
		json_decref(root);
		return -ENOMEM;
	}
	for (i = 0; i < r->nobjects && rc == 0; i++) {
		unsigned parent = r->objects[i].parent;
		json_t *into = parent && parent <= i && made[parent - 1] ?
			       made[parent - 1] : root;

		rc = add_object(into, &r->objects[i], &made[i]);
	}
	free(made);
	if (rc == 0 && r->list_basetype &&
	    !json_object_get(root, r->list_basetype) &&
	    json_object_set_new(root, r->list_basetype, json_array()) < 0)
		rc = -ENOMEM;
	for (i = 0; i <= r->ninfos && rc == 0; i++) {
		const struct cli_message *m = i < r->ninfos ? &r->infos[i]
							    : &r->status;

		if (cli_status_object(m, i < r->ninfos ? 0 : r->return_code,
				      r->time, ++oid, &status) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = add_object(root, &status, NULL);
		cli_object_props_free(&status);
	}
	if (rc == 0) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text)
			rc = -ENOMEM;
		else {
			rc = buf_append_str(out, text);
			rc |= buf_append(out, "\n", 1);
			free(text);
		}
	}
	json_decref(root);
	return rc ? (rc == -ENOMEM ? rc : -ENOSPC) : 0;
}
