/*
 * compose.h — the compose module's boundary: compose files (YAML, `.env`,
 * interpolation, merging of several files) loaded into a project model, and
 * the project turned into build jobs for the build engine.
 *
 * compose knows nothing of HTTP or of execution: running a job is the
 * caller's callback (compose_jobs_run). It reads files only: the compose
 * files, the `.env` file and, to order builds, the services' Dockerfiles.
 *
 * The pipeline (docs/internals/compose.md):
 *
 *   files ─► YAML tree with file:line marks (libyaml; anchors, aliases, `<<`)
 *         ─► interpolation of every scalar value ($VAR, ${VAR:-d}, ...)
 *         ─► merge of the files in order (compose's override rules)
 *         ─► validation into struct compose_project (unknown keys, types)
 *         ─► compose_jobs_plan: one job per service with a build, in order
 *
 * Errors name the file, line and key:
 *   "compose.yaml:12: services.web.build.args: expected a mapping or a list"
 * and carry STRATA_E_CONFIG. Nothing here keeps global state; the process
 * environment is passed in (compose_options.env), so loads are reentrant.
 */
#ifndef STRATA_COMPOSE_H
#define STRATA_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

/* Upper bounds on untrusted input. */
#define COMPOSE_FILE_MAX (4u << 20)      /* bytes of one compose or .env file */
#define COMPOSE_NODES_MAX 200000u        /* YAML nodes after alias expansion */
#define COMPOSE_DEPTH_MAX 64u            /* nesting of YAML collections */

/* ------------------------------------------------------------------------- */
/* Interpolation and .env (usable on their own)                              */

/*
 * Variable lookup: return the value of `name` (borrowed; valid until the
 * lookup's owner changes) or NULL when it is unset.
 */
typedef const char *(*compose_lookup_fn)(void *ctx, const char *name);

/*
 * Interpolate one string as compose does: `$$` is a literal `$`; `$VAR` and
 * `${VAR}` the value (an unset variable gives "" and a warning);
 * `${VAR:-d}` d when VAR is unset or empty, `${VAR-d}` when unset;
 * `${VAR:?e}` an error ("required variable VAR is missing a value: e") when
 * unset or empty, `${VAR?e}` when unset; `${VAR:+r}` r when set and not
 * empty, `${VAR+r}` when set. d, e and r are interpolated themselves (nested
 * `${...}`). A `$` followed by anything else, or an unterminated `${`, is
 * "invalid interpolation format".
 * `warn` (may be NULL) is called with "the \"X\" variable is not set,
 * defaulting to a blank string".
 * @return 0 with *out newly allocated, or -1 (err set, code STRATA_E_CONFIG).
 */
int compose_interpolate(const char *s, compose_lookup_fn lookup, void *ctx,
			void (*warn)(void *wctx, const char *msg), void *wctx, char **out,
			struct strata_error **err);

/* "K=V" pairs in file order; a later K replaces an earlier one in place. */
struct compose_env {
	char **kv;              /* "K=V" strings */
	size_t n;
};
/* The value of K, or NULL. */
const char *compose_env_get(const struct compose_env *e, const char *key);
/* Set K to V (copied). */
void compose_env_set(struct compose_env *e, const char *key, const char *value);
void compose_env_release(struct compose_env *e);

/*
 * Parse a `.env` file's text as compose does: blank lines and `#` comments,
 * an optional `export ` prefix, `K=V` with V unquoted (trimmed; ` #` starts
 * a comment), 'single quoted' (literal, may span lines) or "double quoted"
 * (\n \r \t \\ \" \$ escapes, may span lines), empty values; `K` alone takes
 * its value from `lookup` and is skipped when that is unset. Unquoted and
 * double-quoted values are interpolated with `lookup`, then the earlier
 * entries of the file. `name` is used in errors (".env:3: ...").
 * Entries are added to *out (which may already hold some).
 * @return 0, or -1 (code STRATA_E_CONFIG).
 */
int compose_dotenv_parse(const char *data, size_t len, const char *name, compose_lookup_fn lookup,
			 void *ctx, struct compose_env *out, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* The project model                                                         */

/* A key with an optional value (build args: NULL = no value, left unset). */
struct compose_kv {
	char *key;
	char *value;            /* may be NULL */
};

/* A build secret: `id` mounted at /run/secrets/<id> by RUN --mount=type=secret. */
struct compose_build_secret {
	char *id;               /* target, else source */
	char *source;           /* the name of the top-level secret */
	char *file;             /* absolute path (file-based secret), or NULL */
	char *env;              /* environment variable (environment-based), or NULL */
	char *value;            /* environment-based: its value when set, or NULL */
};

struct compose_build {
	char *context;          /* absolute directory, or a URL kept as written */
	bool context_is_url;
	char *dockerfile;       /* absolute path (relative ones are resolved
				   against the context); NULL with dockerfile_inline */
	char *dockerfile_inline;
	struct compose_kv *args;   /* in order; merged by key */
	size_t nargs;
	char *target;
	char **cache_from;
	size_t ncache_from;
	char **cache_to;
	size_t ncache_to;
	struct compose_kv *labels; /* values never NULL */
	size_t nlabels;
	char **tags;            /* extra tags (the image name is not among them) */
	size_t ntags;
	char *network;
	struct compose_build_secret *secrets;
	size_t nsecrets;
	struct compose_kv *additional_contexts;
	size_t nadditional_contexts;
	bool no_cache;
	bool pull;
	/* accepted, reported as unsupported (warnings), kept for `config` */
	char **platforms;
	size_t nplatforms;
	char **extra_hosts;     /* "host=ip" */
	size_t nextra_hosts;
	char *shm_size;
	char **ssh;             /* "default" or "id=path" */
	size_t nssh;
};

struct compose_service {
	char *name;
	char *image;            /* as written, or NULL */
	struct compose_build *build; /* NULL: the service is not built */
	char **profiles;
	size_t nprofiles;
	char **depends_on;      /* service names (never orders builds) */
	size_t ndepends_on;
	json_t *extra;          /* the other keys as merged (an object; for `config`) */
	const char *file;       /* where the service is defined (errors) */
	int line;
};

struct compose_secret {
	char *name;
	char *file;             /* absolute, or NULL */
	char *environment;      /* or NULL */
	json_t *extra;
};

struct compose_project {
	char *name;             /* the project name (normalised, valid) */
	char *workdir;          /* absolute: the first file's directory */
	char **files;           /* the files loaded, in order, as named in errors */
	size_t nfiles;
	struct compose_service *services; /* sorted by name */
	size_t nservices;
	struct compose_secret *secrets;   /* top-level secrets, sorted by name */
	size_t nsecrets;
	json_t *extra;          /* top-level networks, volumes, configs, x-* */
	char **warnings;        /* unset variables, unsupported keys, ... */
	size_t nwarnings;
	struct compose_env env; /* the interpolation environment (process env + .env) */
	char **profiles;        /* enabled profiles (options, then COMPOSE_PROFILES) */
	size_t nprofiles;
};

/*
 * How to find and read a project. All fields optional.
 *  files        -f FILE values in order; "-" reads stdin. When none are given:
 *               COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR, default ':'),
 *               else the first of compose.yaml, compose.yml,
 *               docker-compose.yml, docker-compose.yaml in `cwd` or its
 *               nearest parent that has one, plus the override file next to
 *               it (compose.override.yaml, ...) when present.
 *  project_name -p NAME (must be valid: [a-z0-9][a-z0-9_-]*)
 *  env_file     --env-file F; default `.env` in the project directory
 *               (missing is fine only for the default)
 *  env          the process environment ("K=V", NULL-terminated); it wins
 *               over `.env`
 *  cwd          default: the current directory
 *  profiles     enabled profiles (plus COMPOSE_PROFILES, comma separated)
 */
struct compose_options {
	const char *const *files;
	size_t nfiles;
	const char *project_name;
	const char *env_file;
	const char *const *env;
	const char *cwd;
	const char *const *profiles;
	size_t nprofiles;
};

/*
 * Load a project (see the pipeline above). Project name: -p, else
 * COMPOSE_PROJECT_NAME (environment or .env), else `name:` of the files,
 * else the project directory's name normalised (lower case, characters
 * other than [a-z0-9_-] dropped, leading '-' and '_' dropped).
 * @return 0 with *out (free with compose_project_free), or -1; errors name
 * the file, line and key and have code STRATA_E_CONFIG.
 */
int compose_project_load(const struct compose_options *opts, struct compose_project **out,
			 struct strata_error **err);
void compose_project_free(struct compose_project *p);

/* The service named `name`, or NULL. */
const struct compose_service *compose_project_service(const struct compose_project *p,
						      const char *name);
/* Whether the service is enabled (no profiles, or one of them enabled). */
bool compose_service_active(const struct compose_project *p, const struct compose_service *s);
/* The image a service builds: `image:`, else "<project>-<service>". Newly allocated. */
char *compose_service_image(const struct compose_project *p, const struct compose_service *s);

/*
 * The resolved model as `docker compose config` shows it (keys sorted by
 * the encoder; paths absolute; build args resolved; services of disabled
 * profiles left out). New reference.
 */
json_t *compose_project_to_json(const struct compose_project *p);
/* The same as YAML text (libyaml emitter). @return 0 with *out newly allocated, or -1. */
int compose_json_to_yaml(const json_t *j, char **out, struct strata_error **err);

/*
 * Any one-document YAML text (JSON is YAML) with compose's loader (anchors,
 * aliases, `<<`, a duplicate key is an error), for other modules' own
 * configuration files. *out: the tree as JSON (plain null/bool/integer
 * scalars typed, every other scalar a string; an empty document is null).
 * *lines: an object mapping the RFC 6901 pointer of every node ("" for the
 * root, "/0/keep-last") to its 1-based line (a mapping value: its key's
 * line). Errors are STRATA_E_CONFIG "FILE:LINE: invalid YAML: ...".
 * @return 0 with both new references, or -1.
 */
int compose_yaml_to_json(const char *data, size_t len, const char *file, json_t **out, json_t **lines,
			 struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Build jobs                                                                */

/*
 * One build: everything the build engine needs, borrowed from the project
 * (which must outlive the jobs) except `tags` and `deps`.
 * tags[0] is the image name (compose_service_image), then build.tags.
 */
struct compose_job {
	const struct compose_service *service;
	const struct compose_build *build;
	char **tags;
	size_t ntags;
	bool no_cache;          /* build.no_cache or --no-cache */
	bool pull;              /* build.pull or --pull */
	bool push;              /* --push, or `compose push` */
	size_t *deps;           /* indices of jobs that must finish first */
	size_t ndeps;
};

struct compose_jobs {
	struct compose_job *v;
	size_t n;
	char **warnings;        /* Dockerfiles that could not be parsed to order builds */
	size_t nwarnings;
};

struct compose_plan_options {
	const char *const *services; /* SERVICE... (empty = every active service) */
	size_t nservices;
	bool no_cache, pull, push;
};

/*
 * One job per selected service that has a build, in a topological order.
 * A job depends on another when its build uses `additional_contexts:
 * NAME: service:OTHER`, or when its Dockerfile (parsed with its args and
 * target) FROMs, COPY --from's or RUN --mount from='s the other's image.
 * `depends_on` does not order builds (as in compose). Services without a
 * build are skipped, named or not; an unknown name is an error ("no such
 * service: x"). Services named explicitly are built even when their profile
 * is disabled, and pull in the services their builds depend on. Image names
 * and build.tags are checked as references here (not at load time, so that
 * `config` still prints them).
 * @return 0 with *out filled (release with compose_jobs_release), or -1
 * (unknown service, invalid image name, dependency cycle "build dependency
 * cycle between services: a -> b -> a"), code STRATA_E_CONFIG.
 */
int compose_jobs_plan(const struct compose_project *p, const struct compose_plan_options *o,
		      struct compose_jobs *out, struct strata_error **err);
void compose_jobs_release(struct compose_jobs *jobs);

/* A job as JSON (for --dry-run). New reference. */
json_t *compose_job_to_json(const struct compose_jobs *jobs, size_t i);

/*
 * Run a job. Called from runner threads, at most `parallel` at once, each
 * job once, after its deps succeeded. @return 0, or -1 with err set.
 */
typedef int (*compose_job_fn)(void *ctx, const struct compose_job *job, struct strata_error **err);

struct compose_job_result {
	int rc;                 /* 0 ok, -1 failed, 1 skipped (a dependency failed) */
	struct strata_error *err; /* owned; NULL when rc == 0 */
};

/*
 * Run every job through fn, independent ones concurrently (at most
 * `parallel`, >= 1). results[i] (n entries, caller-allocated) receives each
 * job's outcome; a job whose dependency failed is skipped (rc 1, error
 * "dependency 'x' failed"). Every job is attempted even after a failure.
 * @return 0 when all succeeded, else -1 with err "N of M builds failed:
 * web, api" (the code of the first failure). Free the results' errors
 * with compose_job_results_release.
 */
int compose_jobs_run(const struct compose_jobs *jobs, unsigned parallel, compose_job_fn fn, void *ctx,
		     struct compose_job_result *results, struct strata_error **err);
void compose_job_results_release(struct compose_job_result *results, size_t n);

#endif
