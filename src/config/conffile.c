/*
 * conffile.c: reads the config file with inih and turns one program's
 * section into command-line options (conffile.h). Parses nothing itself
 * beyond lines and switch values; it never changes the file.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/conffile.h"

/* Sections a program reads; "tandem SUBCOMMAND..." for the tool's, and
 * "tandem" for what every subcommand that has the option shares. */
static bool section_known(const char *name)
{
	return !strcmp(name, "tandemd") || !strcmp(name, "tandem-loader") ||
	       !strcmp(name, "tandem") ||
	       (!strncmp(name, "tandem ", 7) && name[7] != '\0');
}

/* [tandem] is read by every `tandem` subcommand, each taking the keys
 * it has an option for and leaving the others to the rest. */
static bool section_shared(const char *section, const char *program)
{
	return !strcmp(section, "tandem") && !strncmp(program, "tandem ", 7);
}

struct entry {
	char *arg;		/* "--key=value" or "--key" */
	unsigned line;
};

/* One parse: inih's reader and handler share it, so the handler knows
 * the line the reader last gave. */
struct parse {
	const char *path;
	const char *text;	/* the whole file, NUL-terminated */
	size_t pos;
	unsigned line;
	const char *section;	/* the one to collect, or NULL */
	const struct option *opts;
	const char *get_key;	/* conffile_get: the key wanted */
	char *get_out;
	size_t get_len;
	bool found;
	struct entry entries[CONFFILE_ENTRIES_MAX];
	size_t nentries;
	struct err err;		/* the first problem */
};

static char *parse_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t n = strcspn(p->text + p->pos, "\n");

	if (p->text[p->pos] == '\0')
		return NULL;
	if (p->text[p->pos + n] == '\n')
		n++;
	/* Lines were checked against CONFFILE_LINE_MAX: this always fits. */
	if (n >= (size_t)num)
		n = (size_t)num - 1;
	memcpy(str, p->text + p->pos, n);
	str[n] = '\0';
	p->pos += n;
	p->line++;
	return str;
}

static int parse_fail(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse *p, const char *fmt, ...)
{
	char msg[ERR_MESSAGE_MAX];
	va_list ap;

	if (p->err.code == 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		err_set(&p->err, -EINVAL, "%s:%u: %s", p->path, p->line, msg);
	}
	return 0;
}

static int switch_value(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i]) || !strcasecmp(text, no[i])) {
			*out = !strcasecmp(text, yes[i]);
			return 0;
		}
	}
	return -1;
}

static int parse_handler(void *user, const char *section, const char *key,
			 const char *value)
{
	struct parse *p = user;
	const struct option *o;
	bool on = true;
	char *arg;

	if (section[0] == '\0')
		return parse_fail(p, "%s: outside any section (each entry "
				  "belongs to a [program] section)", key);
	if (!section_known(section))
		return parse_fail(p, "[%s]: no program reads this section "
				  "(tandemd, tandem-loader, tandem, tandem "
				  "COMMAND)", section);
	if (p->get_key) {
		if (!strcmp(section, p->section) && !strcmp(key, p->get_key)) {
			snprintf(p->get_out, p->get_len, "%s", value);
			p->found = true;
		}
		return 1;
	}
	if (strcmp(section, p->section) && !section_shared(section, p->section))
		return 1;	/* another program's: it checks its own */
	for (o = p->opts; o->name; o++)
		if (!strcmp(o->name, key))
			break;
	if (!o->name && strcmp(section, p->section))
		return 1;	/* [tandem]: another subcommand's option */
	if (!o->name || !strcmp(key, "help"))
		return parse_fail(p, "%s: not an option of %s (see '%s "
				  "--help' and docs/config.md)", key,
				  p->section, p->section);
	if (o->has_arg == required_argument && value[0] == '\0')
		return parse_fail(p, "%s: needs a value", key);
	if (o->has_arg == no_argument && switch_value(value, &on) < 0)
		return parse_fail(p, "%s: expected true or false, not '%s'",
				  key, value);
	if (p->nentries == CONFFILE_ENTRIES_MAX)
		return parse_fail(p, "%s: more than %d entries in [%s]", key,
				  CONFFILE_ENTRIES_MAX, p->section);
	if (!on)
		return 1;
	if ((o->has_arg == no_argument ? asprintf(&arg, "--%s", key) :
	     asprintf(&arg, "--%s=%s", key, value)) < 0)
		return parse_fail(p, "%s: out of memory", key);
	p->entries[p->nentries].arg = arg;
	p->entries[p->nentries++].line = p->line;
	return 1;
}

/* Reads and parses the file into p; 0, or -1 with e set. */
static int parse_file(struct parse *p, struct err *e)
{
	struct buf b;
	unsigned line = 1;
	size_t start = 0, i;
	int rc;

	buf_init(&b, CONFFILE_MAX);
	if (fs_read_file(p->path, CONFFILE_MAX, &b, e) < 0) {
		buf_free(&b);
		return err_prefix(e, "config file");
	}
	for (i = 0; i <= b.len; i++) {
		if (i < b.len && b.data[i] == '\0') {
			buf_free(&b);
			return err_set(e, -EINVAL, "%s:%u: a NUL byte (not a "
				       "text file)", p->path, line);
		}
		if (i == b.len || b.data[i] == '\n') {
			if (i - start > CONFFILE_LINE_MAX) {
				buf_free(&b);
				return err_set(e, -EINVAL, "%s:%u: line longer "
					       "than %d bytes", p->path, line,
					       CONFFILE_LINE_MAX);
			}
			start = i + 1;
			line++;
		}
	}
	p->text = b.data ? b.data : "";
	rc = ini_parse_stream(parse_reader, p, parse_handler, p);
	if (p->err.code) {
		*e = p->err;
		rc = -1;
	} else if (rc > 0) {
		rc = err_set(e, -EINVAL, "%s:%d: expected [section], KEY = "
			     "VALUE or a comment", p->path, rc);
	} else if (rc < 0) {
		rc = err_set(e, -ENOMEM, "%s: inih failed (%d)", p->path, rc);
	}
	buf_free(&b);
	p->text = NULL;
	return rc < 0 ? -1 : 0;
}

int conffile_find(int argc, char **argv, char *out, size_t len,
		  struct err *e)
{
	const char *path = NULL, *env = getenv(CONFFILE_ENV);

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--no-config")) {
			out[0] = '\0';
			return len ? 0 : -1;
		} else if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= argc) {
				err_set(e, -EINVAL, "--config needs a FILE");
				return -1;
			}
			path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
		}
	}
	if (!path && env && env[0])
		path = env;
	if (!path && access(CONFFILE_DEFAULT, F_OK) == 0)
		path = CONFFILE_DEFAULT;
	if (path && !path[0]) {
		err_set(e, -EINVAL, "--config needs a FILE");
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s", path ? path : "") >= len) {
		err_set(e, -ENAMETOOLONG, "config file name too long");
		return -1;
	}
	return 0;
}

void conffile_args_free(struct conffile_args *a)
{
	if (!a->argv)
		return;
	for (int i = 1; i <= a->file_args; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->lines);
	a->argv = NULL;
	a->lines = NULL;
}

int conffile_args_build(const char *section, const struct option *opts,
			int argc, char **argv, struct conffile_args *out,
			struct err *e)
{
	struct parse *p;
	int i, n = 0;

	memset(out, 0, sizeof(*out));
	if (conffile_find(argc, argv, out->path, sizeof(out->path), e) < 0)
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(e, -ENOMEM, "out of memory");
	p->path = out->path;
	p->section = section;
	p->opts = opts;
	if (out->path[0] && parse_file(p, e) < 0)
		goto fail;
	out->argv = calloc((size_t)argc + p->nentries + 1, sizeof(char *));
	out->lines = calloc(p->nentries + 1, sizeof(unsigned));
	if (!out->argv || !out->lines) {
		err_set(e, -ENOMEM, "out of memory");
		goto fail;
	}
	out->argv[n++] = argv[0];
	for (size_t k = 0; k < p->nentries; k++) {
		out->lines[n] = p->entries[k].line;
		out->argv[n++] = p->entries[k].arg;
	}
	out->file_args = n - 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				out->argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--config"))
			i++;
		else if (strncmp(argv[i], "--config=", 9) &&
			 strcmp(argv[i], "--no-config"))
			out->argv[n++] = argv[i];
	}
	out->argv[n] = NULL;
	out->argc = n;
	free(p);
	return 0;
fail:
	for (size_t k = 0; k < p->nentries; k++)
		free(p->entries[k].arg);
	free(p);
	free(out->argv);
	free(out->lines);
	out->argv = NULL;
	out->lines = NULL;
	return -1;
}

const char *conffile_where(struct conffile_args *a, int index)
{
	const char *arg, *eq;

	if (index < 1 || index > a->file_args)
		return "";
	arg = a->argv[index] + 2;
	eq = strchr(arg, '=');
	snprintf(a->where, sizeof(a->where), "%s:%u: %.*s: ", a->path,
		 a->lines[index], (int)(eq ? eq - arg : (int)strlen(arg)),
		 arg);
	return a->where;
}

int conffile_get(const char *path, const char *section, const char *key,
		 char *out, size_t len, struct err *e)
{
	struct parse *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_set(e, -ENOMEM, "out of memory");
	p->path = path;
	p->section = section;
	p->get_key = key;
	p->get_out = out;
	p->get_len = len;
	rc = parse_file(p, e) < 0 ? -1 : p->found;
	free(p);
	return rc;
}
