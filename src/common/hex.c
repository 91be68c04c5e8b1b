/* hex.c: lower-case hex for digests and keys. */
#include "common.h"

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*outlen hex digits, nothing more; returns 0 or -1. */
int hex_decode(const char *in, uint8_t *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < outlen; i++) {
		int hi, lo;

		if (!in[2 * i] || !in[2 * i + 1])
			return -1;
		hi = hex_value(in[2 * i]);
		lo = hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * outlen] == '\0' ? 0 : -1;
}
