/*
 * archive_writer.c: tandemd only. The partner push streams this
 * controller's bundle through libarchive's ustar writer (src/flash/
 * export.c), and tandemd links libarchive.a so that only the objects it
 * uses come in (meson.build: the shared library would map its whole chain
 * of dependencies, about 3 MiB of the daemon's idle RSS). The ustar writer
 * reports an entry type it cannot store through one libarchive-internal
 * function that lives beside the table of every write format; defining it
 * here keeps that table and its compressors out. The export writes regular
 * files only, so this runs only if that ever changes. Should libarchive
 * move the function into the ustar writer, the link fails with a duplicate
 * definition and this file goes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive *a,
	struct archive_entry *entry, const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a,
	struct archive_entry *entry, const char *format)
{
	archive_set_error(a, EINVAL, "%s: not a regular file; the %s "
			  "bundle export stores regular files only",
			  archive_entry_pathname(entry), format);
}
