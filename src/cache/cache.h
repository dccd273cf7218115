/*
 * cache/cache.h — the remote build cache: --cache-from / --cache-to (the
 * cache module's boundary; functions are prefixed rcache_ because the build
 * engine keeps its local index under cache_*). docs/internals/cache.md has
 * the design; in short:
 *
 *  - Every image strata builds carries its cache metadata in its config,
 *    under the top-level field "strata.cache.v1" (inline cache). A cache
 *    export (--cache-to) is an OCI image manifest with artifactType
 *    RCACHE_ARTIFACT_TYPE whose config (RCACHE_CONFIG_MT) holds the same
 *    steps plus the diff_ids of its layers.
 *  - Import (--cache-from) reads manifests and configs only and builds a
 *    table key -> (layer descriptor, diff_id, source). A source that cannot
 *    be read is a one-line warning, never an error.
 *  - Layer blobs of hits stay in the registry: the store holds the image's
 *    manifest and config, and the "remote blob record"
 *    (the store's blob locations, ROOT/.strata/blob-locations.json)
 *    says where each absent layer lives. rcache_fetch_layer downloads one
 *    when it is really needed; rcache_push_image pushes an image without
 *    moving the layers the target registry already has or can mount.
 *
 * Depends on registry/client, store and oci; nothing below depends on it.
 * Thread safety: a table is built by one thread, then read-only; the remote
 * record file is merged under an flock, so several processes may share a store.
 */
#ifndef STRATA_CACHE_H
#define STRATA_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/oci.h"
#include "registry/client.h"
#include "store/store.h"
#include "util/util.h"

#define RCACHE_FIELD "strata.cache.v1"
#define RCACHE_ARTIFACT_TYPE "application/vnd.strata.cache.v1"
#define RCACHE_CONFIG_MT "application/vnd.strata.cache.config.v1+json"
/* Per-step list of file digests kept for explanations (then only "sources"). */
#define RCACHE_FILES_MAX 256
/*
 * The same for a COPY --from step's entry (it has a sources_id): its inputs
 * are what a fresh runner uses instead of reading the source stage, so they
 * are kept whole up to this many files (a larger set is downloaded and read).
 */
#define RCACHE_COPY_FILES_MAX 8192
/* Steps kept in one record (a config stays small; later steps are dropped). */
#define RCACHE_STEPS_MAX 4096
/* Inline text of an instruction, truncated to this many bytes. */
#define RCACHE_INSN_MAX 512

/* ------------------------------------------------------------------------- */
/* The cache record model                                                    */

/*
 * One cached layer step.
 *  key      the step's cache key, "sha256:<64 hex>" (the engine's key, char[72])
 *  layer    index of the produced layer in the image's layers / diff_ids
 *           (inline); in an artifact the index into the artifact's layers
 *  stage    stage index in the Dockerfile; pos: the step's position in its
 *           stage (the engine passes dockerfile_step.insn_index): with stage,
 *           what finds "the same step" of an earlier build for explanations
 *  line     Dockerfile line (informative)
 *  insn     instruction text as written (truncated to RCACHE_INSN_MAX)
 *  inputs   the engine's inputs object (parent, insn, args, env, config,
 *           sources, files; see build_cache_key) or NULL; "files" capped to
 *           RCACHE_FILES_MAX entries when encoded
 *  desc     the layer descriptor (mediaType, digest, size) — set by decode /
 *           import; the encoders for artifacts read it
 *  diff_id  the layer's uncompressed digest ("sha256:...") or NULL
 *  sources_id  COPY/ADD --from a stage or an image: "sha256:..." naming the
 *           exact source set (the source's layer chain, the instruction, the
 *           WORKDIR; build_copy_sources_id), whose digest is inputs.sources;
 *           NULL for other steps. rcache_table_copy_sources finds it again.
 * All pointers are owned by the entry.
 */
struct rcache_entry {
	char *key;
	int layer;
	int stage;
	int pos;
	int line;
	char *insn;
	json_t *inputs;
	json_t *desc;
	char *diff_id;
	char *sources_id;
	/* set by import: where the layer lives (borrowed from the table's source) */
	const char *source;   /* the --cache-from reference as given */
	const char *host;     /* registry host */
	const char *repo;     /* repository on it */
};

/* A growable list of entries. */
struct rcache_record {
	struct rcache_entry *v;
	size_t n;
};
/* Append a deep copy of e (source/host/repo are copied as pointers). */
void rcache_record_add(struct rcache_record *r, const struct rcache_entry *e);
void rcache_record_release(struct rcache_record *r);
void rcache_entry_release(struct rcache_entry *e);

/*
 * Inline cache: set config["strata.cache.v1"] = {"steps": [...]} from r
 * (entry.layer must index the image's layers; desc/diff_id are not written:
 * the image has them). Replaces an existing field. Fails (STRATA_E_INVALID)
 * for a bad key or a negative layer index.
 */
int rcache_config_set(json_t *config, const struct rcache_record *r, struct strata_error **err);

/*
 * Read the inline cache of an image config. layers (the manifest's layers
 * array, may be NULL) and the config's rootfs.diff_ids fill desc/diff_id.
 * @return 1 with *out filled, 0 when the config has no cache metadata (*out
 * empty), -1 when it is malformed (the error names the field). Entries whose
 * layer index is out of range are an error.
 */
int rcache_config_get(const json_t *config, const json_t *layers, struct rcache_record *out,
		      struct strata_error **err);

/*
 * Cache export artifact. From entries (each with desc and diff_id), build
 * the artifact config (RCACHE_CONFIG_MT: {"diff_ids", "strata.cache.v1"};
 * no timestamp, so the same entries always give the same digests) and manifest (OCI image manifest, artifactType
 * RCACHE_ARTIFACT_TYPE, layers = each distinct layer once, in first-use
 * order). mode_max=false keeps the entries of stage final_stage only.
 * *config / *manifest are newly allocated compact JSON.
 * @return 0, or -1 (an entry without desc/diff_id, STRATA_E_INVALID).
 */
int rcache_artifact_encode(const struct rcache_entry *e, size_t n, bool mode_max, int final_stage,
			   char **config, size_t *config_len, char **manifest, size_t *manifest_len,
			   struct strata_error **err);
/* true when a manifest (parsed JSON) is a strata cache artifact. */
bool rcache_is_artifact(const json_t *manifest);
/*
 * Decode an artifact's config given its manifest (both parsed): fills desc
 * from the manifest's layers and diff_id from the config. @return 0 or -1.
 */
int rcache_artifact_decode(const json_t *manifest, const json_t *config, struct rcache_record *out,
			   struct strata_error **err);

/* A copy of an inputs object with "files" capped to max entries (then "files_truncated": true). */
json_t *rcache_inputs_cap(const json_t *inputs, size_t max);

/* ------------------------------------------------------------------------- */
/* Cache mounts (RUN --mount=type=cache) travelling with the cache           */

/*
 * A cache mount's content in an artifact: the mount's directory split into
 * parts (docs/internals/cache.md, "Cache mounts"), each a deterministic tar
 * layer blob. A top-level directory larger than RCACHE_MOUNT_SPLIT is split
 * once more: each of its subdirectories a part, its other entries in
 * RCACHE_MOUNT_BUCKETS buckets by the first hex digit of sha256(name).
 */
#define RCACHE_MOUNT_SPLIT ((uint64_t)64 << 20)
#define RCACHE_MOUNT_BUCKETS 16
#define RCACHE_MOUNTS_MAX 256
#define RCACHE_MOUNT_PARTS_MAX 4096

/*
 * One part of a mount.
 *  path  "." (the top-level entries that are not directories), "NAME" (a
 *        top-level directory, whole), "NAME/SUB" (a subdirectory of a split
 *        one), "NAME/#K" (bucket K, hex, of a split directory's other
 *        entries; also carries NAME's own metadata)
 *  desc  the layer descriptor (mediaType, digest, size); diff_id its tar's digest
 */
struct rcache_mount_part {
	char *path;
	json_t *desc;
	char *diff_id;
};

/*
 * A cache mount as exported: id (id=, else the target: what names the
 * mount's directory), target, sharing ("shared", "private", "locked"), the
 * owner and mode the RUN asked for (-1: default), size (bytes of file
 * content), created (the newest mtime in the tree, seconds: deterministic,
 * so an unchanged mount gives the same artifact config) and its parts, in
 * the order they are applied. source/host/repo: set by import (borrowed).
 */
struct rcache_mount {
	char *id, *target, *sharing;
	int64_t uid, gid;
	int mode;
	uint64_t size;
	int64_t created;
	struct rcache_mount_part *parts;
	size_t n_parts;
	const char *source, *host, *repo;
};
void rcache_mount_release(struct rcache_mount *m);
/* A deep copy (source/host/repo copied as pointers). */
void rcache_mount_copy(struct rcache_mount *dst, const struct rcache_mount *src);

/*
 * rcache_artifact_encode with cache mounts: their parts' blobs are appended
 * to the manifest's layers (and diff_ids; a blob already listed is not
 * repeated) and the mounts go into config["strata.cache.v1"]["mounts"] as
 * {"id", "target", "sharing", "uid", "gid", "mode", "size", "created",
 * "parts": [{"path", "layer"}]}. An older strata ignores the field and the
 * extra layers.
 */
int rcache_artifact_encode_mounts(const struct rcache_entry *e, size_t n, bool mode_max, int final_stage,
				  const struct rcache_mount *m, size_t nm, char **config, size_t *config_len,
				  char **manifest, size_t *manifest_len, struct strata_error **err);
/*
 * The mounts of an artifact (manifest and config parsed): *out newly
 * allocated (none: NULL, 0, also for a config without the field).
 * @return 0, or -1 naming the field (STRATA_E_INVALID).
 */
int rcache_artifact_mounts(const json_t *manifest, const json_t *config, struct rcache_mount **out, size_t *n,
			   struct strata_error **err);

/*
 * Pack the cache mount whose directory is dir (dir/data the content,
 * dir/lock its lock, as the executor lays them out) into store blobs, under
 * a shared lock: m's id/target/sharing/uid/gid/mode are the caller's; size,
 * created and parts are filled. Unchanged parts give the same blobs.
 * max_size (0: none): a mount with more bytes is not packed.
 * @return 1 packed, 0 nothing to pack (*why: "absent", "empty" or
 * "over max-mount-size", static), or -1.
 */
int rcache_mount_pack(struct store *s, const char *dir, uint64_t max_size, struct rcache_mount *m, const char **why,
		      struct strata_error **err);

/*
 * Import m (from the cache source src) into the cache mount directory dir,
 * just before a RUN that mounts it runs. Under an exclusive lock on
 * dir/lock (so concurrent builds importing the same mount take turns, and
 * no RUN uses it meanwhile), with the semantics "fill when empty or older":
 *  - dir/data absent or empty: the parts are fetched (rcache_fetch_blob)
 *    and extracted into a new directory renamed into place;
 *  - dir/data was last used (dir/lock's mtime) before m->created: the
 *    parts are extracted over it (imported files win, local extras stay);
 *  - otherwise (the local copy is newer), or dir/import.json says the same
 *    parts were imported already: nothing is fetched.
 * The new directory gets m's uid/gid/mode (-1: 0, 0, 0755): the session
 * passes the RUN's own, never a source's. dir/import.json records what was
 * imported (strata cache prune reads it).
 * *line: one line to print, newly allocated. @return 0, or -1.
 */
int rcache_mount_import(struct regclient *c, struct store *s, const struct rcache_mount *m, const char *dir,
			char **line, struct strata_error **err);

/* What rcache_mounts_prune removed (or would). */
struct rcache_pruned_mount {
	char *id, *target, *source;
	uint64_t bytes;
	bool busy; /* in use: kept */
};
/*
 * strata cache prune: remove the local copies of imported cache mounts
 * under root (ROOT/cache/run-mounts: every DIR holding an import.json
 * whose lock is free). @return 0 with *out / *n filled, or -1.
 */
int rcache_mounts_prune(const char *root, bool dry_run, struct rcache_pruned_mount **out, size_t *n,
			struct strata_error **err);
void rcache_pruned_mounts_free(struct rcache_pruned_mount *v, size_t n);

/*
 * strata cache ls: what a cache source (a --cache-from value) holds, as
 * {"source", "kind", "created", "steps": [...], "layers": [...],
 * "mounts": [...]} (newly allocated). A source that cannot be read is an
 * error here (STRATA_E_NOTFOUND, _REGISTRY, _INVALID).
 */
int rcache_source_describe(struct regclient *c, const char *spec, json_t **out, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Import (--cache-from)                                                     */

struct rcache_table;
struct rcache_table *rcache_table_new(void);
/* NULL is a no-op. */
void rcache_table_free(struct rcache_table *t);

enum rcache_source_status {
	RCACHE_SOURCE_OK = 0,   /* cache metadata imported (possibly 0 entries) */
	RCACHE_SOURCE_EMPTY,    /* readable, but no strata cache metadata: a note */
	RCACHE_SOURCE_FAILED,   /* missing, unreachable, unauthorised, malformed: a warning */
};

struct rcache_import_result {
	enum rcache_source_status status;
	size_t entries;         /* entries added */
	size_t mounts;          /* cache mounts added */
	char *kind;             /* "image" or "cache artifact" (OK only) */
	/*
	 * One line to print for EMPTY and FAILED (NULL for OK):
	 *  "note: --cache-from REF: no strata cache metadata (image not built by strata)"
	 *  "warning: --cache-from REF: not found (first build?)"
	 *  "warning: --cache-from REF: unauthorized: ..."
	 *  "warning: --cache-from REF: unreachable: ..."
	 */
	char *message;
	struct regclient_stats moved; /* what this import cost on the wire */
};
void rcache_import_result_release(struct rcache_import_result *r);

/*
 * Import ref ("host/repo:tag" or "@digest") into t: GET the manifest (an
 * index: the manifest for platform, NULL = the host's), then its config.
 * Never downloads a layer. Sources are consulted in import order: the first
 * imported source holding a key wins. Problems with the source are not
 * errors: they set res->status and res->message.
 * @return 0 (always, res filled), or -1 only for a reference that does not
 * parse (STRATA_E_USAGE: a command line mistake).
 */
int rcache_import(struct rcache_table *t, struct regclient *c, const char *ref, const char *platform,
		  struct rcache_import_result *res, struct strata_error **err);

/* The entry for key (borrowed, valid while t lives), or NULL. */
const struct rcache_entry *rcache_table_lookup(const struct rcache_table *t, const char *key);
/*
 * COPY --from: the recorded sources digest of the source set sources_id
 * (an entry with that sources_id whose inputs hold "sources" and a complete
 * "files"): a new {"sources": hex, "files": {...}}, or NULL.
 */
json_t *rcache_table_copy_sources(const struct rcache_table *t, const char *sources_id);
/* Every entry, source by source, in import order (borrowed). */
const struct rcache_entry *rcache_table_entries(const struct rcache_table *t, size_t *n);
/* Number of sources imported with RCACHE_SOURCE_OK. */
size_t rcache_table_sources(const struct rcache_table *t);

/* ------------------------------------------------------------------------- */
/* Explained misses                                                          */

/*
 * Why the step at (stage, pos) with these inputs misses: compares with the
 * entry at the same stage and position in the newest source (the one whose
 * config is the most recent; ties: the first imported) and names the first
 * difference: "parent step missed" (parent_missed), "instruction changed",
 * "platform changed", "build arg VERSION changed", "env PATH changed", "WORKDIR changed",
 * "src/main.c changed", "src/new.c added", "src/old.c removed", "sources
 * changed", "base changed", "inputs changed"; followed by " (cache: REF)".
 * "no cache entry" when no source has an entry there (t may be NULL).
 * Newly allocated, without the "MISS: " prefix.
 */
char *rcache_explain(const struct rcache_table *t, int stage, int pos, const json_t *inputs, bool parent_missed);
/* The same comparison between two inputs objects (prev may be NULL: "no cache entry"). */
char *rcache_inputs_diff(const json_t *prev, const json_t *now, bool parent_missed);

/* ------------------------------------------------------------------------- */
/* Remote blobs: layers the local store references but does not hold        */

/*
 * The remote blob record is the store's record of blob locations
 * (store/store.h: store_blobloc_note / store_blobloc_lookup, newest
 * location first). Note the layer of imported entries (desc, host, repo)
 * there: one lock, one write.
 */
int rcache_remote_note_entries(struct store *s, const struct rcache_entry *e, size_t n, struct strata_error **err);
int rcache_remote_note_entry(struct store *s, const struct rcache_entry *e, struct strata_error **err);

/*
 * Make sure blob digest is in the store: nothing when present, else GET it
 * from the remote record's registry (or host/repo when given), verified
 * while streaming, committed only when digest and size match.
 * @return 0 present or fetched, -1 (STRATA_E_NOTFOUND when no source is known).
 */
int rcache_fetch_blob(struct regclient *c, struct store *s, const char *digest, int64_t size, const char *host,
		      const char *repo, struct strata_error **err);
/* The layer of a hit (e->desc from e->host/e->repo). */
int rcache_fetch_layer(struct regclient *c, struct store *s, const struct rcache_entry *e,
		       struct strata_error **err);

/*
 * Bring image ref from its registry into the store as a cache hit would:
 * manifest and config only, layers noted as remote; tag it locally as tag
 * (NULL: ref). The engine does the same for a build whose layers are hits.
 */
int rcache_image_adopt(struct regclient *c, struct store *s, const char *ref, const char *tag,
		       struct strata_error **err);
/* The same, selecting platform ("os/arch[/variant]"; NULL: the host's) from an index. */
int rcache_image_adopt_platform(struct regclient *c, struct store *s, const char *ref, const char *tag,
				const char *platform, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Push and export                                                           */

struct rcache_push_result {
	char *digest;            /* the manifest pushed */
	size_t blobs_present;    /* HEAD found them */
	size_t blobs_mounted;    /* cross-repo mount */
	size_t blobs_uploaded;
	size_t blobs_fetched;    /* remote blobs downloaded first (only then uploaded) */
	uint64_t bytes_uploaded; /* blob bytes */
	size_t mounts;           /* cache mounts in the exported artifact */
	uint64_t mount_bytes_uploaded; /* of bytes_uploaded: cache mount parts */
	char **notes;            /* n_notes lines to print (mounts skipped) */
	size_t n_notes;
};
void rcache_push_result_release(struct rcache_push_result *r);

/*
 * Push local image src_ref (store_resolve syntax) to dest_ref, its layers
 * possibly absent locally (remote record). Per blob: HEAD on the target;
 * else a cross-repo mount when the blob's remote source is another
 * repository of the same registry; else upload it, fetching it first when
 * absent. Then the manifest; a local index: each platform's manifest so,
 * by digest, then the index under the tag. Errors read "push REF: ...".
 */
int rcache_push_image(struct regclient *c, struct store *s, const char *src_ref, const char *dest_ref,
		      struct rcache_push_result *out, struct strata_error **err);
/* The same, telling prog (may be NULL) each upload's progress. */
int rcache_push_image_progress(struct regclient *c, struct store *s, const char *src_ref, const char *dest_ref,
			       const struct regclient_progress *prog, struct rcache_push_result *out,
			       struct strata_error **err);

/*
 * --cache-to dest_ref: encode the artifact of entries (rcache_artifact_encode),
 * push its layers as rcache_push_image does (an entry's host/repo, else the
 * remote record, else the store), then the config, then the manifest.
 */
int rcache_export(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n, bool mode_max,
		  int final_stage, const char *dest_ref, struct rcache_push_result *out, struct strata_error **err);
/* The same with cache mounts (their parts' blobs: the mount's host/repo, else the store). */
int rcache_export_mounts(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			 const struct rcache_mount *m, size_t nm, const char *dest_ref, struct rcache_push_result *out,
			 struct strata_error **err);

/*
 * Parse a --cache-to value "REF[,mode=min|max]" (also "type=registry,ref=REF,mode=max").
 * @return 0 (*ref newly allocated), or -1 (STRATA_E_USAGE naming the bad part,
 * also for a spec that is not a registry's).
 */
int rcache_parse_cache_to(const char *spec, char **ref, bool *mode_max, struct strata_error **err);

/*
 * A --cache-from / --cache-to value as buildx writes them:
 *   REF | type=registry,ref=REF       a registry (image or cache artifact)
 *   type=local,src=DIR (from)         a directory holding an OCI image layout
 *   type=local,dest=DIR (to)          (the cache artifact, its layers as blobs)
 *   type=inline (to)                  the inline cache (always written: a no-op)
 * plus mode=min|max (to); buildx's other keys (ignore-error, compression,
 * oci-mediatypes, image-manifest, ...) are accepted and ignored.
 */
enum rcache_spec_type { RCACHE_SPEC_REGISTRY, RCACHE_SPEC_LOCAL, RCACHE_SPEC_INLINE };
struct rcache_spec {
	enum rcache_spec_type type;
	char *ref;       /* the registry reference, or the directory */
	bool mode_max;
	/*
	 * (to) cache-mounts=all|none|ID[+ID...]: which cache mounts are
	 * exported; NULL: all with mode=max, none with mode=min. "all", "none"
	 * or the IDs joined with '+'.
	 */
	char *cache_mounts;
	uint64_t max_mount_size; /* (to) max-mount-size=SIZE (k, m, g, KB, MiB...); 0: no cap */
};
/* Whether sp exports the cache mount id (cache-mounts and mode). */
bool rcache_spec_wants_mount(const struct rcache_spec *sp, const char *id);
/* @return 0, or -1 (STRATA_E_USAGE naming the bad part). */
int rcache_spec_parse(const char *spec, bool to, struct rcache_spec *out, struct strata_error **err);
void rcache_spec_release(struct rcache_spec *s);

/*
 * --cache-to type=local,dest=DIR: the cache artifact (as rcache_export) into
 * the OCI image layout DIR (created when missing): blobs the directory
 * lacks are copied from the store (fetched first when remote), then the
 * config and manifest, then DIR/index.json names the manifest (ref name
 * "strata-cache"; it replaces the one before, older blobs stay).
 * out->blobs_uploaded / bytes_uploaded count the blobs written.
 */
int rcache_layout_export(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			 const char *dir, struct rcache_push_result *out, struct strata_error **err);
int rcache_layout_export_mounts(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
				const struct rcache_mount *m, size_t nm, const char *dir,
				struct rcache_push_result *out, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* The engine's handle: one session per build                               */

/*
 * A build's remote cache: the imported table, the entries the build
 * produced, and the lines to print. The engine keeps one pointer and opens
 * it for every build, with or without --cache-from (n = 0 costs nothing),
 * because every image carries the inline cache. For robustness every call
 * but open and export accepts x == NULL as "no remote cache, no metadata".
 */
struct rcache_session;

/*
 * Import refs[0..n) (rcache_import each, a reference repeated in another
 * spelling once; problems become lines, never errors). platform: NULL (the
 * host's), "os/arch[/variant]", or several comma-separated (a multi-platform
 * build: an image source is imported for each). c and s are borrowed and must outlive the session (s may be NULL
 * when neither rcache_session_note_remote nor rcache_session_export is called).
 * @return 0, or -1 only for a reference that does not parse (STRATA_E_USAGE).
 */
int rcache_session_open(struct regclient *c, struct store *s, const char *const *refs, size_t n,
			const char *platform, struct rcache_session **out, struct strata_error **err);
/* NULL is a no-op. */
void rcache_session_free(struct rcache_session *x);
/*
 * The lines to print once, in order: "importing cache from REF: image, 12
 * entries", "note: ...", "warning: ..." (borrowed).
 */
const char *const *rcache_session_lines(const struct rcache_session *x, size_t *n);
/* What the imports cost on the wire. */
void rcache_session_moved(const struct rcache_session *x, struct regclient_stats *out);
const struct rcache_table *rcache_session_table(const struct rcache_session *x);
/* rcache_table_lookup on the session's table; x may be NULL (no hit). */
const struct rcache_entry *rcache_session_lookup(const struct rcache_session *x, const char *key);
/* rcache_table_copy_sources on the session's table; x may be NULL (none). */
json_t *rcache_session_copy_sources(const struct rcache_session *x, const char *sources_id);
/* rcache_explain on the session's table; x may be NULL ("no cache entry"). */
char *rcache_session_explain(const struct rcache_session *x, int stage, int pos, const json_t *inputs,
			     bool parent_missed);
/*
 * Record a layer step of this build, hit or miss (copied): key, layer (its
 * index in the stage's image layers, base layers included), stage, pos
 * (insn_index), line, insn, inputs, desc, diff_id; for a hit of an imported
 * entry also its host/repo (pass the looked-up entry's fields).
 */
void rcache_session_add(struct rcache_session *x, const struct rcache_entry *e);
/*
 * Inline cache of the final image: the recorded entries whose layer is the
 * final image's layer at the same index (so steps of ancestor stages
 * count) go into config["strata.cache.v1"]. layers: the final manifest's
 * layers array.
 */
/*
 * When every layer step of this build was a hit from the cache sources, the
 * newest source image's "created" (a fresh runner's fully cached build is the
 * same image); else 0.
 */
time_t rcache_session_created(const struct rcache_session *x);
int rcache_session_inline(struct rcache_session *x, json_t *config, const json_t *layers,
			  struct strata_error **err);
/*
 * A RUN with a cache mount is about to run (runs) or hit the cache (the
 * engine's cache_mount hook): the mount is recorded for --cache-to, and
 * when it runs and a cache source holds a mount of that id not yet imported
 * by this session, it is imported into dir now (rcache_mount_import).
 * Thread safe. *line: a line to print or NULL. A failed import is a
 * warning line, never an error. At export, a mount no RUN ran with is the
 * imported one when a source has it (the local copy was not brought up to
 * date), else the local directory.
 */
void rcache_session_mount_use(struct rcache_session *x, const struct rcache_mount *m, const char *dir, bool runs,
			      char **line);
/* The cache mounts of the session's sources (borrowed). */
const struct rcache_mount *rcache_session_mounts(const struct rcache_session *x, size_t *n);
/* Record (rcache_remote_note_entries) the imported layers the store does not hold. */
int rcache_session_note_remote(struct rcache_session *x, struct strata_error **err);
/*
 * --cache-to spec ("REF[,mode=min|max]"): mode=max exports every recorded
 * entry; mode=min those of the final image (layers: its manifest's layers,
 * or an array of such arrays: the images of a multi-platform build).
 * Cache mounts as the spec selects (rcache_spec_wants_mount): those RUNs of
 * this build ran with, packed (rcache_mount_pack); those only hits used or
 * no RUN declared, the sources' copies when they have one. out->notes: the
 * mounts skipped (max-mount-size, cache-mounts=none), one line each.
 */
int rcache_session_export(struct rcache_session *x, const char *spec, const json_t *layers,
			  struct rcache_push_result *out, struct strata_error **err);

#endif
