#include "cli/cli_store.h"
#include "cli/template.h"

#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct row {
	char *repo, *tag, *id, *digest, *created, *size;
	json_t *fields; /* docker's --format fields */
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
	fprintf(f, "Usage: strata images [OPTIONS] [REPOSITORY[:TAG]]\n"
		   "\n"
		   "List the images in the local store, newest first (CREATED: the image's own\n"
		   "creation time). REPOSITORY[:TAG] keeps the matching rows; * and ? match as in\n"
		   "a shell (docker images 'app*').\n"
		   "\n"
		   "Options:\n"
		   "  -q, --quiet      only print image ids\n"
		   "  -a, --all        accepted: strata keeps no intermediate images, the same list\n"
		   "      --digests    show manifest digests\n"
		   "      --no-trunc   do not truncate image ids\n"
		   "      --format F   json: one JSON object per line; or a Go template as docker's:\n"
		   "                   {{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}\n"
		   "                   {{.CreatedSince}} {{.CreatedAt}}; 'table ...' adds a header\n"
		   "  -h, --help       show this help\n");
}

/* "app", "app:1", "app*:v?": does the row match the filter? */
static bool row_match(const struct row *r, const char *filter)
{
	if (!filter)
		return true;
	cleanup_free char *f = xstrdup(filter);
	char *colon = strrchr(f, ':');
	const char *tag = NULL;
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
	}
	if (fnmatch(f, r->repo, 0) != 0) {
		/* "docker.io/library/app" names "app" too */
		cleanup_ref struct oci_ref ref = OCI_REF_INIT;
		cleanup_free char *fam = NULL;
		if (oci_ref_parse(f, &ref, NULL) < 0 || !(fam = oci_ref_familiar(&ref)))
			return false;
		char *c = strrchr(fam, ':');
		if (c && !strchr(c, '/'))
			*c = '\0';
		if (strcmp(fam, r->repo))
			return false;
	}
	return !tag || fnmatch(tag, r->tag, 0) == 0;
}

static void created_at(time_t t, char *buf, size_t n)
{
	struct tm tm;
	if (t <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm))
		snprintf(buf, n, "N/A");
}

struct images_opts {
	bool quiet, digests, no_trunc;
	const char *format; /* NULL: the table */
	const char *filter; /* REPOSITORY[:TAG] or NULL */
};

/* a table's tab-separated cells in columns three spaces apart (docker's tabwriter) */
static void print_aligned(char *text)
{
	size_t w[64] = { 0 };
	for (int pass = 0; pass < 2; pass++) {
		const char *line = text;
		while (*line) {
			const char *nl = strchr(line, '\n');
			size_t ll = nl ? (size_t)(nl - line) : strlen(line);
			size_t col = 0;
			const char *c = line;
			while (c <= line + ll) {
				const char *tab = memchr(c, '\t', (size_t)(line + ll - c));
				size_t cl = tab ? (size_t)(tab - c) : (size_t)(line + ll - c);
				if (pass == 0 && tab && col < 64 && cl > w[col])
					w[col] = cl;
				if (pass == 1)
					printf("%-*.*s%s", tab && col < 64 ? (int)w[col] : 0, (int)cl, c, tab ? "   " : "");
				col++;
				if (!tab)
					break;
				c = tab + 1;
			}
			if (pass == 1)
				putchar('\n');
			line += ll + (nl ? 1 : 0);
		}
	}
}

static int print_format(const struct row *rows, size_t nr, const char *format, struct strata_error **err)
{
	bool json = !strcmp(format, "json");
	bool table = !strncmp(format, "table", 5) && (format[5] == '\0' || format[5] == ' ');
	const char *tmpl = table ? format + 5 + (format[5] == ' ') : format;
	if (table && !*tmpl)
		tmpl = "{{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
	struct strata_buf out = STRATA_BUF_INIT;
	if (table) {
		/* the header: each {{.Field}} as docker names its column */
		static const char *const names[][2] = {
			{ "Repository", "REPOSITORY" }, { "Tag", "TAG" }, { "ID", "IMAGE ID" },
			{ "Digest", "DIGEST" },         { "Size", "SIZE" }, { "CreatedSince", "CREATED" },
			{ "CreatedAt", "CREATED AT" },
		};
		json_t *hdr = json_object();
		for (size_t i = 0; i < STRATA_ARRAY_SIZE(names); i++)
			json_object_set_new(hdr, names[i][0], json_string(names[i][1]));
		json_t *sample = nr ? rows[0].fields : NULL;
		const char *k;
		json_t *v;
		if (sample)
			json_object_foreach(sample, k, v) if (!json_object_get(hdr, k)) json_object_set_new(hdr, k, json_string(k));
		int rc = cli_template_render(tmpl, hdr, &out, err);
		json_decref(hdr);
		if (rc < 0) {
			strata_buf_release(&out);
			return -1;
		}
		strata_buf_addch(&out, '\n');
	}
	for (size_t i = 0; i < nr; i++) {
		if (json) {
			char *s = json_dumps(rows[i].fields, JSON_COMPACT | JSON_SORT_KEYS);
			strata_buf_adds(&out, s);
			free(s);
		} else if (cli_template_render(tmpl, rows[i].fields, &out, err) < 0) {
			strata_buf_release(&out);
			return -1;
		}
		strata_buf_addch(&out, '\n');
	}
	size_t len = 0;
	char *text = strata_buf_detach(&out, &len);
	if (table)
		print_aligned(text);
	else
		fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static int list(const struct images_opts *o, struct strata_error **err)
{
	bool quiet = o->quiet, digests = o->digests, no_trunc = o->no_trunc;
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
		char at[64];
		created_at(img.created, at, sizeof(at));
		r->fields = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", r->repo,
				      "Tag", r->tag, "ID", r->id, "Digest", r->digest, "CreatedSince", r->created,
				      "CreatedAt", at, "Size", r->size, "VirtualSize", r->size, "SharedSize", "N/A",
				      "UniqueSize", "N/A", "Containers", "N/A");
		store_image_release(&img);
		if (!row_match(r, o->filter)) {
			free(r->repo), free(r->tag), free(r->id), free(r->digest), free(r->created), free(r->size);
			json_decref(r->fields);
			nr--;
		}
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
	int frc = 0;
	if (o->format && !quiet) {
		frc = print_format(rows, nr, o->format, err);
	} else if (quiet) {
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
		json_decref(rows[i].fields);
	}
	free(rows);
	store_entries_free(e, n);
	store_close(s);
	if (frc < 0)
		return -1;
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
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct images_opts o = { 0 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qah", opts, NULL)) != -1) {
		switch (c) {
		case 'q': o.quiet = true; break;
		case 'a': break; /* no intermediate images: -a lists the same */
		case 'D': o.digests = true; break;
		case 'N': o.no_trunc = true; break;
		case 'F': o.format = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return cli_option_error("images", argv, "qah", opts);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("images", "one REPOSITORY[:TAG] filter at most, got '%s' and '%s'", argv[optind],
				       argv[optind + 1]);
	o.filter = optind < argc ? argv[optind] : NULL;
	struct strata_error *err = NULL;
	if (list(&o, &err) < 0) {
		return cli_fail_verb("images", err);
	}
	return EXIT_OK;
}
STRATA_COMMAND(images, "images", "List images in the local store", cmd_images);
