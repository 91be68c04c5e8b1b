/*
 * fuzz_sftp_frame.c: libFuzzer target for the SFTP packet framer, which
 * sees every byte a logged-in SFTP client sends before libssh does.
 * Checks its promises: whole packets plus the partial tail account for
 * every byte; no packet counted is over SFTP_PACKET_MAX or empty; taking
 * the first packet away (as libssh's read does) leaves the same verdict
 * on the rest.
 */
#include <stddef.h>
#include <stdint.h>

#include "ssh/shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_framer f = { 0 }, rest = { 0 };
	size_t off = 0, first;

	sftp_framer_scan(&f, data, size);
	for (size_t i = 0; i < f.complete; i++) {
		uint32_t n = be32(data + off);

		if (n == 0 || n > SFTP_PACKET_MAX || size - off - 4 < n)
			__builtin_trap();
		off += 4 + (size_t)n;
	}
	if (!f.bad && off + f.partial != size)
		__builtin_trap();
	if (f.bad && f.partial != 0)
		__builtin_trap();
	if (f.complete == 0)
		return 0;
	first = 4 + (size_t)be32(data);
	sftp_framer_scan(&rest, data + first, size - first);
	if (rest.complete != f.complete - 1 || rest.partial != f.partial ||
	    rest.bad != f.bad || rest.bad_length != f.bad_length)
		__builtin_trap();
	return 0;
}
