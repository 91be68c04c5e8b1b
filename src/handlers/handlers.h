/*
 * handlers.h: component handlers (docs/handlers.md). Per component type
 * an executable the board provides (`--handler TYPE:PATH`) that installs
 * an image into its device, verifies it there and says which version the
 * device runs. The update engine runs install and verify once the image
 * is in the bank and before the bank is activated; a failure stops the
 * load with the handler's message and nothing is activated. `show
 * versions` and the partner link report what the version action says.
 *
 * A handler is a separate process: run.c spawns it with a bounded time,
 * no input, its output captured up to a limit; set.c keeps the
 * configured handlers and the versions they last reported.
 */
#ifndef TANDEM_HANDLERS_H
#define TANDEM_HANDLERS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"
#include "common/common.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define HANDLERS_MAX		16	/* configured handlers */
#define HANDLER_OUTPUT_MAX	4096	/* of stdout, and of stderr, kept */
#define HANDLER_MESSAGE_MAX	240	/* a failure's text from its output */
/* Install and verify may write a slow device (a CPLD takes minutes). */
#define HANDLER_INSTALL_SECONDS	600
#define HANDLER_VERSION_SECONDS	10	/* version reads a register or file */

enum handler_action {
	HANDLER_INSTALL,
	HANDLER_VERIFY,
	HANDLER_VERSION,
};

struct handler {
	char type[BUNDLE_NAME_MAX];	/* the component name it serves */
	char path[PATH_MAX];		/* absolute, executable */
};

/* What one call is about; fields a version call has no use for are NULL
 * (image, version, bundle_version) or -1 (bank). */
struct handler_call {
	const char *component;
	const char *image;		/* the image file in the bank */
	int bank;
	const char *version;		/* the component's, from the manifest */
	const char *bundle_version;
	uint64_t size;
	const uint8_t *sha256;		/* 32 bytes, or NULL */
	char controller;		/* 'A' or 'B' */
	const char *state_dir;		/* the controller's state directory */
};

struct handler_set {
	struct handler handlers[HANDLERS_MAX];
	size_t count;
	unsigned install_seconds;	/* 0: HANDLER_INSTALL_SECONDS */
	unsigned version_seconds;	/* 0: HANDLER_VERSION_SECONDS */
	/* The versions the version action last reported ("" unknown). */
	pthread_mutex_t mu;
	char versions[HANDLERS_MAX][BUNDLE_VERSION_MAX];
};

/* run.c */
/*
 * Runs handler h for action. 0 on exit status 0; for HANDLER_VERSION the
 * first line of its stdout is the version (1 to BUNDLE_VERSION_MAX - 1
 * printable characters, else a failure) in version_out. Otherwise
 * negative, e naming the handler, action, component and cause: its exit
 * status or signal, or the time limit, with the last line it wrote to
 * stderr (or stdout) as its message.
 */
int handler_run(const struct handler *h, enum handler_action action,
		const struct handler_call *call, unsigned timeout_seconds,
		char *version_out, size_t version_size, struct err *e);
const char *handler_action_name(enum handler_action action);

/* set.c */
void handler_set_init(struct handler_set *s);
void handler_set_free(struct handler_set *s);
/* TYPE:PATH from the command line or the config file: TYPE a component
 * name, PATH an absolute path to an executable file; one per TYPE. */
int handler_set_add(struct handler_set *s, const char *spec, struct err *e);
const struct handler *handler_set_find(const struct handler_set *s,
				       const char *type);
/*
 * Install then verify each component of m that the load wrote (written[i]
 * true), whose type has a handler, with its image at image_path(i).
 * Stops at the first failure (e says which). On success each one's
 * version is asked again and cached.
 */
int handler_set_install(struct handler_set *s, const struct bundle_manifest *m,
			const bool *written, int bank,
			int (*image_path)(void *ctx, size_t i, char *out,
					  size_t len),
			void *ctx, char controller, const char *state_dir,
			struct err *e);
/* Asks every handler for its version now and caches the answers (a
 * failure caches "" and is logged). */
void handler_set_refresh(struct handler_set *s, char controller,
			 const char *state_dir);
/* The cached version of type's handler: 1 with it in out, 0 for a type
 * without a handler, -1 when the handler could not tell. */
int handler_set_version(struct handler_set *s, const char *type, char *out,
			size_t len);

#endif
