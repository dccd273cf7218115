/*
 * imagerun.c — `strata run`: a container of a built image with the build
 * executor (overlay of the image's snapshots and a throw-away upper), with
 * docker's ENTRYPOINT/CMD, Env, User and WorkingDir semantics.
 */
#include "build/build_internal.h"

#include <string.h>
#include <sys/stat.h>

static void push(const char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 2, sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/*
 * Lease the image's snapshots for the run: list them in the work dir, whose
 * lock the run holds, while holding the store (so no prune runs between the
 * lookup and the lease). A prune skips leased snapshots instead of waiting
 * for a container that may run for hours. One removed since the lookup is
 * extracted again.
 */
static int lease_snapshots(const char *root, const struct build_image *img, const char *workdir,
			   struct strata_error **err)
{
	struct store *s = NULL;
	if (store_open(root, &s, err) < 0)
		return -1;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	for (size_t i = 0; i < img->layers.n; i++)
		strata_buf_addf(&b, "%s\n", build_layer_snapshot_id(&img->layers.v[i]));
	cleanup_free char *lease = xasprintf("%s/snapshots", workdir);
	int rc = strata_atomic_write(lease, b.data, b.len, 0644, err);
	for (size_t i = 0; rc == 0 && i < img->layers.n; i++) {
		const struct build_layer *l = &img->layers.v[i];
		cleanup_free char *snap = snapshot_dir(root, l->diff_id.str);
		if (strata_path_exists(snap) || !store_blob_exists(s, &l->digest))
			continue;
		rc = snapshot_ensure(s, root, l, err);
	}
	store_close(s);
	return rc;
}

int build_image_run(const char *root, const struct build_image *img, const struct build_run_options *o,
		    int *status, struct strata_error **err)
{
	json_t *cfg = json_object_get(img->config, "config");
	const char **argv = NULL, **env = NULL;
	char **lowers = NULL;
	size_t nlowers = 0;
	size_t na = 0, ne = 0;
	int rc = 0;
	cleanup_free char *tmp = NULL;
	char *tmproot = xasprintf("%s/build/tmp", root);
	char *run_dir = xasprintf("%s/run/exec", root);
	char *cache_root = xasprintf("%s/cache/run-mounts", root);
	char *upper = NULL, *work = NULL;
	int lockfd = -1;

	json_t *ep = json_object_get(cfg, "Entrypoint"), *cmd = json_object_get(cfg, "Cmd");
	size_t i;
	json_t *x;
	if (o->entrypoint) {
		if (*o->entrypoint)
			push(&argv, &na, o->entrypoint);
	} else {
		json_array_foreach(ep, i, x) push(&argv, &na, json_string_value(x));
	}
	if (o->cmd && o->cmd[0]) {
		for (i = 0; o->cmd[i]; i++)
			push(&argv, &na, o->cmd[i]);
	} else if (!o->entrypoint) {
		/* docker: --entrypoint drops the image's CMD */
		json_array_foreach(cmd, i, x) push(&argv, &na, json_string_value(x));
	}
	if (!na) {
		rc = strata_error_makec(err, STRATA_E_USAGE, 0, "no command specified (the image has no ENTRYPOINT or CMD)");
		goto out;
	}
	/* Env: the image's, then -e (a later K replaces an earlier one) */
	json_array_foreach(json_object_get(cfg, "Env"), i, x) push(&env, &ne, json_string_value(x));
	for (size_t k = 0; o->env && o->env[k]; k++) {
		const char *eq = strchr(o->env[k], '=');
		size_t kl = eq ? (size_t)(eq - o->env[k]) : strlen(o->env[k]);
		bool replaced = false;
		for (size_t j = 0; j < ne; j++) {
			if (!strncmp(env[j], o->env[k], kl) && env[j][kl] == '=') {
				env[j] = o->env[k];
				replaced = true;
			}
		}
		if (!replaced)
			push(&env, &ne, o->env[k]);
	}
	/* an image of a foreign platform runs through qemu (platform.c) */
	struct dockerfile_platform plat;
	if (build_platform_of_config(img->config, &plat) == 0 && build_platform_ensure(&plat, NULL, err) < 0) {
		rc = -1;
		goto out;
	}
	{
		char **chain = snapshot_paths(root, &img->layers);
		lowers = snapshot_lowers((const char *const *)chain, img->layers.n, &nlowers);
		for (size_t k = 0; chain[k]; k++)
			free(chain[k]);
		free(chain);
	}

	if (strata_mkdir_p(tmproot, 0700, err) < 0 || strata_mkdir_p(run_dir, 0700, err) < 0 ||
	    executor_cleanup_stale(run_dir, err) < 0 || engine_work_dir(tmproot, "run-", &tmp, &lockfd, err) < 0 ||
	    lease_snapshots(root, img, tmp, err) < 0) {
		rc = -1;
		goto out;
	}
	upper = xasprintf("%s/upper", tmp);
	work = xasprintf("%s/work", tmp);
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
		rc = strata_error_make(err, errno, "mkdir '%s'", upper);
		goto out;
	}
	struct exec_spec spec;
	exec_spec_init(&spec);
	spec.lowerdirs = (const char *const *)lowers;
	spec.n_lowerdirs = nlowers;
	spec.upper_dir = upper;
	spec.work_dir = work;
	spec.run_dir = run_dir;
	spec.cache_root = cache_root;
	spec.argv = argv;
	spec.env = env;
	spec.user = o->user ? o->user : json_string_value(json_object_get(cfg, "User"));
	spec.cwd = o->workdir ? o->workdir : json_string_value(json_object_get(cfg, "WorkingDir"));
	if (spec.cwd && !*spec.cwd)
		spec.cwd = NULL;
	spec.network = o->network;
	spec.stdin_fd = 0;
	spec.stdout_fd = 1;
	spec.stderr_fd = 2;
	struct exec_result res;
	if (executor_run(&spec, &res, err) < 0) {
		if (res.not_started)
			*status = res.not_started;
		rc = -1;
		goto out;
	}
	*status = res.signal ? 128 + res.signal : res.exit_code;
out:
	if (tmp)
		strata_rm_rf(tmp, NULL);
	if (lockfd >= 0)
		close(lockfd);
	free(argv);
	free(env);
	for (size_t k = 0; lowers && lowers[k]; k++)
		free(lowers[k]);
	free(lowers);
	free(tmproot);
	free(run_dir);
	free(cache_root);
	free(upper);
	free(work);
	return rc;
}
