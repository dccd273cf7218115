/*
 * events.c — the recorder: a listener on the build's event stream that
 * keeps one record per vertex for the report (report.c) and other readers.
 */
#include "build/events.h"

#include <string.h>

static struct build_vertex *vertex(struct build_recorder *r, int id)
{
	if (id < 1)
		return NULL;
	for (size_t i = r->n; i-- > 0;)
		if (r->v[i].id == id)
			return &r->v[i];
	return NULL;
}

static void on_event(void *ctx, const struct build_event *ev)
{
	struct build_recorder *r = ctx;
	if (ev->t > r->wall)
		r->wall = ev->t;
	if (ev->kind == BUILD_EV_START) {
		r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
		struct build_vertex *v = &r->v[r->n++];
		memset(v, 0, sizeof(*v));
		v->id = ev->vertex;
		v->name = xstrdup(ev->text ? ev->text : "");
		v->stage = ev->stage;
		v->line = ev->line;
		v->start = ev->t;
		v->end = -1;
		v->status = BUILD_VERTEX_RUNNING;
		return;
	}
	struct build_vertex *v = vertex(r, ev->vertex);
	if (!v && ev->kind == BUILD_EV_BYTES && ev->text) {
		/* bytes of a layer (a push after the build): the step that made it */
		for (size_t i = 0; i < r->n && !v; i++)
			if (r->v[i].layer && !strcmp(r->v[i].layer, ev->text))
				v = &r->v[i];
	}
	if (!v)
		return;
	switch (ev->kind) {
	case BUILD_EV_CACHED:
		v->status = BUILD_VERTEX_CACHED;
		v->end = ev->t;
		break;
	case BUILD_EV_MISS:
		free(v->reason);
		v->reason = xstrdup(ev->text ? ev->text : "");
		break;
	case BUILD_EV_OUTPUT:
		v->output_lines++;
		break;
	case BUILD_EV_BYTES:
		v->pulled += ev->pulled;
		v->pushed += ev->pushed;
		break;
	case BUILD_EV_DONE:
		if (v->status != BUILD_VERTEX_CACHED)
			v->status = BUILD_VERTEX_DONE;
		v->end = ev->t;
		break;
	case BUILD_EV_ERROR:
		v->status = BUILD_VERTEX_ERROR;
		free(v->error);
		v->error = xstrdup(ev->text ? ev->text : "");
		v->end = ev->t;
		break;
	case BUILD_EV_LAYER:
		free(v->layer);
		v->layer = ev->text ? xstrdup(ev->text) : NULL;
		v->layer_size = ev->size;
		break;
	case BUILD_EV_START:
	case BUILD_EV_LINE:
		break;
	}
}

void build_recorder_init(struct build_recorder *r)
{
	memset(r, 0, sizeof(*r));
	r->started = time(NULL);
}

struct build_listener build_recorder_listener(struct build_recorder *r)
{
	return (struct build_listener){ on_event, r };
}

void build_recorder_event(struct build_recorder *r, const struct build_event *ev)
{
	on_event(r, ev);
}

void build_recorder_release(struct build_recorder *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].reason);
		free(r->v[i].error);
		free(r->v[i].layer);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
