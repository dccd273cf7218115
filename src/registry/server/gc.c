/*
 * gc.c — registry_gc: mark and sweep, safe while the server runs.
 *
 * Everything happens in one write transaction of the metadata, which
 * serialises with every publisher (storage.c publishes blobs into the blob
 * store and records them inside their own write transaction), so nothing can be linked between the
 * mark and the sweep. On top of that nothing younger than the grace period
 * is swept: blobs just uploaded whose manifest is not pushed yet, links, and
 * untagged manifests that an index about to be pushed will reference.
 *
 * mark:  per repository, the tagged manifests, the manifests younger than
 *        the grace period, recursively their index children and the
 *        referrers (subject) of anything kept.
 * sweep: manifests not marked; links not referenced by a marked manifest
 *        (and older than the grace period); blobs no link and no manifest
 *        uses (older than the grace period); blob files without a row;
 *        upload sessions idle for longer than upload_ttl.
 * Blobs are not deleted inside the transaction but moved to the blob
 * store's trash; after COMMIT the trash is emptied. A crash before COMMIT
 * leaves rows whose blobs are in the trash: the next gc (or server start)
 * moves them back. The mark and the row sweeps are the metadata driver's
 * (metadata.h), the bytes the blob store's (blobstore.h).
 */
#include "registry/server/internal.h"

#include <string.h>

struct gc {
	const struct registry_gc_options *o;
	struct reg_meta *m;
	struct reg_blobstore *bs;
	int64_t cutoff, upload_cutoff;
	registry_gc_report_fn report;
	void *ud;
	struct registry_gc_stats *st;
};

static int keep_known(void *ud, const char *digest, struct strata_error **err)
{
	struct reg_meta *m = ud;
	return m->ops->blob_known(m, digest, err);
}

/*
 * At server start: a gc killed between moving blobs into the trash and its
 * COMMIT left blobs whose rows survived in the trash (they would answer 404
 * until the next gc). Inside a write transaction, so a gc running right now
 * (which holds the write lock until its COMMIT) is waited for, never undone.
 */
int reg_gc_recover(struct reg_blobstore *bs, struct reg_meta *m, struct strata_error **err)
{
	if (m->ops->begin(m, true, err) < 0)
		return -1;
	if (bs->ops->trash_recover(bs, keep_known, m, err) < 0 || m->ops->commit(m, err) < 0) {
		m->ops->rollback(m);
		return -1;
	}
	return 0;
}

static int sweep_blob(void *ud, const char *digest, int64_t size, struct strata_error **err)
{
	struct gc *g = ud;
	g->st->blobs++;
	g->st->bytes += (uint64_t)size;
	if (g->report)
		g->report(g->ud, "blob", NULL, digest, size);
	return g->o->dry_run ? 0 : g->bs->ops->trash(g->bs, digest, err);
}

/* blobs stored without a row (a crash between publication and commit) */
static int sweep_orphan(void *ud, const char *digest, uint64_t size, int64_t mtime, struct strata_error **err)
{
	struct gc *g = ud;
	if (mtime > g->cutoff || !oci_digest_valid(digest))
		return 0;
	int k = g->m->ops->blob_known(g->m, digest, err);
	if (k)
		return k < 0 ? -1 : 0;
	g->st->blobs++;
	g->st->bytes += size;
	if (g->report)
		g->report(g->ud, "blob", NULL, digest, (int64_t)size);
	return g->o->dry_run ? 0 : g->bs->ops->trash(g->bs, digest, err);
}

/* a session is stale when neither its row nor its bytes changed since the cutoff */
static int sweep_session(void *ud, const char *uuid, const char *state, struct strata_error **err)
{
	struct gc *g = ud;
	uint64_t size = 0;
	int64_t mtime = 0;
	int there = g->bs->ops->upload_stat(g->bs, uuid, state, &size, &mtime, err);
	if (there < 0)
		return -1;
	if (there && mtime > g->upload_cutoff)
		return 0;
	g->st->uploads++;
	if (g->report)
		g->report(g->ud, "upload", NULL, uuid, there ? (int64_t)size : -1);
	if (g->o->dry_run)
		return 0;
	if (g->bs->ops->upload_delete(g->bs, uuid, state, err) < 0)
		return -1;
	return 1;
}

/* uploads of no session: monolithic and manifest temp content left by a crash */
static int sweep_stray(void *ud, const char *id, uint64_t size, int64_t mtime, struct strata_error **err)
{
	struct gc *g = ud;
	if (mtime > g->upload_cutoff)
		return 0;
	struct reg_meta_upload u;
	int ex = 0;
	if (id[0] != '.') {
		/* a session's row names its repository: look it up by uuid alone */
		ex = g->m->ops->upload_get(g->m, id, NULL, &u, err);
		if (ex < 0)
			return -1;
		if (ex) {
			reg_meta_upload_release(&u);
			return 0;
		}
	}
	g->st->uploads++;
	if (g->report)
		g->report(g->ud, "upload", NULL, id, (int64_t)size);
	return g->o->dry_run ? 0 : g->bs->ops->upload_delete(g->bs, id, "", err);
}

int registry_gc(const struct registry_gc_options *o, registry_gc_report_fn report, void *ud,
		struct registry_gc_stats *stats, struct strata_error **err)
{
	struct gc g = { .o = o, .report = report, .ud = ud, .st = stats };
	memset(stats, 0, sizeof(*stats));
	int64_t now = (int64_t)time(NULL);
	g.cutoff = now - (o->grace_seconds >= 0 ? o->grace_seconds : 3600);
	g.upload_cutoff = now - (o->upload_ttl >= 0 ? o->upload_ttl : 86400);
	int rc = -1;
	if (reg_storage_open(o->root, o->storage, o->metadata, false, &g.bs, &g.m, err) < 0)
		goto out;
	struct reg_meta *m = g.m;
	if (m->ops->begin(m, true, err) < 0)
		goto out;
	if ((!o->dry_run && g.bs->ops->trash_recover(g.bs, keep_known, m, err) < 0) ||
	    m->ops->gc_mark(m, g.cutoff, err) < 0 ||
	    m->ops->gc_sweep_manifests(m, report, ud, stats, err) < 0 ||
	    m->ops->gc_sweep_links(m, report, ud, stats, err) < 0 ||
	    m->ops->gc_sweep_blobs(m, g.cutoff, o->dry_run, sweep_blob, &g, err) < 0 ||
	    g.bs->ops->list(g.bs, sweep_orphan, &g, err) < 0 ||
	    m->ops->uploads_idle(m, g.upload_cutoff, sweep_session, &g, err) < 0 ||
	    g.bs->ops->upload_list(g.bs, sweep_stray, &g, err) < 0) {
		m->ops->rollback(m);
		goto out;
	}
	if (o->dry_run) {
		m->ops->rollback(m);
	} else {
		if (m->ops->commit(m, err) < 0) {
			m->ops->rollback(m);
			goto out;
		}
		g.bs->ops->trash_empty(g.bs);
	}
	rc = 0;
out:
	if (rc < 0)
		strata_error_wrap(err, "registry gc '%s'", o->storage ? o->storage : o->root);
	reg_meta_free(g.m);
	reg_blobstore_free(g.bs);
	return rc;
}
