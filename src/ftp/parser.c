/*
 * parser.c: the FTP control-line push parser and the argument parsers for
 * PORT, EPRT and STOR targets. Pure functions over bounded buffers: no I/O,
 * no globals. Everything here reads bytes a remote client chose.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp/ftp.h"

#define TELNET_IAC 255

void ftp_line_reader_init(struct ftp_line_reader *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Consumes bytes up to and including the next LF. Returns FTP_LINE_READY
 * with the line (no CR/LF) in r->line, FTP_LINE_TOO_LONG once per line over
 * the limit (its bytes are dropped up to the LF), or FTP_LINE_MORE when all
 * of data was consumed without ending a line. *consumed says how far it got.
 */
int ftp_line_feed(struct ftp_line_reader *r, const uint8_t *data, size_t len,
		  size_t *consumed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = data[i];

		if (r->iac) {
			/* IAC IAC is a literal 255; IAC WILL/WONT/DO/DONT X
			 * are three bytes; any other IAC command is two. */
			if (r->iac == 1 && c >= 251 && c <= 254) {
				r->iac = 2;
				continue;
			}
			r->iac = 0;
			if (c != TELNET_IAC)
				continue;
		} else if (c == TELNET_IAC) {
			r->iac = 1;
			continue;
		}
		if (c == '\n') {
			bool over = r->overflow;

			*consumed = i + 1;
			if (r->len && r->line[r->len - 1] == '\r')
				r->len--;
			r->line[r->len] = '\0';
			r->len = 0;
			r->overflow = false;
			return over ? FTP_LINE_TOO_LONG : FTP_LINE_READY;
		}
		if (r->overflow)
			continue;
		if (r->len + 1 >= FTP_LINE_MAX) {
			r->overflow = true;
			continue;
		}
		r->line[r->len++] = (char)c;
	}
	*consumed = len;
	return FTP_LINE_MORE;
}

/*
 * "VERB[ SP arg]". The verb is 3 or 4 letters, matched case-insensitively;
 * the argument is everything after one space, at most FTP_ARG_MAX - 1
 * bytes, with no control characters.
 */
int ftp_command_parse(const char *line, struct ftp_command *cmd)
{
	size_t n = 0, i;
	const char *p = line;

	memset(cmd, 0, sizeof(*cmd));
	while (isalpha((unsigned char)*p) && n < 4)
		cmd->verb[n++] = (char)toupper((unsigned char)*p++);
	if (n < 3 || (*p && *p != ' '))
		return -EINVAL;
	if (*p == ' ') {
		p++;
		if (strlen(p) >= sizeof(cmd->arg))
			return -E2BIG;
		for (i = 0; p[i]; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return -EINVAL;
		memcpy(cmd->arg, p, strlen(p) + 1);
		cmd->has_arg = true;
	}
	return 0;
}

/* A decimal number 0..max with 1 to 5 digits and nothing else. */
static int small_number(const char *s, size_t len, unsigned max,
			unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* PORT h1,h2,h3,h4,p1,p2 */
int ftp_port_parse(const char *arg, struct sockaddr_storage *addr,
		   socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;
	unsigned v[6];
	const char *p = arg;
	uint32_t host = 0;
	int i;

	for (i = 0; i < 6; i++) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if ((i < 5) != (end != NULL))
			return -EINVAL;
		if (small_number(p, n, 255, &v[i]) < 0)
			return -EINVAL;
		p += n + (end ? 1 : 0);
	}
	for (i = 0; i < 4; i++)
		host = host << 8 | v[i];
	memset(addr, 0, sizeof(*addr));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(host);
	sin->sin_port = htons((uint16_t)(v[4] << 8 | v[5]));
	if (v[4] == 0 && v[5] == 0)
		return -EINVAL;
	*len = sizeof(*sin);
	return 0;
}

/* EPRT <d>1<d>a.b.c.d<d>port<d>  or  <d>2<d>ipv6<d>port<d> */
int ftp_eprt_parse(const char *arg, struct sockaddr_storage *addr,
		   socklen_t *len)
{
	char delim, host[INET6_ADDRSTRLEN];
	const char *f[4];
	unsigned proto, port;
	size_t hlen;
	int i;

	delim = arg[0];
	if (delim < 33 || delim > 126)
		return -EINVAL;
	f[0] = arg + 1;
	for (i = 1; i < 4; i++) {
		const char *end = strchr(f[i - 1], delim);

		if (!end)
			return -EINVAL;
		f[i] = end + 1;
	}
	/* Exactly four delimiters: the last ends the argument. */
	if (*f[3] != '\0')
		return -EINVAL;
	if (small_number(f[0], (size_t)(f[1] - f[0] - 1), 2, &proto) < 0 ||
	    proto == 0)
		return -EINVAL;
	hlen = (size_t)(f[2] - f[1] - 1);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, f[1], hlen);
	host[hlen] = '\0';
	if (small_number(f[2], (size_t)(f[3] - f[2] - 1), 65535, &port) < 0 ||
	    port == 0)
		return -EINVAL;
	memset(addr, 0, sizeof(*addr));
	if (proto == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	}
	return 0;
}

/* The only names STOR takes. No paths, no other files. */
int ftp_target_parse(const char *arg, bool *force)
{
	if (!strcmp(arg, FTP_TARGET_FLASH)) {
		*force = false;
		return 0;
	}
	if (!strcmp(arg, FTP_TARGET_FORCE)) {
		*force = true;
		return 0;
	}
	return -ENOENT;
}

/* Same host, ignoring ports; an IPv4-mapped IPv6 address equals its IPv4. */
bool ftp_same_host(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *b)
{
	uint8_t x[16], y[16];
	size_t lx, ly;
	const struct sockaddr_storage *in[2] = { a, b };
	uint8_t *out[2] = { x, y };
	size_t *lens[2] = { &lx, &ly };
	int i;

	for (i = 0; i < 2; i++) {
		if (in[i]->ss_family == AF_INET) {
			memcpy(out[i],
			       &((const struct sockaddr_in *)in[i])->sin_addr,
			       4);
			*lens[i] = 4;
		} else if (in[i]->ss_family == AF_INET6) {
			const struct in6_addr *s6 =
				&((const struct sockaddr_in6 *)in[i])->sin6_addr;

			if (IN6_IS_ADDR_V4MAPPED(s6)) {
				memcpy(out[i], &s6->s6_addr[12], 4);
				*lens[i] = 4;
			} else {
				memcpy(out[i], s6->s6_addr, 16);
				*lens[i] = 16;
			}
		} else {
			return false;
		}
	}
	return lx == ly && !memcmp(x, y, lx);
}
