/*
 * gc.c — registry_gc: mark and sweep, safe while the server runs.
 *
 * Everything happens in one BEGIN IMMEDIATE transaction, which serialises
 * with every publisher (storage.c renames blobs into place and records them
 * inside their own write transaction), so nothing can be linked between the
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
 * Files are not unlinked inside the transaction but renamed into
 * ROOT/trash/; after COMMIT the trash is emptied. A crash before COMMIT
 * leaves rows whose files are in the trash: the next gc moves them back.
 */
#include "registry/server/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gc {
	const struct registry_gc_options *o;
	sqlite3 *db;
	char *root, *blobs, *uploads, *trash;
	int64_t cutoff, upload_cutoff;
	registry_gc_report_fn report;
	void *ud;
	struct registry_gc_stats *st;
};

static int exec_i(sqlite3 *db, const char *sql, int64_t a, int *changes, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, sql, &st, err) < 0)
		return -1;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_step(st) != SQLITE_DONE)
		return reg_db_err(db, err, "gc");
	if (changes)
		*changes = sqlite3_changes(db);
	return 0;
}

static char *trash_name(struct gc *g, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%s/%.*s-%s", g->trash, (int)(colon - digest), digest, colon + 1);
}

/* Move blobs whose rows survived an interrupted gc back from the trash; drop the rest. */
static int recover_trash(struct gc *g, struct strata_error **err)
{
	cleanup_closedir DIR *d = opendir(g->trash);
	if (!d)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", g->trash);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *digest = xstrdup(e->d_name);
		char *dash = strchr(digest, '-');
		cleanup_free char *path = strata_path_join(g->trash, e->d_name);
		if (!dash) {
			unlink(path);
			continue;
		}
		*dash = ':';
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(g->db, "SELECT 1 FROM blobs WHERE digest = ?", &st, err) < 0)
			return -1;
		sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
		if (oci_digest_valid(digest) && sqlite3_step(st) == SQLITE_ROW) {
			struct registry r = { .blobs_dir = g->blobs };
			cleanup_free char *dst = reg_blob_path(&r, digest);
			if (rename(path, dst) < 0)
				return strata_error_make(err, errno, "restore '%s'", dst);
		} else {
			unlink(path);
		}
	}
	return 0;
}

/*
 * At server start: a gc killed between moving files into the trash and its
 * COMMIT left blobs whose rows survived in the trash (they would answer 404
 * until the next gc). Under BEGIN IMMEDIATE, so a gc running right now (which
 * holds the write lock until its COMMIT) is waited for, never undone.
 */
int reg_gc_recover(struct registry *r, sqlite3 *db, struct strata_error **err)
{
	struct gc g = { .db = db, .blobs = r->blobs_dir };
	g.trash = strata_path_join(r->root, "trash");
	int rc = -1;
	if (!strata_path_exists(g.trash)) {
		rc = 0;
	} else if (reg_begin(db, true, err) == 0) {
		if (recover_trash(&g, err) < 0 || reg_commit(db, err) < 0)
			reg_rollback(db);
		else
			rc = 0;
	}
	free(g.trash);
	return rc;
}

static int mark(struct gc *g, struct strata_error **err)
{
	sqlite3 *db = g->db;
	if (reg_exec(db,
		     "CREATE TEMP TABLE IF NOT EXISTS gc_keep(repo INTEGER, digest TEXT,"
		     " PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
		     "CREATE TEMP TABLE IF NOT EXISTS gc_keep_links(repo INTEGER, digest TEXT,"
		     " PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
		     "DELETE FROM gc_keep; DELETE FROM gc_keep_links;"
		     "INSERT OR IGNORE INTO gc_keep SELECT repo, digest FROM tags;",
		     err) < 0)
		return -1;
	if (exec_i(db, "INSERT OR IGNORE INTO gc_keep SELECT repo, digest FROM manifests WHERE created > ?",
		   g->cutoff, NULL, err) < 0)
		return -1;
	for (;;) {
		int a = 0, b = 0;
		if (exec_i(db,
			   "INSERT OR IGNORE INTO gc_keep SELECT r.repo, r.child FROM refs r"
			   " JOIN gc_keep k ON k.repo = r.repo AND k.digest = r.parent WHERE r.is_manifest = 1",
			   0, &a, err) < 0 ||
		    exec_i(db,
			   "INSERT OR IGNORE INTO gc_keep SELECT m.repo, m.digest FROM manifests m"
			   " JOIN gc_keep k ON k.repo = m.repo AND k.digest = m.subject",
			   0, &b, err) < 0)
			return -1;
		if (a == 0 && b == 0)
			break;
	}
	if (reg_exec(db,
		     "INSERT OR IGNORE INTO gc_keep_links SELECT repo, digest FROM gc_keep;"
		     "INSERT OR IGNORE INTO gc_keep_links SELECT r.repo, r.child FROM refs r"
		     " JOIN gc_keep k ON k.repo = r.repo AND k.digest = r.parent;",
		     err) < 0)
		return -1;
	return exec_i(db, "INSERT OR IGNORE INTO gc_keep_links SELECT repo, digest FROM links WHERE created > ?",
		      g->cutoff, NULL, err);
}

static int sweep_manifests(struct gc *g, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(g->db,
			"SELECT r.name, m.digest, m.size FROM manifests m JOIN repos r ON r.id = m.repo"
			" WHERE NOT EXISTS (SELECT 1 FROM gc_keep k WHERE k.repo = m.repo AND k.digest = m.digest)"
			" ORDER BY r.name, m.digest",
			&st, err) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		g->st->manifests++;
		if (g->report)
			g->report(g->ud, "manifest", (const char *)sqlite3_column_text(st, 0),
				  (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
	}
	return reg_exec(g->db,
			"DELETE FROM refs WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
			" WHERE k.repo = refs.repo AND k.digest = refs.parent);"
			"DELETE FROM manifests WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
			" WHERE k.repo = manifests.repo AND k.digest = manifests.digest);",
			err);
}

static int sweep_links(struct gc *g, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(g->db,
			"SELECT r.name, l.digest FROM links l JOIN repos r ON r.id = l.repo"
			" WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k WHERE k.repo = l.repo"
			" AND k.digest = l.digest) ORDER BY r.name, l.digest",
			&st, err) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		g->st->links++;
		if (g->report)
			g->report(g->ud, "link", (const char *)sqlite3_column_text(st, 0),
				  (const char *)sqlite3_column_text(st, 1), -1);
	}
	return reg_exec(g->db,
			"DELETE FROM links WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k"
			" WHERE k.repo = links.repo AND k.digest = links.digest);",
			err);
}

static int sweep_blobs(struct gc *g, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(g->db,
			"SELECT digest, size FROM blobs b WHERE created <= ?"
			" AND NOT EXISTS (SELECT 1 FROM links l WHERE l.digest = b.digest)"
			" AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)"
			" ORDER BY digest",
			&st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, g->cutoff);
	cleanup_stmt sqlite3_stmt *del = NULL;
	if (reg_prepare(g->db, "DELETE FROM blobs WHERE digest = ?", &del, err) < 0)
		return -1;
	struct registry r = { .blobs_dir = g->blobs };
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *digest = (const char *)sqlite3_column_text(st, 0);
		int64_t size = sqlite3_column_int64(st, 1);
		g->st->blobs++;
		g->st->bytes += (uint64_t)size;
		if (g->report)
			g->report(g->ud, "blob", NULL, digest, size);
		if (g->o->dry_run)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, digest, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(del) != SQLITE_DONE)
			return reg_db_err(g->db, err, "delete blob");
		cleanup_free char *path = reg_blob_path(&r, digest);
		cleanup_free char *t = trash_name(g, digest);
		if (rename(path, t) < 0 && errno != ENOENT)
			return strata_error_make(err, errno, "move '%s' to the trash", path);
	}
	return 0;
}

/* blob files that have no row (a crash between rename and commit) */
static int sweep_orphans(struct gc *g, struct strata_error **err)
{
	const char *algs[] = { "sha256", "sha512" };
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(g->db, "SELECT 1 FROM blobs WHERE digest = ?", &st, err) < 0)
		return -1;
	for (size_t a = 0; a < 2; a++) {
		cleanup_free char *adir = xasprintf("%s/%s", g->blobs, algs[a]);
		cleanup_closedir DIR *d1 = opendir(adir);
		if (!d1)
			continue;
		struct dirent *e1;
		while ((e1 = readdir(d1))) {
			if (e1->d_name[0] == '.')
				continue;
			cleanup_free char *sub = strata_path_join(adir, e1->d_name);
			cleanup_closedir DIR *d2 = opendir(sub);
			if (!d2)
				continue;
			struct dirent *e2;
			while ((e2 = readdir(d2))) {
				if (e2->d_name[0] == '.')
					continue;
				cleanup_free char *path = strata_path_join(sub, e2->d_name);
				cleanup_free char *digest = xasprintf("%s:%s", algs[a], e2->d_name);
				struct stat s;
				if (stat(path, &s) < 0 || s.st_mtime > g->cutoff)
					continue;
				sqlite3_reset(st);
				sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
				if (sqlite3_step(st) == SQLITE_ROW)
					continue;
				g->st->blobs++;
				g->st->bytes += (uint64_t)s.st_size;
				if (g->report)
					g->report(g->ud, "blob", NULL, digest, s.st_size);
				if (g->o->dry_run)
					continue;
				cleanup_free char *t = trash_name(g, digest);
				if (rename(path, t) < 0 && errno != ENOENT)
					return strata_error_make(err, errno, "move '%s' to the trash", path);
			}
		}
	}
	return 0;
}

static int sweep_uploads(struct gc *g, struct strata_error **err)
{
	/* a session is stale when neither its row nor its file changed since the cutoff */
	cleanup_stmt sqlite3_stmt *rows = NULL, *del = NULL, *has = NULL;
	if (reg_prepare(g->db, "SELECT uuid FROM uploads WHERE updated <= ?", &rows, err) < 0 ||
	    reg_prepare(g->db, "DELETE FROM uploads WHERE uuid = ?", &del, err) < 0 ||
	    reg_prepare(g->db, "SELECT 1 FROM uploads WHERE uuid = ?", &has, err) < 0)
		return -1;
	sqlite3_bind_int64(rows, 1, g->upload_cutoff);
	while (sqlite3_step(rows) == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(rows, 0);
		cleanup_free char *path = strata_path_join(g->uploads, uuid);
		struct stat s;
		bool exists = stat(path, &s) == 0;
		if (exists && s.st_mtime > g->upload_cutoff)
			continue;
		g->st->uploads++;
		if (g->report)
			g->report(g->ud, "upload", NULL, uuid, exists ? s.st_size : -1);
		if (g->o->dry_run)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, uuid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(del) != SQLITE_DONE)
			return reg_db_err(g->db, err, "delete upload");
		unlink(path);
	}
	/* files of no session: monolithic and manifest temp files left by a crash */
	cleanup_closedir DIR *d = opendir(g->uploads);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *path = strata_path_join(g->uploads, e->d_name);
		struct stat s;
		if (stat(path, &s) < 0 || s.st_mtime > g->upload_cutoff)
			continue;
		sqlite3_reset(has);
		sqlite3_bind_text(has, 1, e->d_name, -1, SQLITE_STATIC);
		if (sqlite3_step(has) == SQLITE_ROW)
			continue;
		g->st->uploads++;
		if (g->report)
			g->report(g->ud, "upload", NULL, e->d_name, s.st_size);
		if (!g->o->dry_run)
			unlink(path);
	}
	return 0;
}

static void empty_trash(struct gc *g)
{
	cleanup_closedir DIR *d = opendir(g->trash);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *p = strata_path_join(g->trash, e->d_name);
		unlink(p);
	}
}

int registry_gc(const struct registry_gc_options *o, registry_gc_report_fn report, void *ud,
		struct registry_gc_stats *stats, struct strata_error **err)
{
	struct gc g = { .o = o, .report = report, .ud = ud, .st = stats };
	memset(stats, 0, sizeof(*stats));
	int64_t now = (int64_t)time(NULL);
	g.cutoff = now - (o->grace_seconds >= 0 ? o->grace_seconds : 3600);
	g.upload_cutoff = now - (o->upload_ttl >= 0 ? o->upload_ttl : 86400);
	g.root = xstrdup(o->root);
	g.blobs = strata_path_join(o->root, "blobs");
	g.uploads = strata_path_join(o->root, "uploads");
	g.trash = strata_path_join(o->root, "trash");
	cleanup_free char *dbpath = strata_path_join(o->root, "meta.db");
	int rc = -1;
	if (!strata_path_exists(dbpath)) {
		strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no registry at '%s'", o->root);
		goto out;
	}
	if (strata_mkdir_p(g.trash, 0755, err) < 0 || reg_meta_open(dbpath, &g.db, err) < 0)
		goto out;
	if (reg_begin(g.db, true, err) < 0)
		goto out;
	if ((!o->dry_run && recover_trash(&g, err) < 0) || mark(&g, err) < 0 ||
	    sweep_manifests(&g, err) < 0 || sweep_links(&g, err) < 0 || sweep_blobs(&g, err) < 0 ||
	    sweep_orphans(&g, err) < 0 || sweep_uploads(&g, err) < 0) {
		reg_rollback(g.db);
		goto out;
	}
	if (o->dry_run) {
		reg_rollback(g.db);
	} else {
		if (reg_commit(g.db, err) < 0) {
			reg_rollback(g.db);
			goto out;
		}
		empty_trash(&g);
	}
	rc = 0;
out:
	if (rc < 0)
		strata_error_wrap(err, "registry gc '%s'", o->root);
	sqlite3_close(g.db);
	free(g.root);
	free(g.blobs);
	free(g.uploads);
	free(g.trash);
	return rc;
}
