/*
 * storexfer.c — the store as a transfer endpoint (see storexfer.h).
 */
#include "registry/storexfer.h"

#include <string.h>

#include "oci/oci.h"
#include "store/store.h"

struct sx {
	struct store *s;
	struct store_blobloc *seen;
};

static int has_blob(void *ctx, const char *digest, struct strata_error **err)
{
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	return store_blob_exists(x->s, &d) ? 1 : 0;
}

static int blob_begin(void *ctx, const char *digest, struct strata_sink *sink, void **handle,
		      struct strata_error **err)
{
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	struct store_blob_writer *w = NULL;
	if (store_blob_writer_open(x->s, &d, -1, &w, err) < 0)
		return -1;
	*sink = store_blob_writer_sink(w);
	*handle = w;
	return 0;
}

static int blob_commit(void *ctx, void *handle, struct strata_error **err)
{
	(void)ctx;
	return store_blob_writer_commit(handle, NULL, NULL, err);
}

static void blob_abort(void *ctx, void *handle)
{
	(void)ctx;
	store_blob_writer_abort(handle);
}

static int blob_open(void *ctx, const char *digest, int *fd, uint64_t *size, struct strata_error **err)
{
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	int64_t sz = 0;
	int f = store_blob_open(x->s, &d, &sz, err);
	if (f < 0)
		return -1;
	*fd = f;
	*size = (uint64_t)sz;
	return 0;
}

static int manifest_put(void *ctx, const char *digest, const char *mt, const void *data, size_t len,
			struct strata_error **err)
{
	(void)mt;
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	return store_blob_put(x->s, data, len, &d, NULL, err);
}

static int manifest_get(void *ctx, const char *digest, char **mt, char **data, size_t *len,
			struct strata_error **err)
{
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (store_blob_read(x->s, &d, REGCLIENT_MANIFEST_MAX, &b, err) < 0)
		return -1;
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(b.data, b.len, digest, &j, err) < 0)
		return -1;
	const char *m = json_string_value(json_object_get(j, "mediaType"));
	char *found = NULL;
	if (!m) {
		struct store_entry *e = NULL;
		size_t n = 0;
		if (store_tag_list(x->s, &e, &n, NULL) == 0) {
			for (size_t i = 0; i < n && !found; i++)
				if (!strcmp(e[i].digest.str, digest) && e[i].media_type)
					found = xstrdup(e[i].media_type);
			store_entries_free(e, n);
		}
		if (!found)
			found = xstrdup(json_object_get(j, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST);
	}
	*mt = found ? found : xstrdup(m);
	*len = b.len;
	*data = strata_buf_detach(&b, NULL);
	return 0;
}

static int tag(void *ctx, const char *ref, const char *digest, const char *mt, struct strata_error **err)
{
	struct sx *x = ctx;
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	int64_t size = 0;
	if (store_blob_stat(x->s, &d, &size, err) < 0)
		return -1;
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0)
		return -1;
	if (!r.tag)
		return store_index_add_untagged(x->s, mt, &d, size, err);
	return store_tag_set(x->s, &r, mt, &d, size, err);
}

static int resolve(void *ctx, const char *ref, char **digest, struct strata_error **err)
{
	struct sx *x = ctx;
	struct store_entry e = { 0 };
	if (store_resolve(x->s, ref, &e, err) < 0)
		return -1;
	*digest = xstrdup(e.digest.str);
	store_entry_release(&e);
	return 0;
}

static void seen(void *ctx, const char *host, const char *repo, const char *digest)
{
	struct sx *x = ctx;
	if (x->seen)
		store_blobloc_add(x->seen, digest, -1, host, repo, NULL);
}

static int where(void *ctx, const char *host, const char *digest, const char *not_repo, char **repo)
{
	struct sx *x = ctx;
	return x->seen ? store_blobloc_find(x->seen, digest, host, not_repo, NULL, repo, NULL) : 0;
}

void regxfer_store_local(struct store *s, struct store_blobloc *sn, struct regxfer_local *out)
{
	struct sx *x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->seen = sn;
	*out = (struct regxfer_local){
		.ctx = x,
		.commit_verifies = true, /* store_blob_writer_commit checks the digest */
		.has_blob = has_blob,
		.blob_begin = blob_begin,
		.blob_commit = blob_commit,
		.blob_abort = blob_abort,
		.blob_open = blob_open,
		.manifest_put = manifest_put,
		.manifest_get = manifest_get,
		.tag = tag,
		.resolve = resolve,
		.seen = seen,
		.where = where,
	};
}

void regxfer_store_local_release(struct regxfer_local *l)
{
	free(l->ctx);
	l->ctx = NULL;
}

void regxfer_store_open(struct store *s, struct regxfer_store *x)
{
	if (store_blobloc_open(s, &x->seen, NULL) < 0)
		x->seen = NULL;
	regxfer_store_local(s, x->seen, &x->local);
}

void regxfer_store_close(struct regxfer_store *x, bool ok)
{
	if (ok && x->seen)
		store_blobloc_save(x->seen, NULL);
	regxfer_store_local_release(&x->local);
	store_blobloc_free(x->seen);
	x->seen = NULL;
}
