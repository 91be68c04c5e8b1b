/*
 * enclosure_init.c: `tandem enclosure init`: a simulated enclosure's state
 * directory, made as a factory would make one: a signing key, the
 * enclosure's link key, a factory bundle whose MC image is the real
 * tandemd, installed and confirmed into both controllers' flash, and two
 * update bundles beside it for the operator to load: one with a new SC
 * image, and one with a new MC version as well, whose MC image is tandemd
 * with a version trailer appended (new bytes, still the program the
 * loader execs: the kernel loads an ELF file by its headers, not its end).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "config/config.h"
#include "http/http.h"
#include "flash/flash.h"
#include "tool/enclosure.h"
#include "tool/tool.h"

/* A stand-in image for a component we do not run (SC, EC): its bytes
 * depend on the version, so a new version really is a new image. */
static int write_image(const char *path, const char *component,
		       const char *version, size_t size, struct err *e)
{
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b, size + 256);
	rc = buf_appendf(&b, "Tandem simulated %s firmware %s\n", component,
			 version);
	for (i = 0; rc == 0 && b.len < size; i++)
		rc = buf_appendf(&b, "%s:%s:%08zx\n", component, version, i);
	if (rc == 0)
		rc = fs_atomic_write(path, b.data, b.len, 0644, e);
	else
		rc = err_set(e, -ENOMEM, "%s: out of memory", path);
	buf_free(&b);
	return rc;
}

/* tandemd's bytes and a line naming the MC version: a new MC image. */
static int write_mc_image(const char *path, const char *tandemd,
			  const char *version, struct err *e)
{
	struct buf b;
	int rc;

	buf_init(&b, BUNDLE_COMPONENT_MAX);
	rc = fs_read_file(tandemd, BUNDLE_COMPONENT_MAX, &b, e);
	if (rc == 0 && buf_appendf(&b, "\nTandem simulated MC firmware %s\n",
				   version) < 0)
		rc = err_set(e, -ENOMEM, "%s: out of memory", path);
	if (rc == 0)
		rc = fs_atomic_write(path, b.data, b.len, 0755, e);
	buf_free(&b);
	return rc;
}

static int make_bundle(const char *dir, const struct enclosure_release *r,
		       const char *tandemd, struct err *e)
{
	char key[PATH_MAX], sc[PATH_MAX], ec[PATH_MAX], out[PATH_MAX];
	char mc[PATH_MAX];
	struct bundle_create_spec spec = { 0 };
	bool new_mc = strcmp(r->mc, enclosure_factory.mc) != 0;

	tool_path(key, sizeof(key), "%s/keys/bundle.key", dir);
	tool_path(sc, sizeof(sc), "%s/bundles/.sc-%s.img", dir, r->sc);
	tool_path(ec, sizeof(ec), "%s/bundles/.ec-%s.img", dir, r->ec);
	tool_path(out, sizeof(out), "%s/bundles/%s.bundle", dir, r->bundle);
	tool_path(mc, sizeof(mc), "%s/bundles/.mc-%s.img", dir, r->mc);
	if (new_mc && write_mc_image(mc, tandemd, r->mc, e) < 0)
		return e->code;
	if (write_image(sc, "storage controller", r->sc, 256 * 1024, e) < 0 ||
	    write_image(ec, "expander controller", r->ec, 64 * 1024, e) < 0)
		return e->code;
	spec.key_path = key;
	spec.version = r->bundle;
	spec.models[spec.nmodels++] = ENCLOSURE_MODEL;
	spec.components[spec.ncomponents++] = (struct bundle_create_component){
		"mc", r->mc, new_mc ? mc : tandemd, BUNDLE_FLAG_EXECUTABLE };
	spec.components[spec.ncomponents++] = (struct bundle_create_component){
		"sc", r->sc, sc, 0 };
	spec.components[spec.ncomponents++] = (struct bundle_create_component){
		"ec", r->ec, ec, 0 };
	if (bundle_create(&spec, out, e) < 0)
		return e->code;
	unlink(sc);
	unlink(ec);
	if (new_mc)
		unlink(mc);
	return 0;
}

/*
 * The simulator's PFU timings: seconds where the field has minutes, so a
 * halted PFU is reached in well under a minute. Written once, at init, as
 * an operator's setting would be: a later `set advanced-settings` holds.
 */
static const char *const simulator_settings[][2] = {
	{ "pfu-backoff-seconds", "5" },
	{ "pfu-partner-wait-seconds", "60" },
};

static int simulator_config(const char *cdir, char ctl, struct err *e)
{
	struct config *cfg;
	char path[PATH_MAX];
	size_t i;
	int rc = 0;

	tool_path(path, sizeof(path), "%s/config", cdir);
	if (config_open(path, NULL, &cfg, e) < 0)
		return e->code;
	config_set_controller(cfg, (char)(ctl - 'a' + 'A'));
	for (i = 0; i < ARRAY_SIZE(simulator_settings) && rc == 0; i++)
		rc = config_set_text(cfg, simulator_settings[i][0],
				     simulator_settings[i][1], e);
	config_close(cfg);
	/* The HTTPS certificate for the controller's default address. */
	if (rc == 0)
		rc = http_cert_ensure(path, ctl == 'a' ? "127.0.0.2" :
				      "127.0.0.3", e);
	return rc;
}

/* Installs the factory bundle into one controller and confirms it, as the
 * factory's burn-in would. */
static int provision(const char *dir, char ctl, const char *bundle,
		     const struct bundle_keyring *keys, const char *serial,
		     struct err *e)
{
	struct flash_install_options opt = { .keys = keys,
					     .model = ENCLOSURE_MODEL };
	struct flash_install_result *res;
	struct flash_install *fi;
	struct flash_store *s;
	char cdir[PATH_MAX], path[PATH_MAX], chunk[65536];
	ssize_t n;
	int fd, rc;

	tool_path(cdir, sizeof(cdir), "%s/%c", dir, ctl);
	tool_path(path, sizeof(path), "%s/config/keys", cdir);
	if (fs_mkdir_p(path, 0700, e) < 0)
		return e->code;
	tool_path(path, sizeof(path), "%s/config/keys/bundle.pub", cdir);
	{
		char src[PATH_MAX];
		struct buf pub;

		tool_path(src, sizeof(src), "%s/keys/bundle.pub", dir);
		buf_init(&pub, 4096);
		rc = fs_read_file(src, 4096, &pub, e);
		if (rc == 0)
			rc = fs_atomic_write(path, pub.data, pub.len, 0644, e);
		buf_free(&pub);
		if (rc < 0)
			return rc;
	}
	if (simulator_config(cdir, ctl, e) < 0)
		return e->code;
	/* Both controllers sit in one enclosure: one midplane serial. */
	tool_path(path, sizeof(path), "%s/config/midplane-serial", cdir);
	if (fs_atomic_write(path, serial, strlen(serial), 0644, e) < 0)
		return e->code;
	if (flash_store_init(cdir, e) < 0 || flash_store_open(cdir, &s, e) < 0)
		return e->code;
	fi = flash_install_begin(s, &opt, e);
	if (!fi) {
		flash_store_close(s);
		return e->code;
	}
	fd = open(bundle, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		flash_install_abort(fi);
		flash_install_free(fi);
		flash_store_close(s);
		return err_set(e, -errno, "%s: %s", bundle, strerror(errno));
	}
	rc = 0;
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		rc = flash_install_feed(fi, chunk, (size_t)n, e);
	close(fd);
	res = calloc(1, sizeof(*res));
	if (rc == 0 && res)
		rc = flash_install_finish(fi, res, e);
	else
		flash_install_abort(fi);
	free(res);
	flash_install_free(fi);
	if (rc == 0)
		rc = flash_store_confirm(s, e);
	flash_store_close(s);
	return rc;
}

const struct enclosure_release enclosure_factory = {
	"TS250P001", "TSM250R01", "TSS250R01", "TSE0250"
};
const struct enclosure_release enclosure_update = {
	"TS250P002", "TSM250R01", "TSS250R02", "TSE0250"
};
/* A new MC as well: the seed's failing MC flash can be replayed. */
const struct enclosure_release enclosure_mc_update = {
	"TS250P003", "TSM250P003", "TSS250R02", "TSE0250"
};

int enclosure_init(const char *dir, struct err *e)
{
	char path[PATH_MAX], tandemd[PATH_MAX], bundle[PATH_MAX];
	unsigned char key[32];
	char hex[65];
	struct bundle_keyring keys = { 0 };
	struct stat st;

	tool_path(path, sizeof(path), "%s/enclosure.key", dir);
	if (stat(path, &st) == 0)
		return err_set(e, -EEXIST, "%s already holds an enclosure "
			       "(remove it, or use it with "
			       "'tandem enclosure up --dir %s')", dir, dir);
	if (tool_find_program("tandemd", tandemd, sizeof(tandemd)) < 0)
		return err_set(e, -ENOENT, "tandemd not found beside the "
			       "tandem command; build the project first");
	tool_path(path, sizeof(path), "%s/bundles", dir);
	if (fs_mkdir_p(path, 0755, e) < 0)
		return e->code;
	tool_path(path, sizeof(path), "%s/keys", dir);
	if (bundle_key_generate(path, e) < 0)
		return e->code;
	tool_path(path, sizeof(path), "%s/keys/bundle.pub", dir);
	if (bundle_keyring_add_file(&keys, path, e) < 0)
		return e->code;
	if (make_bundle(dir, &enclosure_factory, tandemd, e) < 0 ||
	    make_bundle(dir, &enclosure_update, tandemd, e) < 0 ||
	    make_bundle(dir, &enclosure_mc_update, tandemd, e) < 0)
		return e->code;
	tool_path(bundle, sizeof(bundle), "%s/bundles/%s.bundle", dir,
		 enclosure_factory.bundle);
	if (RAND_bytes(key, sizeof(key)) != 1)
		return err_set(e, -EIO, "no random bytes for the link key");
	hex_encode(key, 6, hex);
	memmove(hex + 2, hex, 13);
	memcpy(hex, "TE", 2);
	hex[14] = '\n';
	hex[15] = '\0';
	if (provision(dir, 'a', bundle, &keys, hex, e) < 0 ||
	    provision(dir, 'b', bundle, &keys, hex, e) < 0)
		return e->code;
	/* Written last: its presence means the enclosure is complete. */
	if (RAND_bytes(key, sizeof(key)) != 1)
		return err_set(e, -EIO, "no random bytes for the link key");
	hex_encode(key, sizeof(key), hex);
	hex[64] = '\n';
	tool_path(path, sizeof(path), "%s/enclosure.key", dir);
	return fs_atomic_write(path, hex, sizeof(hex), 0600, e);
}
