/*
 * mount_import.c — an imported cache mount into the local cache-mount
 * directory, just before a RUN that mounts it runs (rcache_mount_import),
 * and `strata cache prune` of those local copies (rcache_mounts_prune).
 *
 * A mount directory (the executor's layout, build/executor.h):
 *     DIR/lock          flock: shared while a sharing=shared RUN uses it,
 *                       exclusive for locked/private RUNs and for an import;
 *                       its mtime is the mount's last use
 *     DIR/data          the content
 *     DIR/import.json   written here: what was imported, from where, when
 * Crash points: an import into an empty mount extracts into
 * DIR/data.import-XXXXXX and renames it onto DIR/data (a crash leaves the
 * temp directory, which `strata prune` removes with the mount or the next
 * import ignores); an import over an older local copy extracts in place (a
 * crash leaves a mix of old and imported files: still a usable cache, as
 * after an interrupted RUN) and import.json is written after it.
 */
#include "cache/cache.h"
#include "cache/internal.h"
#include "layer/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MARKER_MAX (1u << 20)

/* the imported parts, as recorded in import.json */
static json_t *parts_json(const struct rcache_mount *m)
{
	json_t *a = json_array();
	for (size_t i = 0; i < m->n_parts; i++)
		json_array_append_new(a, json_string(json_string_value(json_object_get(m->parts[i].desc, "digest"))));
	return a;
}

static int dir_empty(const char *path, bool *empty, struct strata_error **err)
{
	DIR *d = opendir(path);
	if (!d)
		return strata_error_make(err, errno, "open '%s'", path);
	struct dirent *de;
	*empty = true;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(d);
	return 0;
}

/* apply every part (fetched into the store first) onto target, an existing directory */
static int apply_parts(struct regclient *c, struct store *s, const struct rcache_mount *m, const char *target,
		       size_t *fetched, uint64_t *bytes, struct strata_error **err)
{
	for (size_t i = 0; i < m->n_parts; i++) {
		const json_t *desc = m->parts[i].desc;
		const char *dg = json_string_value(json_object_get(desc, "digest"));
		int64_t size = json_integer_value(json_object_get(desc, "size"));
		struct oci_digest d;
		if (oci_digest_parse(dg, &d, err) < 0)
			return -1;
		if (!store_blob_exists(s, &d)) {
			if (rcache_fetch_blob(c, s, dg, size, m->host, m->repo, err) < 0)
				return strata_error_wrap(err, "part '%s'", m->parts[i].path);
			(*fetched)++;
			*bytes += (uint64_t)size;
		}
		cleanup_close int fd = store_blob_open(s, &d, NULL, err);
		if (fd < 0)
			return -1;
		struct layer_apply_opts o = {
			.media_type = json_string_value(json_object_get(desc, "mediaType")),
			.digest = dg,
			.diff_id = m->parts[i].diff_id,
			.devices = LAYER_DEVICES_SKIP,
		};
		if (layer_apply_fd(fd, target, &o, NULL, err) < 0)
			return strata_error_wrap(err, "part '%s'", m->parts[i].path);
	}
	return 0;
}

static char *mb(uint64_t bytes)
{
	return xasprintf("%.1f MB", (double)bytes / 1e6);
}

int rcache_mount_import(struct regclient *c, struct store *s, const struct rcache_mount *m, const char *dir,
			char **line, struct strata_error **err)
{
	*line = NULL;
	if (strata_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *lock = xasprintf("%s/lock", dir);
	cleanup_free char *data = xasprintf("%s/data", dir);
	cleanup_free char *marker = xasprintf("%s/import.json", dir);
	bool lock_new = !strata_path_exists(lock);
	cleanup_close int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return strata_error_make(err, errno, "open '%s'", lock);
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return strata_error_make(err, errno, "lock '%s'", lock);
	cleanup_json json_t *want = parts_json(m);
	cleanup_json json_t *prev = NULL;
	if (strata_path_exists(marker) && strata_json_load_object(marker, MARKER_MAX, &prev, NULL) == 0 &&
	    json_equal(json_object_get(prev, "parts"), want) && strata_path_exists(data)) {
		*line = xasprintf("cache mount %s (%s): already imported from %s", m->id, m->target, m->source);
		return 0;
	}
	struct stat lst;
	if (fstat(lfd, &lst) < 0)
		return strata_error_make(err, errno, "stat '%s'", lock);
	bool exists = strata_path_exists(data), empty = true;
	if (exists && dir_empty(data, &empty, err) < 0)
		return -1;
	size_t fetched = 0;
	uint64_t bytes = 0;
	const char *how;
	if (!exists || empty) {
		cleanup_free char *tmp = NULL;
		if (strata_mkdtemp(dir, "data.import-", &tmp, err) < 0)
			return -1;
		int r = apply_parts(c, s, m, tmp, &fetched, &bytes, err);
		if (r == 0 && (chmod(tmp, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0 ||
			       chown(tmp, m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0) < 0))
			r = strata_error_make(err, errno, "set up '%s'", tmp);
		if (r == 0 && exists && rmdir(data) < 0)
			r = strata_error_make(err, errno, "replace the empty '%s'", data);
		if (r == 0 && rename(tmp, data) < 0)
			r = strata_error_make(err, errno, "rename '%s' to '%s'", tmp, data);
		if (r < 0) {
			strata_rm_rf(tmp, NULL);
			return -1;
		}
		how = "filled the empty mount";
	} else if (!lock_new && (int64_t)lst.st_mtime < m->created) {
		if (apply_parts(c, s, m, data, &fetched, &bytes, err) < 0)
			return strata_error_wrap(err, "'%s' is partly updated", data);
		how = "merged over the older local copy";
	} else {
		char used[64], made[64];
		oci_time_format(lst.st_mtime, used, sizeof(used));
		oci_time_format((time_t)m->created, made, sizeof(made));
		*line = xasprintf("cache mount %s (%s): the local copy (last used %s) is newer than %s's (made %s): kept",
				  m->id, m->target, used, m->source, made);
		return 0;
	}
	char now[64], made[64];
	oci_time_format(time(NULL), now, sizeof(now));
	oci_time_format((time_t)m->created, made, sizeof(made));
	cleanup_json json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:O}", "id", m->id, "target", m->target,
					     "source", m->source ? m->source : "", "created", made, "imported", now,
					     "size", (json_int_t)m->size, "parts", want);
	cleanup_free char *text = strata_json_dump(rec, NULL);
	if (strata_atomic_write(marker, text, strlen(text), 0600, err) < 0)
		return -1;
	cleanup_free char *mbs = mb(bytes);
	*line = xasprintf("imported cache mount %s (%s) from %s: %s, %zu blobs fetched (%s)", m->id, m->target,
			  m->source ? m->source : "?", how, fetched, mbs);
	return 0;
}

void rcache_pruned_mounts_free(struct rcache_pruned_mount *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].target);
		free(v[i].source);
	}
	free(v);
}

static uint64_t du(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint64_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *p = xasprintf("%s/%s", path, de->d_name);
		n += du(p);
	}
	closedir(d);
	return n;
}

int rcache_mounts_prune(const char *root, bool dry_run, struct rcache_pruned_mount **out, size_t *n,
			struct strata_error **err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return strata_error_make(err, errno, "open '%s'", root);
	}
	struct rcache_pruned_mount *v = NULL;
	size_t nv = 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_free char *dir = xasprintf("%s/%s", root, de->d_name);
		cleanup_free char *marker = xasprintf("%s/import.json", dir);
		cleanup_json json_t *rec = NULL;
		if (!strata_path_exists(marker))
			continue; /* a mount filled by this runner's own RUNs: not an imported copy */
		if (strata_json_load_object(marker, MARKER_MAX, &rec, NULL) < 0)
			rec = json_object(); /* unreadable: still an imported copy */
		cleanup_free char *lock = xasprintf("%s/lock", dir);
		cleanup_close int lfd = open(lock, O_RDONLY | O_CLOEXEC);
		bool busy = lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0;
		v = xreallocarray(v, nv + 1, sizeof(*v));
		struct rcache_pruned_mount *p = &v[nv++];
		const char *id = json_string_value(json_object_get(rec, "id"));
		const char *target = json_string_value(json_object_get(rec, "target"));
		const char *src = json_string_value(json_object_get(rec, "source"));
		p->id = xstrdup(id ? id : de->d_name);
		p->target = xstrdup(target ? target : "?");
		p->source = xstrdup(src ? src : "?");
		p->busy = busy;
		p->bytes = du(dir);
		if (busy || dry_run)
			continue;
		/* the whole mount directory goes: the lock file with it (held by us until closed) */
		cleanup_free char *gone = xasprintf("%s/.pruned-%s", root, de->d_name);
		if (rename(dir, gone) < 0 || strata_rm_rf(gone, err) < 0)
			r = strata_error_make(err, errno, "remove '%s'", dir);
	}
	closedir(d);
	if (r < 0) {
		rcache_pruned_mounts_free(v, nv);
		return -1;
	}
	*out = v;
	*n = nv;
	return 0;
}
