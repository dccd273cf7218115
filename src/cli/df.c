/*
 * df.c — `strata system df [--format json]` (df.h).
 */
#include "cli/df.h"
#include "build/build.h"
#include "cli/cli_store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* blobs of the images in index.json: tagged (digest -> size) and untagged-only */
static int image_blobs(struct store *s, struct cli_df *d, struct strata_error **err)
{
	struct store_entry *e = NULL;
	size_t n = 0;
	if (store_tag_list(s, &e, &n, err) < 0)
		return -1;
	cleanup_json json_t *tagged = json_object(), *untagged = json_object(), *remote = json_object();
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			bool is_tagged = e[i].name != NULL;
			if (is_tagged != (pass == 0))
				continue;
			struct store_image img;
			if (store_image_load(s, &e[i].digest, &img, NULL) < 0)
				continue;
			json_t *set = is_tagged ? tagged : untagged;
			if (is_tagged)
				d->images.count++;
			else
				d->untagged.count++;
			struct {
				const char *digest;
				int64_t size;
			} b[2] = { { img.manifest_digest.str, img.manifest_size },
				   { img.manifest.config.digest.str, img.manifest.config.size } };
			for (size_t k = 0; k < 2; k++)
				if (!json_object_get(tagged, b[k].digest))
					json_object_set_new(set, b[k].digest, json_integer(b[k].size));
			for (size_t k = 0; k < img.manifest.n_layers; k++) {
				const struct oci_descriptor *l = &img.manifest.layers[k];
				if (!store_blob_exists(s, &l->digest))
					json_object_set_new(remote, l->digest.str, json_integer(l->size));
				else if (!json_object_get(tagged, l->digest.str))
					json_object_set_new(set, l->digest.str, json_integer(l->size));
			}
			store_image_release(&img);
		}
	}
	const char *k;
	json_t *v;
	json_object_foreach(tagged, k, v) d->images.size += json_integer_value(v);
	json_object_foreach(untagged, k, v) d->untagged.size += json_integer_value(v);
	json_object_foreach(remote, k, v) d->remote.size += json_integer_value(v);
	d->remote.count = json_object_size(remote);
	d->untagged.reclaimable = d->untagged.size;
	store_entries_free(e, n);
	return 0;
}

int cli_df_measure(struct store *s, struct cli_df *d, struct strata_error **err)
{
	memset(d, 0, sizeof(*d));
	if (image_blobs(s, d, err) < 0)
		return -1;
	struct build_prune_options all = BUILD_PRUNE_OPTIONS_INIT;
	all.dry_run = true;
	all.all = true;
	struct build_prune_result r;
	if (build_prune(store_root(s), s, &all, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.n_removed; i++) {
		const struct build_prune_removed *x = &r.removed[i];
		struct cli_df_row *row = x->kind == BUILD_PRUNE_ENTRY	 ? &d->cache
					 : x->kind == BUILD_PRUNE_SNAPSHOT ? &d->snapshots
					 : x->kind == BUILD_PRUNE_MOUNT	   ? &d->mounts
									   : &d->other;
		row->count++;
		row->size += x->size;
	}
	/* blobs `prune -a` frees: layers only the cache keeps, plus stray ones */
	d->cache.size += r.blobs.bytes;
	d->cache.reclaimable = d->cache.size;
	d->snapshots.reclaimable = d->snapshots.size;
	d->mounts.reclaimable = d->mounts.size;
	d->other.reclaimable = d->other.size;
	build_prune_result_release(&r);
	struct build_prune_options plain = BUILD_PRUNE_OPTIONS_INIT;
	plain.dry_run = true;
	if (build_prune(store_root(s), s, &plain, &r, err) < 0)
		return -1;
	d->prune_frees = r.bytes + r.blobs.bytes;
	build_prune_result_release(&r);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata system df [--format json]\n"
		   "\n"
		   "Show what the local store holds on disk, by kind, and what pruning frees:\n"
		   "  Images                tagged images (blobs shared between them counted once)\n"
		   "  Untagged images       images no tag names (blobs no tagged image shares)\n"
		   "  Build cache           cache entries: the layer blobs only they keep (with stray blobs)\n"
		   "  Snapshots             extracted layers (remade from the blobs when needed)\n"
		   "  Cache mounts          RUN --mount=type=cache directories\n"
		   "  Other build state     ADD downloads, stat caches, work dirs\n"
		   "  Registry-only layers  layers of local images never downloaded (size: in the registry)\n"
		   "RECLAIMABLE is what 'strata prune -a' frees; the last line what 'strata prune' frees.\n"
		   "\n"
		   "Options:\n"
		   "      --format json  one JSON object (sizes in bytes)\n"
		   "  -h, --help         show this help\n");
}

static json_t *row_json(const struct cli_df_row *r)
{
	return json_pack("{s:I, s:I, s:I}", "count", (json_int_t)r->count, "size", (json_int_t)r->size, "reclaimable",
			 (json_int_t)r->reclaimable);
}

static void row_print(const char *name, const struct cli_df_row *r, const char *note)
{
	char sz[32], rc[32];
	strata_format_bytes((uint64_t)r->size, sz, sizeof(sz));
	strata_format_bytes((uint64_t)r->reclaimable, rc, sizeof(rc));
	if (note)
		printf("%-22s %-7zu %-10s %-10s %s\n", name, r->count, sz, rc, note);
	else
		printf("%-22s %-7zu %-10s %s\n", name, r->count, sz, rc);
}

static int df(bool json, struct strata_error **err)
{
	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	struct cli_df d;
	int rc = cli_df_measure(s, &d, err);
	store_close(s);
	if (rc < 0)
		return -1;
	int64_t total = d.images.size + d.untagged.size + d.cache.size + d.snapshots.size + d.mounts.size + d.other.size;
	int64_t recl = d.untagged.reclaimable + d.cache.reclaimable + d.snapshots.reclaimable + d.mounts.reclaimable +
		       d.other.reclaimable;
	if (json) {
		cleanup_json json_t *o = json_pack(
			"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}}", "images", row_json(&d.images),
			"untagged_images", row_json(&d.untagged), "build_cache", row_json(&d.cache), "snapshots",
			row_json(&d.snapshots), "cache_mounts", row_json(&d.mounts), "other", row_json(&d.other),
			"registry_only_layers", row_json(&d.remote), "total", "size", (json_int_t)total, "reclaimable",
			(json_int_t)recl, "prune_frees", (json_int_t)d.prune_frees);
		cleanup_free char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", t);
		return 0;
	}
	printf("%-22s %-7s %-10s %s\n", "TYPE", "TOTAL", "SIZE", "RECLAIMABLE");
	row_print("Images", &d.images, "(strata rmi, then prune)");
	row_print("Untagged images", &d.untagged, NULL);
	row_print("Build cache", &d.cache, NULL);
	row_print("Snapshots", &d.snapshots, NULL);
	row_print("Cache mounts", &d.mounts, NULL);
	row_print("Other build state", &d.other, NULL);
	row_print("Registry-only layers", &d.remote, "(not on this disk)");
	char t[32], r[32], p[32];
	strata_format_bytes((uint64_t)total, t, sizeof(t));
	strata_format_bytes((uint64_t)recl, r, sizeof(r));
	strata_format_bytes((uint64_t)d.prune_frees, p, sizeof(p));
	printf("Total on disk %s; 'strata prune -a' frees %s, 'strata prune' %s\n", t, r, p);
	return 0;
}

static int cmd_system(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "df"))
		return cli_usage_error("system", "unknown subcommand '%s' (known: df)", argv[1]);
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (strcmp(optarg, "json"))
				return cli_usage_error("system df", "--format must be json, not '%s'", optarg);
			json = true;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_option_error("system df", argv + 1, "h", opts);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("system df", "takes no arguments");
	struct strata_error *err = NULL;
	return df(json, &err) < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(system, "system", "Show disk usage of images, build cache, snapshots (system df)", cmd_system);
