/*
 * record.c: encodes and decodes one event record. Pure: no I/O, no globals,
 * never trusts a length it has not bounded.
 *
 * On-disk layout, all integers little-endian:
 *   0  4  magic "TEv1"
 *   4  4  L, payload length, EVENTS_RECORD_FIXED .. EVENTS_RECORD_FIXED +
 *         EVENTS_MESSAGE_MAX - 1
 *   8  8  sequence number (per controller, from 1)
 *  16  8  time, signed seconds since the epoch
 *  24  2  event code
 *  26  1  severity (enum events_severity)
 *  27  1  controller, 'A' or 'B'
 *  28  L-20 message bytes, no NUL
 *  8+L 4  CRC32C of bytes 0 .. 8+L-1
 * A record is thus 12 + L bytes.
 */
#include <string.h>

#include "events/events.h"

static const uint8_t events_magic[4] = { 'T', 'E', 'v', '1' };

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Returns the record's size, or 0 if out is too small. */
size_t events_record_encode(const struct event *ev, uint8_t *out,
			    size_t outlen)
{
	size_t mlen = strnlen(ev->message, EVENTS_MESSAGE_MAX - 1);
	size_t plen = EVENTS_RECORD_FIXED + mlen;
	size_t total = EVENTS_RECORD_HEADER + plen + 4;

	if (outlen < total)
		return 0;
	memcpy(out, events_magic, 4);
	put_le(out + 4, plen, 4);
	put_le(out + 8, ev->seq, 8);
	put_le(out + 16, (uint64_t)ev->time, 8);
	put_le(out + 24, ev->code, 2);
	out[26] = (uint8_t)ev->severity;
	out[27] = (uint8_t)ev->controller;
	memcpy(out + 28, ev->message, mlen);
	put_le(out + 8 + plen, crc32c(0, out, 8 + plen), 4);
	return total;
}

/*
 * Decodes the record at the start of in. Returns 0 and sets *used; -1 when
 * in ends before the record does (a torn tail, or more to read); -2 when
 * the bytes are not a valid record (bad magic, length, checksum or field).
 */
int events_record_decode(const uint8_t *in, size_t len, struct event *ev,
			 size_t *used)
{
	uint64_t plen;
	size_t mlen;

	if (len < EVENTS_RECORD_HEADER)
		return len == 0 || !memcmp(in, events_magic,
					   len < 4 ? len : 4) ? -1 : -2;
	if (memcmp(in, events_magic, 4))
		return -2;
	plen = get_le(in + 4, 4);
	if (plen < EVENTS_RECORD_FIXED ||
	    plen > EVENTS_RECORD_FIXED + EVENTS_MESSAGE_MAX - 1)
		return -2;
	if (len < EVENTS_RECORD_HEADER + plen + 4)
		return -1;
	if (get_le(in + 8 + plen, 4) != crc32c(0, in, 8 + plen))
		return -2;
	if (in[26] >= EVENTS_SEVERITY_COUNT ||
	    (in[27] != 'A' && in[27] != 'B'))
		return -2;
	mlen = plen - EVENTS_RECORD_FIXED;
	ev->seq = get_le(in + 8, 8);
	ev->time = (int64_t)get_le(in + 16, 8);
	ev->code = (uint16_t)get_le(in + 24, 2);
	ev->severity = (enum events_severity)in[26];
	ev->controller = (char)in[27];
	memcpy(ev->message, in + 28, mlen);
	ev->message[mlen] = '\0';
	*used = EVENTS_RECORD_HEADER + plen + 4;
	return 0;
}
