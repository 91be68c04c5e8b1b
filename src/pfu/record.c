/*
 * record.c: PFU attempt records: their JSON form (pfu.json and the
 * PFU_RECORD frame), the merge of the partner's copy, and the file. No
 * policy here, no threads; the file is written only through
 * fs_atomic_write (temp, fsync, rename, fsync of the directory).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pfu/pfu.h"

static json_t *record_json(const struct pfu_record *r)
{
	return json_pack("{s:s, s:s, s:I, s:b, s:b, s:b, s:b, s:b, s:I, "
			 "s:I, s:s, s:s}",
			 "target", r->target, "partner", r->partner,
			 "attempts", (json_int_t)r->attempts,
			 "halted", r->halted, "complete", r->complete,
			 "in_flight", r->in_flight,
			 "rolled_back", r->rolled_back, "paused", r->paused,
			 "generation", (json_int_t)r->generation,
			 "next_attempt", (json_int_t)r->next_attempt,
			 "reason", r->reason, "where", r->where);
}

int pfu_record_encode(const struct pfu_record *r, struct buf *out)
{
	json_t *o = record_json(r);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = text ? buf_append_str(out, text) : -ENOMEM;

	free(text);
	json_decref(o);
	return rc;
}

static int copy_text(char *dst, size_t dstlen, const char *src,
		     const char *field, struct err *e)
{
	if (strlen(src) >= dstlen)
		return err_set(e, -EINVAL, "PFU record: %s longer than %zu "
			       "bytes", field, dstlen - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int record_from_json(json_t *o, struct pfu_record *out,
			    struct err *e)
{
	const char *target, *partner, *reason = "", *where = "";
	json_int_t attempts, generation = 0, next = 0;
	int halted, complete, in_flight = 0, rolled_back = 0, paused = 0;
	json_error_t je;

	memset(out, 0, sizeof(*out));
	if (json_unpack_ex(o, &je, 0, "{s:s, s:s, s:I, s:b, s:b, s?b, s?b, "
			   "s?b, s?I, s?I, s?s, s?s}",
			   "target", &target, "partner", &partner,
			   "attempts", &attempts, "halted", &halted,
			   "complete", &complete, "in_flight", &in_flight,
			   "rolled_back", &rolled_back, "paused", &paused,
			   "generation", &generation, "next_attempt", &next,
			   "reason", &reason, "where", &where) < 0)
		return err_set(e, -EINVAL, "PFU record: %s", je.text);
	if (!target[0] || !partner[0])
		return err_set(e, -EINVAL, "PFU record: empty target or "
			       "partner serial");
	if (attempts < 0 || attempts > 1000000 || generation < 0)
		return err_set(e, -EINVAL, "PFU record: attempts or "
			       "generation out of range");
	if (copy_text(out->target, sizeof(out->target), target, "target",
		      e) < 0 ||
	    copy_text(out->partner, sizeof(out->partner), partner, "partner",
		      e) < 0 ||
	    copy_text(out->reason, sizeof(out->reason), reason, "reason",
		      e) < 0 ||
	    copy_text(out->where, sizeof(out->where), where, "where", e) < 0)
		return e->code;
	out->attempts = (unsigned)attempts;
	out->halted = halted;
	out->complete = complete;
	out->in_flight = in_flight;
	out->rolled_back = rolled_back;
	out->paused = paused;
	out->generation = (uint64_t)generation;
	out->next_attempt = next;
	return 0;
}

int pfu_record_decode(const void *json, size_t len, struct pfu_record *out,
		      struct err *e)
{
	json_error_t je;
	json_t *o;
	int rc;

	if (len > PFU_RECORD_JSON_MAX)
		return err_set(e, -EMSGSIZE, "PFU record: %zu bytes, over "
			       "the %d allowed", len, PFU_RECORD_JSON_MAX);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return err_set(e, -EINVAL, "PFU record: not JSON (%s)",
			       je.text);
	rc = record_from_json(o, out, e);
	json_decref(o);
	return rc;
}

bool pfu_record_merge(struct pfu_record *mine,
		      const struct pfu_record *theirs)
{
	struct pfu_record was = *mine;

	if (strcmp(mine->target, theirs->target) ||
	    strcmp(mine->partner, theirs->partner))
		return false;
	if (theirs->generation > mine->generation) {
		*mine = *theirs;
		return memcmp(&was, mine, sizeof(was)) != 0;
	}
	if (theirs->generation < mine->generation)
		return false;
	if (theirs->attempts > mine->attempts) {
		mine->attempts = theirs->attempts;
		memcpy(mine->reason, theirs->reason, sizeof(mine->reason));
		memcpy(mine->where, theirs->where, sizeof(mine->where));
		if (theirs->next_attempt > mine->next_attempt)
			mine->next_attempt = theirs->next_attempt;
	}
	mine->halted = mine->halted || theirs->halted;
	mine->complete = mine->complete || theirs->complete;
	mine->rolled_back = mine->rolled_back || theirs->rolled_back;
	return memcmp(&was, mine, sizeof(was)) != 0;
}

int pfu_records_load(const char *path, struct pfu_record *out,
		     size_t *count, struct err *e)
{
	json_error_t je;
	json_t *o, *arr, *it;
	struct buf b;
	size_t i;
	int rc = 0;

	*count = 0;
	buf_init(&b, PFU_FILE_MAX);
	if (fs_read_file(path, PFU_FILE_MAX, &b, e) < 0) {
		buf_free(&b);
		if (e->code == -ENOENT)
			return 0;
		return err_prefix(e, "PFU records");
	}
	o = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &je);
	buf_free(&b);
	arr = o ? json_object_get(o, "records") : NULL;
	if (!json_is_array(arr)) {
		json_decref(o);
		return err_set(e, -EINVAL, "%s: not a PFU record file (%s)",
			       path, o ? "no records array" : je.text);
	}
	if (json_array_size(arr) > PFU_RECORDS_MAX) {
		json_decref(o);
		return err_set(e, -EINVAL, "%s: %zu records, over the %d "
			       "kept", path, json_array_size(arr),
			       PFU_RECORDS_MAX);
	}
	json_array_foreach(arr, i, it) {
		rc = record_from_json(it, &out[i], e);
		if (rc < 0) {
			err_prefix(e, "%s: record %zu", path, i);
			break;
		}
	}
	if (rc == 0)
		*count = json_array_size(arr);
	json_decref(o);
	return rc;
}

int pfu_records_save(const char *path, const struct pfu_record *recs,
		     size_t count, struct err *e)
{
	json_t *o = json_object(), *arr = json_array();
	char *text = NULL;
	int rc;

	for (size_t i = 0; i < count && arr; i++)
		if (json_array_append_new(arr, record_json(&recs[i])) < 0)
			break;
	if (o && arr && json_array_size(arr) == count &&
	    json_object_set(o, "records", arr) == 0)
		text = json_dumps(o, JSON_INDENT(1));
	json_decref(arr);
	json_decref(o);
	if (!text)
		return err_set(e, -ENOMEM, "%s: out of memory", path);
	rc = fs_atomic_write(path, text, strlen(text), 0644, e);
	free(text);
	return rc;
}
