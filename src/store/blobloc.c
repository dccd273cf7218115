/*
 * blobloc.c — the store's one record of where blobs are in registries
 * (store.h, "blob locations"): remote cache hits and lazily adopted layers
 * (fetch on demand) and blobs seen by pulls and pushes (cross-repository
 * mounts) share it.
 *
 *   ROOT/.strata/blob-locations.json
 *     {"sha256:…": {"size": 1234, "at": [{"host": "h:5000", "repo": "app"}, …]}}
 *   ROOT/.strata/blob-locations.json.lock   flock around read-merge-write
 *
 * "at" is oldest first (the newest location is the one a fetch uses), at
 * most STORE_BLOBLOC_MAX_AT long; at most STORE_BLOBLOC_MAX_BLOBS blobs
 * (later blobs are not recorded: they are fetched from their image's
 * registry or uploaded instead). A record of the two files this one
 * replaced (remote-blobs.json, registry-blobs.json) is merged in once.
 */
#include "store/store.h"
#include "store/internal.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define BLOBLOC_FILE "blob-locations.json"
#define BLOBLOC_FILE_MAX (64u << 20)

struct store_blobloc {
	char *path;
	char *legacy_dir; /* the .strata dir whose old records are merged at save, or NULL */
	json_t *doc;      /* the record as read (and as changed by this process) */
	json_t *added;    /* the same shape: what this process learnt */
	pthread_mutex_t lock;
};

/* Add host/repo (newest) and size to rec[digest], within the bounds. */
static void put(json_t *rec, const char *digest, int64_t size, const char *host, const char *repo)
{
	json_t *b = json_object_get(rec, digest);
	if (!json_is_object(b)) {
		if (json_object_size(rec) >= STORE_BLOBLOC_MAX_BLOBS)
			return;
		b = json_pack("{s:[]}", "at");
		json_object_set_new(rec, digest, b);
	}
	if (size >= 0)
		json_object_set_new(b, "size", json_integer(size));
	json_t *at = json_object_get(b, "at");
	if (!json_is_array(at)) {
		at = json_array();
		json_object_set_new(b, "at", at);
	}
	size_t i;
	json_t *l;
	json_array_foreach(at, i, l) {
		if (!strcmp(json_string_value(json_object_get(l, "host")) ?: "", host) &&
		    !strcmp(json_string_value(json_object_get(l, "repo")) ?: "", repo)) {
			json_array_remove(at, i); /* seen again: becomes the newest */
			break;
		}
	}
	if (json_array_size(at) >= STORE_BLOBLOC_MAX_AT)
		json_array_remove(at, 0);
	json_array_append_new(at, json_pack("{s:s,s:s}", "host", host, "repo", repo));
}

/* merge every location of src (same shape) into dst, oldest first */
static void merge_into(json_t *dst, const json_t *src)
{
	const char *dg;
	json_t *b;
	json_object_foreach((json_t *)src, dg, b) {
		json_t *sz = json_object_get(b, "size");
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(b, "at"), i, l) {
			const char *h = json_string_value(json_object_get(l, "host"));
			const char *r = json_string_value(json_object_get(l, "repo"));
			if (h && r)
				put(dst, dg, json_is_integer(sz) ? json_integer_value(sz) : -1, h, r);
		}
	}
}

/* the records this one replaced: remote-blobs.json {digest: {host, repo, size}},
 * registry-blobs.json {host: {digest: [repo...]}} (best effort) */
static void merge_legacy(json_t *dst, const char *dir)
{
	cleanup_free char *rp = xasprintf("%s/remote-blobs.json", dir);
	cleanup_free char *sp = xasprintf("%s/registry-blobs.json", dir);
	cleanup_json json_t *r = NULL, *s = NULL;
	const char *k, *k2;
	json_t *v, *v2;
	size_t i;
	json_t *repo;
	if (strata_json_load_object(sp, BLOBLOC_FILE_MAX, &s, NULL) == 0)
		json_object_foreach(s, k, v) json_object_foreach(v, k2, v2) json_array_foreach(v2, i, repo)
			if (json_is_string(repo) && oci_digest_valid(k2))
				put(dst, k2, -1, k, json_string_value(repo));
	if (strata_json_load_object(rp, BLOBLOC_FILE_MAX, &r, NULL) == 0)
		json_object_foreach(r, k, v) {
			const char *h = json_string_value(json_object_get(v, "host"));
			const char *rr = json_string_value(json_object_get(v, "repo"));
			json_t *sz = json_object_get(v, "size");
			if (h && rr && oci_digest_valid(k))
				put(dst, k, json_is_integer(sz) ? json_integer_value(sz) : -1, h, rr);
		}
}

static int open_path(const char *path, const char *legacy_dir, struct store_blobloc **out,
		     struct strata_error **err)
{
	json_t *doc = NULL;
	if (strata_json_load_object(path, BLOBLOC_FILE_MAX, &doc, err) < 0)
		return -1;
	struct store_blobloc *l = xcalloc(1, sizeof(*l));
	l->path = xstrdup(path);
	l->doc = doc;
	l->added = json_object();
	pthread_mutex_init(&l->lock, NULL);
	if (legacy_dir && !strata_path_exists(path)) {
		/* a store written before the two records became one */
		merge_legacy(l->added, legacy_dir);
		if (json_object_size(l->added)) {
			merge_into(l->doc, l->added);
			l->legacy_dir = xstrdup(legacy_dir);
		}
	}
	*out = l;
	return 0;
}

int store_blobloc_open_path(const char *path, struct store_blobloc **out, struct strata_error **err)
{
	return open_path(path, NULL, out, err);
}

int store_blobloc_open(struct store *s, struct store_blobloc **out, struct strata_error **err)
{
	cleanup_free char *dir = xasprintf("%s/.strata", store_root(s));
	cleanup_free char *path = xasprintf("%s/%s", dir, BLOBLOC_FILE);
	return open_path(path, dir, out, err);
}

void store_blobloc_free(struct store_blobloc *l)
{
	if (!l)
		return;
	json_decref(l->doc);
	json_decref(l->added);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l->legacy_dir);
	free(l);
}

int store_blobloc_add(struct store_blobloc *l, const char *digest, int64_t size, const char *host, const char *repo,
		      struct strata_error **err)
{
	if (!digest || !oci_digest_valid(digest) || !host || !*host || !repo || !*repo)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "blob location '%s': invalid digest or source",
					  digest ? digest : "");
	pthread_mutex_lock(&l->lock);
	put(l->doc, digest, size, host, repo);
	put(l->added, digest, size, host, repo);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int store_blobloc_find(struct store_blobloc *l, const char *digest, const char *host, const char *not_repo,
		       char **host_out, char **repo_out, int64_t *size)
{
	int found = 0;
	pthread_mutex_lock(&l->lock);
	json_t *b = json_object_get(l->doc, digest);
	json_t *at = json_object_get(b, "at");
	for (size_t i = json_array_size(at); i-- > 0 && !found;) {
		json_t *x = json_array_get(at, i);
		const char *h = json_string_value(json_object_get(x, "host"));
		const char *r = json_string_value(json_object_get(x, "repo"));
		if (!h || !r || (host && strcmp(h, host)) || (not_repo && !strcmp(r, not_repo)))
			continue;
		if (host_out)
			*host_out = xstrdup(h);
		if (repo_out)
			*repo_out = xstrdup(r);
		if (size)
			*size = json_is_integer(json_object_get(b, "size"))
					? json_integer_value(json_object_get(b, "size"))
					: -1;
		found = 1;
	}
	pthread_mutex_unlock(&l->lock);
	return found;
}

static int save_locked(struct store_blobloc *l, struct strata_error **err)
{
	if (!json_object_size(l->added))
		return 0;
	cleanup_free char *lockp = xasprintf("%s.lock", l->path);
	cleanup_close int lk = strata_lock_file(lockp, true, err);
	if (lk < 0)
		return -1;
	/* merge what others wrote meanwhile; a corrupt file is replaced */
	json_t *cur = NULL;
	if (strata_json_load_object(l->path, BLOBLOC_FILE_MAX, &cur, NULL) < 0)
		cur = json_object();
	merge_into(cur, l->added);
	size_t len = 0;
	cleanup_free char *text = strata_json_dump(cur, &len);
	if (strata_atomic_write(l->path, text, len, 0644, err) < 0) {
		json_decref(cur);
		return -1;
	}
	json_decref(l->doc);
	l->doc = cur;
	json_object_clear(l->added);
	if (l->legacy_dir) {
		cleanup_free char *rp = xasprintf("%s/remote-blobs.json", l->legacy_dir);
		cleanup_free char *sp = xasprintf("%s/registry-blobs.json", l->legacy_dir);
		unlink(rp);
		unlink(sp);
		free(l->legacy_dir);
		l->legacy_dir = NULL;
	}
	return 0;
}

int store_blobloc_save(struct store_blobloc *l, struct strata_error **err)
{
	pthread_mutex_lock(&l->lock);
	int r = save_locked(l, err);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int store_blobloc_note(struct store *s, const char *digest, int64_t size, const char *host, const char *repo,
		       struct strata_error **err)
{
	struct store_blobloc *l = NULL;
	if (store_blobloc_open(s, &l, err) < 0)
		return -1;
	int r = store_blobloc_add(l, digest, size, host, repo, err);
	if (r == 0)
		r = store_blobloc_save(l, err);
	store_blobloc_free(l);
	return r;
}

int store_blobloc_lookup(struct store *s, const char *digest, char **host, char **repo, int64_t *size,
			 struct strata_error **err)
{
	struct store_blobloc *l = NULL;
	if (store_blobloc_open(s, &l, err) < 0)
		return -1;
	int r = store_blobloc_find(l, digest, NULL, NULL, host, repo, size);
	store_blobloc_free(l);
	return r;
}
