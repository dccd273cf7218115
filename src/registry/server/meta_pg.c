/*
 * meta_pg.c — the registry's metadata in PostgreSQL (libpq): the second
 * driver of metadata.h, shared by any number of server instances.
 *
 * Each worker thread has its own connection (a pthread key). Schema
 * migrations are numbered (table strata_schema) and applied at open, under
 * a transaction-level advisory lock, so instances starting together apply
 * each one once.
 *
 * Serialisation (what SQLite's BEGIN IMMEDIATE gave): a write transaction
 * takes the shared advisory lock GC_LOCK, gc's mark takes it exclusively,
 * so gc never runs between a publisher's reference check and its commit,
 * while publishers run in parallel with each other. Upload session locks
 * are session-level advisory locks on the thread's connection: released by
 * unlock, or by PostgreSQL when the instance dies (kill -9 frees them).
 */
#include "registry/server/metadata.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GC_LOCK "7308011"      /* advisory lock key: publishers shared, gc exclusive */
#define UPLOAD_LOCK_CLASS "7308012"

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE repos(id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created BIGINT NOT NULL);"
	"CREATE TABLE blobs(digest TEXT PRIMARY KEY, size BIGINT NOT NULL, created BIGINT NOT NULL);"
	"CREATE TABLE links(repo BIGINT NOT NULL, digest TEXT NOT NULL, created BIGINT NOT NULL,"
	" PRIMARY KEY(repo, digest));"
	"CREATE INDEX links_digest ON links(digest);"
	"CREATE TABLE manifests(repo BIGINT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,"
	" size BIGINT NOT NULL, artifact_type TEXT, subject TEXT, annotations TEXT, created BIGINT NOT NULL,"
	" PRIMARY KEY(repo, digest));"
	"CREATE INDEX manifests_subject ON manifests(repo, subject);"
	"CREATE INDEX manifests_digest ON manifests(digest);"
	"CREATE TABLE refs(repo BIGINT NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL,"
	" is_manifest INT NOT NULL, PRIMARY KEY(repo, parent, child));"
	"CREATE TABLE tags(repo BIGINT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL,"
	" updated BIGINT NOT NULL, PRIMARY KEY(repo, name));"
	"CREATE INDEX tags_digest ON tags(repo, digest);"
	"CREATE TABLE uploads(uuid TEXT PRIMARY KEY, repo TEXT NOT NULL, created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL, bs_state TEXT NOT NULL DEFAULT '', hash_state BYTEA,"
	" hash_offset BIGINT NOT NULL DEFAULT 0);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct pg {
	struct reg_meta base;
	char *url;
	pthread_key_t key;
};

static struct pg *PG(struct reg_meta *m)
{
	return (struct pg *)m;
}

static inline void clearp(PGresult **r)
{
	if (*r)
		PQclear(*r);
}
#define cleanup_res __attribute__((cleanup(clearp)))

static int pq_err(PGconn *c, const PGresult *res, const char *what, struct strata_error **err)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);
	if (!msg || !*msg)
		msg = PQerrorMessage(c);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		n--;
	/* SQLSTATE class 53: insufficient resources (53100 disk full) */
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int errnum = state && !strcmp(state, "53100") ? ENOSPC : 0;
	return strata_error_make(err, errnum, "%s: postgresql: %.*s", what, (int)n, msg);
}

/*
 * Run sql with n text parameters (NULL = SQL NULL); a parameter with a
 * non-zero length in lens (may be NULL) is binary. @return the result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK) or NULL with err.
 */
static PGresult *q(PGconn *c, const char *sql, int n, const char *const *params, const int *lens,
		   const char *what, struct strata_error **err)
{
	int formats[8] = { 0 };
	for (int i = 0; lens && i < n && i < 8; i++)
		formats[i] = lens[i] ? 1 : 0;
	PGresult *res = PQexecParams(c, sql, n, NULL, params, lens, lens ? formats : NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pq_err(c, res, what, err);
		PQclear(res);
		return NULL;
	}
	return res;
}

static int qdo(PGconn *c, const char *sql, int n, const char *const *params, const char *what,
	       struct strata_error **err)
{
	PGresult *res = q(c, sql, n, params, NULL, what, err);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

static void rollback_conn(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

static int migrate(PGconn *c, struct strata_error **err)
{
	if (qdo(c, "BEGIN", 0, NULL, "migrate", err) < 0)
		return -1;
	if (qdo(c, "SELECT pg_advisory_xact_lock(" GC_LOCK ", 0)", 0, NULL, "migrate", err) < 0 ||
	    qdo(c, "CREATE TABLE IF NOT EXISTS strata_schema(version INT NOT NULL)", 0, NULL, "migrate", err) < 0)
		goto fail;
	int v = 0;
	{
		cleanup_res PGresult *r = q(c, "SELECT COALESCE(MAX(version), 0) FROM strata_schema", 0, NULL, NULL,
					    "migrate", err);
		if (!r)
			goto fail;
		v = atoi(PQgetvalue(r, 0, 0));
	}
	if (v > SCHEMA_VERSION) {
		strata_error_make(err, 0, "schema version %d is newer than this strata's (%d)", v, SCHEMA_VERSION);
		goto fail;
	}
	for (int i = v; i < SCHEMA_VERSION; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", i + 1);
		const char *p[] = { num };
		PGresult *r = PQexec(c, migrations[i]);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			pq_err(c, r, "migration", err);
			PQclear(r);
			strata_error_wrap(err, "schema migration %d", i + 1);
			goto fail;
		}
		PQclear(r);
		if (qdo(c, "INSERT INTO strata_schema(version) VALUES($1::int)", 1, p, "migrate", err) < 0)
			goto fail;
	}
	return qdo(c, "COMMIT", 0, NULL, "migrate", err) < 0 ? (rollback_conn(c), -1) : 0;
fail:
	rollback_conn(c);
	return -1;
}

static int connect_url(const char *url, PGconn **out, struct strata_error **err)
{
	PGconn *c = PQconnectdb(url);
	if (!c)
		strata_oom();
	if (PQstatus(c) != CONNECTION_OK) {
		pq_err(c, NULL, "connect", err);
		PQfinish(c);
		return -1;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	*out = c;
	return 0;
}

static PGconn *CONN(struct reg_meta *m, struct strata_error **err)
{
	struct pg *s = PG(m);
	PGconn *c = pthread_getspecific(s->key);
	if (c && PQstatus(c) != CONNECTION_OK) {
		/* the server restarted or the connection broke: a new one (locks on the old are gone) */
		PQreset(c);
		if (PQstatus(c) != CONNECTION_OK) {
			pq_err(c, NULL, "reconnect", err);
			return NULL;
		}
	}
	if (c)
		return c;
	if (connect_url(s->url, &c, err) < 0)
		return NULL;
	pthread_setspecific(s->key, c);
	return c;
}

#define GET_CONN(m, err)                  \
	PGconn *c = CONN(m, err);         \
	if (!c)                           \
		return -1

static void close_conn(void *p)
{
	PQfinish(p);
}

static void pg_free(struct reg_meta *m)
{
	struct pg *s = PG(m);
	PGconn *c = pthread_getspecific(s->key);
	if (c) {
		PQfinish(c);
		pthread_setspecific(s->key, NULL);
	}
	pthread_key_delete(s->key);
	free(s->url);
	free(s);
}

static int pg_begin(struct reg_meta *m, bool write, struct strata_error **err)
{
	GET_CONN(m, err);
	if (qdo(c, "BEGIN", 0, NULL, "begin", err) < 0)
		return -1;
	if (write && qdo(c, "SELECT pg_advisory_xact_lock_shared(" GC_LOCK ", 1)", 0, NULL, "begin", err) < 0) {
		rollback_conn(c);
		return -1;
	}
	return 0;
}

static int pg_commit(struct reg_meta *m, struct strata_error **err)
{
	GET_CONN(m, err);
	return qdo(c, "COMMIT", 0, NULL, "commit", err);
}

static void pg_rollback(struct reg_meta *m)
{
	PGconn *c = CONN(m, NULL);
	if (c)
		rollback_conn(c);
}

static char *now_str(char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)time(NULL));
	return buf;
}

static char *dup_val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

/* Repository id (created when create); 0 when absent. */
static long long repo_id(PGconn *c, const char *name, bool create, struct strata_error **err)
{
	char now[24];
	const char *p[] = { name, now_str(now) };
	if (create && qdo(c, "INSERT INTO repos(name, created) VALUES($1, $2::bigint) ON CONFLICT(name) DO NOTHING",
			  2, p, "create repository", err) < 0)
		return -1;
	cleanup_res PGresult *r = q(c, "SELECT id FROM repos WHERE name = $1", 1, p, NULL, "look up repository", err);
	if (!r)
		return -1;
	return PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0;
}

/* ---- blobs ---- */

static int pg_blob_linked(struct reg_meta *m, const char *repo, const char *digest, int64_t *size,
			  struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { repo, digest };
	cleanup_res PGresult *r = q(c,
				    "SELECT b.size FROM repos r JOIN links l ON l.repo = r.id"
				    " JOIN blobs b ON b.digest = l.digest WHERE r.name = $1 AND l.digest = $2",
				    2, p, NULL, "look up blob", err);
	if (!r)
		return -1;
	if (!PQntuples(r))
		return 0;
	if (size)
		*size = atoll(PQgetvalue(r, 0, 0));
	return 1;
}

static int pg_blob_known(struct reg_meta *m, const char *digest, struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { digest };
	cleanup_res PGresult *r = q(c, "SELECT 1 FROM blobs WHERE digest = $1", 1, p, NULL, "look up blob", err);
	return r ? PQntuples(r) > 0 : -1;
}

static int pg_blob_record(struct reg_meta *m, const char *digest, int64_t size, struct strata_error **err)
{
	GET_CONN(m, err);
	char now[24], sz[24];
	snprintf(sz, sizeof(sz), "%lld", (long long)size);
	const char *p[] = { digest, sz, now_str(now) };
	return qdo(c,
		   "INSERT INTO blobs(digest, size, created) VALUES($1, $2::bigint, $3::bigint)"
		   " ON CONFLICT(digest) DO UPDATE SET created = excluded.created",
		   3, p, "record blob", err);
}

static int pg_blob_link(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err)
{
	GET_CONN(m, err);
	long long id = repo_id(c, repo, true, err);
	if (id < 0)
		return -1;
	char ids[24], now[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	const char *p[] = { ids, digest, now_str(now) };
	return qdo(c,
		   "INSERT INTO links(repo, digest, created) VALUES($1::bigint, $2, $3::bigint)"
		   " ON CONFLICT(repo, digest) DO UPDATE SET created = excluded.created",
		   3, p, "link blob", err);
}

static int pg_blob_unlink(struct reg_meta *m, const char *repo, const char *digest, struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { repo, digest };
	cleanup_res PGresult *r = q(c, "DELETE FROM links WHERE digest = $2 AND repo = (SELECT id FROM repos WHERE name = $1)",
				    2, p, NULL, "delete blob link", err);
	if (!r)
		return -1;
	return atoi(PQcmdTuples(r)) > 0;
}

/* ---- manifests ---- */

static int pg_manifest_get(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			   struct reg_meta_manifest *out, bool *repo_known, struct strata_error **err)
{
	GET_CONN(m, err);
	memset(out, 0, sizeof(*out));
	*repo_known = false;
	const char *p[] = { ref, repo };
	cleanup_res PGresult *r = q(c,
				    by_digest ? "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
						" LEFT JOIN manifests m ON m.repo = r.id AND m.digest = $1"
						" WHERE r.name = $2"
					      : "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
						" LEFT JOIN tags t ON t.repo = r.id AND t.name = $1"
						" LEFT JOIN manifests m ON m.repo = r.id AND m.digest = t.digest"
						" WHERE r.name = $2",
				    2, p, NULL, "look up manifest", err);
	if (!r)
		return -1;
	if (!PQntuples(r))
		return 0;
	*repo_known = true;
	if (PQgetisnull(r, 0, 1))
		return 0;
	out->digest = dup_val(r, 0, 1);
	out->media_type = dup_val(r, 0, 2);
	out->size = atoll(PQgetvalue(r, 0, 3));
	out->subject = dup_val(r, 0, 4);
	return 1;
}

static int pg_manifest_delete(struct reg_meta *m, const char *repo, const char *ref, bool by_digest,
			      bool *repo_known, struct strata_error **err)
{
	GET_CONN(m, err);
	*repo_known = false;
	long long id = repo_id(c, repo, false, err);
	if (id <= 0)
		return (int)id;
	*repo_known = true;
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	const char *p[] = { ids, ref };
	if (pg_begin(m, true, err) < 0)
		return -1;
	int found = 0;
	{
		cleanup_res PGresult *r = q(c,
					    by_digest ? "DELETE FROM manifests WHERE repo = $1::bigint AND digest = $2"
						      : "DELETE FROM tags WHERE repo = $1::bigint AND name = $2",
					    2, p, NULL, "delete manifest", err);
		if (!r)
			goto fail;
		found = atoi(PQcmdTuples(r));
	}
	if (by_digest && (qdo(c, "DELETE FROM tags WHERE repo = $1::bigint AND digest = $2", 2, p, "delete manifest", err) < 0 ||
			  qdo(c, "DELETE FROM refs WHERE repo = $1::bigint AND parent = $2", 2, p, "delete manifest", err) < 0))
		goto fail;
	if (!found) {
		rollback_conn(c);
		return 0;
	}
	if (qdo(c, "COMMIT", 0, NULL, "commit", err) < 0)
		goto fail;
	return 1;
fail:
	rollback_conn(c);
	return -1;
}

static int pg_manifest_put(struct reg_meta *m, const char *repo, const struct reg_meta_manifest_put *mp,
			   char **missing, bool *missing_is_manifest, struct strata_error **err)
{
	GET_CONN(m, err);
	long long id = repo_id(c, repo, true, err);
	if (id < 0)
		return -1;
	char ids[24], now[24], sz[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(sz, sizeof(sz), "%lld", (long long)mp->size);
	now_str(now);
	size_t i;
	json_t *v;
	for (int pass = 0; pass < 2; pass++) {
		json_t *arr = pass ? mp->children : mp->blobs;
		/* FOR SHARE: a concurrent unlink or manifest delete waits for this transaction */
		const char *sql = pass ? "SELECT 1 FROM manifests WHERE repo = $1::bigint AND digest = $2 FOR SHARE"
				       : "SELECT 1 FROM links WHERE repo = $1::bigint AND digest = $2 FOR SHARE";
		json_array_foreach(arr, i, v) {
			const char *d = json_string_value(v);
			const char *p[] = { ids, d };
			cleanup_res PGresult *r = q(c, sql, 2, p, NULL, "look up reference", err);
			if (!r)
				return -1;
			if (!PQntuples(r)) {
				*missing = xstrdup(d);
				*missing_is_manifest = pass == 1;
				return strata_error_make(err, 0, "%s '%s' unknown", pass ? "manifest" : "blob", d);
			}
		}
	}
	const char *p[] = { ids, mp->digest, mp->media_type, sz, mp->artifact_type, mp->subject, mp->annotations, now };
	if (qdo(c,
		"INSERT INTO manifests(repo, digest, media_type, size, artifact_type, subject, annotations, created)"
		" VALUES($1::bigint, $2, $3, $4::bigint, $5, $6, $7, $8::bigint)"
		" ON CONFLICT(repo, digest) DO UPDATE SET created = excluded.created",
		8, p, "record manifest", err) < 0)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		json_t *arr = pass ? mp->children : mp->blobs;
		json_array_foreach(arr, i, v) {
			const char *rp[] = { ids, mp->digest, json_string_value(v), pass ? "1" : "0" };
			if (qdo(c,
				"INSERT INTO refs(repo, parent, child, is_manifest) VALUES($1::bigint, $2, $3, $4::int)"
				" ON CONFLICT DO NOTHING",
				4, rp, "record reference", err) < 0)
				return -1;
		}
	}
	if (mp->tag) {
		const char *tp[] = { ids, mp->tag, mp->digest, now };
		if (qdo(c,
			"INSERT INTO tags(repo, name, digest, updated) VALUES($1::bigint, $2, $3, $4::bigint)"
			" ON CONFLICT(repo, name) DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
			4, tp, "record tag", err) < 0)
			return -1;
	}
	return 0;
}

static int pg_tags_list(struct reg_meta *m, const char *repo, const char *last, uint64_t limit, json_t *names,
			struct strata_error **err)
{
	GET_CONN(m, err);
	long long id = repo_id(c, repo, false, err);
	if (id <= 0)
		return (int)id;
	char ids[24], lim[24];
	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)(limit > INT64_MAX ? INT64_MAX : limit));
	const char *p[] = { ids, last, lim };
	cleanup_res PGresult *r = q(c,
				    "SELECT name FROM tags WHERE repo = $1::bigint AND name COLLATE \"C\" > $2"
				    " ORDER BY name COLLATE \"C\" LIMIT $3::bigint",
				    3, p, NULL, "list tags", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(names, json_string(PQgetvalue(r, i, 0)));
	return 1;
}

static int pg_tags_dated(struct reg_meta *m, const char *repo,
			 int (*fn)(void *ud, const char *tag, const char *digest, int64_t updated), void *ud,
			 struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { repo };
	cleanup_res PGresult *r = q(c,
				    "SELECT t.name, t.digest, t.updated FROM tags t JOIN repos r ON r.id = t.repo"
				    " WHERE r.name = $1 ORDER BY t.name COLLATE \"C\"",
				    1, p, NULL, "list tags", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ud, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), atoll(PQgetvalue(r, i, 2))))
			break;
	return 0;
}

static int pg_repos_list(struct reg_meta *m, const char *last, int (*fn)(void *ud, const char *name), void *ud,
			 struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { last };
	cleanup_res PGresult *r = q(c,
				    "SELECT name FROM repos r WHERE name COLLATE \"C\" > $1 AND (EXISTS (SELECT 1 FROM manifests m"
				    " WHERE m.repo = r.id) OR EXISTS (SELECT 1 FROM links l WHERE l.repo = r.id))"
				    " ORDER BY name COLLATE \"C\" LIMIT 200000",
				    1, p, NULL, "list repositories", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ud, PQgetvalue(r, i, 0)))
			break;
	return 0;
}

static int pg_referrers(struct reg_meta *m, const char *repo, const char *digest, const char *filter, json_t *list,
			struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { repo, digest, filter };
	cleanup_res PGresult *r = q(c,
				    "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations"
				    " FROM manifests m JOIN repos r ON r.id = m.repo"
				    " WHERE r.name = $1 AND m.subject = $2 AND ($3::text IS NULL OR m.artifact_type = $3)"
				    " ORDER BY m.created, m.digest",
				    3, p, NULL, "list referrers", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", PQgetvalue(r, i, 1), "digest", PQgetvalue(r, i, 0),
				      "size", (json_int_t)atoll(PQgetvalue(r, i, 2)));
		if (!PQgetisnull(r, i, 3))
			json_object_set_new(d, "artifactType", json_string(PQgetvalue(r, i, 3)));
		if (!PQgetisnull(r, i, 4)) {
			json_t *ann = json_loads(PQgetvalue(r, i, 4), 0, NULL);
			if (ann)
				json_object_set_new(d, "annotations", ann);
		}
		json_array_append_new(list, d);
	}
	return 0;
}

/* ---- uploads ---- */

static int pg_upload_create(struct reg_meta *m, const char *uuid, const char *repo, const char *bs_state,
			    struct strata_error **err)
{
	GET_CONN(m, err);
	char now[24];
	const char *p[] = { uuid, repo, now_str(now), bs_state };
	return qdo(c, "INSERT INTO uploads(uuid, repo, created, updated, bs_state) VALUES($1, $2, $3::bigint, $3::bigint, $4)",
		   4, p, "create upload", err);
}

static int pg_upload_get(struct reg_meta *m, const char *uuid, const char *repo, struct reg_meta_upload *out,
			 struct strata_error **err)
{
	GET_CONN(m, err);
	memset(out, 0, sizeof(*out));
	const char *p[] = { uuid, repo };
	/* hash_state as hex text: "\x..." */
	cleanup_res PGresult *r = q(c,
				    "SELECT repo, bs_state, encode(hash_state, 'hex'), hash_offset, updated FROM uploads"
				    " WHERE uuid = $1 AND ($2::text IS NULL OR repo = $2)",
				    2, p, NULL, "look up upload", err);
	if (!r)
		return -1;
	if (!PQntuples(r))
		return 0;
	out->repo = dup_val(r, 0, 0);
	out->bs_state = dup_val(r, 0, 1);
	if (!out->bs_state)
		out->bs_state = xstrdup("");
	if (!PQgetisnull(r, 0, 2)) {
		const char *hx = PQgetvalue(r, 0, 2);
		size_t n = strlen(hx) / 2;
		if (n) {
			out->hash_state = xmalloc(n);
			for (size_t i = 0; i < n; i++) {
				unsigned x = 0;
				sscanf(hx + 2 * i, "%2x", &x);
				out->hash_state[i] = (unsigned char)x;
			}
			out->hash_state_len = n;
		}
	}
	out->hash_offset = (uint64_t)atoll(PQgetvalue(r, 0, 3));
	out->updated = atoll(PQgetvalue(r, 0, 4));
	return 1;
}

static int pg_upload_update(struct reg_meta *m, const char *uuid, const void *hs, size_t len, uint64_t off,
			    struct strata_error **err)
{
	GET_CONN(m, err);
	char now[24], offs[24];
	now_str(now);
	snprintf(offs, sizeof(offs), "%llu", (unsigned long long)off);
	if (!hs) {
		const char *p[] = { now, uuid };
		return qdo(c, "UPDATE uploads SET updated = $1::bigint WHERE uuid = $2", 2, p, "update upload", err);
	}
	const char *p[] = { now, uuid, hs, offs };
	int lens[] = { 0, 0, (int)len, 0 };
	PGresult *r = q(c, "UPDATE uploads SET updated = $1::bigint, hash_state = $3::bytea, hash_offset = $4::bigint"
			   " WHERE uuid = $2",
			4, p, lens, "update upload", err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

static int pg_upload_delete(struct reg_meta *m, const char *uuid, struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { uuid };
	cleanup_res PGresult *r = q(c, "DELETE FROM uploads WHERE uuid = $1", 1, p, NULL, "delete upload", err);
	if (!r)
		return -1;
	return atoi(PQcmdTuples(r)) > 0;
}

static int pg_upload_lock(struct reg_meta *m, const char *uuid, struct strata_error **err)
{
	GET_CONN(m, err);
	const char *p[] = { uuid };
	cleanup_res PGresult *r = q(c, "SELECT pg_try_advisory_lock(" UPLOAD_LOCK_CLASS ", hashtext($1))", 1, p, NULL,
				    "lock upload", err);
	if (!r)
		return -1;
	return !strcmp(PQgetvalue(r, 0, 0), "t");
}

static void pg_upload_unlock(struct reg_meta *m, const char *uuid)
{
	PGconn *c = CONN(m, NULL);
	if (!c)
		return;
	const char *p[] = { uuid };
	PGresult *r = q(c, "SELECT pg_advisory_unlock(" UPLOAD_LOCK_CLASS ", hashtext($1))", 1, p, NULL, "unlock upload",
			NULL);
	PQclear(r);
}

static int pg_uploads_idle(struct reg_meta *m, int64_t cutoff,
			   int (*fn)(void *ud, const char *uuid, const char *bs_state, struct strata_error **err),
			   void *ud, struct strata_error **err)
{
	GET_CONN(m, err);
	char cut[24];
	snprintf(cut, sizeof(cut), "%lld", (long long)cutoff);
	const char *p[] = { cut };
	cleanup_res PGresult *r = q(c, "SELECT uuid, bs_state FROM uploads WHERE updated <= $1::bigint", 1, p, NULL,
				    "list uploads", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *uuid = PQgetvalue(r, i, 0);
		int d = fn(ud, uuid, PQgetvalue(r, i, 1), err);
		if (d < 0)
			return -1;
		const char *dp[] = { uuid };
		if (d && qdo(c, "DELETE FROM uploads WHERE uuid = $1", 1, dp, "delete upload", err) < 0)
			return -1;
	}
	return 0;
}

/* ---- gc ---- */

/* Run sql (several statements when cutoff is NULL; else one with $1 = cutoff); *n: rows changed by the last. */
static int changes_of(PGconn *c, const char *sql, const char *cutoff, int *n, struct strata_error **err)
{
	const char *p[] = { cutoff };
	PGresult *r;
	if (cutoff) {
		r = q(c, sql, 1, p, NULL, "gc", err);
	} else {
		r = PQexec(c, sql);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			pq_err(c, r, "gc", err);
			PQclear(r);
			r = NULL;
		}
	}
	if (!r)
		return -1;
	if (n)
		*n = atoi(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

static int pg_gc_mark(struct reg_meta *m, int64_t cutoff, struct strata_error **err)
{
	GET_CONN(m, err);
	char cut[24];
	snprintf(cut, sizeof(cut), "%lld", (long long)cutoff);
	/* exclusive: every publisher's transaction (shared) has committed, none starts until COMMIT */
	if (changes_of(c, "SELECT pg_advisory_xact_lock(" GC_LOCK ", 1)", NULL, NULL, err) < 0 ||
	    changes_of(c,
		       "CREATE TEMP TABLE IF NOT EXISTS gc_keep(repo BIGINT, digest TEXT, PRIMARY KEY(repo, digest));"
		       "CREATE TEMP TABLE IF NOT EXISTS gc_keep_links(repo BIGINT, digest TEXT, PRIMARY KEY(repo, digest));"
		       "DELETE FROM gc_keep; DELETE FROM gc_keep_links;",
		       NULL, NULL, err) < 0)
		return -1;
	if (changes_of(c, "INSERT INTO gc_keep SELECT repo, digest FROM tags ON CONFLICT DO NOTHING", NULL, NULL,
		       err) < 0)
		return -1;
	if (changes_of(c, "INSERT INTO gc_keep SELECT repo, digest FROM manifests WHERE created > $1::bigint"
			  " ON CONFLICT DO NOTHING",
		       cut, NULL, err) < 0)
		return -1;
	for (;;) {
		int a = 0, b = 0;
		if (changes_of(c,
			       "INSERT INTO gc_keep SELECT r.repo, r.child FROM refs r"
			       " JOIN gc_keep k ON k.repo = r.repo AND k.digest = r.parent WHERE r.is_manifest = 1"
			       " ON CONFLICT DO NOTHING",
			       NULL, &a, err) < 0 ||
		    changes_of(c,
			       "INSERT INTO gc_keep SELECT m.repo, m.digest FROM manifests m"
			       " JOIN gc_keep k ON k.repo = m.repo AND k.digest = m.subject ON CONFLICT DO NOTHING",
			       NULL, &b, err) < 0)
			return -1;
		if (a == 0 && b == 0)
			break;
	}
	if (changes_of(c, "INSERT INTO gc_keep_links SELECT repo, digest FROM gc_keep ON CONFLICT DO NOTHING", NULL,
		       NULL, err) < 0 ||
	    changes_of(c,
		       "INSERT INTO gc_keep_links SELECT r.repo, r.child FROM refs r"
		       " JOIN gc_keep k ON k.repo = r.repo AND k.digest = r.parent ON CONFLICT DO NOTHING",
		       NULL, NULL, err) < 0)
		return -1;
	return changes_of(c, "INSERT INTO gc_keep_links SELECT repo, digest FROM links WHERE created > $1::bigint"
			     " ON CONFLICT DO NOTHING",
			  cut, NULL, err);
}

static int pg_gc_sweep_manifests(struct reg_meta *m, registry_gc_report_fn report, void *ud,
				 struct registry_gc_stats *stats, struct strata_error **err)
{
	GET_CONN(m, err);
	{
		cleanup_res PGresult *r = q(c,
					    "SELECT r.name, m.digest, m.size FROM manifests m JOIN repos r ON r.id = m.repo"
					    " WHERE NOT EXISTS (SELECT 1 FROM gc_keep k WHERE k.repo = m.repo AND k.digest = m.digest)"
					    " ORDER BY r.name, m.digest",
					    0, NULL, NULL, "gc", err);
		if (!r)
			return -1;
		for (int i = 0; i < PQntuples(r); i++) {
			stats->manifests++;
			if (report)
				report(ud, "manifest", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), atoll(PQgetvalue(r, i, 2)));
		}
	}
	return changes_of(c,
			  "DELETE FROM refs WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
			  " WHERE k.repo = refs.repo AND k.digest = refs.parent);"
			  "DELETE FROM manifests WHERE NOT EXISTS (SELECT 1 FROM gc_keep k"
			  " WHERE k.repo = manifests.repo AND k.digest = manifests.digest);",
			  NULL, NULL, err);
}

static int pg_gc_sweep_links(struct reg_meta *m, registry_gc_report_fn report, void *ud,
			     struct registry_gc_stats *stats, struct strata_error **err)
{
	GET_CONN(m, err);
	{
		cleanup_res PGresult *r = q(c,
					    "SELECT r.name, l.digest FROM links l JOIN repos r ON r.id = l.repo"
					    " WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k WHERE k.repo = l.repo"
					    " AND k.digest = l.digest) ORDER BY r.name, l.digest",
					    0, NULL, NULL, "gc", err);
		if (!r)
			return -1;
		for (int i = 0; i < PQntuples(r); i++) {
			stats->links++;
			if (report)
				report(ud, "link", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), -1);
		}
	}
	return changes_of(c,
			  "DELETE FROM links WHERE NOT EXISTS (SELECT 1 FROM gc_keep_links k"
			  " WHERE k.repo = links.repo AND k.digest = links.digest)",
			  NULL, NULL, err);
}

static int pg_gc_sweep_blobs(struct reg_meta *m, int64_t cutoff, bool dry_run, reg_meta_blob_fn fn, void *ud,
			     struct strata_error **err)
{
	GET_CONN(m, err);
	char cut[24];
	snprintf(cut, sizeof(cut), "%lld", (long long)cutoff);
	const char *p[] = { cut };
	cleanup_res PGresult *r = q(c,
				    "SELECT digest, size FROM blobs b WHERE created <= $1::bigint"
				    " AND NOT EXISTS (SELECT 1 FROM links l WHERE l.digest = b.digest)"
				    " AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)"
				    " ORDER BY digest",
				    1, p, NULL, "gc", err);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *digest = PQgetvalue(r, i, 0);
		if (fn(ud, digest, atoll(PQgetvalue(r, i, 1)), err) < 0)
			return -1;
		const char *dp[] = { digest };
		if (!dry_run && qdo(c, "DELETE FROM blobs WHERE digest = $1", 1, dp, "delete blob", err) < 0)
			return -1;
	}
	return 0;
}

static const struct reg_meta_ops pg_ops = {
	.name = "postgresql",
	.free = pg_free,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.blob_linked = pg_blob_linked,
	.blob_known = pg_blob_known,
	.blob_record = pg_blob_record,
	.blob_link = pg_blob_link,
	.blob_unlink = pg_blob_unlink,
	.manifest_get = pg_manifest_get,
	.manifest_put = pg_manifest_put,
	.manifest_delete = pg_manifest_delete,
	.tags_list = pg_tags_list,
	.tags_dated = pg_tags_dated,
	.repos_list = pg_repos_list,
	.referrers = pg_referrers,
	.upload_create = pg_upload_create,
	.upload_get = pg_upload_get,
	.upload_update = pg_upload_update,
	.upload_delete = pg_upload_delete,
	.upload_lock = pg_upload_lock,
	.upload_unlock = pg_upload_unlock,
	.uploads_idle = pg_uploads_idle,
	.gc_mark = pg_gc_mark,
	.gc_sweep_manifests = pg_gc_sweep_manifests,
	.gc_sweep_links = pg_gc_sweep_links,
	.gc_sweep_blobs = pg_gc_sweep_blobs,
};

int reg_meta_pg_open(const char *url, int *version, struct reg_meta **out, struct strata_error **err)
{
	PGconn *c = NULL;
	if (connect_url(url, &c, err) < 0 || migrate(c, err) < 0) {
		if (c)
			PQfinish(c);
		return strata_error_wrap(err, "metadata '%s'", url);
	}
	if (version)
		*version = SCHEMA_VERSION;
	struct pg *s = xcalloc(1, sizeof(*s));
	s->base.ops = &pg_ops;
	s->url = xstrdup(url);
	pthread_key_create(&s->key, close_conn);
	pthread_setspecific(s->key, c);
	*out = &s->base;
	return 0;
}
