/*
 * context.h — the build context: a scan of the context directory with
 * ignore rules applied, and content digests of its files kept fast by a
 * stat cache.
 *
 * The scan records metadata only (lstat); a file's content digest is
 * computed when a step first asks for it (a COPY that reads it), and a
 * stat cache maps (path, size, mtime, ctime, inode, device) to the digest
 * so an unchanged file is never read twice across builds. Digests never
 * depend on mtimes or inode numbers: those only decide whether the cached
 * digest can be trusted.
 *
 * Racy entries: a file modified within the timestamp granularity of the
 * moment its digest was cached could change without its stat data
 * changing; such entries (mtime or ctime not older than the cache file's
 * own mtime, taken from the same file system clock) are rehashed on the
 * next load, as git does for its index.
 */
#ifndef STRATA_BUILD_CONTEXT_H
#define STRATA_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/util.h"

/*
 * Ignore rules as seen by the scanner (the dockerfile module's .dockerignore
 * matcher is adapted to this). Paths are relative to the context root,
 * '/'-separated, without a leading "./".
 */
struct build_ignore {
	/* true when path is excluded */
	bool (*excluded)(void *ctx, const char *path, bool is_dir);
	/* true when an excluded directory may still contain re-included paths
	 * (a later "!" rule), so the scanner must descend into it */
	bool (*may_reinclude)(void *ctx, const char *dir);
	void *ctx;
};

struct build_ctx_entry {
	char *path;           /* relative, '/'-separated; "" never appears */
	mode_t mode;          /* type and permission bits */
	uid_t uid;
	gid_t gid;
	off_t size;
	char *link;           /* symlink target, or NULL */
	struct timespec mtime;
	struct timespec ctime;
	ino_t ino;
	dev_t dev;
	char digest[72];      /* "sha256:<hex>" of the content (regular files), "" until computed */
};

struct build_context;

/*
 * Scan root. `ign` may be NULL (nothing excluded). `statcache` is the path
 * of the stat cache file (may be NULL: no cache; a missing or corrupt file is
 * an empty cache, never an error). Entries are sorted by path (bytewise).
 * @return 0 with *out owned by the caller (build_context_free), or -1.
 */
int build_context_open(const char *root, const struct build_ignore *ign, const char *statcache,
		       struct build_context **out, struct strata_error **err);
void build_context_free(struct build_context *c);

const char *build_context_root(const struct build_context *c);
size_t build_context_count(const struct build_context *c);
/* Entry i (0 <= i < count). The pointer stays valid until free. */
struct build_ctx_entry *build_context_entry(struct build_context *c, size_t i);
/* Index of path (exact, normalised), or -1 when absent or excluded. */
ssize_t build_context_find(const struct build_context *c, const char *path);

/*
 * The paths the ignore rules excluded (files and directories, including
 * excluded directories the scan entered for re-included paths), sorted
 * bytewise. Paths below an excluded directory that was not entered are not
 * listed.
 */
size_t build_context_hidden_count(const struct build_context *c);
const char *build_context_hidden(const struct build_context *c, size_t i);
/* true when an entry of the context lies below dir ("dir/..."). */
bool build_context_has_below(const struct build_context *c, const char *dir);

/*
 * Make dir (missing) a tree of overlayfs whiteouts hiding every excluded
 * path: an overlay with dir above the context root (lowerdir=dir:root)
 * shows exactly the context as the ignore rules filter it, as BuildKit
 * mounts it for RUN --mount=type=bind. Directories of dir copy the mode,
 * owner and times of the context's (overlayfs shows the upper-most
 * layer's). Needs the right to create 0/0 character devices.
 * @return 1 made, 0 nothing is excluded (dir not created), -1 error.
 */
int build_context_mask(const struct build_context *c, const char *dir, struct strata_error **err);

/*
 * Content digest of a regular file entry, from the stat cache when its stat
 * data is unchanged, else by reading it. Fills e->digest.
 * Thread-safe, unlike the rest of this API: several threads may ask for
 * digests of one context at once (parallel stages); each file is hashed at
 * most once, by the first thread that asks, without any lock held while it
 * reads (a second thread asking for the same entry waits for that result,
 * threads asking for other entries go on). Read e->digest only after this
 * returned 0 (it is written once, under the context's lock).
 * @return 0 or -1 (the file vanished or cannot be read).
 */
int build_context_digest(struct build_context *c, struct build_ctx_entry *e, struct strata_error **err);

/* Counters for reporting and tests (thread-safe). */
struct build_context_stats {
	size_t entries;
	size_t hashed;      /* files read and hashed this run */
	size_t cache_hits;  /* digests taken from the stat cache */
	unsigned long long bytes_hashed;
};
void build_context_stats(const struct build_context *c, struct build_context_stats *st);

/*
 * Write the stat cache back (atomically) with every digest known now.
 * No-op when there was no statcache path or nothing changed. Not while
 * another thread may still call build_context_digest.
 */
int build_context_save(struct build_context *c, struct strata_error **err);

#endif
