/*
 * mount_pack.c — a cache mount's directory into store blobs for --cache-to
 * (cache.h: rcache_mount_pack; docs/internals/cache.md, "Cache mounts").
 *
 * The split, so that an unchanged part gives the same blob (the registry
 * HEAD finds it: nothing uploads) and a change re-uploads only its part:
 *  - "."        every top-level entry that is not a directory, one tar;
 *  - "NAME"     each top-level directory, one tar (prefix NAME);
 *  - a top-level directory holding more than RCACHE_MOUNT_SPLIT bytes is
 *    split once more: "NAME/SUB" each of its subdirectories, "NAME/#K" its
 *    other entries in buckets by the first hex digit K of sha256(entry
 *    name) (a bucket also carries NAME's own owner, mode and mtime; an
 *    empty directory gets "NAME/#0" alone).
 * Tars are layer_create's: entries sorted, mtimes from the files in whole
 * seconds, no atime/ctime, no user names — the same tree, the same bytes.
 * Groups of entries (".", buckets) are tarred from a staging directory of
 * hard links made next to the data (same filesystem), removed afterwards.
 */
#include "cache/cache.h"
#include "cache/internal.h"
#include "layer/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct names {
	char **v;
	size_t n;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd, sorted bytewise. */
static int list_dir(int fd, const char *display, struct names *out, struct strata_error **err)
{
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
	if (!d) {
		if (d2 >= 0)
			close(d2);
		return strata_error_make(err, errno, "open directory '%s'", display);
	}
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		out->v = xreallocarray(out->v, out->n + 1, sizeof(char *));
		out->v[out->n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(char *), cmp_name);
	return 0;
}

/* Bytes of file content below fd/name (itself included) and the newest mtime. */
static int tree_stat(int fd, const char *name, const char *display, int depth, uint64_t *size, int64_t *newest,
		     struct strata_error **err)
{
	struct stat st;
	if (depth > 256)
		return strata_error_make(err, ELOOP, "'%s'", display);
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "stat '%s'", display);
	if (st.st_mtime > *newest)
		*newest = st.st_mtime;
	if (S_ISREG(st.st_mode))
		*size += (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode))
		return 0;
	cleanup_close int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return strata_error_make(err, errno, "open '%s'", display);
	struct names ns = { 0 };
	if (list_dir(sub, display, &ns, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < ns.n && r == 0; i++) {
		cleanup_free char *p = xasprintf("%s/%s", display, ns.v[i]);
		r = tree_stat(sub, ns.v[i], p, depth + 1, size, newest, err);
	}
	names_free(&ns);
	return r;
}

/* Tar the tree at src (prefix inside the tar, or NULL) into a store blob: the part. */
static int pack_tree(struct store *s, const char *src, const char *prefix, const char *path,
		     struct rcache_mount_part *part, struct strata_error **err)
{
	struct store_blob_writer *w = NULL;
	if (store_blob_writer_open(s, NULL, -1, &w, err) < 0)
		return -1;
	struct strata_sink sink = store_blob_writer_sink(w);
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	co.prefix = prefix;
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_GZIP };
	struct layer_result res;
	if (layer_create_blob(src, &co, &wo, &sink, &res, err) < 0) {
		store_blob_writer_abort(w);
		return strata_error_wrap(err, "pack '%s'", path);
	}
	if (store_blob_writer_commit(w, NULL, NULL, err) < 0)
		return strata_error_wrap(err, "pack '%s'", path);
	part->path = xstrdup(path);
	part->desc = oci_descriptor_new(res.media_type, res.digest, (int64_t)res.size);
	part->diff_id = xstrdup(res.diff_id);
	return 0;
}

static struct rcache_mount_part *new_part(struct rcache_mount *m)
{
	m->parts = xreallocarray(m->parts, m->n_parts + 1, sizeof(*m->parts));
	struct rcache_mount_part *p = &m->parts[m->n_parts++];
	memset(p, 0, sizeof(*p));
	return p;
}

/*
 * A part made of some entries of directory srcdir (names): hard links in a
 * new staging directory under dir, which takes srcdir's owner, mode and
 * mtime (it stands for srcdir when prefix is set).
 */
static int pack_group(struct store *s, const char *dir, const char *srcdir, char *const *names, size_t n,
		      const char *prefix, const char *path, struct rcache_mount *m, struct strata_error **err)
{
	cleanup_free char *stage = NULL;
	if (strata_mkdtemp(dir, "export-", &stage, err) < 0)
		return -1;
	int r = 0;
	cleanup_close int sfd = open(srcdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int tfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (sfd < 0 || tfd < 0 || fstat(sfd, &st) < 0)
		r = strata_error_make(err, errno, "open '%s'", srcdir);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (linkat(sfd, names[i], tfd, names[i], 0) < 0)
			r = strata_error_make(err, errno, "link '%s/%s' for packing", srcdir, names[i]);
	if (r == 0) {
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		if (fchown(tfd, st.st_uid, st.st_gid) < 0 || fchmod(tfd, st.st_mode & 07777) < 0 ||
		    futimens(tfd, ts) < 0)
			r = strata_error_make(err, errno, "set up '%s'", stage);
	}
	if (r == 0) {
		struct rcache_mount_part *p = new_part(m);
		if (pack_tree(s, stage, prefix, path, p, err) < 0) {
			m->n_parts--;
			r = -1;
		}
	}
	strata_rm_rf(stage, NULL);
	return r;
}

/* bucket of an entry name: the first hex digit of sha256(name) */
static int bucket_of(const char *name)
{
	char hex[65];
	strata_sha256_hex(name, strlen(name), hex);
	return hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'a' + 10;
}

static int pack_split(struct store *s, const char *dir, const char *data, const char *name, struct rcache_mount *m,
		      struct strata_error **err)
{
	cleanup_free char *src = xasprintf("%s/%s", data, name);
	cleanup_close int fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", src);
	struct names ns = { 0 };
	if (list_dir(fd, src, &ns, err) < 0)
		return -1;
	char **bucket[RCACHE_MOUNT_BUCKETS] = { 0 };
	size_t nb[RCACHE_MOUNT_BUCKETS] = { 0 };
	int r = 0;
	for (size_t i = 0; i < ns.n && r == 0; i++) {
		struct stat st;
		if (fstatat(fd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = strata_error_make(err, errno, "stat '%s/%s'", src, ns.v[i]);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			cleanup_free char *sub = xasprintf("%s/%s", src, ns.v[i]);
			cleanup_free char *path = xasprintf("%s/%s", name, ns.v[i]);
			struct rcache_mount_part *p = new_part(m);
			if (pack_tree(s, sub, path, path, p, err) < 0) {
				m->n_parts--;
				r = -1;
			}
			continue;
		}
		int b = bucket_of(ns.v[i]);
		bucket[b] = xreallocarray(bucket[b], nb[b] + 1, sizeof(char *));
		bucket[b][nb[b]++] = ns.v[i];
	}
	/* buckets after the subdirectories: they set NAME's own metadata last */
	bool any = false;
	for (int b = 0; b < RCACHE_MOUNT_BUCKETS && r == 0; b++) {
		if (!nb[b] && (b != RCACHE_MOUNT_BUCKETS - 1 || any))
			continue;
		int k = nb[b] ? b : 0;
		cleanup_free char *path = xasprintf("%s/#%x", name, k);
		r = pack_group(s, dir, src, bucket[b], nb[b], name, path, m, err);
		any = true;
	}
	for (int b = 0; b < RCACHE_MOUNT_BUCKETS; b++)
		free(bucket[b]);
	names_free(&ns);
	return r;
}

int rcache_mount_pack(struct store *s, const char *dir, uint64_t max_size, struct rcache_mount *m, const char **why,
		      struct strata_error **err)
{
	*why = NULL;
	m->n_parts = 0;
	m->size = 0;
	m->created = 0;
	cleanup_free char *lock = xasprintf("%s/lock", dir);
	cleanup_free char *data = xasprintf("%s/data", dir);
	cleanup_close int lfd = open(lock, O_RDONLY | O_CLOEXEC);
	if (lfd < 0 && errno == ENOENT) {
		*why = "absent";
		return 0;
	}
	if (lfd < 0)
		return strata_error_make(err, errno, "open '%s'", lock);
	/* shared: RUNs with sharing=locked (and private ones) write under an exclusive lock */
	while (flock(lfd, LOCK_SH) < 0)
		if (errno != EINTR)
			return strata_error_make(err, errno, "lock '%s'", lock);
	cleanup_close int dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		*why = "absent";
		return 0;
	}
	if (dfd < 0)
		return strata_error_make(err, errno, "open '%s'", data);
	struct names ns = { 0 };
	if (list_dir(dfd, data, &ns, err) < 0)
		return -1;
	int r = 0;
	uint64_t total = 0;
	int64_t newest = 0;
	uint64_t *sizes = xcalloc(ns.n + 1, sizeof(uint64_t));
	for (size_t i = 0; i < ns.n && r == 0; i++) {
		cleanup_free char *p = xasprintf("%s/%s", data, ns.v[i]);
		r = tree_stat(dfd, ns.v[i], p, 0, &sizes[i], &newest, err);
		total += sizes[i];
	}
	if (r == 0 && !ns.n)
		*why = "empty";
	else if (r == 0 && max_size && total > max_size)
		*why = "over max-mount-size";
	m->size = total;
	m->created = newest;
	if (r < 0 || *why) {
		free(sizes);
		names_free(&ns);
		return r;
	}
	struct names files = { 0 };
	for (size_t i = 0; i < ns.n && r == 0; i++) {
		struct stat st;
		if (fstatat(dfd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = strata_error_make(err, errno, "stat '%s/%s'", data, ns.v[i]);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			files.v = xreallocarray(files.v, files.n + 1, sizeof(char *));
			files.v[files.n++] = ns.v[i];
			continue;
		}
		if (sizes[i] > RCACHE_MOUNT_SPLIT) {
			r = pack_split(s, dir, data, ns.v[i], m, err);
			continue;
		}
		cleanup_free char *src = xasprintf("%s/%s", data, ns.v[i]);
		struct rcache_mount_part *p = new_part(m);
		if (pack_tree(s, src, ns.v[i], ns.v[i], p, err) < 0) {
			m->n_parts--;
			r = -1;
		}
	}
	if (r == 0 && files.n)
		r = pack_group(s, dir, data, files.v, files.n, NULL, ".", m, err);
	free(files.v); /* the names belong to ns */
	free(sizes);
	names_free(&ns);
	if (r < 0)
		return strata_error_wrap(err, "cache mount '%s'", m->id);
	return 1;
}
