/* Build jobs: planning (order by FROM and additional_contexts, selection),
 * and the runner (parallelism bound, dependency order, failures). */
#include "compose/compose.h"
#include "util/util.h"
#include "tap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;

static void put(const char *name, const char *text)
{
	char *p = strata_path_join(dir, name);
	char *d = xstrdup(p);
	*strrchr(d, '/') = '\0';
	strata_mkdir_p(d, 0755, NULL);
	ok(strata_atomic_write(p, text, strlen(text), 0644, NULL) == 0, "write %s", name);
	free(d);
	free(p);
}

static struct compose_project *load(void)
{
	const char *env[] = { "PATH=/bin", NULL };
	struct compose_options o = { .cwd = dir, .env = env };
	struct compose_project *p = NULL;
	struct strata_error *err = NULL;
	if (compose_project_load(&o, &p, &err) < 0) {
		char *m = strata_error_string(err);
		diag("load: %s", m);
		free(m);
		strata_error_free(err);
	}
	return p;
}

static const char *names(const struct compose_jobs *j)
{
	static char buf[256];
	buf[0] = '\0';
	for (size_t i = 0; i < j->n; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "%s%s", i ? " " : "", j->v[i].service->name);
	}
	return buf;
}

struct rec {
	pthread_mutex_t mu;
	int running, max_running;
	char order[256];
	const char *fail;       /* service that fails */
};

static int job_fn(void *ctx, const struct compose_job *job, struct strata_error **err)
{
	struct rec *r = ctx;
	pthread_mutex_lock(&r->mu);
	r->running++;
	if (r->running > r->max_running)
		r->max_running = r->running;
	pthread_mutex_unlock(&r->mu);
	usleep(20000);
	pthread_mutex_lock(&r->mu);
	r->running--;
	size_t l = strlen(r->order);
	snprintf(r->order + l, sizeof(r->order) - l, "%s%s", l ? " " : "", job->service->name);
	pthread_mutex_unlock(&r->mu);
	if (r->fail && !strcmp(r->fail, job->service->name))
		return strata_error_makec(err, STRATA_E_BUILD, 0, "RUN failed");
	return 0;
}

/* the position of a service's name in the recorded order (whole words), or -1 */
static int position(const char *order, const char *name)
{
	int pos = 0;
	size_t n = strlen(name);
	for (const char *p = order; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && !strncmp(p, name, n))
			return pos;
		pos++;
		p += w;
		p += strspn(p, " ");
	}
	return -1;
}

/* a ran before b: both must have run (a missing job is not "before") */
static void ran_before(const char *order, const char *a, const char *b)
{
	int pa = position(order, a), pb = position(order, b);
	ok(pa >= 0 && pb >= 0 && pa < pb, "%s ran before %s (%s)", a, b, order);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-compose-jobs.XXXXXX";
	dir = mkdtemp(tmpl);
	ok(dir != NULL, "temp dir");
	put("compose.yaml", "name: proj\n"
			    "services:\n"
			    "  app:\n"
			    "    build: app\n"
			    "  base:\n"
			    "    build:\n"
			    "      context: base\n"
			    "      tags: [\"reg.example/base:1\"]\n"
			    "  db:\n"
			    "    image: postgres\n"
			    "  other:\n"
			    "    image: reg.example/other:2\n"
			    "    build:\n"
			    "      context: other\n"
			    "      additional_contexts:\n"
			    "        b: service:base\n"
			    "  zed:\n"
			    "    build:\n"
			    "      context: zed\n"
			    "      dockerfile_inline: |\n"
			    "        FROM busybox\n"
			    "        COPY --from=reg.example/other:2 /x /x\n"
			    "  lonely:\n"
			    "    build: lonely\n"
			    "    profiles: [extra]\n");
	put("app/Dockerfile", "ARG BASE=proj-base\nFROM ${BASE}\nRUN true\n");
	put("base/Dockerfile", "FROM busybox\n");
	put("other/Dockerfile", "FROM busybox\n");
	put("lonely/Dockerfile", "FROM busybox\n");

	struct compose_project *p = load();
	ok(p != NULL, "project loads");
	if (!p)
		return done_testing();
	is_str(p->name, "proj", "project name from name:");

	struct compose_jobs jobs;
	struct compose_plan_options po = { 0 };
	struct strata_error *err = NULL;
	ok(compose_jobs_plan(p, &po, &jobs, &err) == 0, "plan");
	is_str(names(&jobs), "base app other zed", "services without build and inactive profiles skipped; deps first");
	is_int(jobs.v[1].ndeps, 1, "app waits for one job");
	is_str(jobs.v[jobs.v[1].deps[0]].service->name, "base", "app waits for base (FROM proj-base via ARG)");
	is_str(jobs.v[2].service->name, "other", "other");
	is_int(jobs.v[2].ndeps, 1, "other waits for one job (additional_contexts service:base)");
	is_int(jobs.v[3].ndeps, 1, "zed waits for other (COPY --from its image)");
	is_str(jobs.v[0].tags[0], "proj-base", "default image name is <project>-<service>");
	is_str(jobs.v[0].tags[1], "reg.example/base:1", "build.tags follow");
	is_str(jobs.v[2].tags[0], "reg.example/other:2", "image: names the result");

	/* the runner: bound of 2, order respected */
	struct rec r = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct compose_job_result res[8];
	ok(compose_jobs_run(&jobs, 2, job_fn, &r, res, &err) == 0, "all jobs run");
	ok(r.max_running <= 2, "at most 2 at once (%d)", r.max_running);
	is_int(position(r.order, "base"), 0, "base first: %s", r.order);
	ran_before(r.order, "base", "app");
	ran_before(r.order, "base", "other");
	ran_before(r.order, "other", "zed");
	is_int(position(r.order, "nope"), -1, "position of a job that did not run");
	is_int(position("base zedx", "zed"), -1, "positions compare whole names");
	compose_job_results_release(res, jobs.n);

	/* a failure skips the dependents, others still run */
	struct rec r2 = { .mu = PTHREAD_MUTEX_INITIALIZER, .fail = "other" };
	ok(compose_jobs_run(&jobs, 2, job_fn, &r2, res, &err) < 0, "a failed job fails the run");
	char *m = strata_error_string(err);
	is_str(m, "2 of 4 builds failed: other, zed", "summary names the failed services");
	is_int(strata_error_code(err), STRATA_E_BUILD, "code of the first failure");
	free(m);
	strata_error_clear(&err);
	is_int(res[0].rc, 0, "base ok");
	is_int(res[1].rc, 0, "app ok");
	is_int(res[2].rc, -1, "other failed");
	is_int(res[3].rc, 1, "zed skipped");
	m = strata_error_string(res[3].err);
	is_str(m, "dependency 'other' failed", "skip reason");
	free(m);
	is_int(position(r2.order, "zed"), -1, "zed never ran");
	ran_before(r2.order, "base", "app");
	compose_job_results_release(res, jobs.n);
	struct rec r3 = { .mu = PTHREAD_MUTEX_INITIALIZER };
	ok(compose_jobs_run(&jobs, 1, job_fn, &r3, res, &err) == 0 && r3.max_running == 1, "parallel 1 is serial");
	compose_job_results_release(res, jobs.n);
	compose_jobs_release(&jobs);

	/* selection: a named service pulls in what it needs */
	const char *sel[] = { "zed" };
	struct compose_plan_options po2 = { .services = sel, .nservices = 1, .push = true, .no_cache = true };
	ok(compose_jobs_plan(p, &po2, &jobs, &err) == 0, "plan zed");
	is_str(names(&jobs), "base other zed", "zed needs other needs base");
	ok(jobs.v[2].push && jobs.v[2].no_cache, "flags carried");
	compose_jobs_release(&jobs);
	const char *sel2[] = { "lonely" };
	struct compose_plan_options po3 = { .services = sel2, .nservices = 1 };
	ok(compose_jobs_plan(p, &po3, &jobs, &err) == 0, "a service of an inactive profile can be named");
	is_str(names(&jobs), "lonely", "lonely");
	compose_jobs_release(&jobs);
	const char *sel3[] = { "nope" };
	struct compose_plan_options po4 = { .services = sel3, .nservices = 1 };
	ok(compose_jobs_plan(p, &po4, &jobs, &err) < 0, "unknown service");
	m = strata_error_string(err);
	is_str(m, "no such service: nope", "unknown service message");
	free(m);
	strata_error_clear(&err);
	compose_project_free(p);

	/* a cycle is an error */
	put("compose.yaml", "name: cyc\nservices:\n  a:\n    build: a\n  b:\n    build: b\n");
	put("a/Dockerfile", "FROM cyc-b\n");
	put("b/Dockerfile", "FROM cyc-a\n");
	p = load();
	ok(compose_jobs_plan(p, &po, &jobs, &err) < 0, "cycle detected");
	m = strata_error_string(err);
	is_str(m, "build dependency cycle between services: a -> b -> a", "cycle message");
	free(m);
	strata_error_clear(&err);
	compose_project_free(p);

	/* an empty job list runs */
	struct compose_jobs none = { 0 };
	ok(compose_jobs_run(&none, 2, job_fn, &r, res, &err) == 0, "no jobs");

	strata_rm_rf(dir, NULL);
	return done_testing();
}
