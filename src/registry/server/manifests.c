/*
 * manifests.c — GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>.
 *
 * Manifests are stored as blobs (so they are deduplicated like everything
 * else) and described by a row of the manifests table: media type as
 * pushed, size, subject, artifactType, annotations. A PUT is accepted only
 * when every blob (config, layers) and every child manifest (index) it
 * references is in the repository; that check runs inside the publishing
 * transaction, so gc cannot remove a reference between check and commit.
 *
 * Content negotiation: a manifest is served in the media type it was pushed
 * with. When the request has Accept headers and none of them admits that
 * type (nor * / *), the answer is 404 MANIFEST_UNKNOWN, as distribution
 * does when it cannot convert. No Accept header at all serves the manifest.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

struct accept_ctx {
	const char *mt;
	bool any_header;
	bool match;
};

static enum MHD_Result accept_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct accept_ctx *a = cls;
	if (strcasecmp(key, "Accept") || !value)
		return MHD_YES;
	a->any_header = true;
	size_t mtlen = strlen(a->mt);
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',' && *end != ';' && *end != ' ')
			end++;
		size_t n = (size_t)(end - p);
		if ((n == mtlen && !strncasecmp(p, a->mt, n)) || (n == 3 && !strncmp(p, "*/*", 3)))
			a->match = true;
		p = end;
		while (*p && *p != ',')
			p++;
	}
	return MHD_YES;
}

static bool accepts(struct reg_req *q, const char *mt)
{
	struct accept_ctx a = { mt, false, false };
	MHD_get_connection_values(q->conn, MHD_HEADER_KIND, accept_iter, &a);
	return !a.any_header || a.match;
}

static bool is_digest_ref(const char *ref)
{
	return strchr(ref, ':') != NULL;
}

static enum MHD_Result manifest_get(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	struct reg_blobstore *bs = q->r->bs;
	bool by_digest = is_digest_ref(q->ref);
	if (by_digest && !oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	if (!by_digest && !oci_tag_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "invalid tag");
	struct reg_meta_manifest mf;
	bool repo_known = false;
	int rc = m->ops->manifest_get(m, q->name, q->ref, by_digest, &mf, &repo_known, &err);
	if (rc < 0)
		return reg_reply_internal(q, err);
	if (!repo_known)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	if (!rc)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
	enum MHD_Result ret;
	struct MHD_Response *resp;
	if (!accepts(q, mf.media_type)) {
		ret = reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN",
				      "manifest has media type '%s', which the Accept header excludes",
				      mf.media_type);
		goto out;
	}
	if (!strcmp(q->method, "HEAD")) {
		resp = reg_response_head((uint64_t)mf.size);
	} else {
		struct reg_blob_reader rd;
		int o = bs->ops->open(bs, mf.digest, 0, (uint64_t)mf.size, &rd, &err);
		if (o < 0) {
			ret = reg_reply_internal(q, err);
			goto out;
		}
		if (!o) {
			ret = reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
			goto out;
		}
		resp = reg_response_reader(&rd);
		q->bytes_out = (uint64_t)mf.size;
	}
	if (!resp) {
		ret = reg_reply_internal(q, NULL);
		goto out;
	}
	MHD_add_response_header(resp, "Content-Type", mf.media_type);
	MHD_add_response_header(resp, "Docker-Content-Digest", mf.digest);
	reg_add_header(resp, "ETag", "\"%s\"", mf.digest);
	ret = reg_reply(q, MHD_HTTP_OK, resp);
out:
	reg_meta_manifest_release(&mf);
	return ret;
}

static enum MHD_Result manifest_delete(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	bool by_digest = is_digest_ref(q->ref);
	if (by_digest && !oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	bool repo_known = false;
	int rc = m->ops->manifest_delete(m, q->name, q->ref, by_digest, &repo_known, &err);
	if (rc < 0)
		return reg_reply_internal(q, err);
	if (!repo_known)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	if (!rc)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
	return reg_reply_empty(q, MHD_HTTP_ACCEPTED);
}

/* ---- PUT ---- */

struct put_ctx {
	struct reg_meta_manifest_put p;
	char *missing;     /* set when a reference is absent */
	bool missing_is_manifest;
};

static int put_rows(struct reg_meta *m, const char *repo, void *ud, struct strata_error **err)
{
	struct put_ctx *c = ud;
	return m->ops->manifest_put(m, repo, &c->p, &c->missing, &c->missing_is_manifest, err);
}

static enum MHD_Result store(struct reg_req *q, const struct oci_digest *d, struct put_ctx *c);

static enum MHD_Result invalid(struct reg_req *q, const char *msg)
{
	return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_INVALID", "manifest invalid: %s", msg);
}

static enum MHD_Result manifest_put(struct reg_req *q)
{
	if (q->too_big)
		return reg_reply_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
				       "manifest is larger than %u bytes", REG_MANIFEST_MAX);
	bool by_digest = is_digest_ref(q->ref);
	struct oci_digest want;
	if (by_digest && oci_digest_parse(q->ref, &want, NULL) < 0)
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	if (!by_digest && !oci_tag_valid(q->ref))
		return invalid(q, "invalid tag");
	struct oci_digest got;
	{
		struct strata_hash h;
		char hex[STRATA_HASH_HEX_MAX];
		enum strata_hash_alg alg = by_digest ? want.alg : STRATA_HASH_SHA256;
		strata_hash_init(&h, alg);
		strata_hash_update(&h, q->buf.data, q->buf.len);
		strata_hash_final(&h, hex);
		oci_digest_from_hex(&got, alg, hex);
	}
	if (by_digest && strcmp(got.str, q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "manifest digest %s does not match %s", got.str, q->ref);

	struct reg_manifest m;
	cleanup_free char *why = NULL;
	int pr = reg_manifest_parse(q->buf.data, q->buf.len, reg_header(q, MHD_HTTP_HEADER_CONTENT_TYPE),
				    &m, &why);
	if (pr == REG_MANIFEST_UNSUPPORTED)
		return reg_reply_error(q, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED", "%s", why);
	if (pr < 0)
		return invalid(q, why);
	struct put_ctx c = { .p = { .digest = got.str, .media_type = m.media_type,
				    .tag = by_digest ? NULL : q->ref, .size = (int64_t)q->buf.len,
				    .blobs = m.blobs, .children = m.children,
				    .artifact_type = m.artifact_type, .subject = m.subject,
				    .annotations = m.annotations } };
	enum MHD_Result ret = store(q, &got, &c);
	reg_manifest_release(&m);
	return ret;
}

/* Write the bytes to a temp upload and publish them like a blob, with the manifest's rows. */
static enum MHD_Result store(struct reg_req *q, const struct oci_digest *d, struct put_ctx *c)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, 0, sizeof(rnd));
	char rhex[33];
	for (int i = 0; i < 16; i++)
		snprintf(rhex + 2 * i, 3, "%02x", rnd[i]);
	cleanup_free char *id = xasprintf(".manifest-%s-%s", d->hex, rhex);
	cleanup_free char *state = NULL;
	if (bs->ops->upload_create(bs, id, &state, &err) < 0)
		return reg_reply_internal(q, err);
	struct reg_blob_writer *w = NULL;
	int o = bs->ops->chunk_begin(bs, id, state, 0, &w, &err);
	if (o <= 0) {
		if (!o)
			strata_error_make(&err, ENOENT, "upload '%s' vanished", id);
		goto fail;
	}
	int wr = bs->ops->chunk_write(w, q->buf.data, q->buf.len, &err);
	if (bs->ops->chunk_end(w, wr == 0, wr == 0 ? &err : NULL) < 0 || wr < 0)
		goto fail;
	if (reg_publish(q->r, id, state, d->str, c->p.size, q->name, put_rows, c, &err) < 0) {
		bs->ops->upload_delete(bs, id, state, NULL);
		if (c->missing) {
			strata_error_free(err);
			cleanup_free char *missing = c->missing;
			return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN",
					       "%s '%s' referenced by the manifest is unknown to the repository",
					       c->missing_is_manifest ? "manifest" : "blob", missing);
		}
		return reg_reply_internal(q, err);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	reg_add_header(resp, "Location", "/v2/%s/manifests/%s", q->name, d->str);
	MHD_add_response_header(resp, "Docker-Content-Digest", d->str);
	if (c->p.subject)
		MHD_add_response_header(resp, "OCI-Subject", c->p.subject);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_CREATED, resp);
fail:
	bs->ops->upload_delete(bs, id, state, NULL);
	return reg_reply_internal(q, err);
}

enum MHD_Result reg_manifest_handle(struct reg_req *q)
{
	if (!strcmp(q->method, "PUT"))
		return manifest_put(q);
	if (!strcmp(q->method, "DELETE"))
		return manifest_delete(q);
	return manifest_get(q);
}
