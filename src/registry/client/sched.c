/*
 * sched.c — the transfer scheduler: a small pool of threads, each running
 * blocking transfers on its own easy handle; the client's share handle lets
 * them reuse connections. Chosen over curl multi because the per-blob work
 * (hashing, sink writes into the store, resume/retry logic) is sequential
 * code that reads naturally as blocking calls, and a few threads spread the
 * hashing over the cores.
 */
#include "registry/client/internal.h"

#include <stdatomic.h>

struct pool {
	size_t n;
	int (*job)(void *ctx, size_t i, struct strata_error **err);
	void *ctx;
	atomic_size_t next;
	atomic_bool failed;
	pthread_mutex_t lock;
	struct strata_error *first;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		if (atomic_load(&p->failed))
			break;
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		struct strata_error *e = NULL;
		if (p->job(p->ctx, i, &e) < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->first) {
				p->first = e ? e : xcalloc(1, sizeof(*e));
				if (!e)
					p->first->msg = xstrdup("transfer failed");
				e = NULL;
			}
			pthread_mutex_unlock(&p->lock);
			atomic_store(&p->failed, true);
		}
		strata_error_free(e);
	}
	return NULL;
}

int regclient_run_parallel(size_t n, int parallel, int (*job)(void *ctx, size_t i, struct strata_error **err),
			   void *ctx, struct strata_error **err)
{
	if (parallel <= 0)
		parallel = 4;
	if ((size_t)parallel > n)
		parallel = (int)n;
	struct pool p = { .n = n, .job = job, .ctx = ctx };
	atomic_init(&p.next, 0);
	atomic_init(&p.failed, false);
	pthread_mutex_init(&p.lock, NULL);
	if (parallel <= 1) {
		worker(&p);
	} else {
		pthread_t *t = xcalloc((size_t)parallel, sizeof(*t));
		int started = 0;
		for (int i = 0; i < parallel; i++) {
			if (pthread_create(&t[i], NULL, worker, &p) != 0)
				break;
			started++;
		}
		if (!started)
			worker(&p);
		for (int i = 0; i < started; i++)
			pthread_join(t[i], NULL);
		free(t);
	}
	pthread_mutex_destroy(&p.lock);
	if (p.first) {
		if (err) {
			if (*err)
				strata_error_free(*err);
			*err = p.first;
		} else {
			strata_error_free(p.first);
		}
		return -1;
	}
	return 0;
}
