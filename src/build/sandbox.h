/*
 * sandbox.h — the executor's one place for privileged and path-based
 * operations: which isolation the process runs under (root, or rootless in a
 * user namespace), every overlay mount, and the chown / mknod / opaque-marker
 * calls of snapshot extraction. The engine, the executor and the layer module
 * (through struct layer_fs_ops) all ask it; nothing else decides.
 *
 * The mode is decided once, at the start of the process (sandbox_init, called
 * by main before any thread exists):
 *
 *   root      euid 0 in the initial user namespace: as before.
 *             (euid 0 in another user namespace — a `strata build` started
 *             by `strata compose` inside ours, or root of a rootless
 *             container — is rootless: the map says who the user is.)
 *   rootless  any other user: the process enters a new user namespace where
 *             it is root. With ranges in /etc/subuid and /etc/subgid the map
 *             is "0 -> the user, 1.. -> the subordinate ids" (set by the
 *             setuid newuidmap/newgidmap of Debian's uidmap, as podman and
 *             buildah do); without, just "0 -> the user" (any other id fails:
 *             RUN steps that chown to other ids cannot work). Files of
 *             snapshots are stored with their ids shifted by the map on disk
 *             and read back unshifted inside it, so layers keep real owners.
 *
 * Commands that build or run (sandbox_require) then also get a private mount
 * namespace for the process: the read-only views and COPY's merged rootfs
 * (sandbox_view_mount) live only there and die with the process; the
 * executor's runs have mount namespaces of their own below it.
 *
 * The snapshotter is probed once when first needed: the kernel's overlayfs
 * (with `userxattr` in a user namespace, Linux >= 5.11), else fuse-overlayfs,
 * else copying (sandbox_copy.c: the lowers copied into a fresh directory, the
 * changes found by comparing against them). STRATA_SNAPSHOTTER=overlay,
 * fuse-overlayfs or copy forces one (no fallback then; a forced one that does
 * not work fails the builds naming why).
 */
#ifndef STRATA_BUILD_SANDBOX_H
#define STRATA_BUILD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

enum sandbox_isolation {
	SANDBOX_ROOT = 0,       /* real root */
	SANDBOX_ROOTLESS,       /* root of a user namespace mapping the user (and its subordinate ids) */
	SANDBOX_UNAVAILABLE,    /* not root and no user namespace: see sandbox_info.denied */
};

enum sandbox_overlay {
	SANDBOX_OVERLAY_UNKNOWN = 0, /* not probed yet */
	SANDBOX_OVERLAY_KERNEL,      /* overlayfs (userxattr when rootless) */
	SANDBOX_OVERLAY_FUSE,        /* fuse-overlayfs */
	SANDBOX_OVERLAY_NONE,        /* the forced one does not work (or a bad STRATA_SNAPSHOTTER): overlay_why */
	SANDBOX_OVERLAY_COPY,        /* copying: no overlay filesystem (overlay_why says why) or forced */
};

/* "overlay", "fuse-overlayfs", "copy" (STRATA_SNAPSHOTTER's words), "none" or "not probed" */
const char *sandbox_snapshotter_name(enum sandbox_overlay o);

struct sandbox_info {
	enum sandbox_isolation isolation;
	uid_t host_uid;         /* the user outside the namespace */
	gid_t host_gid;
	unsigned long subuids;  /* subordinate uids mapped (0: only the user) */
	unsigned long subgids;
	char *denied;           /* SANDBOX_UNAVAILABLE: one line saying which setting forbids it and what to change */
	enum sandbox_overlay overlay;
	char *overlay_why;      /* why the kernel overlay (and fuse) were refused, or NULL */
	bool overlay_forced;    /* chosen by STRATA_SNAPSHOTTER, not probed */
};

/*
 * Decide the mode and, for a non-root user, enter the user namespace. Call
 * once, single-threaded, before anything else runs. Never fails: when user
 * namespaces are forbidden the mode is SANDBOX_UNAVAILABLE and commands that
 * need the sandbox fail with sandbox_require's message. STRATA_ROOTLESS=0
 * makes a non-root user skip the namespace (then nothing that needs root works).
 */
void sandbox_init(void);

/* The decided mode (sandbox_init must have run; before it: as root or unavailable). */
const struct sandbox_info *sandbox_get(void);

/* True when running as root of a user namespace. */
bool sandbox_rootless(void);

/* Fails with the one-line reason when the mode is SANDBOX_UNAVAILABLE. @return 0 or -1. */
int sandbox_usable(struct strata_error **err);

/*
 * Give the process its own private mount namespace (once; single-threaded).
 * Fails with the one-line reason when the mode is SANDBOX_UNAVAILABLE. @return 0 or -1.
 */
int sandbox_mount_namespace(struct strata_error **err);

/*
 * For a command that mounts or runs builds: sandbox_mount_namespace, and once
 * the one-line warning of what rootless mode without subordinate ids limits.
 * @return 0 or -1.
 */
int sandbox_require(struct strata_error **err);

/*
 * The overlay driver: probed once (a test mount under dir, which must exist
 * and be writable; NULL = $TMPDIR or /tmp). @return the driver.
 */
enum sandbox_overlay sandbox_overlay_driver(const char *dir);

/*
 * THE overlay mount: lowers top first (n >= 1), upper and work (both NULL:
 * read-only), on target (a path, or "/proc/self/fd/N" of an O_PATH fd).
 * Paths are escaped for overlayfs (`,` `:` `\`); when the options would pass
 * a page, each lower is named /proc/self/fd/N of an O_PATH fd instead.
 * The upper holds whole files (index, metacopy and redirects off) and
 * whiteouts as 0/0 character devices; opaque directories carry
 * sandbox_opaque_xattr(). @return 0 or -1.
 */
int sandbox_overlay_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
			  const char *target, struct strata_error **err);

/*
 * A view mounted in the builder's own private mount namespace (entered by
 * sandbox_require, which this calls): an overlay as above, on target. It
 * dies with the process at the latest; the caller unmounts it when done.
 */
int sandbox_view_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
		       const char *target, struct strata_error **err);
/* Unmount a view (lazily: MNT_DETACH); a read-only copy made for it is removed. */
void sandbox_view_unmount(const char *target);

/*
 * After a writable overlay of (upper, work) is done with (the RUN ended, the
 * COPY was applied, the view unmounted): with the copy snapshotter, write the
 * changes of the copy into upper in overlayfs' format (whiteouts as 0/0
 * character devices, opaque directories) and remove the copy. A no-op for
 * the overlay filesystems and when nothing was copied under work.
 * @return 0 or -1.
 */
int sandbox_overlay_commit(const char *upper, const char *work, struct strata_error **err);
/* The copy snapshotter's mount half (sandbox_copy.c): the merged lowers in <work>/root (+ its index when writable). */
int sandbox_copy_materialize(const char *const *lowers, size_t n, const char *work, bool writable,
			     struct strata_error **err);
/* Its commit half, whatever the snapshotter in use (sandbox_overlay_commit checks it): a no-op without an index. */
int sandbox_copy_commit(const char *upper, const char *work, struct strata_error **err);

/* The xattr overlayfs reads as the opaque marker in this mode ("trusted." or "user.overlay.opaque"). */
const char *sandbox_opaque_xattr(void);

/*
 * Extraction's privileged calls (struct layer_fs_ops of layer/layer.h is
 * filled with these by sandbox_layer_ops):
 *  - chown: as fchownat; rootless without an id in the map, the entry is
 *    owned by root and its real owner kept in the LAYER_OWNER_XATTR xattr,
 *    which layer_create reads back;
 *  - mknod of a device: rootless, a device node cannot be made (EPERM): it
 *    is skipped, as docker and podman do in a user namespace.
 */
struct layer_fs_ops;
const struct layer_fs_ops *sandbox_layer_ops(void);

/* A hint to append to a failed RUN in this mode ("" when none). */
const char *sandbox_run_hint(void);

/*
 * The security policy of a command (sandbox_policy.c): the ONE call made in
 * the command's process just before execve — after the capability bounding
 * set was shrunk and the user switched — and by nothing else. It may set
 * no_new_privs, load a seccomp filter, drop further capabilities. It runs in
 * a fork of a possibly multi-threaded process: no locks, no stdio.
 * @return 0, or -1 with *err set (the run fails with that message).
 */
struct sandbox_policy_ctx {
	bool rootless;          /* sandbox_rootless() */
	bool insecure;          /* --security insecure: nothing is applied */
	uid_t uid;              /* the command's user and group (inside the container) */
	gid_t gid;
	const char *const *argv;
};
int sandbox_apply_policy(const struct sandbox_policy_ctx *ctx, struct strata_error **err);
/*
 * Compile the policy's seccomp program, once per process (thread-safe; the
 * caller of a run calls it before forking). @return 0 or -1.
 */
int sandbox_policy_prepare(struct strata_error **err);
/*
 * Shrink the capability bounding set to docker's default set (none dropped
 * when insecure); called by the command's process before it switches user.
 * Async-signal-safe. @return 0, or -1 with errno.
 */
int sandbox_policy_bounding(bool insecure);
/* docker's default capability set as a mask (bit N = capability N). */
uint64_t sandbox_policy_caps(void);

/* ---- for tests: the diagnosis of a refused user namespace ----
 * proc: the /proc to read (the real one: "/proc"); errnum: what unshare gave.
 * @return a malloc'ed line naming the setting and what to change. */
char *sandbox_userns_diagnose(const char *proc, int errnum);

/*
 * Parse /etc/subuid-style text for user (name or numeric uid): the ranges
 * (start, count) in order, at most max. @return the number of ranges.
 */
size_t sandbox_parse_subid(const char *text, const char *name, uid_t uid, unsigned long (*ranges)[2], size_t max);

#endif
