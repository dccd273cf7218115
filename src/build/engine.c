/*
 * engine.c — build_run: the Dockerfile, the context and the stages; the
 * per-step cache protocol; metadata instructions; the final image.
 */
#include "build/build_internal.h"
#include "build/sandbox.h"
#include "oci/config.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *engine_snapshot_path(struct engine *e, const char *id)
{
	return xasprintf("%s/%s", e->snapdir, id);
}

char *engine_tmpdir(struct engine *e, const char *prefix, struct strata_error **err)
{
	pthread_mutex_lock(&e->lock);
	size_t seq = e->tmpseq++;
	pthread_mutex_unlock(&e->lock);
	char *p = xasprintf("%s/%s%zu", e->tmp, prefix, seq);
	if (mkdir(p, 0700) < 0) {
		strata_error_make(err, errno, "mkdir '%s'", p);
		free(p);
		return NULL;
	}
	return p;
}

void engine_keep_tree(struct engine *e, struct build_context *tree)
{
	pthread_mutex_lock(&e->lock);
	e->trees = xreallocarray(e->trees, e->ntrees + 1, sizeof(*e->trees));
	e->trees[e->ntrees++] = tree;
	pthread_mutex_unlock(&e->lock);
}

void engine_umount(struct engine *e, const char *target)
{
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nmounted; i++) {
		if (e->mounted[i] && !strcmp(e->mounted[i], target)) {
			sandbox_view_unmount(target);
			free(e->mounted[i]);
			e->mounted[i] = NULL;
		}
	}
	pthread_mutex_unlock(&e->lock);
}

static void once_begin(struct engine *e, const char *id);
static void once_end(struct engine *e, const char *id);

/* e->remote: the index of the layer whose diff_id has the encoded part hex, or -1; under xlock */
static ssize_t remote_find(struct engine *e, const char *hex)
{
	for (size_t i = 0; i < e->nremote; i++)
		if (!strcmp(e->remote[i].layer.diff_id.hex, hex))
			return (ssize_t)i;
	return -1;
}

/* a layer that is only in a registry (key: of a remote hit, or NULL); the first record of a diff_id stays */
static void remote_add(struct engine *e, const struct build_layer *l, const struct oci_digest *key)
{
	pthread_mutex_lock(&e->xlock);
	if (remote_find(e, l->diff_id.hex) < 0) {
		e->remote = xreallocarray(e->remote, e->nremote + 1, sizeof(*e->remote));
		struct engine_remote *r = &e->remote[e->nremote++];
		build_layer_copy(&r->layer, l);
		memset(&r->key, 0, sizeof(r->key));
		if (key)
			r->key = *key;
	}
	pthread_mutex_unlock(&e->xlock);
}

bool engine_chain_remote(struct engine *e, const struct build_layers *chain)
{
	bool remote = false;
	pthread_mutex_lock(&e->xlock);
	for (size_t i = 0; i < chain->n && !remote; i++)
		remote = remote_find(e, chain->v[i].diff_id.hex) >= 0;
	pthread_mutex_unlock(&e->xlock);
	return remote;
}

/*
 * A layer that lives only in a registry (a remote cache hit, or a layer of a
 * base image pulled lazily) is extracted only when a step runs on top of it
 * (or a stage is read): fetch its blob through the hooks, then extract it.
 * r: a copy of its e->remote entry.
 */
static int snapshot_fetch(struct engine *e, const struct engine_remote *r, struct strata_error **err)
{
	strata_error_ensure(err);
	const struct build_hooks *h = e->o->hooks;
	const struct build_layer *l = &r->layer;
	if (!store_blob_exists(e->store, &l->digest)) {
		if (!h || !h->fetch_layer)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "layer %s is not in the store", l->digest.str);
		int v = progress_start(&e->pr, "[internal] fetch layer %.19s", l->digest.str);
		cleanup_json json_t *desc = build_layer_desc(l);
		if (h->fetch_layer(h->ctx, r->key.str[0] ? r->key.str : NULL, desc, err) < 0) {
			cleanup_free char *m = strata_error_string(*err);
			progress_error(&e->pr, v, m);
			return strata_error_wrap(err, "fetch cached layer %s", l->digest.str);
		}
		progress_bytes(&e->pr, v, l->digest.str, (uint64_t)l->size, 0);
		progress_done(&e->pr, v);
	}
	return snapshot_ensure(e->store, e->root, l, err);
}

/*
 * e->remote is shared by parallel stages (read and changed under e->xlock,
 * never the engine lock: a thread holding the engine lock may wait here);
 * the download and the extraction run without any lock, once per id: two
 * stages needing different layers fetch them at the same time, a second
 * one needing the same layer waits for the first.
 */
int engine_snapshot_fetch(struct engine *e, const char *id, struct strata_error **err)
{
	if (!id)
		return 0;
	once_begin(e, id);
	struct engine_remote r;
	pthread_mutex_lock(&e->xlock);
	ssize_t i = remote_find(e, id);
	if (i >= 0) {
		r = e->remote[i];
		build_layer_copy(&r.layer, &e->remote[i].layer);
	}
	pthread_mutex_unlock(&e->xlock);
	int rc = i >= 0 ? snapshot_fetch(e, &r, err) : 0;
	if (i >= 0) {
		if (rc == 0) {
			pthread_mutex_lock(&e->xlock);
			ssize_t k = remote_find(e, id);
			if (k >= 0) {
				build_layer_release(&e->remote[k].layer);
				memmove(&e->remote[k], &e->remote[k + 1], (e->nremote - (size_t)k - 1) * sizeof(*e->remote));
				e->nremote--;
			}
			pthread_mutex_unlock(&e->xlock);
		}
		build_layer_release(&r.layer);
	}
	once_end(e, id);
	return rc;
}

int engine_snapshots_fetch(struct engine *e, const struct build_layers *chain, struct strata_error **err)
{
	for (size_t i = 0; i < chain->n; i++)
		if (engine_snapshot_fetch(e, build_layer_snapshot_id(&chain->v[i]), err) < 0)
			return -1;
	return 0;
}

/*
 * Mount an overlay of the snapshot chain (top first) at target: writable
 * with upper/work, read-only without. An empty dir is always the bottom
 * lower, so there are at least two lowers and whiteouts are honoured.
 */
int engine_mount_overlay(struct engine *e, const struct build_layers *snapshots, const char *upper, const char *work,
			 const char *target, struct strata_error **err)
{
	size_t n = snapshots->n, nl = 0;
	if (engine_snapshots_fetch(e, snapshots, err) < 0)
		return -1;
	char **chain = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		chain[i] = engine_snapshot_path(e, build_layer_snapshot_id(&snapshots->v[i]));
	char **lowers = snapshot_lowers((const char *const *)chain, n, &nl);
	for (size_t i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	lowers = xreallocarray(lowers, nl + 1, sizeof(char *));
	lowers[nl++] = xstrdup(e->empty);
	int rc = sandbox_view_mount((const char *const *)lowers, nl, upper, work, target, err);
	for (size_t i = 0; i < nl; i++)
		free(lowers[i]);
	free(lowers);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	e->mounted = xreallocarray(e->mounted, e->nmounted + 1, sizeof(*e->mounted));
	e->mounted[e->nmounted++] = xstrdup(target);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* a read-only view of a built stage, scanned as a source tree (lazily, once) */
int engine_stage_tree(struct engine *e, size_t stage, struct build_context **tree, const char **rootfs,
		      struct strata_error **err)
{
	struct stage_state *s = &e->st[stage];
	int rc = 0;
	pthread_mutex_lock(&e->lock);
	if (!s->tree) {
		cleanup_free char *d = engine_tmpdir(e, "stage-", err);
		if (!d || engine_mount_overlay(e, &s->layers, NULL, NULL, d, err) < 0 ||
		    build_context_open(d, NULL, NULL, &s->tree, err) < 0)
			rc = -1;
		else
			s->rootfs = STRATA_STEAL(d);
	}
	*tree = s->tree;
	*rootfs = s->rootfs;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static json_t *new_image(const struct dockerfile_platform *p)
{
	json_t *img = json_pack("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", p->arch, "os", p->os, "config",
				"rootfs", "type", "layers", "diff_ids", "history");
	if (p->variant[0])
		json_object_set_new(img, "variant", json_string(p->variant));
	return img;
}

static char **strv_from_json(const json_t *a)
{
	char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
	size_t i, n = 0;
	json_t *x;
	json_array_foreach((json_t *)a, i, x) if (json_is_string(x)) v[n++] = xstrdup(json_string_value(x));
	return v;
}

static char **strv_copy(const char *const *s)
{
	size_t n = 0;
	while (s && s[n])
		n++;
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(s[i]);
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static json_t *cmd_json(const struct dockerfile_command *c)
{
	json_t *a = json_array();
	if (c->exec_form) {
		for (size_t i = 0; i < c->argc; i++)
			json_array_append_new(a, strata_json_text(c->argv[i]));
	} else {
		for (size_t i = 0; i < c->shell_argc; i++)
			json_array_append_new(a, strata_json_text(c->shell_argv[i]));
		json_array_append_new(a, strata_json_text(c->shell));
	}
	return a;
}

/*
 * The base image's history, with an entry for each of its layers it does
 * not describe: history is optional in OCI, but an image whose history
 * describes fewer layers than rootfs.diff_ids has is invalid once strata adds
 * its own entries (the BuildKit fix: missing entries go first).
 */
static json_t *base_history(const json_t *config)
{
	json_t *h = json_object_get(config, "history");
	h = json_is_array(h) ? json_deep_copy(h) : json_array();
	size_t described = 0, i;
	json_t *ent;
	json_array_foreach(h, i, ent)
		described += !json_is_true(json_object_get(ent, "empty_layer"));
	size_t layers = json_array_size(json_object_get(json_object_get(config, "rootfs"), "diff_ids"));
	for (size_t k = described; k < layers; k++)
		json_array_insert_new(h, 0, json_pack("{s:s}", "comment", "base layer without history"));
	return h;
}

static void history_add(const struct engine *e, struct stage_state *s, const char *created_by, bool empty)
{
	json_t *h = json_object_get(s->image, "history");
	json_t *ent = json_pack("{s:o}", "created_by", strata_json_text(created_by));
	if (e->o->source_date_epoch_set) {
		char ts[64];
		oci_time_format((time_t)e->o->source_date_epoch, ts, sizeof(ts));
		json_object_set_new(ent, "created", json_string(ts));
	}
	if (empty)
		json_object_set_new(ent, "empty_layer", json_true());
	json_array_append_new(h, ent);
}

static json_t *obj_member(json_t *cfg, const char *k)
{
	json_t *o = json_object_get(cfg, k);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, k, o);
	}
	return o;
}

/* "8000-8002/tcp" (the frontend keeps ranges) -> 8000/tcp, 8001/tcp, 8002/tcp, as docker */
static void expose_port(json_t *ports, const char *word)
{
	unsigned long lo, hi;
	char proto[16];
	if (sscanf(word, "%lu-%lu/%15s", &lo, &hi, proto) != 3 || hi < lo || hi > 65535) {
		strata_json_set_text(ports, word, json_object());
		return;
	}
	for (unsigned long p = lo; p <= hi; p++) {
		char k[32];
		snprintf(k, sizeof(k), "%lu/%s", p, proto);
		json_object_set_new(ports, k, json_object());
	}
}

/* metadata instructions: the config changes, no layer */
static int apply_metadata(struct engine *e, struct stage_state *s, const struct dockerfile_step *st,
			  bool *cmd_set, struct strata_error **err)
{
	json_t *cfg = json_object_get(s->image, "config");
	switch (st->kind) {
	case DF_CMD:
		json_object_set_new(cfg, "Cmd", cmd_json(&st->cmd));
		*cmd_set = true;
		break;
	case DF_ENTRYPOINT:
		json_object_set_new(cfg, "Entrypoint", cmd_json(&st->cmd));
		/* docker: an ENTRYPOINT resets a CMD inherited from the base */
		if (!*cmd_set)
			json_object_del(cfg, "Cmd");
		break;
	case DF_LABEL:
		for (size_t i = 0; i < st->nkvs; i++)
			strata_json_set_text(obj_member(cfg, "Labels"), st->kvs[i].name, strata_json_text(st->kvs[i].value));
		break;
	case DF_MAINTAINER:
		json_object_set_new(s->image, "author", strata_json_text(st->value));
		break;
	case DF_EXPOSE:
		for (size_t i = 0; i < st->nwords; i++)
			expose_port(obj_member(cfg, "ExposedPorts"), st->words[i]);
		break;
	case DF_VOLUME:
		for (size_t i = 0; i < st->nwords; i++)
			strata_json_set_text(obj_member(cfg, "Volumes"), st->words[i], json_object());
		break;
	case DF_USER:
		json_object_set_new(cfg, "User", strata_json_text(st->value));
		break;
	case DF_WORKDIR: {
		const char *cur = json_string_value(json_object_get(cfg, "WorkingDir"));
		cleanup_free char *w = st->value[0] == '/' ? xstrdup(st->value)
							   : xasprintf("%s/%s", cur && *cur ? cur : "", st->value);
		/* clean: collapse "//", "/./" and a trailing "/" */
		struct strata_buf b = STRATA_BUF_INIT;
		char *save = NULL;
		for (char *c = strtok_r(w, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			if (!strcmp(c, "."))
				continue;
			if (!strcmp(c, "..")) {
				char *sl = strrchr(b.data, '/');
				strata_buf_truncate(&b, sl ? (size_t)(sl - b.data) : 0);
				continue;
			}
			strata_buf_addf(&b, "/%s", c);
		}
		if (!b.len)
			strata_buf_addch(&b, '/');
		json_object_set_new(cfg, "WorkingDir", strata_json_text(b.data));
		strata_buf_release(&b);
		break;
	}
	case DF_STOPSIGNAL:
		json_object_set_new(cfg, "StopSignal", strata_json_text(st->value));
		break;
	case DF_SHELL: {
		json_t *a = json_array();
		for (size_t i = 0; i < st->nwords; i++)
			json_array_append_new(a, strata_json_text(st->words[i]));
		json_object_set_new(cfg, "Shell", a);
		s->shell_set = true;
		break;
	}
	case DF_HEALTHCHECK: {
		const struct dockerfile_healthcheck *h = &st->health;
		json_t *hc = json_object();
		if (h->none) {
			json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
		} else {
			json_t *t = json_array();
			if (h->cmd.exec_form) {
				json_array_append_new(t, json_string("CMD"));
				for (size_t i = 0; i < h->cmd.argc; i++)
					json_array_append_new(t, strata_json_text(h->cmd.argv[i]));
			} else {
				json_array_append_new(t, json_string("CMD-SHELL"));
				json_array_append_new(t, strata_json_text(h->cmd.shell));
			}
			json_object_set_new(hc, "Test", t);
			if (h->interval)
				json_object_set_new(hc, "Interval", json_integer(h->interval));
			if (h->timeout)
				json_object_set_new(hc, "Timeout", json_integer(h->timeout));
			if (h->start_period)
				json_object_set_new(hc, "StartPeriod", json_integer(h->start_period));
			if (h->start_interval)
				json_object_set_new(hc, "StartInterval", json_integer(h->start_interval));
			if (h->retries >= 0)
				json_object_set_new(hc, "Retries", json_integer(h->retries));
		}
		json_object_set_new(cfg, "Healthcheck", hc);
		break;
	}
	case DF_ONBUILD: {
		json_t *a = json_object_get(cfg, "OnBuild");
		if (!json_is_array(a)) {
			a = json_array();
			json_object_set_new(cfg, "OnBuild", a);
		}
		json_array_append_new(a, strata_json_text(st->value));
		break;
	}
	case DF_ENV:
	case DF_ARG:
		break; /* the scope tracks them; Env is copied from it after each step */
	default:
		return strata_error_make(err, 0, "%s:%d: unexpected instruction", e->dfname, st->line);
	}
	history_add(e, s, st->original, true);
	return 0;
}

static void set_env(struct stage_state *s, struct dockerfile_scope *sc)
{
	const char *const *env = dockerfile_scope_env(sc);
	json_t *a = json_array();
	for (size_t i = 0; env && env[i]; i++)
		json_array_append_new(a, strata_json_text(env[i]));
	json_t *cfg = json_object_get(s->image, "config");
	if (json_array_size(a))
		json_object_set_new(cfg, "Env", a);
	else
		json_decref(a);
}

static const char *stage_label(struct engine *e, size_t si, char *buf, size_t n)
{
	const struct dockerfile_stage *sg = &e->b->stages[si];
	if (e->b->nneeded <= 1 && !sg->name)
		buf[0] = '\0';
	else if (sg->name)
		snprintf(buf, n, "%s ", sg->name);
	else
		snprintf(buf, n, "stage-%zu ", si);
	return buf;
}

/* --no-cache-filter: is stage si named (or numbered) there? */
static bool stage_no_cache(const struct engine *e, size_t si)
{
	const struct dockerfile_stage *sg = &e->b->stages[si];
	for (size_t i = 0; i < e->o->nno_cache_stages; i++) {
		const char *f = e->o->no_cache_stages[i];
		char num[32];
		snprintf(num, sizeof(num), "%zu", si);
		if ((sg->name && !strcasecmp(sg->name, f)) || !strcmp(num, f))
			return true;
	}
	return false;
}

/*
 * A layer step in four parts: its key (step_key), the cache lookup that
 * returns a typed hit (step_lookup), the execution of a miss (step_execute)
 * and the record of the result in the stage and the caches (step_record).
 * The engine lock is held around the shared maps only (stage views, the
 * lists of trees and images, the hooks' session), never across context
 * hashing (build_context_digest has its own per-file guard), a URL
 * download, a layer extraction or an execution.
 */
struct step_key {
	json_t *inputs;                 /* what the key is computed from (owned) */
	struct oci_digest key;
	char stepid[65];                /* this Dockerfile step, for "last" and explanations */
	bool linked;                    /* COPY/ADD --link */
	bool no_cache;                  /* --no-cache, or the stage is in --no-cache-filter */
	struct build_copy_plan *plan;   /* COPY/ADD (owned; NULL when the sources digest was the
					 * cache's record for a --from set: read them before running) */
	struct oci_digest sources_id;   /* COPY --from: the source set's id (str "" when none) */
	struct build_context *tree;
	const char *tree_root;
};

enum step_hit_kind { STEP_MISS, STEP_HIT_LOCAL, STEP_HIT_REMOTE, STEP_BUILT };

struct step_hit {
	enum step_hit_kind kind;
	struct build_layer layer;       /* the layer made or reused (owned) */
};

static void step_key_release(struct step_key *k)
{
	json_decref(k->inputs);
	build_copy_plan_free(k->plan);
}

static int step_key(struct engine *e, size_t si, struct stage_state *s, const struct dockerfile_step *st,
		    const char *onbuild, struct step_key *k, struct strata_error **err)
{
	k->inputs = json_object();
	k->no_cache = e->o->no_cache || stage_no_cache(e, si);
	/* COPY/ADD --link: a layer made in an empty tree, keyed without its
	 * parent (the steps after it chain on both, see step_record) */
	k->linked = st->kind != DF_RUN && st->copy.link;
	if (!k->linked)
		json_object_set_new(k->inputs, "parent", json_string(s->key.str));
	{
		struct dockerfile_platform sp;
		char pk[128];
		engine_stage_platform(e, si, &sp);
		json_object_set_new(k->inputs, "platform", json_string(build_platform_key(&sp, pk, sizeof(pk))));
	}
	if (e->o->source_date_epoch_set) /* the layer's mtimes are clamped to it */
		json_object_set_new(k->inputs, "source_date_epoch", json_integer((json_int_t)e->o->source_date_epoch));
	if (st->kind == DF_RUN && e->o->extra_hosts) /* --add-host: RUN sees them (BuildKit keys them too) */
		json_object_set_new(k->inputs, "extra_hosts", json_string(e->o->extra_hosts));
	if (st->kind == DF_RUN && e->o->n_rlimits) { /* --ulimit: keyed as BuildKit's ExecOp does */
		json_t *rl = json_array();
		for (size_t i = 0; i < e->o->n_rlimits; i++)
			json_array_append_new(rl, json_pack("[i,I,I]", e->o->rlimits[i].resource,
							    (json_int_t)e->o->rlimits[i].soft, (json_int_t)e->o->rlimits[i].hard));
		json_object_set_new(k->inputs, "ulimits", rl);
	}
	if (st->kind == DF_RUN) {
		/* ARGs reach a step only through RUN's environment (COPY/ADD see
		 * them already expanded in the instruction). Inputs are published
		 * (strata.cache.v1) and kept in build/cache/inputs: a digest of
		 * each value, never the value (docs/internals/cache.md) */
		cleanup_json json_t *args = json_object();
		for (size_t i = 0; i < st->nargs; i++)
			if (st->args[i].cache_key && st->args[i].value)
				strata_json_set_exact(args, st->args[i].name, strata_json_exact(st->args[i].value));
		json_object_set_new(k->inputs, "build_args", strata_json_digest_values(args));
	}
	/* no engine lock here: the inputs hash source trees (thread-safe,
	 * each file once) and take the lock only around the shared lists */
	int rc;
	if (st->kind == DF_RUN)
		rc = step_run_inputs(e, s, st, k->inputs, err);
	else
		rc = step_copy_prepare(e, s, st, k->inputs, !k->no_cache, &k->sources_id, &k->plan, &k->tree,
				       &k->tree_root, err);
	if (rc < 0)
		return -1;
	build_cache_key(k->inputs, &k->key);
	cleanup_free char *src = xasprintf("%s\n%zu\n%s\n%zu", e->dfid, si, onbuild ? onbuild : "", st->insn_index);
	strata_sha256_hex(src, strlen(src), k->stepid);
	return 0;
}

/*
 * Run fn for snapshot id at most once at a time: a second stage that needs
 * the same layer waits for the first to finish (it then finds the snapshot
 * there) instead of extracting it again. Without the engine lock.
 */
static void once_begin(struct engine *e, const char *id)
{
	pthread_mutex_lock(&e->xlock);
	while (json_object_get(e->extracting, id))
		pthread_cond_wait(&e->xcond, &e->xlock);
	json_object_set_new(e->extracting, id, json_true());
	pthread_mutex_unlock(&e->xlock);
}

static void once_end(struct engine *e, const char *id)
{
	pthread_mutex_lock(&e->xlock);
	json_object_del(e->extracting, id);
	pthread_cond_broadcast(&e->xcond);
	pthread_mutex_unlock(&e->xlock);
}

/* the snapshot of a local cache hit, extracted when missing (once per diff_id) */
static int extract_once(struct engine *e, const struct build_layer *l, struct strata_error **err)
{
	once_begin(e, l->diff_id.hex);
	int rc = snapshot_ensure(e->store, e->root, l, err);
	once_end(e, l->diff_id.hex);
	return rc;
}

/* a cache record's {"layer": descriptor, "diff_id"}: the JSON boundary of the cache index */
static json_t *cache_entry(const struct build_layer *l)
{
	return json_pack("{s:o,s:s}", "layer", build_layer_desc(l), "diff_id", l->diff_id.str);
}

/* a cache entry (local index) as a layer; -1 when it does not parse (a miss) */
static int entry_layer(const json_t *entry, const char *key, struct build_layer *out)
{
	const char *diff = json_string_value(json_object_get(entry, "diff_id"));
	struct oci_digest d;
	if (!entry || !diff || oci_digest_parse(diff, &d, NULL) < 0)
		return -1;
	cleanup_free char *what = xasprintf("cache entry %s", key);
	return build_layer_from_desc(json_object_get(entry, "layer"), &d, what, out, NULL);
}

static int step_lookup(struct engine *e, const struct step_key *k, struct step_hit *hit, struct strata_error **err)
{
	memset(hit, 0, sizeof(*hit));
	if (k->no_cache)
		return 0;
	cleanup_json json_t *entry = cache_lookup(e->root, &k->key);
	struct build_layer l;
	/* an entry whose layer is gone (pruned) or that does not parse is a miss */
	if (entry_layer(entry, k->key.str, &l) == 0) {
		if (store_blob_exists(e->store, &l.digest)) {
			/* the blob is here: a layer that cannot be extracted is an error,
			 * not a miss that would silently run the step again */
			if (extract_once(e, &l, err) < 0) {
				build_layer_release(&l);
				return strata_error_wrap(err, "cache hit %s", k->key.str);
			}
			hit->kind = STEP_HIT_LOCAL;
			hit->layer = l;
			return 0;
		}
		build_layer_release(&l);
	}
	const struct build_hooks *h = e->o->hooks;
	if (!h || !h->cache_lookup)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&e->lock); /* the hooks' session is shared */
	cleanup_json json_t *rdesc = NULL;
	struct oci_digest rdiff;
	/* a descriptor from a cache source that does not parse is a miss */
	if (h->cache_lookup(h->ctx, k->key.str, &rdesc, &rdiff) == 1 && rdesc &&
	    build_layer_from_desc(rdesc, &rdiff, "remote cache", &hit->layer, NULL) == 0) {
		hit->kind = STEP_HIT_REMOTE;
		/* the local index learns it (a hit once the blob is fetched) */
		cleanup_json json_t *ent = cache_entry(&hit->layer);
		if (cache_put(e->root, &k->key, ent, k->inputs, err) < 0) {
			rc = -1;
		} else {
			cleanup_free char *snap = snapshot_dir(e->root, hit->layer.diff_id.str);
			if (!strata_path_exists(snap))
				remote_add(e, &hit->layer, &k->key);
		}
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static int step_execute(struct engine *e, struct stage_state *s, const struct dockerfile_step *st,
			const struct step_key *k, int v, struct step_hit *out, struct strata_error **err)
{
	cleanup_free char *d = engine_tmpdir(e, "step-", err);
	if (!d)
		return -1;
	cleanup_free char *upper = xasprintf("%s/upper", d);
	cleanup_free char *work = xasprintf("%s/work", d);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", upper);
	int rc;
	if (st->kind == DF_RUN)
		rc = step_run_exec(e, s, st, v, upper, work, err);
	else
		rc = step_copy_exec(e, s, st, k->inputs, k->plan, k->tree, k->tree_root, upper, work, err);
	if (rc < 0)
		return -1;
	if (layer_commit(e->store, e->root, upper, e->o->source_date_epoch_set ? e->o->source_date_epoch : -1,
			 &out->layer, err) < 0)
		/* name the step whose result could not be stored (a full disk...) */
		return strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
	out->kind = STEP_BUILT;
	cleanup_json json_t *entry = cache_entry(&out->layer);
	return cache_put(e->root, &k->key, entry, k->inputs, err);
}

static int step_record(struct engine *e, size_t si, struct stage_state *s, const struct dockerfile_step *st,
		       struct step_key *k, const struct step_hit *hit, int v, struct strata_error **err)
{
	progress_layer(&e->pr, v, hit->layer.digest.str, (uint64_t)hit->layer.size);
	if (cache_last_set(e->root, k->stepid, &k->key, err) < 0)
		return -1;
	const struct build_hooks *h = e->o->hooks;
	if (h && h->cache_add) {
		cleanup_json json_t *desc = build_layer_desc(&hit->layer);
		struct build_step_record r = {
			.key = k->key.str,
			.layer = (int)s->layers.n,
			.stage = (int)si,
			.pos = (int)st->insn_index,
			.line = st->line,
			.insn = st->original,
			.inputs = k->inputs,
			.desc = desc,
			.diff_id = hit->layer.diff_id.str,
			.remote_hit = hit->kind == STEP_HIT_REMOTE,
			.sources_id = k->sources_id.str[0] ? k->sources_id.str : NULL,
		};
		/* the session's list of built entries is shared by the stages */
		pthread_mutex_lock(&e->lock);
		h->cache_add(h->ctx, &r);
		pthread_mutex_unlock(&e->lock);
	}
	/* the config's rootfs.diff_ids are written from the layers (image_write) */
	build_layers_add(&s->layers, &hit->layer);
	if (k->linked) {
		/* the next step's parent is the chain (what is below, then this
		 * layer): it must miss when the layers below change even though
		 * this step's own key does not */
		cleanup_json json_t *chain = json_pack("{s:s,s:s}", "parent", s->key.str, "link", k->key.str);
		build_cache_key(chain, &s->key);
	} else {
		s->key = k->key;
	}
	history_add(e, s, st->original, false);
	return 0;
}

/* why a step missed, from the previous build of the same step (or the remote cache) */
static void explain_miss(struct engine *e, size_t si, struct stage_state *s, const struct dockerfile_step *st,
			 const struct step_key *k, int v)
{
	const struct build_hooks *h = e->o->hooks;
	struct oci_digest last;
	cleanup_json json_t *prev = cache_last_get(e->root, k->stepid, &last) == 0 ? cache_inputs_get(e->root, &last) : NULL;
	/* a linked step does not depend on the steps below it */
	bool parent_missed = !k->linked && s->missed &&
			     (!prev || !json_equal(json_object_get(prev, "parent"), json_object_get(k->inputs, "parent")));
	cleanup_free char *why = NULL;
	if (!prev && h && h->cache_explain) {
		pthread_mutex_lock(&e->lock);
		why = h->cache_explain(h->ctx, (int)si, (int)st->insn_index, k->inputs, !k->linked && s->missed);
		pthread_mutex_unlock(&e->lock);
	}
	if (!why)
		why = build_cache_explain(prev, k->inputs, parent_missed);
	progress_miss(&e->pr, v, why);
}

static int layer_step(struct engine *e, size_t si, struct stage_state *s, const struct dockerfile_step *st,
		      const char *onbuild, int pos, int total, struct strata_error **err)
{
	strata_error_ensure(err);
	char lbl[128];
	stage_label(e, si, lbl, sizeof(lbl));
	int v = progress_start_step(&e->pr, (int)si, st->line, "[%s%d/%d] %s%s", lbl, pos, total,
				    onbuild ? "ONBUILD " : "", st->original);
	struct step_key k = { 0 };
	struct step_hit hit = { 0 };
	int rc = -1;
	if (step_key(e, si, s, st, onbuild, &k, err) < 0 || step_lookup(e, &k, &hit, err) < 0)
		goto out;
	if (hit.kind != STEP_MISS) {
		progress_cached(&e->pr, v, k.linked ? "linked layer reused" : NULL);
		if (st->kind == DF_RUN)
			step_run_note_mounts(e, st, v);
		pthread_mutex_lock(&e->lock);
		e->cached++;
		pthread_mutex_unlock(&e->lock);
	} else {
		if (!k.no_cache)
			explain_miss(e, si, s, st, &k, v);
		if (st->kind != DF_RUN && !k.plan) {
			/* the sources digest was the cache's record (lazy): the step
			 * runs, so its sources are read now, and they key the layer */
			int r = step_copy_prepare(e, s, st, k.inputs, false, &k.sources_id, &k.plan, &k.tree,
						  &k.tree_root, err);
			if (r < 0)
				goto out;
			build_cache_key(k.inputs, &k.key);
		}
		if (step_execute(e, s, st, &k, v, &hit, err) < 0)
			goto out;
		s->missed = true;
		pthread_mutex_lock(&e->lock);
		e->run++;
		pthread_mutex_unlock(&e->lock);
		progress_done(&e->pr, v);
	}
	rc = step_record(e, si, s, st, &k, &hit, v, err);
out:
	if (rc < 0) {
		cleanup_free char *m = strata_error_string(*err);
		progress_error(&e->pr, v, m);
	}
	build_layer_release(&hit.layer);
	step_key_release(&k);
	return rc;
}

static bool was_pulled(struct engine *e, const char *ref)
{
	for (size_t i = 0; i < e->npulled; i++)
		if (!strcmp(e->pulled[i], ref))
			return true;
	return false;
}

/* platform: NULL (the default) or "os/arch[/variant]"; pkey: what was_pulled knows it by */
static int pull(struct engine *e, const char *ref, const char *platform, const char *pkey, struct strata_error **err)
{
	strata_error_ensure(err);
	const struct build_hooks *h = e->o->hooks;
	int v = platform ? progress_start(&e->pr, "[internal] pull %s (%s)", ref, platform)
			 : progress_start(&e->pr, "[internal] pull %s", ref);
	uint64_t down = h->bytes_down ? h->bytes_down(h->ctx) : 0;
	if (h->pull_image(h->ctx, ref, platform, err) < 0) {
		cleanup_free char *m = strata_error_string(*err);
		progress_error(&e->pr, v, m);
		return -1;
	}
	if (h->bytes_down)
		progress_bytes(&e->pr, v, NULL, h->bytes_down(h->ctx) - down, 0);
	progress_done(&e->pr, v);
	e->pulled = xreallocarray(e->pulled, e->npulled + 1, sizeof(*e->pulled));
	e->pulled[e->npulled++] = xstrdup(pkey);
	return 0;
}

/* an image whose config names a platform other than want */
static bool platform_mismatch(const struct build_image *img, const struct dockerfile_platform *want)
{
	struct dockerfile_platform have;
	return want && build_platform_of_config(img->config, &have) == 0 && !build_platform_satisfies(&have, want);
}

/* The value of --build-context name, or NULL. */
static const char *named_context(const struct engine *e, const char *name)
{
	for (size_t i = 0; name && i < e->o->nnamed_contexts; i++)
		if (!strcmp(e->o->named_contexts[i].id, name))
			return e->o->named_contexts[i].path;
	return NULL;
}

/*
 * An image a named context stands for: docker-image://REF (pulled as a FROM
 * would be), or local-image://DIGEST (an oci-layout:// the CLI put in the
 * store: never pulled). NULL when name is no such context.
 */
static const char *named_image(const struct engine *e, const char *name, bool *local)
{
	const char *v = named_context(e, name);
	*local = false;
	if (v && !strncmp(v, "docker-image://", 15))
		return v + 15;
	if (v && !strncmp(v, "local-image://", 14)) {
		*local = true;
		return v + 14;
	}
	return NULL;
}

const char *engine_named_dir(const struct engine *e, const char *name)
{
	bool local;
	const char *v = named_context(e, name);
	return v && !named_image(e, name, &local) ? v : NULL;
}

/*
 * under e->lock: pulls are serialised, and e->images/e->pulled are shared.
 * want: the platform to select (NULL: the default, the host's); a stored
 * image of another platform is replaced by that platform's, pulled once
 * (the tag then names it, as `docker pull --platform` does).
 */
static struct build_image *find_image_locked(struct engine *e, const char *ref, const struct dockerfile_platform *want,
					     struct strata_error **err)
{
	strata_error_ensure(err);
	bool local = false;
	const char *named = named_image(e, ref, &local);
	if (named)
		ref = named; /* --build-context NAME=docker-image://REF|oci-layout://... */
	char plat[128] = "";
	if (want)
		dockerfile_platform_format(want, plat, sizeof(plat));
	cleanup_free char *pkey = xasprintf("%s %s", ref, plat);
	const char *pp = want ? plat : NULL;
	const struct build_hooks *h = e->o->hooks;
	bool can_pull = !local && h && h->pull_image && !was_pulled(e, pkey);
	if (can_pull && h->pull_always) {
		if (pull(e, ref, pp, pkey, err) < 0)
			return NULL;
		can_pull = false;
	}
	struct build_image *img = NULL;
	if (build_image_lookup_platform(e->root, ref, want, &img, err) < 0) {
		if (!can_pull || strata_error_code(*err) != STRATA_E_NOTFOUND)
			return NULL;
		strata_error_clear(err);
		if (pull(e, ref, pp, pkey, err) < 0)
			return NULL; /* "pull REF: <why>" says it all */
		can_pull = false;
		if (build_image_lookup_platform(e->root, ref, want, &img, err) < 0)
			return NULL;
	}
	if (can_pull && platform_mismatch(img, want)) {
		struct strata_error *pe = NULL;
		if (pull(e, ref, pp, pkey, &pe) == 0) {
			build_image_free(img);
			img = NULL;
			if (build_image_lookup_platform(e->root, ref, want, &img, err) < 0)
				return NULL;
		}
		strata_error_free(pe); /* the stage reports the mismatch (check_from_platform) */
	}
	/* layers not extracted yet (only in a registry) are fetched when a step
	 * mounts them (engine_snapshot_fetch), never just because of FROM */
	for (size_t i = 0; i < img->layers.n; i++) {
		cleanup_free char *snap = engine_snapshot_path(e, build_layer_snapshot_id(&img->layers.v[i]));
		if (!strata_path_exists(snap))
			remote_add(e, &img->layers.v[i], NULL);
	}
	e->images = xreallocarray(e->images, e->nimages + 1, sizeof(*e->images));
	e->images[e->nimages++] = img;
	return img;
}

struct build_image *engine_find_image(struct engine *e, const char *ref, struct strata_error **err)
{
	pthread_mutex_lock(&e->lock);
	struct build_image *img = find_image_locked(e, ref, e->o->platform, err);
	pthread_mutex_unlock(&e->lock);
	return img;
}

/*
 * A read-only view of an image (COPY --from=<image>, RUN --mount from=<image>):
 * its snapshots (fetched when only in a registry) mounted once per build
 * under the work dir, unmounted at teardown.
 */
int engine_image_view(struct engine *e, const char *ref, struct build_image **out, const char **rootfs,
		      struct strata_error **err)
{
	pthread_mutex_lock(&e->lock);
	int rc = 0;
	struct build_image *img = find_image_locked(e, ref, e->o->platform, err);
	if (!img) {
		rc = -1;
		goto out;
	}
	struct engine_view *v = NULL;
	for (size_t i = 0; i < e->nviews && !v; i++)
		if (!strcmp(e->views[i].id.str, img->id.str))
			v = &e->views[i];
	if (!v) {
		cleanup_free char *d = engine_tmpdir(e, "image-", err);
		if (!d || engine_mount_overlay(e, &img->layers, NULL, NULL, d, err) < 0) {
			rc = -1;
			goto out;
		}
		e->views = xreallocarray(e->views, e->nviews + 1, sizeof(*e->views));
		v = &e->views[e->nviews++];
		v->id = img->id;
		v->rootfs = STRATA_STEAL(d);
	}
	*rootfs = v->rootfs;
	if (out)
		*out = img;
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

/*
 * The base of stage si is selected for the stage's platform (FROM
 * --platform, else --platform). An image of another platform is an error
 * naming both when a platform was asked for, never silently used (it was:
 * FROM --platform=linux/arm64 ran amd64); without one (a single-platform
 * image of another architecture, built on this host's default) it is used
 * with a warning, as BuildKit does.
 */
static int check_from_platform(struct engine *e, size_t si, const struct build_image *img, int vertex,
			       struct strata_error **err)
{
	const struct dockerfile_stage *sg = &e->b->stages[si];
	struct dockerfile_platform want, have;
	engine_stage_platform(e, si, &want);
	if (build_platform_of_config(img->config, &have) < 0 || build_platform_satisfies(&have, &want))
		return 0;
	char w[128], hv[128];
	dockerfile_platform_format(&want, w, sizeof(w));
	dockerfile_platform_format(&have, hv, sizeof(hv));
	if (!sg->platform && !e->o->platform) {
		progress_line(&e->pr, vertex, "warning: FROM %s: the image is %s, not the build's %s", sg->base, hv, w);
		return 0;
	}
	return strata_error_makec(err, STRATA_E_CONFIG, 0,
				  "%s:%d: FROM %s%s %s: the image is %s, not %s (no image of that platform could be "
				  "pulled: strata pull --platform %s %s)",
				  e->dfname, sg->line, sg->platform ? "--platform=" : "", sg->platform ? sg->platform : "",
				  sg->base, hv, w, w, sg->base);
}

/* the ONBUILD triggers of a base image, as a Dockerfile after a FROM */
static char *onbuild_text(const json_t *triggers, int *layer_steps)
{
	struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_adds(&b, "FROM scratch\n");
	size_t i;
	json_t *t;
	json_array_foreach((json_t *)triggers, i, t) {
		const char *s = json_string_value(t);
		if (!s)
			continue;
		strata_buf_addf(&b, "%s\n", s);
		*layer_steps += !strncasecmp(s, "RUN", 3) || !strncasecmp(s, "COPY", 4) || !strncasecmp(s, "ADD", 3);
	}
	return strata_buf_detach(&b, NULL);
}

/*
 * Run the triggers before the stage's own instructions, in the stage's
 * scope as it starts (base_env in, the env after the triggers out); they are
 * consumed: the new image does not inherit them (docker's rule).
 */
static int run_onbuild(struct engine *e, size_t si, struct stage_state *s, const char *text, const char *base,
		       char ***base_env, int *pos, int total, bool *cmd_set, struct strata_error **err)
{
	cleanup_free char *name = xasprintf("%s ONBUILD", base);
	struct dockerfile *df = NULL;
	struct dockerfile_build *b = NULL;
	struct dockerfile_scope *sc = NULL;
	struct dockerfile_options o = { .buildargs = e->o->buildargs, .target_platform = e->o->platform };
	int rc = 0;
	if (dockerfile_parse(text, strlen(text), name, &df, err) < 0 || dockerfile_resolve(df, &o, &b, err) < 0 ||
	    dockerfile_scope_new(b, 0, (const char *const *)*base_env, &sc, err) < 0) {
		rc = -1;
		goto out;
	}
	for (;;) {
		struct dockerfile_step *st = NULL;
		int r = dockerfile_scope_step(sc, &st, err);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (st->kind == DF_RUN || st->kind == DF_COPY || st->kind == DF_ADD)
			rc = layer_step(e, si, s, st, "onbuild", ++*pos, total, err);
		else
			rc = apply_metadata(e, s, st, cmd_set, err);
		set_env(s, sc);
		dockerfile_step_free(st);
		if (rc < 0)
			break;
	}
	if (rc == 0) {
		strv_free(*base_env);
		*base_env = strv_copy(dockerfile_scope_env(sc));
	}
out:
	dockerfile_scope_free(sc);
	dockerfile_build_free(b);
	dockerfile_free(df);
	return rc;
}

static int run_stage(struct engine *e, size_t si, struct strata_error **err)
{
	const struct dockerfile_stage *sg = &e->b->stages[si];
	struct stage_state *s = &e->st[si];
	char **base_env = NULL;
	char lbl[128];
	stage_label(e, si, lbl, sizeof(lbl));
	int total = 1;
	for (size_t i = 0; i < sg->ninsns; i++) {
		enum dockerfile_kind k = e->df->insns[sg->first_insn + i].kind;
		total += k == DF_RUN || k == DF_COPY || k == DF_ADD;
	}
	struct build_image *img = NULL;
	cleanup_free char *triggers = NULL;
	struct dockerfile_platform splat;
	engine_stage_platform(e, si, &splat);
	if (sg->base_type == DF_BASE_IMAGE) {
		pthread_mutex_lock(&e->lock);
		img = find_image_locked(e, sg->base, sg->platform || e->o->platform ? &splat : NULL, err);
		pthread_mutex_unlock(&e->lock);
		if (!img)
			return strata_error_wrap(err, "%s:%d: FROM %s", e->dfname, sg->line, sg->base);
		json_t *ob = json_object_get(json_object_get(img->config, "config"), "OnBuild");
		if (json_array_size(ob))
			triggers = onbuild_text(ob, &total);
	}
	int v = progress_start_step(&e->pr, (int)si, sg->line, "[%s1/%d] FROM %s", lbl, total, sg->base);
	if (img && check_from_platform(e, si, img, v, err) < 0) {
		cleanup_free char *m = strata_error_string(*err);
		progress_error(&e->pr, v, m);
		return -1;
	}
	switch (sg->base_type) {
	case DF_BASE_SCRATCH: {
		s->image = new_image(&splat);
		char plat[100];
		cleanup_free char *seed = xasprintf("scratch %s", dockerfile_platform_format(&splat, plat, sizeof(plat)));
		oci_digest_of(&s->key, seed, strlen(seed));
		break;
	}
	case DF_BASE_STAGE: {
		struct stage_state *p = &e->st[sg->base_stage];
		s->image = json_deep_copy(p->image);
		build_layers_copy(&s->layers, &p->layers);
		s->key = p->key;
		s->missed = p->missed;
		base_env = strv_copy((const char *const *)p->env);
		break;
	}
	case DF_BASE_IMAGE: {
		s->image = json_deep_copy(img->config);
		json_object_set_new(s->image, "history", base_history(img->config));
		if (!json_is_object(json_object_get(s->image, "config")))
			json_object_set_new(s->image, "config", json_object());
		build_layers_copy(&s->layers, &img->layers);
		s->key = img->id;
		base_env = strv_from_json(json_object_get(json_object_get(img->config, "config"), "Env"));
		json_object_del(json_object_get(s->image, "config"), "OnBuild");
		break;
	}
	}
	progress_done(&e->pr, v);
	int pos = 1;
	bool cmd_set = false;
	if (triggers && run_onbuild(e, si, s, triggers, sg->base, &base_env, &pos, total, &cmd_set, err) < 0) {
		strv_free(base_env);
		return strata_error_wrap(err, "%s:%d: FROM %s: ONBUILD trigger", e->dfname, sg->line, sg->base);
	}
	struct dockerfile_scope *sc = NULL;
	int rc = dockerfile_scope_new(e->b, si, (const char *const *)base_env, &sc, err);
	strv_free(base_env);
	if (rc < 0)
		return -1;
	for (;;) {
		struct dockerfile_step *st = NULL;
		int r = dockerfile_scope_step(sc, &st, err);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (st->kind == DF_RUN || st->kind == DF_COPY || st->kind == DF_ADD)
			rc = layer_step(e, si, s, st, NULL, ++pos, total, err);
		else
			rc = apply_metadata(e, s, st, &cmd_set, err);
		set_env(s, sc);
		dockerfile_step_free(st);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		s->env = strv_copy(dockerfile_scope_env(sc));
	dockerfile_scope_free(sc);
	s->built = rc == 0;
	return rc;
}

static int finish_image(struct engine *e, struct build_result *res, struct strata_error **err)
{
	struct stage_state *s = &e->st[e->b->target];
	json_t *cfg = json_object_get(s->image, "config");
	for (size_t i = 0; i < e->o->nlabels; i++) {
		const char *kv = e->o->labels[i];
		const char *eq = strchr(kv, '=');
		cleanup_free char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		json_object_set_new(obj_member(cfg, "Labels"), k, json_string(eq ? eq + 1 : ""));
	}
	const struct build_hooks *h = e->o->hooks;
	build_layers_set_rootfs(&s->layers, s->image);
	if (h && h->image_config) {
		cleanup_json json_t *descs = build_layers_descs(&s->layers);
		if (h->image_config(h->ctx, s->image, descs, err) < 0)
			return strata_error_wrap(err, "inline cache");
	}
	int v = progress_start(&e->pr, "exporting to image");
	time_t created = e->o->source_date_epoch_set ? (time_t)e->o->source_date_epoch
						     : h && h->image_created ? h->image_created(h->ctx) : 0;
	if (image_write(e->store, s->image, &s->layers, e->o->annotations, e->o->nannotations, e->o->tags, e->o->ntags,
			created, e->o->source_date_epoch_set, &res->image_id, &res->manifest_digest, err) < 0)
		return -1;
	progress_line(&e->pr, v, "writing image %s done", res->image_id.str);
	for (size_t i = 0; i < e->o->ntags; i++)
		progress_line(&e->pr, v, "naming to %s done", e->o->tags[i]);
	progress_done(&e->pr, v);
	return 0;
}

/*
 * Work dirs of builds and runs that were killed: each live one holds an
 * flock on its "lock" file, so a dir whose lock can be taken is stale. Its
 * mounts died with the killed process's private mount namespace. A dir is
 * made and locked as ".new-*" and only then renamed to its real name, so a
 * cleaner never takes the lock of a dir whose owner has not locked it yet;
 * ".new-*" dirs are removed only when clearly old (the owner died between
 * mkdir and rename).
 */
void engine_clean_stale_tmp(const char *tmproot)
{
	cleanup_closedir DIR *d = opendir(tmproot);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		bool fresh = !strncmp(de->d_name, ".new-", 5);
		if (!fresh && strncmp(de->d_name, "build-", 6) && strncmp(de->d_name, "run-", 4))
			continue;
		cleanup_free char *dir = xasprintf("%s/%s", tmproot, de->d_name);
		cleanup_free char *lock = xasprintf("%s/lock", dir);
		cleanup_close int fd = fresh ? -1 : open(lock, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* alive */
		if (fd < 0 || fresh) {
			/* created but not locked yet, or older: only when clearly old */
			struct stat st;
			if (stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60)
				continue;
		}
		strata_rm_rf(dir, NULL);
	}
}

/*
 * Create <tmproot>/<prefix>XXXXXX holding its lock; *lockfd keeps it. It is
 * made and locked under a ".new-" name the cleaner of a concurrent build
 * leaves alone, then renamed: a live work dir is never seen unlocked (a
 * cleaner used to take the lock between its creation and its locking and
 * delete it under the build: "mkdir '.../empty': No such file or directory").
 */
int engine_work_dir(const char *tmproot, const char *prefix, char **out, int *lockfd, struct strata_error **err)
{
	engine_clean_stale_tmp(tmproot);
	for (int attempt = 0;; attempt++) {
		cleanup_free char *fresh = NULL;
		if (strata_mkdtemp(tmproot, ".new-", &fresh, err) < 0)
			return -1;
		cleanup_free char *lock = xasprintf("%s/lock", fresh);
		int fd = strata_lock_file(lock, true, err);
		if (fd < 0) {
			strata_rm_rf(fresh, NULL);
			return -1;
		}
		char *name = xasprintf("%s/%s%s", tmproot, prefix, strrchr(fresh, '/') + 6);
		if (renameat2(AT_FDCWD, fresh, AT_FDCWD, name, RENAME_NOREPLACE) == 0) {
			*out = name;
			*lockfd = fd;
			return 0;
		}
		int e = errno;
		close(fd);
		strata_rm_rf(fresh, NULL);
		if (e != EEXIST || attempt > 8) {
			strata_error_make(err, e, "rename '%s' to '%s'", fresh, name);
			free(name);
			return -1;
		}
		free(name);
	}
}

static int setup(struct engine *e, struct strata_error **err)
{
	const struct build_options *o = e->o;
	e->context_dir = realpath(o->context_dir, NULL);
	if (!e->context_dir)
		return strata_error_makec(err, STRATA_E_CONFIG, errno, "context '%s'", o->context_dir);
	cleanup_free char *dfpath = NULL;
	if (o->dockerfile && !strcmp(o->dockerfile, "-")) {
		dfpath = xstrdup("-");
		e->dfname = xstrdup("Dockerfile");
		e->dfid = xasprintf("stdin:%s", e->context_dir);
	} else {
		dfpath = o->dockerfile ? xstrdup(o->dockerfile) : xasprintf("%s/Dockerfile", e->context_dir);
		const char *b = strrchr(dfpath, '/');
		e->dfname = xstrdup(b ? b + 1 : dfpath);
		char *rp = realpath(dfpath, NULL);
		e->dfid = xasprintf("file:%s", rp ? rp : dfpath);
		free(rp);
	}
	int v = progress_start(&e->pr, "[internal] load build definition from %s", e->dfname);
	if (dockerfile_parse_file(dfpath, e->dfname, &e->df, err) < 0) {
		/* a missing Dockerfile is bad configuration, like one that does not parse */
		strata_error_set_code(err, STRATA_E_CONFIG);
		return -1;
	}
	struct dockerfile_options dopts = { .buildargs = o->buildargs, .target = o->target,
					    .target_platform = o->platform };
	if (dockerfile_resolve(e->df, &dopts, &e->b, err) < 0)
		return -1;
	progress_done(&e->pr, v);
	for (size_t i = 0; i < e->b->nwarnings; i++)
		progress_line(&e->pr, v, "%s", e->b->warnings[i]);

	v = progress_start(&e->pr, "[internal] load build context");
	cleanup_free char *used = NULL;
	if (dockerfile_ignore_load(e->context_dir, strcmp(dfpath, "-") ? dfpath : NULL, &e->ig, &used, err) < 0)
		return -1;
	build_ignore_from_dockerfile(&e->bign, e->ig);
	cleanup_free char *statcache = xasprintf("%s/build/statcache/%.16s", e->root, e->dfid + 0);
	{
		char hex[65];
		strata_sha256_hex(e->context_dir, strlen(e->context_dir), hex);
		free(statcache);
		statcache = xasprintf("%s/build/statcache/%s", e->root, hex);
	}
	cleanup_free char *scdir = xasprintf("%s/build/statcache", e->root);
	if (strata_mkdir_p(scdir, 0700, err) < 0)
		return -1;
	if (build_context_open(e->context_dir, e->ig ? &e->bign : NULL, statcache, &e->ctx, err) < 0)
		return -1;
	progress_line(&e->pr, v, "transferring context: %zu files done", build_context_count(e->ctx));
	progress_done(&e->pr, v);

	if (store_open(e->root, &e->store, err) < 0)
		return -1;
	e->snapdir = xasprintf("%s/build/snapshots", e->root);
	cleanup_free char *tmproot = xasprintf("%s/build/tmp", e->root);
	e->run_dir = xasprintf("%s/run/exec", e->root);
	e->cache_root = xasprintf("%s/cache/run-mounts", e->root);
	if (strata_mkdir_p(e->snapdir, 0700, err) < 0 || strata_mkdir_p(tmproot, 0700, err) < 0 ||
	    strata_mkdir_p(e->run_dir, 0700, err) < 0)
		return -1;
	strata_dir_make_private(e->snapdir);
	cache_make_private(e->root);
	if (executor_cleanup_stale(e->run_dir, err) < 0)
		return -1;
	if (engine_work_dir(tmproot, "build-", &e->tmp, &e->lockfd, err) < 0)
		return -1;
	e->empty = xasprintf("%s/empty", e->tmp);
	if (mkdir(e->empty, 0755) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", e->empty);
	e->st = xcalloc(e->b->nstages, sizeof(*e->st));
	return 0;
}

static void teardown(struct engine *e)
{
	if (e->st) {
		for (size_t i = 0; i < e->b->nstages; i++) {
			build_context_free(e->st[i].tree);
			free(e->st[i].rootfs);
			json_decref(e->st[i].image);
			build_layers_release(&e->st[i].layers);
			strv_free(e->st[i].env);
		}
		free(e->st);
	}
	for (size_t i = 0; i < e->ntrees; i++)
		build_context_free(e->trees[i]);
	free(e->trees);
	for (size_t i = 0; i < e->nmounted; i++) {
		if (e->mounted[i])
			sandbox_view_unmount(e->mounted[i]);
		free(e->mounted[i]);
	}
	free(e->mounted);
	if (e->tmp)
		strata_rm_rf(e->tmp, NULL);
	if (e->lockfd >= 0)
		close(e->lockfd);
	for (size_t i = 0; i < e->nimages; i++)
		build_image_free(e->images[i]);
	for (size_t i = 0; i < e->nremote; i++)
		build_layer_release(&e->remote[i].layer);
	free(e->remote);
	for (size_t i = 0; i < e->nviews; i++)
		free(e->views[i].rootfs); /* unmounted with e->mounted above */
	free(e->views);
	for (size_t i = 0; i < e->npulled; i++)
		free(e->pulled[i]);
	free(e->pulled);
	free(e->images);
	if (e->ctx) {
		build_context_save(e->ctx, NULL);
		build_context_free(e->ctx);
	}
	store_close(e->store);
	dockerfile_ignore_free(e->ig);
	dockerfile_build_free(e->b);
	dockerfile_free(e->df);
	free(e->context_dir);
	free(e->dfname);
	free(e->dfid);
	free(e->tmp);
	free(e->ctx_mask);
	free(e->empty);
	free(e->run_dir);
	free(e->cache_root);
	free(e->snapdir);
}

struct stage_job {
	struct engine *e;
	size_t si;
	int rc;
	struct strata_error *err;
};

static void *stage_thread(void *arg)
{
	struct stage_job *j = arg;
	j->rc = run_stage(j->e, j->si, &j->err);
	return NULL;
}

/* how many stages may build at once (STRATA_BUILD_JOBS=N overrides, 1 serialises) */
#define BUILD_PARALLEL_MAX 2

/*
 * Build the needed stages in waves: every stage whose dependencies are built
 * is ready; up to BUILD_PARALLEL_MAX ready stages run at once, each in its
 * own thread (SIGINT/SIGTERM/SIGHUP blocked in all of them: the executor
 * reads them through a signalfd).
 */
static int run_stages(struct engine *e, struct strata_error **err)
{
	size_t n = e->b->nstages;
	bool *done = xcalloc(n, sizeof(*done));
	size_t left = e->b->nneeded;
	size_t par = BUILD_PARALLEL_MAX;
	const char *jobs = getenv("STRATA_BUILD_JOBS");
	if (jobs && atoi(jobs) >= 1 && atoi(jobs) <= 16)
		par = (size_t)atoi(jobs);
	int rc = 0;
	while (left > 0 && rc == 0) {
		size_t ready[16], nready = 0;
		for (size_t k = 0; k < e->b->nneeded && nready < par; k++) {
			size_t si = e->b->needed[k];
			if (done[si])
				continue;
			bool ok = true;
			for (size_t d = 0; d < e->b->stages[si].ndeps && ok; d++)
				ok = done[e->b->stages[si].deps[d]] || e->b->stages[si].deps[d] == si;
			if (ok)
				ready[nready++] = si;
		}
		if (nready == 0) {
			rc = strata_error_make(err, 0, "stage dependencies form a cycle");
			break;
		}
		if (nready == 1) {
			rc = run_stage(e, ready[0], err);
		} else {
			struct stage_job jobsv[16];
			pthread_t th[16];
			sigset_t block, old;
			sigemptyset(&block);
			sigaddset(&block, SIGINT);
			sigaddset(&block, SIGTERM);
			sigaddset(&block, SIGHUP);
			pthread_sigmask(SIG_BLOCK, &block, &old);
			bool started[16];
			for (size_t i = 0; i < nready; i++)
				jobsv[i] = (struct stage_job){ .e = e, .si = ready[i], .rc = 0, .err = NULL };
			for (size_t i = 0; i < nready; i++) {
				started[i] = pthread_create(&th[i], NULL, stage_thread, &jobsv[i]) == 0;
				if (!started[i])
					stage_thread(&jobsv[i]);
			}
			for (size_t i = 0; i < nready; i++)
				if (started[i])
					pthread_join(th[i], NULL);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			for (size_t i = 0; i < nready; i++) {
				if (jobsv[i].rc < 0 && rc == 0) {
					rc = -1;
					strata_error_pass(err, STRATA_STEAL(jobsv[i].err));
				}
				strata_error_free(jobsv[i].err);
			}
		}
		for (size_t i = 0; i < nready; i++)
			done[ready[i]] = true;
		left -= nready;
	}
	free(done);
	return rc;
}

int build_run(const struct build_options *o, struct build_result *res, struct strata_error **err)
{
	struct engine e = { .o = o, .root = o->root, .lockfd = -1 };
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&e.lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&e.xlock, NULL);
	pthread_cond_init(&e.xcond, NULL);
	e.extracting = json_object();
	memset(res, 0, sizeof(*res));
	progress_init(&e.pr, o->out, o->progress, o->listener);
	int rc = setup(&e, err);
	if (rc == 0)
		rc = run_stages(&e, err);
	if (rc == 0)
		rc = finish_image(&e, res, err);
	res->steps_cached = e.cached;
	res->steps_run = e.run;
	teardown(&e);
	progress_release(&e.pr);
	pthread_mutex_destroy(&e.lock);
	pthread_mutex_destroy(&e.xlock);
	pthread_cond_destroy(&e.xcond);
	json_decref(e.extracting);
	return rc;
}
