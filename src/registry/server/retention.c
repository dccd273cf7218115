/*
 * retention.c — registry_retention: keep the newest N matching tags of each
 * matching repository, delete the other tags (through the metadata
 * interface, so the same code serves SQLite and PostgreSQL). What the
 * deleted tags were the last reference to is removed by the next gc.
 */
#include "registry/server/internal.h"

#include <fnmatch.h>
#include <regex.h>
#include <string.h>

struct tag_item {
	char *name, *digest;
	int64_t updated;
};

struct ret {
	const struct registry_retention_options *o;
	struct reg_meta *m;
	regex_t re;
	json_t *repos;
	struct tag_item *tags;
	size_t ntags, cap;
};

static int collect_repo(void *ud, const char *name)
{
	struct ret *r = ud;
	if (fnmatch(r->o->repository, name, 0) == 0)
		json_array_append_new(r->repos, json_string(name));
	return 0;
}

static int collect_tag(void *ud, const char *tag, const char *digest, int64_t updated)
{
	struct ret *r = ud;
	if (regexec(&r->re, tag, 0, NULL, 0) != 0)
		return 0;
	if (r->ntags == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->tags = xrealloc(r->tags, r->cap * sizeof(*r->tags));
	}
	r->tags[r->ntags++] = (struct tag_item){ xstrdup(tag), xstrdup(digest), updated };
	return 0;
}

/* newest first; the same second: the greater name first (CI run numbers) */
static int newest_first(const void *a, const void *b)
{
	const struct tag_item *x = a, *y = b;
	if (x->updated != y->updated)
		return x->updated > y->updated ? -1 : 1;
	return -strcmp(x->name, y->name);
}

static void free_tags(struct ret *r)
{
	for (size_t i = 0; i < r->ntags; i++) {
		free(r->tags[i].name);
		free(r->tags[i].digest);
	}
	r->ntags = 0;
}

int registry_retention(const struct registry_retention_options *o, registry_retention_fn report, void *ud,
		       uint64_t *removed, struct strata_error **err)
{
	struct ret r = { .o = o };
	*removed = 0;
	int rc = regcomp(&r.re, o->match, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[256];
		regerror(rc, &r.re, why, sizeof(why));
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--match '%s': %s", o->match, why);
	}
	struct reg_blobstore *bs = NULL;
	int ret = -1;
	int64_t cutoff = (int64_t)time(NULL) - o->older_than;
	r.repos = json_array();
	if (reg_storage_open(o->root, o->storage, o->metadata, false, &bs, &r.m, err) < 0)
		goto out;
	if (r.m->ops->repos_list(r.m, "", collect_repo, &r, err) < 0)
		goto out;
	size_t i;
	json_t *v;
	json_array_foreach(r.repos, i, v) {
		const char *repo = json_string_value(v);
		free_tags(&r);
		if (r.m->ops->tags_dated(r.m, repo, collect_tag, &r, err) < 0)
			goto out;
		if (r.ntags) /* qsort(NULL, 0, ...) is undefined */
			qsort(r.tags, r.ntags, sizeof(*r.tags), newest_first);
		for (size_t k = 0; k < r.ntags; k++) {
			struct tag_item *t = &r.tags[k];
			bool drop = k >= o->keep_last && (o->older_than <= 0 || t->updated <= cutoff);
			if (drop && !o->dry_run) {
				bool known = false;
				if (r.m->ops->manifest_delete(r.m, repo, t->name, false, &known, err) < 0)
					goto out;
			}
			if (drop)
				(*removed)++;
			if (report)
				report(ud, repo, t->name, t->digest, t->updated, drop);
		}
	}
	ret = 0;
out:
	if (ret < 0)
		strata_error_wrap(err, "registry retention '%s'", o->storage ? o->storage : o->root);
	free_tags(&r);
	free(r.tags);
	regfree(&r.re);
	json_decref(r.repos);
	reg_meta_free(r.m);
	reg_blobstore_free(bs);
	return ret;
}
