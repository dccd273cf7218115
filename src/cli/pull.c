#include <stdio.h>
#include <string.h>

#include "cli/cli_store.h"
#include "cli/progress.h"
#include "cli/regopts.h"
#include "registry/storexfer.h"

static void usage(void)
{
	printf("Usage: strata pull [OPTIONS] REF\n\n"
	       "Pull an image from a registry into the local store: the manifest (for a\n"
	       "multi-platform image, the one for --platform), its config and layers in\n"
	       "parallel (skipping those already stored, each verified while it streams,\n"
	       "resumed after a broken connection), then tag it REF.\n\n"
	       "Options:\n"
	       "      --platform OS/ARCH[/VARIANT]  platform to pull (default: the host's, %s)\n"
	       "  -j, --parallel N                  blobs transferred at once (default 4)\n"
	       "  -q, --quiet                       print only the digest\n" CLI_REGOPTS_HELP
	       "  -h, --help                        show this help\n",
	       regclient_host_platform());
}

static int pull(const char *ref, const char *platform, struct regclient_opts *o, bool quiet,
		struct strata_error **err)
{
	struct regclient *c = NULL;
	struct store *s = NULL;
	struct regxfer_store x = { 0 };
	struct regxfer_result res = { 0 };
	int r = -1;
	if (cli_regclient_new(o, &c, err) < 0 || cli_store_open(&s, err) < 0)
		goto out;
	regxfer_store_open(s, &x);
	struct cli_progress *pg = cli_progress_new(stderr, quiet);
	struct regclient_progress cb = cli_progress_callback(pg);
	r = regclient_pull_image(c, ref, platform, &x.local, &cb, &res, err);
	cli_progress_free(pg);
	regxfer_store_close(&x, r == 0);
	if (r == 0) {
		cleanup_ref struct oci_ref pr = OCI_REF_INIT;
		cleanup_free char *name = oci_ref_parse(ref, &pr, NULL) == 0 ? oci_ref_string(&pr) : xstrdup(ref);
		if (quiet)
			printf("%s\n", res.digest);
		else
			printf("%s: pulled %zu blobs (%.1f MB), %zu already present\nDigest: %s\n", name,
			       res.blobs_moved, (double)res.bytes / 1e6, res.blobs_skipped, res.digest);
	}
out:
	regxfer_result_release(&res);
	store_close(s);
	regclient_free(c);
	return r;
}

static int cmd_pull(int argc, char **argv)
{
	struct regclient_opts o cleanup_regopts = { 0 };
	const char *platform = NULL;
	bool quiet = false;
	int rc = cli_xfer_opts_parse("pull", argc, argv, usage, &o, &platform, &quiet);
	if (rc >= 0)
		return rc;
	if (optind != argc - 1)
		return cli_usage_error("pull", "expected one image reference");
	if (platform && !strchr(platform, '/'))
		return cli_usage_error("pull", "invalid --platform '%s': expected os/arch[/variant]", platform);
	struct strata_error *err = NULL;
	if (pull(argv[optind], platform, &o, quiet, &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
STRATA_COMMAND(pull, "pull", "Pull an image from a registry", cmd_pull);
