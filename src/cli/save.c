#include "cli/buildremote.h"
#include "cli/cli_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata save -o FILE [OPTIONS] REF...\n"
		   "\n"
		   "Write images to a tar archive (written atomically; every blob is verified).\n"
		   "\n"
		   "Options:\n"
		   "  -o, --output FILE     the archive to write (required; '-' writes standard output)\n"
		   "      --format FORMAT   docker-archive (default, as 'docker save' writes it)\n"
		   "                        or oci (a tar of an OCI image layout, refs annotated)\n"
		   "  -h, --help            show this help\n");
}

struct out {
	struct archive *a;
	const char *file;
	json_t *written; /* set of paths already in the archive */
};

static int arc_err(struct out *o, struct strata_error **err)
{
	return strata_error_make(err, 0, "write '%s': %s", o->file, archive_error_string(o->a));
}

static int add_header(struct out *o, const char *path, int64_t size, bool dir, struct strata_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	int r = archive_write_header(o->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return arc_err(o, err);
	json_object_set_new(o->written, path, json_true());
	return 0;
}

static int add_dir(struct out *o, const char *path, struct strata_error **err)
{
	if (json_object_get(o->written, path))
		return 0;
	return add_header(o, path, 0, true, err);
}

static int add_bytes(struct out *o, const char *path, const void *p, size_t n, struct strata_error **err)
{
	if (json_object_get(o->written, path))
		return 0;
	if (add_header(o, path, (int64_t)n, false, err) < 0)
		return -1;
	if (n && archive_write_data(o->a, p, n) != (la_ssize_t)n)
		return arc_err(o, err);
	return 0;
}

/* Copy a blob into the archive, verifying its digest on the way. */
static int add_blob(struct out *o, struct store *s, const struct oci_digest *d, const char *path,
		    struct strata_error **err)
{
	if (json_object_get(o->written, path))
		return 0;
	int64_t size = 0;
	cleanup_close int fd = store_blob_open(s, d, &size, err);
	if (fd < 0)
		return -1;
	if (add_header(o, path, size, false, err) < 0)
		return -1;
	struct oci_verifier v;
	oci_verifier_init(&v, d);
	cleanup_free char *buf = xmalloc(1 << 16);
	int64_t left = size;
	while (left > 0) {
		ssize_t r = strata_read_full(fd, buf, 1 << 16, d->str, err);
		if (r <= 0) {
			oci_verifier_release(&v);
			return r < 0 ? -1 : strata_error_make(err, 0, "blob '%s' shrank while being read", d->str);
		}
		if (r > left)
			r = (ssize_t)left;
		oci_verifier_update(&v, buf, (size_t)r);
		if (archive_write_data(o->a, buf, (size_t)r) != r) {
			oci_verifier_release(&v);
			return arc_err(o, err);
		}
		left -= r;
	}
	if (oci_verifier_final(&v, err) < 0) {
		cleanup_free char *p = store_blob_path(s, d);
		return strata_error_wrap(err, "blob '%s' is corrupt", p);
	}
	return 0;
}

struct img {
	struct store_entry e;
	struct store_image im;
	char *name; /* full name when REF was a tag, else NULL */
};

static int save_docker(struct out *o, struct store *s, struct img *imgs, size_t n, struct strata_error **err)
{
	cleanup_json json_t *manifest = json_array();
	cleanup_json json_t *repos = json_object();
	for (size_t i = 0; i < n; i++) {
		struct store_image *im = &imgs[i].im;
		const char *chex = im->manifest.config.digest.hex;
		/* one manifest.json entry per image: merge tags of the same image */
		json_t *ent = NULL;
		size_t idx;
		json_t *x;
		cleanup_free char *cfgname = xasprintf("%s.json", chex);
		json_array_foreach(manifest, idx, x) {
			if (!strcmp(json_string_value(json_object_get(x, "Config")), cfgname))
				ent = x;
		}
		if (!ent) {
			if (add_bytes(o, cfgname, im->config_raw, im->config_len, err) < 0)
				return -1;
			json_t *layers = json_array();
			for (size_t l = 0; l < im->manifest.n_layers; l++) {
				const struct oci_digest *ld = &im->manifest.layers[l].digest;
				cleanup_free char *dir = xasprintf("%s/", ld->hex);
				cleanup_free char *path = xasprintf("%s/layer.tar", ld->hex);
				if (add_dir(o, dir, err) < 0 || add_blob(o, s, ld, path, err) < 0) {
					json_decref(layers);
					return -1;
				}
				json_array_append_new(layers, json_string(path));
			}
			ent = json_pack("{s:s, s:[], s:o}", "Config", cfgname, "RepoTags", "Layers", layers);
			json_array_append_new(manifest, ent);
		}
		if (imgs[i].name) {
			struct oci_ref r = OCI_REF_INIT;
			if (oci_ref_parse(imgs[i].name, &r, err) < 0)
				return -1;
			cleanup_free char *fam = oci_ref_familiar(&r);
			json_array_append_new(json_object_get(ent, "RepoTags"), json_string(fam));
			if (im->manifest.n_layers) {
				char *tag = STRATA_STEAL(r.tag);
				cleanup_free char *repo = oci_ref_familiar(&r);
				json_t *rt = json_object_get(repos, repo);
				if (!rt) {
					rt = json_object();
					json_object_set_new(repos, repo, rt);
				}
				json_object_set_new(rt, tag,
						    json_string(im->manifest.layers[im->manifest.n_layers - 1].digest.hex));
				free(tag);
			}
			oci_ref_release(&r);
		}
	}
	size_t len;
	cleanup_free char *mtext = strata_json_dump(manifest, &len);
	if (add_bytes(o, "manifest.json", mtext, len, err) < 0)
		return -1;
	cleanup_free char *rtext = strata_json_dump(repos, &len);
	return add_bytes(o, "repositories", rtext, len, err);
}

static int oci_blob(struct out *o, struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	cleanup_free char *path = xasprintf("blobs/sha256/%s", d->hex);
	return add_blob(o, s, d, path, err);
}

static int oci_tree(struct out *o, struct store *s, const struct oci_digest *d, const char *mt, int depth,
		    struct strata_error **err);

struct tree_ctx {
	struct out *o;
	struct store *s;
	int depth;
};

static int tree_child(void *ctx, const struct oci_descriptor *child, enum store_child role,
		      struct strata_error **err)
{
	struct tree_ctx *t = ctx;
	switch (role) {
	case STORE_CHILD_MANIFEST:
		if (!store_blob_exists(t->s, &child->digest))
			return 0;
		return oci_tree(t->o, t->s, &child->digest, child->media_type, t->depth + 1, err);
	case STORE_CHILD_SUBJECT:
		return 0;
	default:
		return oci_blob(t->o, t->s, &child->digest, err);
	}
}

/* The whole tree under a manifest or index (children of an index that are not in the store are skipped). */
static int oci_tree(struct out *o, struct store *s, const struct oci_digest *d, const char *mt, int depth,
		    struct strata_error **err)
{
	if (depth > 8)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': indexes nested too deep", d->str);
	if (oci_blob(o, s, d, err) < 0)
		return -1;
	struct tree_ctx t = { .o = o, .s = s, .depth = depth };
	return store_manifest_children(s, d, mt, tree_child, &t, err);
}

static int save_oci(struct out *o, struct store *s, struct img *imgs, size_t n, struct strata_error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (add_bytes(o, "oci-layout", layout, strlen(layout), err) < 0 || add_dir(o, "blobs/", err) < 0 ||
	    add_dir(o, "blobs/sha256/", err) < 0)
		return -1;
	cleanup_json json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct store_entry *e = &imgs[i].e;
		if (oci_tree(o, s, &e->digest, e->media_type, 0, err) < 0)
			return -1;
		json_t *d = oci_descriptor_new(e->media_type, e->digest.str, e->size);
		if (imgs[i].name)
			json_object_set_new(d, "annotations", json_pack("{s:s}", STORE_REF_ANNOTATION, imgs[i].name));
		json_array_append_new(list, d);
	}
	cleanup_json json_t *index = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX,
					       "manifests", list);
	size_t len;
	cleanup_free char *text = strata_json_dump(index, &len);
	return add_bytes(o, "index.json", text, len, err);
}

int cli_save_archive(const char *file, bool oci, char **refs, size_t n, struct strata_error **err)
{
	/* layers a cached build left in a registry are needed in the archive */
	cleanup_free char *root = cli_store_root();
	for (size_t i = 0; i < n; i++) {
		if (cli_fetch_remote_layers(root, refs[i], stderr, err) < 0)
			return strata_error_wrap(err, "save '%s'", refs[i]);
	}
	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	struct img *imgs = xcalloc(n, sizeof(*imgs));
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = store_resolve(s, refs[i], &imgs[i].e, err);
		if (r == 0) {
			imgs[i].name = imgs[i].e.name ? xstrdup(imgs[i].e.name) : NULL;
			r = store_image_load(s, &imgs[i].e.digest, &imgs[i].im, err);
		}
		if (r < 0)
			strata_error_wrap(err, "save '%s'", refs[i]);
	}
	struct strata_atomic at = STRATA_ATOMIC_INIT;
	bool to_stdout = !strcmp(file, "-");
	struct out o = { NULL, to_stdout ? "standard output" : file, json_object() };
	if (r == 0 && !to_stdout)
		r = strata_atomic_open(&at, file, 0644, err);
	if (r == 0) {
		o.a = archive_write_new();
		archive_write_set_format_pax_restricted(o.a);
		if (archive_write_open_fd(o.a, to_stdout ? STDOUT_FILENO : at.fd) != ARCHIVE_OK)
			r = arc_err(&o, err);
		if (r == 0)
			r = oci ? save_oci(&o, s, imgs, n, err) : save_docker(&o, s, imgs, n, err);
		if (r == 0 && archive_write_close(o.a) != ARCHIVE_OK)
			r = arc_err(&o, err);
		archive_write_free(o.a);
		if (r == 0 && !to_stdout)
			r = strata_atomic_commit(&at, err);
	}
	strata_atomic_abort(&at);
	json_decref(o.written);
	for (size_t i = 0; i < n; i++) {
		store_entry_release(&imgs[i].e);
		free(imgs[i].name);
		store_image_release(&imgs[i].im);
	}
	free(imgs);
	store_close(s);
	return r;
}

static int cmd_save(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *format = "docker-archive";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': file = optarg; break;
		case 'F': format = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_option_error("save", argv, "+o:h", opts);
		}
	}
	bool oci = !strcmp(format, "oci") || !strcmp(format, "oci-archive");
	if (!oci && strcmp(format, "docker-archive") && strcmp(format, "docker"))
		return cli_usage_error("save", "--format must be docker-archive or oci, not '%s'", format);
	if (!file)
		return cli_usage_error("save", "needs -o FILE");
	if (!strcmp(file, "-") && isatty(STDOUT_FILENO))
		return cli_usage_error("save", "refusing to write an archive to a terminal: redirect standard output");
	if (optind >= argc)
		return cli_usage_error("save", "needs at least one REF");
	struct strata_error *err = NULL;
	return cli_save_archive(file, oci, argv + optind, (size_t)(argc - optind), &err) < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(save, "save", "Save images to a docker or OCI archive", cmd_save);
