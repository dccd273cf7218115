/*
 * layer.h — the layer module's boundary: how a filesystem change becomes an
 * OCI layer blob and back.
 *
 *   layer_writer_*   a streaming sink: uncompressed tar bytes in, compressed
 *                    bytes out to a strata_sink, diff_id (sha256 of the tar)
 *                    and digest/size (sha256 of the compressed bytes) computed
 *                    in the same pass. Memory is independent of layer size.
 *   layer_create     a reproducible pax tar of a directory (COPY result) or an
 *                    overlayfs upper dir (RUN result, whiteouts converted),
 *                    streamed through a layer_writer.
 *   layer_apply      a layer blob (none/gzip/zstd; OCI or Docker media types)
 *                    applied onto a directory, whiteouts honoured, hostile
 *                    input contained, digest and diff_id verified.
 *   layer_treehash   a deterministic content digest of a tree or of a list of
 *                    files (COPY cache keys).
 *
 * See docs/internals/layer.md for the tar layout and the safety model.
 */
#ifndef STRATA_LAYER_H
#define STRATA_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/mediatype.h"
#include "util/error.h"
#include "util/sink.h"

/* "sha256:" + 64 hex + NUL */
#define LAYER_DIGEST_MAX 136 /* "sha512:" + 128 hex + NUL */

/* ---------------------------------------------------------------- writer */

enum layer_gzip_impl {
	LAYER_GZIP_DEFAULT = 0, /* the faster one measured in bench/RESULTS-layer.md: ISA-L */
	LAYER_GZIP_ISAL,        /* ISA-L igzip (levels 1-9 mapped onto igzip 1..3) */
	LAYER_GZIP_ZLIB,        /* zlib deflate (levels 1-9 as gzip(1)) */
};

struct layer_write_opts {
	enum oci_compression compression; /* NONE, GZIP or ZSTD */
	int level;                        /* 0: codec default (gzip 6 / igzip 1, zstd 3) */
	enum layer_gzip_impl gzip_impl;   /* gzip only */
	int zstd_workers;                 /* zstd only; 0: 2 worker threads, -1: none */
	bool docker_media_type;           /* report the Docker gzip type instead of OCI's */
};

struct layer_result {
	char diff_id[LAYER_DIGEST_MAX]; /* "sha256:<hex>" of the uncompressed tar ("sha512:<hex>"
					 * when a layer is applied against a sha512 diff_id) */
	char digest[LAYER_DIGEST_MAX];  /* "sha256:<hex>" of the blob (compressed bytes) */
	uint64_t size;                  /* bytes of the blob */
	uint64_t tar_size;              /* bytes of the uncompressed tar */
	const char *media_type;         /* static string (OCI_MT_LAYER*, DOCKER_MT_LAYER) */
};

struct layer_writer;

/*
 * Start a writer whose compressed output goes to *sink (copied; sink->ctx
 * must outlive the writer). @return 0 and *out, or -1 (bad options).
 */
int layer_writer_new(struct layer_writer **out, const struct layer_write_opts *opts,
		     const struct strata_sink *sink, struct strata_error **err);
/* Feed n bytes of the uncompressed tar. @return 0, or -1 (a sink or codec error). */
int layer_writer_write(struct layer_writer *w, const void *p, size_t n, struct strata_error **err);
/* A strata_sink that feeds the writer (so tar producers can write into it). */
struct strata_sink layer_writer_sink(struct layer_writer *w);
/*
 * Flush the codec, write the trailer to the sink and fill *res. After it the
 * writer accepts nothing more but must still be freed. @return 0 or -1.
 */
int layer_writer_finish(struct layer_writer *w, struct layer_result *res, struct strata_error **err);
/* Free (NULL is a no-op); an unfinished stream is abandoned. */
void layer_writer_free(struct layer_writer *w);

/* Media type for a compression (docker: Docker's gzip type for GZIP). */
const char *layer_media_type(enum oci_compression c, bool docker);

/* ---------------------------------------------------------------- create */

struct layer_create_opts {
	/*
	 * Treat the directory as an overlayfs upper dir: 0/0 character devices
	 * become ".wh.NAME", directories whose trusted.overlay.opaque or
	 * user.overlay.opaque xattr is "y" get a ".wh..wh..opq" entry, and
	 * overlay's own xattrs (trusted.overlay.*, user.overlay.*) are dropped.
	 */
	bool overlay_upper;
	/* Clamp every mtime to this (seconds since the epoch) when >= 0 (SOURCE_DATE_EPOCH). */
	int64_t mtime_clamp;
	/*
	 * COPY --chown / --chmod, applied while writing (the source tree is not
	 * touched): uid/gid replace every entry's owner when >= 0; mode, when
	 * >= 0, replaces the permission bits (07777) of every entry but symlinks.
	 */
	int64_t uid, gid;
	int mode;
	/*
	 * Path prefix inside the layer ("app" or "usr/src/app", no leading "/"),
	 * or NULL. The root of the tree becomes the prefix directory (it is
	 * emitted, with the root's metadata); the prefix's parents are emitted as
	 * root-owned 0755 directories. Without a prefix the root is not emitted.
	 */
	const char *prefix;
};
#define LAYER_CREATE_OPTS_INIT { false, -1, -1, -1, -1, NULL }

/*
 * Write the tar of the tree at dir into w (no finish: the caller finishes
 * w). Entries are in depth-first order, each directory's children sorted
 * bytewise by name, so parents precede children; no uname/gname, no
 * atime/ctime, mtimes in whole seconds (clamped when asked), xattrs in name
 * order, hardlinks within the tree as tar hardlinks, sparse files with pax
 * sparse maps. @return 0, or -1 with err naming the path.
 */
int layer_create(const char *dir, const struct layer_create_opts *opts, struct layer_writer *w,
		 struct strata_error **err);

/*
 * The whole pipeline in one call: a writer with wopts over sink, the tree
 * at dir written into it, finished into *res. @return 0 or -1.
 */
int layer_create_blob(const char *dir, const struct layer_create_opts *copts,
		      const struct layer_write_opts *wopts, const struct strata_sink *sink,
		      struct layer_result *res, struct strata_error **err);

/* ----------------------------------------------------------------- apply */

/* Pull-style input: fill buf with up to cap bytes. @return bytes (0 = EOF) or -1. */
typedef ssize_t (*layer_source_fn)(void *ctx, void *buf, size_t cap, struct strata_error **err);

enum layer_devices {
	LAYER_DEVICES_REJECT = 0, /* a device node is an error */
	LAYER_DEVICES_SKIP,       /* device nodes are silently left out */
	LAYER_DEVICES_CREATE,     /* created when running as root, else an error */
};

/*
 * The privileged calls of an extraction, given by the caller's sandbox
 * (build/sandbox.h): NULL members (or a NULL layer_fs_ops) mean the plain
 * system calls.
 *  chown:  as fchownat(dirfd, name, uid, gid, flags); name "" with
 *          AT_EMPTY_PATH for dirfd itself (also an O_PATH fd);
 *  mknod:  as mknodat, for device nodes (not FIFOs, not whiteouts); 1 = the
 *          node was skipped (a user namespace cannot make devices);
 *  opaque_xattr: the xattr name overlayfs reads as the opaque marker
 *          (NULL: "trusted.overlay.opaque").
 */
struct layer_fs_ops {
	int (*chown)(int dirfd, const char *name, uid_t uid, gid_t gid, int flags);
	int (*mknod)(int dirfd, const char *name, mode_t mode, dev_t dev);
	const char *opaque_xattr;
};

/*
 * An entry extracted where its owner cannot be set (a user namespace that
 * maps only one id) keeps its real owner as "UID:GID" in this xattr;
 * layer_create records those ids and never copies the xattr into a layer.
 */
#define LAYER_OWNER_XATTR "user.strata.owner"

struct layer_apply_opts {
	const char *media_type;       /* any layer media type; NULL = uncompressed tar */
	const char *digest;           /* expected "sha256:..." of the blob, or NULL */
	const char *diff_id;          /* expected "sha256:..." of the tar, or NULL */
	uint64_t max_size;            /* bound on the uncompressed bytes; 0 = 64 GiB */
	enum layer_devices devices;
	/*
	 * Extract as an overlayfs upper dir: a whiteout becomes a 0/0 character
	 * device and an opaque marker the opaque xattr (fs->opaque_xattr, default
	 * trusted.overlay.opaque) ="y", instead of deleting lower content (there
	 * is none in an upper).
	 */
	bool overlay_whiteouts;
	bool no_chown;                /* keep the caller's owner */
	const struct layer_fs_ops *fs; /* privileged calls; NULL = plain system calls */
};

/*
 * Apply a layer onto the directory target.
 *
 * All-or-nothing: when target does not exist the layer is extracted into a
 * sibling staging directory ("<target>.tmp-XXXXXX") that is renamed onto
 * target only when the whole stream was read and digest and diff_id match;
 * otherwise it is removed and nothing appears. When target exists (applying
 * onto lower layers) and the source is an fd, the blob's digest is verified
 * in a first pass before anything is written; a later failure (diff_id
 * mismatch, hostile entry, size limit) leaves target partially applied and
 * the error says so: the caller must discard it.
 *
 * Containment: every path is resolved under target with openat2
 * RESOLVE_IN_ROOT (symlinks are followed as if target were "/"), absolute
 * paths and ".." components are rejected, hardlink targets must already
 * exist inside target, device nodes follow opts->devices, and the
 * uncompressed size is bounded by opts->max_size.
 *
 * If res is non-NULL it receives the computed digest, diff_id and sizes.
 * @return 0, or -1 with a message naming the entry.
 */
int layer_apply_fd(int fd, const char *target, const struct layer_apply_opts *opts,
		   struct layer_result *res, struct strata_error **err);
int layer_apply_source(layer_source_fn fn, void *ctx, const char *target,
		       const struct layer_apply_opts *opts, struct layer_result *res,
		       struct strata_error **err);

/* ------------------------------------------------------------- treehash */

/*
 * Content digest of the tree at dir ("sha256:<hex>" into out): the same
 * entry order as layer_create; for each entry its relative path, type,
 * permission bits, uid, gid, and its content's sha256 (files), target
 * (symlinks) or device number. Never mtime, inode, or link count.
 * @return 0 or -1.
 */
int layer_treehash(const char *dir, char out[LAYER_DIGEST_MAX], struct strata_error **err);
/*
 * The same over an explicit list of paths relative to dir (each file, or
 * each directory's whole subtree), in the given order. @return 0 or -1.
 */
int layer_treehash_paths(const char *dir, const char *const *paths, size_t n,
			 char out[LAYER_DIGEST_MAX], struct strata_error **err);

/*
 * Names as bytes in pax tar (tarname.c; docs/internals/layer.md "Names"):
 * layer_tar_names_setup makes a pax writer put valid UTF-8 names into its
 * records unchanged and every other name raw under hdrcharset=BINARY,
 * whatever the locale (call it before archive_write_open).
 * layer_tar_write_warning_ok tells, after archive_write_header returned
 * ARCHIVE_WARN, whether the warning was only that binary fallback (the entry
 * was written). layer_tar_name_check refuses the one kind of name libarchive
 * would rewrite (CESU-8 surrogates); target may be NULL. @return 0 or -1.
 */
struct archive;
int layer_tar_names_setup(struct archive *a, struct strata_error **err);
bool layer_tar_write_warning_ok(struct archive *a);
int layer_tar_name_check(const char *path, const char *target, struct strata_error **err);

#endif
