/*
 * cache.c — `strata cache ls SOURCE` (what a --cache-from source holds) and
 * `strata cache prune` (the local copies of imported cache mounts).
 */
#include "cli/cli.h"
#include "cli/regopts.h"
#include "cache/cache.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	printf("Usage: strata cache ls [--format text|json] SOURCE\n"
	       "       strata cache prune [--dry-run]\n"
	       "\n"
	       "Commands:\n"
	       "  ls      List what a cache source holds: steps, layers, cache mounts\n"
	       "  prune   Remove the local copies of imported cache mounts\n"
	       "\n"
	       "ls: what a cache source holds: its steps (cached layers), their layers, and the\n"
	       "contents of RUN --mount=type=cache mounts exported with --cache-to ...,mode=max,\n"
	       "with sizes and the time each was made. SOURCE is a --cache-from value: REF,\n"
	       "type=registry,ref=REF or type=local,src=DIR. Reads manifests and configs only.\n"
	       "\n"
	       "prune: remove the local copies of cache mounts imported from a cache source\n"
	       "(under $STRATA_ROOT/cache/run-mounts); mounts only this runner's RUNs filled are\n"
	       "kept, and so is a mount a running build uses. Prints what it removed.\n"
	       "\n"
	       "Options:\n"
	       "      --format FMT   ls: text (default) or json\n"
	       "  -n, --dry-run      prune: only say what would be removed\n" CLI_REGOPTS_HELP
	       "  -h, --help         show this help\n");
}

static char *human(uint64_t n)
{
	if (n >= 1000000)
		return xasprintf("%.1f MB", (double)n / 1e6);
	if (n >= 1000)
		return xasprintf("%.1f kB", (double)n / 1e3);
	return xasprintf("%" PRIu64 " B", n);
}

static void print_text(const json_t *o)
{
	const json_t *created = json_object_get(o, "created");
	printf("source: %s\nkind: %s\ncreated: %s\n", json_string_value(json_object_get(o, "source")),
	       json_string_value(json_object_get(o, "kind")),
	       json_is_string(created) ? json_string_value(created) : "- (cache artifacts carry no time)");
	size_t i;
	json_t *v;
	json_t *steps = json_object_get(o, "steps");
	printf("\nSTEPS (%zu)\n%-19s  %5s  %5s  %-19s  %10s  %s\n", json_array_size(steps), "KEY", "STAGE", "LINE",
	       "LAYER", "SIZE", "INSTRUCTION");
	json_array_foreach(steps, i, v)
	{
		cleanup_free char *sz = human((uint64_t)json_integer_value(json_object_get(v, "size")));
		const char *insn = json_string_value(json_object_get(v, "insn"));
		printf("%.19s  %5lld  %5lld  %.19s  %10s  %.60s\n", json_string_value(json_object_get(v, "key")),
		       (long long)json_integer_value(json_object_get(v, "stage")),
		       (long long)json_integer_value(json_object_get(v, "line")),
		       json_string_value(json_object_get(v, "layer")), sz, insn ? insn : "");
	}
	json_t *layers = json_object_get(o, "layers");
	uint64_t total = 0;
	json_array_foreach(layers, i, v)
		total += (uint64_t)json_integer_value(json_object_get(v, "size"));
	cleanup_free char *tl = human(total);
	printf("\nLAYERS (%zu, %s)\n", json_array_size(layers), tl);
	json_array_foreach(layers, i, v)
	{
		cleanup_free char *sz = human((uint64_t)json_integer_value(json_object_get(v, "size")));
		printf("%s  %10s  %s\n", json_string_value(json_object_get(v, "digest")), sz,
		       json_string_value(json_object_get(v, "used_by")));
	}
	json_t *mounts = json_object_get(o, "mounts");
	printf("\nCACHE MOUNTS (%zu)\n%-20s  %-24s  %-7s  %10s  %10s  %5s  %s\n", json_array_size(mounts), "ID",
	       "TARGET", "SHARING", "SIZE", "BLOBS", "PARTS", "CREATED");
	json_array_foreach(mounts, i, v)
	{
		cleanup_free char *sz = human((uint64_t)json_integer_value(json_object_get(v, "size")));
		cleanup_free char *bb = human((uint64_t)json_integer_value(json_object_get(v, "blob_bytes")));
		printf("%-20s  %-24s  %-7s  %10s  %10s  %5zu  %s\n", json_string_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "target")), json_string_value(json_object_get(v, "sharing")),
		       sz, bb, json_array_size(json_object_get(v, "parts")),
		       json_string_value(json_object_get(v, "created")));
	}
}

static int cache_ls(int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct regclient_opts o cleanup_regopts = { 0 };
	const char *format = "text";
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_regopts_handle(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_FORMAT:
			format = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error("cache ls", argv, "h", longopts);
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return cli_usage_error("cache ls", "--format must be text or json, not '%s'", format);
	if (optind + 1 != argc)
		return cli_usage_error("cache ls", "needs one SOURCE");
	struct strata_error *err = NULL;
	struct regclient *c = NULL;
	cleanup_json json_t *out = NULL;
	int rc = cli_regclient_new(&o, &c, &err);
	if (rc == 0)
		rc = rcache_source_describe(c, argv[optind], &out, &err);
	regclient_free(c);
	if (rc < 0) {
		strata_error_wrap(&err, "cache ls %s", argv[optind]);
		return cli_fail(err);
	}
	if (!strcmp(format, "json")) {
		cleanup_free char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text);
	} else {
		print_text(out);
	}
	return EXIT_OK;
}

static int cache_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool dry = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			dry = true;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_option_error("cache prune", argv, "nh", longopts);
		}
	}
	if (optind != argc)
		return cli_usage_error("cache prune", "takes no arguments");
	cleanup_free char *root = cli_store_root();
	cleanup_free char *mounts = xasprintf("%s/cache/run-mounts", root);
	struct rcache_pruned_mount *v = NULL;
	size_t n = 0;
	struct strata_error *err = NULL;
	if (rcache_mounts_prune(mounts, dry, &v, &n, &err) < 0)
		return cli_fail(err);
	uint64_t total = 0;
	size_t removed = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *sz = human(v[i].bytes);
		if (v[i].busy) {
			printf("kept cache mount %s (%s): in use\n", v[i].id, v[i].target);
			continue;
		}
		printf("%s cache mount %s (%s) imported from %s: %s\n", dry ? "would remove" : "removed", v[i].id,
		       v[i].target, v[i].source, sz);
		total += v[i].bytes;
		removed++;
	}
	cleanup_free char *tsz = human(total);
	printf("%s %zu imported cache mount%s, %s\n", dry ? "would remove" : "removed", removed,
	       removed == 1 ? "" : "s", tsz);
	rcache_pruned_mounts_free(v, n);
	return EXIT_OK;
}

static int cmd_cache(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage();
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "ls"))
		return cache_ls(argc - 1, argv + 1);
	if (!strcmp(argv[1], "prune"))
		return cache_prune(argc - 1, argv + 1);
	return cli_usage_error("cache", "unknown command '%s' (ls, prune)", argv[1]);
}
STRATA_COMMAND(cache, "cache", "List a build cache source (cache ls); prune imported cache mounts", cmd_cache);
