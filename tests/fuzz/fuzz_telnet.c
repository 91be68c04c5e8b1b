/*
 * fuzz_telnet.c: libFuzzer target for the telnet parser: every byte a
 * telnet client sends before and after login goes through it. Checks the
 * parser's promises: lines are bounded and NUL-terminated, hold no line
 * ends and no erase bytes (other control bytes, NUL included, are kept for
 * the CLI's lexer to refuse with their position), every byte is consumed,
 * and the queued answers are whole IAC triples.
 */
#include <stddef.h>
#include <stdint.h>

#include "ssh/shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct telnet_parser p;
	size_t off = 0, i;

	telnet_parser_init(&p);
	while (off < size) {
		/* Uneven splits: the parser must not care where reads end. */
		size_t n = (size_t)(data[off] % 17) + 1, used = 0;
		int rc;

		if (n > size - off)
			n = size - off;
		rc = telnet_parser_feed(&p, data + off, n, &used);
		if (used == 0 || used > n)
			__builtin_trap();
		off += used;
		if (p.reply_len % 3 != 0 || p.reply_len > sizeof(p.reply))
			__builtin_trap();
		for (i = 0; i < p.reply_len; i += 3)
			if (p.reply[i] != TELNET_IAC ||
			    p.reply[i + 1] < TELNET_WILL)
				__builtin_trap();
		p.reply_len = 0;
		if (data[off - 1] & 1)
			telnet_parser_echo(&p, data[off - 1] & 2);
		if (rc != TELNET_LINE)
			continue;
		if (p.len > SHELL_LINE_MAX || p.line[p.len] != '\0')
			__builtin_trap();
		for (i = 0; i < p.len; i++)
			if (p.line[i] == '\r' || p.line[i] == '\n' ||
			    p.line[i] == 0x08 || p.line[i] == 0x7f)
				__builtin_trap();
	}
	return 0;
}
