/*
 * executor.h — run one command (a RUN step, or `strata run`) in Linux
 * namespaces over an overlay rootfs. The boundary of the executor inside the
 * build module; the build engine is its caller.
 *
 * What one executor_run does (docs/internals/executor.md has the design):
 *
 *   - forks an init process in new mount, PID, UTS and IPC namespaces (and a
 *     new network namespace with only `lo` up for EXEC_NET_NONE);
 *   - inside that private mount namespace: mounts the overlay
 *     lowerdir=<lowerdirs, top first>,upperdir=<upper_dir>,workdir=<work_dir>,
 *     /proc, a minimal /dev (tmpfs with device nodes, devpts, shm, the fd
 *     symlinks), /sys read-only when the image has /sys, generated
 *     /etc/hosts, /etc/resolv.conf and /etc/hostname (read-only binds), and
 *     the RUN --mount list; then pivot_root into the rootfs;
 *   - resolves USER from the image's /etc/passwd and /etc/group, creates the
 *     working directory when missing, sets the hostname, and execs the
 *     command as that user with exactly the given environment;
 *   - streams stdout/stderr to a line callback or to fds, waits, honours a
 *     timeout, and turns SIGINT/SIGTERM/SIGHUP received meanwhile into a kill
 *     of the namespace and an interrupted error;
 *   - removes from the upper dir exactly the mount points it had to create
 *     (empty files/dirs for bind targets missing in the image), so the upper
 *     dir holds only what the command changed.
 *
 * Every mount lives in the child's mount namespace and disappears with it;
 * nothing is mounted in the caller's namespace. Mounts are made through the
 * sandbox (build/sandbox.h: sandbox_overlay_mount), which also decides root
 * or rootless mode and holds the security-policy hook applied just before
 * the command's execve (sandbox_apply_policy). When executor_run returns,
 * every process of the run is dead (also after a timeout or a signal). What
 * a run could leave on disk if the caller is SIGKILLed (mount-point stubs in
 * the upper dir, its run directory) is recorded first in a state file under
 * run_dir, and executor_cleanup_stale(run_dir) undoes it for runs whose
 * process is gone.
 *
 * The command runs with docker's default capabilities less CAP_MKNOD, and
 * docker's masked / read-only /proc paths.
 *
 * Requirements: root, or the rootless mode of sandbox_init (a user namespace;
 * unprivileged overlayfs needs Linux >= 5.11, else fuse-overlayfs), overlayfs,
 * openat2(2) and the new mount API (Linux >= 5.12). No cgroups, no OCI runtime.
 *
 * Threads: executor_run blocks SIGINT, SIGTERM and SIGHUP in the calling
 * thread for its duration and reads them through a signalfd; a program with
 * other threads should block those signals in them too so they reach the
 * executor. Several runs may go on at once in different threads.
 */
#ifndef STRATA_BUILD_EXECUTOR_H
#define STRATA_BUILD_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum exec_network {
	EXEC_NET_HOST = 0, /* share the caller's network namespace (docker's build default) */
	EXEC_NET_NONE,     /* a new network namespace with only loopback up */
};

enum exec_mount_type {
	EXEC_MOUNT_BIND = 0, /* RUN --mount default type */
	EXEC_MOUNT_CACHE,
	EXEC_MOUNT_TMPFS,
	EXEC_MOUNT_SECRET,
	EXEC_MOUNT_SSH,      /* parsed, but executor_run fails with "not supported" */
};

/* One resource limit (setrlimit(2)): resource is RLIMIT_*. */
struct exec_rlimit {
	int resource;
	uint64_t soft, hard;
};

enum exec_sharing {
	EXEC_SHARING_SHARED = 0, /* concurrent runs use the same cache dir */
	EXEC_SHARING_PRIVATE,    /* a busy cache dir gives this run a fresh, throw-away dir */
	EXEC_SHARING_LOCKED,     /* wait until no other run uses the cache dir */
};

/*
 * One RUN --mount. The fields are what the Dockerfile frontend parses
 * (`type=, target=, source=, from=, id=, sharing=, mode=, uid=, gid=, ro|rw,
 * required, size=`); the engine adds host_source, the host path it resolved.
 * Every string is borrowed: the executor copies nothing it keeps.
 *
 *  bind:   host_source is the directory or file to bind (`source` resolved
 *          inside the context or the `from` stage's or image's rootfs,
 *          symlinks staying inside it); read-only unless
 *          readonly is false, in which case writes land in a throw-away
 *          tmpfs upper and are discarded after the run.
 *  cache:  a persistent directory cache_root/<sha256(id or target)>/data,
 *          created with mode (default 0755) and uid/gid (default 0) on first
 *          use — as a copy of host_source (the `from` stage's or image's
 *          `source` directory) when that is set; sharing as above.
 *  tmpfs:  a fresh tmpfs of `size` bytes (0: kernel default, half of RAM).
 *  secret: host_source is the secret's file (NULL: not provided; an error
 *          when required, else the mount is skipped); copied into a tmpfs of
 *          the child's mount namespace and bound read-only at target
 *          (default /run/secrets/<id>), mode default 0400, owned uid/gid.
 *          With env, the content is also put in the command's environment
 *          as that variable; env without target means the variable only.
 *  ssh:    "not supported".
 */
struct exec_mount {
	enum exec_mount_type type;
	const char *target;      /* absolute path in the container (secret: may be NULL) */
	const char *source;      /* as parsed (path inside `from` / the context); informational */
	const char *from;        /* as parsed (stage or image); informational */
	const char *id;          /* cache / secret id (cache default: target) */
	const char *env;         /* secret: also set as this environment variable */
	enum exec_sharing sharing;
	int mode;                /* permission bits, -1 = the type's default */
	long uid, gid;           /* -1 = default (0) */
	bool readonly;           /* bind default true, cache default false */
	bool required;           /* secret: fail when host_source is NULL */
	uint64_t size;           /* tmpfs size in bytes, 0 = default */
	const char *host_source; /* resolved by the engine (bind, secret) */
	const char *hide_dir;    /* bind of a directory: overlayfs whiteouts laid over host_source
	                            (the paths .dockerignore excludes), or NULL */
};

/* Fill m with the defaults of its type (what a bare `--mount=type=T` means). */
void exec_mount_init(struct exec_mount *m, enum exec_mount_type type);
/*
 * The directory of a cache mount: cache_root/<sha256(id, else target)>
 * (DIR/data the content, DIR/lock its lock). Newly allocated.
 */
char *exec_cache_mount_dir(const char *cache_root, const char *id, const char *target);

/*
 * Output callback: one call per line of the command's stdout (stream 1) or
 * stderr (stream 2), without the trailing newline. A line longer than 64 KiB
 * is delivered in 64 KiB pieces; a last line without a newline is delivered
 * at EOF. Called on the thread that called executor_run.
 */
typedef void (*exec_output_fn)(void *ctx, int stream, const char *line, size_t len);

struct exec_spec {
	/* rootfs: overlay of lowerdirs (top first; none = an empty rootfs) and upper_dir */
	const char *const *lowerdirs; /* n_lowerdirs borrowed paths */
	size_t n_lowerdirs;
	const char *upper_dir;        /* caller-owned, kept after the run: the step's changes.
	                                 Its own mode and owner become those of the rootfs's
	                                 "/" (overlayfs): create it like the image's root dir */
	const char *work_dir;         /* caller-owned overlay work dir, same fs as upper_dir */
	const char *run_dir;          /* runtime dir for state files (created if missing) */
	const char *cache_root;       /* where cache mounts live (needed only with cache mounts) */

	/* the command: cmdline != NULL is the shell form (shell + cmdline), else argv */
	const char *const *shell;     /* NULL-terminated; NULL = {"/bin/sh", "-c"} */
	const char *cmdline;
	const char *const *argv;      /* NULL-terminated exec form */

	const char *const *env;       /* NULL-terminated "K=V"; exactly this, plus HOME from
	                                 /etc/passwd when env has no HOME (as runc does).
	                                 A command without '/' is looked up in env's PATH,
	                                 else in docker's default PATH (not added to env) */
	const char *user;             /* USER: name, uid, name:group, uid:gid...; NULL/"" = root */
	const char *cwd;              /* WORKDIR, absolute; created when missing; NULL = "/" */
	const char *hostname;         /* NULL = "strata" */
	const char *extra_hosts;      /* lines appended to /etc/hosts ("IP\tNAME\n"...), or NULL (--add-host) */
	uint64_t shm_size;            /* /dev/shm size in bytes; 0 = 64 MiB (docker's default) */
	const struct exec_rlimit *rlimits; /* set before the command starts (--ulimit) */
	size_t n_rlimits;
	enum exec_network network;
	bool insecure;                /* --security insecure: every capability, no seccomp,
	                                 no no_new_privs, /proc unmasked (executor.md, "Security") */

	const struct exec_mount *mounts;
	size_t n_mounts;

	/* output: on_output if set, else stdout_fd/stderr_fd if >= 0, else
	 * /dev/null; with merge_output, stdout and stderr share one pipe so the
	 * lines keep the order they were written (all told as stream 1) */
	exec_output_fn on_output;
	bool merge_output;
	void *output_ctx;
	int stdin_fd;                 /* -1 = /dev/null */
	int stdout_fd, stderr_fd;

	unsigned timeout_ms;          /* 0 = none */
};

/* Zero the spec and set the fds to -1. */
void exec_spec_init(struct exec_spec *spec);

struct exec_result {
	int exit_code;      /* the command's exit code, or -1 when killed by a signal */
	int signal;         /* the signal that killed it, or 0 */
	bool timed_out;     /* killed because timeout_ms passed (signal = SIGKILL) */
	double total_ms;    /* the whole call, setup and teardown included */
	int not_started;    /* when the call fails because the command itself could not be
			     * executed: 127 not found, 126 found but not executable (the
			     * statuses docker and shells give); 0 otherwise */
};

/*
 * Run spec's command. Blocks until the command exits and everything is
 * undone.
 *
 * @return 0 when the command ran: its status is in *res (a non-zero exit code
 * is not an error here; the engine decides). -1 with *err set when it could
 * not be started (not root, overlay mount failed, unknown user, missing
 * executable, bad mount...), or when the run was interrupted by SIGINT,
 * SIGTERM or SIGHUP (code STRATA_E_INTERRUPTED; the namespace is killed and
 * cleaned first).
 */
int executor_run(const struct exec_spec *spec, struct exec_result *res, struct strata_error **err);

/*
 * The rootfs overlay mounted in the caller's own mount namespace, for steps
 * that write into the rootfs from the builder itself (COPY/ADD) rather than
 * by running a command. Only the rootfs fields of spec are read
 * (lowerdirs, upper_dir, work_dir, run_dir), during the call only.
 *
 * The mount is recorded in a state file under run_dir before it is made, so
 * if the process dies with it mounted, executor_cleanup_stale() unmounts it.
 * Resolve paths under executor_rootfs_path() with openat2(RESOLVE_IN_ROOT):
 * the image's symlinks must not lead out of it.
 *
 * @return 0 with *out set (free it with executor_rootfs_unmount), or -1.
 */
struct exec_rootfs;
int executor_rootfs_mount(const struct exec_spec *spec, struct exec_rootfs **out, struct strata_error **err);
/* The merged tree's mount point. Valid until executor_rootfs_unmount. */
const char *executor_rootfs_path(const struct exec_rootfs *r);
/* Unmount (lazily if busy), undo the state, free r. NULL is a no-op. @return 0 or -1. */
int executor_rootfs_unmount(struct exec_rootfs *r, struct strata_error **err);

/*
 * Undo what runs killed before their teardown left under run_dir: for every
 * state file whose process is gone, remove the mount-point stubs it recorded
 * from its upper dir, unmount anything recorded as mounted in this namespace,
 * and delete its run directory. Runs still alive are left alone.
 * @return the number of stale runs cleaned, or -1.
 */
int executor_cleanup_stale(const char *run_dir, struct strata_error **err);

#endif
