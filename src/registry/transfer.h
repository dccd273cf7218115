/*
 * registry/transfer.h — whole-image pull and push on top of the registry
 * client, against an abstract local side (the store, or an OCI image layout
 * directory, see registry/layout.h). The local side is a small vtable so
 * the transfer logic (platform selection, skipping what exists, parallel
 * verified blob transfers, cross-repo mounts, manifest last) is written once.
 */
#ifndef STRATA_REGISTRY_TRANSFER_H
#define STRATA_REGISTRY_TRANSFER_H

#include "registry/client.h"

struct regxfer_local {
	void *ctx;
	/*
	 * true when blob_commit itself checks the digest of what was written
	 * and refuses a mismatch: the client then does not hash a second time.
	 */
	bool commit_verifies;
	/* @return 1 when the blob (or manifest) is present locally, 0 when not, -1 error. */
	int (*has_blob)(void *ctx, const char *digest, struct strata_error **err);
	/*
	 * Start writing blob digest: fill *sink and an opaque *handle. Then
	 * exactly one of commit (only after the data was verified) or abort.
	 */
	int (*blob_begin)(void *ctx, const char *digest, struct strata_sink *sink, void **handle,
			  struct strata_error **err);
	int (*blob_commit)(void *ctx, void *handle, struct strata_error **err);
	void (*blob_abort)(void *ctx, void *handle);
	/* Open a blob for reading: an fd (the caller closes it) and its size. */
	int (*blob_open)(void *ctx, const char *digest, int *fd, uint64_t *size, struct strata_error **err);
	/* Store a verified manifest/index document (its digest is given). */
	int (*manifest_put)(void *ctx, const char *digest, const char *media_type, const void *data, size_t len,
			    struct strata_error **err);
	/* Read a manifest by digest (newly allocated data and media type). */
	int (*manifest_get)(void *ctx, const char *digest, char **media_type, char **data, size_t *len,
			    struct strata_error **err);
	/* Point name (a reference string) at digest. */
	int (*tag)(void *ctx, const char *ref, const char *digest, const char *media_type, struct strata_error **err);
	/* Resolve a local reference to the digest of its root manifest (newly allocated). */
	int (*resolve)(void *ctx, const char *ref, char **digest, struct strata_error **err);
	/*
	 * Optional: remember that blob digest lives in host/repo (after a pull or
	 * push), and ask for another repository of host that has it (for a
	 * cross-repo mount). where returns 1 with *repo newly allocated, or 0.
	 */
	void (*seen)(void *ctx, const char *host, const char *repo, const char *digest);
	int (*where)(void *ctx, const char *host, const char *digest, const char *not_repo, char **repo);
};

struct regxfer_result {
	char *digest;       /* the manifest pulled or pushed */
	uint64_t bytes;     /* blob bytes moved over the network */
	size_t blobs_moved; /* blobs transferred */
	size_t blobs_skipped;
	size_t blobs_mounted;
};
void regxfer_result_release(struct regxfer_result *r);

/*
 * Pull ref ("host/repo:tag" or "@digest"): the manifest (for an index, the
 * one for platform, NULL = the host's), its config and layers in parallel
 * (skipping those present), each verified while streaming and committed only
 * when its digest matches; then the manifest; then the local tag `ref`.
 * Errors read "pull REF: ...".
 */
int regclient_pull_image(struct regclient *c, const char *ref, const char *platform,
			 const struct regxfer_local *local, const struct regclient_progress *prog,
			 struct regxfer_result *out, struct strata_error **err);

/*
 * Push local image src_ref to dest_ref (NULL: the same): blobs the registry
 * lacks (HEAD first; cross-repo mount when `where` knows another repository
 * of that registry), in parallel; then child manifests of an index; then the
 * manifest under the tag. Errors read "push REF: ...".
 */
int regclient_push_image(struct regclient *c, const char *src_ref, const char *dest_ref,
			 const struct regxfer_local *local, const struct regclient_progress *prog,
			 struct regxfer_result *out, struct strata_error **err);

#endif
