/*
 * blobs.c — GET/HEAD/DELETE /v2/<name>/blobs/<digest>.
 *
 * A blob is visible in a repository when it is linked there. GET answers
 * from the shared blob file with sendfile (MHD_create_response_from_fd*),
 * one range at most ("bytes=a-b", "bytes=a-", "bytes=-n"; 206, or 416 with
 * "Content-Range: bytes *\/size"; another unit or several ranges: the whole
 * blob, 200). DELETE removes the link only; the file
 * goes when gc finds nothing else uses it.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* @return 1 with [*a, *b] set, 0 when absent, -1 when unsatisfiable or malformed */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
	if (!h)
		return 0;
	/*
	 * RFC 9110 14.2: a range unit the server does not know MUST be ignored;
	 * several ranges may be: both get the whole blob (200), not 416.
	 * Positions are saturated: a last position past the end, even one
	 * past 2^64, is clamped to the end (14.1.1).
	 */
	if (strncmp(h, "bytes=", 6))
		return 0;
	h += 6;
	if (strchr(h, ','))
		return 0;
	const char *dash = strchr(h, '-');
	if (!dash)
		return -1;
	cleanup_free char *first = xstrndup(h, (size_t)(dash - h));
	const char *second = dash + 1;
	uint64_t x, y;
	if (!*first) {
		if (reg_parse_u64_sat(second, &y) < 0 || y == 0 || size == 0)
			return -1;
		*a = y >= size ? 0 : size - y;
		*b = size - 1;
		return 1;
	}
	if (reg_parse_u64_sat(first, &x) < 0 || x >= size)
		return -1;
	if (!*second) {
		y = size - 1;
	} else {
		if (reg_parse_u64_sat(second, &y) < 0 || y < x)
			return -1;
		if (y >= size)
			y = size - 1;
	}
	*a = x;
	*b = y;
	return 1;
}

static enum MHD_Result blob_delete(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"DELETE FROM links WHERE digest = ?2 AND repo = (SELECT id FROM repos WHERE name = ?1)",
			&st, &err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->ref, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		reg_db_err(db, &err, "delete blob link");
		return reg_reply_internal(q, err);
	}
	if (sqlite3_changes(db) == 0)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	return reg_reply_empty(q, MHD_HTTP_ACCEPTED);
}

enum MHD_Result reg_blob_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	if (!oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest '%s'",
				       q->ref);
	sqlite3 *db = reg_db(q->r, &err);
	if (!db)
		return reg_reply_internal(q, err);
	if (!strcmp(q->method, "DELETE"))
		return blob_delete(q, db);
	int64_t size = 0;
	int linked = reg_blob_linked(db, q->name, q->ref, &size, &err);
	if (linked < 0)
		return reg_reply_internal(q, err);
	if (!linked)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	cleanup_free char *path = reg_blob_path(q->r, q->ref);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	}
	uint64_t fsize = (uint64_t)st.st_size, a = 0, b = 0;
	int rg = parse_range(reg_header(q, MHD_HTTP_HEADER_RANGE), fsize, &a, &b);
	if (rg < 0) {
		close(fd);
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		reg_add_header(resp, "Content-Range", "bytes */%llu", (unsigned long long)fsize);
		q->bytes_out = 0;
		return reg_reply(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
	}
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	if (!strcmp(q->method, "HEAD")) {
		close(fd);
		fd = -1;
		resp = reg_response_head(rg ? b - a + 1 : fsize);
	} else if (rg) {
		resp = MHD_create_response_from_fd_at_offset64(b - a + 1, fd, a);
		q->bytes_out = b - a + 1;
	} else {
		resp = MHD_create_response_from_fd64(fsize, fd);
		q->bytes_out = fsize;
	}
	if (!resp) {
		if (fd >= 0)
			close(fd);
		return reg_reply_internal(q, NULL);
	}
	if (rg) {
		status = MHD_HTTP_PARTIAL_CONTENT;
		reg_add_header(resp, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)a,
			       (unsigned long long)b, (unsigned long long)fsize);
	}
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	MHD_add_response_header(resp, "Docker-Content-Digest", q->ref);
	reg_add_header(resp, "ETag", "\"%s\"", q->ref);
	return reg_reply(q, status, resp);
}
