/*
 * archive_writer.c: tandemd only. The partner link pushes this
 * controller's bundle with libarchive's ustar writer (src/flash/export.c),
 * and tandemd links libarchive.a to keep its other formats out of the
 * daemon (meson.build). The ustar writer calls one helper that libarchive
 * keeps in archive_write_set_format.o, beside the table of every write
 * format, which would pull all of them and their compressors in. This is
 * that helper, as libarchive 3.x defines it; the export writes regular
 * files only, so it runs only if that ever changes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

/* libarchive's ARCHIVE_ERRNO_FILE_FORMAT, private to it. */
#define EFTYPE_UNSUPPORTED EILSEQ

void __archive_write_entry_filetype_unsupported(struct archive *a,
	struct archive_entry *entry, const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a,
	struct archive_entry *entry, const char *format)
{
	archive_set_error(a, EFTYPE_UNSUPPORTED,
			  "%s: %s format cannot archive this type of file",
			  archive_entry_pathname(entry), format);
}
