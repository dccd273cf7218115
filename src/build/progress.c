/*
 * progress.c — build progress in BuildKit's plain style:
 *
 *   #3 [2/4] COPY src/ /app/
 *   #3 MISS: src/main.c changed
 *   #3 DONE 0.1s
 *   #4 [3/4] RUN make
 *   #4 0.123 cc -o app main.c
 *   #4 DONE 0.4s
 *
 * In tty mode RUN output replaces itself on one live line per step.
 */
#include "build/build_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *pr, FILE *out, enum build_progress_mode mode)
{
	memset(pr, 0, sizeof(*pr));
	pthread_mutex_init(&pr->lock, NULL);
	pr->out = out;
	pr->next = 1;
	if (mode == BUILD_PROGRESS_AUTO)
		mode = isatty(fileno(out)) ? BUILD_PROGRESS_TTY : BUILD_PROGRESS_PLAIN;
	pr->mode = mode;
}

void progress_release(struct progress *pr)
{
	free(pr->t0);
	pthread_mutex_destroy(&pr->lock);
}

/* when vertex n started (stages may run in parallel: one clock per vertex) */
static double t0_of(const struct progress *pr, int n)
{
	return n >= 1 && (size_t)n <= pr->nt0 ? pr->t0[n - 1] : progress_now();
}

static bool quiet(const struct progress *pr)
{
	return pr->mode == BUILD_PROGRESS_QUIET || !pr->out;
}

static void clear_live(struct progress *pr)
{
	if (pr->tty_pending) {
		fputs("\r\033[K", pr->out);
		pr->tty_pending = false;
	}
}

/* "#N <message>" on its own line, under the lock. */
__attribute__((format(printf, 3, 0))) static void print_step_line(struct progress *pr, int n, const char *fmt,
								   va_list ap)
{
	clear_live(pr);
	fprintf(pr->out, "#%d ", n);
	vfprintf(pr->out, fmt, ap);
	fputc('\n', pr->out);
	fflush(pr->out);
}

int progress_start(struct progress *pr, const char *fmt, ...)
{
	pthread_mutex_lock(&pr->lock);
	int n = pr->next++;
	pr->t0 = xreallocarray(pr->t0, (size_t)n, sizeof(*pr->t0));
	pr->nt0 = (size_t)n;
	pr->t0[n - 1] = progress_now();
	if (!quiet(pr)) {
		va_list ap;
		va_start(ap, fmt);
		print_step_line(pr, n, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&pr->lock);
	return n;
}

void progress_line(struct progress *pr, int n, const char *fmt, ...)
{
	if (quiet(pr))
		return;
	pthread_mutex_lock(&pr->lock);
	va_list ap;
	va_start(ap, fmt);
	print_step_line(pr, n, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&pr->lock);
}

void progress_output(struct progress *pr, int n, const char *line, size_t len)
{
	if (quiet(pr))
		return;
	pthread_mutex_lock(&pr->lock);
	double t = progress_now() - t0_of(pr, n);
	if (pr->mode == BUILD_PROGRESS_TTY) {
		/* one live line, cut to a terminal's width */
		clear_live(pr);
		fprintf(pr->out, "#%d %.3f %.*s", n, t, (int)(len > 100 ? 100 : len), line);
		pr->tty_pending = true;
	} else {
		fprintf(pr->out, "#%d %.3f %.*s\n", n, t, (int)len, line);
	}
	fflush(pr->out);
	pthread_mutex_unlock(&pr->lock);
}

void progress_done(struct progress *pr, int n)
{
	pthread_mutex_lock(&pr->lock);
	double t = progress_now() - t0_of(pr, n);
	pthread_mutex_unlock(&pr->lock);
	progress_line(pr, n, "DONE %.1fs", t);
}

void progress_cached(struct progress *pr, int n)
{
	progress_line(pr, n, "CACHED");
}

void progress_error(struct progress *pr, int n, const char *msg)
{
	progress_line(pr, n, "ERROR: %s", msg);
}
