#include <stdio.h>
#include <string.h>

#include "cli/cli_store.h"
#include "cli/progress.h"
#include "cli/regopts.h"
#include "registry/storexfer.h"
#include "cache/cache.h"

static void usage(void)
{
	printf("Usage: strata push [OPTIONS] REF [DEST]\n\n"
	       "Push the local image REF to the registry named by DEST (default: REF).\n"
	       "Blobs the registry already has are skipped (HEAD first); blobs known to\n"
	       "live in another repository of the same registry are mounted from there;\n"
	       "the rest are uploaded in parallel; the manifest goes last. Prints the\n"
	       "digest of the pushed manifest.\n\n"
	       "Options:\n"
	       "  -j, --parallel N          blobs transferred at once (default 4)\n"
	       "  -q, --quiet               print only the digest\n" CLI_REGOPTS_HELP
	       "  -h, --help                show this help\n");
}

/* every layer blob of the store image ref is here (an unknown ref: true, the push reports it) */
static bool all_local(struct store *s, const char *ref)
{
	struct store_entry ent = { 0 };
	struct store_image si;
	memset(&si, 0, sizeof(si));
	bool ok = true;
	if (store_resolve(s, ref, &ent, NULL) == 0 && store_image_load(s, &ent.digest, &si, NULL) == 0)
		for (size_t i = 0; ok && i < si.manifest.n_layers; i++)
			ok = store_blob_exists(s, &si.manifest.layers[i].digest);
	store_image_release(&si);
	store_entry_release(&ent);
	return ok;
}

/* DEST@digest must name the image's own manifest: checked before any blob
 * moves (the registry would refuse the manifest only after every upload) */
static int check_dest_digest(struct store *s, const char *src, const char *dest, struct strata_error **err)
{
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (!dest || oci_ref_parse(dest, &r, NULL) < 0 || !r.digest)
		return 0; /* a bad DEST is reported by the push itself */
	struct store_entry ent = { 0 };
	if (store_resolve(s, src, &ent, NULL) < 0)
		return 0;
	int rc = 0;
	if (strcmp(r.digest, ent.digest.str))
		rc = strata_error_makec(err, STRATA_E_USAGE, 0,
					"push %s: the destination names digest %s but the image's manifest is %s",
					dest, r.digest, ent.digest.str);
	store_entry_release(&ent);
	return rc;
}

static int push(const char *src, const char *dest, struct regclient_opts *o, bool quiet, struct strata_error **err)
{
	struct regclient *c = NULL;
	struct store *s = NULL;
	struct regxfer_store x = { 0 };
	struct regxfer_result res = { 0 };
	int r = -1;
	if (cli_regclient_new(o, &c, err) < 0 || cli_store_open(&s, err) < 0 ||
	    check_dest_digest(s, src, dest, err) < 0)
		goto out;
	if (!all_local(s, src)) {
		/* layers left in a registry (a cache hit build): found or mounted there */
		struct rcache_push_result pr = { 0 };
		r = rcache_push_image(c, s, src, dest ? dest : src, &pr, err);
		if (r == 0) {
			if (!quiet)
				fprintf(stderr, "pushed %zu blobs (%.1f MB), %zu already there, %zu mounted, %zu fetched first\n",
					pr.blobs_uploaded, (double)pr.bytes_uploaded / 1e6, pr.blobs_present,
					pr.blobs_mounted, pr.blobs_fetched);
			printf("%s\n", pr.digest);
		}
		rcache_push_result_release(&pr);
		goto out;
	}
	regxfer_store_open(s, &x);
	struct cli_progress *pg = cli_progress_new(stderr, quiet);
	struct regclient_progress cb = cli_progress_callback(pg);
	r = regclient_push_image(c, src, dest, &x.local, &cb, &res, err);
	cli_progress_free(pg);
	regxfer_store_close(&x, r == 0);
	if (r == 0) {
		if (!quiet)
			fprintf(stderr, "pushed %zu blobs (%.1f MB), %zu already there, %zu mounted\n",
				res.blobs_moved, (double)res.bytes / 1e6, res.blobs_skipped, res.blobs_mounted);
		printf("%s\n", res.digest);
	}
out:
	regxfer_result_release(&res);
	store_close(s);
	regclient_free(c);
	return r;
}

static int cmd_push(int argc, char **argv)
{
	struct regclient_opts o cleanup_regopts = { 0 };
	bool quiet = false;
	int rc = cli_xfer_opts_parse("push", argc, argv, usage, &o, NULL, &quiet);
	if (rc >= 0)
		return rc;
	if (optind != argc - 1 && optind != argc - 2)
		return cli_usage_error("push", "expected REF [DEST]");
	struct strata_error *err = NULL;
	if (push(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &o, quiet, &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
STRATA_COMMAND(push, "push", "Push an image to a registry", cmd_push);
