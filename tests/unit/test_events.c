/* test_events.c: event log append/reopen/iterate, torn tails, corruption, cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "events/events.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tandem-events-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/events.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

struct collected {
	size_t n;
	struct event ev[512];
};

static int collect(void *ctx, const struct event *ev)
{
	struct collected *c = ctx;

	if (c->n < ARRAY_SIZE(c->ev))
		c->ev[c->n] = *ev;
	c->n++;
	return 0;
}

static struct events_log *open_log(const char *path, size_t cap,
				   struct events_open_info *info)
{
	struct events_log *log = NULL;
	struct err e;

	assert_int_equal(events_open(path, 'A', cap, &log, info, &e), 0);
	return log;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_append_reopen_iterate(void **state)
{
	struct fixture *f = *state;
	struct events_open_info info;
	struct events_log *log;
	struct collected *c = calloc(1, sizeof(*c));

	log = open_log(f->path, 0, NULL);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(events_append(log, i % 3 == 0 ? EVENTS_WARNING :
					       EVENTS_INFORMATIONAL, 237,
					       "event number %d", i), 0);
	events_close(log);

	log = open_log(f->path, 0, &info);
	assert_int_equal(info.records, 10);
	assert_int_equal(info.torn_bytes, 0);
	assert_int_equal(events_count(log), 10);
	assert_int_equal(events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c), 0);
	assert_int_equal(c->n, 10);
	for (size_t i = 0; i < 10; i++) {
		char want[64];

		snprintf(want, sizeof(want), "event number %zu", 10 - i);
		assert_int_equal(c->ev[i].seq, 10 - i);	/* newest first */
		assert_string_equal(c->ev[i].message, want);
		assert_int_equal(c->ev[i].code, 237);
		assert_int_equal(c->ev[i].controller, 'A');
	}
	memset(c, 0, sizeof(*c));
	events_each(log, 3, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->n, 3);
	assert_int_equal(c->ev[2].seq, 8);
	memset(c, 0, sizeof(*c));
	events_each(log, 0, EVENTS_SEVERITY_BIT(EVENTS_WARNING), collect, c);
	assert_int_equal(c->n, 3);	/* 9, 6, 3 */
	assert_int_equal(c->ev[0].seq, 9);
	assert_int_equal(c->ev[2].seq, 3);
	/* Sequence numbers continue after a reopen. */
	events_append(log, EVENTS_CRITICAL, 1011, "after reopen");
	memset(c, 0, sizeof(*c));
	events_each(log, 1, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->ev[0].seq, 11);
	assert_int_equal(c->ev[0].severity, EVENTS_CRITICAL);
	events_close(log);
	free(c);
}

/* E1: a torn last record is dropped at every byte offset; the rest kept. */
static void test_torn_tail_every_offset(void **state)
{
	struct fixture *f = *state;
	struct collected *c = calloc(1, sizeof(*c));
	struct events_open_info info;
	struct events_log *log;
	struct buf whole;
	struct err e;
	off_t before, after;

	log = open_log(f->path, 0, NULL);
	for (int i = 1; i <= 4; i++)
		events_append(log, EVENTS_INFORMATIONAL, 269, "kept %d", i);
	before = file_size(f->path);
	events_append(log, EVENTS_ERROR, 269, "the last one, torn");
	after = file_size(f->path);
	events_close(log);
	buf_init(&whole, 1 << 20);
	assert_int_equal(fs_read_file(f->path, 1 << 20, &whole, &e), 0);

	for (off_t cut = before; cut < after; cut++) {
		assert_int_equal(fs_atomic_write(f->path, whole.data,
						 (size_t)cut, 0644, &e), 0);
		log = open_log(f->path, 0, &info);
		assert_int_equal(info.records, 4);
		assert_int_equal(info.torn_bytes, (size_t)(cut - before));
		assert_int_equal(info.corrupt_runs, 0);
		assert_int_equal(file_size(f->path), before);
		/* The next append follows a whole record and reads back. */
		assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 1008,
					       "after the cut"), 0);
		events_close(log);
		log = open_log(f->path, 0, &info);
		assert_int_equal(info.records, 5);
		assert_int_equal(info.torn_bytes, 0);
		memset(c, 0, sizeof(*c));
		events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c);
		assert_int_equal(c->n, 5);
		assert_string_equal(c->ev[0].message, "after the cut");
		assert_int_equal(c->ev[0].seq, 5);
		assert_string_equal(c->ev[4].message, "kept 1");
		events_close(log);
	}
	buf_free(&whole);
	free(c);
}

static void test_corrupt_middle_skipped(void **state)
{
	struct fixture *f = *state;
	struct collected *c = calloc(1, sizeof(*c));
	struct events_open_info info;
	struct events_log *log;
	char aside[160];
	off_t second;
	int fd;
	uint8_t byte;

	log = open_log(f->path, 0, NULL);
	events_append(log, EVENTS_INFORMATIONAL, 237, "one");
	second = file_size(f->path);
	for (int i = 2; i <= 5; i++)
		events_append(log, EVENTS_INFORMATIONAL, 237, "number %d", i);
	events_close(log);
	/* Flip a bit inside the second record's message. */
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, second + 30), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, second + 30), 1);
	close(fd);

	log = open_log(f->path, 0, &info);
	assert_int_equal(info.records, 4);
	assert_int_equal(info.corrupt_runs, 1);
	assert_true(info.corrupt_bytes > 0);
	snprintf(aside, sizeof(aside), "%s.corrupt", f->path);
	assert_int_equal(access(aside, F_OK), 0);
	events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->n, 5);	/* 4 kept + the note */
	assert_int_equal(c->ev[0].severity, EVENTS_WARNING);
	assert_int_equal(c->ev[0].code, EVENTS_CODE_EVENTS_CORRUPT);
	assert_int_equal(c->ev[0].seq, 6);
	assert_string_equal(c->ev[1].message, "number 5");
	assert_string_equal(c->ev[3].message, "number 3");
	assert_string_equal(c->ev[4].message, "one");
	events_close(log);
	/* Repaired: a second open finds nothing to skip. */
	log = open_log(f->path, 0, &info);
	assert_int_equal(info.corrupt_runs, 0);
	assert_int_equal(info.records, 5);
	events_close(log);
	free(c);
}

/* A message that makes a record of exactly len bytes. */
static void append_sized(struct events_log *log, size_t len, int i)
{
	char msg[EVENTS_MESSAGE_MAX];
	struct event ev = { .seq = 1, .controller = 'A' };
	uint8_t rec[EVENTS_RECORD_MAX];
	size_t fixed = events_record_encode(&ev, rec, sizeof(rec));

	assert_true(len > fixed + 8 && len - fixed < sizeof(msg));
	snprintf(msg, sizeof(msg), "%08d", i);
	memset(msg + 8, 'm', len - fixed - 8);
	msg[len - fixed] = '\0';
	assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237, "%s",
				       msg), 0);
}

static void test_bounded_size(void **state)
{
	struct fixture *f = *state;
	struct collected *c = calloc(1, sizeof(*c));
	struct events_open_info info;
	struct events_log *log;
	const size_t cap = EVENTS_LOG_MIN, rec = 128, per_file = cap / rec;
	char older[PATH_MAX + 8], third[PATH_MAX + 8];
	struct err e;

	snprintf(older, sizeof(older), "%s.1", f->path);
	snprintf(third, sizeof(third), "%s.2", f->path);
	assert_int_equal(events_open(f->path, 'A', cap - 1, &log, NULL, &e),
			 -EINVAL);
	log = open_log(f->path, cap, NULL);
	/* just under the cap, then exactly at it: one file */
	for (size_t i = 1; i <= per_file; i++) {
		append_sized(log, rec, (int)i);
		assert_int_equal(file_size(f->path), (off_t)(i * rec));
		assert_int_equal(access(older, F_OK), -1);
	}
	/* one record over: the full file becomes events.log.1 */
	append_sized(log, rec, (int)per_file + 1);
	assert_int_equal(file_size(older), (off_t)cap);
	assert_int_equal(file_size(f->path), (off_t)rec);
	/* both files are read, newest first, with no hole */
	events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->n, per_file + 1);
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->ev[i].seq, per_file + 1 - i);
	assert_int_equal(events_count(log), per_file + 1);
	events_close(log);
	/* a restart reads both and numbers on */
	log = open_log(f->path, cap, &info);
	assert_int_equal(info.records, per_file + 1);
	assert_int_equal(info.torn_bytes + info.corrupt_bytes, 0);
	for (int i = 1; i <= 300; i++) {
		assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237,
			"a message of a realistic length, number %d", i), 0);
		assert_true(file_size(f->path) <= (off_t)cap);
		assert_true(file_size(older) <= (off_t)cap);
	}
	/* only one older file is kept */
	assert_int_equal(access(third, F_OK), -1);
	c->n = 0;
	events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c);
	assert_true(c->n > 40);
	assert_int_equal(c->ev[0].seq, per_file + 1 + 300);
	for (size_t i = 1; i < c->n; i++)
		assert_int_equal(c->ev[i].seq, c->ev[i - 1].seq - 1);
	/* `show events last N` stops inside the newer file or the older */
	c->n = 0;
	events_each(log, 3, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->n, 3);
	events_close(log);
	free(c);
}

static void test_record_prefixes_and_format(void **state)
{
	uint8_t rec[EVENTS_RECORD_MAX];
	struct event ev = { .seq = 1435, .time = 1487347172, .code = 269,
			    .severity = EVENTS_INFORMATIONAL,
			    .controller = 'A' }, out;
	struct buf b;
	size_t n, used;
	enum events_severity s;

	(void)state;
	snprintf(ev.message, sizeof(ev.message),
		 "Partner Firmware Update progress: PFU completed on local "
		 "controller, SUCCESS");
	n = events_record_encode(&ev, rec, sizeof(rec));
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(events_record_decode(rec, i, &out, &used), -1);
	assert_int_equal(events_record_decode(rec, n, &out, &used), 0);
	assert_int_equal(used, n);
	assert_string_equal(out.message, ev.message);
	rec[n - 1] ^= 1;
	assert_int_equal(events_record_decode(rec, n, &out, &used), -2);
	/* The longest message fits, one more byte is cut at the limit. */
	memset(ev.message, 'x', sizeof(ev.message) - 1);
	ev.message[sizeof(ev.message) - 1] = '\0';
	n = events_record_encode(&ev, rec, sizeof(rec));
	assert_int_equal(n, EVENTS_RECORD_MAX);
	assert_int_equal(events_record_decode(rec, n, &out, &used), 0);
	assert_int_equal(strlen(out.message), EVENTS_MESSAGE_MAX - 1);

	snprintf(ev.message, sizeof(ev.message), "PFU completed");
	buf_init(&b, 1024);
	assert_int_equal(events_format_console(&ev, "EF3015 Array SN#00C0FF142609",
					       &b), 0);
	assert_string_equal(b.data, "2017-02-17 15:59:32 [269] #A1435: EF3015 "
			    "Array SN#00C0FF142609 Controller A INFORMATIONAL "
			    "PFU completed");
	buf_free(&b);
	assert_int_equal(events_severity_parse("critical", &s), 0);
	assert_int_equal(s, EVENTS_CRITICAL);
	assert_int_equal(events_severity_parse("fatal", &s), -1);
	assert_string_equal(events_severity_name(EVENTS_RESOLVED), "RESOLVED");
}

static void *appender(void *arg)
{
	struct events_log *log = arg;

	for (int i = 0; i < 100; i++)
		if (events_append(log, EVENTS_INFORMATIONAL, 1002, "t %d", i))
			return (void *)1;
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	struct fixture *f = *state;
	struct collected *c = calloc(1, sizeof(*c));
	struct events_log *log;
	pthread_t t[4];
	bool seen[401] = { false };

	log = open_log(f->path, 0, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, appender, log);
	for (int i = 0; i < 4; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	events_close(log);
	log = open_log(f->path, 0, NULL);
	events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c);
	assert_int_equal(c->n, 400);
	for (size_t i = 0; i < 400; i++) {
		assert_true(c->ev[i].seq >= 1 && c->ev[i].seq <= 400);
		assert_false(seen[c->ev[i].seq]);
		seen[c->ev[i].seq] = true;
	}
	events_close(log);
	free(c);
}

/*
 * E2 under the power-loss model (src/common/powerloss.c): a cut at every
 * step of a run of appends, to a new log and to one already holding
 * events, loses no event that events_append() reported appended; what
 * was on disk before stays, and the log reopens whole.
 */
static void test_appended_event_survives_a_power_cut(void **state)
{
	struct fixture *f = *state;
	struct collected *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	for (int before = 0; before <= 3; before += 3) {
		int cuts = 0;

		for (int cut = 1;; cut++) {
			struct events_open_info info;
			struct events_log *log;
			bool reported[16] = { false };
			int fds[2], status, n = 0;
			uint8_t seq;
			char spec[32];
			pid_t pid;

			assert_true(cut < 40);
			assert_true(unlink(f->path) == 0 || errno == ENOENT);
			if (before) {
				log = open_log(f->path, 0, NULL);
				for (int i = 1; i <= before; i++)
					assert_int_equal(events_append(log,
						EVENTS_INFORMATIONAL, 237,
						"event %d", i), 0);
				events_close(log);
			}
			assert_int_equal(pipe(fds), 0);
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				struct err e;

				close(fds[0]);
				snprintf(spec, sizeof(spec), "powercut=%d", cut);
				if (fault_arm(spec, &e) < 0 ||
				    events_open(f->path, 'A', 0, &log, NULL,
						&e) < 0)
					_exit(3);
				for (int i = before + 1; i <= before + 6; i++) {
					if (events_append(log,
						EVENTS_INFORMATIONAL, 237,
						"event %d", i) < 0)
						_exit(4);
					seq = (uint8_t)i;
					if (write(fds[1], &seq, 1) != 1)
						_exit(5);
				}
				_exit(0);
			}
			close(fds[1]);
			while (read(fds[0], &seq, 1) == 1) {
				assert_true(seq < ARRAY_SIZE(reported));
				reported[seq] = true;
			}
			close(fds[0]);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status));

			log = open_log(f->path, 0, &info);
			memset(c, 0, sizeof(*c));
			assert_int_equal(events_each(log, 0,
				EVENTS_SEVERITY_ALL, collect, c), 0);
			events_close(log);
			assert_int_equal(info.corrupt_runs, 0);
			for (size_t i = 0; i < c->n; i++)
				if (c->ev[i].seq < ARRAY_SIZE(reported))
					reported[c->ev[i].seq] = false;
			for (size_t i = 0; i < ARRAY_SIZE(reported); i++)
				if (reported[i])
					fail_msg("cut %d: event %zu was reported "
						 "appended and is gone", cut, i);
			for (size_t i = 0; i < c->n; i++)
				n += c->ev[i].seq <= (uint64_t)before;
			assert_int_equal(n, before);
			if (WEXITSTATUS(status) == 0)
				break;
			assert_int_equal(WEXITSTATUS(status),
					 FAULT_POWERCUT_STATUS);
			cuts++;
		}
		/* One step an append, and the new log's directory fsync. */
		assert_int_equal(cuts, before ? 6 : 7);
	}
	free(c);
}

/* E4: the partner's events are kept with their origin, once each, and do
 * not move this controller's own numbering; events_since() hands out one
 * origin's events after a sequence, oldest first, across a rotation. */
static void test_foreign_events(void **state)
{
	struct fixture *f = *state;
	struct events_log *log;
	struct event ev = { 0 }, out[8];
	struct collected *c = calloc(1, sizeof(*c));
	size_t n;

	log = open_log(f->path, EVENTS_LOG_MIN, NULL);
	assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237, "a1"), 0);
	ev.controller = 'B';
	ev.seq = 40;
	ev.time = 1000;
	ev.code = 1013;
	ev.severity = EVENTS_WARNING;
	snprintf(ev.message, sizeof(ev.message), "from B");
	assert_int_equal(events_append_foreign(log, &ev), 0);
	assert_int_equal(events_append_foreign(log, &ev), 1);	/* held */
	ev.seq = 39;
	assert_int_equal(events_append_foreign(log, &ev), 1);	/* older */
	ev.controller = 'A';
	ev.seq = 99;
	assert_int_equal(events_append_foreign(log, &ev), -EINVAL);
	ev.controller = 'B';
	ev.seq = 0;
	assert_int_equal(events_append_foreign(log, &ev), -EINVAL);
	assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237, "a2"), 0);
	assert_int_equal(events_last_seq(log, 'A'), 2);
	assert_int_equal(events_last_seq(log, 'B'), 40);
	assert_int_equal(events_each(log, 0, EVENTS_SEVERITY_ALL, collect, c), 0);
	assert_int_equal(c->n, 3);
	/* Newest first by time: B's old event, stored between a1 and a2,
	 * comes last; a1 and a2 (same second, maybe) in stored order. */
	assert_string_equal(c->ev[0].message, "a2");
	assert_string_equal(c->ev[1].message, "a1");
	assert_int_equal(c->ev[2].controller, 'B');
	assert_int_equal(c->ev[2].seq, 40);
	assert_int_equal(c->ev[2].time, 1000);
	assert_string_equal(c->ev[2].message, "from B");
	memset(c, 0, sizeof(*c));
	assert_int_equal(events_each(log, 2, EVENTS_SEVERITY_ALL, collect, c),
			 0);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->ev[1].message, "a1");
	memset(c, 0, sizeof(*c));
	assert_int_equal(events_each(log, 0, EVENTS_SEVERITY_BIT(EVENTS_WARNING),
				     collect, c), 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->ev[0].controller, 'B');
	events_close(log);

	/* Reopened: own numbering goes on from A's own newest. */
	log = open_log(f->path, EVENTS_LOG_MIN, NULL);
	assert_int_equal(events_last_seq(log, 'B'), 40);
	assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237, "a3"), 0);
	assert_int_equal(events_last_seq(log, 'A'), 3);
	/* Enough to rotate the small log at least once. */
	for (int i = 4; i <= 30; i++)
		assert_int_equal(events_append(log, EVENTS_INFORMATIONAL, 237,
				 "own event %d with some length to fill the "
				 "log up to its cap sooner", i), 0);
	assert_int_equal(access(f->path, F_OK), 0);
	assert_int_equal(events_since(log, 'A', 25, out, ARRAY_SIZE(out), &n),
			 0);
	assert_int_equal(n, 5);
	assert_int_equal(out[0].seq, 26);
	assert_int_equal(out[4].seq, 30);
	assert_int_equal(events_since(log, 'A', 10, out, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].seq, 11);
	assert_int_equal(out[2].seq, 13);
	assert_int_equal(events_since(log, 'A', 30, out, 3, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(events_since(log, 'B', 0, out, 3, &n), 0);
	assert_true(n <= 1);
	events_close(log);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_reopen_iterate,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_every_offset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle_skipped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_size, setup,
						teardown),
		cmocka_unit_test(test_record_prefixes_and_format),
		cmocka_unit_test_setup_teardown(test_foreign_events, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_appended_event_survives_a_power_cut, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
