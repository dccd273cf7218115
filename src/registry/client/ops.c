/*
 * ops.c — the operations of the distribution spec: ping, manifests, tags.
 * Blobs are in blob.c.
 */
#include "registry/client/internal.h"

#include <string.h>

#include "oci/oci.h"

#define MANIFEST_ACCEPT                                                                          \
	OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_LIST

int regclient_ping(struct regclient *c, const char *host, struct strata_error **err)
{
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	cleanup_free char *url = xasprintf("%s/v2/", h->base);
	struct rc_req req = { .method = "GET", .url = url, .body_fd = -1 };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	int r = rc_do(c, h, &req, &resp, err);
	if (r == 0 && resp.status != 200)
		r = rc_resp_error(&resp, NULL, err);
	rc_resp_release(&resp);
	return r;
}

void regclient_manifest_release(struct regclient_manifest *m)
{
	free(m->media_type);
	free(m->digest);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static char *scope_for(const char *repo, const char *actions)
{
	return xasprintf("repository:%s:%s", repo, actions);
}

int regclient_manifest_get(struct regclient *c, const char *host, const char *repo, const char *ref,
			   bool head, struct regclient_manifest *out, struct strata_error **err)
{
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	bool by_digest = strchr(ref, ':') != NULL;
	struct oci_digest want;
	if (by_digest && oci_digest_parse(ref, &want, err) < 0)
		return -1;
	cleanup_free char *url = xasprintf("%s/v2/%s/manifests/%s", h->base, repo, ref);
	cleanup_free char *scope = scope_for(repo, "pull");
	struct rc_req req = { .method = head ? "HEAD" : "GET", .url = url, .accept = MANIFEST_ACCEPT,
			      .body_fd = -1, .scope = scope };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_MANIFEST_MAX);
	int r = -1;
	if (rc_do(c, h, &req, &resp, err) < 0)
		goto out;
	if (resp.status != 200) {
		rc_resp_error(&resp, "MANIFEST_UNKNOWN", err);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (head) {
		if (by_digest)
			out->digest = xstrdup(want.str);
		else if (resp.digest && oci_digest_valid(resp.digest))
			out->digest = xstrdup(resp.digest);
		out->len = resp.content_length > 0 ? (size_t)resp.content_length : 0;
	} else {
		/* verify what was received */
		struct oci_digest got;
		const char *check = by_digest ? want.str : resp.digest;
		if (check) {
			struct oci_digest d;
			if (oci_digest_parse(check, &d, err) < 0) {
				strata_error_wrap(err, "Docker-Content-Digest");
				goto out;
			}
			struct oci_verifier v;
			oci_verifier_init(&v, &d);
			oci_verifier_update(&v, resp.body.data, resp.body.len);
			if (oci_verifier_final(&v, err) < 0) {
				strata_error_set_code(err, STRATA_E_INVALID);
				strata_error_wrap(err, "manifest '%s'", ref);
				goto out;
			}
		}
		if (check && !strncmp(check, "sha256:", 7)) {
			out->digest = xstrdup(check);
		} else {
			oci_digest_of(&got, resp.body.data, resp.body.len);
			out->digest = xstrdup(got.str);
		}
		out->len = resp.body.len;
		out->data = strata_buf_detach(&resp.body, NULL);
	}
	if (resp.content_type && *resp.content_type) {
		size_t n = strcspn(resp.content_type, "; ");
		out->media_type = xstrndup(resp.content_type, n);
	}
	if (out->data && (!out->media_type || !strcmp(out->media_type, "application/json") ||
			  !strcmp(out->media_type, "text/plain"))) {
		cleanup_json json_t *j = NULL;
		if (strata_json_parse(out->data, out->len, "manifest", &j, NULL) == 0) {
			const char *mt = json_string_value(json_object_get(j, "mediaType"));
			if (mt) {
				free(out->media_type);
				out->media_type = xstrdup(mt);
			}
		}
	}
	r = 0;
out:
	rc_resp_release(&resp);
	return r;
}

int regclient_manifest_put(struct regclient *c, const char *host, const char *repo, const char *ref,
			   const char *media_type, const void *data, size_t len, char **digest_out,
			   struct strata_error **err)
{
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	if (len > REGCLIENT_MANIFEST_MAX)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "manifest larger than %u bytes",
					  REGCLIENT_MANIFEST_MAX);
	struct oci_digest d;
	oci_digest_of(&d, data, len);
	cleanup_free char *url = xasprintf("%s/v2/%s/manifests/%s", h->base, repo, ref);
	cleanup_free char *scope = scope_for(repo, "pull,push");
	struct rc_req req = { .method = "PUT", .url = url, .content_type = media_type, .body = data,
			      .body_len = len, .body_fd = -1, .scope = scope };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	int r = -1;
	if (rc_do(c, h, &req, &resp, err) < 0)
		goto out;
	if (resp.status != 201 && resp.status != 200) {
		rc_resp_error(&resp, NULL, err);
		goto out;
	}
	if (resp.digest && *resp.digest && strcmp(resp.digest, d.str)) {
		strata_error_makec(err, STRATA_E_REGISTRY, 0,
				   "registry stored the manifest as '%s', expected '%s'", resp.digest, d.str);
		goto out;
	}
	if (digest_out)
		*digest_out = xstrdup(d.str);
	r = 0;
out:
	rc_resp_release(&resp);
	return r;
}

void regclient_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int regclient_tags_list(struct regclient *c, const char *host, const char *repo, char ***tags, size_t *n,
			struct strata_error **err)
{
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	const char *page = getenv("STRATA_TAGS_PAGE_SIZE");
	long psz = page ? strtol(page, NULL, 10) : 1000;
	if (psz <= 0)
		psz = 1000;
	char *url = xasprintf("%s/v2/%s/tags/list?n=%ld", h->base, repo, psz);
	cleanup_free char *scope = scope_for(repo, "pull");
	char **v = xcalloc(1, sizeof(char *));
	size_t cnt = 0;
	int r = -1;
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_MANIFEST_MAX);
	for (int pages = 0; url; pages++) {
		if (pages == 10000) {
			strata_error_makec(err, STRATA_E_REGISTRY, 0, "tag list: too many pages");
			goto out;
		}
		struct rc_req req = { .method = "GET", .url = url, .body_fd = -1, .scope = scope };
		if (rc_do(c, h, &req, &resp, err) < 0)
			goto out;
		if (resp.status != 200) {
			rc_resp_error(&resp, "NAME_UNKNOWN", err);
			goto out;
		}
		cleanup_json json_t *j = NULL;
		if (strata_json_parse(resp.body.data, resp.body.len, "tag list", &j, err) < 0)
			goto out;
		json_t *arr = json_object_get(j, "tags");
		size_t i;
		json_t *t;
		json_array_foreach(arr, i, t)
		{
			if (!json_is_string(t))
				continue;
			v = xreallocarray(v, cnt + 2, sizeof(char *));
			v[cnt++] = xstrdup(json_string_value(t));
			v[cnt] = NULL;
		}
		char *next = resp.link ? rc_link_next(resp.link) : NULL;
		char *abs = next ? rc_resolve_url(url, next) : NULL;
		free(next);
		free(url);
		url = abs;
	}
	*tags = v;
	v = NULL;
	if (n)
		*n = cnt;
	r = 0;
out:
	free(url);
	regclient_strv_free(v);
	rc_resp_release(&resp);
	return r;
}
