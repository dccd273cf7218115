/*
 * meta.c — the registry's metadata in SQLite (WAL): schema, connections,
 * transactions and the few lookups every route shares.
 *
 * Each worker thread has its own connection (a pthread key in struct
 * registry; closed when the thread exits). Writers use BEGIN IMMEDIATE so
 * that they serialise up front instead of failing on lock upgrade; readers
 * see a consistent snapshot. busy_timeout is 30 s.
 */
#include "registry/server/internal.h"

#include <errno.h>

#include <string.h>
#include <time.h>

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
	" created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;";

int reg_db_err(sqlite3 *db, struct strata_error **err, const char *what)
{
	/* a full disk is ENOSPC for the callers, whatever part of SQLite hit it */
	int errnum = db && sqlite3_errcode(db) == SQLITE_FULL ? ENOSPC : 0;
	return strata_error_make(err, errnum, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

int reg_exec(sqlite3 *db, const char *sql, struct strata_error **err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int r = strata_error_make(err, 0, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int reg_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct strata_error **err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return reg_db_err(db, err, "prepare");
	return 0;
}

int reg_meta_open(const char *path, sqlite3 **out, struct strata_error **err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int r = strata_error_make(err, 0, "open database '%s': %s", path,
					  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 30000);
	if (reg_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err) < 0 ||
	    reg_begin(db, true, err) < 0) {
		sqlite3_close(db);
		return strata_error_wrap(err, "database '%s'", path);
	}
	if (reg_exec(db, schema, err) < 0 || reg_commit(db, err) < 0) {
		reg_rollback(db);
		sqlite3_close(db);
		return strata_error_wrap(err, "database '%s'", path);
	}
	*out = db;
	return 0;
}

sqlite3 *reg_db(struct registry *r, struct strata_error **err)
{
	sqlite3 *db = pthread_getspecific(r->db_key);
	if (db)
		return db;
	if (reg_meta_open(r->db_path, &db, err) < 0)
		return NULL;
	pthread_setspecific(r->db_key, db);
	return db;
}

int reg_begin(sqlite3 *db, bool write, struct strata_error **err)
{
	return reg_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

int reg_commit(sqlite3 *db, struct strata_error **err)
{
	return reg_exec(db, "COMMIT", err);
}

void reg_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t reg_repo_id(sqlite3 *db, const char *name, bool create, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "SELECT id FROM repos WHERE name = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE)
		return reg_db_err(db, err, "look up repository");
	if (!create)
		return 0;
	cleanup_stmt sqlite3_stmt *ins = NULL;
	if (reg_prepare(db, "INSERT INTO repos(name, created) VALUES(?, ?)", &ins, err) < 0)
		return -1;
	sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, (int64_t)time(NULL));
	if (sqlite3_step(ins) != SQLITE_DONE)
		return reg_db_err(db, err, "create repository");
	return sqlite3_last_insert_rowid(db);
}

int reg_blob_linked(sqlite3 *db, const char *name, const char *digest, int64_t *size,
		    struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"SELECT b.size FROM repos r JOIN links l ON l.repo = r.id"
			" JOIN blobs b ON b.digest = l.digest WHERE r.name = ? AND l.digest = ?",
			&st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (size)
			*size = sqlite3_column_int64(st, 0);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return reg_db_err(db, err, "look up blob");
	return 0;
}

int reg_link_blob(sqlite3 *db, int64_t repo, const char *digest, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "INSERT INTO links(repo, digest, created) VALUES(?, ?, ?)"
			" ON CONFLICT DO UPDATE SET created = excluded.created", &st,
			err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		return reg_db_err(db, err, "link blob");
	return 0;
}
