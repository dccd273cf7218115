#include "cli/cli_store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct row {
	char *repo, *tag, *id, *digest, *created, *size;
	time_t t;
	size_t order; /* position in index.json: ties keep it */
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->t != y->t)
		return (x->t < y->t) - (x->t > y->t);
	return (x->order > y->order) - (x->order < y->order);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata images [OPTIONS]\n"
		   "\n"
		   "List the images in the local store.\n"
		   "\n"
		   "Options:\n"
		   "  -q, --quiet      only print image ids\n"
		   "      --digests    show manifest digests\n"
		   "      --no-trunc   do not truncate image ids\n"
		   "  -h, --help       show this help\n");
}

static int list(bool quiet, bool digests, bool no_trunc, struct strata_error **err)
{
	struct store *s = NULL;
	if (cli_store_open(&s, err) < 0)
		return -1;
	struct store_entry *e = NULL;
	size_t n = 0;
	if (store_tag_list(s, &e, &n, err) < 0) {
		store_close(s);
		return -1;
	}
	struct row *rows = xcalloc(n ? n : 1, sizeof(*rows));
	size_t nr = 0;
	int bad = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct store_image img;
		struct strata_error *ie = NULL;
		if (store_image_load(s, &e[i].digest, &img, &ie) < 0) {
			char *m = strata_error_string(ie);
			fprintf(stderr, "strata: warning: %s: %s\n", e[i].name ? e[i].name : e[i].digest.str, m);
			free(m);
			strata_error_free(ie);
			bad++;
			continue;
		}
		struct row *r = &rows[nr++];
		cli_name_split(e[i].name, &r->repo, &r->tag);
		const struct oci_digest *id = &img.manifest.config.digest;
		r->id = no_trunc ? xstrdup(id->str) : xstrndup(id->hex, 12);
		r->digest = xstrdup(e[i].digest.str);
		char buf[64];
		cli_human_age(img.created, now, buf, sizeof(buf));
		r->created = xstrdup(buf);
		cli_human_size(img.size, buf, sizeof(buf));
		r->size = xstrdup(buf);
		r->t = img.created;
		r->order = i;
		store_image_release(&img);
	}
	qsort(rows, nr, sizeof(*rows), row_cmp);
	size_t wr = strlen("REPOSITORY"), wt = strlen("TAG"), wi = strlen("IMAGE ID"), wd = strlen("DIGEST"),
	       wc = strlen("CREATED");
	for (size_t i = 0; i < nr; i++) {
		wr = strlen(rows[i].repo) > wr ? strlen(rows[i].repo) : wr;
		wt = strlen(rows[i].tag) > wt ? strlen(rows[i].tag) : wt;
		wi = strlen(rows[i].id) > wi ? strlen(rows[i].id) : wi;
		wd = strlen(rows[i].digest) > wd ? strlen(rows[i].digest) : wd;
		wc = strlen(rows[i].created) > wc ? strlen(rows[i].created) : wc;
	}
	if (quiet) {
		for (size_t i = 0; i < nr; i++) {
			bool dup = false;
			for (size_t k = 0; k < i; k++)
				dup |= !strcmp(rows[k].id, rows[i].id);
			if (!dup)
				printf("%s\n", rows[i].id);
		}
	} else {
		printf("%-*s   %-*s   ", (int)wr, "REPOSITORY", (int)wt, "TAG");
		if (digests)
			printf("%-*s   ", (int)wd, "DIGEST");
		printf("%-*s   %-*s   %s\n", (int)wi, "IMAGE ID", (int)wc, "CREATED", "SIZE");
		for (size_t i = 0; i < nr; i++) {
			printf("%-*s   %-*s   ", (int)wr, rows[i].repo, (int)wt, rows[i].tag);
			if (digests)
				printf("%-*s   ", (int)wd, rows[i].digest);
			printf("%-*s   %-*s   %s\n", (int)wi, rows[i].id, (int)wc, rows[i].created, rows[i].size);
		}
	}
	for (size_t i = 0; i < nr; i++) {
		free(rows[i].repo), free(rows[i].tag), free(rows[i].id), free(rows[i].digest);
		free(rows[i].created), free(rows[i].size);
	}
	free(rows);
	store_entries_free(e, n);
	store_close(s);
	if (bad)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%d image%s could not be read", bad,
					  bad == 1 ? "" : "s");
	return 0;
}

static int cmd_images(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "digests", no_argument, NULL, 'D' },
		{ "no-trunc", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false, digests = false, no_trunc = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'D': digests = true; break;
		case 'N': no_trunc = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_usage_error("images", "invalid option");
		}
	}
	if (optind != argc)
		return cli_usage_error("images", "takes no arguments");
	struct strata_error *err = NULL;
	return list(quiet, digests, no_trunc, &err) < 0 ? cli_fail(err) : EXIT_OK;
}
STRATA_COMMAND(images, "images", "List images in the local store", cmd_images);
