/*
 * update_show.c: what `tandem update` prints. On a terminal one line is
 * redrawn in place: a bar, the percent, MB/s and the time left while the
 * bundle goes up, then the stage the controllers are at. Otherwise (a
 * pipe, a log) plain lines: one each 10% of the upload and one for each
 * new stage, never a carriage return.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool/update.h"

#define SHOW_BAR_WIDTH	30
#define SHOW_REDRAW_MS	100	/* a terminal's line, at most this often */
#define SHOW_LINE_MAX	4096	/* one message (a code load report fits) */

struct update_show {
	bool terminal;
	bool line_open;		/* a bar is on screen, no newline yet */
	int64_t started_ms;	/* the first upload call */
	int64_t drawn_ms;
	int decile;		/* plain: the last 10% step printed */
	char stage[64];
	int percent;
};

struct update_show *update_show_new(bool terminal)
{
	struct update_show *s = calloc(1, sizeof(*s));

	if (s) {
		s->terminal = terminal;
		s->decile = 0;
		s->percent = -1;
	}
	return s;
}

void update_show_free(struct update_show *s)
{
	if (s && s->line_open)
		fputc('\n', stdout);
	free(s);
	fflush(stdout);
}

static void bar(struct update_show *s, int percent, const char *tail)
{
	char cells[SHOW_BAR_WIDTH + 1];
	int full = percent * SHOW_BAR_WIDTH / 100;

	memset(cells, '#', (size_t)full);
	memset(cells + full, '.', (size_t)(SHOW_BAR_WIDTH - full));
	cells[SHOW_BAR_WIDTH] = '\0';
	/* \033[K clears what a longer line left behind. */
	printf("\r[%s] %3d%%  %s\033[K", cells, percent, tail);
	fflush(stdout);
	s->line_open = true;
}

void update_show_upload(struct update_show *s, uint64_t sent, uint64_t total)
{
	int64_t now = update_now_ms();
	double secs, rate;
	int percent;
	char tail[96];

	if (!s->started_ms)
		s->started_ms = now;
	percent = total ? (int)(sent * 100 / total) : 100;
	secs = (double)(now - s->started_ms) / 1000.0;
	rate = secs > 0 ? (double)sent / secs / 1e6 : 0;
	if (s->terminal) {
		if (sent < total && now - s->drawn_ms < SHOW_REDRAW_MS)
			return;
		s->drawn_ms = now;
		if (rate > 0 && sent < total) {
			unsigned left = (unsigned)((double)(total - sent) /
						   (rate * 1e6));
			snprintf(tail, sizeof(tail), "%6.1f MB/s  ETA %u:%02u  "
				 "uploading", rate, left / 60, left % 60);
		} else {
			snprintf(tail, sizeof(tail), "%6.1f MB/s  uploading",
				 rate);
		}
		bar(s, percent, tail);
		return;
	}
	if (percent / 10 <= s->decile)
		return;
	s->decile = percent / 10;
	printf("upload: %d%% (%.1f of %.1f MB, %.1f MB/s)\n", s->decile * 10,
	       (double)sent / 1e6, (double)total / 1e6, rate);
	fflush(stdout);
}

void update_show_stage(struct update_show *s, const char *stage, int percent)
{
	bool same = !strcmp(s->stage, stage);

	if (s->terminal) {
		if (same && percent == s->percent)
			return;
		snprintf(s->stage, sizeof(s->stage), "%s", stage);
		s->percent = percent;
		bar(s, percent < 0 ? 100 : percent, stage);
		return;
	}
	/* Plain: a new stage, or its percent on by 10 points. */
	if (same && (percent < 0 || percent / 10 == s->percent / 10))
		return;
	snprintf(s->stage, sizeof(s->stage), "%s", stage);
	s->percent = percent;
	if (percent >= 0)
		printf("stage: %s %d%%\n", stage, percent);
	else
		printf("stage: %s\n", stage);
	fflush(stdout);
}

static void line(struct update_show *s, FILE *to, const char *prefix,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void line(struct update_show *s, FILE *to, const char *prefix,
		 const char *fmt, va_list ap)
{
	char text[SHOW_LINE_MAX];

	if (s->line_open) {
		fputc('\n', stdout);
		s->line_open = false;
	}
	fflush(stdout);
	vsnprintf(text, sizeof(text), fmt, ap);
	fprintf(to, "%s%s\n", prefix, text);
	fflush(to);
	/* The bar starts again under the line. */
	s->stage[0] = '\0';
}

void update_show_line(struct update_show *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(s, stdout, "", fmt, ap);
	va_end(ap);
}

void update_show_fail(struct update_show *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(s, stderr, "tandem update: ", fmt, ap);
	va_end(ap);
}
