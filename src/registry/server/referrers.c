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
	const char *filter = reg_arg(q, "artifactType");
	if (filter && !*filter)
		filter = NULL;
	struct reg_meta *m = q->r->meta;
	cleanup_json json_t *list = json_array();
	if (m->ops->referrers(m, q->name, q->ref, filter, list, &err) < 0)
		return reg_reply_internal(q, err);
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
