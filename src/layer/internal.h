/*
 * internal.h — shared between the layer module's files; not part of the
 * boundary (include layer/layer.h from outside).
 */
#ifndef STRATA_LAYER_INTERNAL_H
#define STRATA_LAYER_INTERNAL_H

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"
#include "layer/layer.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define FUSE_OPAQUE ".wh..opq" /* fuse-overlayfs's opaque marker in an upper dir (a 0/0 whiteout) */

/*
 * An xattr overlayfs (or the sandbox, LAYER_OWNER_XATTR) uses for its own
 * bookkeeping: never copied into or out of a layer.
 */
static inline bool layer_xattr_is_overlay(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 ||
	       strcmp(name, LAYER_OWNER_XATTR) == 0;
}

/* An overlayfs whiteout: a character device 0/0. */
static inline bool layer_is_overlay_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

/*
 * The sorted names in a directory (excluding "." and ".."), bytewise order.
 * dirfd is not consumed. @return count (>= 0) with *names (free each and the
 * array), or -1.
 */
int layer_dir_names(int dirfd, const char *what, char ***names, struct strata_error **err);
void layer_names_free(char **names, size_t n);

/*
 * Visit the entries of dirfd in layer_dir_names order, path being the
 * directory's relative path ("" at the top): for each, path is extended
 * with "/name" (no slash at the top), fn(ctx, dirfd, name, err) is called,
 * and path is restored. Stops at the first failure. @return 0 or -1.
 */
int layer_walk_names(int dirfd, struct strata_buf *path,
		     int (*fn)(void *ctx, int dirfd, const char *name, struct strata_error **err), void *ctx,
		     struct strata_error **err);

/*
 * Sorted xattr names of the file at /proc/self/fd/dirfd/name (not following
 * a final symlink), overlay's own dropped. @return count with *names, or -1.
 */
int layer_xattr_names(const char *procpath, char ***names, struct strata_error **err);

/*
 * The read side of a blob (reader.c): source -> sha256 (digest) ->
 * decompress -> size bound -> sha256 (diff_id). read hands out a pointer
 * into an internal buffer valid until the next call; 0 at the stream's end.
 */
#include "layer/layer.h"
struct layer_reader;
int layer_reader_new(struct layer_reader **out, layer_source_fn fn, void *ctx, enum oci_compression comp,
		     uint64_t max, struct strata_error **err);
ssize_t layer_reader_read(struct layer_reader *r, const void **buf, struct strata_error **err);
/* Hash the uncompressed tar with alg (default sha256) for the diff_id; before the first read. */
void layer_reader_diff_alg(struct layer_reader *r, enum strata_hash_alg alg);
/* Read to the end of the source (so the hashes cover every byte). */
int layer_reader_drain(struct layer_reader *r, struct strata_error **err);
/* Finish the hashes (once, after drain). media_type is the compression's OCI type. */
void layer_reader_result(struct layer_reader *r, struct layer_result *res);
void layer_reader_free(struct layer_reader *r);

#endif
