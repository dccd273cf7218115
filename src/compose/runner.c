/*
 * runner.c — run build jobs through a callback, independent ones
 * concurrently (bounded), each after the jobs it depends on succeeded.
 */
#include "compose/internal.h"

#include <pthread.h>
#include <string.h>

enum { ST_WAITING, ST_RUNNING, ST_DONE };

struct runner {
	const struct compose_jobs *jobs;
	compose_job_fn fn;
	void *ctx;
	struct compose_job_result *results;
	int *state;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t remaining;
};

/* A waiting job whose deps are all done; skipped ones are resolved here. Locked. */
static ssize_t next_job(struct runner *r)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < r->jobs->n; i++) {
			if (r->state[i] != ST_WAITING)
				continue;
			const struct compose_job *j = &r->jobs->v[i];
			bool ready = true;
			const char *failed = NULL;
			for (size_t d = 0; d < j->ndeps; d++) {
				size_t k = j->deps[d];
				if (r->state[k] != ST_DONE)
					ready = false;
				else if (r->results[k].rc != 0)
					failed = r->jobs->v[k].service->name;
			}
			if (failed) {
				r->state[i] = ST_DONE;
				r->results[i].rc = 1;
				strata_error_makec(&r->results[i].err, STRATA_E_BUILD, 0, "dependency '%s' failed",
						   failed);
				r->remaining--;
				again = true;
				pthread_cond_broadcast(&r->cv);
				continue;
			}
			if (ready)
				return (ssize_t)i;
		}
	}
	return -1;
}

static void *worker(void *arg)
{
	struct runner *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		ssize_t i = next_job(r);
		if (i < 0) {
			if (!r->remaining)
				break;
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		r->state[i] = ST_RUNNING;
		pthread_mutex_unlock(&r->mu);
		struct strata_error *e = NULL;
		int rc = r->fn(r->ctx, &r->jobs->v[i], &e);
		if (rc < 0 && !e)
			strata_error_makec(&e, STRATA_E_BUILD, 0, "build failed");
		pthread_mutex_lock(&r->mu);
		r->results[i].rc = rc < 0 ? -1 : 0;
		r->results[i].err = rc < 0 ? e : NULL;
		if (rc >= 0)
			strata_error_free(e);
		r->state[i] = ST_DONE;
		r->remaining--;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int compose_jobs_run(const struct compose_jobs *jobs, unsigned parallel, compose_job_fn fn, void *ctx,
		     struct compose_job_result *results, struct strata_error **err)
{
	struct runner r = { .jobs = jobs, .fn = fn, .ctx = ctx, .results = results, .remaining = jobs->n };
	memset(results, 0, jobs->n * sizeof(*results));
	if (!jobs->n)
		return 0;
	if (parallel < 1)
		parallel = 1;
	if (parallel > jobs->n)
		parallel = (unsigned)jobs->n;
	r.state = xcalloc(jobs->n, sizeof(int));
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	pthread_t *th = xcalloc(parallel, sizeof(*th));
	unsigned started = 0;
	for (unsigned t = 0; t < parallel; t++) {
		if (pthread_create(&th[t], NULL, worker, &r) != 0)
			break;
		started++;
	}
	if (!started)
		worker(&r); /* run inline when no thread could start */
	for (unsigned t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	free(th);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	free(r.state);
	size_t failed = 0;
	int code = 0;
	cleanup_buf struct strata_buf names = STRATA_BUF_INIT;
	for (size_t i = 0; i < jobs->n; i++) {
		if (results[i].rc == 0)
			continue;
		if (!code && results[i].rc < 0)
			code = strata_error_code(results[i].err);
		strata_buf_addf(&names, "%s%s", failed ? ", " : "", jobs->v[i].service->name);
		failed++;
	}
	if (!failed)
		return 0;
	return strata_error_makec(err, code ? code : STRATA_E_BUILD, 0, "%zu of %zu builds failed: %s", failed,
				  jobs->n, names.data);
}

void compose_job_results_release(struct compose_job_result *results, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		strata_error_free(results[i].err);
		results[i].err = NULL;
	}
}
