/*
 * metadata.h — what the registry knows about its bytes: repositories, tags,
 * manifests, referrers (a manifest's subject), blob references (blob rows
 * and per-repository links), upload sessions and gc's marks. A blob in the
 * blob store (blobstore.h) is visible only through this. One interface, one
 * driver per backend:
 *
 *   meta_sqlite.c   ROOT/meta.db, WAL, one connection per thread (the first
 *                   driver; one serving process)
 *   meta_pg.c       PostgreSQL (libpq), versioned migrations applied at
 *                   open; shared by any number of instances
 *
 * Every operation runs on the calling thread's connection. Operations
 * marked (tx) must run inside begin(write = true) ... commit; the others
 * run in their own implicit transaction. Repositories are named; a driver
 * creates one on first link, manifest or upload. Returns: -1 with err set
 * on failure; lookups return 1 found / 0 absent.
 */
#ifndef STRATA_REGISTRY_SERVER_METADATA_H
#define STRATA_REGISTRY_SERVER_METADATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry/server/server.h"
#include "util/util.h"

/* A manifest as recorded (strings newly allocated; reg_meta_manifest_release). */
struct reg_meta_manifest {
	char *digest, *media_type, *subject;
	int64_t size;
};
void reg_meta_manifest_release(struct reg_meta_manifest *m);

/* A manifest being recorded by a PUT. */
struct reg_meta_manifest_put {
	const char *digest, *media_type, *tag, *artifact_type, *subject, *annotations;
	int64_t size;
	json_t *blobs;     /* digests that must be linked in the repository */
	json_t *children;  /* digests that must be manifests of the repository */
};

/* An upload session's row (strings newly allocated; reg_meta_upload_release). */
struct reg_meta_upload {
	char *repo;
	char *bs_state;           /* the blob store's state of the upload */
	unsigned char *hash_state;/* hash over [0, hash_offset), or NULL */
	size_t hash_state_len;
	uint64_t hash_offset;
	int64_t updated;
};
void reg_meta_upload_release(struct reg_meta_upload *u);

/* gc's sweep of blob rows: called per blob to remove (inside gc's tx). */
typedef int (*reg_meta_blob_fn)(void *ud, const char *digest, int64_t size, struct strata_error **err);

struct reg_meta;

struct reg_meta_ops {
	const char *name;
	void (*free)(struct reg_meta *m);

	int (*begin)(struct reg_meta *m, bool write, struct strata_error **err);
	int (*commit)(struct reg_meta *m, struct strata_error **err);
	void (*rollback)(struct reg_meta *m);

	/* ---- blobs ---- */
	/* Is digest linked in repo? (size in *size, may be NULL) */
	int (*blob_linked)(struct reg_meta *m, const char *repo, const char *digest, int64_t *size,
			   struct strata_error **err);
	/* Is there a blob row for digest? */
	int (*blob_known)(struct reg_meta *m, const char *digest, struct strata_error **err);
	/* (tx) Record a stored blob (refreshing its age). */
	int (*blob_record)(struct reg_meta *m, const char *digest, int64_t size, struct strata_error **err);
	/* (tx) Link a recorded blob into repo (creating the repository; refreshing the link's age). */
	int (*blob_link)(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err);
	/* Remove the link. @return 1, 0 when there was none */
	int (*blob_unlink)(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err);

	/* ---- manifests, tags, referrers ---- */
	/*
	 * Look up ref (a digest when by_digest, else a tag) in repo. @return 1
	 * with *out, 0 when the manifest is unknown; *repo_known says whether
	 * the repository exists.
	 */
	int (*manifest_get)(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			    struct reg_meta_manifest *out, bool *repo_known, struct strata_error **err);
	/*
	 * (tx) Check that everything p references is in repo, then record the
	 * manifest, its references and its tag. A missing reference is -1 with
	 * *missing (newly allocated) and *missing_is_manifest set.
	 */
	int (*manifest_put)(struct reg_meta *m, const char *repo, const struct reg_meta_manifest_put *p,
			    char **missing, bool *missing_is_manifest, struct strata_error **err);
	/*
	 * Delete a manifest by digest (with its tags and references) or a tag.
	 * @return 1, 0 when unknown; *repo_known as above.
	 */
	int (*manifest_delete)(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			       bool *repo_known, struct strata_error **err);
	/*
	 * Tags of repo after last (""), in order, at most limit appended to
	 * names. @return 1, 0 when the repository is unknown.
	 */
	int (*tags_list)(struct reg_meta *m, const char *repo, const char *last, uint64_t limit,
			 json_t *names, struct strata_error **err);
	/* Every tag of repo with its digest and when it was last set: fn per tag until it returns non-zero. */
	int (*tags_dated)(struct reg_meta *m, const char *repo,
			  int (*fn)(void *ud, const char *tag, const char *digest, int64_t updated), void *ud,
			  struct strata_error **err);
	/* Repositories holding a manifest or a link, after last, in order: fn per name until it returns non-zero. */
	int (*repos_list)(struct reg_meta *m, const char *last, int (*fn)(void *ud, const char *name), void *ud,
			  struct strata_error **err);
	/* Descriptors of the manifests of repo whose subject is digest (artifact_type filter may be NULL). */
	int (*referrers)(struct reg_meta *m, const char *repo, const char *digest, const char *artifact_type,
			 json_t *descriptors, struct strata_error **err);

	/* ---- upload sessions ---- */
	int (*upload_create)(struct reg_meta *m, const char *uuid, const char *repo, const char *bs_state,
			     struct strata_error **err);
	/* The session uuid of repo (NULL: of any repository). */
	int (*upload_get)(struct reg_meta *m, const char *uuid, const char *repo, struct reg_meta_upload *out,
			  struct strata_error **err);
	/* Refresh the session's age and, when hash_state != NULL, its hash state at hash_offset. */
	int (*upload_update)(struct reg_meta *m, const char *uuid, const void *hash_state, size_t len,
			     uint64_t hash_offset, struct strata_error **err);
	/* @return 1, 0 when there was none */
	int (*upload_delete)(struct reg_meta *m, const char *uuid, struct strata_error **err);
	/*
	 * One request at a time per session, across every instance sharing the
	 * metadata. @return 1 taken, 0 busy, -1. upload_unlock releases it.
	 */
	int (*upload_lock)(struct reg_meta *m, const char *uuid, struct strata_error **err);
	void (*upload_unlock)(struct reg_meta *m, const char *uuid);
	/* Sessions idle since cutoff: fn(ud, uuid, bs_state); fn returns 1 to delete the row. */
	int (*uploads_idle)(struct reg_meta *m, int64_t cutoff,
			    int (*fn)(void *ud, const char *uuid, const char *bs_state, struct strata_error **err),
			    void *ud, struct strata_error **err);

	/* ---- gc (all tx) ---- */
	/* Mark what survives (see gc.c): tagged manifests, anything younger than cutoff, and their closure. */
	int (*gc_mark)(struct reg_meta *m, int64_t cutoff, struct strata_error **err);
	/* Report and delete unmarked manifests, then unkept links (report may be NULL). */
	int (*gc_sweep_manifests)(struct reg_meta *m, registry_gc_report_fn report, void *ud,
				  struct registry_gc_stats *st, struct strata_error **err);
	int (*gc_sweep_links)(struct reg_meta *m, registry_gc_report_fn report, void *ud,
			      struct registry_gc_stats *st, struct strata_error **err);
	/* Blob rows older than cutoff that nothing links or is: fn each, then the row is deleted unless dry_run. */
	int (*gc_sweep_blobs)(struct reg_meta *m, int64_t cutoff, bool dry_run, reg_meta_blob_fn fn, void *ud,
			      struct strata_error **err);
};

struct reg_meta {
	const struct reg_meta_ops *ops;
};

/*
 * The SQLite driver on path (ROOT/meta.db): the schema is created (or
 * upgraded) unless !create, when a missing database is STRATA_E_NOTFOUND.
 */
int reg_meta_sqlite_open(const char *path, bool create, struct reg_meta **out, struct strata_error **err);

/*
 * The PostgreSQL driver on a libpq URL ("postgres://USER@HOST:PORT/DB"):
 * pending schema migrations are applied first; *version (may be NULL) is
 * the schema version afterwards.
 */
int reg_meta_pg_open(const char *url, int *version, struct reg_meta **out, struct strata_error **err);

static inline void reg_meta_free(struct reg_meta *m)
{
	if (m)
		m->ops->free(m);
}

#endif
