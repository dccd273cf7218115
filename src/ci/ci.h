/*
 * ci.h — `strata ci`: the seed's four-line CI job (pull latest || true,
 * build --cache-from latest, tag REVISION_BUILD and latest, push) as one
 * plan, resolved from flags and the CI system's environment.
 *
 * Resolution order for each value: the flag, then the variables below in
 * order, first non-empty wins.
 *   image     DOCKER_IMAGE_NAME
 *   registry  REGISTRY_URL (host, optionally with ":port" or a scheme which
 *             is dropped) and REGISTRY_PORT (appended when REGISTRY_URL has
 *             no port)
 *   revision  SEMAPHORE_GIT_SHA, GITHUB_SHA, CI_COMMIT_SHA, REVISION
 *   build     SEMAPHORE_BUILD_NUMBER, GITHUB_RUN_NUMBER, CI_PIPELINE_IID, BUILD_NUMBER
 * The revision is shortened to 12 characters when it is a 40-hex git sha.
 * The tag is "<revision>_<build>", or the one of them that is set alone.
 *
 * Knows nothing of building or HTTP: it only computes the plan.
 */
#ifndef STRATA_CI_H
#define STRATA_CI_H

#include <stdbool.h>

#include "util/util.h"

/* Exit codes of `strata ci`, documented in docs/ci.md. */
enum {
	CI_EXIT_OK = 0,
	CI_EXIT_FAIL = 1,      /* anything else */
	CI_EXIT_USAGE = 2,     /* bad command line */
	CI_EXIT_BUILD = 3,     /* a build step failed */
	CI_EXIT_REGISTRY = 4,  /* the registry refused or was unreachable (push) */
	CI_EXIT_AUTH = 5,      /* authentication / authorisation failure */
	CI_EXIT_CONFIG = 6,    /* bad configuration: missing image name, bad reference... */
	CI_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM (a cancelled job), as strata build */
};

/* Flags given on the command line (NULL = not given). */
struct ci_flags {
	const char *image;
	const char *registry;
	const char *revision;
	const char *build_number;
	const char *cache_tag;  /* --cache-tag TAG|none */
};

/*
 * The cache artifact beside the image (docs/ci.md): every stage's cache
 * (mode=max) is exported to REPOSITORY:<cache tag> and imported from it,
 * so builder stages are cached too. The tag: the flag, else
 * $STRATA_CACHE_TAG, else CI_CACHE_TAG_DEFAULT; "none" turns it off
 * (*tag NULL). @return 0, or -1 (STRATA_E_CONFIG: not a valid tag, or
 * "latest", which is the image's).
 */
#define CI_CACHE_TAG_DEFAULT "buildcache"
int ci_cache_tag(const char *flag, const char *(*getenv_fn)(const char *name), const char **tag,
		 struct strata_error **err);

/* Where the plan's values came from, for the summary ("image from DOCKER_IMAGE_NAME"). */
struct ci_plan {
	char *repository;      /* "127.0.0.1:5000/app" (registry/image), normalised */
	char *tag;             /* "abc123_42" */
	char *ref_tag;         /* repository:tag */
	char *ref_latest;      /* repository:latest */
	char *registry;        /* "host[:port]" from --registry / REGISTRY_URL[+PORT], or NULL */
	char *cache_tag;       /* the cache artifact's tag (ci_cache_tag), NULL: none */
	char *ref_cache;       /* repository:cache_tag, or NULL */
	char *cache_to;        /* "repository:cache_tag,mode=max", or NULL */
	const char *image_from, *registry_from, *revision_from, *build_from; /* static names */
};

/*
 * Resolve the plan. `getenv_fn` reads the environment (getenv in the CLI, a
 * table in tests). @return 0, or -1 with code STRATA_E_CONFIG and a message
 * naming what is missing or wrong ("no image name: set DOCKER_IMAGE_NAME or
 * pass --image").
 */
int ci_plan_resolve(const struct ci_flags *flags, const char *(*getenv_fn)(const char *name),
		    struct ci_plan *out, struct strata_error **err);
void ci_plan_release(struct ci_plan *p);

/* Map an error to the exit code above (by its category). */
int ci_exit_code(const struct strata_error *e);

#endif
