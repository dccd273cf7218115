/*
 * exec_internal.h — what the executor's files share (not a boundary: only
 * src/build/exec_*.c include it).
 *
 *   exec_run.c     the caller's side: checks, state file, clone, output pump,
 *                  timeout and signals, wait, teardown
 *   exec_child.c   the helper and the namespace init: overlay, /proc, /dev,
 *                  /etc files, pivot_root, then the command process
 *   exec_path.c    resolving and creating mount targets inside the rootfs
 *                  without following symlinks out of it (stubs recorded)
 *   exec_mounts.c  RUN --mount: host-side preparation (cache dirs and locks)
 *                  and the mounts in the child
 *   exec_user.c    USER resolution from /etc/passwd and /etc/group
 *   exec_state.c   the state file, undoing stubs, executor_cleanup_stale
 *   exec_rootfs.c  the overlay mounted in the caller's namespace (COPY/ADD)
 */
#ifndef STRATA_BUILD_EXEC_INTERNAL_H
#define STRATA_BUILD_EXEC_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "build/executor.h"

/* Host-side preparation of one RUN --mount (exec_mounts.c). */
struct exec_prepared_mount {
	char *host_dir;     /* cache: the directory bound at the target */
	char *private_tmp;  /* cache, sharing=private on a busy cache: removed after the run */
	int lock_fd;        /* cache: flock held for the run, or -1 */
	bool skip;          /* secret not provided and not required */
	bool source_is_dir; /* bind: host_source is a directory */
	char *env_value;    /* secret with env: "VAR=content" for the command */
};

/* One run, shared by the caller and (through fork semantics) the init. */
struct exec_ctx {
	const struct exec_spec *spec;
	char *run_path;     /* <run_dir>/<id>: holds rootfs/, stage/, empty/ */
	char *state_path;   /* <run_dir>/<id>.state */
	char *rootfs;       /* <run_path>/rootfs, the overlay mount point */
	char *stage;        /* <run_path>/stage, a tmpfs in the child for generated files */
	char *empty;        /* <run_path>/empty, the lower dir when there are none */
	int state_fd;       /* O_APPEND, flock'ed for the whole run */
	int status_w;       /* child -> caller: "E msg\n" and "S status\n" records */
	int alive_r;        /* caller-alive pipe: HUP when the caller is gone */
	int out_w[2];       /* stdout/stderr for the command, or -1 */
	int in_fd;          /* stdin for the command, or -1 (/dev/null) */
	sigset_t oldmask;   /* the caller's mask, restored in the command */
	struct exec_prepared_mount *pm; /* spec->n_mounts entries */
};

/* ---- exec_child.c ---- */

/*
 * The helper process, run in the caller's fork: unshares the namespaces,
 * forks the init (PID 1) that sets up the rootfs and runs the command, waits
 * for it. Never returns.
 */
__attribute__((noreturn)) void exec_child_main(struct exec_ctx *ctx);

/* Mount the overlay of ctx->spec on ctx->rootfs (in the current mount namespace). */
int exec_overlay_mount(struct exec_ctx *ctx, struct strata_error **err);

/* Send "E <message>" to the caller (one write, newlines flattened). */
void exec_child_report(struct exec_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- exec_path.c ---- */

enum exec_target_kind { EXEC_TARGET_DIR, EXEC_TARGET_FILE };

/*
 * Resolve path (absolute, inside the container) under rootfd as if rootfd
 * were "/": symlinks are followed but never out of the root. Components that
 * do not exist are created (directories 0755; the last one as kind), and each
 * creation is first recorded in the state file as a stub, together with the
 * directories of the upper dir (upperfd) that the creation copies up.
 * @return an O_PATH fd on the target, or -1 with *err set.
 */
int exec_path_ensure(int rootfd, int upperfd, int state_fd, const char *path, enum exec_target_kind kind,
		     struct strata_error **err);

/* "/proc/self/fd/N" for fd into buf (32 bytes). */
const char *exec_fd_path(char buf[32], int fd);

/* ---- exec_mounts.c ---- */

/* Validate spec->mounts and prepare host sides (cache dirs, locks). */
int exec_mounts_prepare(struct exec_ctx *ctx, struct strata_error **err);
/* Release locks and private cache dirs. */
void exec_mounts_release(struct exec_ctx *ctx);
/* In the child, before pivot_root: mount every RUN --mount into the rootfs. */
int exec_mounts_apply(struct exec_ctx *ctx, int rootfd, int upperfd, struct strata_error **err);
/* Bind host path src (recursively) on the O_PATH fd target_fd, read-only if asked. */
int exec_bind(const char *src, int target_fd, bool readonly, struct strata_error **err);
/* Copy host file src to dst (created with mode, owned uid:gid), at most max bytes. */
int exec_copy_file(const char *src, const char *dst, mode_t mode, uid_t uid, gid_t gid, size_t max,
		   struct strata_error **err);

/* ---- exec_user.c ---- */

struct exec_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;      /* supplementary groups (may be empty) */
	size_t n_groups;
	char *home;         /* from /etc/passwd, or "/" */
};

/*
 * Resolve a USER value ("name", "uid", "name:group", "uid:gid", ...) against
 * the text of the image's /etc/passwd and /etc/group (either may be NULL:
 * the file is missing), as docker/runc do: a matched user brings its primary
 * gid, home and the groups listing it; an explicit group replaces the gid and
 * the supplementary groups; unknown numeric ids are accepted, unknown names
 * are errors. @return 0 or -1.
 */
int exec_user_resolve(const char *spec, const char *passwd, const char *group, struct exec_user *out,
		      struct strata_error **err);
void exec_user_release(struct exec_user *u);

/* ---- exec_state.c ---- */

/*
 * Create <run_dir>/<id>.state (flock'ed, linked only once locked, so a
 * cleaner never sees an unlocked live state) and <run_dir>/<id>/.
 * Fills ctx->state_fd, state_path, run_path.
 */
int exec_state_create(struct exec_ctx *ctx, const char *run_dir, struct strata_error **err);
/* Append one record line "KIND PATH\n" to the state file. */
int exec_state_record(int state_fd, const char *kind, const char *path, struct strata_error **err);
/*
 * Undo a state: remove the recorded stubs from its upper dir (newest first,
 * only empty files/dirs, never through symlinks), unmount recorded mounts,
 * remove its run directory and the state file itself.
 */
int exec_state_undo(int state_fd, const char *state_path, struct strata_error **err);

#endif
