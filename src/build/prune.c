/*
 * prune.c — garbage collection of build state, together with the store's
 * blob sweep, under the store's exclusive gc lock (docs/internals/build.md,
 * "Garbage collection").
 *
 * Order of removal, so that a crash at any point leaves nothing a build
 * could misuse: cache entries (keys/ first: the entry is then a miss), then
 * inputs/ and last/, then snapshots (renamed to a dot name first, so a half
 * removed tree is never a snapshot), then cache mounts (same), then blobs.
 */
#include "build/build_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEASE_MAX (1u << 20)

struct rec {
	struct oci_digest diff_id; /* sha256 or sha512: the snapshot is named by its hex */
	bool has_snapshot;
	int64_t snap_bytes;
	time_t used;        /* newest of the stamp, the snapshot's ctime, its entries' mtimes */
	int64_t blob_bytes; /* layer blobs only cache entries keep */
	int64_t entry_bytes;
	bool image_layer;   /* a layer of an image in index.json */
	bool leased;        /* used by a running `strata run` */
	bool remove;        /* selected (all / filters) */
	size_t n_entries;   /* entries that parse and have their blob */
	size_t n_live;      /* entries that stay */
};

struct entry {
	char hex[65];
	char *diff_id;
	json_t *layer; /* the layer descriptor (borrowed from doc) */
	json_t *doc;
	struct oci_digest blob;
	int64_t bytes; /* keys + inputs files */
	time_t mtime;
	bool dangling; /* unparsable, or its blob is gone */
	size_t rec;
};

struct mount {
	char *name;
	int64_t bytes;
	time_t used;
	bool remove;
};

struct gc {
	const char *root;
	const struct build_prune_options *o;
	struct store *s;
	struct store_gc *g;
	struct build_prune_result *out;
	struct rec *recs;
	size_t n_recs, cap_recs;
	json_t *rec_index; /* hex -> index in recs */
	struct entry *entries;
	size_t n_entries, cap_entries;
	struct mount *mounts;
	size_t n_mounts, cap_mounts;
	json_t *live_keys; /* hex -> true: cache entries that stay */
	json_t *all_keys;  /* hex -> true: every entry found in keys/ */
	json_t *leases;    /* diff hex -> true */
	json_t *stamps;    /* diff hex -> mtime */
};

void build_prune_result_release(struct build_prune_result *r)
{
	store_prune_result_release(&r->blobs);
	for (size_t i = 0; i < r->n_removed; i++)
		free(r->removed[i].id);
	free(r->removed);
	memset(r, 0, sizeof(*r));
}

static void report(struct gc *c, enum build_prune_kind kind, const char *id, int64_t size)
{
	struct build_prune_result *r = c->out;
	if (id) {
		r->removed = xreallocarray(r->removed, r->n_removed + 1, sizeof(*r->removed));
		r->removed[r->n_removed++] = (struct build_prune_removed){ kind, xstrdup(id), size };
	}
	r->bytes += size;
}

/*
 * A snapshot's name is the encoded part of its diff_id: 64 hex digits for
 * sha256, 128 for sha512 (the registered algorithms tell them apart by
 * length). true with *d filled when name is one.
 */
static bool snapshot_name(const char *name, struct oci_digest *d)
{
	size_t n = strlen(name);
	if (n != 64 && n != 128)
		return false;
	cleanup_free char *s = xasprintf("%s:%s", n == 64 ? "sha256" : "sha512", name);
	return oci_digest_parse(s, d, NULL) == 0;
}

static size_t rec_get(struct gc *c, const struct oci_digest *diff_id)
{
	const char *hex = diff_id->hex;
	json_t *i = json_object_get(c->rec_index, hex);
	if (i)
		return (size_t)json_integer_value(i);
	if (c->n_recs == c->cap_recs) {
		c->cap_recs = c->cap_recs ? c->cap_recs * 2 : 32;
		c->recs = xreallocarray(c->recs, c->cap_recs, sizeof(*c->recs));
	}
	struct rec *r = &c->recs[c->n_recs];
	memset(r, 0, sizeof(*r));
	r->diff_id = *diff_id;
	r->image_layer = store_gc_image_layer(c->g, diff_id->str);
	json_t *st = json_object_get(c->stamps, hex);
	r->used = st ? (time_t)json_integer_value(st) : 0;
	json_object_set_new(c->rec_index, hex, json_integer((json_int_t)c->n_recs));
	return c->n_recs++;
}

static int64_t file_bytes(const struct stat *st)
{
	return (int64_t)st->st_blocks * 512;
}

/* Remove a file under the exclusive lock (dot temp files, orphans): counted, not listed. */
static int remove_quiet(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!c->o->dry_run && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return strata_error_make(err, errno, "remove '%s%s%s'", name[0] == '/' ? "" : dir,
					 name[0] == '/' ? "" : "/", name);
	report(c, BUILD_PRUNE_OTHER, NULL, file_bytes(&st));
	return 0;
}

/* ---- scanning ---- */

/*
 * Call fn(c, dfd, dir, name, err) for each name in the directory root/rel
 * but "." and ".." (none when it does not exist). @return 0 or -1.
 */
static int each_name(struct gc *c, const char *rel,
		     int (*fn)(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err),
		     struct strata_error **err)
{
	cleanup_free char *dir = xasprintf("%s/%s", c->root, rel);
	cleanup_closedir DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", dir);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fn(c, dirfd(d), dir, de->d_name, err) < 0)
			return -1;
	}
	return 0;
}

/* A leftover tree under the lock (a dead build's work dir, an interrupted
 * extraction or removal): measured, removed, listed as area/name. Best
 * effort: one that cannot go (a mount left inside it, EACCES) is a warning,
 * never a prune that fails every time until someone removes it by hand. */
static int remove_leftover(struct gc *c, const char *dir, const char *area, const char *name,
			   struct strata_error **err)
{
	(void)err;
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	int64_t bytes = 0;
	struct strata_error *le = NULL;
	if (prune_tree_usage(path, &bytes, &le) < 0 || (!c->o->dry_run && prune_tree_remove(path, &le) < 0)) {
		char *m = strata_error_string(le);
		LOG_WARN("prune: left %s/%s: %s", area, name, m);
		free(m);
		strata_error_free(le);
		return 0;
	}
	cleanup_free char *rel = xasprintf("%s/%s", area, name);
	report(c, BUILD_PRUNE_OTHER, rel, bytes);
	return 0;
}

/* Open dir/name/lock. @return its fd (-1 when absent); *busy when a live process holds the lock. */
static int probe_lock(const char *dir, const char *name, bool *busy)
{
	cleanup_free char *lock = xasprintf("%s/%s/lock", dir, name);
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	*busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0;
	return fd;
}

static int scan_stamp(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	(void)dir;
	(void)err;
	struct stat st;
	struct oci_digest d;
	if (snapshot_name(name, &d) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		json_object_set_new(c->stamps, name, json_integer((json_int_t)st.st_mtime));
	return 0;
}

/* Leases: a live work dir (its lock is held) lists the snapshots it uses;
 * a dead one (lock free) is removed. */
static int scan_tmp(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	bool busy;
	cleanup_close int fd = probe_lock(dir, name, &busy);
	if (busy) {
		cleanup_free char *lp = xasprintf("%s/%s/snapshots", dir, name);
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		if (strata_read_file(lp, &b, LEASE_MAX, NULL) < 0)
			return 0;
		char *save = NULL;
		struct oci_digest d;
		for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (snapshot_name(line, &d))
				json_object_set_new(c->leases, line, json_true());
		return 0;
	}
	/* dead (killed) builds and runs: their mounts died with their namespaces */
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	bool fresh = !strncmp(name, ".new-", 5);
	if ((fd < 0 || fresh) && time(NULL) - st.st_mtime < 60)
		return 0; /* just created, not locked or named yet (engine_work_dir) */
	return remove_leftover(c, dir, "build/tmp", name, err);
}

static int scan_entry(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	if (name[0] == '.' && strstr(name, ".tmp-"))
		return remove_quiet(c, dfd, dir, name, err); /* an atomic write that never finished */
	struct stat st;
	if (!oci_sha256_hex_valid(name) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (c->n_entries == c->cap_entries) {
		c->cap_entries = c->cap_entries ? c->cap_entries * 2 : 64;
		c->entries = xreallocarray(c->entries, c->cap_entries, sizeof(*c->entries));
	}
	struct entry *e = &c->entries[c->n_entries++];
	memset(e, 0, sizeof(*e));
	snprintf(e->hex, sizeof(e->hex), "%.64s", name);
	json_object_set_new(c->all_keys, e->hex, json_true());
	e->mtime = st.st_mtime;
	e->bytes = file_bytes(&st);
	cleanup_free char *inputs = xasprintf("%s/build/cache/inputs/%s", c->root, e->hex);
	struct stat ist;
	if (lstat(inputs, &ist) == 0)
		e->bytes += file_bytes(&ist);
	cleanup_free char *p = xasprintf("%s/%s", dir, e->hex);
	const char *diff = NULL, *dg = NULL;
	if (strata_json_load_file(p, 1 << 16, &e->doc, NULL) == 0) {
		diff = json_string_value(json_object_get(e->doc, "diff_id"));
		e->layer = json_object_get(e->doc, "layer");
		dg = json_string_value(json_object_get(e->layer, "digest"));
	}
	struct oci_digest dd;
	e->dangling = !diff || oci_digest_parse(diff, &dd, NULL) < 0 || !dg || oci_digest_parse(dg, &e->blob, NULL) < 0 ||
		      !json_string_value(json_object_get(e->layer, "mediaType")) ||
		      !store_blob_exists(c->s, &e->blob);
	if (e->dangling)
		return 0;
	e->diff_id = xstrdup(diff);
	e->rec = rec_get(c, &dd);
	struct rec *r = &c->recs[e->rec];
	r->entry_bytes += e->bytes;
	r->n_entries++;
	if (e->mtime > r->used)
		r->used = e->mtime;
	return 0;
}

static int scan_snapshot(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/* an interrupted extraction (".<hex>.tmp-*") or removal (".gc-*"):
	 * nobody extracts while we hold the lock */
	if (name[0] == '.')
		return remove_leftover(c, dir, "build/snapshots", name, err);
	struct oci_digest d;
	if (!snapshot_name(name, &d) || !S_ISDIR(st.st_mode))
		return 0;
	size_t ri = rec_get(c, &d); /* may move c->recs */
	struct rec *r = &c->recs[ri];
	r->has_snapshot = true;
	r->leased = json_object_get(c->leases, name) != NULL;
	if (!json_object_get(c->stamps, name) && st.st_ctime > r->used)
		r->used = st.st_ctime; /* no stamp (older strata): when it was made */
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	return prune_tree_usage(path, &r->snap_bytes, err);
}

static int scan_mount(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (!oci_sha256_hex_valid(name)) {
		/* ".gc-*" (an interrupted removal) or "private-*" (the copy of a busy
		 * sharing=private mount whose build died: builds are excluded now) */
		if (name[0] != '.' && strncmp(name, "private-", 8))
			return 0;
		return remove_leftover(c, dir, "cache/run-mounts", name, err);
	}
	bool busy;
	cleanup_close int fd = probe_lock(dir, name, &busy);
	if (busy) {
		c->out->kept_busy++; /* a RUN holds it */
		return 0;
	}
	struct stat lst;
	time_t used = fd >= 0 && fstat(fd, &lst) == 0 ? lst.st_mtime : st.st_mtime;
	if (c->n_mounts == c->cap_mounts) {
		c->cap_mounts = c->cap_mounts ? c->cap_mounts * 2 : 8;
		c->mounts = xreallocarray(c->mounts, c->cap_mounts, sizeof(*c->mounts));
	}
	struct mount *m = &c->mounts[c->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->used = used;
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	return prune_tree_usage(path, &m->bytes, err);
}

/* Blobs only cache entries keep count as build state, each once. */
static int count_blobs(struct gc *c, struct strata_error **err)
{
	cleanup_json json_t *seen = json_object();
	for (size_t i = 0; i < c->n_entries; i++) {
		struct entry *e = &c->entries[i];
		if (e->dangling || store_gc_marked(c->g, &e->blob) || json_object_get(seen, e->blob.str))
			continue;
		json_object_set_new(seen, e->blob.str, json_true());
		int64_t size = 0;
		if (store_blob_stat(c->s, &e->blob, &size, err) < 0)
			return -1;
		c->recs[e->rec].blob_bytes += size;
	}
	return 0;
}

/* ---- selection ---- */

static void select_records(struct gc *c)
{
	const struct build_prune_options *o = c->o;
	if (o->all && o->until <= 0 && o->keep_storage < 0) {
		for (size_t i = 0; i < c->n_recs; i++)
			c->recs[i].remove = true;
		for (size_t i = 0; i < c->n_mounts; i++)
			c->mounts[i].remove = true;
		return;
	}
	if (o->until <= 0 && o->keep_storage < 0)
		return;
	size_t n = c->n_recs + c->n_mounts;
	struct build_prune_item *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < c->n_recs; i++) {
		struct rec *r = &c->recs[i];
		v[i].last_used = r->used;
		v[i].size = r->snap_bytes + r->entry_bytes + r->blob_bytes;
		/* nothing left to select (an orphan stamp, only dangling entries), or
		 * in use by a run: neither counted nor selected */
		v[i].remove = (!r->has_snapshot && !r->n_entries) || r->leased;
	}
	for (size_t i = 0; i < c->n_mounts; i++) {
		v[c->n_recs + i].last_used = c->mounts[i].used;
		v[c->n_recs + i].size = c->mounts[i].bytes;
	}
	time_t now = o->now ? o->now : time(NULL);
	build_prune_select(v, n, now, o->until, o->keep_storage);
	for (size_t i = 0; i < c->n_recs; i++) {
		struct rec *r = &c->recs[i];
		r->remove = v[i].remove && !r->leased && (r->has_snapshot || r->n_entries);
	}
	for (size_t i = 0; i < c->n_mounts; i++)
		c->mounts[i].remove = v[c->n_recs + i].remove;
	free(v);
}

/* ---- removal ---- */

static int remove_entries(struct gc *c, struct strata_error **err)
{
	for (size_t i = 0; i < c->n_entries; i++) {
		struct entry *e = &c->entries[i];
		if (!e->dangling && !c->recs[e->rec].remove) {
			json_object_set_new(c->live_keys, e->hex, json_true());
			c->recs[e->rec].n_live++;
			continue;
		}
		if (!c->o->dry_run) {
			const char *dirs[] = { "keys", "inputs" };
			for (size_t k = 0; k < 2; k++) {
				cleanup_free char *p = xasprintf("%s/build/cache/%s/%s", c->root, dirs[k], e->hex);
				if (unlink(p) < 0 && errno != ENOENT)
					return strata_error_make(err, errno, "remove '%s'", p);
			}
		}
		cleanup_free char *id = xasprintf("sha256:%s", e->hex);
		report(c, BUILD_PRUNE_ENTRY, id, e->bytes);
	}
	return 0;
}

/* inputs/ of keys that are gone */
static int drop_input(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	bool drop;
	if (name[0] == '.')
		drop = strstr(name, ".tmp-") != NULL;
	else
		/* the inputs of an entry removed above went (and were counted) with it */
		drop = oci_sha256_hex_valid(name) && !json_object_get(c->live_keys, name) &&
		       !json_object_get(c->all_keys, name);
	return drop ? remove_quiet(c, dfd, dir, name, err) : 0;
}

/* last/ naming keys that are gone */
static int drop_last(struct gc *c, int dfd, const char *dir, const char *name, struct strata_error **err)
{
	bool drop;
	if (name[0] == '.') {
		drop = strstr(name, ".tmp-") != NULL;
	} else if (!oci_sha256_hex_valid(name)) {
		drop = false;
	} else {
		cleanup_free char *p = xasprintf("%s/%s", dir, name);
		cleanup_json json_t *j = NULL;
		const char *key = NULL;
		if (strata_json_load_file(p, 4096, &j, NULL) == 0)
			key = json_string_value(json_object_get(j, "key"));
		drop = !key || strncmp(key, "sha256:", 7) || !json_object_get(c->live_keys, key + 7);
	}
	return drop ? remove_quiet(c, dfd, dir, name, err) : 0;
}

/* Rename dir/name to dir/.gc-name (no longer what it was, even if removal stops half way), then remove it. */
static int remove_renamed(struct gc *c, const char *area, const char *name, struct strata_error **err)
{
	cleanup_free char *p = xasprintf("%s/%s/%s", c->root, area, name);
	cleanup_free char *trash = xasprintf("%s/%s/.gc-%s", c->root, area, name);
	if (rename(p, trash) < 0)
		return strata_error_make(err, errno, "rename '%s'", p);
	return prune_tree_remove(trash, err);
}

static int remove_snapshots(struct gc *c, struct strata_error **err)
{
	for (size_t i = 0; i < c->n_recs; i++) {
		struct rec *r = &c->recs[i];
		if (!r->has_snapshot || !(r->remove || (!r->n_live && !r->image_layer)))
			continue;
		if (r->leased) {
			c->out->kept_busy++;
			continue;
		}
		if (!c->o->dry_run && remove_renamed(c, "build/snapshots", r->diff_id.hex, err) < 0)
			return strata_error_wrap(err, "remove snapshot %s", r->diff_id.str);
		r->has_snapshot = false;
		report(c, BUILD_PRUNE_SNAPSHOT, r->diff_id.str, r->snap_bytes);
	}
	/* stamps of layers with neither a snapshot nor a live entry left */
	cleanup_free char *dir = xasprintf("%s/build/used", c->root);
	const char *hex;
	json_t *v;
	json_object_foreach(c->stamps, hex, v) {
		json_t *ri = json_object_get(c->rec_index, hex);
		struct rec *r = ri ? &c->recs[json_integer_value(ri)] : NULL;
		if (r && (r->has_snapshot || r->n_live))
			continue;
		cleanup_free char *path = xasprintf("%s/%s", dir, hex);
		if (remove_quiet(c, AT_FDCWD, dir, path, err) < 0)
			return -1;
	}
	return 0;
}

static int remove_mounts(struct gc *c, struct strata_error **err)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		struct mount *m = &c->mounts[i];
		if (!m->remove)
			continue;
		if (!c->o->dry_run && remove_renamed(c, "cache/run-mounts", m->name, err) < 0)
			return strata_error_wrap(err, "remove cache mount %s", m->name);
		report(c, BUILD_PRUNE_MOUNT, m->name, m->bytes);
	}
	return 0;
}

/* --build-cache: ADD downloads and context stat caches go too */
static int remove_caches(struct gc *c, struct strata_error **err)
{
	const char *subs[] = { "build/downloads", "build/statcache" };
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *p = xasprintf("%s/%s", c->root, subs[i]);
		if (!strata_path_exists(p))
			continue;
		int64_t bytes = 0;
		if (prune_tree_usage(p, &bytes, err) < 0 || (!c->o->dry_run && prune_tree_remove(p, err) < 0))
			return -1;
		report(c, BUILD_PRUNE_OTHER, subs[i], bytes);
	}
	return 0;
}

static int keep_roots(struct gc *c, struct strata_error **err)
{
	for (size_t i = 0; i < c->n_entries; i++) {
		struct entry *e = &c->entries[i];
		if (!json_object_get(c->live_keys, e->hex))
			continue;
		struct oci_descriptor d;
		if (oci_descriptor_decode(e->layer, "layer", &d, NULL) < 0) {
			/* cannot happen for a parsed entry; keep the blob by digest */
			struct oci_descriptor min = { .digest = e->blob, .media_type = (char *)"" };
			if (store_gc_keep(c->g, &min, err) < 0)
				return -1;
			continue;
		}
		int r = store_gc_keep(c->g, &d, err);
		oci_descriptor_release(&d);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void remaining(struct gc *c)
{
	int64_t left = 0;
	for (size_t i = 0; i < c->n_recs; i++) {
		struct rec *r = &c->recs[i];
		if (r->has_snapshot)
			left += r->snap_bytes;
		if (r->n_live)
			left += r->entry_bytes + r->blob_bytes;
	}
	for (size_t i = 0; i < c->n_mounts; i++)
		if (!c->mounts[i].remove)
			left += c->mounts[i].bytes;
	c->out->remaining = left;
}

static void gc_release(struct gc *c)
{
	store_gc_end(c->g);
	for (size_t i = 0; i < c->n_entries; i++) {
		free(c->entries[i].diff_id);
		json_decref(c->entries[i].doc);
	}
	free(c->entries);
	free(c->recs);
	for (size_t i = 0; i < c->n_mounts; i++)
		free(c->mounts[i].name);
	free(c->mounts);
	json_decref(c->rec_index);
	json_decref(c->live_keys);
	json_decref(c->all_keys);
	json_decref(c->leases);
	json_decref(c->stamps);
}

int build_prune(const char *root, struct store *s, const struct build_prune_options *o,
		struct build_prune_result *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	struct gc c = {
		.root = root,
		.o = o,
		.s = s,
		.out = out,
		.rec_index = json_object(),
		.live_keys = json_object(),
		.all_keys = json_object(),
		.leases = json_object(),
		.stamps = json_object(),
	};
	if (store_gc_begin(s, &c.g, err) < 0) {
		gc_release(&c);
		return -1;
	}
	int r = -1;
	if (each_name(&c, "build/used", scan_stamp, err) < 0 || each_name(&c, "build/tmp", scan_tmp, err) < 0 ||
	    each_name(&c, "build/cache/keys", scan_entry, err) < 0 ||
	    each_name(&c, "build/snapshots", scan_snapshot, err) < 0 ||
	    each_name(&c, "cache/run-mounts", scan_mount, err) < 0 || count_blobs(&c, err) < 0)
		goto out;
	select_records(&c);
	if (remove_entries(&c, err) < 0 || each_name(&c, "build/cache/inputs", drop_input, err) < 0 ||
	    each_name(&c, "build/cache/last", drop_last, err) < 0 || remove_snapshots(&c, err) < 0 ||
	    remove_mounts(&c, err) < 0 || (o->all && remove_caches(&c, err) < 0))
		goto out;
	remaining(&c);
	if (keep_roots(&c, err) < 0 || store_gc_sweep(c.g, o->dry_run, &out->blobs, err) < 0)
		goto out;
	r = 0;
out:
	gc_release(&c);
	if (r < 0) {
		build_prune_result_release(out);
		return strata_error_wrap(err, "prune build state under '%s'", root);
	}
	return 0;
}
