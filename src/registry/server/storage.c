/*
 * storage.c — the content-addressed blob store shared by every repository
 * and the one publication path for verified content.
 *
 * Publication order (see docs/internals/registry-server.md):
 *   1. the content is complete in ROOT/uploads/<file> and its digest verified
 *   2. fsync(file)
 *   3. BEGIN IMMEDIATE      (serialises with gc's sweep and other publishers)
 *   4. rename into ROOT/blobs/<alg>/<xx>/<hex> (or drop it when the blob file
 *      already exists: same digest, same bytes), fsync the directory
 *   5. rows: blobs, links (+ the caller's extra rows), COMMIT
 * A crash before 4 leaves a temp file (removed with its session or by gc); a
 * crash between 4 and 5 leaves a blob file without a row, which a later
 * upload of the same digest adopts and gc removes after the grace period.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *reg_blob_path(const struct registry *r, const char *digest)
{
	const char *colon = strchr(digest, ':');
	size_t alen = (size_t)(colon - digest);
	return xasprintf("%s/%.*s/%.2s/%s", r->blobs_dir, (int)alen, digest, colon + 1, colon + 1);
}

int reg_hash_file(int fd, enum strata_hash_alg alg, uint64_t len, struct strata_hash *h,
		  struct strata_error **err)
{
	static const size_t bufsz = 1 << 20;
	cleanup_free char *buf = xmalloc(bufsz);
	strata_hash_init(h, alg);
	uint64_t off = 0;
	while (off < len) {
		size_t want = len - off < bufsz ? (size_t)(len - off) : bufsz;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			strata_hash_release(h);
			return strata_error_make(err, n < 0 ? errno : EIO, "read upload");
		}
		strata_hash_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

static int record(sqlite3 *db, const char *digest, int64_t size, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"INSERT INTO blobs(digest, size, created) VALUES(?, ?, ?)"
			" ON CONFLICT DO UPDATE SET created = excluded.created",
			&st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, size);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		return reg_db_err(db, err, "record blob");
	return 0;
}

int reg_publish(struct registry *r, sqlite3 *db, const char *tmp, int tmp_fd, const char *digest,
		int64_t size, const char *repo_name,
		int (*extra)(sqlite3 *db, int64_t repo, void *ud, struct strata_error **err), void *ud,
		struct strata_error **err)
{
	if (tmp_fd >= 0 && fsync(tmp_fd) < 0)
		return strata_error_make(err, errno, "fsync '%s'", tmp);
	cleanup_free char *path = reg_blob_path(r, digest);
	cleanup_free char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if (strata_mkdir_p(dir, 0755, err) < 0)
		return -1;
	if (reg_begin(db, true, err) < 0)
		return -1;
	struct stat stt;
	if (stat(path, &stt) == 0 && stt.st_size == size) {
		unlink(tmp);
	} else {
		if (rename(tmp, path) < 0) {
			int e = errno;
			reg_rollback(db);
			return strata_error_make(err, e, "rename '%s' to '%s'", tmp, path);
		}
		if (strata_fsync_dir(dir, err) < 0)
			goto fail;
	}
	if (record(db, digest, size, err) < 0)
		goto fail;
	int64_t repo = 0;
	if (repo_name) {
		repo = reg_repo_id(db, repo_name, true, err);
		if (repo < 0 || reg_link_blob(db, repo, digest, err) < 0)
			goto fail;
	}
	if (extra && extra(db, repo, ud, err) < 0)
		goto fail;
	if (reg_commit(db, err) < 0)
		goto fail;
	return 0;
fail:
	reg_rollback(db);
	return -1;
}
