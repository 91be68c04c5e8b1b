/*
 * line_editor.c: keystrokes to command lines for an SSH shell, in the
 * server, as a terminal's line discipline would do them. With a pty
 * request the client's terminal is raw: we echo, erase, and turn CR into
 * the end of a line. Without one (a script's pipe) nothing is echoed and
 * control characters are kept in the line, as are control keys without a
 * meaning here: the CLI's lexer refuses them with their position instead
 * of running what is left. Pure: no I/O; echo goes to a buffer.
 */
#include <string.h>

#include "ssh/shell.h"

#define CTRL(c) ((c) & 0x1f)

enum {
	ST_TEXT,
	ST_ESC,		/* after ESC */
	ST_CSI,		/* ESC [ ... up to a final byte */
	ST_SS3,		/* ESC O, one byte to go */
};

void line_editor_init(struct line_editor *ed, bool terminal)
{
	memset(ed, 0, sizeof(*ed));
	ed->terminal = terminal;
}

static bool continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/* Erases the last character (all bytes of a UTF-8 one) on both sides. */
static void erase_char(struct line_editor *ed, struct buf *echo)
{
	if (ed->len == 0)
		return;
	while (ed->len > 0 && continuation(ed->line[ed->len - 1]))
		ed->len--;
	if (ed->len > 0)
		ed->len--;
	buf_append(echo, "\b \b", 3);
}

static int line_end(struct line_editor *ed, struct buf *echo)
{
	bool overflow = ed->overflow;

	if (ed->terminal)
		buf_append(echo, "\r\n", 2);
	ed->overflow = false;
	ed->line_done = true;
	if (overflow) {
		ed->len = 0;
		ed->line[0] = '\0';
		return LINE_TOO_LONG;
	}
	ed->line[ed->len] = '\0';
	return LINE_DONE;
}

static void text_byte(struct line_editor *ed, char c, struct buf *echo)
{
	if (ed->len >= SHELL_LINE_MAX) {
		ed->overflow = true;
		return;
	}
	ed->line[ed->len++] = c;
	if (ed->terminal && !ed->overflow)
		buf_append(echo, &c, 1);
}

/* A control key on a terminal; LINE_MORE unless it ends the line. */
static int control(struct line_editor *ed, unsigned char c, struct buf *echo)
{
	switch (c) {
	case 0x7f:
	case CTRL('H'):
		if (!ed->overflow)
			erase_char(ed, echo);
		break;
	case CTRL('U'):
		while (ed->len > 0)
			erase_char(ed, echo);
		ed->overflow = false;
		break;
	case CTRL('C'):
		/* the line is dropped and a new prompt follows */
		buf_append(echo, "^C", 2);
		ed->len = 0;
		ed->overflow = false;
		return line_end(ed, echo);
	case CTRL('D'):
		if (ed->len == 0 && !ed->overflow) {
			ed->line_done = true;
			return LINE_EOF;
		}
		break;
	case 0x1b:
		ed->state = ST_ESC;
		break;
	case '\t':
		text_byte(ed, ' ', echo);
		break;
	default:
		/* Kept unechoed, for the lexer to name (see the top). */
		if (ed->len >= SHELL_LINE_MAX)
			ed->overflow = true;
		else
			ed->line[ed->len++] = (char)c;
		break;
	}
	return LINE_MORE;
}

/* Arrow and function keys arrive as escape sequences: swallowed whole. */
static void escape_byte(struct line_editor *ed, unsigned char c)
{
	switch (ed->state) {
	case ST_ESC:
		ed->state = c == '[' ? ST_CSI : c == 'O' ? ST_SS3 : ST_TEXT;
		break;
	case ST_CSI:
		if (c >= 0x40 && c <= 0x7e)
			ed->state = ST_TEXT;
		break;
	default:
		ed->state = ST_TEXT;
		break;
	}
}

int line_editor_feed(struct line_editor *ed, const char *data, size_t len,
		     size_t *consumed, struct buf *echo)
{
	size_t i;

	if (ed->line_done) {
		ed->line_done = false;
		ed->len = 0;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		int rc;

		if (ed->state != ST_TEXT) {
			escape_byte(ed, c);
			continue;
		}
		if (ed->after_cr) {
			ed->after_cr = false;
			if (c == '\n' || c == '\0')
				continue;
		}
		if (c == '\r' || c == '\n') {
			ed->after_cr = c == '\r';
			*consumed = i + 1;
			return line_end(ed, echo);
		}
		if (c >= 0x20 && c != 0x7f) {
			text_byte(ed, (char)c, echo);
			continue;
		}
		if (!ed->terminal) {
			text_byte(ed, (char)c, echo);
			continue;
		}
		rc = control(ed, c, echo);
		if (rc != LINE_MORE) {
			*consumed = i + 1;
			return rc;
		}
	}
	*consumed = len;
	ed->line[ed->len] = '\0';
	return LINE_MORE;
}

int line_editor_finish(struct line_editor *ed)
{
	if (ed->line_done || (ed->len == 0 && !ed->overflow))
		return LINE_EOF;
	ed->line_done = true;
	if (ed->overflow) {
		ed->overflow = false;
		return LINE_TOO_LONG;
	}
	ed->line[ed->len] = '\0';
	return LINE_DONE;
}

int text_crlf(const char *data, size_t len, struct buf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (data[i] != '\n' || (i > 0 && data[i - 1] == '\r'))
			continue;
		if (buf_append(out, data + start, i - start) < 0 ||
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
		start = i + 1;
	}
	return buf_append(out, data + start, len - start);
}
