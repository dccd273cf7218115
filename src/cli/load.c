#include "cli/cli_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/*
 * strata load: read the whole archive first, every file into a verified
 * (not yet published) blob writer; check everything; only then publish the
 * blobs and update index.json. A truncated or corrupt archive therefore
 * leaves the store exactly as it was.
 */

#define KEEP_MAX (4u << 20) /* files kept in memory too (metadata, manifests, configs) */

struct file {
	char *name;
	struct store_blob_writer *w;
	struct oci_digest d;
	int64_t size;
	struct strata_buf mem; /* the content when size <= KEEP_MAX */
	bool in_mem;
	bool needed; /* a blob of the image(s): published; other files are not */
	bool gzip;   /* content is gzip: udigest is the digest of the decompressed bytes */
	bool gz_ok;  /* the gzip stream decoded cleanly to its end */
	struct oci_digest udigest;
};

/* Hash the decompressed bytes of a gzip file while it streams by (docker archive layers). */
struct gunzip_hash {
	z_stream z;
	struct strata_hash h;
	bool active, ended, bad;
	unsigned char out[1 << 16];
};

static void gz_feed(struct gunzip_hash *g, const void *p, size_t n)
{
	if (!g->active || g->bad)
		return;
	g->z.next_in = (unsigned char *)p;
	g->z.avail_in = (uInt)n;
	while (g->z.avail_in > 0) {
		if (g->ended) {
			/* concatenated members */
			inflateReset(&g->z);
			g->ended = false;
		}
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		int zr = inflate(&g->z, Z_NO_FLUSH);
		strata_hash_update(&g->h, g->out, sizeof(g->out) - g->z.avail_out);
		if (zr == Z_STREAM_END) {
			g->ended = true;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			g->bad = true;
			return;
		}
	}
	/* drain pending output */
	while (!g->ended) {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		int zr = inflate(&g->z, Z_NO_FLUSH);
		size_t got = sizeof(g->out) - g->z.avail_out;
		strata_hash_update(&g->h, g->out, got);
		if (zr == Z_STREAM_END)
			g->ended = true;
		if (got == 0 || (zr != Z_OK && zr != Z_STREAM_END))
			break;
	}
}

struct load {
	const char *path;
	struct store *s;
	struct file *f;
	size_t n, cap;
	json_t *tags;     /* array of [name-or-null, mediaType, digest, size] */
	/* a build context (cli_load_layout): no tags, nothing printed, one
	 * image chosen by select ("" / "TAG" / "@DIGEST") for platform */
	bool context;
	const char *select;
	const struct oci_platform *platform;
	struct oci_digest chosen;
	bool have_chosen;
};

static void load_release(struct load *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->f[i].name);
		store_blob_writer_abort(l->f[i].w);
		strata_buf_release(&l->f[i].mem);
	}
	free(l->f);
	if (l->tags)
		json_decref(l->tags);
}

static struct file *find(struct load *l, const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	for (size_t i = l->n; i-- > 0;)
		if (!strcmp(l->f[i].name, name))
			return &l->f[i];
	return NULL;
}

static int read_archive(struct load *l, struct strata_error **err)
{
	cleanup_free char *buf = xmalloc(1 << 16);
	struct gunzip_hash *gz = xcalloc(1, sizeof(*gz));
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	int r = 0;
	struct stat dst;
	bool dir = strcmp(l->path, "-") && stat(l->path, &dst) == 0 && S_ISDIR(dst.st_mode);
	size_t dlen = strlen(l->path);
	while (dlen > 1 && l->path[dlen - 1] == '/')
		dlen--;
	struct archive_entry *de = NULL;
	if (dir) {
		/* an OCI layout (or an unpacked docker archive) as a directory:
		 * the same entries, read from the disk (symlinks not followed) */
		archive_read_free(a);
		a = archive_read_disk_new();
		archive_read_disk_set_symlink_physical(a);
		de = archive_entry_new();
		if (archive_read_disk_open(a, l->path) != ARCHIVE_OK) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "open '%s': %s", l->path,
					       archive_error_string(a));
			goto out;
		}
	} else if (archive_read_open_filename(a, strcmp(l->path, "-") ? l->path : NULL, 1 << 16) != ARCHIVE_OK) {
		r = strata_error_makec(err, STRATA_E_INVALID, 0, "open '%s': %s", l->path, archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e = de;
		int hr = dir ? archive_read_next_header2(a, de) : archive_read_next_header(a, &e);
		if (hr == ARCHIVE_EOF)
			break;
		if (hr < ARCHIVE_WARN) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': truncated or corrupt archive: %s",
					       l->path, archive_error_string(a));
			goto out;
		}
		if (dir && archive_read_disk_can_descend(a))
			archive_read_disk_descend(a);
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		const char *name = archive_entry_pathname(e);
		if (dir) {
			/* "<path>/blobs/..." -> "blobs/..." */
			if (strncmp(name, l->path, dlen) || name[dlen] != '/')
				continue;
			name += dlen + 1;
		}
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->f = xreallocarray(l->f, l->cap, sizeof(*l->f));
		}
		struct file *f = &l->f[l->n++];
		memset(f, 0, sizeof(*f));
		f->name = xstrdup(name);
		strata_buf_init(&f->mem, KEEP_MAX);
		f->in_mem = true;
		if (store_blob_writer_open(l->s, NULL, -1, &f->w, err) < 0) {
			r = -1;
			goto out;
		}
		bool first = true;
		for (;;) {
			la_ssize_t k = archive_read_data(a, buf, 1 << 16);
			if (k == 0)
				break;
			if (k < 0) {
				r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': %s: truncated or corrupt archive: %s",
						       l->path, f->name, archive_error_string(a));
				goto out;
			}
			if (first && k >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b &&
			    inflateInit2(&gz->z, 15 + 16) == Z_OK) {
				gz->active = true;
				gz->ended = gz->bad = false;
				strata_hash_init(&gz->h, STRATA_HASH_SHA256);
			}
			first = false;
			gz_feed(gz, buf, (size_t)k);
			if (store_blob_writer_write(f->w, buf, (size_t)k, err) < 0) {
				r = -1;
				goto out;
			}
			if (f->in_mem && strata_buf_add(&f->mem, buf, (size_t)k) < 0) {
				f->in_mem = false;
				strata_buf_release(&f->mem);
			}
		}
		if (gz->active) {
			char hex[STRATA_HASH_HEX_MAX];
			strata_hash_final(&gz->h, hex);
			oci_digest_from_hex(&f->udigest, STRATA_HASH_SHA256, hex);
			f->gzip = true;
			f->gz_ok = gz->ended && !gz->bad;
			inflateEnd(&gz->z);
			gz->active = false;
		}
		if (store_blob_writer_finish(f->w, &f->d, &f->size, err) < 0) {
			r = -1;
			goto out;
		}
	}
out:
	if (gz->active) {
		strata_hash_release(&gz->h);
		inflateEnd(&gz->z);
	}
	free(gz);
	if (de)
		archive_entry_free(de);
	archive_read_free(a);
	return r;
}

/* Content of a small JSON file in the archive or, failing that, in the store. */
static int json_of(struct load *l, const struct oci_digest *d, const char *what, struct strata_buf *out,
		   struct strata_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->f[i].d.str, d->str)) {
			if (!l->f[i].in_mem)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: too large", what);
			return strata_buf_add(out, l->f[i].mem.data, l->f[i].mem.len);
		}
	}
	if (store_blob_read(l->s, d, STORE_JSON_MAX, out, err) < 0)
		return strata_error_wrap(err, "%s: not in the archive", what);
	return 0;
}

static bool have_blob(struct load *l, const struct oci_digest *d)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->f[i].d.str, d->str))
			return true;
	return store_blob_exists(l->s, d);
}

/* descriptor d (the ROLE of WHAT) names a blob of the archive of its size, or one the store has */
static int check_desc(struct load *l, const struct oci_descriptor *d, const char *what, const char *role,
		      struct strata_error **err)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->f[i].d.str, d->digest.str)) {
			if (l->f[i].size == d->size)
				return 0;
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "%s: %s %s: size %" PRId64 " in the descriptor, the blob has %" PRId64,
						  what, role, d->digest.str, d->size, l->f[i].size);
		}
	if (store_blob_exists(l->s, &d->digest))
		return 0;
	return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: %s %s is missing", what, role, d->digest.str);
}

static int add_tag(struct load *l, const char *name, const char *mt, const struct oci_digest *d, int64_t size,
		   struct strata_error **err)
{
	json_t *name_j = json_null();
	if (name) {
		struct oci_ref r = OCI_REF_INIT;
		if (oci_ref_parse(name, &r, err) < 0)
			return strata_error_wrap(err, "'%s'", l->path);
		if (r.digest) {
			oci_ref_release(&r);
			return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': tag '%s' has a digest", l->path, name);
		}
		cleanup_free char *full = oci_ref_string(&r);
		name_j = json_string(full);
		oci_ref_release(&r);
	}
	json_array_append_new(l->tags, json_pack("[o, s, s, I]", name_j, mt, d->str, (json_int_t)size));
	return 0;
}

/* Every "blobs/<alg>/<hex>" file (OCI layouts, and docker 25+ archives) must hash to its name. */
static int check_blob_names(struct load *l, struct strata_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *n = l->f[i].name;
		if (strncmp(n, "blobs/", 6))
			continue;
		cleanup_free char *want = xstrdup(n + 6);
		char *slash = strchr(want, '/');
		if (!slash)
			continue;
		*slash = ':';
		if (strcmp(want, l->f[i].d.str))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': %s: digest mismatch: content is %s",
						  l->path, n, l->f[i].d.str);
	}
	return 0;
}

/*
 * --build-context NAME=oci-layout://PATH[:TAG|@DIGEST]: does index.json
 * entry d (named name) answer l->select? "@sha256:..." is a digest; a TAG
 * matches a bare ref.name ("v1") or the tag of a full one ("repo:v1"); with
 * neither, the only entry, else "latest".
 */
static bool context_match(const struct load *l, const struct oci_descriptor *d, const char *name, size_t n)
{
	const char *sel = l->select;
	if (sel[0] == '@')
		return !strcmp(sel + 1, d->digest.str);
	if (!sel[0] && n == 1)
		return true;
	const char *want = sel[0] ? sel : "latest";
	if (!name)
		return false;
	if (!strcmp(name, want))
		return true;
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(slash ? slash : name, ':');
	return colon && !strcmp(colon + 1, want);
}

/* The chosen entry is an index: its manifest for l->platform (in the layout). */
static int context_platform(struct load *l, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	cleanup_free char *what = xasprintf("%s: %s", l->path, l->chosen.str);
	if (json_of(l, &l->chosen, what, &b, err) < 0)
		return -1;
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(b.data, b.len, what, &j, err) < 0)
		return -1;
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (!mt || !oci_mt_is_index(mt))
		return 0;
	cleanup_index struct oci_index x;
	if (oci_index_from_json(j, what, &x, err) < 0)
		return -1;
	ssize_t k = oci_index_select(&x, l->platform);
	if (k < 0) {
		cleanup_free char *p = oci_platform_string(l->platform);
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "%s: no manifest for platform %s", what, p);
	}
	l->chosen = x.manifests[k].digest;
	if (!have_blob(l, &l->chosen))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: manifest %s is missing", what, l->chosen.str);
	return 0;
}

/* ---- docker-archive ---- */

static struct file *docker_file(struct load *l, const json_t *v, const char *field, struct strata_error **err)
{
	const char *n = json_string_value(v);
	if (!n) {
		strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': manifest.json: %s must be a string", l->path, field);
		return NULL;
	}
	struct file *f = find(l, n);
	if (!f)
		strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': manifest.json: %s '%s' is not in the archive",
				   l->path, field, n);
	return f;
}

static bool is_hex_json(const char *name, const char *hex)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	size_t n = strlen(b);
	if (n != 69 || strcmp(b + 64, ".json"))
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)b[i]))
			return false;
	(void)hex;
	return true;
}

static int check_docker(struct load *l, struct file *mf, json_t *manifests_out, struct strata_error **err)
{
	cleanup_json json_t *j = NULL;
	cleanup_free char *what = xasprintf("%s: manifest.json", l->path);
	if (!mf->in_mem)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: too large", what);
	if (strata_json_parse(mf->mem.data, mf->mem.len, what, &j, err) < 0)
		return -1;
	if (!json_is_array(j))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be an array", what);
	size_t i;
	json_t *it;
	json_array_foreach(j, i, it) {
		cleanup_free char *w = xasprintf("%s[%zu]", what, i);
		json_t *layers = NULL, *tags = NULL;
		if (strata_json_get_array(it, "Layers", true, w, &layers, err) < 0 ||
		    strata_json_get_array(it, "RepoTags", false, w, &tags, err) < 0)
			return -1;
		struct file *cf = docker_file(l, json_object_get(it, "Config"), "Config", err);
		if (!cf)
			return -1;
		if (is_hex_json(cf->name, NULL) && strncmp(strrchr(cf->name, '/') ? strrchr(cf->name, '/') + 1 : cf->name,
							   cf->d.hex, 64))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': %s: digest mismatch: content is %s",
						  l->path, cf->name, cf->d.str);
		if (!cf->in_mem)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': %s: too large", l->path, cf->name);
		cf->needed = true;
		struct oci_config cfg;
		cleanup_free char *cw = xasprintf("%s: %s", l->path, cf->name);
		if (oci_config_decode(cf->mem.data, cf->mem.len, cw, &cfg, err) < 0)
			return -1;
		size_t nl = json_array_size(layers);
		int r = 0;
		if (nl != cfg.n_diff_ids)
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "%s: %zu layers but the config has %zu diff_ids",
					       w, nl, cfg.n_diff_ids);
		json_t *ldesc = json_array();
		for (size_t k = 0; k < nl && r == 0; k++) {
			struct file *lf = docker_file(l, json_array_get(layers, k), "Layers", err);
			if (!lf) {
				r = -1;
				break;
			}
			const char *lmt = OCI_MT_LAYER;
			if (lf->gzip && lf->gz_ok && !strcmp(lf->udigest.str, cfg.diff_ids[k].str)) {
				lmt = OCI_MT_LAYER_GZIP;
			} else if (strcmp(lf->d.str, cfg.diff_ids[k].str)) {
				r = strata_error_makec(err, STRATA_E_INVALID, 0,
						       "'%s': %s: digest mismatch: %scontent is %s, the config's diff_id is %s",
						       l->path, lf->name, lf->gzip ? "uncompressed " : "",
						       lf->gzip ? lf->udigest.str : lf->d.str, cfg.diff_ids[k].str);
				break;
			}
			lf->needed = true;
			json_array_append_new(ldesc, oci_descriptor_new(lmt, lf->d.str, lf->size));
		}
		oci_config_release(&cfg);
		if (r < 0) {
			json_decref(ldesc);
			return -1;
		}
		json_t *man = oci_manifest_new(oci_descriptor_new(OCI_MT_CONFIG, cf->d.str, cf->size), ldesc);
		size_t len;
		char *text = strata_json_dump(man, &len);
		json_decref(man);
		struct oci_digest md;
		oci_digest_of(&md, text, len);
		json_array_append_new(manifests_out, json_stringn(text, len));
		free(text);
		size_t t;
		json_t *tv;
		bool any = false;
		json_array_foreach(tags, t, tv) {
			if (!json_is_string(tv))
				return strata_error_makec(err, STRATA_E_INVALID, 0, "%s.RepoTags[%zu]: must be a string", w, t);
			if (add_tag(l, json_string_value(tv), OCI_MT_MANIFEST, &md, (int64_t)len, err) < 0)
				return -1;
			any = true;
		}
		if (!any && add_tag(l, NULL, OCI_MT_MANIFEST, &md, (int64_t)len, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- OCI archive ---- */

static int check_oci(struct load *l, struct file *idx, struct strata_error **err)
{
	struct file *lay = find(l, "oci-layout");
	if (!lay || !lay->in_mem)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': not an OCI archive: no oci-layout", l->path);
	for (size_t i = 0; i < l->n; i++)
		if (!strncmp(l->f[i].name, "blobs/", 6))
			l->f[i].needed = true;
	if (!idx->in_mem)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': index.json: too large", l->path);
	cleanup_free char *what = xasprintf("%s: index.json", l->path);
	struct oci_index x;
	if (oci_index_decode(idx->mem.data, idx->mem.len, what, &x, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < x.n_manifests && r == 0; i++) {
		struct oci_descriptor *d = &x.manifests[i];
		cleanup_free char *mw = xasprintf("%s: manifests[%zu] %s", what, i, d->digest.str);
		if (!oci_mt_is_manifest(d->media_type) && !oci_mt_is_index(d->media_type)) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "%s: media type '%s' is not a manifest", mw,
					       d->media_type);
			break;
		}
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		if ((r = json_of(l, &d->digest, mw, &b, err)) < 0)
			break;
		if ((int64_t)b.len != d->size) {
			r = strata_error_makec(err, STRATA_E_INVALID, 0, "%s: size %" PRId64 " in the descriptor, the blob has %zu",
					       mw, d->size, b.len);
			break;
		}
		if (oci_mt_is_manifest(d->media_type)) {
			struct oci_manifest m;
			if ((r = oci_manifest_decode(b.data, b.len, mw, &m, err)) < 0)
				break;
			r = check_desc(l, &m.config, mw, "config", err);
			for (size_t k = 0; k < m.n_layers && r == 0; k++)
				r = check_desc(l, &m.layers[k], mw, "layer", err);
			oci_manifest_release(&m);
		} else {
			struct oci_index sub;
			if ((r = oci_index_decode(b.data, b.len, mw, &sub, err)) == 0)
				oci_index_release(&sub);
		}
		if (r < 0)
			break;
		const char *name = oci_descriptor_annotation(d, STORE_REF_ANNOTATION);
		if (l->context) {
			if (!l->have_chosen && context_match(l, d, name, x.n_manifests)) {
				l->chosen = d->digest;
				l->have_chosen = true;
			}
			continue;
		}
		/* a bare tag ("latest") names no repository: keep the image untagged */
		if (name && !strchr(name, '/') && !strchr(name, ':'))
			name = NULL;
		r = add_tag(l, name, d->media_type, &d->digest, d->size, err);
	}
	oci_index_release(&x);
	return r;
}

static int publish(struct load *l, json_t *manifests, struct strata_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!l->f[i].needed)
			continue;
		struct store_blob_writer *w = STRATA_STEAL(l->f[i].w);
		if (store_blob_writer_commit(w, NULL, NULL, err) < 0)
			return -1;
	}
	if (l->context) {
		/* untagged, so that the store keeps it (prune sees an image) */
		cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
		if (store_blob_read(l->s, &l->chosen, STORE_JSON_MAX, &b, err) < 0)
			return -1;
		const char *mt = OCI_MT_MANIFEST;
		cleanup_json json_t *j = NULL;
		if (strata_json_parse(b.data, b.len, l->chosen.str, &j, err) < 0)
			return -1;
		if (json_string_value(json_object_get(j, "mediaType")))
			mt = json_string_value(json_object_get(j, "mediaType"));
		return store_index_add_untagged(l->s, mt, &l->chosen, (int64_t)b.len, err);
	}
	size_t i;
	json_t *m;
	json_array_foreach(manifests, i, m) {
		if (store_blob_put(l->s, json_string_value(m), json_string_length(m), NULL, NULL, err) < 0)
			return -1;
	}
	json_t *t;
	json_array_foreach(l->tags, i, t) {
		const char *name = json_string_value(json_array_get(t, 0));
		const char *mt = json_string_value(json_array_get(t, 1));
		struct oci_digest d;
		oci_digest_parse(json_string_value(json_array_get(t, 2)), &d, NULL);
		int64_t size = (int64_t)json_integer_value(json_array_get(t, 3));
		if (name) {
			cleanup_ref struct oci_ref r = OCI_REF_INIT;
			if (oci_ref_parse(name, &r, err) < 0 || store_tag_set(l->s, &r, mt, &d, size, err) < 0)
				return -1;
			cleanup_free char *f = oci_ref_familiar(&r);
			printf("Loaded image: %s\n", f);
		} else {
			if (store_index_add_untagged(l->s, mt, &d, size, err) < 0)
				return -1;
			printf("Loaded image ID: %s\n", d.str);
		}
	}
	return 0;
}

static int do_load(const char *path, struct strata_error **err)
{
	struct load l = { .path = path, .tags = json_array() };
	if (cli_store_open(&l.s, err) < 0) {
		load_release(&l);
		return -1;
	}
	cleanup_json json_t *manifests = json_array();
	int r = read_archive(&l, err);
	if (r == 0)
		r = check_blob_names(&l, err);
	if (r == 0) {
		struct file *mf = find(&l, "manifest.json"), *idx = find(&l, "index.json");
		if (mf)
			r = check_docker(&l, mf, manifests, err);
		else if (idx)
			r = check_oci(&l, idx, err);
		else
			r = strata_error_makec(err, STRATA_E_INVALID, 0,
					       "'%s' is neither a docker archive (no manifest.json) nor an OCI archive "
					       "(no index.json)", path);
	}
	if (r == 0)
		r = publish(&l, manifests, err);
	load_release(&l);
	store_close(l.s);
	return r;
}

int cli_load_layout(const char *spec, const struct oci_platform *platform, struct oci_digest *manifest,
		    struct strata_error **err)
{
	/* PATH[:TAG|@DIGEST]: a tag is what follows the last ':' after the last '/' */
	cleanup_free char *path = xstrdup(spec);
	const char *select = "";
	char *at = strrchr(path, '@');
	char *slash = strrchr(path, '/');
	char *colon = strrchr(slash ? slash : path, ':');
	if (at && (!slash || at > slash)) {
		*at = 0;
		select = spec + (at - path);
		if (!oci_digest_valid(select + 1))
			return strata_error_makec(err, STRATA_E_USAGE, 0, "oci-layout://%s: '%s' is not a digest", spec,
						  select + 1);
	} else if (colon && colon != path) {
		*colon = 0;
		select = spec + (colon - path) + 1;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return strata_error_makec(err, STRATA_E_USAGE, 0, "oci-layout://%s: no directory '%s'", spec, path);
	struct load l = { .path = path, .tags = json_array(), .context = true, .select = select,
			  .platform = platform };
	if (cli_store_open(&l.s, err) < 0) {
		load_release(&l);
		return -1;
	}
	int r = read_archive(&l, err);
	if (r == 0)
		r = check_blob_names(&l, err);
	struct file *idx = r == 0 ? find(&l, "index.json") : NULL;
	if (r == 0 && !idx)
		r = strata_error_makec(err, STRATA_E_INVALID, 0, "'%s' is not an OCI layout: no index.json", path);
	if (r == 0)
		r = check_oci(&l, idx, err);
	if (r == 0 && !l.have_chosen)
		r = strata_error_makec(err, STRATA_E_NOTFOUND, 0, "'%s': no image %s%s in index.json", path,
				       select[0] == '@' ? "" : "tagged ", select[0] ? select + (select[0] == '@') :
				       "latest (name one: oci-layout://PATH:TAG or @DIGEST)");
	if (r == 0)
		r = context_platform(&l, err);
	if (r == 0)
		r = publish(&l, NULL, err);
	if (r == 0)
		*manifest = l.chosen;
	load_release(&l);
	store_close(l.s);
	return r;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': file = optarg; break;
		case 'h':
			printf("Usage: strata load -i FILE\n"
			       "\n"
			       "Load images from a docker archive or an OCI archive (detected; may be\n"
			       "compressed), or from an OCI layout directory. Every digest is verified;\n"
			       "nothing is stored unless the whole archive is valid.\n"
			       "\n"
			       "Options:\n"
			       "  -i, --input FILE   the archive or layout directory ('-' for standard input;\n"
			       "                     required)\n"
			       "  -h, --help         show this help\n");
			return EXIT_OK;
		default: return cli_option_error("load", argv, "+i:h", opts);
		}
	}
	if (!file)
		return cli_usage_error("load", "needs -i FILE");
	if (optind != argc)
		return cli_usage_error("load", "takes no arguments besides -i FILE");
	struct strata_error *err = NULL;
	return do_load(file, &err) < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(load, "load", "Load images from a docker or OCI archive", cmd_load);
