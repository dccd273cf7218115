#include "cli/cli_store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static size_t count_tags(const struct store_entry *e, size_t n, const struct oci_digest *d)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += e[i].name && !strcmp(e[i].digest.str, d->str);
	return c;
}

static int rmi_one(struct store *s, const char *user, bool force, struct strata_error **err)
{
	struct store_entry t;
	if (store_resolve(s, user, &t, err) < 0)
		return -1;
	int r = 0;
	struct store_entry *e = NULL;
	size_t n = 0;
	if (t.name) {
		/* by name: untag; the manifest goes when no tag is left */
		cleanup_ref struct oci_ref ref = OCI_REF_INIT;
		r = oci_ref_parse(t.name, &ref, err);
		if (r == 0)
			r = store_tag_remove(s, &ref, err);
		if (r == 0) {
			cleanup_free char *f = oci_ref_familiar(&ref);
			printf("Untagged: %s\n", f);
			r = store_tag_list(s, &e, &n, err);
		}
		if (r == 0 && count_tags(e, n, &t.digest) == 0) {
			r = store_index_remove_digest(s, &t.digest, err) < 0 ? -1 : 0;
			if (r == 0)
				printf("Deleted: %s\n", t.digest.str);
		}
	} else {
		/* by id or digest: every tag of it */
		r = store_tag_list(s, &e, &n, err);
		if (r == 0 && count_tags(e, n, &t.digest) > 1 && !force)
			r = strata_error_makec(err, STRATA_E_INVALID, 0,
					       "image '%s' is referenced by %zu tags: remove them by name or use --force",
					       user, count_tags(e, n, &t.digest));
		for (size_t i = 0; r == 0 && i < n; i++) {
			if (!e[i].name || strcmp(e[i].digest.str, t.digest.str))
				continue;
			struct oci_ref ref = OCI_REF_INIT;
			if (oci_ref_parse(e[i].name, &ref, NULL) == 0) {
				cleanup_free char *f = oci_ref_familiar(&ref);
				printf("Untagged: %s\n", f);
				oci_ref_release(&ref);
			}
		}
		if (r == 0)
			r = store_index_remove_digest(s, &t.digest, err) < 0 ? -1 : 0;
		if (r == 0)
			printf("Deleted: %s\n", t.digest.str);
	}
	store_entries_free(e, n);
	free(t.name);
	free(t.media_type);
	return r;
}

static int cmd_rmi(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h':
			printf("Usage: strata rmi [OPTIONS] REF...\n"
			       "\n"
			       "Remove images: untag REF; an image with no tag left leaves index.json\n"
			       "(its blobs stay until 'strata prune').\n"
			       "\n"
			       "Options:\n"
			       "  -f, --force   remove an image given by id or digest even when several\n"
			       "                tags refer to it; ignore images that do not exist\n"
			       "  -h, --help    show this help\n");
			return EXIT_OK;
		default: return cli_option_error("rmi", argv, "+fh", opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("rmi", "needs at least one REF");
	struct strata_error *err = NULL;
	struct store *s = NULL;
	if (cli_store_open(&s, &err) < 0)
		return cli_fail(err);
	int rc = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		if (rmi_one(s, argv[i], force, &err) < 0) {
			if (force && strata_error_code(err) == STRATA_E_NOTFOUND) {
				strata_error_clear(&err);
				continue;
			}
			rc = cli_fail(err);
			err = NULL;
		}
	}
	store_close(s);
	return rc;
}
STRATA_COMMAND(rmi, "rmi", "Remove images from the local store", cmd_rmi);
