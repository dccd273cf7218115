/*
 * report.c — `strata build --report FILE.html|FILE.json`: the recorder's
 * vertices (events.c) as a file a CI job keeps. Nothing here looks at the
 * store or the cache: the page shows what the event stream said.
 *
 * The HTML page is self-contained (inline style, no script, no fetches):
 * one row per vertex, slowest first, each with a bar placed on the build's
 * timeline, its state (cached / run / error), a miss's reason and the bytes
 * it pulled and pushed. docs/build.md describes both formats.
 */
#include "build/events.h"

#include <stdlib.h>
#include <string.h>

/* seconds to the millisecond */
static double ms(double s)
{
	return (double)(long long)(s * 1000 + 0.5) / 1000;
}

static const char *status_word(const struct build_vertex *v)
{
	switch (v->status) {
	case BUILD_VERTEX_CACHED: return "cached";
	case BUILD_VERTEX_ERROR: return "error";
	case BUILD_VERTEX_RUNNING: return "unfinished";
	case BUILD_VERTEX_DONE: return v->layer ? "run" : "done"; /* a layer step that ran */
	}
	return "done";
}

static double duration(const struct build_vertex *v, double wall)
{
	double end = v->end >= 0 ? v->end : wall;
	return end > v->start ? end - v->start : 0;
}

static void human_bytes(char *buf, size_t n, uint64_t b)
{
	if (b == 0)
		snprintf(buf, n, "-");
	else
		strata_format_bytes(b, buf, n);
}

static void started_text(time_t t, char *buf, size_t n)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "?");
}

static char *to_json(const struct build_recorder *r, const char *title)
{
	json_t *steps = json_array();
	size_t cached = 0, run = 0;
	uint64_t pulled = 0, pushed = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct build_vertex *v = &r->v[i];
		json_t *o = json_pack("{s:i, s:s, s:s, s:f, s:f}", "id", v->id, "name", v->name, "status",
				      status_word(v), "start", ms(v->start), "duration",
				      ms(duration(v, r->wall)));
		if (v->stage >= 0) {
			json_object_set_new(o, "stage", json_integer(v->stage));
			json_object_set_new(o, "line", json_integer(v->line));
		}
		if (v->reason)
			json_object_set_new(o, "reason", json_string(v->reason));
		if (v->error)
			json_object_set_new(o, "error", json_string(v->error));
		if (v->layer) {
			json_object_set_new(o, "layer", json_string(v->layer));
			json_object_set_new(o, "layer_size", json_integer((json_int_t)v->layer_size));
		}
		json_object_set_new(o, "pulled", json_integer((json_int_t)v->pulled));
		json_object_set_new(o, "pushed", json_integer((json_int_t)v->pushed));
		json_object_set_new(o, "output_lines", json_integer((json_int_t)v->output_lines));
		json_array_append_new(steps, o);
		cached += v->status == BUILD_VERTEX_CACHED;
		run += v->status == BUILD_VERTEX_DONE && v->layer;
		pulled += v->pulled;
		pushed += v->pushed;
	}
	char started[32];
	started_text(r->started, started, sizeof(started));
	json_t *doc = json_pack("{s:s, s:s, s:f, s:{s:I, s:I, s:I, s:I}, s:o}", "title", title ? title : "",
				"started", started, "duration", ms(r->wall), "totals", "cached",
				(json_int_t)cached, "run", (json_int_t)run, "pulled", (json_int_t)pulled, "pushed",
				(json_int_t)pushed, "steps", steps);
	char *s = strata_json_dump_pretty(doc);
	json_decref(doc);
	return s;
}

static void esc(struct strata_buf *b, const char *s, size_t max)
{
	size_t n = 0;
	for (; *s && n < max; s++, n++) {
		switch (*s) {
		case '<': strata_buf_adds(b, "&lt;"); break;
		case '>': strata_buf_adds(b, "&gt;"); break;
		case '&': strata_buf_adds(b, "&amp;"); break;
		case '"': strata_buf_adds(b, "&quot;"); break;
		default: strata_buf_addch(b, *s);
		}
	}
	if (*s)
		strata_buf_adds(b, "&hellip;");
}

/* slowest first; ties in build order */
static int by_duration(const void *a, const void *b, void *ctx)
{
	const struct build_recorder *rec = ctx;
	const struct build_vertex *x = &rec->v[*(const size_t *)a], *y = &rec->v[*(const size_t *)b];
	double dx = duration(x, rec->wall), dy = duration(y, rec->wall);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
	"h1{font-size:1.3em;margin:0 0 .3em}p.sum{margin:0 0 1em;color:#555}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e4e4e4;vertical-align:top}"
	"th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}"
	"td.name{font-family:monospace;word-break:break-all}"
	".tl{position:relative;width:240px;height:12px;background:#f4f4f4}"
	".tl i{position:absolute;top:0;height:12px;min-width:2px}"
	"tr.cached i{background:#7fb3e6}tr.run i{background:#e69a3c}tr.error i{background:#d33}"
	"tr.done i,tr.unfinished i{background:#999}"
	"span.st{font-weight:600}tr.cached span.st{color:#2a6fb0}tr.run span.st{color:#b86210}"
	"tr.error span.st{color:#c00}.why{color:#666;font-size:.92em}";

static char *to_html(const struct build_recorder *r, const char *title)
{
	struct strata_buf b = STRATA_BUF_INIT;
	size_t cached = 0, run = 0, errors = 0;
	uint64_t pulled = 0, pushed = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct build_vertex *v = &r->v[i];
		cached += v->status == BUILD_VERTEX_CACHED;
		run += v->status == BUILD_VERTEX_DONE && v->layer;
		errors += v->status == BUILD_VERTEX_ERROR;
		pulled += v->pulled;
		pushed += v->pushed;
	}
	char started[32], pb[32], sb[32];
	started_text(r->started, started, sizeof(started));
	human_bytes(pb, sizeof(pb), pulled);
	human_bytes(sb, sizeof(sb), pushed);
	strata_buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			    "style-src 'unsafe-inline'\"><title>strata build report</title><style>");
	strata_buf_adds(&b, css);
	strata_buf_adds(&b, "</style></head><body>\n<h1>strata build report");
	if (title && *title) {
		strata_buf_adds(&b, ": ");
		esc(&b, title, 300);
	}
	strata_buf_addf(&b,
			"</h1>\n<p class=\"sum\">started %s &middot; %.1fs &middot; %zu step%s cached, %zu run"
			"%s%s &middot; pulled %s, pushed %s</p>\n",
			started, r->wall, cached, cached == 1 ? "" : "s", run, errors ? ", " : "",
			errors ? "failed" : "", pb, sb);
	strata_buf_adds(&b, "<table id=\"steps\"><thead><tr><th>#</th><th>step</th><th>state</th><th>time</th>"
			    "<th>timeline</th><th>pulled</th><th>pushed</th></tr></thead><tbody>\n");
	size_t *order = xcalloc(r->n ? r->n : 1, sizeof(*order));
	for (size_t i = 0; i < r->n; i++)
		order[i] = i;
	qsort_r(order, r->n, sizeof(*order), by_duration, (void *)r);
	double wall = r->wall > 0 ? r->wall : 1;
	for (size_t k = 0; k < r->n; k++) {
		const struct build_vertex *v = &r->v[order[k]];
		double d = duration(v, r->wall);
		const char *st = status_word(v);
		human_bytes(pb, sizeof(pb), v->pulled);
		human_bytes(sb, sizeof(sb), v->pushed);
		strata_buf_addf(&b, "<tr class=\"%s\" id=\"v%d\"><td class=\"n\">%d</td><td class=\"name\">", st, v->id,
				v->id);
		esc(&b, v->name, 200);
		strata_buf_addf(&b, "</td><td><span class=\"st\">%s</span>", st);
		if (v->reason || v->error) {
			strata_buf_adds(&b, "<div class=\"why\">");
			esc(&b, v->error ? v->error : v->reason, 300);
			strata_buf_adds(&b, "</div>");
		}
		strata_buf_addf(&b,
				"</td><td class=\"n\">%.2fs</td><td><div class=\"tl\"><i style=\"left:%.1f%%;"
				"width:%.1f%%\"></i></div></td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
				d, 100.0 * v->start / wall, 100.0 * d / wall, pb, sb);
	}
	free(order);
	strata_buf_adds(&b, "</tbody></table>\n</body></html>\n");
	return strata_buf_detach(&b, NULL);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcmp(s + n - m, suffix);
}

bool build_report_path_ok(const char *path)
{
	return path && (ends_with(path, ".html") || ends_with(path, ".htm") || ends_with(path, ".json"));
}

int build_report_write(const struct build_recorder *r, const char *path, const char *title,
		       struct strata_error **err)
{
	if (!build_report_path_ok(path))
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "--report '%s': the file name must end in .html or .json", path);
	char *text = ends_with(path, ".json") ? to_json(r, title) : to_html(r, title);
	int rc = strata_atomic_write(path, text, strlen(text), 0644, err);
	free(text);
	if (rc < 0)
		return strata_error_wrap(err, "write report '%s'", path);
	return 0;
}
