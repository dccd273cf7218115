#include "cli/cli_store.h"

#include <stdio.h>
#include <string.h>

static int tag(const char *src, const char *dst, struct strata_error **err)
{
	cleanup_ref struct oci_ref ref = OCI_REF_INIT;
	if (oci_ref_parse(dst, &ref, err) < 0)
		return -1;
	if (ref.digest)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "cannot tag '%s': a digest is not a tag", dst);
	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	struct store_entry e;
	int r = store_resolve(s, src, &e, err);
	if (r == 0) {
		r = store_tag_set(s, &ref, e.media_type, &e.digest, e.size, err);
		store_entry_release(&e);
	}
	store_close(s);
	return r;
}

static int cmd_tag(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		printf("Usage: strata tag SOURCE TARGET\n"
		       "\n"
		       "Create a tag TARGET that refers to the image SOURCE.\n"
		       "\n"
		       "Options:\n"
		       "  -h, --help   show this help\n");
		return EXIT_OK;
	}
	if (argc != 3)
		return cli_usage_error("tag", "needs SOURCE and TARGET");
	struct strata_error *err = NULL;
	return tag(argv[1], argv[2], &err) < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(tag, "tag", "Create a tag TARGET that refers to SOURCE", cmd_tag);
