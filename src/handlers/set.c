/*
 * set.c: the configured handlers (one per component type) and the
 * versions they last reported; the install-then-verify pass the update
 * engine runs before it activates a bank. Nothing here writes the flash
 * store: a handler's failure only stops the load.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/handlers.h"

void handler_set_init(struct handler_set *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
}

void handler_set_free(struct handler_set *s)
{
	pthread_mutex_destroy(&s->mu);
}

int handler_set_add(struct handler_set *s, const char *spec, struct err *e)
{
	const char *colon = strchr(spec, ':');
	struct handler *h;
	struct stat st;
	size_t n;

	if (!colon)
		return err_set(e, -EINVAL, "--handler %s: expected TYPE:PATH "
			       "(sc:/usr/lib/tandem/handlers/sc)", spec);
	n = (size_t)(colon - spec);
	if (n == 0 || n >= BUNDLE_NAME_MAX)
		return err_set(e, -EINVAL, "--handler %s: the type must be a "
			       "component name of 1 to %d characters", spec,
			       BUNDLE_NAME_MAX - 1);
	if (s->count == HANDLERS_MAX)
		return err_set(e, -E2BIG, "--handler %s: more than %d "
			       "handlers", spec, HANDLERS_MAX);
	h = &s->handlers[s->count];
	memcpy(h->type, spec, n);
	h->type[n] = '\0';
	if (!bundle_name_valid(h->type))
		return err_set(e, -EINVAL, "--handler %s: '%s' is not a "
			       "component name", spec, h->type);
	if (handler_set_find(s, h->type))
		return err_set(e, -EEXIST, "--handler %s: type '%s' has a "
			       "handler already", spec, h->type);
	if (colon[1] != '/')
		return err_set(e, -EINVAL, "--handler %s: the path must be "
			       "absolute", spec);
	if (strlen(colon + 1) >= sizeof(h->path))
		return err_set(e, -ENAMETOOLONG, "--handler %s: path too "
			       "long", spec);
	if (stat(colon + 1, &st) < 0)
		return err_set(e, -errno, "--handler %s: %s: %s", spec,
			       colon + 1, strerror(errno));
	/* No execute bit at all is refused for root too (access() would
	 * grant root X_OK only through one). */
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111) ||
	    access(colon + 1, X_OK) < 0)
		return err_set(e, -EACCES, "--handler %s: %s is not an "
			       "executable file", spec, colon + 1);
	snprintf(h->path, sizeof(h->path), "%s", colon + 1);
	s->versions[s->count][0] = '\0';
	s->count++;
	return 0;
}

static ssize_t find_index(const struct handler_set *s, const char *type)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->handlers[i].type, type))
			return (ssize_t)i;
	return -1;
}

const struct handler *handler_set_find(const struct handler_set *s,
				       const char *type)
{
	ssize_t i = find_index(s, type);

	return i < 0 ? NULL : &s->handlers[i];
}

static unsigned install_seconds(const struct handler_set *s)
{
	return s->install_seconds ? s->install_seconds :
	       HANDLER_INSTALL_SECONDS;
}

static unsigned version_seconds(const struct handler_set *s)
{
	return s->version_seconds ? s->version_seconds :
	       HANDLER_VERSION_SECONDS;
}

static void version_ask(struct handler_set *s, size_t i, char controller,
			const char *state_dir)
{
	struct handler_call call = {
		.component = s->handlers[i].type,
		.bank = -1,
		.controller = controller,
		.state_dir = state_dir,
	};
	char version[BUNDLE_VERSION_MAX] = "";
	struct err e = { 0 };

	if (handler_run(&s->handlers[i], HANDLER_VERSION, &call,
			version_seconds(s), version, sizeof(version), &e) < 0) {
		/* Asked at each show versions: a device that cannot tell
		 * is said once a while, not at every ask. */
		log_warn_limited(s->handlers[i].type, "%s", e.msg);
		version[0] = '\0';
	}
	pthread_mutex_lock(&s->mu);
	memcpy(s->versions[i], version, sizeof(version));
	pthread_mutex_unlock(&s->mu);
}

int handler_set_install(struct handler_set *s, const struct bundle_manifest *m,
			const bool *written, int bank,
			int (*image_path)(void *ctx, size_t i, char *out,
					  size_t len),
			void *ctx, char controller, const char *state_dir,
			struct err *e)
{
	static const enum handler_action steps[] = {
		HANDLER_INSTALL, HANDLER_VERIFY,
	};

	for (size_t i = 0; i < m->ncomponents; i++) {
		const struct bundle_component *c = &m->components[i];
		ssize_t k = find_index(s, c->name);
		char image[PATH_MAX];
		struct handler_call call = {
			.component = c->name,
			.image = image,
			.bank = bank,
			.version = c->version,
			.bundle_version = m->version,
			.size = c->size,
			.sha256 = c->sha256,
			.controller = controller,
			.state_dir = state_dir,
		};

		if (k < 0 || !written[i])
			continue;
		if (image_path(ctx, i, image, sizeof(image)) < 0)
			return err_set(e, -ENOENT, "component '%s': no image "
				       "path in bank %d for its handler",
				       c->name, bank);
		for (size_t a = 0; a < ARRAY_SIZE(steps); a++)
			if (handler_run(&s->handlers[k], steps[a], &call,
					install_seconds(s), NULL, 0, e) < 0)
				return err_prefix(e, "component '%s'",
						  c->name);
		version_ask(s, (size_t)k, controller, state_dir);
	}
	return 0;
}

void handler_set_refresh(struct handler_set *s, char controller,
			 const char *state_dir)
{
	for (size_t i = 0; i < s->count; i++)
		version_ask(s, i, controller, state_dir);
}

int handler_set_version(struct handler_set *s, const char *type, char *out,
			size_t len)
{
	ssize_t i = find_index(s, type);
	int rc;

	if (i < 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	rc = s->versions[i][0] ? 1 : -1;
	snprintf(out, len, "%s", s->versions[i]);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
