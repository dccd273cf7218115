/*
 * referrers.c — GET /v2/<name>/referrers/<digest>[?artifactType=T]: an OCI
 * image index listing every manifest of the repository whose subject is
 * <digest> (empty when there is none, as the spec asks), filtered by
 * artifactType when requested (then OCI-Filters-Applied: artifactType).
 */
#include "registry/server/internal.h"

#include <string.h>

enum MHD_Result reg_referrers_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	if (!oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	sqlite3 *db = reg_db(q->r, &err);
	if (!db)
		return reg_reply_internal(q, err);
	const char *filter = reg_arg(q, "artifactType");
	if (filter && !*filter)
		filter = NULL;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations"
			" FROM manifests m JOIN repos r ON r.id = m.repo"
			" WHERE r.name = ?1 AND m.subject = ?2 AND (?3 IS NULL OR m.artifact_type = ?3)"
			" ORDER BY m.created, m.digest",
			&st, &err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->ref, -1, SQLITE_STATIC);
	if (filter)
		sqlite3_bind_text(st, 3, filter, -1, SQLITE_STATIC);
	cleanup_json json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", (const char *)sqlite3_column_text(st, 1),
				      "digest", (const char *)sqlite3_column_text(st, 0), "size",
				      (json_int_t)sqlite3_column_int64(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			json_object_set_new(d, "artifactType",
					    json_string((const char *)sqlite3_column_text(st, 3)));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			const char *a = (const char *)sqlite3_column_text(st, 4);
			json_t *ann = json_loads(a, 0, NULL);
			if (ann)
				json_object_set_new(d, "annotations", ann);
		}
		json_array_append_new(list, d);
	}
	if (rc != SQLITE_DONE) {
		reg_db_err(db, &err, "list referrers");
		return reg_reply_internal(q, err);
	}
	cleanup_json json_t *body = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType",
					       OCI_MT_INDEX, "manifests", list);
	size_t len;
	char *s = strata_json_dump(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", OCI_MT_INDEX);
	if (filter)
		MHD_add_response_header(resp, "OCI-Filters-Applied", "artifactType");
	q->bytes_out = len;
	return reg_reply(q, MHD_HTTP_OK, resp);
}
