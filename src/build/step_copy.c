/*
 * step_copy.c — COPY and ADD: the source tree (context, stage or image),
 * the resolved plan and its digest as cache inputs, and the copy into an
 * overlay of the stage's snapshots whose upper becomes the layer.
 */
#include "build/build_internal.h"
#include "build/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *strs(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, strata_json_exact(v[i]));
	return a;
}

/* COPY --from=<image>: the image's read-only view, scanned */
static int image_tree(struct engine *e, const char *ref, struct build_context **tree, const char **root,
		      struct strata_error **err)
{
	if (engine_image_view(e, ref, NULL, root, err) < 0)
		return -1;
	if (build_context_open(*root, NULL, NULL, tree, err) < 0)
		return -1;
	engine_keep_tree(e, *tree);
	return 0;
}

/*
 * A COPY/ADD that fails (a missing source, a failed download, a write
 * error) is a failed build step (`strata ci` exits 3), unless the cause has
 * its own category: a registry, authentication or configuration problem.
 */
static int copy_fail(struct engine *e, const struct dockerfile_step *st, struct strata_error **err)
{
	strata_error_ensure(err);
	int code = strata_error_code(*err);
	strata_error_wrap(err, "%s:%d: %s", e->dfname, st->line, st->original);
	if (code != STRATA_E_REGISTRY && code != STRATA_E_AUTH && code != STRATA_E_CONFIG &&
	    code != STRATA_E_INTERRUPTED)
		strata_error_set_code(err, STRATA_E_BUILD);
	return -1;
}

/*
 * --link --chown: the owner is resolved before the step runs, because it
 * enters the key in place of the parent: numeric ids need no rootfs; names
 * are looked up in the parent's /etc/passwd and /etc/group (a read-only
 * view of the snapshots below), so only the ids they resolve to matter.
 */
static int link_chown(struct engine *e, struct stage_state *s, const char *spec, uid_t *uid, gid_t *gid,
		      struct strata_error **err)
{
	bool numeric = strspn(spec, "0123456789:") == strlen(spec);
	cleanup_free char *view = NULL;
	const char *dir = e->empty;
	if (!numeric && s->layers.n) {
		view = engine_tmpdir(e, "owner-", err);
		if (!view || engine_mount_overlay(e, &s->layers, NULL, NULL, view, err) < 0)
			return -1;
		dir = view;
	}
	int rc = 0;
	cleanup_close int fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = strata_error_make(err, errno, "open '%s'", dir);
	else
		rc = copy_chown_resolve(fd, spec, uid, gid, err);
	if (view)
		engine_umount(e, view);
	return rc;
}

/* the layers COPY --from reads (borrowed: the source stage is built, a
 * dependency, and its state no longer changes; an image stays until
 * teardown); *remote: some of them are only in a registry (not extracted) */
static const struct build_layers *from_chain(struct engine *e, const struct dockerfile_copy *c, bool *remote,
					     struct strata_error **err)
{
	const struct build_layers *chain;
	if (c->from_stage >= 0) {
		chain = &e->st[c->from_stage].layers;
	} else {
		struct build_image *img = engine_find_image(e, c->from, err);
		if (!img)
			return NULL;
		chain = &img->layers;
	}
	*remote = engine_chain_remote(e, chain);
	return chain;
}

/* the source set's chain as it enters its id: the snapshot ids (diff_id
 * hex, bottom first), as the ids of earlier builds were made */
static json_t *chain_ids(const struct build_layers *chain)
{
	json_t *a = json_array();
	for (size_t i = 0; i < chain->n; i++)
		json_array_append_new(a, json_string(build_layer_snapshot_id(&chain->v[i])));
	return a;
}

int step_copy_prepare(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, json_t *inputs,
		      bool lazy, struct oci_digest *sources_id, struct build_copy_plan **plan, struct build_context **tree,
		      const char **tree_root, struct strata_error **err)
{
	const struct dockerfile_copy *c = &st->copy;
	const char *wd = json_string_value(json_object_get(json_object_get(s->image, "config"), "WorkingDir"));
	wd = wd && *wd ? wd : "/";
	json_t *insn = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o,s:o}", "kind",
				 st->kind == DF_ADD ? "ADD" : "COPY", "sources", strs(c->sources, c->nsources), "dest",
				 strata_json_exact(c->dest), "from", strata_json_exact(c->from), "chown",
				 strata_json_exact(c->chown), "chmod", strata_json_exact(c->chmod), "link", c->link,
				 "parents", c->parents, "excludes", strs(c->excludes, c->nexcludes), "checksum",
				 strata_json_exact(c->checksum));
	if (st->nheredocs) {
		json_t *h = json_array();
		for (size_t i = 0; i < st->nheredocs; i++)
			json_array_append_new(h, json_pack("{s:o,s:o}", "name", strata_json_exact(st->heredocs[i].name),
							   "content", strata_json_exact(st->heredocs[i].content)));
		json_object_set_new(insn, "heredocs", h);
	}
	json_object_set_new(inputs, "insn", insn);
	/*
	 * COPY --from a stage or an image: the source set is named by the exact
	 * layer chain it reads (diff_ids: content, not keys, so another output of
	 * the source stage is another set), the instruction and the WORKDIR
	 * (relative destinations): everything the sources digest depends on.
	 */
	memset(sources_id, 0, sizeof(*sources_id));
	bool remote = false;
	const char *named_dir = c->from_stage < 0 && c->from ? engine_named_dir(e, c->from) : NULL;
	if ((c->from_stage >= 0 || c->from) && !named_dir) {
		const struct build_layers *chain = from_chain(e, c, &remote, err);
		if (!chain)
			return copy_fail(e, st, err);
		cleanup_json json_t *set = json_pack("{s:i,s:o,s:O,s:o}", "v", 1, "chain", chain_ids(chain), "insn",
						     insn, "workdir", strata_json_exact(wd));
		build_cache_key(set, sources_id);
	}
	/* some of its layers are only in a registry: the digest an earlier build
	 * recorded for the same set spares downloading them for a cache hit */
	const struct build_hooks *h = e->o->hooks;
	json_t *rec = NULL;
	if (lazy && remote && h && h->copy_sources) {
		pthread_mutex_lock(&e->lock); /* the hooks' session is shared */
		rec = h->copy_sources(h->ctx, sources_id->str);
		pthread_mutex_unlock(&e->lock);
	}
	if (rec) {
		json_object_set(inputs, "sources", json_object_get(rec, "sources"));
		json_object_set(inputs, "files", json_object_get(rec, "files"));
		json_decref(rec);
	} else {
		if (c->from_stage >= 0) {
			if (engine_stage_tree(e, (size_t)c->from_stage, tree, tree_root, err) < 0)
				return copy_fail(e, st, err);
		} else if (named_dir) {
			/* --build-context NAME=DIR: that directory, scanned like the context */
			*tree_root = named_dir;
			if (build_context_open(*tree_root, NULL, NULL, tree, err) < 0)
				return copy_fail(e, st, err);
			engine_keep_tree(e, *tree);
		} else if (c->from) {
			if (image_tree(e, c->from, tree, tree_root, err) < 0)
				return copy_fail(e, st, err);
		} else {
			*tree = e->ctx;
			*tree_root = e->context_dir;
		}
		if (build_copy_resolve(*tree, st, wd, st->kind == DF_ADD, plan, err) < 0)
			return copy_fail(e, st, err);
		for (size_t i = 0; i < (*plan)->nitems; i++) {
			struct build_copy_item *it = &(*plan)->items[i];
			if (!it->url)
				continue;
			memset(sources_id, 0, sizeof(*sources_id)); /* a download is not part of the source set */
			/* no lock: a download touches nothing shared (the file is
			 * named by content), another stage goes on meanwhile */
			int r = fetch_url(e->root, e->o->hooks, it->src, c->checksum, &it->fetched, &it->fetched_digest,
					  err);
			if (r < 0)
				return copy_fail(e, st, err);
		}
		json_t *files = json_object();
		char hex[65];
		if (build_copy_digest(*tree, *plan, hex, files, err) < 0) {
			json_decref(files);
			return copy_fail(e, st, err);
		}
		json_object_set_new(inputs, "sources", strata_json_exact(hex));
		json_object_set_new(inputs, "files", files);
	}
	if (c->chown) {
		const char *user = c->chown;
		json_t *cfg = json_pack("{s:o}", "chown", strata_json_exact(user));
		if (c->link) {
			uid_t uid;
			gid_t gid;
			if (link_chown(e, s, c->chown, &uid, &gid, err) < 0) {
				json_decref(cfg);
				return copy_fail(e, st, err);
			}
			json_object_set_new(cfg, "uid", json_integer(uid));
			json_object_set_new(cfg, "gid", json_integer(gid));
		}
		json_object_set_new(inputs, "config", cfg);
	}
	return 0;
}

/*
 * Finish a linked layer's tree: its times do not depend on when it was made
 * (every entry, directories after their content, gets mtime 0, like
 * SOURCE_DATE_EPOCH=0), and no entry may be named ".wh.*": in a layer that
 * is a whiteout, and a linked layer never deletes anything below it.
 * path: the directory's path in the layer ("" for the root), for errors.
 */
static int link_finish(int dfd, const char *path, int depth, struct strata_error **err)
{
	if (depth > 256)
		return strata_error_make(err, ELOOP, "'%s': directory tree too deep", path);
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return strata_error_make(err, errno, "dup");
	DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return strata_error_make(err, errno, "open directory '/%s'", path);
	}
	static const struct timespec zero[2] = { { 0, 0 }, { 0, 0 } };
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *sub = *path ? xasprintf("%s/%s", path, de->d_name) : xstrdup(de->d_name);
		if (!strncmp(de->d_name, ".wh.", 4)) {
			rc = strata_error_makec(err, STRATA_E_CONFIG, 0,
						"'/%s': a file named .wh.* is a whiteout in a layer, refused with --link",
						sub);
			break;
		}
		unsigned char type = de->d_type;
		struct stat sb;
		if (type == DT_UNKNOWN && fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
		if (type == DT_DIR) {
			cleanup_close int fd = openat(dfd, de->d_name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				rc = strata_error_make(err, errno, "open '/%s'", sub);
			else
				rc = link_finish(fd, sub, depth + 1, err);
		}
		if (rc == 0 && utimensat(dfd, de->d_name, zero, AT_SYMLINK_NOFOLLOW) < 0)
			rc = strata_error_make(err, errno, "set times of '/%s'", sub);
	}
	closedir(d);
	return rc;
}

/* --chmod: an octal mode */
static int parse_chmod(const char *spec, int *mode, struct strata_error **err)
{
	char *end = NULL;
	long m = strtol(spec, &end, 8);
	if (!*spec || *end || m < 0 || m > 07777)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "--chmod=%s: not an octal mode", spec);
	*mode = (int)m;
	return 0;
}

/*
 * COPY/ADD --link: the sources go into the empty upper itself, not into an
 * overlay of the parent: destination directories are created 0755 (owned by
 * --chown) whatever the parent has there, a symlink of the parent on the
 * destination path is not followed (it is not there), and nothing below can
 * be deleted. The upper is the whole layer.
 */
static int link_exec(const struct dockerfile_step *st, const json_t *inputs,
		     const struct build_copy_plan *plan, struct build_context *tree, const char *tree_root,
		     const char *upper, struct strata_error **err)
{
	struct copy_attrs a = { .uid = 0, .gid = 0, .chmod = -1 };
	json_t *cfg = json_object_get(inputs, "config");
	if (st->copy.chown) {
		a.uid = (uid_t)json_integer_value(json_object_get(cfg, "uid"));
		a.gid = (gid_t)json_integer_value(json_object_get(cfg, "gid"));
	}
	if (st->copy.chmod && parse_chmod(st->copy.chmod, &a.chmod, err) < 0)
		return -1;
	cleanup_close int rootfd = open(upper, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (rootfd < 0)
		return strata_error_make(err, errno, "open '%s'", upper);
	if (copy_apply(rootfd, tree_root, tree, plan, st, &a, err) < 0)
		return -1;
	return link_finish(rootfd, "", 0, err);
}

int step_copy_exec(struct engine *e, struct stage_state *s, const struct dockerfile_step *st,
		   const json_t *inputs, const struct build_copy_plan *plan, struct build_context *tree,
		   const char *tree_root, const char *upper, const char *work, struct strata_error **err)
{
	if (st->copy.link) {
		if (link_exec(st, inputs, plan, tree, tree_root, upper, err) < 0)
			return copy_fail(e, st, err);
		return 0;
	}
	cleanup_free char *merged = xasprintf("%s/../merged", upper);
	if (mkdir(merged, 0755) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", merged);
	if (engine_mount_overlay(e, &s->layers, upper, work, merged, err) < 0)
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
	if (st->copy.chmod && parse_chmod(st->copy.chmod, &a.chmod, err) < 0) {
		rc = -1;
		goto out;
	}
	rc = copy_apply(rootfd, tree_root, tree, plan, st, &a, err);
out:
	if (rootfd >= 0)
		close(rootfd);
	engine_umount(e, merged);
	if (rc == 0 && sandbox_overlay_commit(upper, work, err) < 0)
		rc = -1;
	if (rc < 0)
		return copy_fail(e, st, err);
	return 0;
}
