/*
 * progress.c — the build's event stream (events.h) and its terminal view,
 * in BuildKit's plain style:
 *
 *   #3 [2/4] COPY src/ /app/
 *   #3 MISS: src/main.c changed
 *   #3 DONE 0.1s
 *   #4 [3/4] RUN make
 *   #4 0.123 cc -o app main.c
 *   #4 DONE 0.4s
 *
 * On a terminal the same lines are printed (RUN output lines never
 * overwrite each other, so a failed step's output is all there, in the
 * order the step wrote it) and one live line at the bottom shows the
 * running steps with their elapsed time, redrawn four times a second.
 *
 * Every function here makes one event; the terminal view and the listener
 * (the report's recorder) both get it.
 */
#include "build/build_internal.h"

#include <errno.h>
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

/* the live line: the running vertices and their elapsed time (tty, locked) */
static void draw_live(struct progress *pr)
{
	clear_live(pr);
	double now = progress_now();
	char buf[160];
	size_t len = 0, shown = 0;
	for (size_t i = 0; i < pr->nv && len < 100; i++) {
		if (!pr->v[i].running)
			continue;
		int k = snprintf(buf + len, sizeof(buf) - len, "%s#%zu %.50s %.1fs", shown ? "  " : "", i + 1,
				 pr->v[i].name, now - pr->v[i].t0);
		if (k < 0 || (size_t)k >= sizeof(buf) - len)
			break;
		len += (size_t)k;
		shown++;
	}
	if (!shown)
		return;
	fputs(buf, pr->out);
	pr->tty_pending = true;
	fflush(pr->out);
}

static void *ticker(void *arg)
{
	struct progress *pr = arg;
	pthread_mutex_lock(&pr->lock);
	while (!pr->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		int r = pthread_cond_timedwait(&pr->wake, &pr->lock, &ts);
		if (r == ETIMEDOUT && !pr->stop)
			draw_live(pr);
	}
	pthread_mutex_unlock(&pr->lock);
	return NULL;
}

void progress_init(struct progress *pr, FILE *out, enum build_progress_mode mode, const struct build_listener *l)
{
	memset(pr, 0, sizeof(*pr));
	pthread_mutex_init(&pr->lock, NULL);
	pthread_cond_init(&pr->wake, NULL);
	pr->out = out;
	pr->origin = progress_now();
	if (l)
		pr->listener = *l;
	if (mode == BUILD_PROGRESS_AUTO) {
		const char *term = getenv("TERM");
		mode = out && isatty(fileno(out)) && !(term && !strcmp(term, "dumb")) ? BUILD_PROGRESS_TTY
										     : BUILD_PROGRESS_PLAIN;
	}
	pr->mode = mode;
	if (pr->mode == BUILD_PROGRESS_TTY && out)
		pr->ticking = pthread_create(&pr->tick, NULL, ticker, pr) == 0;
}

void progress_release(struct progress *pr)
{
	if (pr->ticking) {
		pthread_mutex_lock(&pr->lock);
		pr->stop = true;
		pthread_cond_signal(&pr->wake);
		pthread_mutex_unlock(&pr->lock);
		pthread_join(pr->tick, NULL);
		if (pr->out)
			clear_live(pr);
	}
	for (size_t i = 0; i < pr->nv; i++)
		free(pr->v[i].name);
	free(pr->v);
	pthread_cond_destroy(&pr->wake);
	pthread_mutex_destroy(&pr->lock);
}

static struct progress_vertex *pv(struct progress *pr, int n)
{
	return n >= 1 && (size_t)n <= pr->nv ? &pr->v[n - 1] : NULL;
}

/* "#N <text>" on its own line (locked) */
static void print_line(struct progress *pr, int n, const char *text, size_t len)
{
	if (quiet(pr))
		return;
	clear_live(pr);
	fprintf(pr->out, "#%d %.*s\n", n, (int)len, text);
	fflush(pr->out);
}

/* hand ev to the listener (locked) */
static void tell(struct progress *pr, struct build_event *ev)
{
	ev->t = progress_now() - pr->origin;
	if (pr->listener.event)
		pr->listener.event(pr->listener.ctx, ev);
}

int progress_start_step(struct progress *pr, int stage, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *name = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&pr->lock);
	pr->v = xreallocarray(pr->v, pr->nv + 1, sizeof(*pr->v));
	int n = (int)++pr->nv;
	pr->v[n - 1] = (struct progress_vertex){ .name = name, .t0 = progress_now(), .running = true };
	print_line(pr, n, name, strlen(name));
	struct build_event ev = { .kind = BUILD_EV_START, .vertex = n, .text = name, .len = strlen(name),
				  .stage = stage, .line = line };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
	return n;
}

int progress_start(struct progress *pr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *name = xvasprintf(fmt, ap);
	va_end(ap);
	return progress_start_step(pr, -1, 0, "%s", name);
}

/* a status line of kind k for vertex n; running: whether it is still running after */
static void status(struct progress *pr, int n, enum build_event_kind k, const char *text, bool running)
{
	pthread_mutex_lock(&pr->lock);
	print_line(pr, n, text, strlen(text));
	struct progress_vertex *v = pv(pr, n);
	if (v && !running)
		v->running = false;
	struct build_event ev = { .kind = k, .vertex = n, .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_line(struct progress *pr, int n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *text = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&pr->lock);
	print_line(pr, n, text, strlen(text));
	struct build_event ev = { .kind = BUILD_EV_LINE, .vertex = n, .text = text, .len = strlen(text), .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_miss(struct progress *pr, int n, const char *why)
{
	cleanup_free char *text = xasprintf("MISS: %s", why);
	pthread_mutex_lock(&pr->lock);
	print_line(pr, n, text, strlen(text));
	struct build_event ev = { .kind = BUILD_EV_MISS, .vertex = n, .text = why, .len = strlen(why), .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_output(struct progress *pr, int n, int stream, const char *line, size_t len)
{
	pthread_mutex_lock(&pr->lock);
	struct progress_vertex *v = pv(pr, n);
	double t = progress_now() - (v ? v->t0 : pr->origin);
	if (!quiet(pr)) {
		clear_live(pr);
		fprintf(pr->out, "#%d %.3f %.*s\n", n, t, (int)len, line);
		fflush(pr->out);
	}
	struct build_event ev = { .kind = BUILD_EV_OUTPUT, .vertex = n, .text = line, .len = len, .stream = stream,
				  .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_bytes(struct progress *pr, int n, const char *digest, uint64_t pulled, uint64_t pushed)
{
	pthread_mutex_lock(&pr->lock);
	struct build_event ev = { .kind = BUILD_EV_BYTES, .vertex = n, .text = digest, .pulled = pulled,
				  .pushed = pushed, .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_layer(struct progress *pr, int n, const char *digest, uint64_t size)
{
	pthread_mutex_lock(&pr->lock);
	struct build_event ev = { .kind = BUILD_EV_LAYER, .vertex = n, .text = digest, .size = size, .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_done(struct progress *pr, int n)
{
	pthread_mutex_lock(&pr->lock);
	struct progress_vertex *v = pv(pr, n);
	double t = progress_now() - (v ? v->t0 : pr->origin);
	pthread_mutex_unlock(&pr->lock);
	char text[64];
	snprintf(text, sizeof(text), "DONE %.1fs", t);
	status(pr, n, BUILD_EV_DONE, text, false);
}

void progress_cached(struct progress *pr, int n, const char *note)
{
	cleanup_free char *text = note ? xasprintf("CACHED (%s)", note) : xstrdup("CACHED");
	pthread_mutex_lock(&pr->lock);
	print_line(pr, n, text, strlen(text));
	struct progress_vertex *v = pv(pr, n);
	if (v)
		v->running = false;
	struct build_event ev = { .kind = BUILD_EV_CACHED, .vertex = n, .text = note, .len = note ? strlen(note) : 0,
				  .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}

void progress_error(struct progress *pr, int n, const char *msg)
{
	cleanup_free char *text = xasprintf("ERROR: %s", msg);
	pthread_mutex_lock(&pr->lock);
	print_line(pr, n, text, strlen(text));
	struct progress_vertex *v = pv(pr, n);
	if (v)
		v->running = false;
	struct build_event ev = { .kind = BUILD_EV_ERROR, .vertex = n, .text = msg, .len = strlen(msg), .stage = -1 };
	tell(pr, &ev);
	pthread_mutex_unlock(&pr->lock);
}
