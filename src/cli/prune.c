#include "build/build.h"
#include "cli/cli_store.h"
#include "cli/df.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

enum { OPT_KEEP_STORAGE = 256, OPT_FILTER };

static void usage(void)
{
	printf("Usage: strata prune [OPTIONS]\n"
	       "\n"
	       "Remove blobs no image in index.json and no build cache entry reaches,\n"
	       "and dangling build state: cache entries whose layer blob is gone,\n"
	       "snapshots (extracted layers) that no image and no cache entry needs,\n"
	       "work dirs of killed builds, temp files of interrupted writes older\n"
	       "than an hour. The build cache itself stays: a rebuild is still cached.\n"
	       "Waits for running builds (they hold the store) before removing anything.\n"
	       "\n"
	       "Options:\n"
	       "  -a, --all, --build-cache  remove the whole build cache too: every cache\n"
	       "                            entry, snapshot, RUN cache mount, ADD download\n"
	       "                            and stat cache, then blobs no tag reaches\n"
	       "      --keep-storage SIZE   remove least recently used build cache records\n"
	       "                            (a layer's snapshot with its cache entries, or a\n"
	       "                            RUN cache mount) until the build cache fits in\n"
	       "                            SIZE (e.g. 500MB, 10GB; units are binary)\n"
	       "      --filter until=DURATION\n"
	       "                            remove build cache records not used for DURATION\n"
	       "                            (e.g. 30m, 24h, 7d, 1h30m)\n"
	       "  -n, --dry-run             only print what would be removed\n"
	       "  -h, --help                show this help\n"
	       "\n"
	       "--keep-storage and --filter select from the whole build cache (with or\n"
	       "without --all); given both, a record goes when either selects it.\n");
}

/* a bad option value: the parser's message as a usage error (exit 2) */
static int bad_value(struct strata_error *err)
{
	char *m = strata_error_string(err);
	int rc = cli_usage_error("prune", "%s", m);
	free(m);
	strata_error_free(err);
	return rc;
}

static void print_result(const struct build_prune_result *r, bool dry)
{
	const char *verb = dry ? "Would delete" : "Deleted";
	size_t n[4] = { 0 };
	for (size_t i = 0; i < r->n_removed; i++) {
		const struct build_prune_removed *x = &r->removed[i];
		char hs[32];
		strata_format_bytes((uint64_t)x->size, hs, sizeof(hs));
		n[x->kind]++;
		switch (x->kind) {
		case BUILD_PRUNE_ENTRY: printf("%s cache entry: %s\n", verb, x->id); break;
		case BUILD_PRUNE_SNAPSHOT: printf("%s snapshot: %s (%s)\n", verb, x->id, hs); break;
		case BUILD_PRUNE_MOUNT: printf("%s cache mount: %s (%s)\n", verb, x->id, hs); break;
		case BUILD_PRUNE_OTHER: printf("%s %s (%s)\n", verb, x->id, hs); break;
		}
	}
	for (size_t i = 0; i < r->blobs.n_removed; i++)
		printf("%s: %s\n", verb, r->blobs.removed[i].str);
	if (r->blobs.tmp_removed)
		printf("%s %zu stale temporary file%s\n", verb, r->blobs.tmp_removed,
		       r->blobs.tmp_removed == 1 ? "" : "s");
	char left[32], bs[32], total[32];
	strata_format_bytes((uint64_t)r->remaining, left, sizeof(left));
	strata_format_bytes((uint64_t)r->bytes, bs, sizeof(bs));
	strata_format_bytes((uint64_t)(r->bytes + r->blobs.bytes), total, sizeof(total));
	printf("Build cache: %zu cache entr%s, %zu snapshot%s, %zu cache mount%s (%s); %s left\n",
	       n[BUILD_PRUNE_ENTRY], n[BUILD_PRUNE_ENTRY] == 1 ? "y" : "ies", n[BUILD_PRUNE_SNAPSHOT],
	       n[BUILD_PRUNE_SNAPSHOT] == 1 ? "" : "s", n[BUILD_PRUNE_MOUNT], n[BUILD_PRUNE_MOUNT] == 1 ? "" : "s",
	       bs, left);
	if (r->kept_busy)
		printf("Kept %zu snapshot%s or cache mount%s in use by running processes\n", r->kept_busy,
		       r->kept_busy == 1 ? "" : "s", r->kept_busy == 1 ? "" : "s");
	printf("Total %s space: %s\n", dry ? "reclaimable" : "reclaimed", total);
}

/*
 * What stays and why (measured after a prune; a dry run subtracts what it
 * would remove): the blobs of tagged images, and the build cache that
 * rebuilds reuse.
 */
static void print_kept(struct store *s, const struct build_prune_result *r, bool dry)
{
	struct cli_df d;
	struct strata_error *err = NULL;
	if (cli_df_measure(s, &d, &err) < 0) {
		strata_error_free(err);
		return;
	}
	if (dry) {
		for (size_t i = 0; i < r->n_removed; i++) {
			const struct build_prune_removed *x = &r->removed[i];
			struct cli_df_row *row = x->kind == BUILD_PRUNE_ENTRY	   ? &d.cache
						 : x->kind == BUILD_PRUNE_SNAPSHOT ? &d.snapshots
						 : x->kind == BUILD_PRUNE_MOUNT	   ? &d.mounts
										   : &d.other;
			row->count -= row->count ? 1 : 0;
			row->size -= x->size;
		}
		d.cache.size -= r->blobs.bytes;
	}
	const char *verb = dry ? "Would keep" : "Kept";
	char a[32], b[32], c[32], e[32], t[32];
	strata_format_bytes((uint64_t)(d.images.size + d.untagged.size), a, sizeof(a));
	printf("%s %s: the blobs of %zu tagged and %zu untagged image%s (strata rmi removes an image; its\n"
	       "  layers then go with the build cache)\n",
	       verb, a, d.images.count, d.untagged.count, d.untagged.count == 1 ? "" : "s");
	int64_t cache = d.cache.size + d.snapshots.size + d.mounts.size + d.other.size;
	if (cache > 0) {
		strata_format_bytes((uint64_t)cache, t, sizeof(t));
		strata_format_bytes((uint64_t)(d.cache.size > 0 ? d.cache.size : 0), a, sizeof(a));
		strata_format_bytes((uint64_t)(d.snapshots.size > 0 ? d.snapshots.size : 0), b, sizeof(b));
		strata_format_bytes((uint64_t)(d.mounts.size > 0 ? d.mounts.size : 0), c, sizeof(c));
		strata_format_bytes((uint64_t)(d.other.size > 0 ? d.other.size : 0), e, sizeof(e));
		printf("%s %s of build cache: %zu cache entr%s with the layer blobs only they keep (%s), "
		       "%zu snapshot%s (%s), %zu cache mount%s (%s), other %s; rebuilds reuse it: "
		       "'strata prune -a' removes it\n",
		       verb, t, d.cache.count, d.cache.count == 1 ? "y" : "ies", a, d.snapshots.count,
		       d.snapshots.count == 1 ? "" : "s", b, d.mounts.count, d.mounts.count == 1 ? "" : "s", c, e);
	}
}

static int cmd_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "build-cache", no_argument, NULL, 'a' },
		{ "keep-storage", required_argument, NULL, OPT_KEEP_STORAGE },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct build_prune_options o = BUILD_PRUNE_OPTIONS_INIT;
	struct strata_error *err = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+anh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.all = true; break;
		case 'n': o.dry_run = true; break;
		case OPT_KEEP_STORAGE:
			if (build_prune_parse_size(optarg, &o.keep_storage, &err) < 0)
				return bad_value(err);
			break;
		case OPT_FILTER:
			if (build_prune_parse_filter(optarg, &o, &err) < 0)
				return bad_value(err);
			break;
		case 'h': usage(); return EXIT_OK;
		default: return cli_option_error("prune", argv, "+anh", opts);
		}
	}
	if (optind != argc)
		return cli_usage_error("prune", "takes no arguments");
	struct store *s = NULL;
	if (cli_store_open(&s, &err) < 0)
		return cli_fail(err);
	struct build_prune_result r;
	if (build_prune(store_root(s), s, &o, &r, &err) < 0) {
		store_close(s);
		return cli_fail(err);
	}
	print_result(&r, o.dry_run);
	print_kept(s, &r, o.dry_run);
	store_close(s);
	build_prune_result_release(&r);
	return EXIT_OK;
}
STRATA_COMMAND(prune, "prune", "Remove unused blobs and build state (--all: the build cache)", cmd_prune);
