/*
 * format.c: severity names and the console line of `show events`, in the
 * family's form (MSA-REFERENCE.md):
 *   2017-02-17 15:59:32 [269] #A1435: <system label> Controller A
 *   INFORMATIONAL <message>
 * (one line). Times are printed in UTC. No I/O.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "events/events.h"

static const char *const events_severity_names[EVENTS_SEVERITY_COUNT] = {
	[EVENTS_INFORMATIONAL] = "INFORMATIONAL",
	[EVENTS_WARNING] = "WARNING",
	[EVENTS_ERROR] = "ERROR",
	[EVENTS_CRITICAL] = "CRITICAL",
	[EVENTS_RESOLVED] = "RESOLVED",
};

const char *events_severity_name(enum events_severity s)
{
	if ((unsigned)s >= EVENTS_SEVERITY_COUNT)
		return "UNKNOWN";
	return events_severity_names[s];
}

/* Case-insensitive; accepts the family's names only. */
int events_severity_parse(const char *name, enum events_severity *out)
{
	for (unsigned i = 0; i < EVENTS_SEVERITY_COUNT; i++) {
		if (!strcasecmp(name, events_severity_names[i])) {
			*out = (enum events_severity)i;
			return 0;
		}
	}
	return -1;
}

int events_format_console(const struct event *ev, const char *system_label,
			  struct buf *out)
{
	time_t t = (time_t)ev->time;
	char stamp[32];
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(stamp, sizeof(stamp), "%lld", (long long)ev->time);
	return buf_appendf(out, "%s [%u] #%c%llu: %s%sController %c %s %s",
			   stamp, ev->code, ev->controller,
			   (unsigned long long)ev->seq,
			   system_label ? system_label : "",
			   system_label && *system_label ? " " : "",
			   ev->controller, events_severity_name(ev->severity),
			   ev->message);
}
