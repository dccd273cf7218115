/*
 * buildremote.h — what `strata build`, `strata ci` and compose builds give
 * the build engine to reach registries (build.h's struct build_hooks):
 * pulling missing base images, the remote cache (--cache-from, inline cache,
 * lazy layer fetch, --cache-to) and pushing the tags afterwards. The build
 * module never links against the registry client; this file is the bridge.
 */
#ifndef STRATA_CLI_BUILDREMOTE_H
#define STRATA_CLI_BUILDREMOTE_H

#include <stdbool.h>
#include <stdio.h>

#include "build/build.h"
#include "registry/client.h"

struct cli_build_remote_opts {
	struct regclient_opts *reg;    /* borrowed; NULL: defaults */
	const char *platform;          /* base images and cache imports; NULL: the host's */
	const char *cache_platforms;   /* several --platform values "A,B": cache imports for each
					* (base images are pulled per build, platform from the engine) */
	bool pull_always;              /* --pull */
	const char *const *cache_from; /* --cache-from REF... */
	size_t ncache_from;
	const char *cache_to;          /* --cache-to REF[,mode=min|max] or NULL */
	bool push;                     /* --push: every tag after the build */
	const struct build_listener *events; /* the build's event stream: bytes pushed per layer */
	bool quiet;                    /* no upload progress */
};

struct cli_build_remote;

/* What a build moved on the wire (everything the client did). */
struct cli_build_moved {
	uint64_t bytes_down, bytes_up, requests;
};

/*
 * Create the client and open the cache sources (their lines go to out).
 * @return 0, or -1 (an unparsable --cache-from / --cache-to: STRATA_E_USAGE).
 */
int cli_build_remote_open(const struct cli_build_remote_opts *o, FILE *out, struct cli_build_remote **r,
			  struct strata_error **err);
const struct build_hooks *cli_build_remote_hooks(struct cli_build_remote *r);
/*
 * After a successful build_run: record the layers left in registries, push
 * every tag (--push), export the cache (--cache-to: a failure is a warning).
 * @return 0, or -1 (a push failed).
 */
int cli_build_remote_finish(struct cli_build_remote *r, const char *const *tags, size_t ntags,
			    struct strata_error **err);
void cli_build_remote_moved(struct cli_build_remote *r, struct cli_build_moved *m);
void cli_build_remote_free(struct cli_build_remote *r);

/*
 * Make every layer of the image `ref` (in the store at root) local: layers a
 * cached build or a lazy base left in a registry are downloaded (verified)
 * now, because running or exporting the image needs their content. Prints
 * one line per fetched layer to out (may be NULL). No-op when all are local.
 * @return the number of layers fetched, or -1.
 */
int cli_fetch_remote_layers(const char *root, const char *ref, FILE *out, struct strata_error **err);

#endif
