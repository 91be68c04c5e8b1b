/*
 * oneshot.c: one SSH connection, one request, as provisioning scripts use
 * it: `ssh manage@host 'set cli-parameters json; show disk-groups'`. It
 * splits the request into commands and frames their output; the commands
 * themselves go through shell_ops, never parsed here.
 */
#include <assert.h>
#include <string.h>

#include "ssh/shell.h"

int shell_oneshot_split(const char *text, size_t len, struct slice *out,
			size_t max)
{
	size_t n = 0, start = 0, i;
	bool word_start = true, quoted = false;

	for (i = 0; i <= len; i++) {
		char ch = i < len ? text[i] : ';';

		if (quoted) {
			quoted = ch != '"';
			word_start = false;
			continue;
		}
		if (ch == '"' && word_start) {
			quoted = true;
			word_start = false;
			continue;
		}
		if (ch == ';') {
			if (n == max)
				return -1;
			out[n].ptr = (const uint8_t *)text + start;
			out[n].len = i - start;
			n++;
			start = i + 1;
			word_start = true;
			continue;
		}
		word_start = ch == ' ' || ch == '\t';
	}
	return (int)n;
}

static bool blank(const struct slice *s)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->ptr[i] != ' ' && s->ptr[i] != '\t')
			return false;
	return true;
}

static int execute_trimmed(const struct shell_service *svc, void *session,
			   char *line, size_t len, struct buf *out)
{
	size_t start = 0;

	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	while (len > start && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	line[len] = '\0';
	return svc->ops->execute(session, line + start, len - start, out);
}

static int flush(struct buf *out,
		 int (*write)(void *arg, const char *data, size_t len),
		 void *arg)
{
	int rc = out->len ? write(arg, out->data, out->len) : 0;

	buf_reset(out);
	return rc < 0 ? -1 : 0;
}

int shell_oneshot_run(const struct shell_service *svc, void *session,
		      const char *text, size_t len, struct buf *out,
		      int (*write)(void *arg, const char *data, size_t len),
		      void *arg)
{
	struct slice cmds[SHELL_ONESHOT_MAX];
	int n = shell_oneshot_split(text, len, cmds, SHELL_ONESHOT_MAX);
	int status = 0;

	assert(len <= SHELL_LINE_MAX);	/* sshd refuses longer requests */
	if (n < 0) {
		buf_appendf(out, "Error: A one-shot request may hold at most "
			    "%d commands separated by ';'.\n",
			    SHELL_ONESHOT_MAX);
		return flush(out, write, arg) < 0 ? -1 : 1;
	}
	for (int i = 0; i < n; i++) {
		char line[SHELL_LINE_MAX + 1];
		size_t take = cmds[i].len < SHELL_LINE_MAX ? cmds[i].len
							   : SHELL_LINE_MAX;
		int rc;

		if (blank(&cmds[i]))
			continue;
		/* execute() takes a NUL-terminated line, as from a shell. */
		memcpy(line, cmds[i].ptr, take);
		line[take] = '\0';
		svc->ops->prompt(session, out);
		buf_append(out, line, take);
		buf_append(out, "\n", 1);
		/* Echoed as sent; run without the spaces around it (they
		 * would reach the XML document's REQUEST). */
		rc = execute_trimmed(svc, session, line, take, out);
		if (flush(out, write, arg) < 0)
			return -1;
		if (rc == SHELL_EXEC_FAILED)
			status = 1;
		if (rc == SHELL_EXEC_EXIT)
			return status;
	}
	svc->ops->prompt(session, out);
	return flush(out, write, arg) < 0 ? -1 : status;
}
