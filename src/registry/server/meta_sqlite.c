/*
 * meta_sqlite.c — the registry's metadata in SQLite (WAL, synchronous=FULL):
 * the first driver of metadata.h.
 *
 * Each worker thread has its own connection (a pthread key; closed when the
 * thread exits). Writers use BEGIN IMMEDIATE so that they serialise up
 * front instead of failing on lock upgrade; readers see a consistent
 * snapshot. busy_timeout is 30 s. Upload session locks are a set in the
 * process: one SQLite database is served by one server process (gc, the
 * other process that opens it, takes no session locks).
 *
 * Schema version (PRAGMA user_version) 1 added the uploads' blob-store and
 * hash state; an older database is upgraded when opened.
 */
#include "registry/server/metadata.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#define SCHEMA_VERSION 1

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS repos(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	" created INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS links(repo INTEGER NOT NULL, digest TEXT NOT NULL,"
	" created INTEGER NOT NULL, PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS links_digest ON links(digest);"
	"CREATE TABLE IF NOT EXISTS manifests(repo INTEGER NOT NULL, digest TEXT NOT NULL,"
	" media_type TEXT NOT NULL, size INTEGER NOT NULL, artifact_type TEXT, subject TEXT,"
	" annotations TEXT, created INTEGER NOT NULL, PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject);"
	"CREATE INDEX IF NOT EXISTS manifests_digest ON manifests(digest);"
	"CREATE TABLE IF NOT EXISTS refs(repo INTEGER NOT NULL, parent TEXT NOT NULL,"
	" child TEXT NOT NULL, is_manifest INTEGER NOT NULL,"
	" PRIMARY KEY(repo, parent, child)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS tags(repo INTEGER NOT NULL, name TEXT NOT NULL,"
	" digest TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(repo, name)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest);"
	"CREATE TABLE IF NOT EXISTS uploads(uuid TEXT PRIMARY KEY, repo TEXT NOT NULL,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL, bs_state TEXT NOT NULL DEFAULT '',"
	" hash_state BLOB, hash_offset INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

/* version 0 -> 1: the uploads' blob-store state and hash state */
static const char upgrade_1[] =
	"ALTER TABLE uploads ADD COLUMN bs_state TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE uploads ADD COLUMN hash_state BLOB;"
	"ALTER TABLE uploads ADD COLUMN hash_offset INTEGER NOT NULL DEFAULT 0;";

struct lock {
	char uuid[40];
	struct lock *next;
};

struct sq {
	struct reg_meta base;
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock;
	struct lock *locks;
};

static struct sq *SQ(struct reg_meta *m)
{
	return (struct sq *)m;
}

static inline void finalizep(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_finalize(*s);
}
#define cleanup_stmt __attribute__((cleanup(finalizep)))

static int db_err(sqlite3 *db, struct strata_error **err, const char *what)
{
	/* a full disk is ENOSPC for the callers, whatever part of SQLite hit it */
	int errnum = db && sqlite3_errcode(db) == SQLITE_FULL ? ENOSPC : 0;
	return strata_error_make(err, errnum, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

static int exec(sqlite3 *db, const char *sql, struct strata_error **err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int errnum = sqlite3_errcode(db) == SQLITE_FULL ? ENOSPC : 0;
		int r = strata_error_make(err, errnum, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct strata_error **err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(db, err, "prepare");
	return 0;
}

/* Run a statement that returns no rows; *changes when not NULL. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, int *changes, const char *what, struct strata_error **err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(db, err, what);
	if (changes)
		*changes = sqlite3_changes(db);
	return 0;
}

static void rollback_db(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(sqlite3 *db, int *v, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "PRAGMA user_version", &st, err) < 0)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_err(db, err, "schema version");
	*v = sqlite3_column_int(st, 0);
	return 0;
}

/* Create the schema, or bring an older one up to SCHEMA_VERSION (in one write transaction). */
static int migrate(sqlite3 *db, struct strata_error **err)
{
	int v = 0;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	bool had_uploads = false;
	{
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uploads'", &st,
			    err) < 0)
			goto fail;
		had_uploads = sqlite3_step(st) == SQLITE_ROW;
	}
	if (user_version(db, &v, err) < 0)
		goto fail;
	if (v > SCHEMA_VERSION) {
		strata_error_make(err, 0, "schema version %d is newer than this strata's (%d)", v,
				  SCHEMA_VERSION);
		goto fail;
	}
	if (had_uploads && v < 1 && exec(db, upgrade_1, err) < 0)
		goto fail;
	if (exec(db, schema, err) < 0)
		goto fail;
	if (v != SCHEMA_VERSION) {
		cleanup_free char *sql = xasprintf("PRAGMA user_version = %d", SCHEMA_VERSION);
		if (exec(db, sql, err) < 0)
			goto fail;
	}
	return exec(db, "COMMIT", err) < 0 ? (rollback_db(db), -1) : 0;
fail:
	rollback_db(db);
	return -1;
}

static int open_db(const char *path, bool create, sqlite3 **out, struct strata_error **err)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		int r = strata_error_make(err, 0, "open database '%s': %s", path,
					  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 30000);
	if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err) < 0 || migrate(db, err) < 0) {
		sqlite3_close(db);
		return strata_error_wrap(err, "database '%s'", path);
	}
	*out = db;
	return 0;
}

/* The calling thread's connection (opened on first use), or NULL with err. */
static sqlite3 *DB(struct reg_meta *m, struct strata_error **err)
{
	struct sq *s = SQ(m);
	sqlite3 *db = pthread_getspecific(s->key);
	if (db)
		return db;
	if (open_db(s->path, true, &db, err) < 0)
		return NULL;
	pthread_setspecific(s->key, db);
	return db;
}

#define GET_DB(m, err)                       \
	sqlite3 *db = DB(m, err);            \
	if (!db)                             \
		return -1

static void close_db(void *p)
{
	sqlite3_close(p);
}

static void sq_free(struct reg_meta *m)
{
	struct sq *s = SQ(m);
	sqlite3 *db = pthread_getspecific(s->key);
	if (db) {
		sqlite3_close(db);
		pthread_setspecific(s->key, NULL);
	}
	pthread_key_delete(s->key);
	while (s->locks) {
		struct lock *l = s->locks;
		s->locks = l->next;
		free(l);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static int sq_begin(struct reg_meta *m, bool write, struct strata_error **err)
{
	GET_DB(m, err);
	return exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static int sq_commit(struct reg_meta *m, struct strata_error **err)
{
	GET_DB(m, err);
	return exec(db, "COMMIT", err);
}

static void sq_rollback(struct reg_meta *m)
{
	sqlite3 *db = DB(m, NULL);
	if (db)
		rollback_db(db);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : xstrdup(col_text(st, i));
}

/* Repository id, creating the row when create; 0 when absent. @return id >= 0 or -1. */
static int64_t repo_id(sqlite3 *db, const char *name, bool create, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "SELECT id FROM repos WHERE name = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE)
		return db_err(db, err, "look up repository");
	if (!create)
		return 0;
	cleanup_stmt sqlite3_stmt *ins = NULL;
	if (prepare(db, "INSERT INTO repos(name, created) VALUES(?, ?)", &ins, err) < 0)
		return -1;
	sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, (int64_t)time(NULL));
	if (step_done(db, ins, NULL, "create repository", err) < 0)
		return -1;
	return sqlite3_last_insert_rowid(db);
}

/* ---- blobs ---- */

static int sq_blob_linked(struct reg_meta *m, const char *repo, const char *digest, int64_t *size,
			  struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT b.size FROM repos r JOIN links l ON l.repo = r.id"
		    " JOIN blobs b ON b.digest = l.digest WHERE r.name = ? AND l.digest = ?",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (size)
			*size = sqlite3_column_int64(st, 0);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return db_err(db, err, "look up blob");
	return 0;
}

static int sq_blob_known(struct reg_meta *m, const char *digest, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "SELECT 1 FROM blobs WHERE digest = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_err(db, err, "look up blob");
}

static int sq_blob_record(struct reg_meta *m, const char *digest, int64_t size, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "INSERT INTO blobs(digest, size, created) VALUES(?, ?, ?)"
		    " ON CONFLICT DO UPDATE SET created = excluded.created",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, size);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	return step_done(db, st, NULL, "record blob", err);
}

static int sq_blob_link(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err)
{
	GET_DB(m, err);
	int64_t id = repo_id(db, repo, true, err);
	if (id < 0)
		return -1;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "INSERT INTO links(repo, digest, created) VALUES(?, ?, ?)"
		    " ON CONFLICT DO UPDATE SET created = excluded.created",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	return step_done(db, st, NULL, "link blob", err);
}

static int sq_blob_unlink(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "DELETE FROM links WHERE digest = ?2 AND repo = (SELECT id FROM repos WHERE name = ?1)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	int n = 0;
	if (step_done(db, st, &n, "delete blob link", err) < 0)
		return -1;
	return n > 0;
}

/* ---- manifests ---- */

static int sq_manifest_get(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			   struct reg_meta_manifest *out, bool *repo_known, struct strata_error **err)
{
	GET_DB(m, err);
	memset(out, 0, sizeof(*out));
	*repo_known = false;
	cleanup_stmt sqlite3_stmt *st = NULL;
	const char *sql = by_digest ? "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
				      " LEFT JOIN manifests m ON m.repo = r.id AND m.digest = ?1"
				      " WHERE r.name = ?2"
				    : "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
				      " LEFT JOIN tags t ON t.repo = r.id AND t.name = ?1"
				      " LEFT JOIN manifests m ON m.repo = r.id AND m.digest = t.digest"
				      " WHERE r.name = ?2";
	if (prepare(db, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_err(db, err, "look up manifest");
	*repo_known = true;
	if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		return 0;
	out->digest = col_dup(st, 1);
	out->media_type = col_dup(st, 2);
	out->size = sqlite3_column_int64(st, 3);
	out->subject = col_dup(st, 4);
	return 1;
}

static int bind_exec(sqlite3 *db, const char *sql, int64_t repo, const char *a, int *changes,
		     const char *what, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
	return step_done(db, st, changes, what, err);
}

static int sq_manifest_delete(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			      bool *repo_known, struct strata_error **err)
{
	GET_DB(m, err);
	*repo_known = false;
	int64_t id = repo_id(db, repo, false, err);
	if (id <= 0)
		return (int)id;
	*repo_known = true;
	if (exec(db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	static const char *by_digest_sql[] = {
		"DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
		"DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
		"DELETE FROM refs WHERE repo = ?1 AND parent = ?2",
	};
	static const char *by_tag_sql[] = { "DELETE FROM tags WHERE repo = ?1 AND name = ?2" };
	const char **sqls = by_digest ? by_digest_sql : by_tag_sql;
	size_t n = by_digest ? 3 : 1;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		if (bind_exec(db, sqls[i], id, ref, i == 0 ? &found : NULL, "delete manifest", err) < 0)
			goto fail;
	if (!found) {
		rollback_db(db);
		return 0;
	}
	if (exec(db, "COMMIT", err) < 0)
		goto fail;
	return 1;
fail:
	rollback_db(db);
	return -1;
}

/* @return 1 when (repo, digest) is in table's rows ("links" or "manifests"), 0, -1 */
static int has_row(sqlite3 *db, const char *sql, int64_t repo, const char *digest, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_err(db, err, "look up reference");
}

static int sq_manifest_put(struct reg_meta *m, const char *repo, const struct reg_meta_manifest_put *c,
			   char **missing, bool *missing_is_manifest, struct strata_error **err)
{
	GET_DB(m, err);
	int64_t id = repo_id(db, repo, true, err);
	if (id < 0)
		return -1;
	size_t i;
	json_t *v;
	for (int pass = 0; pass < 2; pass++) {
		json_t *arr = pass ? c->children : c->blobs;
		const char *sql = pass ? "SELECT 1 FROM manifests WHERE repo = ? AND digest = ?"
				       : "SELECT 1 FROM links WHERE repo = ? AND digest = ?";
		json_array_foreach(arr, i, v) {
			const char *d = json_string_value(v);
			int h = has_row(db, sql, id, d, err);
			if (h < 0)
				return -1;
			if (!h) {
				*missing = xstrdup(d);
				*missing_is_manifest = pass == 1;
				return strata_error_make(err, 0, "%s '%s' unknown", pass ? "manifest" : "blob", d);
			}
		}
	}
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "INSERT INTO manifests(repo, digest, media_type, size, artifact_type, subject,"
		    " annotations, created) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
		    " ON CONFLICT DO UPDATE SET created = excluded.created",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, c->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->media_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->size);
	sqlite3_bind_text(st, 5, c->artifact_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->annotations, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	if (step_done(db, st, NULL, "record manifest", err) < 0)
		return -1;
	cleanup_stmt sqlite3_stmt *ins = NULL;
	if (prepare(db, "INSERT OR IGNORE INTO refs(repo, parent, child, is_manifest) VALUES(?, ?, ?, ?)", &ins,
		    err) < 0)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		json_t *arr = pass ? c->children : c->blobs;
		json_array_foreach(arr, i, v) {
			sqlite3_reset(ins);
			sqlite3_bind_int64(ins, 1, id);
			sqlite3_bind_text(ins, 2, c->digest, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, json_string_value(v), -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 4, pass);
			if (step_done(db, ins, NULL, "record reference", err) < 0)
				return -1;
		}
	}
	if (c->tag) {
		cleanup_stmt sqlite3_stmt *t = NULL;
		if (prepare(db,
			    "INSERT INTO tags(repo, name, digest, updated) VALUES(?, ?, ?, ?)"
			    " ON CONFLICT DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
			    &t, err) < 0)
			return -1;
		sqlite3_bind_int64(t, 1, id);
		sqlite3_bind_text(t, 2, c->tag, -1, SQLITE_STATIC);
		sqlite3_bind_text(t, 3, c->digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(t, 4, (int64_t)time(NULL));
		if (step_done(db, t, NULL, "record tag", err) < 0)
			return -1;
	}
	return 0;
}

static int sq_tags_list(struct reg_meta *m, const char *repo, const char *last, uint64_t limit, json_t *names,
			struct strata_error **err)
{
	GET_DB(m, err);
	int64_t id = repo_id(db, repo, false, err);
	if (id <= 0)
		return (int)id;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, last, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(names, json_string(col_text(st, 0)));
	if (rc != SQLITE_DONE)
		return db_err(db, err, "list tags");
	return 1;
}

static int sq_tags_dated(struct reg_meta *m, const char *repo,
			 int (*fn)(void *ud, const char *tag, const char *digest, int64_t updated), void *ud,
			 struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT t.name, t.digest, t.updated FROM tags t JOIN repos r ON r.id = t.repo"
		    " WHERE r.name = ? ORDER BY t.name",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(ud, col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2)))
			return 0;
	return rc == SQLITE_DONE ? 0 : db_err(db, err, "list tags");
}

static int sq_repos_list(struct reg_meta *m, const char *last, int (*fn)(void *ud, const char *name), void *ud,
			 struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT name FROM repos r WHERE name > ? AND (EXISTS (SELECT 1 FROM manifests m"
		    " WHERE m.repo = r.id) OR EXISTS (SELECT 1 FROM links l WHERE l.repo = r.id))"
		    " ORDER BY name",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, last, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(ud, col_text(st, 0)))
			return 0;
	if (rc != SQLITE_DONE)
		return db_err(db, err, "list repositories");
	return 0;
}

static int sq_referrers(struct reg_meta *m, const char *repo, const char *digest, const char *filter,
			json_t *list, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations"
		    " FROM manifests m JOIN repos r ON r.id = m.repo"
		    " WHERE r.name = ?1 AND m.subject = ?2 AND (?3 IS NULL OR m.artifact_type = ?3)"
		    " ORDER BY m.created, m.digest",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	if (filter)
		sqlite3_bind_text(st, 3, filter, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", col_text(st, 1), "digest", col_text(st, 0),
				      "size", (json_int_t)sqlite3_column_int64(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			json_object_set_new(d, "artifactType", json_string(col_text(st, 3)));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			json_t *ann = json_loads(col_text(st, 4), 0, NULL);
			if (ann)
				json_object_set_new(d, "annotations", ann);
		}
		json_array_append_new(list, d);
	}
	if (rc != SQLITE_DONE)
		return db_err(db, err, "list referrers");
	return 0;
}

/* ---- uploads ---- */

static int sq_upload_create(struct reg_meta *m, const char *uuid, const char *repo, const char *bs_state,
			    struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "INSERT INTO uploads(uuid, repo, created, updated, bs_state) VALUES(?, ?, ?, ?, ?)", &st,
		    err) < 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, bs_state, -1, SQLITE_STATIC);
	return step_done(db, st, NULL, "create upload", err);
}

static int sq_upload_get(struct reg_meta *m, const char *uuid, const char *repo, struct reg_meta_upload *out,
			 struct strata_error **err)
{
	GET_DB(m, err);
	memset(out, 0, sizeof(*out));
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT repo, bs_state, hash_state, hash_offset, updated FROM uploads"
		    " WHERE uuid = ?1 AND (?2 IS NULL OR repo = ?2)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	if (repo)
		sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_err(db, err, "look up upload");
	out->repo = col_dup(st, 0);
	out->bs_state = col_dup(st, 1);
	if (!out->bs_state)
		out->bs_state = xstrdup("");
	int n = sqlite3_column_bytes(st, 2);
	if (sqlite3_column_type(st, 2) == SQLITE_BLOB && n > 0) {
		out->hash_state = xmalloc((size_t)n);
		memcpy(out->hash_state, sqlite3_column_blob(st, 2), (size_t)n);
		out->hash_state_len = (size_t)n;
	}
	out->hash_offset = (uint64_t)sqlite3_column_int64(st, 3);
	out->updated = sqlite3_column_int64(st, 4);
	return 1;
}

static int sq_upload_update(struct reg_meta *m, const char *uuid, const void *hs, size_t len, uint64_t off,
			    struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    hs ? "UPDATE uploads SET updated = ?1, hash_state = ?3, hash_offset = ?4 WHERE uuid = ?2"
		       : "UPDATE uploads SET updated = ?1 WHERE uuid = ?2",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
	if (hs) {
		sqlite3_bind_blob(st, 3, hs, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)off);
	}
	return step_done(db, st, NULL, "update upload", err);
}

static int sq_upload_delete(struct reg_meta *m, const char *uuid, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, "DELETE FROM uploads WHERE uuid = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	int n = 0;
	if (step_done(db, st, &n, "delete upload", err) < 0)
		return -1;
	return n > 0;
}

static int sq_upload_lock(struct reg_meta *m, const char *uuid, struct strata_error **err)
{
	(void)err;
	struct sq *s = SQ(m);
	pthread_mutex_lock(&s->lock);
	for (struct lock *l = s->locks; l; l = l->next) {
		if (!strcmp(l->uuid, uuid)) {
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
	}
	struct lock *l = xcalloc(1, sizeof(*l));
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid);
	l->next = s->locks;
	s->locks = l;
	pthread_mutex_unlock(&s->lock);
	return 1;
}

static void sq_upload_unlock(struct reg_meta *m, const char *uuid)
{
	struct sq *s = SQ(m);
	pthread_mutex_lock(&s->lock);
	for (struct lock **pp = &s->locks; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->uuid, uuid)) {
			struct lock *l = *pp;
			*pp = l->next;
			free(l);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static int sq_uploads_idle(struct reg_meta *m, int64_t cutoff,
			   int (*fn)(void *ud, const char *uuid, const char *bs_state, struct strata_error **err),
			   void *ud, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *rows = NULL, *del = NULL;
	if (prepare(db, "SELECT uuid, bs_state FROM uploads WHERE updated <= ?", &rows, err) < 0 ||
	    prepare(db, "DELETE FROM uploads WHERE uuid = ?", &del, err) < 0)
		return -1;
	sqlite3_bind_int64(rows, 1, cutoff);
	int rc;
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		const char *uuid = col_text(rows, 0);
		const char *state = sqlite3_column_type(rows, 1) == SQLITE_NULL ? "" : col_text(rows, 1);
		int d = fn(ud, uuid, state, err);
		if (d < 0)
			return -1;
		if (!d)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, uuid, -1, SQLITE_TRANSIENT);
		if (step_done(db, del, NULL, "delete upload", err) < 0)
			return -1;
	}
	return rc == SQLITE_DONE ? 0 : db_err(db, err, "list uploads");
}

/* ---- gc ---- */

static int exec_i(sqlite3 *db, const char *sql, int64_t a, int *changes, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db, sql, &st, err) < 0)
		return -1;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	return step_done(db, st, changes, "gc", err);
}

static int sq_gc_mark(struct reg_meta *m, int64_t cutoff, struct strata_error **err)
{
	GET_DB(m, err);
	if (exec(db,
		 "CREATE TEMP TABLE IF NOT EXISTS gc_keep(repo INTEGER, digest TEXT,"
		 " PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
		 "CREATE TEMP TABLE IF NOT EXISTS gc_keep_links(repo INTEGER, digest TEXT,"
		 " PRIMARY KEY(repo, digest)) WITHOUT ROWID;"
		 "DELETE FROM gc_keep; DELETE FROM gc_keep_links;"
		 "INSERT OR IGNORE INTO gc_keep SELECT repo, digest FROM tags;",
		 err) < 0)
		return -1;
	if (exec_i(db, "INSERT OR IGNORE INTO gc_keep SELECT repo, digest FROM manifests WHERE created > ?",
		   cutoff, NULL, err) < 0)
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
	if (exec(db,
		 "INSERT OR IGNORE INTO gc_keep_links SELECT repo, digest FROM gc_keep;"
		 "INSERT OR IGNORE INTO gc_keep_links SELECT r.repo, r.child FROM refs r"
		 " JOIN gc_keep k ON k.repo = r.repo AND k.digest = r.parent;",
		 err) < 0)
		return -1;
	return exec_i(db, "INSERT OR IGNORE INTO gc_keep_links SELECT repo, digest FROM links WHERE created > ?",
		      cutoff, NULL, err);
}

static int sq_gc_sweep_manifests(struct reg_meta *m, registry_gc_report_fn report, void *ud,
				 struct registry_gc_stats *stats, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT r.name, m.digest, m.size FROM manifests m JOIN repos r ON r.id = m.repo"
		    " WHERE NOT EXISTS (SELECT 1 FROM gc_keep k WHERE k.repo = m.repo AND k.digest = m.digest)"
		    " ORDER BY r.name, m.digest",
		    &st, err) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		stats->manifests++;
		if (report)
			report(ud, "manifest", col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2));
	}
	return exec(db,
		    "DELETE FROM refs WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
		    " WHERE k.repo = refs.repo AND k.digest = refs.parent);"
		    "DELETE FROM manifests WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
		    " WHERE k.repo = manifests.repo AND k.digest = manifests.digest);",
		    err);
}

static int sq_gc_sweep_links(struct reg_meta *m, registry_gc_report_fn report, void *ud,
			     struct registry_gc_stats *stats, struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (prepare(db,
		    "SELECT r.name, l.digest FROM links l JOIN repos r ON r.id = l.repo"
		    " WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k WHERE k.repo = l.repo"
		    " AND k.digest = l.digest) ORDER BY r.name, l.digest",
		    &st, err) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		stats->links++;
		if (report)
			report(ud, "link", col_text(st, 0), col_text(st, 1), -1);
	}
	return exec(db,
		    "DELETE FROM links WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k"
		    " WHERE k.repo = links.repo AND k.digest = links.digest);",
		    err);
}

static int sq_gc_sweep_blobs(struct reg_meta *m, int64_t cutoff, bool dry_run, reg_meta_blob_fn fn, void *ud,
			     struct strata_error **err)
{
	GET_DB(m, err);
	cleanup_stmt sqlite3_stmt *st = NULL, *del = NULL;
	if (prepare(db,
		    "SELECT digest, size FROM blobs b WHERE created <= ?"
		    " AND NOT EXISTS (SELECT 1 FROM links l WHERE l.digest = b.digest)"
		    " AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)"
		    " ORDER BY digest",
		    &st, err) < 0 ||
	    prepare(db, "DELETE FROM blobs WHERE digest = ?", &del, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *digest = col_text(st, 0);
		if (fn(ud, digest, sqlite3_column_int64(st, 1), err) < 0)
			return -1;
		if (dry_run)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, digest, -1, SQLITE_TRANSIENT);
		if (step_done(db, del, NULL, "delete blob", err) < 0)
			return -1;
	}
	return rc == SQLITE_DONE ? 0 : db_err(db, err, "list blobs");
}

static const struct reg_meta_ops sqlite_ops = {
	.name = "sqlite",
	.free = sq_free,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.blob_linked = sq_blob_linked,
	.blob_known = sq_blob_known,
	.blob_record = sq_blob_record,
	.blob_link = sq_blob_link,
	.blob_unlink = sq_blob_unlink,
	.manifest_get = sq_manifest_get,
	.manifest_put = sq_manifest_put,
	.manifest_delete = sq_manifest_delete,
	.tags_list = sq_tags_list,
	.tags_dated = sq_tags_dated,
	.repos_list = sq_repos_list,
	.referrers = sq_referrers,
	.upload_create = sq_upload_create,
	.upload_get = sq_upload_get,
	.upload_update = sq_upload_update,
	.upload_delete = sq_upload_delete,
	.upload_lock = sq_upload_lock,
	.upload_unlock = sq_upload_unlock,
	.uploads_idle = sq_uploads_idle,
	.gc_mark = sq_gc_mark,
	.gc_sweep_manifests = sq_gc_sweep_manifests,
	.gc_sweep_links = sq_gc_sweep_links,
	.gc_sweep_blobs = sq_gc_sweep_blobs,
};

int reg_meta_sqlite_open(const char *path, bool create, struct reg_meta **out, struct strata_error **err)
{
	if (!create && !strata_path_exists(path))
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no registry database '%s'", path);
	sqlite3 *db = NULL;
	if (open_db(path, create, &db, err) < 0)
		return -1;
	struct sq *s = xcalloc(1, sizeof(*s));
	s->base.ops = &sqlite_ops;
	s->path = xstrdup(path);
	pthread_mutex_init(&s->lock, NULL);
	pthread_key_create(&s->key, close_db);
	pthread_setspecific(s->key, db);
	*out = &s->base;
	return 0;
}

void reg_meta_manifest_release(struct reg_meta_manifest *m)
{
	free(m->digest);
	free(m->media_type);
	free(m->subject);
	memset(m, 0, sizeof(*m));
}

void reg_meta_upload_release(struct reg_meta_upload *u)
{
	free(u->repo);
	free(u->bs_state);
	free(u->hash_state);
	memset(u, 0, sizeof(*u));
}
