/*
 * step_copy.c — COPY and ADD: the source tree (context, stage or image),
 * the resolved plan and its digest as cache inputs, and the copy into an
 * overlay of the stage's snapshots whose upper becomes the layer.
 */
#include "build/build_internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static json_t *strs(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* COPY --from=<image>: the image's snapshots, mounted read-only and scanned */
static int image_tree(struct engine *e, const char *ref, struct build_context **tree, const char **root,
		      struct strata_error **err)
{
	struct build_image *img = engine_find_image(e, ref, err);
	if (!img)
		return -1;
	cleanup_json json_t *snaps = json_array();
	for (size_t i = 0; i < img->nsnapshots; i++)
		json_array_append_new(snaps, json_string(strrchr(img->snapshots[i], '/') + 1));
	char *d = engine_tmpdir(e, "image-", err);
	if (!d)
		return -1;
	/* kept in the mount list: unmounted at teardown; the path lives in the
	 * mount list too, so the tree's root string stays valid */
	if (engine_mount_overlay(e, snaps, NULL, NULL, d, err) < 0) {
		free(d);
		return -1;
	}
	free(d);
	*root = e->mounted[e->nmounted - 1];
	if (build_context_open(*root, NULL, NULL, tree, err) < 0)
		return -1;
	e->trees = xreallocarray(e->trees, e->ntrees + 1, sizeof(*e->trees));
	e->trees[e->ntrees++] = *tree;
	return 0;
}

/*
 * A COPY/ADD that fails (a missing source, a failed download, a write
 * error) is a failed build step (`strata ci` exits 3), unless the cause has
 * its own category: a registry, authentication or configuration problem.
 */
static int copy_fail(struct engine *e, const struct dockerfile_step *st, struct strata_error **err)
{
	int code = strata_error_code(*err);
	strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
	if (code != STRATA_E_REGISTRY && code != STRATA_E_AUTH && code != STRATA_E_CONFIG &&
	    code != STRATA_E_INTERRUPTED)
		strata_error_set_code(err, STRATA_E_BUILD);
	return -1;
}

int step_copy_prepare(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, json_t *inputs,
		      struct build_copy_plan **plan, struct build_context **tree, const char **tree_root,
		      struct strata_error **err)
{
	const struct dockerfile_copy *c = &st->copy;
	if (c->from_stage >= 0) {
		if (engine_stage_tree(e, (size_t)c->from_stage, tree, tree_root, err) < 0)
			return copy_fail(e, st, err);
	} else if (c->from) {
		if (image_tree(e, c->from, tree, tree_root, err) < 0)
			return copy_fail(e, st, err);
	} else {
		*tree = e->ctx;
		*tree_root = e->context_dir;
	}
	const char *wd = json_string_value(json_object_get(json_object_get(s->image, "config"), "WorkingDir"));
	if (build_copy_resolve(*tree, st, wd && *wd ? wd : "/", st->kind == DF_ADD, plan, err) < 0)
		return copy_fail(e, st, err);
	for (size_t i = 0; i < (*plan)->nitems; i++) {
		struct build_copy_item *it = &(*plan)->items[i];
		if (it->url && fetch_url(e->root, it->src, c->checksum, &it->fetched, &it->fetched_digest, err) < 0)
			return copy_fail(e, st, err);
	}
	json_t *files = json_object();
	char hex[65];
	if (build_copy_digest(*tree, *plan, hex, files, err) < 0) {
		json_decref(files);
		return copy_fail(e, st, err);
	}
	json_t *insn = json_pack("{s:s,s:o,s:s,s:s?,s:s?,s:s?,s:b,s:b,s:o,s:s?}", "kind",
				 st->kind == DF_ADD ? "ADD" : "COPY", "sources", strs(c->sources, c->nsources), "dest",
				 c->dest, "from", c->from, "chown", c->chown, "chmod", c->chmod, "link", c->link,
				 "parents", c->parents, "excludes", strs(c->excludes, c->nexcludes), "checksum",
				 c->checksum);
	if (st->nheredocs) {
		json_t *h = json_array();
		for (size_t i = 0; i < st->nheredocs; i++)
			json_array_append_new(h, json_pack("{s:s,s:s}", "name", st->heredocs[i].name, "content",
							   st->heredocs[i].content));
		json_object_set_new(insn, "heredocs", h);
	}
	json_object_set_new(inputs, "insn", insn);
	json_object_set_new(inputs, "sources", json_string(hex));
	json_object_set_new(inputs, "files", files);
	if (c->chown) {
		const char *user = c->chown;
		json_object_set_new(inputs, "config", json_pack("{s:s}", "chown", user));
	}
	return 0;
}

int step_copy_exec(struct engine *e, struct stage_state *s, const struct dockerfile_step *st,
		   const struct build_copy_plan *plan, struct build_context *tree, const char *tree_root,
		   const char *upper, const char *work, struct strata_error **err)
{
	cleanup_free char *merged = xasprintf("%s/../merged", upper);
	if (mkdir(merged, 0755) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", merged);
	if (engine_mount_overlay(e, s->snapshots, upper, work, merged, err) < 0)
		return -1;
	int rc = 0;
	int rootfd = open(merged, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = strata_error_make(err, errno, "open '%s'", merged);
		goto out;
	}
	struct copy_attrs a = { .uid = 0, .gid = 0, .chmod = -1 };
	if (st->copy.chown && copy_chown_resolve(rootfd, st->copy.chown, &a.uid, &a.gid, err) < 0) {
		rc = -1;
		goto out;
	}
	if (st->copy.chmod) {
		char *end = NULL;
		long m = strtol(st->copy.chmod, &end, 8);
		if (!*st->copy.chmod || *end || m < 0 || m > 07777) {
			rc = strata_error_makec(err, STRATA_E_CONFIG, 0, "--chmod=%s: not an octal mode", st->copy.chmod);
			goto out;
		}
		a.chmod = (int)m;
	}
	rc = copy_apply(rootfd, tree_root, tree, plan, st, &a, err);
out:
	if (rootfd >= 0)
		close(rootfd);
	engine_umount(e, merged);
	if (rc < 0)
		return copy_fail(e, st, err);
	return 0;
}
