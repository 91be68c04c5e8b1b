/*
 * sftp_frame.c: where SFTP packets begin and end in the bytes a channel
 * holds, before libssh reads any of them. libssh's reader takes a 4-byte
 * length from the wire and allocates that much (up to 256 MiB) before the
 * bytes arrive; the subsystem asks it for a packet only once this has seen
 * the whole packet, and ends the session on a length over the limit.
 * Pure: no I/O, no clock.
 *
 * Wire format (draft-ietf-secsh-filexfer-02, section 3): each packet is
 * uint32 length (big-endian, of what follows), byte type, then length - 1
 * bytes of payload.
 */
#include <string.h>

#include "ssh/shell.h"

/*
 * Scans data, the bytes the channel holds from its oldest on, which is
 * always the start of a packet (libssh is only ever asked for whole ones).
 * Fills f->complete, f->partial and f->bad_length afresh; f->taken is the
 * caller's.
 */
void sftp_framer_scan(struct sftp_framer *f, const uint8_t *data, size_t len)
{
	size_t off = 0;

	f->complete = 0;
	f->partial = 0;
	f->bad = false;
	f->bad_length = 0;
	while (len - off >= 4) {
		uint32_t n = (uint32_t)data[off] << 24 |
			     (uint32_t)data[off + 1] << 16 |
			     (uint32_t)data[off + 2] << 8 | data[off + 3];

		/* Every packet has a type byte; none is over the limit. */
		if (n == 0 || n > SFTP_PACKET_MAX) {
			f->bad = true;
			f->bad_length = n;
			return;
		}
		if (len - off - 4 < n)
			break;
		off += 4 + (size_t)n;
		f->complete++;
	}
	f->partial = len - off;
}
