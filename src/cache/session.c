/*
 * session.c — the engine's one handle on the remote cache for a build: the
 * imported table, the entries the build produced, the lines to print, and
 * what the build's end needs (inline cache, remote notes, export). See
 * cache.h.
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <pthread.h>
#include <string.h>

/* a cache mount a RUN of this build used */
struct used_mount {
	struct rcache_mount m; /* id, target, sharing, owner, mode */
	char *dir;             /* its directory (DIR/data, DIR/lock) */
	bool imported;         /* the import was tried (once per build) */
	bool ran;              /* a RUN ran with it (else only hits used it) */
};

struct rcache_session {
	struct regclient *c;       /* borrowed */
	struct store *s;           /* borrowed */
	struct rcache_table *t;
	struct rcache_record built; /* every layer step of this build, hits and misses */
	char **lines;
	size_t n_lines;
	struct regclient_stats moved;
	pthread_mutex_t mounts_lock; /* used and the imports: RUNs of parallel stages */
	struct used_mount *used;
	size_t n_used;
};

/* "app:latest" given twice (compose's cache_from and strata ci's own) is read once */
static bool ref_seen(const char *const *refs, size_t i)
{
	cleanup_ref struct oci_ref a = OCI_REF_INIT;
	if (oci_ref_parse(refs[i], &a, NULL) < 0)
		return false;
	cleanup_free char *sa = oci_ref_string(&a);
	for (size_t j = 0; j < i; j++) {
		cleanup_ref struct oci_ref b = OCI_REF_INIT;
		if (oci_ref_parse(refs[j], &b, NULL) < 0)
			continue;
		cleanup_free char *sb = oci_ref_string(&b);
		if (!strcmp(sa, sb))
			return true;
	}
	return false;
}

int rcache_session_open(struct regclient *c, struct store *s, const char *const *refs, size_t n,
			const char *platform, struct rcache_session **out, struct strata_error **err)
{
	struct rcache_session *x = xcalloc(1, sizeof(*x));
	x->c = c;
	x->s = s;
	x->t = rcache_table_new();
	pthread_mutex_init(&x->mounts_lock, NULL);
	for (size_t i = 0; i < n; i++) {
		if (ref_seen(refs, i))
			continue;
		struct rcache_import_result res;
		struct rcache_spec sp;
		if (rcache_spec_parse(refs[i], false, &sp, err) < 0) {
			rcache_session_free(x);
			return -1;
		}
		/* platform "A,B": an image source is imported once per platform (its
		 * index's manifest for each: a multi-platform build's inline cache) */
		cleanup_free char *plats = platform ? xstrdup(platform) : NULL;
		char *save = NULL, *one = plats ? strtok_r(plats, ",", &save) : NULL;
		int r = sp.type == RCACHE_SPEC_LOCAL ? rcache_layout_import(x->t, sp.ref, refs[i], &res)
						     : rcache_import(x->t, c, sp.ref, one, &res, err);
		while (r == 0 && plats && sp.type != RCACHE_SPEC_LOCAL && (one = strtok_r(NULL, ",", &save))) {
			struct rcache_import_result more;
			r = rcache_import(x->t, c, sp.ref, one, &more, err);
			if (r == 0 && !more.message)
				res.entries += more.entries;
			if (r == 0) {
				res.moved.requests += more.moved.requests;
				res.moved.bytes_down += more.moved.bytes_down;
				res.moved.blob_bytes_down += more.moved.blob_bytes_down;
			}
			rcache_import_result_release(&more);
		}
		rcache_spec_release(&sp);
		if (r < 0) {
			rcache_session_free(x);
			return -1;
		}
		x->lines = xreallocarray(x->lines, x->n_lines + 1, sizeof(*x->lines));
		if (res.message)
			x->lines[x->n_lines++] = STRATA_STEAL(res.message);
		else if (res.mounts)
			x->lines[x->n_lines++] = xasprintf("importing cache from %s: %s, %zu entries, %zu cache mount%s",
							   refs[i], res.kind, res.entries, res.mounts,
							   res.mounts == 1 ? "" : "s");
		else
			x->lines[x->n_lines++] = xasprintf("importing cache from %s: %s, %zu entries", refs[i],
							   res.kind, res.entries);
		x->moved.requests += res.moved.requests;
		x->moved.bytes_down += res.moved.bytes_down;
		x->moved.bytes_up += res.moved.bytes_up;
		x->moved.blob_bytes_down += res.moved.blob_bytes_down;
		rcache_import_result_release(&res);
	}
	*out = x;
	return 0;
}

void rcache_session_free(struct rcache_session *x)
{
	if (!x)
		return;
	rcache_table_free(x->t);
	rcache_record_release(&x->built);
	for (size_t i = 0; i < x->n_used; i++) {
		rcache_mount_release(&x->used[i].m);
		free(x->used[i].dir);
	}
	free(x->used);
	pthread_mutex_destroy(&x->mounts_lock);
	for (size_t i = 0; i < x->n_lines; i++)
		free(x->lines[i]);
	free(x->lines);
	free(x);
}

const char *const *rcache_session_lines(const struct rcache_session *x, size_t *n)
{
	*n = x ? x->n_lines : 0;
	return x ? (const char *const *)x->lines : NULL;
}

void rcache_session_moved(const struct rcache_session *x, struct regclient_stats *out)
{
	*out = x->moved;
}

const struct rcache_table *rcache_session_table(const struct rcache_session *x)
{
	return x->t;
}

const struct rcache_entry *rcache_session_lookup(const struct rcache_session *x, const char *key)
{
	return x ? rcache_table_lookup(x->t, key) : NULL;
}

json_t *rcache_session_copy_sources(const struct rcache_session *x, const char *sources_id)
{
	return x ? rcache_table_copy_sources(x->t, sources_id) : NULL;
}

char *rcache_session_explain(const struct rcache_session *x, int stage, int pos, const json_t *inputs,
			     bool parent_missed)
{
	return rcache_explain(x ? x->t : NULL, stage, pos, inputs, parent_missed);
}

void rcache_session_add(struct rcache_session *x, const struct rcache_entry *e)
{
	if (x)
		rcache_record_add(&x->built, e);
}

/* The built entries whose layer is the final image's layer at the same index. */
/* layers[i] is the layer want; layers may also be an array of images' layer
 * arrays (a multi-platform build): then in any of them */
static bool layer_is(const json_t *layers, int i, const char *want)
{
	if (json_is_array(json_array_get(layers, 0))) {
		size_t k;
		json_t *one;
		json_array_foreach((json_t *)layers, k, one) if (layer_is(one, i, want)) return true;
		return false;
	}
	const char *got = i >= 0 ? json_string_value(json_object_get(json_array_get(layers, (size_t)i), "digest"))
				 : NULL;
	return want && got && !strcmp(want, got);
}

static void in_image(const struct rcache_session *x, const json_t *layers, struct rcache_record *out)
{
	for (size_t i = 0; i < x->built.n; i++) {
		const struct rcache_entry *e = &x->built.v[i];
		const char *want = json_string_value(json_object_get(e->desc, "digest"));
		if (!layer_is(layers, e->layer, want))
			continue;
		bool dup = false;
		for (size_t k = 0; k < out->n; k++)
			dup = dup || !strcmp(out->v[k].key, e->key);
		if (!dup)
			rcache_record_add(out, e);
	}
}

time_t rcache_session_created(const struct rcache_session *x)
{
	if (!x || !x->built.n || !x->t)
		return 0;
	for (size_t i = 0; i < x->built.n; i++)
		if (!x->built.v[i].source)
			return 0; /* a step ran or was a local hit: the build's own time */
	/* every step came from the cache sources (an image and, with strata ci,
	 * its cache artifact, which has no time of its own): the newest image's */
	time_t t = 0;
	for (size_t i = 0; i < x->t->n_src; i++)
		if (x->t->src[i]->created > t)
			t = x->t->src[i]->created;
	return t;
}

int rcache_session_inline(struct rcache_session *x, json_t *config, const json_t *layers,
			  struct strata_error **err)
{
	if (!x)
		return 0;
	struct rcache_record r = { 0 };
	in_image(x, layers, &r);
	int ret = rcache_config_set(config, &r, err);
	rcache_record_release(&r);
	return ret;
}

int rcache_session_note_remote(struct rcache_session *x, struct strata_error **err)
{
	if (!x)
		return 0;
	struct rcache_record r = { 0 };
	for (size_t i = 0; i < x->built.n; i++) {
		const struct rcache_entry *e = &x->built.v[i];
		const char *dg = json_string_value(json_object_get(e->desc, "digest"));
		struct oci_digest d;
		if (!e->host || !e->repo || !dg || oci_digest_parse(dg, &d, NULL) < 0 || store_blob_exists(x->s, &d))
			continue;
		rcache_record_add(&r, e);
	}
	int ret = rcache_remote_note_entries(x->s, r.v, r.n, err);
	rcache_record_release(&r);
	return ret;
}

static void note(struct rcache_push_result *out, char *line)
{
	out->notes = xreallocarray(out->notes, out->n_notes + 1, sizeof(char *));
	out->notes[out->n_notes++] = line;
}

static void note_too_big(struct rcache_push_result *res, const struct rcache_mount *m, uint64_t max)
{
	note(res, xasprintf("note: --cache-to: cache mount %s (%s) not exported: %.1f MB, over max-mount-size (%.1f MB)",
			    m->id, m->target, (double)m->size / 1e6, (double)max / 1e6));
}

/*
 * The cache mounts to export: those RUNs of this build used (packed from
 * their directories), then the imported ones no RUN used (their blobs stay
 * where they are: HEAD or cross-repo mount at push), as the spec selects.
 */
static int export_mounts(struct rcache_session *x, const struct rcache_spec *sp, struct rcache_mount **out,
			 size_t *n, struct rcache_push_result *res, struct strata_error **err)
{
	struct rcache_mount *v = NULL;
	size_t nv = 0;
	bool any = false;
	size_t nt = 0;
	const struct rcache_mount *t = rcache_session_mounts(x, &nt);
	for (size_t i = 0; i < x->n_used; i++) {
		const struct used_mount *u = &x->used[i];
		any = true;
		if (!rcache_spec_wants_mount(sp, u->m.id))
			continue;
		bool imported = false;
		for (size_t k = 0; k < nt && !imported; k++)
			imported = !strcmp(t[k].id, u->m.id);
		if (!u->ran && imported)
			continue; /* only hits used it: the source's copy goes on (below) */
		struct rcache_mount m;
		rcache_mount_copy(&m, &u->m);
		const char *why = NULL;
		int r = rcache_mount_pack(x->s, u->dir, sp->max_mount_size, &m, &why, err);
		if (r < 0) {
			rcache_mount_release(&m);
			for (size_t k = 0; k < nv; k++)
				rcache_mount_release(&v[k]);
			free(v);
			return -1;
		}
		if (r == 0) {
			if (!strcmp(why, "over max-mount-size"))
				note_too_big(res, &m, sp->max_mount_size);
			rcache_mount_release(&m);
			continue;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv++] = m;
	}
	for (size_t i = 0; i < nt; i++) {
		bool used = false;
		for (size_t k = 0; k < x->n_used && !used; k++)
			used = x->used[k].ran && !strcmp(x->used[k].m.id, t[i].id);
		any = true;
		if (used || !rcache_spec_wants_mount(sp, t[i].id))
			continue;
		if (sp->max_mount_size && t[i].size > sp->max_mount_size) {
			note_too_big(res, &t[i], sp->max_mount_size);
			continue;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		rcache_mount_copy(&v[nv++], &t[i]);
	}
	if (any && sp->cache_mounts && !strcmp(sp->cache_mounts, "none"))
		note(res, xstrdup("note: --cache-to: cache mounts not exported (cache-mounts=none)"));
	*out = v;
	*n = nv;
	return 0;
}

const struct rcache_mount *rcache_session_mounts(const struct rcache_session *x, size_t *n)
{
	*n = x && x->t ? x->t->n_mounts : 0;
	return x && x->t ? x->t->mounts : NULL;
}

void rcache_session_mount_use(struct rcache_session *x, const struct rcache_mount *m, const char *dir, bool runs,
			      char **line)
{
	*line = NULL;
	if (!x)
		return;
	pthread_mutex_lock(&x->mounts_lock);
	struct used_mount *u = NULL;
	for (size_t i = 0; i < x->n_used && !u; i++)
		if (!strcmp(x->used[i].m.id, m->id))
			u = &x->used[i];
	if (!u) {
		x->used = xreallocarray(x->used, x->n_used + 1, sizeof(*x->used));
		u = &x->used[x->n_used++];
		memset(u, 0, sizeof(*u));
		rcache_mount_copy(&u->m, m);
		u->dir = xstrdup(dir);
	}
	if (runs)
		u->ran = true;
	if (runs && !u->imported) {
		u->imported = true;
		const struct rcache_mount *src = NULL;
		for (size_t i = 0; x->t && i < x->t->n_mounts && !src; i++)
			if (!strcmp(x->t->mounts[i].id, m->id))
				src = &x->t->mounts[i];
		struct strata_error *e = NULL;
		/* the directory gets the owner and mode this RUN asks for, never the source's */
		struct rcache_mount want = src ? *src : (struct rcache_mount){ 0 };
		want.uid = m->uid;
		want.gid = m->gid;
		want.mode = m->mode;
		if (src && rcache_mount_import(x->c, x->s, &want, dir, line, &e) < 0) {
			cleanup_free char *msg = strata_error_string(e);
			strata_error_free(e);
			free(*line);
			*line = xasprintf("warning: cache mount %s (%s): import from %s failed: %s", m->id, m->target,
					  src->source ? src->source : "?", msg);
		}
	}
	pthread_mutex_unlock(&x->mounts_lock);
}

int rcache_session_export(struct rcache_session *x, const char *spec, const json_t *layers,
			  struct rcache_push_result *out, struct strata_error **err)
{
	struct rcache_spec sp;
	if (rcache_spec_parse(spec, true, &sp, err) < 0)
		return -1;
	struct rcache_record r = { 0 };
	if (!sp.mode_max)
		in_image(x, layers, &r);
	const struct rcache_entry *v = sp.mode_max ? x->built.v : r.v;
	size_t n = sp.mode_max ? x->built.n : r.n;
	int ret = 0;
	memset(out, 0, sizeof(*out));
	struct rcache_mount *mounts = NULL;
	size_t nm = 0;
	if (sp.type != RCACHE_SPEC_INLINE)
		ret = export_mounts(x, &sp, &mounts, &nm, out, err);
	if (ret < 0)
		;
	else if (sp.type == RCACHE_SPEC_LOCAL)
		ret = rcache_layout_export_mounts(x->c, x->s, v, n, mounts, nm, sp.ref, out, err);
	else if (sp.type == RCACHE_SPEC_REGISTRY)
		ret = rcache_export_mounts(x->c, x->s, v, n, mounts, nm, sp.ref, out, err);
	for (size_t i = 0; i < nm; i++)
		rcache_mount_release(&mounts[i]);
	free(mounts);
	/* type=inline: the image's config carries the cache already */
	rcache_record_release(&r);
	rcache_spec_release(&sp);
	return ret;
}
