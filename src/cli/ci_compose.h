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
	bool ci;                 /* ci mode: tags REPO:ci_tag and REPO:latest, --cache-from REPO:latest, push */
	const char *ci_tag;
	const char *ci_registry;  /* ci mode: where services without image: go (NULL: docker.io) */
	const char *const *regargs; /* extra options for the child (--insecure-registry H, --tls-ca F) */
	size_t nregargs;
};

/* Run one job (a compose_job_fn: ctx is a struct cli_compose_job_opts). */
int cli_compose_job_run(void *ctx, const struct compose_job *job, struct strata_error **err);

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
