/*
 * blobstore.h — where the registry's bytes live: every blob (layers,
 * configs, manifests) once per digest, the bytes of uploads in progress and
 * the trash of a running gc. The metadata (metadata.h) decides what is
 * visible; the blob store only holds bytes. One interface, one driver per
 * backend:
 *
 *   blobstore_fs.c   ROOT/blobs/<alg>/<2 hex>/<hex>, ROOT/uploads/<id>,
 *                    ROOT/trash/ (the first driver; sendfile for reads)
 *   blobstore_s3.c   an S3 bucket: P/blobs/<alg>/<hex>, P/uploads/<id>/
 *                    (parts of >= 5 MiB and a tail), P/trash/; ranged GETs
 *                    for reads, presigned URLs for redirects
 *
 * Uploads are named by an id the server makes (32 hex digits for a session,
 * ".mono-..." / ".manifest-..." for the temp content of monolithic uploads
 * and manifest PUTs) plus a driver state string the driver returns at
 * creation (stored by the caller with the session's metadata, so any
 * instance can continue the upload; "" for the filesystem).
 *
 * Errors: an absent blob or upload is a return of 0, never an error; any
 * other failure (EACCES, EMFILE, EIO...) is -1 with err set, which the
 * routes answer 500 (507 when the storage is full).
 */
#ifndef STRATA_REGISTRY_SERVER_BLOBSTORE_H
#define STRATA_REGISTRY_SERVER_BLOBSTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

/*
 * An open read of [off, off + len) of a blob or upload of size bytes.
 * Either fd >= 0 (positioned reads and sendfile from fd at off; the reader
 * owns fd) or read() pulls the bytes at pos (relative to the blob's start).
 */
struct reg_blob_reader {
	int fd;
	uint64_t off, len, size;
	ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*close)(void *ctx);
	void *ctx;
};

/* Read up to max bytes at pos (relative to the blob's start). @return bytes, 0 at end, -1 (errno). */
ssize_t reg_blob_reader_pread(struct reg_blob_reader *rd, uint64_t pos, char *buf, size_t max);
/* Close whatever the reader holds (safe twice, and on a zeroed reader with fd = -1). */
void reg_blob_reader_close(struct reg_blob_reader *rd);
/* Hash the first len bytes (sha256 or sha512) of what rd reads. @return 0 or -1. */
int reg_blob_reader_hash(struct reg_blob_reader *rd, enum strata_hash_alg alg, uint64_t len,
			 struct strata_hash *h, struct strata_error **err);

/* The bytes of one chunk being appended to an upload (driver-specific). */
struct reg_blob_writer;

/* Called per stored item by the listing operations; non-zero stops (returned). */
typedef int (*reg_blob_list_fn)(void *ud, const char *name, uint64_t size, int64_t mtime,
				struct strata_error **err);

struct reg_blobstore;

struct reg_blobstore_ops {
	const char *name;
	void (*free)(struct reg_blobstore *bs);

	/* ---- blobs ---- */
	/* @return 1 (size set), 0 absent, -1 */
	int (*stat)(struct reg_blobstore *bs, const char *digest, uint64_t *size, struct strata_error **err);
	/* Open [off, off + len) of the blob (len UINT64_MAX: to the end, clamped). @return 1, 0 absent, -1 */
	int (*open)(struct reg_blobstore *bs, const char *digest, uint64_t off, uint64_t len,
		    struct reg_blob_reader *out, struct strata_error **err);
	/* Every blob: name is the digest, mtime when it was stored. */
	int (*list)(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err);

	/* ---- uploads ---- */
	/* Create an empty upload; *state (newly allocated) goes with the id. */
	int (*upload_create)(struct reg_blobstore *bs, const char *id, char **state, struct strata_error **err);
	/* Bytes received so far and the time of the last change. @return 1, 0 absent, -1 */
	int (*upload_stat)(struct reg_blobstore *bs, const char *id, const char *state, uint64_t *size,
			   int64_t *mtime, struct strata_error **err);
	/* Read the bytes received so far. @return 1, 0 absent, -1 */
	int (*upload_open)(struct reg_blobstore *bs, const char *id, const char *state,
			   struct reg_blob_reader *out, struct strata_error **err);
	/*
	 * Start a chunk at offset (which must be the upload's size). @return 1
	 * with *w, 0 absent, -1.
	 */
	int (*chunk_begin)(struct reg_blobstore *bs, const char *id, const char *state, uint64_t offset,
			   struct reg_blob_writer **w, struct strata_error **err);
	int (*chunk_write)(struct reg_blob_writer *w, const void *data, size_t n, struct strata_error **err);
	/*
	 * End the chunk and free w: keep makes what was written part of the
	 * upload (a chunk cut short included: the upload's size says what
	 * arrived), !keep takes the chunk back (the upload is at its starting
	 * offset again). @return 0 or -1 (then the chunk's bytes are not part
	 * of the upload).
	 */
	int (*chunk_end)(struct reg_blob_writer *w, bool keep, struct strata_error **err);
	/* Make the upload's bytes durable before publication (fsync). */
	int (*upload_seal)(struct reg_blobstore *bs, const char *id, const char *state,
			   struct strata_error **err);
	/*
	 * The upload becomes blob digest (size bytes, verified by the caller):
	 * atomically, and never half-visible; when the blob is already stored
	 * the upload is dropped. The upload is gone on success. Called inside
	 * the metadata's write transaction.
	 */
	int (*publish)(struct reg_blobstore *bs, const char *id, const char *state, const char *digest,
		       uint64_t size, struct strata_error **err);
	/* Remove an upload (absent is success). */
	int (*upload_delete)(struct reg_blobstore *bs, const char *id, const char *state,
			     struct strata_error **err);
	/* Every upload (sessions and temp content): name is the id. */
	int (*upload_list)(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err);

	/* ---- the gc trash protocol ---- */
	/*
	 * Move a blob aside, reversibly (inside gc's transaction; absent is
	 * success). After gc's COMMIT, trash_empty deletes what was moved;
	 * after a gc died before its COMMIT, trash_recover puts back every
	 * trashed blob for which keep() says 1 and deletes the others.
	 */
	int (*trash)(struct reg_blobstore *bs, const char *digest, struct strata_error **err);
	int (*trash_recover)(struct reg_blobstore *bs, int (*keep)(void *ud, const char *digest,
								  struct strata_error **err),
			     void *ud, struct strata_error **err);
	void (*trash_empty)(struct reg_blobstore *bs);

	/* ---- optional (NULL when the driver has none) ---- */
	/* A URL a client may GET the blob from for expires seconds (newly allocated). */
	char *(*presign)(struct reg_blobstore *bs, const char *digest, unsigned expires);
};

struct reg_blobstore {
	const struct reg_blobstore_ops *ops;
};

/* The filesystem driver on root (directories created when create). */
int reg_blobstore_fs_open(const char *root, bool create, struct reg_blobstore **out,
			  struct strata_error **err);

/*
 * The S3 driver on s3://BUCKET?endpoint=URL&region=R[&prefix=P] (s3/s3.h;
 * credentials from the environment or the shared credentials file); the
 * bucket must exist. @return 0 or -1.
 */
int reg_blobstore_s3_open(const char *url, struct reg_blobstore **out, struct strata_error **err);

static inline void reg_blobstore_free(struct reg_blobstore *bs)
{
	if (bs)
		bs->ops->free(bs);
}

#endif
