/*
 * hello.c: the HELLO frame each side sends first after the TLS handshake,
 * and the check that the peer is our partner and not some other
 * controller that happens to hold the key. Pure: no I/O.
 *
 * Payload (JSON object):
 *   {"protocol":1,"controller":"A","serial":"...","midplane_serial":"..."}
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"

int link_hello_encode(const struct link_hello *h, struct buf *out)
{
	char controller[2] = { h->controller, '\0' };
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "protocol",
			      (json_int_t)h->protocol, "controller",
			      controller, "serial", h->serial,
			      "midplane_serial", h->midplane_serial);
	char *text;
	int rc;

	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	rc = buf_append_str(out, text);
	free(text);
	return rc < 0 ? -ENOMEM : 0;
}

/* Copies the string member name of o into out (cap n); -EPROTO if it is
 * missing, not a string, too long or has control bytes. */
static int member_string(json_t *o, const char *name, char *out, size_t n,
			 struct err *e)
{
	json_t *v = json_object_get(o, name);
	const char *s;
	size_t len, i;

	if (!json_is_string(v))
		return err_set(e, -EPROTO, "link HELLO: no string \"%s\"",
			       name);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= n)
		return err_set(e, -EPROTO,
			       "link HELLO: \"%s\" is %zu bytes, over %zu",
			       name, len, n - 1);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set(e, -EPROTO,
				       "link HELLO: \"%s\" has a control byte",
				       name);
	memcpy(out, s, len + 1);
	return 0;
}

int link_hello_parse(const uint8_t *payload, size_t len,
		     struct link_hello *h, struct err *e)
{
	char controller[2];
	json_error_t je;
	json_t *o, *v;
	int rc;

	memset(h, 0, sizeof(*h));
	o = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return err_set(e, -EPROTO, "link HELLO: not JSON: %s",
			       je.text);
	if (!json_is_object(o)) {
		rc = err_set(e, -EPROTO, "link HELLO: not a JSON object");
		goto out;
	}
	v = json_object_get(o, "protocol");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 0xffff) {
		rc = err_set(e, -EPROTO, "link HELLO: no protocol number");
		goto out;
	}
	h->protocol = (unsigned)json_integer_value(v);
	rc = member_string(o, "controller", controller, sizeof(controller), e);
	if (rc < 0)
		goto out;
	if (controller[0] != 'A' && controller[0] != 'B') {
		rc = err_set(e, -EPROTO,
			     "link HELLO: controller is not \"A\" or \"B\"");
		goto out;
	}
	h->controller = controller[0];
	rc = member_string(o, "serial", h->serial, sizeof(h->serial), e);
	if (rc == 0)
		rc = member_string(o, "midplane_serial", h->midplane_serial,
				   sizeof(h->midplane_serial), e);
out:
	json_decref(o);
	return rc;
}

int link_hello_check(const struct link_hello *ours,
		     const struct link_hello *peer, struct err *e)
{
	if (peer->protocol != ours->protocol)
		return err_set(e, -EPERM,
			       "the peer speaks link protocol %u, we speak %u",
			       peer->protocol, ours->protocol);
	if (peer->controller == ours->controller)
		return err_set(e, -EPERM,
			       "the peer claims to be controller %c, as we are",
			       peer->controller);
	if (ours->midplane_serial[0] && peer->midplane_serial[0] &&
	    strcmp(ours->midplane_serial, peer->midplane_serial) != 0)
		return err_set(e, -EPERM,
			       "the peer is in midplane %s, we are in %s",
			       peer->midplane_serial, ours->midplane_serial);
	return 0;
}
