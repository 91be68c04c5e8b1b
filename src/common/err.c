/* err.c: fills struct err; owns message formatting, never prints. */
#include <stdio.h>
#include <string.h>

#include "common.h"

int err_setv(struct err *e, int code, const char *fmt, va_list ap)
{
	if (e) {
		e->code = code;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	return code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(e, code, fmt, ap);
	va_end(ap);
	return code;
}

/* Puts context in front of an existing message: "bundle x.tar: <msg>". */
int err_prefix(struct err *e, const char *fmt, ...)
{
	char head[ERR_MESSAGE_MAX], old[ERR_MESSAGE_MAX];
	va_list ap;

	if (!e)
		return 0;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* A long message is cut at the end, never overrun. */
	if (snprintf(e->msg, sizeof(e->msg), "%s: %.*s", head,
		     (int)(sizeof(old) - 1), old) < 0)
		e->msg[0] = '\0';
	return e->code;
}

void err_clear(struct err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
