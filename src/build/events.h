/*
 * events.h — the build's one event stream (docs/internals/build.md, "Events").
 *
 * Every vertex of a build ("#3 [2/4] COPY src/ /app/", "[internal] pull
 * busybox", "pushing app:1") is told as a sequence of events: START, then
 * CACHED or MISS, LINE / OUTPUT, BYTES, and DONE or ERROR. The terminal view
 * (progress.c), the --report page (report.c) and any other consumer read
 * the same events; none re-derives what the engine already said.
 *
 * A listener gets each event once, in order for one vertex, under a lock
 * (several stages may run at once): it must not call back into the stream.
 * The strings of an event are borrowed for the call.
 */
#ifndef STRATA_BUILD_EVENTS_H
#define STRATA_BUILD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util/util.h"

enum build_event_kind {
	BUILD_EV_START,  /* text: the vertex's name; stage/step/total set for Dockerfile steps */
	BUILD_EV_CACHED, /* text: NULL, or a note ("linked layer reused") */
	BUILD_EV_MISS,   /* text: why the cache missed */
	BUILD_EV_LINE,   /* text: a status line ("writing image ... done") */
	BUILD_EV_OUTPUT, /* text/len: one line a RUN printed; stream 1 or 2 */
	BUILD_EV_BYTES,  /* pulled / pushed: bytes moved for this vertex (adds up); vertex 0
			    with text = a layer digest: for the step that made that layer */
	BUILD_EV_LAYER,  /* text: the digest of the layer the step made or reused; size */
	BUILD_EV_DONE,
	BUILD_EV_ERROR,  /* text: the error */
};

struct build_event {
	enum build_event_kind kind;
	int vertex;       /* 1, 2, ... in START order */
	double t;         /* seconds since the stream began */
	const char *text;
	size_t len;       /* OUTPUT: bytes of text */
	int stream;       /* OUTPUT: 1 (a RUN's stdout and stderr share one pipe: order kept) */
	int stage;        /* START of a Dockerfile step: its stage index, else -1 */
	int line;         /* START of a Dockerfile step: its Dockerfile line, else 0 */
	uint64_t pulled;  /* BYTES */
	uint64_t pushed;  /* BYTES */
	uint64_t size;    /* LAYER: the layer blob's size */
};

struct build_listener {
	void (*event)(void *ctx, const struct build_event *ev);
	void *ctx;
};

/* ------------------------------------------------------------------------- */
/* A recorder: the listener that keeps a build's vertices for after the build */

struct build_vertex {
	int id;
	char *name;
	int stage, line;      /* -1 / 0 when not a Dockerfile step */
	double start, end;    /* seconds since the build began; end < 0: never finished */
	enum { BUILD_VERTEX_RUNNING, BUILD_VERTEX_DONE, BUILD_VERTEX_CACHED, BUILD_VERTEX_ERROR } status;
	char *reason;         /* MISS reason, or NULL */
	char *error;          /* ERROR text, or NULL */
	uint64_t pulled, pushed;
	char *layer;          /* the layer digest it made or reused, or NULL */
	uint64_t layer_size;
	size_t output_lines;
};

struct build_recorder {
	struct build_vertex *v;
	size_t n;
	double wall;          /* the last event's time */
	time_t started;       /* wall-clock start (for the report's header) */
};

/* An empty recorder and the listener that fills it. */
void build_recorder_init(struct build_recorder *r);
struct build_listener build_recorder_listener(struct build_recorder *r);
/* Record one event told outside a build (the push after it); not thread-safe. */
void build_recorder_event(struct build_recorder *r, const struct build_event *ev);
void build_recorder_release(struct build_recorder *r);

/*
 * Write the recorder as a report: "FILE.json" (the vertices as JSON,
 * docs/build.md) or "FILE.html" (a self-contained page: no script, style
 * and data inline, nothing fetched). Chosen by the suffix; anything else is
 * STRATA_E_USAGE. Written atomically. title: shown at the top (the image,
 * the command).
 */
int build_report_write(const struct build_recorder *r, const char *path, const char *title,
		       struct strata_error **err);
/* true if path names a report format build_report_write knows */
bool build_report_path_ok(const char *path);

#endif
