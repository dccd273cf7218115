/*
 * layout.c — a directory cache (--cache-from type=local,src=DIR,
 * --cache-to type=local,dest=DIR): the same cache artifact as a registry
 * export, kept in an OCI image layout, for CI systems that save and restore
 * directories (GitHub's actions/cache, Semaphore's cache store). Import reads
 * index.json, the manifest and the config, never a layer; a hit's layer is
 * copied into the store only when a step needs it (the entries carry
 * RCACHE_LAYOUT_HOST and the directory, as a registry's carry host and repo).
 */
#include "cache/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/internal.h"

#define LAYOUT_JSON_MAX (8u << 20)
#define LAYOUT_REF_NAME "strata-cache"
#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

static char *blob_path(const char *dir, const struct oci_digest *d)
{
	const char *hex = strchr(d->str, ':');
	return xasprintf("%s/blobs/sha256/%s", dir, hex ? hex + 1 : d->str);
}

/* Read a blob of the layout (at most LAYOUT_JSON_MAX bytes) and parse it. */
static int read_json_blob(const char *dir, const char *digest, const char *what, json_t **out,
			  struct strata_error **err)
{
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return strata_error_wrap(err, "%s", what);
	cleanup_free char *p = blob_path(dir, &d);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(p, &b, LAYOUT_JSON_MAX, err) < 0)
		return strata_error_wrap(err, "%s", what);
	char hex[65];
	strata_sha256_hex(b.data, b.len, hex);
	if (strcmp(hex, strchr(d.str, ':') + 1))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s %s: digest mismatch", what, digest);
	return strata_json_parse(b.data, b.len, what, out, err);
}

/* The manifest index.json names LAYOUT_REF_NAME, else its first manifest. */
static int layout_manifest(const char *dir, json_t **man, struct strata_error **err)
{
	cleanup_free char *ip = xasprintf("%s/index.json", dir);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	cleanup_json json_t *idx = NULL;
	if (strata_read_file(ip, &b, LAYOUT_JSON_MAX, err) < 0 || strata_json_parse(b.data, b.len, ip, &idx, err) < 0)
		return -1;
	json_t *ms = json_object_get(idx, "manifests");
	const char *digest = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m) {
		const char *name = json_string_value(json_object_get(json_object_get(m, "annotations"),
								     REF_NAME_ANNOTATION));
		const char *dg = json_string_value(json_object_get(m, "digest"));
		if (dg && (!digest || (name && !strcmp(name, LAYOUT_REF_NAME))))
			digest = dg;
		if (dg && name && !strcmp(name, LAYOUT_REF_NAME))
			break;
	}
	if (!digest)
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "%s: no manifest", ip);
	return read_json_blob(dir, digest, "manifest", man, err);
}

int rcache_layout_import(struct rcache_table *t, const char *dir, const char *ref, struct rcache_import_result *res)
{
	memset(res, 0, sizeof(*res));
	struct strata_error *e = NULL;
	cleanup_free char *abs = realpath(dir, NULL);
	if (!abs) {
		strata_error_makec(&e, errno == ENOENT ? STRATA_E_NOTFOUND : 0, errno, "'%s'", dir);
		rcache_import_fail(res, ref, e, true);
		return 0;
	}
	cleanup_json json_t *man = NULL, *cfg = NULL;
	const char *cdg = NULL;
	bool first = true;
	if (layout_manifest(abs, &man, &e) < 0)
		goto failed;
	first = false;
	cdg = json_string_value(json_object_get(json_object_get(man, "config"), "digest"));
	if (!cdg) {
		strata_error_makec(&e, STRATA_E_INVALID, 0, "manifest: no config digest");
		goto failed;
	}
	if (read_json_blob(abs, cdg, "config", &cfg, &e) < 0 ||
	    rcache_table_take(t, ref, RCACHE_LAYOUT_HOST, abs, man, cfg, res, &e) < 0)
		goto failed;
	return 0;
failed:
	rcache_import_fail(res, ref, e, first);
	return 0;
}

/* Copy fd to its end into put(ctx, ...); what names fd in errors. */
static int pump(int fd, const char *what, int (*put)(void *ctx, const void *buf, size_t n, struct strata_error **err),
		void *ctx, struct strata_error **err)
{
	char buf[65536];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return strata_error_make(err, errno, "read '%s'", what);
		if (k == 0)
			return 0;
		if (put(ctx, buf, (size_t)k, err) < 0)
			return strata_error_wrap(err, "'%s'", what);
	}
}

static int to_store(void *ctx, const void *buf, size_t n, struct strata_error **err)
{
	return store_blob_writer_write(ctx, buf, n, err);
}

static int to_file(void *ctx, const void *buf, size_t n, struct strata_error **err)
{
	struct strata_atomic *a = ctx;
	return strata_write_full(a->fd, buf, n, a->path, err);
}

int rcache_layout_fetch(struct store *s, const char *dir, const struct oci_digest *d, int64_t size,
			struct strata_error **err)
{
	cleanup_free char *p = blob_path(dir, d);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_makec(err, errno == ENOENT ? STRATA_E_NOTFOUND : 0, errno, "open '%s'", p);
	struct store_blob_writer *w = NULL;
	if (store_blob_writer_open(s, d, size >= 0 ? size : -1, &w, err) < 0)
		return -1;
	if (pump(fd, p, to_store, w, err) < 0) {
		store_blob_writer_abort(w);
		return -1;
	}
	if (store_blob_writer_commit(w, NULL, NULL, err) < 0) /* verifies digest and size */
		return strata_error_wrap(err, "'%s'", p);
	return 0;
}

/* Copy fd (size bytes) into the layout as blob d unless it is there; *written: whether it was written. */
static int put_blob_fd(const char *dir, const struct oci_digest *d, int fd, bool *written, struct strata_error **err)
{
	cleanup_free char *p = blob_path(dir, d);
	*written = false;
	if (strata_path_exists(p))
		return 0;
	struct strata_atomic a;
	if (strata_atomic_open(&a, p, 0644, err) < 0)
		return -1;
	if (pump(fd, d->str, to_file, &a, err) < 0) {
		strata_atomic_abort(&a);
		return -1;
	}
	if (strata_atomic_commit(&a, err) < 0)
		return -1;
	*written = true;
	return 0;
}

static int put_blob_mem(const char *dir, const void *data, size_t len, json_t **desc, const char *mt,
			struct strata_error **err)
{
	char hex[65];
	strata_sha256_hex(data, len, hex);
	cleanup_free char *p = xasprintf("%s/blobs/sha256/%s", dir, hex);
	if (!strata_path_exists(p) && strata_atomic_write(p, data, len, 0644, err) < 0)
		return -1;
	*desc = json_pack("{s:s,s:s+,s:I}", "mediaType", mt, "digest", "sha256:", hex, "size", (json_int_t)len);
	return 0;
}

/* Blob desc into the layout unless there (a remote one through the store first). */
static int layout_put(struct regclient *c, struct store *s, const char *dir, const json_t *desc, const char *host,
		      const char *repo, bool mount, struct rcache_push_result *out, struct strata_error **err)
{
	const char *dg = json_string_value(json_object_get(desc, "digest"));
	int64_t size = json_integer_value(json_object_get(desc, "size"));
	struct oci_digest d;
	if (!dg || oci_digest_parse(dg, &d, err) < 0)
		return -1;
	cleanup_free char *p = blob_path(dir, &d);
	if (strata_path_exists(p)) {
		out->blobs_present++;
		return 0;
	}
	/* a layer of a cache hit may still be remote: into the store first */
	if (rcache_fetch_blob(c, s, dg, size, host, repo, err) < 0)
		return -1;
	int64_t bsize = 0;
	cleanup_close int fd = store_blob_open(s, &d, &bsize, err);
	bool written = false;
	if (fd < 0 || put_blob_fd(dir, &d, fd, &written, err) < 0)
		return -1;
	if (written) {
		out->blobs_uploaded++;
		out->bytes_uploaded += (uint64_t)bsize;
		if (mount)
			out->mount_bytes_uploaded += (uint64_t)bsize;
	}
	return 0;
}

int rcache_layout_export(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			 const char *dir, struct rcache_push_result *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	return rcache_layout_export_mounts(c, s, e, n, NULL, 0, dir, out, err);
}

int rcache_layout_export_mounts(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
				const struct rcache_mount *m, size_t nm, const char *dir,
				struct rcache_push_result *out, struct strata_error **err)
{
	cleanup_free char *blobs = xasprintf("%s/blobs/sha256", dir);
	cleanup_free char *cfg = NULL, *man = NULL;
	size_t clen = 0, mlen = 0;
	if (strata_mkdir_p(blobs, 0755, err) < 0 ||
	    rcache_artifact_encode_mounts(e, n, true, 0, m, nm, &cfg, &clen, &man, &mlen, err) < 0)
		return strata_error_wrap(err, "--cache-to type=local,dest=%s", dir);
	for (size_t i = 0; i < n; i++)
		if (layout_put(c, s, dir, e[i].desc, e[i].host, e[i].repo, false, out, err) < 0)
			return strata_error_wrap(err, "--cache-to type=local,dest=%s", dir);
	for (size_t i = 0; i < nm; i++)
		for (size_t k = 0; k < m[i].n_parts; k++)
			if (layout_put(c, s, dir, m[i].parts[k].desc, m[i].host, m[i].repo, true, out, err) < 0)
				return strata_error_wrap(err, "--cache-to type=local,dest=%s: cache mount '%s'", dir,
							 m[i].id);
	out->mounts = nm;
	cleanup_json json_t *cdesc = NULL, *mdesc = NULL;
	if (put_blob_mem(dir, cfg, clen, &cdesc, RCACHE_CONFIG_MT, err) < 0 ||
	    put_blob_mem(dir, man, mlen, &mdesc, OCI_MT_MANIFEST, err) < 0)
		return strata_error_wrap(err, "--cache-to type=local,dest=%s", dir);
	json_object_set_new(mdesc, "artifactType", json_string(RCACHE_ARTIFACT_TYPE));
	json_object_set_new(mdesc, "annotations", json_pack("{s:s}", REF_NAME_ANNOTATION, LAYOUT_REF_NAME));
	cleanup_json json_t *idx = json_pack("{s:i,s:s,s:[O]}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX,
					     "manifests", mdesc);
	cleanup_free char *text = json_dumps(idx, JSON_COMPACT | JSON_SORT_KEYS);
	cleanup_free char *lp = xasprintf("%s/oci-layout", dir);
	cleanup_free char *ip = xasprintf("%s/index.json", dir);
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (strata_atomic_write(lp, layout, sizeof(layout) - 1, 0644, err) < 0 ||
	    strata_atomic_write(ip, text, strlen(text), 0644, err) < 0)
		return strata_error_wrap(err, "--cache-to type=local,dest=%s", dir);
	out->digest = xstrdup(json_string_value(json_object_get(mdesc, "digest")));
	return 0;
}
