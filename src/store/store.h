/*
 * store.h — the local content-addressed image store (the store module's
 * boundary).
 *
 * On disk the root is an OCI image layout (image-spec image-layout.md), so
 * skopeo (oci:ROOT:REF) and umoci (--layout ROOT, --image ROOT:REF) read it:
 *
 *   ROOT/oci-layout               {"imageLayoutVersion":"1.0.0"}
 *   ROOT/index.json               one manifest descriptor per tag, the tag in
 *                                 the "org.opencontainers.image.ref.name"
 *                                 annotation as the full normalised
 *                                 reference ("docker.io/library/busybox:latest");
 *                                 entries without the annotation are untagged
 *                                 images kept alive (e.g. loaded by digest)
 *   ROOT/blobs/sha256/<hex>       content, named by its digest
 *   ROOT/.strata/gc.lock          shared by every open store, exclusive for prune
 *   ROOT/.strata/index.lock       exclusive around index.json read-modify-write
 *   ROOT/.strata/tmp/             blob writes in progress (same file system,
 *                                 so publishing is a rename)
 *
 * Concurrency (docs/internals/store.md): store_open takes the gc lock shared
 * and holds it until store_close, so a process that has written blobs but
 * not yet tagged them keeps them safe from a concurrent prune, which takes
 * the gc lock exclusively. index.json is only changed under index.lock and
 * replaced atomically, so readers never see a partial file. Blob publishing
 * is a rename of a verified temp file: two writers of the same digest write
 * the same bytes, whichever rename wins.
 *
 * Errors carry STRATA_E_NOTFOUND for missing tags / blobs / images and
 * STRATA_E_INVALID for corrupt content (digest mismatch, bad JSON naming the
 * file, line and column).
 */
#ifndef STRATA_STORE_H
#define STRATA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/oci.h"
#include "util/util.h"

#define STORE_REF_ANNOTATION "org.opencontainers.image.ref.name"
/* The largest manifest / config / index strata reads into memory. */
#define STORE_JSON_MAX (16u << 20)

struct store;

/*
 * Open the store at root, creating the layout when missing, and check that
 * index.json parses (a damaged one fails here, naming file, line and column,
 * before a command writes anything). Holds the gc lock shared until
 * store_close. @return 0 with *out set, or -1.
 */
int store_open(const char *root, struct store **out, struct strata_error **err);
/* Release locks and memory. NULL is a no-op. */
void store_close(struct store *s);
const char *store_root(const struct store *s);

/* ---- blobs ---- */

/* "ROOT/blobs/sha256/<hex>" (newly allocated). */
char *store_blob_path(const struct store *s, const struct oci_digest *d);
bool store_blob_exists(const struct store *s, const struct oci_digest *d);
/* Size of a stored blob. @return 0, or -1 (STRATA_E_NOTFOUND when missing). */
int store_blob_stat(const struct store *s, const struct oci_digest *d, int64_t *size,
		    struct strata_error **err);
/* Open a blob read-only (O_CLOEXEC); *size set when size != NULL. @return fd or -1. */
int store_blob_open(const struct store *s, const struct oci_digest *d, int64_t *size,
		    struct strata_error **err);
/*
 * Read a whole blob of at most max bytes into out (appended) and verify its
 * digest. @return 0, or -1 (too large, missing, or "digest mismatch": the
 * blob is corrupt).
 */
int store_blob_read(const struct store *s, const struct oci_digest *d, size_t max, struct strata_buf *out,
		    struct strata_error **err);
/* Stream a blob through the hash and compare. @return 0 or -1 naming the blob. */
int store_blob_verify(const struct store *s, const struct oci_digest *d, struct strata_error **err);
/*
 * Verify blob d and remove it when its content does not match its digest (a
 * damaged store), so that a later pull, fetch or import writes it again.
 * @return 1 removed, 0 intact or absent, -1 error.
 */
int store_blob_drop_corrupt(const struct store *s, const struct oci_digest *d, struct strata_error **err);

/*
 * Streaming blob writer: bytes go to a temp file under ROOT/.strata/tmp
 * and through sha256. Nothing is visible in the store before commit.
 */
struct store_blob_writer;
/*
 * want: the expected digest or NULL; want_size: the expected size or -1.
 * Writing past want_size fails at once.
 */
int store_blob_writer_open(struct store *s, const struct oci_digest *want, int64_t want_size,
			   struct store_blob_writer **out, struct strata_error **err);
int store_blob_writer_write(struct store_blob_writer *w, const void *p, size_t n, struct strata_error **err);
/* A sink writing into w (valid while w lives). */
struct strata_sink store_blob_writer_sink(struct store_blob_writer *w);
/* Bytes written so far. */
int64_t store_blob_writer_size(const struct store_blob_writer *w);
/*
 * Finish hashing and check the expected digest and size, without
 * publishing. Idempotent. @return 0 with the digest / size (either may be
 * NULL), or -1 ("digest mismatch", "size mismatch").
 */
int store_blob_writer_finish(struct store_blob_writer *w, struct oci_digest *digest, int64_t *size,
			     struct strata_error **err);
/*
 * Finish (if not yet), then publish: fsync, rename to blobs/sha256/<hex>,
 * fsync the directory. Frees w whatever the result.
 */
int store_blob_writer_commit(struct store_blob_writer *w, struct oci_digest *digest, int64_t *size,
			     struct strata_error **err);
/* Discard the temp file and free w. NULL is a no-op. */
void store_blob_writer_abort(struct store_blob_writer *w);

/* Store a buffer as a blob (verified against want when want != NULL). */
int store_blob_put(struct store *s, const void *p, size_t n, const struct oci_digest *want,
		   struct oci_digest *out, struct strata_error **err);

/* ---- tags (index.json) ---- */

struct store_entry {
	char *name;        /* full normalised reference, or NULL for an untagged entry */
	char *media_type;
	struct oci_digest digest;
	int64_t size;
};
/* Free what an entry owns (name, media_type) and clear them; the struct
 * itself is the caller's (NULL is a no-op). */
void store_entry_release(struct store_entry *e);
void store_entries_free(struct store_entry *e, size_t n);

/* Every index.json entry, in file order. */
int store_tag_list(struct store *s, struct store_entry **out, size_t *n, struct strata_error **err);
/*
 * Point ref (normalised with oci_ref_string, digest part ignored) at a
 * manifest or index already in the store. Replaces an existing tag.
 */
int store_tag_set(struct store *s, const struct oci_ref *ref, const char *media_type,
		  const struct oci_digest *d, int64_t size, struct strata_error **err);
/* @return 0 with *out filled (caller frees fields), or -1 (STRATA_E_NOTFOUND). */
int store_tag_get(struct store *s, const struct oci_ref *ref, struct store_entry *out,
		  struct strata_error **err);
/* Remove a tag. @return 0, or -1 (STRATA_E_NOTFOUND). */
int store_tag_remove(struct store *s, const struct oci_ref *ref, struct strata_error **err);
/* Keep a manifest alive without a tag (no-op when already referenced). */
int store_index_add_untagged(struct store *s, const char *media_type, const struct oci_digest *d,
			     int64_t size, struct strata_error **err);
/* Remove every entry (tagged or not) for digest d. @return number removed, or -1. */
int store_index_remove_digest(struct store *s, const struct oci_digest *d, struct strata_error **err);
/* Remove the untagged entries for digest d (a tag of it stays). @return number removed, or -1. */
int store_index_remove_untagged(struct store *s, const struct oci_digest *d, struct strata_error **err);

/*
 * Resolve what a user typed: "busybox", "docker.io/library/busybox:latest",
 * "name@sha256:...", "sha256:<manifest digest>", or a prefix (>= 4 hex) of
 * an image id (config digest) or manifest digest. Fills *out (media type,
 * digest, size; name when it was a tag). @return 0, or -1
 * (STRATA_E_NOTFOUND, "ambiguous", invalid reference).
 */
int store_resolve(struct store *s, const char *user_ref, struct store_entry *out, struct strata_error **err);

/* ---- images ---- */

struct store_image {
	struct oci_digest manifest_digest;
	char *manifest_media_type;
	int64_t manifest_size;
	char *manifest_raw;            /* the manifest bytes as stored */
	size_t manifest_len;
	struct oci_manifest manifest;  /* when the entry was an index, the host platform's manifest */
	char *config_raw;
	size_t config_len;
	struct oci_config config;
	int64_t size;                  /* config + layers (stored bytes) */
	time_t created;                /* from the config, 0 when absent */
};
/* What a child of a manifest or index is to it (store_manifest_children). */
enum store_child { STORE_CHILD_MANIFEST, STORE_CHILD_CONFIG, STORE_CHILD_LAYER, STORE_CHILD_SUBJECT };
/*
 * Read the stored manifest or index d (of media type mt) and call
 * fn(ctx, child, role, err) for each descriptor it refers to, in order: an
 * index's manifests, a manifest's config then layers, then the subject of
 * either. Stops at the first fn that does not return 0.
 * @return 0, -1 when d cannot be read or decoded, or what fn returned.
 */
int store_manifest_children(struct store *s, const struct oci_digest *d, const char *mt,
			    int (*fn)(void *ctx, const struct oci_descriptor *child, enum store_child role,
				      struct strata_error **err),
			    void *ctx, struct strata_error **err);
/*
 * Load and verify the manifest (selecting the host platform from an index)
 * and its config. @return 0 or -1.
 */
int store_image_load(struct store *s, const struct oci_digest *d, struct store_image *out,
		     struct strata_error **err);
/* As store_image_load, selecting want (NULL: the host's) from an index; an
 * index without it is STRATA_E_NOTFOUND "... no manifest for platform P". */
int store_image_load_platform(struct store *s, const struct oci_digest *d, const struct oci_platform *want,
			      struct store_image *out, struct strata_error **err);
void store_image_release(struct store_image *img);

/* ---- garbage collection ---- */

struct store_prune_result {
	struct oci_digest *removed; /* blobs removed (or that would be, dry run) */
	int64_t *sizes;
	size_t n_removed;
	int64_t bytes;              /* total reclaimed */
	size_t tmp_removed;         /* stale temp files removed */
};
/*
 * Mark every blob reachable from index.json (through indexes, manifests,
 * configs, layers, subjects), sweep the rest and temp files older than an
 * hour. Takes the gc lock exclusively for the duration (waits for other
 * strata processes to close their stores). dry_run: report only.
 * Equivalent to store_gc_begin + store_gc_sweep + store_gc_end.
 */
int store_prune(struct store *s, bool dry_run, struct store_prune_result *out, struct strata_error **err);
void store_prune_result_release(struct store_prune_result *r);

/*
 * A garbage collection in steps, for callers with roots of their own (the
 * build cache, docs/internals/build.md "Garbage collection"):
 *
 *   store_gc_begin(s, &g, err);    exclusive gc lock (waits, with a warning,
 *                                  for every other open store to close), then
 *                                  marks from index.json
 *   store_gc_keep(g, &desc, err);  more roots (a descriptor, marked recursively)
 *   store_gc_sweep(g, dry, &r, err);  remove unmarked blobs and stale temp files
 *   store_gc_end(g);               back to the shared lock; frees g
 *
 * While g lives no other process has the store open, so nothing can publish
 * a blob, tag an image or use build state the caller is about to remove.
 */
struct store_gc;
/* @return 0 with *out set, or -1 (lock error, or a manifest that cannot be
 * read or parsed: the prune is refused rather than risk deleting). */
int store_gc_begin(struct store *s, struct store_gc **out, struct strata_error **err);
/* Mark d and, when it is a manifest or index present in the store, what it
 * references. @return 0 or -1 as store_gc_begin. */
int store_gc_keep(struct store_gc *g, const struct oci_descriptor *d, struct strata_error **err);
/* Whether a blob is marked (reachable from index.json or a kept root). */
bool store_gc_marked(const struct store_gc *g, const struct oci_digest *d);
/*
 * Whether diff_id ("sha256:...") is in rootfs.diff_ids of the config of a
 * marked manifest (a layer of an image that stays). Configs that are not
 * JSON or have no diff_ids contribute nothing.
 */
bool store_gc_image_layer(const struct store_gc *g, const char *diff_id);
/* Sweep unmarked blobs and stale temp files into *out (zeroed first). */
int store_gc_sweep(struct store_gc *g, bool dry_run, struct store_prune_result *out, struct strata_error **err);
/* Return to the shared gc lock and free g. NULL is a no-op. */
void store_gc_end(struct store_gc *g);

/* ---- where blobs are in registries (blobloc.c) ---- */

/*
 * The store's one record of which registry repositories hold a blob:
 * layers of remote cache hits and lazily adopted bases (absent here, fetched
 * on demand from the newest location) and blobs pulled or pushed (a push
 * mounts from another repository of the same registry instead of
 * uploading). ROOT/.strata/blob-locations.json, merged under an flock and
 * replaced atomically on save; bounded: STORE_BLOBLOC_MAX_AT locations per
 * blob (the oldest dropped), STORE_BLOBLOC_MAX_BLOBS blobs (later ones not
 * recorded). A handle is thread-safe.
 */
#define STORE_BLOBLOC_MAX_AT 8
#define STORE_BLOBLOC_MAX_BLOBS 100000
struct store_blobloc;
/* Load the record of s (a missing file is empty). @return 0, or -1 (unreadable / not a JSON object). */
int store_blobloc_open(struct store *s, struct store_blobloc **out, struct strata_error **err);
/* The same format at another path (an OCI layout's record). */
int store_blobloc_open_path(const char *path, struct store_blobloc **out, struct strata_error **err);
void store_blobloc_free(struct store_blobloc *l);
/* host/repo holds digest (size: -1 unknown); it becomes the blob's newest location. */
int store_blobloc_add(struct store_blobloc *l, const char *digest, int64_t size, const char *host,
		      const char *repo, struct strata_error **err);
/*
 * The newest location of digest, restricted to host (NULL: any) and not
 * not_repo (NULL: any). Outputs may be NULL; *host_out and *repo_out are
 * newly allocated; *size is -1 when unknown. @return 1 or 0 (none).
 */
int store_blobloc_find(struct store_blobloc *l, const char *digest, const char *host, const char *not_repo,
		       char **host_out, char **repo_out, int64_t *size);
/* Merge what was added into the file. No-op when nothing was. */
int store_blobloc_save(struct store_blobloc *l, struct strata_error **err);
/* One-shot forms: open, add or find, save, free. */
int store_blobloc_note(struct store *s, const char *digest, int64_t size, const char *host, const char *repo,
		       struct strata_error **err);
int store_blobloc_lookup(struct store *s, const char *digest, char **host, char **repo, int64_t *size,
			 struct strata_error **err);

#endif
