/*
 * sftp.c: the sftp subsystem (libssh's SFTP server functions). The only
 * names are the family's: write `flash` / `flash:force` (a code load fed
 * to struct sftp_ops in strict offset order) and read `progress` /
 * `progress:lastcodeload:text`. Every other request gets a status that
 * says why; nothing here touches a file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WITH_SERVER 1
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/sftp.h>

#include "ssh/shell.h"

static const char *const upload_names[] = { "flash", "flash:force" };
static const char *const document_names[] = { "progress",
					      "progress:lastcodeload:text" };

enum sftp_handle_kind { HANDLE_UPLOAD, HANDLE_DOCUMENT, HANDLE_DIR };

struct sftp_open {
	enum sftp_handle_kind kind;
	const char *name;
	void *upload;		/* NULL once finished or aborted */
	uint64_t offset;	/* next byte expected */
	char failure[ERR_MESSAGE_MAX];
	struct buf doc;
	bool listed;
};

struct sftp_conn {
	const struct sftp_service *svc;
	sftp_session sftp;
	struct ssh_channel_struct *channel;
	const char *user;
	enum shell_role role;
	struct sftp_open *open[4];
};

const char *sftp_target_name(const char *path)
{
	size_t i;

	/* "/flash", "./flash", "//flash" are the same name to a client. */
	while (path[0] == '/' || (path[0] == '.' && path[1] == '/'))
		path += path[0] == '/' ? 1 : 2;
	for (i = 0; i < ARRAY_SIZE(upload_names); i++)
		if (!strcmp(path, upload_names[i]))
			return upload_names[i];
	for (i = 0; i < ARRAY_SIZE(document_names); i++)
		if (!strcmp(path, document_names[i]))
			return document_names[i];
	return NULL;
}

static bool is_root(const char *path)
{
	return !strcmp(path, "") || !strcmp(path, ".") || !strcmp(path, "/") ||
	       !strcmp(path, "/.") || !strcmp(path, "./");
}

static bool is_upload_name(const char *name)
{
	return name == upload_names[0] || name == upload_names[1];
}

static void document(struct sftp_conn *c, const char *name, struct buf *out)
{
	if (name == document_names[0])
		c->svc->ops->progress_xml(c->svc->ctx, out);
	else
		c->svc->ops->last_codeload_text(c->svc->ctx, out);
}

static void attrs_for(struct sftp_conn *c, const char *name,
		      struct sftp_attributes_struct *a)
{
	memset(a, 0, sizeof(*a));
	a->flags = SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS |
		   SSH_FILEXFER_ATTR_UIDGID | SSH_FILEXFER_ATTR_ACMODTIME;
	a->atime = a->mtime = (uint32_t)time(NULL);
	if (!name) {
		a->type = SSH_FILEXFER_TYPE_DIRECTORY;
		a->permissions = S_IFDIR | 0755;
	} else if (is_upload_name(name)) {
		/* write-only: a client must not think it can read firmware */
		a->type = SSH_FILEXFER_TYPE_REGULAR;
		a->permissions = S_IFREG | 0200;
	} else {
		struct buf doc;

		buf_init(&doc, SFTP_DOCUMENT_MAX);
		document(c, name, &doc);
		a->type = SSH_FILEXFER_TYPE_REGULAR;
		a->permissions = S_IFREG | 0444;
		a->size = doc.len;
		buf_free(&doc);
	}
}

/*
 * A failed code load: the status message (the reason, or at CLOSE the
 * code load's report) and, as OpenSSH's sftp shows only the status
 * code's name ("Failure"), the reason on the channel's stderr, which it
 * prints.
 */
static void reply_failure(struct sftp_conn *c, sftp_client_message msg,
			  const char *status, const char *why)
{
	char line[ERR_MESSAGE_MAX + 16];
	size_t len;

	snprintf(line, sizeof(line), "Error: %s", why);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	sftp_reply_status(msg, SSH_FX_FAILURE, status);
	if (len + 1 < sizeof(line)) {
		line[len++] = '\n';
		line[len] = '\0';
	}
	ssh_channel_write_stderr(c->channel, line, (uint32_t)len);
}

static void reply_stat(struct sftp_conn *c, sftp_client_message msg)
{
	const char *path = sftp_client_message_get_filename(msg);
	struct sftp_attributes_struct a;
	const char *name = NULL;

	if (!is_root(path)) {
		name = sftp_target_name(path);
		if (!name) {
			sftp_reply_status(msg, SSH_FX_NO_SUCH_FILE,
					  "No such name: this controller "
					  "offers flash, flash:force, progress "
					  "and progress:lastcodeload:text");
			return;
		}
	}
	attrs_for(c, name, &a);
	sftp_reply_attr(msg, &a);
}

static void reply_realpath(struct sftp_conn *c, sftp_client_message msg)
{
	const char *path = sftp_client_message_get_filename(msg);
	struct sftp_attributes_struct a;
	const char *name = NULL;
	char full[64];

	if (!is_root(path)) {
		name = sftp_target_name(path);
		if (!name) {
			sftp_reply_status(msg, SSH_FX_NO_SUCH_FILE,
					  "No such name");
			return;
		}
	}
	snprintf(full, sizeof(full), "/%s", name ? name : "");
	attrs_for(c, name, &a);
	sftp_reply_name(msg, full, &a);
}

static struct sftp_open *open_new(struct sftp_conn *c,
				  enum sftp_handle_kind kind, const char *name)
{
	struct sftp_open *o;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c->open); i++)
		if (!c->open[i])
			break;
	if (i == ARRAY_SIZE(c->open))
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->kind = kind;
	o->name = name;
	buf_init(&o->doc, SFTP_DOCUMENT_MAX);
	c->open[i] = o;
	return o;
}

static void open_free(struct sftp_conn *c, struct sftp_open *o,
		      const char *why)
{
	size_t i;

	if (o->upload)
		c->svc->ops->upload_abort(o->upload, why);
	for (i = 0; i < ARRAY_SIZE(c->open); i++)
		if (c->open[i] == o)
			c->open[i] = NULL;
	buf_free(&o->doc);
	free(o);
}

static void reply_handle(struct sftp_conn *c, sftp_client_message msg,
			 struct sftp_open *o)
{
	ssh_string handle = sftp_handle_alloc(c->sftp, o);

	if (!handle) {
		open_free(c, o, "no handle left");
		sftp_reply_status(msg, SSH_FX_FAILURE, "Too many open files");
		return;
	}
	sftp_reply_handle(msg, handle);
	ssh_string_free(handle);
}

static void do_open(struct sftp_conn *c, sftp_client_message msg)
{
	const char *name = sftp_target_name(
		sftp_client_message_get_filename(msg));
	uint32_t flags = sftp_client_message_get_flags(msg);
	struct err e = { 0 };
	struct sftp_open *o;
	size_t i;

	if (!name) {
		sftp_reply_status(msg, SSH_FX_NO_SUCH_FILE,
				  "No such name: put a bundle to flash or "
				  "flash:force; get progress or "
				  "progress:lastcodeload:text");
		return;
	}
	if (!is_upload_name(name)) {
		if (flags & (SSH_FXF_WRITE | SSH_FXF_APPEND)) {
			sftp_reply_status(msg, SSH_FX_PERMISSION_DENIED,
					  "progress documents are read-only");
			return;
		}
		o = open_new(c, HANDLE_DOCUMENT, name);
		if (!o) {
			sftp_reply_status(msg, SSH_FX_FAILURE,
					  "Too many open files");
			return;
		}
		/* A snapshot: READs at any offset see one document. */
		document(c, name, &o->doc);
		reply_handle(c, msg, o);
		return;
	}
	if (!(flags & SSH_FXF_WRITE) || (flags & (SSH_FXF_READ |
						  SSH_FXF_APPEND))) {
		sftp_reply_status(msg, SSH_FX_PERMISSION_DENIED,
				  "flash is write-only: put a bundle to it");
		return;
	}
	if (c->role != SHELL_ROLE_MANAGE) {
		sftp_reply_status(msg, SSH_FX_PERMISSION_DENIED,
				  "Only a user with the manage role may "
				  "update firmware");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(c->open); i++)
		if (c->open[i] && c->open[i]->kind == HANDLE_UPLOAD) {
			sftp_reply_status(msg, SSH_FX_FAILURE, "A code load "
					  "is already open in this session");
			return;
		}
	o = open_new(c, HANDLE_UPLOAD, name);
	if (!o) {
		sftp_reply_status(msg, SSH_FX_FAILURE, "Too many open files");
		return;
	}
	o->upload = c->svc->ops->upload_begin(c->svc->ctx, name, c->user,
					      c->role, &e);
	if (!o->upload) {
		open_free(c, o, NULL);
		reply_failure(c, msg, e.msg, e.msg);
		return;
	}
	reply_handle(c, msg, o);
}

static struct sftp_open *handle_of(struct sftp_conn *c,
				   sftp_client_message msg)
{
	struct sftp_open *o = msg->handle ? sftp_handle(c->sftp, msg->handle)
					  : NULL;
	size_t i;

	for (i = 0; o && i < ARRAY_SIZE(c->open); i++)
		if (c->open[i] == o)
			return o;
	sftp_reply_status(msg, SSH_FX_INVALID_HANDLE, "Invalid handle");
	return NULL;
}

static void upload_fail(struct sftp_conn *c, struct sftp_open *o,
			const char *msg)
{
	snprintf(o->failure, sizeof(o->failure), "%s", msg);
	if (o->upload)
		c->svc->ops->upload_abort(o->upload, msg);
	o->upload = NULL;
}

static void do_write(struct sftp_conn *c, sftp_client_message msg)
{
	struct sftp_open *o = handle_of(c, msg);
	struct err e = { 0 };
	size_t len;

	if (!o)
		return;
	if (o->kind != HANDLE_UPLOAD) {
		sftp_reply_status(msg, SSH_FX_PERMISSION_DENIED,
				  "progress documents are read-only");
		return;
	}
	if (!o->upload) {
		sftp_reply_status(msg, SSH_FX_FAILURE, o->failure);
		return;
	}
	len = msg->data ? ssh_string_len(msg->data) : 0;
	/* The stream feeds a verifier: no holes, no rewrites. */
	if (msg->offset != o->offset) {
		char why[128];

		snprintf(why, sizeof(why), "Out-of-order write at offset "
			 "%llu (expected %llu): the bundle must be sent in "
			 "order", (unsigned long long)msg->offset,
			 (unsigned long long)o->offset);
		upload_fail(c, o, why);
		reply_failure(c, msg, why, why);
		return;
	}
	if (c->svc->ops->upload_feed(o->upload, ssh_string_data(msg->data),
				     len, &e) < 0) {
		upload_fail(c, o, e.msg);
		reply_failure(c, msg, e.msg, e.msg);
		return;
	}
	o->offset += len;
	sftp_reply_status(msg, SSH_FX_OK, NULL);
}

static void do_read(struct sftp_conn *c, sftp_client_message msg)
{
	struct sftp_open *o = handle_of(c, msg);
	size_t len;

	if (!o)
		return;
	if (o->kind != HANDLE_DOCUMENT) {
		sftp_reply_status(msg, SSH_FX_PERMISSION_DENIED,
				  "flash is write-only");
		return;
	}
	if (msg->offset >= o->doc.len) {
		sftp_reply_status(msg, SSH_FX_EOF, NULL);
		return;
	}
	len = o->doc.len - (size_t)msg->offset;
	if (len > msg->len)
		len = msg->len;
	if (len > SFTP_READ_MAX)
		len = SFTP_READ_MAX;
	sftp_reply_data(msg, o->doc.data + msg->offset, (int)len);
}

static void do_close(struct sftp_conn *c, sftp_client_message msg)
{
	struct sftp_open *o = handle_of(c, msg);
	struct err e = { 0 };
	struct buf report;
	int rc;

	if (!o)
		return;
	sftp_handle_remove(c->sftp, o);
	if (o->kind != HANDLE_UPLOAD) {
		open_free(c, o, NULL);
		sftp_reply_status(msg, SSH_FX_OK, NULL);
		return;
	}
	if (!o->upload) {
		sftp_reply_status(msg, SSH_FX_FAILURE, o->failure);
		open_free(c, o, NULL);
		return;
	}
	/* CLOSE is the end of the upload: verify, install, report. */
	buf_init(&report, SFTP_DOCUMENT_MAX);
	rc = c->svc->ops->upload_finish(o->upload, &report, &e);
	o->upload = NULL;
	if (rc < 0 && report.len == 0)
		buf_append_str(&report, e.msg);
	if (rc < 0)
		reply_failure(c, msg, report.data,
			      e.msg[0] ? e.msg : report.data);
	else
		sftp_reply_status(msg, SSH_FX_OK,
				  report.len ? report.data : NULL);
	buf_free(&report);
	open_free(c, o, NULL);
}

static void do_opendir(struct sftp_conn *c, sftp_client_message msg)
{
	struct sftp_open *o;

	if (!is_root(sftp_client_message_get_filename(msg))) {
		sftp_reply_status(msg, SSH_FX_NO_SUCH_FILE, "Only / exists");
		return;
	}
	o = open_new(c, HANDLE_DIR, NULL);
	if (!o) {
		sftp_reply_status(msg, SSH_FX_FAILURE, "Too many open files");
		return;
	}
	reply_handle(c, msg, o);
}

static void do_readdir(struct sftp_conn *c, sftp_client_message msg)
{
	struct sftp_open *o = handle_of(c, msg);
	const char *all[] = { upload_names[0], upload_names[1],
			      document_names[0], document_names[1] };
	size_t i;

	if (!o)
		return;
	if (o->kind != HANDLE_DIR || o->listed) {
		sftp_reply_status(msg, o->listed ? SSH_FX_EOF :
				  SSH_FX_FAILURE, o->listed ? NULL :
				  "Not a directory");
		return;
	}
	o->listed = true;
	for (i = 0; i < ARRAY_SIZE(all); i++) {
		struct sftp_attributes_struct a;
		char longname[128];

		attrs_for(c, all[i], &a);
		snprintf(longname, sizeof(longname), "%s 1 0 0 %llu Jan 1 "
			 "00:00 %s", is_upload_name(all[i]) ? "--w-------" :
			 "-r--r--r--", (unsigned long long)a.size, all[i]);
		sftp_reply_names_add(msg, all[i], longname, &a);
	}
	sftp_reply_names(msg);
}

static void dispatch(struct sftp_conn *c, sftp_client_message msg)
{
	switch (sftp_client_message_get_type(msg)) {
	case SSH_FXP_REALPATH:
		reply_realpath(c, msg);
		break;
	case SSH_FXP_STAT:
	case SSH_FXP_LSTAT:
		reply_stat(c, msg);
		break;
	case SSH_FXP_FSTAT: {
		struct sftp_open *o = handle_of(c, msg);
		struct sftp_attributes_struct a;

		if (!o)
			break;
		attrs_for(c, o->name, &a);
		if (o->kind == HANDLE_DOCUMENT)
			a.size = o->doc.len;
		sftp_reply_attr(msg, &a);
		break;
	}
	case SSH_FXP_OPEN:
		do_open(c, msg);
		break;
	case SSH_FXP_WRITE:
		do_write(c, msg);
		break;
	case SSH_FXP_READ:
		do_read(c, msg);
		break;
	case SSH_FXP_CLOSE:
		do_close(c, msg);
		break;
	case SSH_FXP_OPENDIR:
		do_opendir(c, msg);
		break;
	case SSH_FXP_READDIR:
		do_readdir(c, msg);
		break;
	default:
		sftp_reply_status(msg, SSH_FX_OP_UNSUPPORTED,
				  "Not supported: this controller only takes "
				  "firmware (put FILE flash) and gives "
				  "progress (get progress)");
		break;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why the session ends, on the channel's stderr (OpenSSH's sftp prints
 * it) and in the log. */
static void conn_end(struct sftp_conn *c, struct ssh_channel_struct *channel,
		     const char *why)
{
	char line[256];

	log_warn("sftp: session of %s ended: %s", c->user, why);
	snprintf(line, sizeof(line), "Error: %s\n", why);
	ssh_channel_write_stderr(channel, line, (uint32_t)strlen(line));
}

void sftp_subsystem_run(const struct sftp_service *svc,
			struct ssh_session_struct *session,
			struct ssh_event_struct *event,
			struct ssh_channel_struct *channel,
			struct sftp_framer *framer, const char *user,
			enum shell_role role)
{
	struct sftp_conn c = { .svc = svc, .channel = channel, .user = user,
			       .role = role };
	unsigned packet_s = svc->ops->packet_seconds ?
			    svc->ops->packet_seconds(svc->ctx) : 0;
	int64_t idle_deadline = now_ms() + SFTP_IDLE_SECONDS * 1000LL;
	int64_t packet_deadline = 0;
	uint64_t partial_of = UINT64_MAX;	/* whose deadline runs */
	bool started = false;
	char why[160];
	size_t i;

	if (!packet_s)
		packet_s = SFTP_PACKET_SECONDS;
	c.sftp = sftp_server_new(session, channel);
	if (!c.sftp)
		return;
	for (;;) {
		sftp_client_message msg;
		int64_t now, deadline;

		if (framer->bad) {
			snprintf(why, sizeof(why), "SFTP packet length %u is "
				 "not 1..%d bytes", framer->bad_length,
				 SFTP_PACKET_MAX);
			conn_end(&c, channel, why);
			break;
		}
		/* libssh reads only whole packets, already here: its read
		 * neither waits nor allocates more than the packet's size. */
		if (framer->complete) {
			framer->complete--;
			framer->taken++;
			idle_deadline = now_ms() + SFTP_IDLE_SECONDS * 1000LL;
			if (!started) {
				if (sftp_server_init(c.sftp) < 0)
					break;
				started = true;
				continue;
			}
			msg = sftp_get_client_message(c.sftp);
			if (!msg)
				break;
			dispatch(&c, msg);
			sftp_client_message_free(msg);
			continue;
		}
		if (ssh_channel_is_eof(channel) || ssh_channel_is_closed(channel))
			break;
		now = now_ms();
		deadline = idle_deadline;
		if (framer->partial) {
			if (partial_of != framer->taken) {
				partial_of = framer->taken;
				packet_deadline = now + packet_s * 1000LL;
			}
			deadline = packet_deadline;
		}
		if (now >= deadline) {
			if (framer->partial) {
				snprintf(why, sizeof(why), "an SFTP packet "
					 "was left unfinished for %u "
					 "second(s)", packet_s);
				conn_end(&c, channel, why);
			}
			/* An idle client gives its session slot back. */
			break;
		}
		if (ssh_event_dopoll(event, deadline - now < 1000 ?
				     (int)(deadline - now) : 1000) ==
		    SSH_ERROR)
			break;
	}
	/* A client that vanished mid-upload leaves the active bank alone. */
	for (i = 0; i < ARRAY_SIZE(c.open); i++)
		if (c.open[i])
			open_free(&c, c.open[i], "the SFTP client went away");
	sftp_server_free(c.sftp);
}
