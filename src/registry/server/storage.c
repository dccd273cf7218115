/*
 * storage.c — opening a registry's storage (blob store + metadata) and the
 * one publication path for verified content.
 *
 * Publication order (see docs/internals/registry-server.md):
 *   1. the content is complete in an upload and its digest verified
 *   2. the blob store seals it (fsync)
 *   3. the metadata's write transaction begins (serialises with gc's sweep
 *      and other publishers)
 *   4. the blob store publishes it under its digest (rename; or drops it
 *      when the blob is already there: same digest, same bytes)
 *   5. rows: blobs, links (+ the caller's extra rows), COMMIT
 * A crash before 4 leaves an upload (removed with its session or by gc); a
 * crash between 4 and 5 leaves a blob without a row, which a later upload
 * of the same digest adopts and gc removes after the grace period.
 */
#include "registry/server/internal.h"
#include "s3/s3.h"

#include <string.h>

static bool is_pg_url(const char *s)
{
	return !strncmp(s, "postgres://", 11) || !strncmp(s, "postgresql://", 13);
}

int registry_migrate(const char *metadata, int *version, struct strata_error **err)
{
	if (!metadata || !is_pg_url(metadata))
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "--metadata must be a postgres://USER@HOST:PORT/DB URL");
	struct reg_meta *m = NULL;
	if (reg_meta_pg_open(metadata, version, &m, err) < 0)
		return -1;
	reg_meta_free(m);
	return 0;
}

int reg_storage_open(const char *root, const char *storage, const char *metadata, bool create,
		     struct reg_blobstore **bs, struct reg_meta **meta, struct strata_error **err)
{
	cleanup_free char *dbpath = strata_path_join(root, "meta.db");
	*bs = NULL;
	*meta = NULL;
	if (metadata && !is_pg_url(metadata))
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "--metadata '%s': expected postgres://USER@HOST:PORT/DB", metadata);
	if (storage) {
		/* a bad URL is named before anything else is looked at */
		struct s3_config c;
		if (s3_url_parse(storage, &c, err) < 0)
			return -1;
		s3_config_release(&c);
	}
	if (!create && !metadata && !strata_path_exists(dbpath))
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no registry at '%s'", root);
	if (!create && metadata && !storage && !strata_path_exists(root))
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no registry at '%s'", root);
	if (create && !(storage && metadata) && strata_mkdir_p(root, 0755, err) < 0)
		return -1;
	if (storage ? reg_blobstore_s3_open(storage, bs, err) < 0 : reg_blobstore_fs_open(root, create, bs, err) < 0)
		return -1;
	if (metadata ? reg_meta_pg_open(metadata, NULL, meta, err) < 0
		     : reg_meta_sqlite_open(dbpath, create, meta, err) < 0) {
		reg_blobstore_free(*bs);
		*bs = NULL;
		return -1;
	}
	return 0;
}

int reg_publish(struct registry *r, const char *id, const char *state, const char *digest, int64_t size,
		const char *repo, reg_publish_fn extra, void *ud, struct strata_error **err)
{
	struct reg_meta *m = r->meta;
	if (r->bs->ops->upload_seal(r->bs, id, state, err) < 0)
		return -1;
	if (m->ops->begin(m, true, err) < 0)
		return -1;
	if (r->bs->ops->publish(r->bs, id, state, digest, (uint64_t)size, err) < 0 ||
	    m->ops->blob_record(m, digest, size, err) < 0 ||
	    (repo && m->ops->blob_link(m, repo, digest, err) < 0) ||
	    (extra && extra(m, repo, ud, err) < 0) || m->ops->commit(m, err) < 0) {
		m->ops->rollback(m);
		return -1;
	}
	return 0;
}
