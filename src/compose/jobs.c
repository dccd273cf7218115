/*
 * jobs.c — the project turned into build jobs, in an order the runner can
 * follow: a job waits for the services whose images its Dockerfile uses
 * (FROM, COPY --from, RUN --mount from=) or that its additional_contexts
 * name as "service:NAME". depends_on does not order builds (as in compose).
 */
#include "compose/internal.h"
#include "dockerfile/dockerfile.h"
#include "oci/reference.h"

#include <string.h>

static char *norm_ref(const char *s)
{
	struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(s, &r, NULL) < 0)
		return xstrdup(s);
	char *n = oci_ref_string(&r);
	oci_ref_release(&r);
	return n;
}

static void jobs_warn(struct compose_jobs *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jobs_warn(struct compose_jobs *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	j->warnings = xreallocarray(j->warnings, j->nwarnings + 1, sizeof(char *));
	j->warnings[j->nwarnings++] = m;
}

static void add_ref(char ***v, size_t *n, const char *ref)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = norm_ref(ref);
}

/*
 * The images the service's Dockerfile reads (normalised), for ordering.
 * A Dockerfile that cannot be read or parsed yields none (and a warning
 * when it exists but does not parse): the build itself reports it.
 */
static void dockerfile_images(const struct compose_service *s, struct compose_jobs *jobs, char ***out,
			      size_t *nout)
{
	const struct compose_build *b = s->build;
	struct dockerfile *df = NULL;
	struct dockerfile_build *db = NULL;
	struct dockerfile_buildargs ba = { 0 };
	struct strata_error *err = NULL;
	if (b->context_is_url)
		return;
	if (b->dockerfile_inline) {
		if (dockerfile_parse(b->dockerfile_inline, strlen(b->dockerfile_inline), "dockerfile_inline",
				     &df, &err) < 0)
			goto out;
	} else {
		if (!strata_path_exists(b->dockerfile))
			return;
		if (dockerfile_parse_file(b->dockerfile, b->dockerfile, &df, &err) < 0)
			goto out;
	}
	for (size_t i = 0; i < b->nargs; i++) {
		if (!b->args[i].value)
			continue;
		cleanup_free char *kv = xasprintf("%s=%s", b->args[i].key, b->args[i].value);
		if (dockerfile_buildargs_add(&ba, kv, &err) < 0)
			goto out;
	}
	struct dockerfile_options o = { .buildargs = &ba, .target = b->target };
	if (dockerfile_resolve(df, &o, &db, &err) < 0)
		goto out;
	for (size_t k = 0; k < db->nneeded; k++) {
		const struct dockerfile_stage *st = &db->stages[db->needed[k]];
		if (st->base_type == DF_BASE_IMAGE && st->base)
			add_ref(out, nout, st->base);
		for (size_t i = 0; i < st->nsteps; i++) {
			const struct dockerfile_step *step = st->steps[i];
			if (step->copy.from && step->copy.from_stage < 0)
				add_ref(out, nout, step->copy.from);
			for (size_t m = 0; m < step->nmounts; m++)
				if (step->mounts[m].from && step->mounts[m].from_stage < 0)
					add_ref(out, nout, step->mounts[m].from);
		}
	}
out:
	if (err) {
		char *m = strata_error_string(err);
		jobs_warn(jobs, "services.%s: cannot read the Dockerfile to order builds: %s", s->name, m);
		free(m);
		strata_error_free(err);
	}
	dockerfile_build_free(db);
	dockerfile_free(df);
	dockerfile_buildargs_release(&ba);
}

void compose_jobs_release(struct compose_jobs *jobs)
{
	for (size_t i = 0; i < jobs->n; i++) {
		compose_strv_free(jobs->v[i].tags, jobs->v[i].ntags);
		free(jobs->v[i].deps);
	}
	free(jobs->v);
	compose_strv_free(jobs->warnings, jobs->nwarnings);
	memset(jobs, 0, sizeof(*jobs));
}

struct node {
	const struct compose_service *s;
	char *image;            /* normalised */
	char *name;             /* as written (or compose's default) */
	size_t *deps;           /* indices into the service array */
	size_t ndeps;
	bool selected;
	int mark;               /* 0 new, 1 visiting, 2 done */
	size_t job;             /* index in the job list once placed */
};

static void add_dep(struct node *n, size_t d)
{
	for (size_t i = 0; i < n->ndeps; i++)
		if (n->deps[i] == d)
			return;
	n->deps = xreallocarray(n->deps, n->ndeps + 1, sizeof(size_t));
	n->deps[n->ndeps++] = d;
}

static int place(struct node *nodes, size_t i, size_t *stack, size_t depth,
		 const struct compose_plan_options *o, struct compose_jobs *out, struct strata_error **err)
{
	struct node *n = &nodes[i];
	if (n->mark == 2)
		return 0;
	if (n->mark == 1) {
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		size_t from = 0;
		while (from < depth && stack[from] != i)
			from++;
		for (size_t k = from; k < depth; k++)
			strata_buf_addf(&b, "%s -> ", nodes[stack[k]].s->name);
		strata_buf_adds(&b, n->s->name);
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "build dependency cycle between services: %s", b.data);
	}
	n->mark = 1;
	stack[depth] = i;
	for (size_t d = 0; d < n->ndeps; d++)
		if (place(nodes, n->deps[d], stack, depth + 1, o, out, err) < 0)
			return -1;
	n->mark = 2;
	struct compose_job *j = &out->v[out->n];
	n->job = out->n++;
	j->service = n->s;
	j->build = n->s->build;
	j->no_cache = n->s->build->no_cache || o->no_cache;
	j->pull = n->s->build->pull || o->pull;
	j->push = o->push;
	j->tags = xcalloc(n->s->build->ntags + 2, sizeof(char *));
	j->tags[j->ntags++] = xstrdup(n->name);
	for (size_t t = 0; t < n->s->build->ntags; t++) {
		bool dup = false;
		for (size_t u = 0; u < j->ntags; u++)
			dup |= !strcmp(j->tags[u], n->s->build->tags[t]);
		if (!dup)
			j->tags[j->ntags++] = xstrdup(n->s->build->tags[t]);
	}
	j->deps = xcalloc(n->ndeps + 1, sizeof(size_t));
	for (size_t d = 0; d < n->ndeps; d++)
		j->deps[j->ndeps++] = nodes[n->deps[d]].job;
	return 0;
}

int compose_jobs_plan(const struct compose_project *p, const struct compose_plan_options *o,
		      struct compose_jobs *out, struct strata_error **err)
{
	size_t n = p->nservices;
	struct node *nodes = xcalloc(n + 1, sizeof(*nodes));
	size_t *stack = NULL;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < o->nservices; i++) {
		const struct compose_service *s = compose_project_service(p, o->services[i]);
		if (!s) {
			strata_error_makec(err, STRATA_E_CONFIG, 0, "no such service: %s", o->services[i]);
			goto out;
		}
		nodes[s - p->services].selected = true;
	}
	for (size_t i = 0; i < n; i++) {
		const struct compose_service *s = &p->services[i];
		nodes[i].s = s;
		if (!o->nservices && compose_service_active(p, s))
			nodes[i].selected = true;
		cleanup_free char *img = compose_service_image(p, s);
		struct oci_ref r = OCI_REF_INIT;
		if (s->build && oci_ref_parse(img, &r, err) < 0) {
			strata_error_wrap(err, "%s:%d: services.%s: invalid image name", s->file, s->line, s->name);
			strata_error_set_code(err, STRATA_E_CONFIG);
			goto out;
		}
		oci_ref_release(&r);
		for (size_t t = 0; s->build && t < s->build->ntags; t++) {
			if (oci_ref_parse(s->build->tags[t], &r, err) < 0) {
				strata_error_wrap(err, "%s:%d: services.%s.build.tags", s->file, s->line, s->name);
				strata_error_set_code(err, STRATA_E_CONFIG);
				goto out;
			}
			oci_ref_release(&r);
		}
		nodes[i].image = norm_ref(img);
		nodes[i].name = STRATA_STEAL(img);
	}
	for (size_t i = 0; i < n; i++) {
		const struct compose_build *b = nodes[i].s->build;
		if (!b)
			continue;
		for (size_t c = 0; c < b->nadditional_contexts; c++) {
			const char *v = b->additional_contexts[c].value;
			if (strncmp(v, "service:", 8))
				continue;
			const struct compose_service *d = compose_project_service(p, v + 8);
			if (!d || !d->build) {
				strata_error_makec(err, STRATA_E_CONFIG, 0,
						   "%s:%d: services.%s.build.additional_contexts.%s: service '%s' %s",
						   nodes[i].s->file, nodes[i].s->line, nodes[i].s->name,
						   b->additional_contexts[c].key, v + 8,
						   d ? "has no build section" : "does not exist");
				goto out;
			}
			add_dep(&nodes[i], (size_t)(d - p->services));
		}
		char **imgs = NULL;
		size_t nimgs = 0;
		dockerfile_images(nodes[i].s, out, &imgs, &nimgs);
		for (size_t k = 0; k < nimgs; k++)
			for (size_t d = 0; d < n; d++)
				if (d != i && nodes[d].s->build && !strcmp(nodes[d].image, imgs[k]))
					add_dep(&nodes[i], d);
		compose_strv_free(imgs, nimgs);
	}
	/* dependencies of selected services are selected too */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++)
			for (size_t d = 0; nodes[i].selected && d < nodes[i].ndeps; d++)
				if (!nodes[nodes[i].deps[d]].selected)
					changed = nodes[nodes[i].deps[d]].selected = true;
	}
	out->v = xcalloc(n + 1, sizeof(*out->v));
	stack = xcalloc(n + 1, sizeof(*stack));
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].selected || !nodes[i].s->build)
			continue;
		if (place(nodes, i, stack, 0, o, out, err) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(nodes[i].image);
		free(nodes[i].name);
		free(nodes[i].deps);
	}
	free(nodes);
	free(stack);
	if (rc < 0)
		compose_jobs_release(out);
	return rc;
}

json_t *compose_job_to_json(const struct compose_jobs *jobs, size_t i)
{
	const struct compose_job *j = &jobs->v[i];
	const struct compose_build *b = j->build;
	json_t *o = json_object();
	json_object_set_new(o, "service", json_string(j->service->name));
	json_object_set_new(o, "context", json_string(b->context));
	if (b->dockerfile)
		json_object_set_new(o, "dockerfile", json_string(b->dockerfile));
	if (b->dockerfile_inline)
		json_object_set_new(o, "dockerfile_inline", json_string(b->dockerfile_inline));
	json_t *a = json_array();
	for (size_t k = 0; k < j->ntags; k++)
		json_array_append_new(a, json_string(j->tags[k]));
	json_object_set_new(o, "tags", a);
	json_t *args = json_object();
	for (size_t k = 0; k < b->nargs; k++)
		json_object_set_new(args, b->args[k].key, b->args[k].value ? json_string(b->args[k].value) : json_null());
	json_object_set_new(o, "args", args);
	json_object_set_new(o, "target", b->target ? json_string(b->target) : json_null());
	a = json_array();
	for (size_t k = 0; k < b->ncache_from; k++)
		json_array_append_new(a, json_string(b->cache_from[k]));
	json_object_set_new(o, "cache_from", a);
	a = json_array();
	for (size_t k = 0; k < b->ncache_to; k++)
		json_array_append_new(a, json_string(b->cache_to[k]));
	json_object_set_new(o, "cache_to", a);
	json_t *labels = json_object();
	for (size_t k = 0; k < b->nlabels; k++)
		json_object_set_new(labels, b->labels[k].key, json_string(b->labels[k].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "network", b->network ? json_string(b->network) : json_null());
	a = json_array();
	for (size_t k = 0; k < b->nsecrets; k++) {
		const struct compose_build_secret *s = &b->secrets[k];
		json_t *so = json_pack("{s:s}", "id", s->id);
		if (s->file)
			json_object_set_new(so, "file", json_string(s->file));
		if (s->env)
			json_object_set_new(so, "env", json_string(s->env));
		json_array_append_new(a, so);
	}
	json_object_set_new(o, "secrets", a);
	json_object_set_new(o, "no_cache", json_boolean(j->no_cache));
	json_object_set_new(o, "pull", json_boolean(j->pull));
	json_object_set_new(o, "push", json_boolean(j->push));
	a = json_array();
	for (size_t k = 0; k < j->ndeps; k++)
		json_array_append_new(a, json_string(jobs->v[j->deps[k]].service->name));
	json_object_set_new(o, "after", a);
	return o;
}
