/*
 * programs.c: finds the project's other programs. Installed, they sit
 * beside `tandem`; in the build tree each lives in its part's folder.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tool/tool.h"

int tool_find_program(const char *name, char *out, size_t len)
{
	static const char *const dirs[] = { "", "../daemon/", "../loader/" };
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
