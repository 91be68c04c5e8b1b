/*
 * enclosure_conf.c: each simulated controller's config file, DIR/a.conf
 * and DIR/b.conf, written by `up` from the layout it picked: the loader
 * and tandemd read it (--config) as a real controller reads
 * /etc/tandem/tandemd.conf, so an operator sees how each one is set up.
 * Rewritten at every `up`: an edit lasts until the next one.
 */
#include <limits.h>
#include <stdio.h>

#include "tool/enclosure.h"
#include "tool/tool.h"

int enclosure_conf_path(const char *abs_dir, char id, char *out, size_t len)
{
	return tool_path(out, len, "%s/%c.conf", abs_dir, id);
}

int enclosure_conf_write(const struct enclosure_run *run, char id,
			 const char *daemon, struct err *e)
{
	const struct enclosure_layout *l = &run->layout;
	static const struct {
		const char *key;
		enum enclosure_service svc;
	} ports[] = {
		{ "ftp-port", SVC_FTP }, { "ssh-port", SVC_SSH },
		{ "telnet-port", SVC_TELNET }, { "sftp-port", SVC_SFTP },
		{ "http-port", SVC_HTTP }, { "https-port", SVC_HTTPS },
	};
	const char *dir = run->abs_dir;
	int i = id - 'a', rc = 0;
	char path[PATH_MAX];
	struct buf b;

	buf_init(&b, 8192);
	rc |= buf_appendf(&b,
		"# Controller %c of the simulated enclosure in %s.\n"
		"# Written by 'tandem enclosure up' at each start; every key "
		"is a long\n# option of its program (docs/config.md).\n\n"
		"[tandem-loader]\ndaemon = %s\n\n"
		"[tandemd]\nstate = %s/%c\ncontroller = %c\naddress = %s\n",
		id - 'a' + 'A', dir, daemon, dir, id, id, l->address[i]);
	for (size_t p = 0; p < ARRAY_SIZE(ports); p++)
		rc |= buf_appendf(&b, "%s = %u\n", ports[p].key,
				  l->port[i][ports[p].svc]);
	rc |= buf_appendf(&b, "web-root = %s\nlog-file = %s/run/%c.log\n"
			  "simulator = true\nconsole = true\n", run->web_root,
			  dir, id);
	/* The simulated SC, EC and CPLD devices (docs/handlers.md). */
	if (run->handler[0]) {
		static const char *const types[] = ENCLOSURE_HANDLED_TYPES;

		for (size_t t = 0; t < ARRAY_SIZE(types); t++)
			rc |= buf_appendf(&b, "handler = %s:%s\n", types[t],
					  run->handler);
	}
	/* The partner link: B listens on its own address, A dials it. */
	if (run->link && id == 'a')
		rc |= buf_appendf(&b, "enclosure-key = %s/enclosure.key\n"
				  "partner = %s:%u\n", dir, l->address[1],
				  l->port[1][SVC_LINK]);
	else if (run->link)
		rc |= buf_appendf(&b, "enclosure-key = %s/enclosure.key\n"
				  "link-port = %u\n", dir, l->port[1][SVC_LINK]);
	if (rc < 0) {
		buf_free(&b);
		return err_set(e, -1, "controller %c's config: too long", id);
	}
	enclosure_conf_path(dir, id, path, sizeof(path));
	rc = fs_atomic_write(path, b.data, b.len, 0644, e);
	buf_free(&b);
	return rc;
}
