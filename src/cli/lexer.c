/*
 * lexer.c: splits a command line into words and matches keywords. Pure:
 * no I/O, no globals. Words are separated by spaces or tabs; a double
 * quoted word may hold spaces ("my password"). Keywords match without
 * regard to case and by unique prefix, as the family's clients rely on
 * (`show version` for `show versions`); an exact match always wins.
 * A control byte (NUL included) or DEL anywhere but as a separating tab is
 * an error that names its position, on every transport.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

int cli_words_split(const char *line, size_t len, struct cli_words *w,
		    char *why, size_t whylen)
{
	size_t i = 0, o = 0;

	w->n = 0;
	/* Transports may pass the line ending along; it is not a word. */
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > CLI_LINE_MAX) {
		snprintf(why, whylen,
			 "The command line is longer than %d bytes.",
			 CLI_LINE_MAX);
		return -1;
	}
	while (i < len) {
		bool quoted = false;

		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		if (w->n == CLI_WORDS_MAX) {
			snprintf(why, whylen,
				 "The command has more than %d words.",
				 CLI_WORDS_MAX);
			return -1;
		}
		w->word[w->n++] = &w->storage[o];
		if (line[i] == '"') {
			quoted = true;
			i++;
		}
		while (i < len) {
			unsigned char ch = (unsigned char)line[i];

			/* Refused, never dropped: "na\0me" must not become
			 * "name" (a transport passes such bytes on). */
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				snprintf(why, whylen,
					 "The command contains a control character (0x%02x) at byte %zu.",
					 ch, i + 1);
				return -1;
			}
			if (quoted && ch == '"') {
				quoted = false;
				i++;
				break;
			}
			if (!quoted && (ch == ' ' || ch == '\t'))
				break;
			w->storage[o++] = (char)ch;
			i++;
		}
		if (quoted) {
			snprintf(why, whylen,
				 "A quoted word is not closed (missing '\"').");
			return -1;
		}
		w->storage[o++] = '\0';
	}
	return 0;
}

int cli_keyword_match(const char *word, const char *const *choices,
		      size_t nchoices)
{
	size_t i, len = strlen(word);
	int found = CLI_MATCH_NONE;

	if (len == 0)
		return CLI_MATCH_NONE;
	for (i = 0; i < nchoices; i++)
		if (strcasecmp(word, choices[i]) == 0)
			return (int)i;
	for (i = 0; i < nchoices; i++) {
		if (strncasecmp(word, choices[i], len) != 0)
			continue;
		if (found != CLI_MATCH_NONE)
			return CLI_MATCH_AMBIGUOUS;
		found = (int)i;
	}
	return found;
}

/*
 * A word as error messages show it: printable ASCII only, cut at 32
 * characters, so an error never replays arbitrary input to a terminal or
 * into a parser.
 */
void cli_word_quote(const char *word, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen < 8) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '\'';
	for (i = 0; word[i] && o + 5 < outlen; i++) {
		unsigned char ch = (unsigned char)word[i];

		if (i == 32) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[o++] = '\'';
	out[o] = '\0';
}

void cli_choices_join(const char *const *choices, size_t n, char *out,
		      size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		int k = snprintf(out + o, outlen - o, "%s%s",
				 i == 0 ? "" : (i + 1 == n ? " or " : ", "),
				 choices[i]);

		if (k < 0 || (size_t)k >= outlen - o)
			return;
		o += (size_t)k;
	}
}

/* The choices that word is a prefix of, for "ambiguous" messages. */
void cli_choices_matching(const char *word, const char *const *choices,
			  size_t n, char *out, size_t outlen)
{
	const char *hits[CLI_WORDS_MAX];
	size_t i, k = 0, len = strlen(word);

	for (i = 0; i < n && k < ARRAY_SIZE(hits); i++)
		if (strncasecmp(word, choices[i], len) == 0)
			hits[k++] = choices[i];
	cli_choices_join(hits, k, out, outlen);
}
