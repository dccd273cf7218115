#include "cli/cli_store.h"
#include "cli/template.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata inspect [OPTIONS] REF...\n"
		   "\n"
		   "Show an image's manifest and config as JSON.\n"
		   "REF is a name[:tag], name@digest, a manifest digest or an image id prefix.\n"
		   "\n"
		   "Options:\n"
		   "  -f, --format FORMAT  json (default): an array of objects; manifest or config:\n"
		   "                       the raw stored bytes of that document (one REF); or a Go\n"
		   "                       template as docker's, one line per REF: {{.Id}} {{.RepoTags}}\n"
		   "                       {{.Created}} {{.Architecture}} {{.Os}} {{.Size}} {{.Digest}}\n"
		   "                       {{.Config.Env}} {{.Config.Cmd}} {{index .Config.Labels \"k\"}}\n"
		   "                       {{json .Config}} {{.RootFS.Layers}} ({{.Config}} is the\n"
		   "                       image config's \"config\", as docker; {{.ImageConfig}} all of it)\n"
		   "  -h, --help           show this help\n");
}

static json_t *repo_tags(struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	if (store_tag_list(s, &e, &n, err) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		if (!e[i].name || strcmp(e[i].digest.str, d->str))
			continue;
		struct oci_ref r = OCI_REF_INIT;
		if (oci_ref_parse(e[i].name, &r, NULL) == 0) {
			cleanup_free char *f = oci_ref_familiar(&r);
			json_array_append_new(a, json_string(f));
			oci_ref_release(&r);
		}
	}
	store_entries_free(e, n);
	return a;
}

/* the docker-shaped object a --format template reads */
static json_t *template_data(const json_t *o)
{
	json_t *d = json_deep_copy(o);
	json_t *cfg = json_object_get(o, "Config");
	json_object_set(d, "ImageConfig", cfg);
	json_t *c = json_object_get(cfg, "config");
	json_t *dc = c ? json_deep_copy(c) : json_object();
	/* docker's Config struct has these even when empty */
	static const char *const lists[] = { "Env", "Cmd", "Entrypoint", "OnBuild" };
	static const char *const maps[] = { "Labels", "ExposedPorts", "Volumes" };
	static const char *const strs[] = { "WorkingDir", "User", "StopSignal" };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(lists); i++)
		if (!json_object_get(dc, lists[i]))
			json_object_set_new(dc, lists[i], json_array());
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(maps); i++)
		if (!json_object_get(dc, maps[i]))
			json_object_set_new(dc, maps[i], json_object());
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(strs); i++)
		if (!json_object_get(dc, strs[i]))
			json_object_set_new(dc, strs[i], json_string(""));
	json_object_set_new(d, "Config", dc);
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_object_set_new(d, "RootFS",
			    json_pack("{s:s, s:O}", "Type", "layers", "Layers",
				      json_object_get(rootfs, "diff_ids") ? json_object_get(rootfs, "diff_ids")
									  : json_array()));
	return d;
}

static bool is_raw(const char *format)
{
	return !strcmp(format, "json") || !strcmp(format, "manifest") || !strcmp(format, "config");
}

static int one(struct store *s, const char *ref, const char *format, json_t *out, struct strata_error **err)
{
	struct store_entry e;
	if (store_resolve(s, ref, &e, err) < 0)
		return -1;
	struct store_image img;
	int r = store_image_load(s, &e.digest, &img, err);
	store_entry_release(&e);
	if (r < 0)
		return strata_error_wrap(err, "inspect '%s'", ref);
	if (!strcmp(format, "manifest")) {
		fwrite(img.manifest_raw, 1, img.manifest_len, stdout);
	} else if (!strcmp(format, "config")) {
		fwrite(img.config_raw, 1, img.config_len, stdout);
	} else {
		json_t *tags = repo_tags(s, &img.manifest_digest, err);
		if (!tags) {
			store_image_release(&img);
			return -1;
		}
		json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:s*, s:s, s:s, s:I, s:O, s:O}", "Id",
				      img.manifest.config.digest.str, "RepoTags", tags, "Digest",
				      img.manifest_digest.str, "MediaType", img.manifest_media_type, "Created",
				      img.config.created, "Architecture", img.config.architecture, "Os", img.config.os,
				      "Size", (json_int_t)img.size, "Manifest", img.manifest.json, "Config",
				      img.config.json);
		if (is_raw(format)) {
			json_array_append_new(out, o);
		} else {
			json_t *d = template_data(o);
			json_decref(o);
			struct strata_buf b = STRATA_BUF_INIT;
			int rc = cli_template_render(format, d, &b, err);
			json_decref(d);
			if (rc == 0) {
				strata_buf_addch(&b, '\n');
				fwrite(b.data, 1, b.len, stdout);
			}
			strata_buf_release(&b);
			if (rc < 0) {
				store_image_release(&img);
				return -1;
			}
		}
	}
	store_image_release(&img);
	return 0;
}

static int inspect(char **refs, int n, const char *format, struct strata_error **err)
{
	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	cleanup_json json_t *out = json_array();
	int r = 0;
	for (int i = 0; i < n && r == 0; i++)
		r = one(s, refs[i], format, out, err);
	store_close(s);
	if (r == 0 && !strcmp(format, "json")) {
		cleanup_free char *text = strata_json_dump_pretty(out);
		fputs(text, stdout);
	}
	return r;
}

static int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "json";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_option_error("inspect", argv, "+f:h", opts);
		}
	}
	if (!is_raw(format) && !strstr(format, "{{"))
		return cli_usage_error("inspect", "--format must be json, manifest, config or a {{template}}, not '%s'",
				       format);
	if (optind >= argc)
		return cli_usage_error("inspect", "needs at least one REF");
	if ((!strcmp(format, "manifest") || !strcmp(format, "config")) && argc - optind != 1)
		return cli_usage_error("inspect", "--format %s takes exactly one REF", format);
	struct strata_error *err = NULL;
	if (inspect(argv + optind, argc - optind, format, &err) < 0) {
		return cli_fail_verb("inspect", err);
	}
	return EXIT_OK;
}
STRATA_COMMAND(inspect, "inspect", "Show an image's manifest and config", cmd_inspect);
