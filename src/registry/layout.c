/*
 * layout.c — the OCI image layout as a transfer endpoint (see layout.h).
 */
#include "registry/layout.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/oci.h"
#include "store/store.h"

#define REFNAME "org.opencontainers.image.ref.name"

struct layout {
	char *dir;
	struct store_blobloc *seen;
};

static char *blob_path(struct layout *l, const char *digest, struct strata_error **err)
{
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return NULL;
	return xasprintf("%s/blobs/%s/%s", l->dir, strata_hash_alg_name(d.alg), d.hex);
}

static int has_blob(void *ctx, const char *digest, struct strata_error **err)
{
	cleanup_free char *p = blob_path(ctx, digest, err);
	if (!p)
		return -1;
	return strata_path_exists(p) ? 1 : 0;
}

struct bh {
	struct strata_atomic *a;
	uint64_t off, kicked; /* bytes written; bytes handed to writeback */
};

#define WRITEBACK_STEP (16u << 20)

/*
 * Write, and start writeback of every 16 MiB as it is written, so that the
 * fsync of the commit finds little left to do and the disk works while the
 * network does.
 */
static int bh_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	struct bh *h = ctx;
	if (strata_write_full(h->a->fd, p, n, "blob", err) < 0)
		return -1;
	h->off += n;
	if (h->off - h->kicked >= WRITEBACK_STEP) {
		sync_file_range(h->a->fd, (off_t)h->kicked, (off_t)(h->off - h->kicked), SYNC_FILE_RANGE_WRITE);
		h->kicked = h->off;
	}
	return 0;
}

/* blob_path, its directory created. @return the path (newly allocated) or NULL. */
static char *blob_path_made(struct layout *l, const char *digest, struct strata_error **err)
{
	char *p = blob_path(l, digest, err);
	if (!p)
		return NULL;
	cleanup_free char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	if (strata_mkdir_p(dir, 0755, err) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

static int blob_begin(void *ctx, const char *digest, struct strata_sink *sink, void **handle,
		      struct strata_error **err)
{
	cleanup_free char *p = blob_path_made(ctx, digest, err);
	if (!p)
		return -1;
	struct strata_atomic *a = xmalloc(sizeof(*a));
	*a = (struct strata_atomic)STRATA_ATOMIC_INIT;
	if (strata_atomic_open(a, p, 0644, err) < 0) {
		free(a);
		return -1;
	}
	struct bh *h = xcalloc(1, sizeof(*h));
	h->a = a;
	*sink = (struct strata_sink){ bh_write, h };
	*handle = h;
	return 0;
}

static int blob_commit(void *ctx, void *handle, struct strata_error **err)
{
	(void)ctx;
	struct bh *h = handle;
	int r = strata_atomic_commit(h->a, err);
	free(h->a);
	free(h);
	return r;
}

static void blob_abort(void *ctx, void *handle)
{
	(void)ctx;
	struct bh *h = handle;
	strata_atomic_abort(h->a);
	free(h->a);
	free(h);
}

static int blob_open(void *ctx, const char *digest, int *fd, uint64_t *size, struct strata_error **err)
{
	cleanup_free char *p = blob_path(ctx, digest, err);
	if (!p)
		return -1;
	int f = open(p, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return strata_error_makec(err, errno == ENOENT ? STRATA_E_NOTFOUND : 0, errno, "open '%s'", p);
	struct stat st;
	if (fstat(f, &st) < 0) {
		int e = errno;
		close(f);
		return strata_error_make(err, e, "stat '%s'", p);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int manifest_put(void *ctx, const char *digest, const char *mt, const void *data, size_t len,
			struct strata_error **err)
{
	(void)mt;
	cleanup_free char *p = blob_path_made(ctx, digest, err);
	if (!p)
		return -1;
	return strata_atomic_write(p, data, len, 0644, err);
}

static int load_index(struct layout *l, json_t **out, struct strata_error **err)
{
	cleanup_free char *p = xasprintf("%s/index.json", l->dir);
	if (!strata_path_exists(p)) {
		*out = json_pack("{s:i,s:[]}", "schemaVersion", 2, "manifests");
		return 0;
	}
	if (strata_json_load_file(p, 16u << 20, out, err) < 0)
		return -1;
	if (!json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: field 'manifests' must be an array", p);
	}
	return 0;
}

static int manifest_get(void *ctx, const char *digest, char **mt, char **data, size_t *len,
			struct strata_error **err)
{
	struct layout *l = ctx;
	cleanup_free char *p = blob_path(l, digest, err);
	if (!p)
		return -1;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(p, &b, REGCLIENT_MANIFEST_MAX, err) < 0)
		return -1;
	struct oci_digest want;
	oci_digest_parse(digest, &want, NULL);
	struct oci_verifier v;
	oci_verifier_init(&v, &want);
	oci_verifier_update(&v, b.data, b.len);
	if (oci_verifier_final(&v, err) < 0)
		return strata_error_wrap(err, "'%s'", p);
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(b.data, b.len, p, &j, err) < 0)
		return -1;
	const char *m = json_string_value(json_object_get(j, "mediaType"));
	if (!m) {
		/* fall back to the descriptor in index.json */
		cleanup_json json_t *idx = NULL;
		if (load_index(l, &idx, NULL) == 0) {
			size_t i;
			json_t *d;
			json_array_foreach(json_object_get(idx, "manifests"), i, d)
			{
				if (!strcmp(json_string_value(json_object_get(d, "digest")) ?: "", digest)) {
					m = json_string_value(json_object_get(d, "mediaType"));
					*mt = xstrdup_or_null(m);
					break;
				}
			}
		}
		if (!*mt)
			*mt = xstrdup(json_object_get(j, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST);
	} else {
		*mt = xstrdup(m);
	}
	*len = b.len;
	*data = strata_buf_detach(&b, NULL);
	return 0;
}

static const char *tag_of(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	const char *at = strchr(ref, '@');
	if (at && (!colon || colon > at))
		return at + 1;
	return colon ? colon + 1 : ref;
}

static int tag(void *ctx, const char *ref, const char *digest, const char *mt, struct strata_error **err)
{
	struct layout *l = ctx;
	cleanup_json json_t *idx = NULL;
	if (load_index(l, &idx, err) < 0)
		return -1;
	const char *name = tag_of(ref);
	cleanup_free char *p = blob_path(l, digest, err);
	struct stat st;
	if (!p || stat(p, &st) < 0)
		return strata_error_make(err, errno, "stat manifest '%s'", digest);
	json_t *ms = json_object_get(idx, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(ms, i, d)
	{
		const char *n = json_string_value(json_object_get(json_object_get(d, "annotations"), REFNAME));
		if (n && !strcmp(n, name)) {
			json_array_remove(ms, i);
			break;
		}
	}
	json_array_append_new(ms, json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType", mt, "digest", digest, "size",
					    (json_int_t)st.st_size, "annotations", REFNAME, name));
	cleanup_free char *ip = xasprintf("%s/index.json", l->dir);
	cleanup_free char *text = strata_json_dump(idx, NULL);
	return strata_atomic_write(ip, text, strlen(text), 0644, err);
}

static int resolve(void *ctx, const char *ref, char **digest, struct strata_error **err)
{
	struct layout *l = ctx;
	cleanup_json json_t *idx = NULL;
	if (load_index(l, &idx, err) < 0)
		return -1;
	const char *name = tag_of(ref);
	json_t *ms = json_object_get(idx, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(ms, i, d)
	{
		const char *n = json_string_value(json_object_get(json_object_get(d, "annotations"), REFNAME));
		const char *dg = json_string_value(json_object_get(d, "digest"));
		if (dg && ((n && !strcmp(n, name)) || !strcmp(dg, name) || (json_array_size(ms) == 1 && !*name))) {
			*digest = xstrdup(dg);
			return 0;
		}
	}
	return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no image '%s' in the layout '%s'", name, l->dir);
}

static void seen(void *ctx, const char *host, const char *repo, const char *digest)
{
	struct layout *l = ctx;
	store_blobloc_add(l->seen, digest, -1, host, repo, NULL);
}

static int where(void *ctx, const char *host, const char *digest, const char *not_repo, char **repo)
{
	struct layout *l = ctx;
	return store_blobloc_find(l->seen, digest, host, not_repo, NULL, repo, NULL);
}

void regxfer_layout_use_seen(struct regxfer_local *l, struct store_blobloc *s)
{
	struct layout *ly = l->ctx;
	ly->seen = s;
	l->seen = s ? seen : NULL;
	l->where = s ? where : NULL;
}

int regxfer_layout_open(const char *dir, bool create, struct regxfer_local *out, struct strata_error **err)
{
	cleanup_free char *lf = xasprintf("%s/oci-layout", dir);
	if (!strata_path_exists(lf)) {
		if (!create)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "'%s' is not an OCI image layout", dir);
		if (strata_mkdir_p(dir, 0755, err) < 0)
			return -1;
		const char *txt = "{\"imageLayoutVersion\":\"1.0.0\"}";
		if (strata_atomic_write(lf, txt, strlen(txt), 0644, err) < 0)
			return -1;
	}
	struct layout *l = xcalloc(1, sizeof(*l));
	l->dir = xstrdup(dir);
	*out = (struct regxfer_local){
		.ctx = l,
		.has_blob = has_blob,
		.blob_begin = blob_begin,
		.blob_commit = blob_commit,
		.blob_abort = blob_abort,
		.blob_open = blob_open,
		.manifest_put = manifest_put,
		.manifest_get = manifest_get,
		.tag = tag,
		.resolve = resolve,
	};
	return 0;
}

void regxfer_layout_close(struct regxfer_local *l)
{
	struct layout *ly = l->ctx;
	if (ly) {
		free(ly->dir);
		free(ly);
	}
	l->ctx = NULL;
}
