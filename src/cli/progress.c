#include "cli/progress.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

struct entry {
	char id[20]; /* "sha256:" + 12 hex */
	uint64_t done, total;
	char state[16];
};

struct cli_progress {
	FILE *out;
	bool tty, quiet;
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
	size_t drawn; /* lines drawn last time (tty) */
	struct timespec last;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *buf, size_t n, uint64_t v)
{
	strata_format_bytes(v, buf, n);
}

static void draw(struct cli_progress *p)
{
	if (p->drawn)
		fprintf(p->out, "\033[%zuA", p->drawn);
	for (size_t i = 0; i < p->n; i++) {
		struct entry *e = &p->e[i];
		char d[32], t[32], bar[31];
		human(d, sizeof(d), e->done);
		human(t, sizeof(t), e->total);
		size_t fill = e->total ? (size_t)(30.0 * (double)e->done / (double)e->total) : 0;
		if (fill > 30)
			fill = 30;
		memset(bar, '=', fill);
		memset(bar + fill, ' ', 30 - fill);
		bar[30] = 0;
		fprintf(p->out, "\r\033[K%s %-11s [%s] %s / %s\n", e->id, e->state, bar, d, t);
	}
	p->drawn = p->n;
	fflush(p->out);
}

static void update(void *ctx, const char *digest, uint64_t done, uint64_t total, const char *state)
{
	struct cli_progress *p = ctx;
	if (p->quiet)
		return;
	pthread_mutex_lock(&p->lock);
	struct entry *e = NULL;
	for (size_t i = 0; i < p->n; i++)
		if (!strncmp(p->e[i].id, digest, sizeof(p->e[i].id) - 1))
			e = &p->e[i];
	if (!e) {
		p->e = xreallocarray(p->e, p->n + 1, sizeof(*p->e));
		e = &p->e[p->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "%s", digest);
	}
	bool changed = strcmp(e->state, state) != 0;
	e->done = done;
	e->total = total;
	snprintf(e->state, sizeof(e->state), "%s", state);
	if (p->tty) {
		double t = now_s();
		double l = (double)p->last.tv_sec + (double)p->last.tv_nsec / 1e9;
		if (changed || t - l >= 0.1) {
			draw(p);
			clock_gettime(CLOCK_MONOTONIC, &p->last);
		}
	} else if (changed && strcmp(state, "downloading") && strcmp(state, "uploading")) {
		char d[32];
		human(d, sizeof(d), total ? total : done);
		fprintf(p->out, "%s: %s (%s)\n", e->id, state, d);
		fflush(p->out);
	}
	pthread_mutex_unlock(&p->lock);
}

struct cli_progress *cli_progress_new(FILE *out, bool quiet)
{
	struct cli_progress *p = xcalloc(1, sizeof(*p));
	p->out = out;
	p->quiet = quiet;
	const char *term = getenv("TERM");
	p->tty = isatty(fileno(out)) && !(term && !strcmp(term, "dumb"));
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

struct regclient_progress cli_progress_callback(struct cli_progress *p)
{
	return (struct regclient_progress){ update, p };
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->tty && !p->quiet && p->n)
		draw(p);
	pthread_mutex_destroy(&p->lock);
	free(p->e);
	free(p);
}
