#include "cli/cli_store.h"

#include <getopt.h>
#include <stdio.h>

static int cmd_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool dry = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry = true; break;
		case 'h':
			printf("Usage: strata prune [OPTIONS]\n"
			       "\n"
			       "Remove every blob that no image in index.json reaches, and temp files\n"
			       "of interrupted writes older than an hour.\n"
			       "\n"
			       "Options:\n"
			       "  -n, --dry-run   only print what would be removed\n"
			       "  -h, --help      show this help\n");
			return EXIT_OK;
		default: return cli_usage_error("prune", "invalid option");
		}
	}
	if (optind != argc)
		return cli_usage_error("prune", "takes no arguments");
	struct strata_error *err = NULL;
	struct store *s = NULL;
	if (cli_store_open(&s, &err) < 0)
		return cli_fail(err);
	struct store_prune_result r;
	if (store_prune(s, dry, &r, &err) < 0) {
		store_close(s);
		return cli_fail(err);
	}
	store_close(s);
	for (size_t i = 0; i < r.n_removed; i++)
		printf("%s: %s\n", dry ? "Would delete" : "Deleted", r.removed[i].str);
	if (r.tmp_removed)
		printf("%s %zu stale temporary file%s\n", dry ? "Would delete" : "Deleted", r.tmp_removed,
		       r.tmp_removed == 1 ? "" : "s");
	char hs[32];
	cli_human_size(r.bytes, hs, sizeof(hs));
	printf("Total %s space: %s\n", dry ? "reclaimable" : "reclaimed", hs);
	store_prune_result_release(&r);
	return EXIT_OK;
}
STRATA_COMMAND(prune, "prune", "Remove blobs no image refers to", cmd_prune);
