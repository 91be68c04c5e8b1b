/*
 * fuzz_link_frame.c: libFuzzer target for the partner link's frame parser,
 * which sees every byte the partner sends once TLS has decrypted it.
 * Checks its promises: the same frames whatever the chunking (whole, and
 * split at a point taken from the input); every frame handed over has a
 * known type and a length within LINK_FRAME_MAX; a refusal is -EPROTO
 * with a message; and the frames re-encode to the bytes consumed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool fuzz_input_accepted(void);

static bool last_accepted;

bool fuzz_input_accepted(void)
{
	return last_accepted;
}

struct run {
	struct buf again;	/* the frames, encoded again */
	unsigned frames;
};

static int take(void *arg, unsigned type, const uint8_t *payload, size_t len)
{
	struct run *r = arg;

	if (type < 1 || type > LINK_FRAME_TYPE_MAX || len > LINK_FRAME_MAX)
		__builtin_trap();
	if (link_frame_encode(&r->again, type, payload, len) != 0)
		__builtin_trap();
	r->frames++;
	return 0;
}

/* Parses data in two pushes split at cut; returns push's verdict. */
static int parse(const uint8_t *data, size_t size, size_t cut,
		 struct run *r)
{
	struct link_parser p;
	struct err e = { 0 };
	int rc;

	buf_init(&r->again, size + LINK_FRAME_HEADER);
	r->frames = 0;
	link_parser_init(&p);
	rc = link_parser_push(&p, data, cut, take, r, &e);
	if (rc == 0)
		rc = link_parser_push(&p, data + cut, size - cut, take, r, &e);
	if (rc != 0 && (rc != -EPROTO || !e.msg[0]))
		__builtin_trap();
	link_parser_free(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, split;
	size_t cut = size ? (size_t)data[0] * 131 % (size + 1) : 0;
	int rc_whole = parse(data, size, size, &whole);
	int rc_split = parse(data, size, cut, &split);

	if (rc_whole != rc_split || whole.frames != split.frames ||
	    whole.again.len != split.again.len ||
	    (whole.again.len &&
	     memcmp(whole.again.data, split.again.data, whole.again.len)))
		__builtin_trap();
	/* What was handed over is exactly the input's leading frames. */
	if (whole.again.len > size ||
	    (whole.again.len && memcmp(whole.again.data, data,
				       whole.again.len) != 0))
		__builtin_trap();
	/* Accepted: no refusal, and every byte belongs to a whole frame. */
	last_accepted = rc_whole == 0 && whole.again.len == size;
	buf_free(&whole.again);
	buf_free(&split.again);
	return 0;
}
