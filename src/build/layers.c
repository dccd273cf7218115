/*
 * layers.c — snapshots and layer blobs.
 *
 * A step's upper dir becomes a layer blob in the store (a reproducible tar,
 * gzip, whiteouts converted) and is then kept as the snapshot of that layer,
 * named by its diff_id: <root>/build/snapshots/<diff_id hex>. A layer that
 * came from elsewhere (an imported or loaded base image) is extracted once
 * into the same place with overlay whiteouts, so any chain of diff_ids is an
 * overlay lowerdir list.
 */
#include "build/sandbox.h"
#include "build/build_internal.h"
#include "layer/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* a snapshot is named by the encoded part of its diff_id (64 or 128 hex) */
static const char *snapshot_id(const char *diff_id)
{
	const char *c = strchr(diff_id, ':');
	return c ? c + 1 : diff_id;
}

char *snapshot_dir(const char *root, const char *diff_id)
{
	return xasprintf("%s/build/snapshots/%s", root, snapshot_id(diff_id));
}

void snapshot_touch(const char *root, const char *diff_id)
{
	const char *hex = snapshot_id(diff_id);
	cleanup_free char *p = xasprintf("%s/build/used/%s", root, hex);
	if (utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return;
	cleanup_free char *dir = xasprintf("%s/build/used", root);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static time_t clamp_to;
static int clamp_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_mtime <= clamp_to && st->st_atime <= clamp_to)
		return 0;
	const struct timespec ts[2] = { { clamp_to, 0 }, { clamp_to, 0 } };
	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : 0;
}

/*
 * Clamp the mtimes in the upper dir itself (not only in the layer made from
 * it), so the snapshot later steps and `strata run` see is the layer.
 */
static int clamp_tree(const char *upper, int64_t t, struct strata_error **err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* nftw has no context argument */
	pthread_mutex_lock(&lock);
	clamp_to = (time_t)t;
	int r = nftw(upper, clamp_one, 32, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
	int e = errno;
	pthread_mutex_unlock(&lock);
	if (r != 0)
		return strata_error_make(err, e, "clamp the times of '%s'", upper);
	return 0;
}

char **snapshot_paths(const char *root, const struct build_layers *ls)
{
	char **v = xcalloc(ls->n + 1, sizeof(char *));
	for (size_t i = 0; i < ls->n; i++)
		v[i] = snapshot_dir(root, ls->v[i].diff_id.str);
	return v;
}

int layer_commit(struct store *s, const char *root, const char *upper, int64_t mtime_clamp, struct build_layer *out,
		 struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (mtime_clamp >= 0 && clamp_tree(upper, mtime_clamp, err) < 0)
		return -1;
	struct store_blob_writer *bw = NULL;
	struct layer_writer *lw = NULL;
	struct layer_result res;
	if (store_blob_writer_open(s, NULL, -1, &bw, err) < 0)
		return -1;
	struct strata_sink sink = store_blob_writer_sink(bw);
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_GZIP };
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	co.overlay_upper = true;
	co.mtime_clamp = mtime_clamp;
	if (layer_writer_new(&lw, &wo, &sink, err) < 0 || layer_create(upper, &co, lw, err) < 0 ||
	    layer_writer_finish(lw, &res, err) < 0) {
		layer_writer_free(lw);
		store_blob_writer_abort(bw);
		return strata_error_wrap(err, "create layer");
	}
	layer_writer_free(lw);
	struct oci_digest d;
	int64_t size;
	if (store_blob_writer_commit(bw, &d, &size, err) < 0)
		return strata_error_wrap(err, "store layer");
	struct oci_digest diff;
	if (oci_digest_parse(res.diff_id, &diff, err) < 0)
		return -1;
	/* keep the upper as the layer's snapshot (a twin from another build may be there already) */
	cleanup_free char *snap = snapshot_dir(root, diff.str);
	if (rename(upper, snap) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			return strata_error_make(err, errno, "keep snapshot '%s'", snap);
		strata_rm_rf(upper, NULL);
	}
	snapshot_touch(root, diff.str);
	out->media_type = xstrdup(res.media_type);
	out->digest = d;
	out->size = size;
	out->diff_id = diff;
	return 0;
}

int snapshot_ensure(struct store *s, const char *root, const struct build_layer *l, struct strata_error **err)
{
	const char *diff_id = l->diff_id.str, *digest = l->digest.str;
	cleanup_free char *snap = snapshot_dir(root, diff_id);
	if (strata_path_exists(snap)) {
		snapshot_touch(root, diff_id);
		return 0;
	}
	cleanup_free char *dir = xasprintf("%s/build/snapshots", root);
	if (strata_mkdir_p(dir, 0700, err) < 0)
		return -1;
	struct oci_digest d = l->digest;
	cleanup_close int fd = store_blob_open(s, &d, NULL, err);
	if (fd < 0)
		return strata_error_wrap(err, "layer %s", digest);
	struct layer_apply_opts o = {
		.media_type = l->media_type,
		.digest = digest,
		.diff_id = diff_id,
		.devices = LAYER_DEVICES_CREATE,
		.overlay_whiteouts = true,
		.fs = sandbox_layer_ops(),
	};
	struct strata_error *le = NULL; /* err may be NULL: the cause decides below */
	if (layer_apply_fd(fd, snap, &o, NULL, &le) < 0) {
		/* a concurrent extraction of the same layer won the rename */
		if (strata_path_exists(snap)) {
			strata_error_free(le);
			return 0;
		}
		/* a damaged blob (a digest mismatch, not a full disk) would fail
		 * every build until removed by hand */
		bool dropped = strata_error_code(le) == STRATA_E_INVALID && store_blob_drop_corrupt(s, &d, NULL) == 1;
		if (err && !*err)
			*err = le;
		else
			strata_error_free(le);
		if (dropped)
			return strata_error_wrap(err, "extract layer %s (the store's copy is damaged and was removed: "
						 "pull or load the image again)",
						 digest);
		return strata_error_wrap(err, "extract layer %s", digest);
	}
	snapshot_touch(root, diff_id);
	return 0;
}

/*
 * Overlay lowerdirs, top first, from a chain of snapshot dirs given bottom
 * first. A layer that occurs twice (two steps with identical changes, e.g.
 * two empty layers) is kept only at its topmost place: overlayfs refuses a
 * dir listed twice, and the upper copy already shadows everything the lower
 * one could (its whiteouts included), so the merged tree is the same.
 */
char **snapshot_lowers(const char *const *bottom_first, size_t n, size_t *nout)
{
	char **v = xcalloc(n + 1, sizeof(char *));
	size_t o = 0;
	for (size_t i = n; i-- > 0;) {
		bool dup = false;
		for (size_t j = 0; j < o && !dup; j++)
			dup = !strcmp(v[j], bottom_first[i]);
		if (!dup)
			v[o++] = xstrdup(bottom_first[i]);
	}
	*nout = o;
	return v;
}
