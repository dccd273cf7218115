/*
 * exec_rootfs.c — the rootfs overlay mounted in the caller's namespace (for
 * COPY/ADD), recorded in a state file so a killed builder's mount is undone
 * by executor_cleanup_stale.
 */
#include "build/exec_internal.h"
#include "build/sandbox.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

struct exec_rootfs {
	struct exec_ctx ctx;
	char *upper, *work; /* for the copy snapshotter's commit */
};

static void rootfs_free(struct exec_rootfs *r)
{
	if (r->ctx.state_fd >= 0)
		close(r->ctx.state_fd);
	free(r->ctx.run_path);
	free(r->ctx.state_path);
	free(r->ctx.rootfs);
	free(r->ctx.stage);
	free(r->ctx.empty);
	free(r->upper);
	free(r->work);
	free(r);
}

int executor_rootfs_mount(const struct exec_spec *spec, struct exec_rootfs **out, struct strata_error **err)
{
	*out = NULL;
	if (sandbox_usable(err) < 0)
		return strata_error_wrap(err, "mounting a rootfs");
	if (!spec->upper_dir || !spec->work_dir || !spec->run_dir)
		return strata_error_make(err, 0, "executor: upper_dir, work_dir and run_dir are required");
	struct exec_rootfs *r = xcalloc(1, sizeof(*r));
	r->ctx.spec = spec;
	r->ctx.state_fd = -1;
	if (exec_state_create(&r->ctx, spec->run_dir, err) < 0 ||
	    exec_state_record(r->ctx.state_fd, "mount", r->ctx.rootfs, err) < 0 ||
	    exec_overlay_mount(&r->ctx, err) < 0) {
		if (r->ctx.state_fd >= 0)
			exec_state_undo(r->ctx.state_fd, r->ctx.state_path, NULL);
		rootfs_free(r);
		return -1;
	}
	r->ctx.spec = NULL; /* borrowed for the call only */
	r->upper = xstrdup(spec->upper_dir);
	r->work = xstrdup(spec->work_dir);
	*out = r;
	return 0;
}

const char *executor_rootfs_path(const struct exec_rootfs *r)
{
	return r->ctx.rootfs;
}

int executor_rootfs_unmount(struct exec_rootfs *r, struct strata_error **err)
{
	if (!r)
		return 0;
	int ret = 0;
	if (umount2(r->ctx.rootfs, 0) < 0 && errno != EINVAL) {
		if (errno != EBUSY || umount2(r->ctx.rootfs, MNT_DETACH) < 0)
			ret = strata_error_make(err, errno, "unmount '%s'", r->ctx.rootfs);
	}
	if (ret == 0 && sandbox_overlay_commit(r->upper, r->work, err) < 0)
		ret = -1;
	if (exec_state_undo(r->ctx.state_fd, r->ctx.state_path, ret < 0 ? NULL : err) < 0)
		ret = -1;
	rootfs_free(r);
	return ret;
}
