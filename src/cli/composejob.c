/*
 * composejob.c — compose jobs as child `strata build` / `strata push`
 * processes (ci_compose.h), and `strata ci --compose`.
 */
#include "cli/cli.h"
#include "cli/ci_compose.h"
#include "oci/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct argv_b {
	char **v;
	size_t n, cap;
};

static void av_add(struct argv_b *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xreallocarray(a->v, a->cap, sizeof(char *));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void av_addf2(struct argv_b *a, const char *opt, const char *val)
{
	av_add(a, opt);
	av_add(a, val);
}

static void av_free(struct argv_b *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* the repository of a tag ("reg/app:1" -> "reg/app"), newly allocated, or NULL */
static char *repo_of(const char *tag)
{
	struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(tag, &r, NULL) < 0)
		return NULL;
	char *s = oci_ref_repository(&r);
	oci_ref_release(&r);
	return s;
}

/*
 * The repository `strata ci --compose` pushes a service to: its image:
 * without the tag, else <project>-<service> under the CI registry (docs/ci.md;
 * it went to docker.io, REGISTRY_URL ignored).
 */
static char *ci_repo(const struct cli_compose_job_opts *o, const struct compose_job *job)
{
	if (job->service->image || !o->ci_registry)
		return repo_of(job->tags[0]);
	cleanup_free char *name = xstrdup(job->tags[0]);
	char *colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/'))
		*colon = '\0';
	cleanup_free char *full = xasprintf("%s/%s", o->ci_registry, name);
	return repo_of(full);
}

char *cli_compose_cache_ref(const struct cli_compose_job_opts *o, const struct compose_job *job)
{
	if (!o->cache_tag || o->push_only || job->build->ncache_to || !job->ntags || !(o->ci || job->push))
		return NULL;
	cleanup_free char *repo = o->ci ? ci_repo(o, job) : repo_of(job->tags[0]);
	return repo ? xasprintf("%s:%s", repo, o->cache_tag) : NULL;
}

/* map a child's exit status back to an error category (ci.h's codes) */
static int code_of_exit(int st)
{
	switch (st) {
	case CI_EXIT_USAGE: return STRATA_E_USAGE;
	case CI_EXIT_BUILD: return STRATA_E_BUILD;
	case CI_EXIT_REGISTRY: return STRATA_E_REGISTRY;
	case CI_EXIT_AUTH: return STRATA_E_AUTH;
	case CI_EXIT_CONFIG: return STRATA_E_CONFIG;
	case CI_EXIT_INTERRUPTED: return STRATA_E_INTERRUPTED;
	default: return STRATA_E_BUILD;
	}
}

/* run argv with its stdout+stderr prefixed by "name | " on our stderr */
static int run_child(const char *name, char **argv, char **envs, struct strata_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return strata_error_make(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return strata_error_make(err, errno, "fork");
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		setenv("STRATA_EXIT_CODES", "ci", 1);
		for (size_t i = 0; envs && envs[i]; i++)
			putenv(envs[i]); /* environment secrets, as resolved with .env */
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	if (!f) {
		close(p[0]);
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			fprintf(stderr, "%s | %s\n", name, line);
		}
		free(line);
		fclose(f);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return strata_error_make(err, errno, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return strata_error_makec(err, code_of_exit(WEXITSTATUS(st)), 0, "strata %s exited with status %d",
					  argv[1], WEXITSTATUS(st));
	int sig = WTERMSIG(st);
	return strata_error_makec(err, sig == SIGINT || sig == SIGTERM ? STRATA_E_INTERRUPTED : STRATA_E_BUILD, 0,
				  "strata %s killed by signal %d", argv[1], sig);
}

int cli_compose_job_run(void *ctx, const struct compose_job *job, struct strata_error **err)
{
	const struct cli_compose_job_opts *o = ctx;
	const struct compose_build *b = job->build;
	const char *name = job->service->name;
	struct argv_b a = { 0 };
	int rc = 0;
	cleanup_free char *inline_df = NULL;
	if (o->push_only) {
		for (size_t i = 0; rc == 0 && i < job->ntags; i++) {
			a = (struct argv_b){ 0 };
			av_add(&a, "strata");
			av_add(&a, "push");
			for (size_t k = 0; k < o->nregargs; k++)
				av_add(&a, o->regargs[k]);
			av_add(&a, job->tags[i]);
			rc = run_child(name, a.v, NULL, err);
			av_free(&a);
		}
		return rc;
	}
	if (b->context_is_url)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "build context '%s': URLs are not supported",
					  b->context);
	av_add(&a, "strata");
	av_add(&a, "build");
	av_addf2(&a, "--progress", "plain");
	if (b->dockerfile_inline) {
		char tmpl[] = "/tmp/strata-dockerfile-XXXXXX";
		int fd = mkstemp(tmpl);
		if (fd < 0) {
			av_free(&a);
			return strata_error_make(err, errno, "temporary Dockerfile");
		}
		inline_df = xstrdup(tmpl);
		struct strata_error *e2 = NULL;
		if (strata_write_full(fd, b->dockerfile_inline, strlen(b->dockerfile_inline), inline_df, &e2) < 0) {
			close(fd);
			unlink(inline_df);
			av_free(&a);
			*err = e2;
			return -1;
		}
		close(fd);
		av_addf2(&a, "-f", inline_df);
	} else if (b->dockerfile) {
		av_addf2(&a, "-f", b->dockerfile);
	}
	for (size_t i = 0; i < b->nargs; i++) {
		cleanup_free char *kv = b->args[i].value ? xasprintf("%s=%s", b->args[i].key, b->args[i].value)
							 : xstrdup(b->args[i].key);
		av_addf2(&a, "--build-arg", kv);
	}
	if (b->target)
		av_addf2(&a, "--target", b->target);
	for (size_t i = 0; i < b->ncache_from; i++)
		av_addf2(&a, "--cache-from", b->cache_from[i]);
	if (b->ncache_to)
		av_addf2(&a, "--cache-to", b->cache_to[0]);
	cleanup_free char *cache_ref = cli_compose_cache_ref(o, job);
	if (cache_ref) {
		cleanup_free char *to = xasprintf("%s,mode=max", cache_ref);
		av_addf2(&a, "--cache-from", cache_ref);
		av_addf2(&a, "--cache-to", to);
	}
	for (size_t i = 0; i < b->nlabels; i++) {
		cleanup_free char *kv = xasprintf("%s=%s", b->labels[i].key, b->labels[i].value);
		av_addf2(&a, "--label", kv);
	}
	if (b->network && !strcmp(b->network, "none"))
		av_addf2(&a, "--network", "none");
	struct argv_b envs = { 0 };
	for (size_t i = 0; i < b->nsecrets; i++) {
		const struct compose_build_secret *sc = &b->secrets[i];
		/* an environment secret was dropped: RUN found no /run/secrets/<id> */
		cleanup_free char *kv = sc->file ? xasprintf("id=%s,src=%s", sc->id, sc->file)
						 : sc->env ? xasprintf("id=%s,env=%s", sc->id, sc->env) : NULL;
		if (kv)
			av_addf2(&a, "--secret", kv);
		if (!sc->file && sc->env && sc->value) {
			cleanup_free char *e = xasprintf("%s=%s", sc->env, sc->value);
			av_add(&envs, e);
		}
	}
	if (job->no_cache)
		av_add(&a, "--no-cache");
	if (job->pull)
		av_add(&a, "--pull");
	if (o->ci) {
		cleanup_free char *repo = job->ntags ? ci_repo(o, job) : NULL;
		if (!repo) {
			av_free(&a);
			av_free(&envs);
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "service %s: no image name", name);
		}
		cleanup_free char *t1 = xasprintf("%s:%s", repo, o->ci_tag);
		cleanup_free char *t2 = xasprintf("%s:latest", repo);
		av_addf2(&a, "--cache-from", t2);
		av_addf2(&a, "-t", t1);
		av_addf2(&a, "-t", t2);
		av_add(&a, "--push");
	} else {
		for (size_t i = 0; i < job->ntags; i++)
			av_addf2(&a, "-t", job->tags[i]);
		if (job->push)
			av_add(&a, "--push");
	}
	for (size_t k = 0; k < o->nregargs; k++)
		av_add(&a, o->regargs[k]);
	av_add(&a, b->context);
	rc = run_child(name, a.v, envs.v, err);
	av_free(&a);
	av_free(&envs);
	if (inline_df)
		unlink(inline_df);
	return rc;
}

static void regargs_from(const struct regclient_opts *r, struct argv_b *a)
{
	for (size_t i = 0; r && i < r->n_insecure; i++)
		av_addf2(a, "--insecure-registry", r->insecure[i]);
	if (r && r->ca_file)
		av_addf2(a, "--tls-ca", r->ca_file);
}

int ci_compose_run(const struct ci_compose_options *o)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct strata_error *err = NULL;
	/* the tag: the image name does not matter here (each service has its own) */
	struct ci_flags fl = *o->flags;
	if (!fl.image)
		fl.image = "compose";
	struct ci_plan plan = { 0 };
	if (ci_plan_resolve(&fl, o->getenv_fn, &plan, &err) < 0) {
		int code = ci_exit_code(err);
		cli_fail(err);
		return code;
	}
	const char *files[1] = { o->file };
	struct compose_options co = { .files = files, .nfiles = o->file ? 1 : 0, .env = (const char *const *)environ };
	struct compose_project *p = NULL;
	struct compose_jobs jobs = { 0 };
	struct compose_plan_options po = { .push = true };
	struct argv_b ra = { 0 };
	int rc = CI_EXIT_OK;
	if (compose_project_load(&co, &p, &err) < 0 || compose_jobs_plan(p, &po, &jobs, &err) < 0) {
		if (strata_error_code(err) == STRATA_E_NOTFOUND || strata_error_code(err) == STRATA_E_INVALID)
			strata_error_set_code(&err, STRATA_E_CONFIG);
		rc = ci_exit_code(err);
		cli_fail(err);
		goto out;
	}
	for (size_t i = 0; i < jobs.nwarnings; i++)
		fprintf(stderr, "strata: warning: %s\n", jobs.warnings[i]);
	regargs_from(o->reg, &ra);
	struct cli_compose_job_opts jo = { .ci = true, .ci_tag = plan.tag, .ci_registry = plan.registry,
					   .regargs = (const char *const *)ra.v, .nregargs = ra.n,
					   .cache_tag = plan.cache_tag };
	struct compose_job_result *res = xcalloc(jobs.n ? jobs.n : 1, sizeof(*res));
	if (jobs.n && compose_jobs_run(&jobs, 2, cli_compose_job_run, &jo, res, &err) < 0) {
		for (size_t i = 0; i < jobs.n; i++) {
			if (!res[i].err)
				continue;
			cleanup_free char *m = strata_error_string(res[i].err);
			fprintf(stderr, "strata: error: %s: %s\n", jobs.v[i].service->name, m);
		}
		rc = ci_exit_code(err);
		cli_fail(err);
	}
	compose_job_results_release(res, jobs.n);
	free(res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == CI_EXIT_OK)
		fprintf(stderr, "strata ci: %zu service%s built and pushed as :%s and :latest in %.1fs\n", jobs.n,
			jobs.n == 1 ? "" : "s", plan.tag,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
out:
	av_free(&ra);
	if (p)
		compose_jobs_release(&jobs);
	compose_project_free(p);
	ci_plan_release(&plan);
	return rc;
}
