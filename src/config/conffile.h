/*
 * conffile.h: the config file (docs/config.md). One INI file, read with
 * inih, whose sections name the programs that read them ([tandemd],
 * [tandem-loader], [tandem update], ...); every key is one of that
 * program's long options without the dashes. The file's entries become
 * options placed before the command line's, so a flag overrides the file
 * and a repeated key is a repeated option. Nothing here knows what an
 * option means: each program's own getopt table and parser decide.
 */
#ifndef TANDEM_CONFFILE_H
#define TANDEM_CONFFILE_H

#include <getopt.h>
#include <limits.h>
#include <stddef.h>

#include "common/common.h"

#define CONFFILE_DEFAULT	"/etc/tandem/tandemd.conf"
#define CONFFILE_ENV		"TANDEM_CONFIG"
#define CONFFILE_MAX		(64 * 1024)	/* bytes of the file */
/* Bytes of one line, without its end: inih reads lines of up to 200
 * bytes with CR, LF and NUL; a longer one would be split silently. */
#define CONFFILE_LINE_MAX	196
#define CONFFILE_ENTRIES_MAX	256	/* options one section may give */

struct conffile_args {
	int argc;
	char **argv;		/* argv[0], the file's options, the command
				 * line's; NULL-terminated, owned */
	int file_args;		/* argv[1..file_args] came from the file */
	unsigned *lines;	/* the file line of each of those */
	char path[PATH_MAX];	/* the file read, "" for none */
	char where[PATH_MAX + 32];	/* conffile_where's answer */
};

/*
 * The config file's path from argv (--config FILE or --config=FILE, before
 * any "--"), else $TANDEM_CONFIG, else CONFFILE_DEFAULT when it exists;
 * "" for none, and for --no-config. -1 with e set when --config has no
 * value.
 */
int conffile_find(int argc, char **argv, char *out, size_t len,
		  struct err *e);

/*
 * Reads section `section` of the config file conffile_find names and
 * builds the argv to parse: argv[0], "--KEY=VALUE" (or "--KEY" for a
 * switch set true; false leaves it out) for each entry in file order,
 * then argv[1..] without --config and --no-config. Every key of every section is checked:
 * a key that is not a long option of `opts` in this section, an entry
 * outside any section, a section no program reads, a bad switch value, a
 * line over CONFFILE_LINE_MAX or an unreadable file fails with e naming
 * FILE:LINE and the key. On failure out holds nothing to free.
 */
int conffile_args_build(const char *section, const struct option *opts,
			int argc, char **argv, struct conffile_args *out,
			struct err *e);
void conffile_args_free(struct conffile_args *a);

/*
 * "FILE:LINE: KEY: " when argv[index] came from the file, else "". For a
 * program's option errors: log_set_context(conffile_where(&a, optind - 1))
 * after each getopt_long() names where a bad value was written.
 */
const char *conffile_where(struct conffile_args *a, int index);

/*
 * The last value of KEY in SECTION of the file at path (a key given once
 * per section as a rule); 1 found, 0 not there, -1 with e set when the
 * file cannot be read. The loader reads [tandemd]'s state this way.
 */
int conffile_get(const char *path, const char *section, const char *key,
		 char *out, size_t len, struct err *e);

#endif
