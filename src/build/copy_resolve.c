/*
 * copy_resolve.c — COPY/ADD source resolution against a source tree (the
 * build context or a stage's rootfs), with BuildKit's rules.
 */
#include "build/build.h"

#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

void build_copy_plan_free(struct build_copy_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].src);
		free(p->items[i].dest);
		free(p->items[i].fetched);
	}
	free(p->items);
	free(p->files);
	free(p);
}

/*
 * Clean a path: collapse "//" and "." and resolve "..". A source path (abs
 * false) loses its leading "/" and "./" ("" is the root) and may not leave
 * the root: @return NULL then. An absolute image path (abs true) keeps one
 * leading "/" and no trailing one, and ".." at its root stays at the root.
 */
static char *clean_path(const char *s, bool abs)
{
	size_t root = abs ? 1 : 0;
	struct strata_buf b = STRATA_BUF_INIT;
	if (abs)
		strata_buf_addch(&b, '/');
	size_t len;
	for (const char *c; (c = strata_path_next(&s, &len));) {
		if (len == 1 && c[0] == '.')
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			if (b.len == root && !abs) {
				strata_buf_release(&b);
				return NULL;
			}
			size_t l = b.len;
			while (l > root && b.data[l - 1] != '/')
				l--;
			if (l > root)
				l--;
			strata_buf_truncate(&b, l);
			continue;
		}
		if (b.len > root)
			strata_buf_addch(&b, '/');
		strata_buf_add(&b, c, len);
	}
	return strata_buf_detach(&b, NULL);
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static bool is_tar_name(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
					   ".tar.zst", ".tzst" };
	size_t n = strlen(s);
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(ext); i++) {
		size_t l = strlen(ext[i]);
		if (n > l && !strcmp(s + n - l, ext[i]))
			return true;
	}
	return false;
}


struct plan_builder {
	struct build_copy_plan *p;
	size_t cap, fcap;
};

static struct build_copy_item *add_item(struct plan_builder *b)
{
	struct build_copy_plan *p = b->p;
	if (p->nitems == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		p->items = xreallocarray(p->items, b->cap, sizeof(*p->items));
	}
	struct build_copy_item *it = &p->items[p->nitems++];
	memset(it, 0, sizeof(*it));
	return it;
}

static void add_file(struct plan_builder *b, size_t idx)
{
	struct build_copy_plan *p = b->p;
	if (p->nfiles == b->fcap) {
		b->fcap = b->fcap ? b->fcap * 2 : 64;
		p->files = xreallocarray(p->files, b->fcap, sizeof(*p->files));
	}
	p->files[p->nfiles++] = idx;
}

/* --exclude: a pattern matches the path relative to the item or any of its parents */
static bool excluded(const struct dockerfile_copy *c, const char *rel)
{
	if (!c->nexcludes || !*rel)
		return false;
	cleanup_free char *tmp = xstrdup(rel);
	for (;;) {
		for (size_t i = 0; i < c->nexcludes; i++) {
			cleanup_free char *pat = clean_path(c->excludes[i], false);
			if (pat && dockerfile_glob_match(pat, tmp))
				return true;
		}
		char *s = strrchr(tmp, '/');
		if (!s)
			return false;
		*s = '\0';
	}
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* record entry idx and, for a directory, everything below it */
static void add_tree(struct plan_builder *b, struct build_context *src, const struct dockerfile_copy *c,
		     ssize_t idx, const char *path, const char *exclude_base)
{
	size_t n = build_context_count(src);
	size_t plen = strlen(path);
	size_t start = 0;
	if (idx >= 0) {
		add_file(b, (size_t)idx);
		start = (size_t)idx + 1;
	}
	(void)exclude_base;
	for (size_t i = start; i < n; i++) {
		struct build_ctx_entry *e = build_context_entry(src, i);
		const char *rel;
		if (plen == 0) {
			rel = e->path;
		} else {
			int cmp = strncmp(e->path, path, plen);
			if (cmp > 0)
				break;
			if (cmp < 0)
				continue;
			/* entries sort bytewise: "a-b" lies between "a" and "a/x" */
			unsigned char ch = (unsigned char)e->path[plen];
			if (ch < '/')
				continue;
			if (ch > '/')
				break;
			rel = e->path + plen + 1;
		}
		if (excluded(c, rel))
			continue;
		add_file(b, i);
	}
}

static int resolve_one(struct plan_builder *b, struct build_context *src, const struct dockerfile_step *st,
		       const char *srcword, const char *dest, bool dest_dir, bool is_add, size_t *count,
		       struct strata_error **err)
{
	const struct dockerfile_copy *c = &st->copy;
	cleanup_free char *clean = clean_path(srcword, false);
	if (!clean)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "forbidden path outside the build context: %s",
					  srcword);
	/* --parents pivot: "a/./b" keeps "b" */
	size_t pivot = 0;
	if (c->parents) {
		const char *pv = strstr(srcword, "/./");
		if (pv) {
			cleanup_free char *pre = xstrndup(srcword, (size_t)(pv - srcword));
			cleanup_free char *cpre = clean_path(pre, false);
			pivot = cpre && *cpre ? strlen(cpre) + 1 : 0;
		}
	}
	size_t n = build_context_count(src);
	bool glob = has_glob(clean);
	size_t matched = 0;
	for (size_t i = 0; i < (glob ? n : 1); i++) {
		ssize_t idx;
		const char *path;
		if (glob) {
			struct build_ctx_entry *e = build_context_entry(src, i);
			if (fnmatch(clean, e->path, FNM_PATHNAME) != 0)
				continue;
			if (excluded(c, e->path))
				continue;
			idx = (ssize_t)i;
			path = e->path;
		} else {
			if (!*clean) {
				idx = -1;
				path = "";
			} else {
				idx = build_context_find(src, clean);
				if (idx < 0)
					break;
				path = clean;
			}
		}
		matched++;
		struct build_ctx_entry *e = idx >= 0 ? build_context_entry(src, (size_t)idx) : NULL;
		bool is_dir = !e || S_ISDIR(e->mode);
		struct build_copy_item *it = add_item(b);
		it->src = xstrdup(path);
		const char *keep = c->parents ? (strlen(path) >= pivot ? path + pivot : path) : NULL;
		if (is_dir) {
			it->contents = true;
			it->dest = keep && *keep ? xasprintf("%s/%s", dest, keep) : xstrdup(dest);
		} else if (keep) {
			it->dest = xasprintf("%s/%s", strcmp(dest, "/") ? dest : "", keep);
		} else {
			it->dest = xstrdup(dest);
			it->into_dir = dest_dir;
			/* ADD unpacks a local archive unless --unpack=false */
			it->archive = is_add && c->unpack != 0 && is_tar_name(path);
		}
		add_tree(b, src, c, idx, path, path);
	}
	if (!matched) {
		if (glob)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no source files were specified: \"%s\" matches nothing",
						  srcword);
		return strata_error_makec(err, STRATA_E_NOTFOUND, ENOENT, "\"%s\": not found", srcword);
	}
	*count += matched;
	return 0;
}

int build_copy_resolve(struct build_context *src, const struct dockerfile_step *st, const char *workdir,
		       bool is_add, struct build_copy_plan **out, struct strata_error **err)
{
	const struct dockerfile_copy *c = &st->copy;
	struct plan_builder b = { .p = xcalloc(1, sizeof(*b.p)) };
	const char *d = c->dest;
	size_t dl = strlen(d);
	bool dest_dir = dl > 0 && (d[dl - 1] == '/' || (dl >= 2 && !strcmp(d + dl - 2, "/.")) || !strcmp(d, "."));
	cleanup_free char *joined = d[0] == '/' ? xstrdup(d) : xasprintf("%s/%s", workdir ? workdir : "/", d);
	cleanup_free char *dest = clean_path(joined, true);
	size_t count = 0;
	int rc = 0;

	for (size_t i = 0; i < c->nsources && rc == 0; i++) {
		const char *s = c->sources[i];
		if (is_url(s)) {
			if (!is_add) {
				rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
							"COPY does not support URLs (use ADD): %s", s);
				break;
			}
			struct build_copy_item *it = add_item(&b);
			it->src = xstrdup(s);
			it->url = true;
			it->archive = c->unpack == 1; /* a remote archive is unpacked only with --unpack */
			it->dest = xstrdup(dest);
			it->into_dir = dest_dir;
			count++;
			continue;
		}
		rc = resolve_one(&b, src, st, s, dest, dest_dir, is_add, &count, err);
	}
	for (size_t i = 0; i < st->nheredocs && rc == 0; i++) {
		struct build_copy_item *it = add_item(&b);
		it->src = xstrdup(st->heredocs[i].name);
		it->heredoc = true;
		it->dest = xstrdup(dest);
		it->into_dir = dest_dir;
		count++;
	}
	if (rc == 0 && count > 1 && !dest_dir) {
		/* several sources: the destination must be a directory; directory
		 * sources alone (contents) do not count as files to place */
		size_t files = 0;
		for (size_t i = 0; i < b.p->nitems; i++)
			files += !b.p->items[i].contents;
		if (files > 0 && b.p->nitems > 1)
			rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
						"when using %s with more than one source file, the destination must be a directory and end with a /",
						st->kind == DF_ADD ? "ADD" : "COPY");
	}
	if (rc < 0) {
		build_copy_plan_free(b.p);
		return -1;
	}
	if (b.p->nfiles > 1) {
		qsort(b.p->files, b.p->nfiles, sizeof(*b.p->files), size_cmp);
		size_t o = 1;
		for (size_t i = 1; i < b.p->nfiles; i++)
			if (b.p->files[i] != b.p->files[o - 1])
				b.p->files[o++] = b.p->files[i];
		b.p->nfiles = o;
	}
	*out = b.p;
	return 0;
}

int build_copy_digest(struct build_context *src, const struct build_copy_plan *p, char hex[65], json_t *files,
		      struct strata_error **err)
{
	struct strata_hash h;
	strata_hash_init(&h, STRATA_HASH_SHA256);
	for (size_t i = 0; i < p->nitems; i++) {
		const struct build_copy_item *it = &p->items[i];
		cleanup_free char *line = xasprintf("item %s\n%s\n%d%d%d%d%d\n%s\n", it->src, it->dest, it->contents,
						    it->into_dir, it->url, it->heredoc, it->archive,
						    it->fetched_digest.str);
		strata_hash_update(&h, line, strlen(line) + 1);
	}
	for (size_t i = 0; i < p->nitems; i++) {
		const struct build_copy_item *it = &p->items[i];
		if (files && it->url && it->fetched_digest.str[0])
			strata_json_set_exact(files, it->src, strata_json_exact(it->fetched_digest.hex));
	}
	for (size_t i = 0; i < p->nfiles; i++) {
		struct build_ctx_entry *e = build_context_entry(src, p->files[i]);
		if (S_ISREG(e->mode) && build_context_digest(src, e, err) < 0) {
			strata_hash_release(&h);
			return strata_error_wrap(err, "%s", e->path);
		}
		cleanup_free char *line = xasprintf("%s\n%o\n%s\n%s\n", e->path, (unsigned)e->mode,
						    e->link ? e->link : "", S_ISREG(e->mode) ? e->digest : "");
		strata_hash_update(&h, line, strlen(line) + 1);
		if (files) {
			char fh[65];
			strata_sha256_hex(line, strlen(line), fh);
			fh[16] = '\0';
			strata_json_set_exact(files, e->path, strata_json_exact(fh));
		}
	}
	char full[STRATA_HASH_HEX_MAX];
	strata_hash_final(&h, full);
	memcpy(hex, full, 65);
	return 0;
}
