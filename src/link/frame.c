/*
 * frame.c: the link's frames, encoded and parsed. Pure: no I/O, no clock,
 * no globals. The parser never trusts a length before checking it against
 * LINK_FRAME_MAX, and holds at most the one frame it is assembling.
 *
 * Wire format (inside TLS), each frame:
 *   u8  type              1 .. LINK_FRAME_TYPE_MAX
 *   u32 length            big-endian, payload bytes, <= LINK_FRAME_MAX
 *   u8  payload[length]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"

static const char *const type_names[] = {
	[LINK_FRAME_HELLO] = "HELLO",
	[LINK_FRAME_HEARTBEAT] = "HEARTBEAT",
	[LINK_FRAME_STATE] = "STATE",
	[LINK_FRAME_SETTINGS] = "SETTINGS",
	[LINK_FRAME_EVENT] = "EVENT",
	[LINK_FRAME_BUNDLE_BEGIN] = "BUNDLE_BEGIN",
	[LINK_FRAME_BUNDLE_DATA] = "BUNDLE_DATA",
	[LINK_FRAME_BUNDLE_END] = "BUNDLE_END",
	[LINK_FRAME_BUNDLE_ABORT] = "BUNDLE_ABORT",
	[LINK_FRAME_BUNDLE_RESULT] = "BUNDLE_RESULT",
	[LINK_FRAME_PFU_RECORD] = "PFU_RECORD",
	[LINK_FRAME_COMMAND] = "COMMAND",
};

const char *link_frame_type_name(unsigned type)
{
	if (type == 0 || type >= ARRAY_SIZE(type_names) || !type_names[type])
		return "?";
	return type_names[type];
}

static bool type_known(unsigned type)
{
	return type >= 1 && type <= LINK_FRAME_TYPE_MAX;
}

int link_frame_encode(struct buf *out, unsigned type, const void *payload,
		      size_t len)
{
	uint8_t header[LINK_FRAME_HEADER];
	size_t old = out->len;

	if (!type_known(type))
		return -EINVAL;
	if (len > LINK_FRAME_MAX)
		return -EMSGSIZE;
	header[0] = (uint8_t)type;
	header[1] = (uint8_t)(len >> 24);
	header[2] = (uint8_t)(len >> 16);
	header[3] = (uint8_t)(len >> 8);
	header[4] = (uint8_t)len;
	if (buf_append(out, header, sizeof(header)) < 0 ||
	    (len && buf_append(out, payload, len) < 0)) {
		/* All or nothing: drop a header appended alone. */
		out->len = old;
		if (out->data)
			out->data[old] = '\0';
		return -ENOMEM;
	}
	return 0;
}

void link_parser_init(struct link_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void link_parser_free(struct link_parser *p)
{
	free(p->payload);
	link_parser_init(p);
}

/* A complete header: check it and set up for the payload. */
static int header_take(struct link_parser *p, struct err *e)
{
	uint32_t n = (uint32_t)p->header[1] << 24 |
		     (uint32_t)p->header[2] << 16 |
		     (uint32_t)p->header[3] << 8 | p->header[4];

	p->failed = true;
	if (!type_known(p->header[0]))
		return err_set(e, -EPROTO,
			       "link frame: unknown type %u (known: 1 to %u)",
			       p->header[0], LINK_FRAME_TYPE_MAX);
	if (n > LINK_FRAME_MAX)
		return err_set(e, -EPROTO,
			       "link frame: %s payload of %u bytes is over "
			       "the limit of %u",
			       link_frame_type_name(p->header[0]), n,
			       LINK_FRAME_MAX);
	p->failed = false;
	p->type = p->header[0];
	p->need = n;
	p->got = 0;
	return 0;
}

/* Hands a complete frame over, the parser already reset for the next. */
static int deliver(struct link_parser *p, unsigned type,
		   const uint8_t *payload, size_t len,
		   int (*frame)(void *arg, unsigned type,
				const uint8_t *payload, size_t len),
		   void *arg)
{
	static const uint8_t empty[1];

	p->header_len = 0;
	p->got = p->need = 0;
	return frame(arg, type, payload ? payload : empty, len);
}

int link_parser_push(struct link_parser *p, const void *data, size_t len,
		     int (*frame)(void *arg, unsigned type,
				  const uint8_t *payload, size_t len),
		     void *arg, struct err *e)
{
	const uint8_t *in = data;
	size_t take, need;
	uint8_t *payload;
	int rc;

	if (p->failed)
		return err_set(e, -EPROTO,
			       "link frame: the stream was refused before");
	while (len > 0) {
		if (p->header_len < LINK_FRAME_HEADER) {
			take = LINK_FRAME_HEADER - p->header_len;
			if (take > len)
				take = len;
			memcpy(p->header + p->header_len, in, take);
			p->header_len += take;
			in += take;
			len -= take;
			if (p->header_len < LINK_FRAME_HEADER)
				break;
			rc = header_take(p, e);
			if (rc < 0)
				return rc;
			need = p->need;
			/* Whole in this push (or empty): handed over from
			 * the caller's bytes, no copy. */
			if (len >= need) {
				rc = deliver(p, p->type, in, need, frame, arg);
				in += need;
				len -= need;
				if (rc < 0)
					return rc;
				continue;
			}
			p->payload = malloc(need);
			if (!p->payload) {
				p->failed = true;
				return err_set(e, -ENOMEM,
					       "link frame: out of memory for "
					       "%zu bytes", need);
			}
		}
		take = p->need - p->got;
		if (take > len)
			take = len;
		memcpy(p->payload + p->got, in, take);
		p->got += take;
		in += take;
		len -= take;
		if (p->got < p->need)
			break;
		payload = p->payload;
		p->payload = NULL;
		rc = deliver(p, p->type, payload, p->need, frame, arg);
		free(payload);
		if (rc < 0)
			return rc;
	}
	return 0;
}
