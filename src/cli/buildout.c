/*
 * buildout.c — what `strata build` does with the image besides keeping it
 * in the store: buildx's -o/--output exporters and --metadata-file
 * (buildout.h).
 */
#include "cli/buildout.h"
#include "cli/buildremote.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "layer/layer.h"
#include "store/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void cli_build_output_release(struct cli_build_output *o)
{
	free(o->dest);
	for (size_t i = 0; i < o->nnames; i++)
		free(o->names[i]);
	free(o->names);
	memset(o, 0, sizeof(*o));
}

static bool truthy(const char *v)
{
	return !v || !strcmp(v, "true") || !strcmp(v, "1");
}

int cli_build_output_parse(const char *spec, struct cli_build_output *o, struct strata_error **err)
{
	static const char *const ignored[] = { "compression", "compression-level", "force-compression", "oci-mediatypes",
					       "oci-artifact", "unpack", "store", "dangling-name-prefix",
					       "name-canonical", "annotation", "rewrite-timestamp", "platform-split",
					       "buildinfo", "buildinfo-attrs", "attest", "tar", "context", "unpack", NULL };
	memset(o, 0, sizeof(*o));
	if (!strchr(spec, '=')) { /* buildx: -o DIR is type=local, -o - a tar on stdout */
		o->type = !strcmp(spec, "-") ? CLI_OUT_TAR : CLI_OUT_LOCAL;
		o->dest = xstrdup(spec);
		return 0;
	}
	cleanup_free char *copy = xstrdup(spec);
	cleanup_free char *type = NULL;
	char *save = NULL;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		if (!eq) {
			cli_build_output_release(o);
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--output '%s': expected KEY=VALUE, got '%s'", spec,
						  p);
		}
		*eq = '\0';
		const char *v = eq + 1;
		bool skip = false;
		for (size_t i = 0; ignored[i]; i++)
			skip = skip || !strcmp(p, ignored[i]);
		if (skip)
			continue;
		if (!strcmp(p, "type") && !type) {
			type = xstrdup(v);
		} else if (!strcmp(p, "dest") && !o->dest) {
			o->dest = xstrdup(v);
		} else if (!strcmp(p, "name")) {
			o->names = xreallocarray(o->names, o->nnames + 1, sizeof(*o->names));
			o->names[o->nnames++] = xstrdup(v);
		} else if (!strcmp(p, "push")) {
			o->push = truthy(v);
		} else {
			cli_build_output_release(o);
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--output '%s': unknown key '%s'", spec, p);
		}
	}
	static const struct {
		const char *name;
		enum cli_output_type type;
		bool needs_dest;
	} types[] = {
		{ "oci", CLI_OUT_OCI, true },          { "docker", CLI_OUT_DOCKER, true }, { "tar", CLI_OUT_TAR, true },
		{ "local", CLI_OUT_LOCAL, true },      { "registry", CLI_OUT_IMAGE, false },
		{ "image", CLI_OUT_IMAGE, false },
	};
	for (size_t i = 0; type && i < STRATA_ARRAY_SIZE(types); i++) {
		if (strcmp(type, types[i].name))
			continue;
		o->type = types[i].type;
		if (!strcmp(type, "registry"))
			o->push = true;
		if (types[i].needs_dest && !o->dest && o->type != CLI_OUT_DOCKER) {
			cli_build_output_release(o);
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--output '%s': type=%s needs dest=PATH", spec,
						  types[i].name);
		}
		if (o->push && !o->nnames) {
			cli_build_output_release(o);
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--output '%s': pushing needs name=REF", spec);
		}
		return 0;
	}
	cli_build_output_release(o);
	return strata_error_makec(err, STRATA_E_USAGE, 0,
				  "--output '%s': type must be oci, docker, tar, local, image or registry", spec);
}

/* The image's filesystem, every layer applied in order, into dir (which must not exist). */
static int export_rootfs(struct store *s, const struct store_image *img, const char *dir, struct strata_error **err)
{
	for (size_t i = 0; i < img->manifest.n_layers; i++) {
		const struct oci_descriptor *l = &img->manifest.layers[i];
		cleanup_close int fd = store_blob_open(s, &l->digest, NULL, err);
		if (fd < 0)
			return -1;
		struct layer_apply_opts ao = {
			.media_type = l->media_type,
			.digest = l->digest.str,
			.diff_id = i < img->config.n_diff_ids ? img->config.diff_ids[i].str : NULL,
			.devices = geteuid() == 0 ? LAYER_DEVICES_CREATE : LAYER_DEVICES_SKIP,
			.no_chown = geteuid() != 0,
		};
		if (layer_apply_fd(fd, dir, &ao, NULL, err) < 0)
			return strata_error_wrap(err, "layer %s", l->digest.str);
	}
	if (!img->manifest.n_layers && strata_mkdir_p(dir, 0755, err) < 0)
		return -1;
	return 0;
}

/*
 * The file system of the stored entry into dir: one image's; for a
 * multi-platform index every platform's in dir/<os>_<arch>[_<variant>]
 * (buildx's layout for type=local and type=tar).
 */
static int export_fs(struct store *s, const struct store_entry *ent, const char *dir, struct strata_error **err)
{
	struct store_image img;
	if (!ent->media_type || !oci_mt_is_index(ent->media_type)) {
		int rc = store_image_load(s, &ent->digest, &img, err) < 0 ? -1 : export_rootfs(s, &img, dir, err);
		store_image_release(&img);
		return rc;
	}
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	cleanup_index struct oci_index x = { 0 };
	if (store_blob_read(s, &ent->digest, STORE_JSON_MAX, &b, err) < 0 ||
	    oci_index_decode(b.data, b.len, ent->digest.str, &x, err) < 0 || strata_mkdir_p(dir, 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < x.n_manifests; i++) {
		const struct oci_descriptor *d = &x.manifests[i];
		if (!d->has_platform || !d->media_type || !oci_mt_is_manifest(d->media_type))
			continue;
		cleanup_free char *sub = xasprintf("%s/%s_%s%s%s", dir, d->platform.os, d->platform.architecture,
						   d->platform.variant ? "_" : "", d->platform.variant ? d->platform.variant : "");
		int rc = store_image_load(s, &d->digest, &img, err) < 0 ? -1 : export_rootfs(s, &img, sub, err);
		store_image_release(&img);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* dir as a tar (paths relative to it) on fd. */
static int tar_dir(const char *dir, int fd, const char *what, struct strata_error **err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *out = archive_write_new();
	int rc = 0;
	archive_read_disk_set_standard_lookup(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_write_set_format_pax_restricted(out);
	if (archive_write_open_fd(out, fd) != ARCHIVE_OK || archive_read_disk_open(disk, ".") != ARCHIVE_OK) {
		rc = strata_error_make(err, 0, "%s: %s", what, archive_error_string(out));
		goto done;
	}
	for (;;) {
		struct archive_entry *ae = archive_entry_new();
		int r = archive_read_next_header2(disk, ae);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(ae);
			break;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = strata_error_make(err, 0, "%s: %s", dir, archive_error_string(disk));
			archive_entry_free(ae);
			break;
		}
		archive_read_disk_descend(disk);
		const char *p = archive_entry_pathname(ae);
		if (!strcmp(p, ".")) {
			archive_entry_free(ae);
			continue;
		}
		if (!strncmp(p, "./", 2))
			archive_entry_set_pathname(ae, p + 2);
		if (archive_write_header(out, ae) != ARCHIVE_OK) {
			rc = strata_error_make(err, 0, "%s: %s", what, archive_error_string(out));
			archive_entry_free(ae);
			break;
		}
		if (archive_entry_filetype(ae) == AE_IFREG && archive_entry_size(ae) > 0) {
			cleanup_close int in = open(archive_entry_sourcepath(ae), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			char buf[65536];
			ssize_t k;
			while (in >= 0 && (k = read(in, buf, sizeof(buf))) > 0)
				if (archive_write_data(out, buf, (size_t)k) < 0) {
					rc = strata_error_make(err, 0, "%s: %s", what, archive_error_string(out));
					break;
				}
		}
		archive_entry_free(ae);
		if (rc < 0)
			break;
	}
	if (rc == 0 && archive_write_close(out) != ARCHIVE_OK)
		rc = strata_error_make(err, 0, "%s: %s", what, archive_error_string(out));
done:
	archive_read_free(disk);
	archive_write_free(out);
	return rc;
}

int cli_build_output_write(const struct cli_build_output *o, const char *ref, struct strata_error **err)
{
	if (o->type == CLI_OUT_NONE || o->type == CLI_OUT_IMAGE)
		return 0; /* the store has it; names and pushes are tags and --push */
	if (o->type == CLI_OUT_OCI || o->type == CLI_OUT_DOCKER) {
		char *refs[] = { (char *)ref };
		/* docker's default for type=docker is `docker load`: strata's store is that, so only with dest */
		if (!o->dest)
			return 0;
		return cli_save_archive(o->dest, o->type == CLI_OUT_OCI, refs, 1, err);
	}
	cleanup_free char *root = cli_store_root();
	if (cli_fetch_remote_layers(root, ref, stderr, err) < 0)
		return -1;
	struct store *s = NULL;
	struct store_entry ent = { 0 };
	cleanup_free char *tmp = NULL, *tmpdir = NULL;
	int rc = -1;
	if (cli_store_open(&s, err) < 0)
		return -1;
	if (store_resolve(s, ref, &ent, err) < 0)
		goto out;
	if (o->type == CLI_OUT_LOCAL) {
		if (strata_path_exists(o->dest)) {
			/* buildx writes into an existing directory: extract beside it, then move the entries in */
			tmp = xasprintf("%s/.strata-out-%d", o->dest, (int)getpid());
			if (export_fs(s, &ent, tmp, err) < 0)
				goto out;
			DIR *d = opendir(tmp);
			struct dirent *de;
			rc = 0;
			while (d && rc == 0 && (de = readdir(d))) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				cleanup_free char *from = xasprintf("%s/%s", tmp, de->d_name);
				cleanup_free char *to = xasprintf("%s/%s", o->dest, de->d_name);
				strata_rm_rf(to, NULL);
				if (rename(from, to) < 0)
					rc = strata_error_make(err, errno, "move '%s'", to);
			}
			if (d)
				closedir(d);
			strata_rm_rf(tmp, NULL);
			goto out;
		}
		rc = export_fs(s, &ent, o->dest, err);
		goto out;
	}
	/* CLI_OUT_TAR: the filesystem as a tar, built from a temporary extraction */
	tmpdir = xasprintf("%s/tmp", root);
	tmp = xasprintf("%s/out-%d", tmpdir, (int)getpid());
	strata_rm_rf(tmp, NULL);
	if (strata_mkdir_p(tmpdir, 0700, err) < 0 || export_fs(s, &ent, tmp, err) < 0)
		goto out;
	bool to_stdout = !strcmp(o->dest, "-");
	struct strata_atomic at = STRATA_ATOMIC_INIT;
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || (!to_stdout && strata_atomic_open(&at, o->dest, 0644, err) < 0)) {
		if (cwd >= 0)
			close(cwd);
		else
			strata_error_make(err, errno, "open the working directory");
		goto out;
	}
	if (chdir(tmp) < 0)
		rc = strata_error_make(err, errno, "chdir '%s'", tmp);
	else
		rc = tar_dir(tmp, to_stdout ? STDOUT_FILENO : at.fd, to_stdout ? "standard output" : o->dest, err);
	if (fchdir(cwd) < 0 && rc == 0)
		rc = strata_error_make(err, errno, "back to the working directory");
	close(cwd);
	if (rc == 0 && !to_stdout)
		rc = strata_atomic_commit(&at, err);
	strata_atomic_abort(&at);
out:
	if (tmp && o->type == CLI_OUT_TAR)
		strata_rm_rf(tmp, NULL);
	free(ent.name);
	free(ent.media_type);
	store_close(s);
	return rc;
}

int cli_build_metadata_write(const char *path, const struct build_result *res, const char *const *tags, size_t ntags,
			     uint64_t bytes_down, uint64_t bytes_up, struct strata_error **err)
{
	struct strata_buf names = STRATA_BUF_INIT;
	for (size_t i = 0; i < ntags; i++)
		strata_buf_addf(&names, "%s%s", i ? "," : "", tags[i]);
	cleanup_json json_t *m = json_pack("{s:s,s:{s:s,s:s}}", "containerimage.digest", res->manifest_digest.str,
					   "containerimage.descriptor", "mediaType",
					   res->index ? OCI_MT_INDEX : "application/vnd.oci.image.manifest.v1+json",
					   "digest", res->manifest_digest.str);
	if (!res->index) /* buildx names no config for a multi-platform image */
		json_object_set_new(m, "containerimage.config.digest", json_string(res->image_id.str));
	if (ntags)
		json_object_set_new(m, "image.name", json_string(names.data));
	strata_buf_release(&names);
	json_object_set_new(m, "strata.steps.cached", json_integer((json_int_t)res->steps_cached));
	json_object_set_new(m, "strata.steps.run", json_integer((json_int_t)res->steps_run));
	json_object_set_new(m, "strata.bytes.down", json_integer((json_int_t)bytes_down));
	json_object_set_new(m, "strata.bytes.up", json_integer((json_int_t)bytes_up));
	cleanup_free char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
	cleanup_free char *withnl = xasprintf("%s\n", text);
	return strata_atomic_write(path, withnl, strlen(withnl), 0644, err);
}
