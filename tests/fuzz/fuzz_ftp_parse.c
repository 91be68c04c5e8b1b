/*
 * fuzz_ftp_parse.c: libFuzzer target for the FTP control-line reader and
 * the command, PORT, EPRT and STOR-target parsers: the bytes an FTP client
 * controls before any login.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ftp/ftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftp_line_reader r;
	size_t off = 0;

	ftp_line_reader_init(&r);
	while (off < size) {
		struct sockaddr_storage addr;
		struct ftp_command cmd;
		socklen_t len;
		size_t used = 0;
		bool force;
		int rc;

		/* Uneven splits: the reader must not care where reads end. */
		size_t n = (size - off) > 7 ? (size_t)(data[off] % 64) + 1
					    : size - off;

		if (n > size - off)
			n = size - off;
		rc = ftp_line_feed(&r, data + off, n, &used);
		if (used == 0 || used > n)
			__builtin_trap();
		off += used;
		if (rc != FTP_LINE_READY)
			continue;
		if (strlen(r.line) >= FTP_LINE_MAX)
			__builtin_trap();
		if (ftp_command_parse(r.line, &cmd) < 0)
			continue;
		if (strlen(cmd.verb) < 3 || strlen(cmd.verb) > 4)
			__builtin_trap();
		ftp_port_parse(cmd.arg, &addr, &len);
		ftp_eprt_parse(cmd.arg, &addr, &len);
		if (ftp_target_parse(cmd.arg, &force) == 0 &&
		    strcmp(cmd.arg, "flash") && strcmp(cmd.arg, "flash:force"))
			__builtin_trap();
	}
	return 0;
}
