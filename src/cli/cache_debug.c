/*
 * cache_debug.c — `strata cache-debug`: the remote cache library
 * (cache/cache.h) driven by hand: import and print a --cache-from table,
 * export a --cache-to artifact, adopt an image as a cache hit would leave
 * it, push lazily, fetch on demand, explain a miss. A debugging and testing
 * aid, not a user-facing verb.
 */
#include "cli/cli.h"
#include "cli/regopts.h"
#include "cache/cache.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: strata cache-debug COMMAND [OPTIONS] ARGS...\n"
		"\n"
		"Commands:\n"
		"  inspect REF...                 import each --cache-from REF, print the table and bytes moved\n"
		"  export --to REF[,mode=min|max] SRC...\n"
		"                                 import SRC... and export every entry as a cache artifact\n"
		"                                 (mode=min: the last stage's entries only)\n"
		"  explain --stage N --pos N --inputs JSON [--parent-missed] REF...\n"
		"                                 print the MISS line for a step with these inputs\n"
		"  adopt REF [TAG]                put REF's manifest and config in the local store, its layers\n"
		"                                 recorded as remote (what a fully cached build leaves)\n"
		"  fetch IMAGE                    download the layers of a local image that are only remote\n"
		"  push IMAGE DEST                push a local image, layers by HEAD / mount / upload\n"
		"\n"
		"Options:\n"
		"      --platform OS/ARCH         the manifest to select from an index (default: the host's)\n" CLI_REGOPTS_HELP
		"  -h, --help                     show this help\n"
		"\n"
		"The store is $STRATA_ROOT. Bytes moved are counted by the registry client.\n");
}

static void print_moved(const char *what, const struct regclient_stats *m)
{
	printf("%s: requests=%" PRIu64 " bytes_down=%" PRIu64 " bytes_up=%" PRIu64 " blob_bytes_down=%" PRIu64 "\n",
	       what, m->requests, m->bytes_down, m->bytes_up, m->blob_bytes_down);
}

static void print_push(const char *what, const struct rcache_push_result *r)
{
	printf("%s: %s present=%zu mounted=%zu uploaded=%zu fetched=%zu bytes_uploaded=%" PRIu64 "\n", what,
	       r->digest ? r->digest : "-", r->blobs_present, r->blobs_mounted, r->blobs_uploaded, r->blobs_fetched,
	       r->bytes_uploaded);
}

static int open_store(struct store **s, struct strata_error **err)
{
	cleanup_free char *root = cli_store_root();
	return store_open(root, s, err);
}

static int run(const char *cmd, int argc, char **argv, const char *platform, const char *to, int stage, int pos,
	       const char *inputs, bool parent_missed, struct regclient *c, struct strata_error **err)
{
	struct regclient_stats st;
	if (!strcmp(cmd, "inspect") || !strcmp(cmd, "export") || !strcmp(cmd, "explain")) {
		/* the engine's path: a session imports every source */
		struct rcache_session *x = NULL;
		int ret = rcache_session_open(c, NULL, (const char *const *)argv, (size_t)argc, platform, &x, err);
		const struct rcache_table *t = ret == 0 ? rcache_session_table(x) : NULL;
		if (ret == 0) {
			size_t nl = 0;
			const char *const *lines = rcache_session_lines(x, &nl);
			for (size_t i = 0; i < nl; i++)
				fprintf(stderr, "%s\n", lines[i]);
		}
		if (ret == 0 && !strcmp(cmd, "inspect")) {
			size_t n = 0;
			const struct rcache_entry *e = rcache_table_entries(t, &n);
			for (size_t i = 0; i < n; i++)
				printf("%s stage=%d pos=%d line=%d layer=%s diff_id=%s source=%s insn=%s\n", e[i].key,
				       e[i].stage, e[i].pos, e[i].line,
				       json_string_value(json_object_get(e[i].desc, "digest")), e[i].diff_id,
				       e[i].source, e[i].insn ? e[i].insn : "");
		} else if (ret == 0 && !strcmp(cmd, "explain")) {
			cleanup_json json_t *in = NULL;
			if (strata_json_parse(inputs, strlen(inputs), "--inputs", &in, err) < 0) {
				ret = -1;
			} else {
				cleanup_free char *why = rcache_explain(t, stage, pos, in, parent_missed);
				printf("MISS: %s\n", why);
			}
		} else if (ret == 0) {
			cleanup_free char *ref = NULL;
			bool max = false;
			struct store *s = NULL;
			size_t n = 0;
			const struct rcache_entry *e = rcache_table_entries(t, &n);
			int final = 0;
			for (size_t i = 0; i < n; i++)
				if (e[i].stage > final)
					final = e[i].stage;
			struct rcache_push_result pr;
			ret = rcache_parse_cache_to(to, &ref, &max, err);
			if (ret == 0)
				ret = open_store(&s, err);
			if (ret == 0)
				ret = rcache_export(c, s, e, n, max, final, ref, &pr, err);
			if (ret == 0) {
				print_push("exported", &pr);
				rcache_push_result_release(&pr);
			}
			store_close(s);
		}
		rcache_session_free(x);
		regclient_stats_get(c, &st);
		print_moved("moved", &st);
		return ret;
	}
	struct store *s = NULL;
	if (open_store(&s, err) < 0)
		return -1;
	int ret = -1;
	if (!strcmp(cmd, "adopt")) {
		ret = rcache_image_adopt(c, s, argv[0], argc > 1 ? argv[1] : NULL, err);
	} else if (!strcmp(cmd, "push")) {
		struct rcache_push_result pr;
		ret = rcache_push_image(c, s, argv[0], argv[1], &pr, err);
		if (ret == 0) {
			print_push("pushed", &pr);
			rcache_push_result_release(&pr);
		}
	} else { /* fetch */
		struct store_entry ent = { 0 };
		struct store_image img = { 0 };
		size_t fetched = 0;
		ret = store_resolve(s, argv[0], &ent, err);
		if (ret == 0)
			ret = store_image_load(s, &ent.digest, &img, err);
		for (size_t i = 0; ret == 0 && i < img.manifest.n_layers; i++) {
			if (store_blob_exists(s, &img.manifest.layers[i].digest))
				continue;
			ret = rcache_fetch_blob(c, s, img.manifest.layers[i].digest.str, img.manifest.layers[i].size,
						NULL, NULL, err);
			fetched++;
		}
		if (ret == 0)
			printf("fetched: %zu layers\n", fetched);
		store_image_release(&img);
		free(ent.name);
		free(ent.media_type);
	}
	store_close(s);
	regclient_stats_get(c, &st);
	print_moved("moved", &st);
	return ret;
}

static int cmd_cache_debug(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "platform", required_argument, NULL, 'P' },
		{ "to", required_argument, NULL, 't' },
		{ "stage", required_argument, NULL, 's' },
		{ "pos", required_argument, NULL, 'p' },
		{ "inputs", required_argument, NULL, 'i' },
		{ "parent-missed", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		CLI_REGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct regclient_opts o cleanup_regopts = { 0 };
	const char *platform = NULL, *to = NULL, *inputs = NULL;
	int stage = 0, pos = 0, opt;
	bool parent_missed = false;
	/* "cache-debug COMMAND [OPTIONS] ARGS": the options follow the command */
	const char *cmd = NULL;
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argc--;
		argv++;
	}
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (cli_regopts_handle(&o, opt, optarg))
			continue;
		switch (opt) {
		case 'P':
			platform = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 's':
			stage = atoi(optarg);
			break;
		case 'p':
			pos = atoi(optarg);
			break;
		case 'i':
			inputs = optarg;
			break;
		case 'm':
			parent_missed = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_option_error("cache-debug", argv, "+h", longopts);
		}
	}
	if (!cmd && optind < argc)
		cmd = argv[optind++];
	if (!cmd)
		return cli_usage_error("cache-debug", "expected a command");
	int nargs = argc - optind;
	static const struct {
		const char *name;
		int min, max;
	} cmds[] = { { "inspect", 1, 1000 }, { "export", 1, 1000 }, { "explain", 1, 1000 },
		     { "adopt", 1, 2 },      { "fetch", 1, 1 },       { "push", 2, 2 } };
	bool known = false;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, cmd))
			continue;
		known = true;
		if (nargs < cmds[i].min || nargs > cmds[i].max)
			return cli_usage_error("cache-debug", "%s: wrong number of arguments", cmd);
	}
	if (!known)
		return cli_usage_error("cache-debug", "unknown command '%s'", cmd);
	if (!strcmp(cmd, "export") && !to)
		return cli_usage_error("cache-debug", "export needs --to REF");
	if (!strcmp(cmd, "explain") && !inputs)
		return cli_usage_error("cache-debug", "explain needs --inputs JSON");
	struct strata_error *err = NULL;
	struct regclient *c = NULL;
	if (cli_regclient_new(&o, &c, &err) < 0)
		return cli_fail(err);
	int ret = run(cmd, nargs, argv + optind, platform, to, stage, pos, inputs, parent_missed, c, &err);
	regclient_free(c);
	return ret < 0 ? cli_fail(err) : EXIT_OK;
}

STRATA_HIDDEN_COMMAND(cache_debug, "cache-debug", "Debug the remote build cache (--cache-from/--cache-to)",
		      cmd_cache_debug);
