/*
 * buildremote.c — the build engine's hooks over the registry client, the
 * store and the remote cache (buildremote.h).
 */
#include "cli/buildremote.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "cli/progress.h"
#include "cli/regopts.h"
#include "cache/cache.h"
#include "registry/storexfer.h"
#include "registry/transfer.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

struct cli_build_remote {
	struct cli_build_remote_opts o;
	FILE *out;
	struct regclient *c;
	struct store *s;
	struct rcache_session *cache;
	struct build_hooks hooks;
	json_t *layers;          /* the final images' layers, one array per image
				  * (image_config: one per platform built) */
	struct regclient_opts defaults;
};

/*
 * A base image (FROM, COPY --from=image) missing from the store (or of
 * another platform). It is adopted lazily: manifest and config only (for
 * platform, or --platform, from an index), its layers noted as remote blobs
 * and fetched only when a step must run on top of them, so a fully cached
 * build on a fresh runner never downloads its base, whatever its platform.
 * The tag then names that platform's image (replacing another platform's, as
 * docker pull --platform does).
 */
static int hook_pull(void *ctx, const char *ref, const char *platform, struct strata_error **err)
{
	struct cli_build_remote *r = ctx;
	if (!platform)
		platform = r->o.platform;
	if (rcache_image_adopt_platform(r->c, r->s, ref, NULL, platform, err) < 0)
		return -1;
	fprintf(r->out, "resolved %s%s%s (manifest and config; layers fetched when needed)\n", ref,
		platform ? " for " : "", platform ? platform : "");
	return 0;
}

static int hook_lookup(void *ctx, const char *key, json_t **desc, struct oci_digest *diff_id)
{
	struct cli_build_remote *r = ctx;
	const struct rcache_entry *e = rcache_session_lookup(r->cache, key);
	/* sha256 or sha512, whole (a char[72] used to cut a sha512 diff_id) */
	if (!e || !e->desc || !e->diff_id || oci_digest_parse(e->diff_id, diff_id, NULL) < 0)
		return 0;
	*desc = json_deep_copy(e->desc);
	return 1;
}

static char *hook_explain(void *ctx, int stage, int pos, const json_t *inputs, bool parent_missed)
{
	struct cli_build_remote *r = ctx;
	if (!r->cache || !rcache_table_sources(rcache_session_table(r->cache)))
		return NULL;
	return rcache_session_explain(r->cache, stage, pos, inputs, parent_missed);
}

static void hook_add(void *ctx, const struct build_step_record *b)
{
	struct cli_build_remote *r = ctx;
	if (!r->cache)
		return;
	const struct rcache_entry *hit = b->remote_hit ? rcache_session_lookup(r->cache, b->key) : NULL;
	struct rcache_entry e = {
		.key = (char *)b->key,
		.layer = b->layer,
		.stage = b->stage,
		.pos = b->pos,
		.line = b->line,
		.insn = (char *)b->insn,
		.inputs = (json_t *)b->inputs,
		.desc = (json_t *)b->desc,
		.diff_id = (char *)b->diff_id,
		.sources_id = (char *)b->sources_id,
		.source = hit ? hit->source : NULL,
		.host = hit ? hit->host : NULL,
		.repo = hit ? hit->repo : NULL,
	};
	rcache_session_add(r->cache, &e);
}

static int hook_fetch(void *ctx, const char *key, const json_t *desc, struct strata_error **err)
{
	struct cli_build_remote *r = ctx;
	const struct rcache_entry *e = key ? rcache_session_lookup(r->cache, key) : NULL;
	const char *digest = json_string_value(json_object_get(desc, "digest"));
	int64_t size = (int64_t)json_integer_value(json_object_get(desc, "size"));
	return rcache_fetch_blob(r->c, r->s, digest, size, e ? e->host : NULL, e ? e->repo : NULL, err);
}

/* ADD <url>: the registry client's transport (--tls-ca, insecure hosts, retries) */
#define BUILD_FETCH_MAX ((uint64_t)16 << 30)
static int hook_fetch_url(void *ctx, const char *url, const struct strata_sink *sink, struct strata_error **err)
{
	struct cli_build_remote *r = ctx;
	return regclient_url_get(r->c, url, BUILD_FETCH_MAX, sink, err);
}

static json_t *hook_copy_sources(void *ctx, const char *sources_id)
{
	struct cli_build_remote *r = ctx;
	return rcache_session_copy_sources(r->cache, sources_id);
}

static int hook_config(void *ctx, json_t *config, const json_t *layers, struct strata_error **err)
{
	struct cli_build_remote *r = ctx;
	if (!r->layers)
		r->layers = json_array();
	json_array_append_new(r->layers, json_deep_copy(layers));
	return r->cache ? rcache_session_inline(r->cache, config, layers, err) : 0;
}

static uint64_t hook_bytes_down(void *ctx)
{
	struct cli_build_remote *r = ctx;
	struct regclient_stats st = { 0 };
	if (r->c)
		regclient_stats_get(r->c, &st);
	return st.bytes_down;
}

static time_t hook_created(void *ctx)
{
	struct cli_build_remote *r = ctx;
	return rcache_session_created(r->cache);
}

static void hook_cache_mount(void *ctx, const struct build_cache_mount *bm, char **line)
{
	struct cli_build_remote *r = ctx;
	struct rcache_mount m = {
		.id = (char *)bm->id,
		.target = (char *)bm->target,
		.sharing = (char *)bm->sharing,
		.uid = bm->uid,
		.gid = bm->gid,
		.mode = bm->mode,
	};
	rcache_session_mount_use(r->cache, &m, bm->dir, bm->runs, line);
}

int cli_build_remote_open(const struct cli_build_remote_opts *o, FILE *out, struct cli_build_remote **rp,
			  struct strata_error **err)
{
	struct cli_build_remote *r = xcalloc(1, sizeof(*r));
	r->o = *o;
	r->out = out;
	if (o->cache_to) {
		struct rcache_spec sp;
		if (rcache_spec_parse(o->cache_to, true, &sp, err) < 0)
			goto fail;
		rcache_spec_release(&sp);
	}
	if (cli_regclient_new(o->reg ? o->reg : &r->defaults, &r->c, err) < 0 || cli_store_open(&r->s, err) < 0)
		goto fail;
	if (rcache_session_open(r->c, r->s, o->cache_from, o->ncache_from,
				o->cache_platforms ? o->cache_platforms : o->platform, &r->cache, err) < 0)
		goto fail;
	size_t n = 0;
	const char *const *lines = rcache_session_lines(r->cache, &n);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\n", lines[i]);
	r->hooks = (struct build_hooks){
		.ctx = r,
		.pull_always = o->pull_always,
		.pull_image = hook_pull,
		.cache_lookup = hook_lookup,
		.cache_explain = hook_explain,
		.cache_add = hook_add,
		.fetch_layer = hook_fetch,
		.copy_sources = hook_copy_sources,
		.image_config = hook_config,
		.fetch_url = hook_fetch_url,
		.image_created = hook_created,
		.bytes_down = hook_bytes_down,
		.cache_mount = hook_cache_mount,
	};
	*rp = r;
	return 0;
fail:
	cli_build_remote_free(r);
	return -1;
}

const struct build_hooks *cli_build_remote_hooks(struct cli_build_remote *r)
{
	return &r->hooks;
}

/* upload progress: the bars of `strata push`, and the bytes into the event stream */
struct push_progress {
	struct regclient_progress bars;
	const struct build_listener *events;
	pthread_mutex_t lock;
};

static void push_update(void *ctx, const char *digest, uint64_t done, uint64_t total, const char *state)
{
	struct push_progress *p = ctx;
	p->bars.fn(p->bars.ctx, digest, done, total, state);
	if (p->events && p->events->event && !strcmp(state, "pushed")) {
		struct build_event ev = { .kind = BUILD_EV_BYTES, .text = digest, .pushed = total, .stage = -1 };
		pthread_mutex_lock(&p->lock);
		p->events->event(p->events->ctx, &ev);
		pthread_mutex_unlock(&p->lock);
	}
}

static int push_tags(struct cli_build_remote *r, const char *const *tags, size_t ntags, struct strata_error **err)
{
	struct cli_progress *bars = cli_progress_new(r->out, r->o.quiet);
	struct push_progress pp = { .bars = cli_progress_callback(bars), .events = r->o.events };
	pthread_mutex_init(&pp.lock, NULL);
	struct regclient_progress prog = { push_update, &pp };
	int rc = 0;
	for (size_t i = 0; i < ntags && rc == 0; i++) {
		struct rcache_push_result pr = { 0 };
		rc = rcache_push_image_progress(r->c, r->s, tags[i], tags[i], &prog, &pr, err);
		if (rc == 0)
			fprintf(r->out, "pushed %s: %zu blobs uploaded (%.1f MB), %zu mounted, %zu already there; digest %s\n",
				tags[i], pr.blobs_uploaded, (double)pr.bytes_uploaded / 1e6, pr.blobs_mounted,
				pr.blobs_present, pr.digest ? pr.digest : "?");
		rcache_push_result_release(&pr);
	}
	cli_progress_free(bars);
	pthread_mutex_destroy(&pp.lock);
	return rc;
}

int cli_build_remote_finish(struct cli_build_remote *r, const char *const *tags, size_t ntags,
			    struct strata_error **err)
{
	if (r->cache && rcache_session_note_remote(r->cache, err) < 0)
		return strata_error_wrap(err, "record cached layers");
	if (r->o.push && push_tags(r, tags, ntags, err) < 0)
		return -1;
	if (r->o.cache_to) {
		struct rcache_push_result pr = { 0 };
		struct strata_error *e = NULL;
		if (rcache_session_export(r->cache, r->o.cache_to, r->layers, &pr, &e) < 0) {
			cleanup_free char *m = strata_error_string(e);
			strata_error_free(e);
			fprintf(r->out, "warning: %s\n", m); /* it names --cache-to REF */
		} else {
			for (size_t i = 0; i < pr.n_notes; i++)
				fprintf(r->out, "%s\n", pr.notes[i]);
			fprintf(r->out, "exported cache to %s: %zu blobs %s, %zu mounted, %zu already there",
				r->o.cache_to, pr.blobs_uploaded, strstr(r->o.cache_to, "type=local") ? "written" : "uploaded",
				pr.blobs_mounted, pr.blobs_present);
			if (pr.mounts)
				fprintf(r->out, "; %zu cache mount%s, %" PRIu64 " mount bytes %s", pr.mounts,
					pr.mounts == 1 ? "" : "s", pr.mount_bytes_uploaded,
					strstr(r->o.cache_to, "type=local") ? "written" : "uploaded");
			fputc('\n', r->out);
		}
		rcache_push_result_release(&pr);
	}
	return 0;
}

void cli_build_remote_moved(struct cli_build_remote *r, struct cli_build_moved *m)
{
	struct regclient_stats st = { 0 };
	if (r->c)
		regclient_stats_get(r->c, &st);
	m->bytes_down = st.bytes_down;
	m->bytes_up = st.bytes_up;
	m->requests = st.requests;
}

void cli_build_remote_free(struct cli_build_remote *r)
{
	if (!r)
		return;
	rcache_session_free(r->cache);
	json_decref(r->layers);
	store_close(r->s);
	regclient_free(r->c);
	regclient_opts_release(&r->defaults);
	free(r);
}

/* the layers of one stored manifest d that are only in a registry; *fetched counts them */
static int fetch_manifest(struct store *s, const struct oci_digest *d, struct regclient **c, struct regclient_opts *ro,
			  const char *ref, FILE *out, int *fetched, struct strata_error **err)
{
	struct store_image img;
	int rc = -1;
	if (store_image_load(s, d, &img, err) < 0)
		return -1;
	for (size_t i = 0; i < img.manifest.n_layers; i++) {
		const struct oci_descriptor *l = &img.manifest.layers[i];
		if (store_blob_exists(s, &l->digest))
			continue;
		if (!*c && cli_regclient_new(ro, c, err) < 0)
			goto out;
		if (rcache_fetch_blob(*c, s, l->digest.str, l->size, NULL, NULL, err) < 0) {
			strata_error_wrap(err, "image '%s': fetch layer %s", ref, l->digest.str);
			goto out;
		}
		if (out)
			fprintf(out, "fetched layer %.19s (%.1f MB)\n", l->digest.str, (double)l->size / 1e6);
		(*fetched)++;
	}
	rc = 0;
out:
	store_image_release(&img);
	return rc;
}

struct fetch_children {
	struct store *s;
	struct regclient **c;
	struct regclient_opts *ro;
	const char *ref;
	FILE *out;
	int *fetched;
};

static int fetch_child(void *ctx, const struct oci_descriptor *child, enum store_child role, struct strata_error **err)
{
	struct fetch_children *f = ctx;
	if (role != STORE_CHILD_MANIFEST || !child->media_type || !oci_mt_is_manifest(child->media_type))
		return 0;
	return fetch_manifest(f->s, &child->digest, f->c, f->ro, f->ref, f->out, f->fetched, err);
}

int cli_fetch_remote_layers(const char *root, const char *ref, FILE *out, struct strata_error **err)
{
	strata_error_ensure(err);
	struct store *s = NULL;
	if (store_open(root, &s, err) < 0)
		return -1;
	struct store_entry ent = { 0 };
	struct regclient *c = NULL;
	struct regclient_opts ro;
	memset(&ro, 0, sizeof(ro));
	int fetched = 0, rc = 0;
	if (store_resolve(s, ref, &ent, err) < 0) {
		/* not in the store: the caller's own lookup reports it */
		rc = strata_error_code(*err) == STRATA_E_NOTFOUND ? 0 : -1;
		if (rc == 0)
			strata_error_clear(err);
	} else if (ent.media_type && oci_mt_is_index(ent.media_type)) {
		/* a multi-platform image: every platform's (run, save and -o need theirs) */
		struct fetch_children f = { s, &c, &ro, ref, out, &fetched };
		rc = store_manifest_children(s, &ent.digest, ent.media_type, fetch_child, &f, err);
	} else {
		rc = fetch_manifest(s, &ent.digest, &c, &ro, ref, out, &fetched, err);
	}
	regclient_free(c);
	regclient_opts_release(&ro);
	store_entry_release(&ent);
	store_close(s);
	return rc < 0 ? -1 : fetched;
}
