/*
 * ci_compose.h — compose jobs run by the build engine (`strata compose
 * build/push`, `strata ci --compose`). Each job runs as a child `strata
 * build` (or `strata push`) process: the engine mounts and forks, which a
 * process does more safely than one of several threads; its output lines
 * are prefixed with the service name.
 */
#ifndef STRATA_CLI_CI_COMPOSE_H
#define STRATA_CLI_CI_COMPOSE_H

#include <stdbool.h>

#include "build/build.h"
#include "ci/ci.h"
#include "compose/compose.h"
#include "registry/client.h"

struct cli_compose_job_opts {
	bool push_only;          /* `compose push`: push the tags, no build */
	bool ci;                 /* ci mode: tags REPO:ci_tag and REPO:latest, --cache-from REPO:latest (+ cache_tag), push */
	const char *ci_tag;
	const char *ci_registry;  /* ci mode: where services without image: go (NULL: docker.io) */
	const char *const *regargs; /* extra options for the child (--insecure-registry H, --tls-ca F) */
	size_t nregargs;
	const char *cache_tag;   /* the cache artifact beside pushed images (ci_cache_tag), NULL: none */
};

/* Run one job (a compose_job_fn: ctx is a struct cli_compose_job_opts). */
int cli_compose_job_run(void *ctx, const struct compose_job *job, struct strata_error **err);

/*
 * The cache artifact a job's build imports and exports (mode=max) by default:
 * REPOSITORY:cache_tag of the image it pushes (ci mode, or a build with
 * --push), newly allocated; NULL when it pushes nothing, the service has its
 * own build.cache_to, or o->cache_tag is NULL.
 */
char *cli_compose_cache_ref(const struct cli_compose_job_opts *o, const struct compose_job *job);

struct ci_compose_options {
	const char *file;        /* the compose file, NULL: found as compose does */
	const struct ci_flags *flags;
	const char *(*getenv_fn)(const char *name);
	struct regclient_opts *reg;
	enum build_progress_mode progress;
};

/* `strata ci --compose`: @return the exit code (ci.h). */
int ci_compose_run(const struct ci_compose_options *o);

#endif
