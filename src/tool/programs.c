/*
 * programs.c: finds the project's other programs and the web UI's files.
 * Installed, the daemons sit in ../sbin/ (or beside `tandem`) and the web
 * UI in the data directory; in the build tree each program lives in its
 * part's folder and the web UI is the source tree's web/.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool/enclosure.h"
#include "tool/tool.h"
#include "tool_paths.h"

int tool_find_program(const char *name, char *out, size_t len)
{
	static const char *const dirs[] = { "", "../sbin/", "../daemon/",
					    "../loader/" };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	size_t i;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	slash[1] = '\0';
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((size_t)snprintf(out, len, "%s%s%s", self, dirs[i], name) >=
		    len)
			return -1;
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

int tool_path(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Whether this tandem runs from the build tree (tandemd in ../daemon/). */
static bool in_build_tree(void)
{
	char daemon[PATH_MAX], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return tool_path(daemon, sizeof(daemon), "%s/../daemon/tandemd",
			 self) == 0 && access(daemon, X_OK) == 0;
}

const char *tool_web_root(void)
{
	return in_build_tree() ? ENCLOSURE_WEB_ROOT : TOOL_WEB_ROOT_INSTALLED;
}

const char *tool_handlers_dir(void)
{
	return in_build_tree() ? ENCLOSURE_HANDLERS_DIR :
	       TOOL_HANDLERS_DIR_INSTALLED;
}
