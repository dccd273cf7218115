/*
 * prune.c — mark and sweep of the blob store under the exclusive gc lock.
 * The mark also records the diff_ids of every marked image config, so the
 * build's garbage collection knows which snapshots images still need.
 */
#include "store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define STALE_TMP_SECONDS 3600

void store_prune_result_release(struct store_prune_result *r)
{
	free(r->removed);
	free(r->sizes);
	memset(r, 0, sizeof(*r));
}

struct store_gc {
	struct store *s;
	json_t *set;      /* digest -> true: marked blobs */
	json_t *diff_ids; /* diff_id -> true: layers of marked image configs */
};

static int mark(struct store_gc *g, const struct oci_descriptor *d, int depth, struct strata_error **err);

/* Lenient: a config that is absent, not JSON or without diff_ids adds nothing. */
static void note_diff_ids(struct store_gc *g, const struct oci_digest *config)
{
	if (!store_blob_exists(g->s, config))
		return;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (store_blob_read(g->s, config, STORE_JSON_MAX, &b, NULL) < 0)
		return;
	cleanup_json json_t *j = json_loadb(b.data, b.len, 0, NULL);
	json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
	if (!json_is_array(ids))
		ids = json_object_get(j, "diff_ids"); /* a cache artifact's config */
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		if (json_is_string(v))
			json_object_set_new(g->diff_ids, json_string_value(v), json_true());
}

struct mark_ctx {
	struct store_gc *g;
	int depth;
};

static int mark_child(void *ctx, const struct oci_descriptor *child, enum store_child role,
		      struct strata_error **err)
{
	struct mark_ctx *m = ctx;
	int r = mark(m->g, child, m->depth + 1, err);
	if (r == 0 && role == STORE_CHILD_CONFIG)
		note_diff_ids(m->g, &child->digest);
	return r;
}

static int mark_children(struct store_gc *g, const struct oci_digest *d, const char *mt, int depth,
			 struct strata_error **err)
{
	if (!oci_mt_is_manifest(mt) && !oci_mt_is_index(mt))
		return 0;
	if (depth > 8)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': indexes nested too deep", d->str);
	struct mark_ctx m = { .g = g, .depth = depth };
	return store_manifest_children(g->s, d, mt, mark_child, &m, err);
}

static int mark(struct store_gc *g, const struct oci_descriptor *d, int depth, struct strata_error **err)
{
	if (json_object_get(g->set, d->digest.str))
		return 0;
	json_object_set_new(g->set, d->digest.str, json_true());
	if (!store_blob_exists(g->s, &d->digest))
		return 0; /* a foreign or not yet fetched blob: nothing to keep */
	return mark_children(g, &d->digest, d->media_type, depth, err);
}

static int lock_exclusive(struct store *s, struct strata_error **err)
{
	if (flock(s->gc_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return strata_error_make(err, errno, "lock '%s/gc.lock'", s->meta);
	LOG_WARN("prune: waiting for other strata processes using '%s'", s->root);
	while (flock(s->gc_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return strata_error_make(err, errno, "lock '%s/gc.lock'", s->meta);
	}
	return 0;
}

static int sweep(struct store *s, json_t *set, bool dry_run, struct store_prune_result *out,
		 struct strata_error **err)
{
	cleanup_closedir DIR *d = opendir(s->blobs);
	if (!d)
		return strata_error_make(err, errno, "open '%s'", s->blobs);
	size_t cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!oci_sha256_hex_valid(de->d_name))
			continue;
		struct oci_digest dg;
		cleanup_free char *ds = xasprintf("sha256:%s", de->d_name);
		if (oci_digest_parse(ds, &dg, NULL) < 0 || json_object_get(set, ds))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			return strata_error_make(err, errno, "remove '%s/%s'", s->blobs, de->d_name);
		if (out->n_removed == cap) {
			cap = cap ? cap * 2 : 16;
			out->removed = xreallocarray(out->removed, cap, sizeof(*out->removed));
			out->sizes = xreallocarray(out->sizes, cap, sizeof(*out->sizes));
		}
		oci_digest_copy(&out->removed[out->n_removed], &dg);
		out->sizes[out->n_removed++] = st.st_size;
		out->bytes += st.st_size;
	}
	if (errno)
		return strata_error_make(err, errno, "read directory '%s'", s->blobs);
	if (!dry_run && out->n_removed && strata_fsync_dir(s->blobs, err) < 0)
		return -1;
	return 0;
}

static int sweep_tmp(struct store *s, bool dry_run, struct store_prune_result *out, struct strata_error **err)
{
	cleanup_closedir DIR *d = opendir(s->tmp);
	if (!d)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", s->tmp);
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (now - st.st_mtime < STALE_TMP_SECONDS)
			continue;
		if (!dry_run && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			return strata_error_make(err, errno, "remove '%s/%s'", s->tmp, de->d_name);
		out->tmp_removed++;
		out->bytes += st.st_size;
	}
	return 0;
}

static void unlock_exclusive(struct store *s)
{
	while (flock(s->gc_fd, LOCK_SH) < 0 && errno == EINTR)
		;
}

void store_gc_end(struct store_gc *g)
{
	if (!g)
		return;
	unlock_exclusive(g->s);
	json_decref(g->set);
	json_decref(g->diff_ids);
	free(g);
}

int store_gc_begin(struct store *s, struct store_gc **out, struct strata_error **err)
{
	if (lock_exclusive(s, err) < 0)
		return strata_error_wrap(err, "prune '%s'", s->root);
	struct store_gc *g = xcalloc(1, sizeof(*g));
	g->s = s;
	g->set = json_object();
	g->diff_ids = json_object();
	cleanup_json json_t *index = NULL;
	struct oci_index x;
	if (store_index_load(s, &index, err) < 0 || oci_index_from_json(index, s->index_path, &x, err) < 0) {
		store_gc_end(g);
		return strata_error_wrap(err, "prune '%s'", s->root);
	}
	int r = 0;
	for (size_t i = 0; i < x.n_manifests && r == 0; i++)
		r = mark(g, &x.manifests[i], 0, err);
	oci_index_release(&x);
	if (r < 0) {
		store_gc_end(g);
		return strata_error_wrap(err, "prune '%s'", s->root);
	}
	*out = g;
	return 0;
}

int store_gc_keep(struct store_gc *g, const struct oci_descriptor *d, struct strata_error **err)
{
	if (mark(g, d, 0, err) < 0)
		return strata_error_wrap(err, "prune '%s'", g->s->root);
	return 0;
}

bool store_gc_marked(const struct store_gc *g, const struct oci_digest *d)
{
	return json_object_get(g->set, d->str) != NULL;
}

bool store_gc_image_layer(const struct store_gc *g, const char *diff_id)
{
	return json_object_get(g->diff_ids, diff_id) != NULL;
}

int store_gc_sweep(struct store_gc *g, bool dry_run, struct store_prune_result *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (sweep(g->s, g->set, dry_run, out, err) < 0 || sweep_tmp(g->s, dry_run, out, err) < 0) {
		store_prune_result_release(out);
		return strata_error_wrap(err, "prune '%s'", g->s->root);
	}
	return 0;
}

int store_prune(struct store *s, bool dry_run, struct store_prune_result *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	struct store_gc *g = NULL;
	if (store_gc_begin(s, &g, err) < 0)
		return -1;
	int r = store_gc_sweep(g, dry_run, out, err);
	store_gc_end(g);
	return r;
}
