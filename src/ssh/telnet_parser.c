/*
 * telnet_parser.c: the telnet client's bytes to command lines (RFC 854,
 * 857, 858). Pure: no I/O and no globals; what it wants sent back (option
 * answers) is queued in the parser for the caller.
 */
#include <string.h>

#include "ssh/shell.h"

enum {
	ST_DATA,
	ST_IAC,		/* after IAC */
	ST_OPTION,	/* after IAC WILL/WONT/DO/DONT */
	ST_SB,		/* inside a subnegotiation */
	ST_SB_IAC,	/* IAC inside a subnegotiation */
};

void telnet_parser_init(struct telnet_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static void reply(struct telnet_parser *p, uint8_t verb, uint8_t option)
{
	/* A client that floods requests loses answers, never memory. */
	if (p->reply_len + 3 > sizeof(p->reply))
		return;
	p->reply[p->reply_len++] = TELNET_IAC;
	p->reply[p->reply_len++] = verb;
	p->reply[p->reply_len++] = option;
}

void telnet_parser_echo(struct telnet_parser *p, bool server_echoes)
{
	if (p->echo_on == server_echoes)
		return;
	p->echo_on = server_echoes;
	reply(p, server_echoes ? TELNET_WILL : TELNET_WONT, TELNET_OPT_ECHO);
}

/*
 * Answers only what changes our state, so two sides never loop (RFC 854's
 * rule): DO for an option we have on is its acknowledgement.
 */
static void option(struct telnet_parser *p, uint8_t verb, uint8_t opt)
{
	switch (verb) {
	case TELNET_DO:
		if (opt == TELNET_OPT_SGA && !p->sga_on) {
			p->sga_on = true;
			reply(p, TELNET_WILL, opt);
		} else if (opt == TELNET_OPT_ECHO && p->echo_on) {
			/* the client agreed to our WILL ECHO */
		} else if (opt != TELNET_OPT_SGA) {
			reply(p, TELNET_WONT, opt);
		}
		break;
	case TELNET_DONT:
		if (opt == TELNET_OPT_SGA && p->sga_on) {
			p->sga_on = false;
			reply(p, TELNET_WONT, opt);
		} else if (opt == TELNET_OPT_ECHO && p->echo_on) {
			/* refused: the client keeps echoing */
			p->echo_on = false;
		}
		break;
	case TELNET_WILL:
		reply(p, TELNET_DONT, opt);
		break;
	default:	/* WONT: we never asked for anything */
		break;
	}
}

static int line_end(struct telnet_parser *p)
{
	p->line[p->len] = '\0';
	p->line_done = true;
	return TELNET_LINE;
}

/* True when this byte made the line too long (reported at once). */
static bool data_byte(struct telnet_parser *p, uint8_t c)
{
	if (c == 0x08 || c == 0x7f) {
		if (p->len > 0 && !p->overflow)
			p->len--;
		return false;
	}
	/* Other control bytes, NUL included, stay in the line: the CLI's
	 * lexer refuses them with their position, where dropping them here
	 * would run a different command ("na\0me" as "name"). */
	if (p->overflow)
		return false;
	if (p->len >= SHELL_LINE_MAX) {
		p->overflow = true;
		p->len = 0;
		return true;
	}
	p->line[p->len++] = (char)c;
	return false;
}

/*
 * Feeds bytes up to the end of one line. Returns TELNET_LINE (p->line is
 * good until the next call), TELNET_MORE, or TELNET_TOO_LONG as soon as a
 * line passes SHELL_LINE_MAX: a client sending a MiB is answered at once,
 * and the rest of that line is dropped as it arrives. *consumed says how
 * much of data was used.
 */
int telnet_parser_feed(struct telnet_parser *p, const uint8_t *data,
		       size_t len, size_t *consumed)
{
	size_t i;

	if (p->line_done) {
		p->line_done = false;
		p->len = 0;
	}
	for (i = 0; i < len; i++) {
		uint8_t c = data[i];

		switch (p->state) {
		case ST_IAC:
			p->state = ST_DATA;
			if (c == TELNET_IAC) {
				if (data_byte(p, c)) {
					*consumed = i + 1;
					return TELNET_TOO_LONG;
				}
			} else if (c >= TELNET_WILL && c <= TELNET_DONT) {
				p->option_verb = c;
				p->state = ST_OPTION;
			} else if (c == TELNET_SB) {
				p->state = ST_SB;
			} else if (c == TELNET_EC) {
				data_byte(p, 0x7f);
			} else if (c == TELNET_EL) {
				p->len = 0;
			}
			continue;
		case ST_OPTION:
			option(p, p->option_verb, c);
			p->state = ST_DATA;
			continue;
		case ST_SB:
			if (c == TELNET_IAC)
				p->state = ST_SB_IAC;
			continue;
		case ST_SB_IAC:
			p->state = c == TELNET_SE ? ST_DATA : ST_SB;
			continue;
		default:
			break;
		}
		if (c == TELNET_IAC) {
			p->after_cr = false;
			p->state = ST_IAC;
			continue;
		}
		if (p->after_cr) {
			p->after_cr = false;
			if (c == '\n' || c == '\0')
				continue;
		}
		if (c == '\r' || c == '\n') {
			p->after_cr = c == '\r';
			if (p->overflow) {
				/* the end of a line already refused */
				p->overflow = false;
				p->len = 0;
				continue;
			}
			*consumed = i + 1;
			return line_end(p);
		}
		if (data_byte(p, c)) {
			*consumed = i + 1;
			return TELNET_TOO_LONG;
		}
	}
	*consumed = len;
	p->line[p->len] = '\0';
	return TELNET_MORE;
}

int telnet_escape(const char *data, size_t len, struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		const char *rep;
		size_t rlen;

		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
			rep = "\r\n";
			rlen = 2;
		} else if ((uint8_t)data[i] == TELNET_IAC) {
			rep = "\xff\xff";
			rlen = 2;
		} else {
			continue;
		}
		if (buf_append(out, data + start, i - start) < 0 ||
		    buf_append(out, rep, rlen) < 0)
			return -1;
		start = i + 1;
	}
	return buf_append(out, data + start, len - start);
}
