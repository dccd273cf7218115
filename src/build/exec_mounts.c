/*
 * exec_mounts.c — RUN --mount: host-side preparation in the caller (cache
 * directories and their locks, checks) and the mounts themselves in the
 * child's mount namespace, before pivot_root.
 */
#include "build/exec_internal.h"
#include "build/sandbox.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX (512u * 1024)

static const char *type_name(enum exec_mount_type t)
{
	switch (t) {
	case EXEC_MOUNT_BIND: return "bind";
	case EXEC_MOUNT_CACHE: return "cache";
	case EXEC_MOUNT_TMPFS: return "tmpfs";
	case EXEC_MOUNT_SECRET: return "secret";
	case EXEC_MOUNT_SSH: return "ssh";
	}
	return "?";
}

void exec_mount_init(struct exec_mount *m, enum exec_mount_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->mode = -1;
	m->uid = -1;
	m->gid = -1;
	m->readonly = type == EXEC_MOUNT_BIND;
	m->sharing = EXEC_SHARING_SHARED;
}

char *exec_cache_mount_dir(const char *cache_root, const char *id, const char *target)
{
	const char *key = id && *id ? id : target;
	char hex[65];
	strata_sha256_hex(key, strlen(key), hex);
	return xasprintf("%s/%s", cache_root, hex);
}

/* The target of m in the container (secrets default to /run/secrets/<id>). */
static char *mount_target(const struct exec_mount *m)
{
	if (m->target && *m->target)
		return xstrdup(m->target);
	if (m->type == EXEC_MOUNT_SECRET && m->id && *m->id && !(m->env && *m->env))
		return xasprintf("/run/secrets/%s", m->id);
	return NULL;
}

static int copy_tree_at(int sfd, int dfd, const char *name, const char *display, int depth,
			struct strata_error **err);

/* Copy the entries of directory sfd into directory dfd. */
static int copy_dir_entries(int sfd, int dfd, const char *display, int depth, struct strata_error **err)
{
	int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return strata_error_make(err, errno, "open directory '%s'", display);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *sub = xasprintf("%s/%s", display, de->d_name);
		r = copy_tree_at(sfd, dfd, de->d_name, sub, depth + 1, err);
	}
	closedir(d);
	return r;
}

/* Copy sfd/name to dfd/name: directories, regular files, symlinks, with modes and owners. */
static int copy_tree_at(int sfd, int dfd, const char *name, const char *display, int depth,
			struct strata_error **err)
{
	struct stat st;
	if (depth > 256)
		return strata_error_make(err, ELOOP, "copy '%s'", display);
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "stat '%s'", display);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dfd, name, 0700) < 0)
			return strata_error_make(err, errno, "mkdir for '%s'", display);
		cleanup_close int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return strata_error_make(err, errno, "open '%s'", display);
		if (copy_dir_entries(s, d, display, depth, err) < 0)
			return -1;
		if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
			return strata_error_make(err, errno, "set owner and mode of the copy of '%s'", display);
	} else if (S_ISREG(st.st_mode)) {
		cleanup_close int s = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int d = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (s < 0 || d < 0)
			return strata_error_make(err, errno, "copy '%s'", display);
		char buf[65536];
		for (;;) {
			ssize_t n = read(s, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return strata_error_make(err, errno, "read '%s'", display);
			if (n == 0)
				break;
			if (strata_write_full(d, buf, (size_t)n, display, err) < 0)
				return -1;
		}
		if (fchown(d, st.st_uid, st.st_gid) < 0 || fchmod(d, st.st_mode & 07777) < 0)
			return strata_error_make(err, errno, "set owner and mode of the copy of '%s'", display);
	} else if (S_ISLNK(st.st_mode)) {
		char t[4096];
		ssize_t n = readlinkat(sfd, name, t, sizeof(t) - 1);
		if (n < 0)
			return strata_error_make(err, errno, "readlink '%s'", display);
		t[n] = '\0';
		if (symlinkat(t, dfd, name) < 0 || fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "copy symlink '%s'", display);
	}
	/* sockets, fifos, devices: not seeded */
	return 0;
}

/* A new cache dir with from=/source= starts as a copy of that directory. */
static int seed(const char *src, const char *dst, struct strata_error **err)
{
	cleanup_close int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return strata_error_make(err, errno, "open cache seed '%s'", src);
	cleanup_close int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return strata_error_make(err, errno, "open '%s'", dst);
	return copy_dir_entries(sfd, dfd, src, 0, err);
}

static int prepare_cache(struct exec_ctx *ctx, const struct exec_mount *m, struct exec_prepared_mount *pm,
			 const char *target, struct strata_error **err)
{
	const char *root = ctx->spec->cache_root;
	if (!root || !*root)
		return strata_error_make(err, 0, "no cache root configured");
	struct stat sst;
	if (m->host_source && stat(m->host_source, &sst) < 0)
		return strata_error_make(err, errno, "cache seed '%s'", m->host_source);
	if (m->host_source && !S_ISDIR(sst.st_mode))
		return strata_error_make(err, ENOTDIR, "cache seed '%s'", m->host_source);
	cleanup_free char *dir = exec_cache_mount_dir(root, m->id, target);
	if (strata_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *lock = xasprintf("%s/lock", dir);
	cleanup_close int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", lock);
	int op = m->sharing == EXEC_SHARING_SHARED ? LOCK_SH : LOCK_EX;
	if (m->sharing == EXEC_SHARING_PRIVATE)
		op |= LOCK_NB;
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return strata_error_make(err, errno, "lock '%s'", lock);
		/* private and busy: a throw-away directory of its own */
		cleanup_free char *tmp = NULL;
		if (strata_mkdtemp(root, "private-", &tmp, err) < 0)
			return -1;
		if (m->host_source && seed(m->host_source, tmp, err) < 0) {
			strata_rm_rf(tmp, NULL);
			return -1;
		}
		if (chmod(tmp, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0 ||
		    chown(tmp, m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0) < 0) {
			int e = errno;
			strata_rm_rf(tmp, NULL);
			return strata_error_make(err, e, "set up '%s'", tmp);
		}
		pm->host_dir = xstrdup(tmp);
		pm->private_tmp = STRATA_STEAL(tmp);
		return 0;
	}
	/* the lock file's mtime is the mount's last use (garbage collection's LRU) */
	(void)futimens(fd, NULL);
	cleanup_free char *data = xasprintf("%s/data", dir);
	if (!strata_path_exists(data)) {
		/* made complete (mode, owner) under another name, then renamed */
		cleanup_free char *tmp = NULL;
		if (strata_mkdtemp(dir, "data.new-", &tmp, err) < 0)
			return -1;
		if (m->host_source && seed(m->host_source, tmp, err) < 0) {
			strata_rm_rf(tmp, NULL);
			return -1;
		}
		if (chmod(tmp, m->mode >= 0 ? (mode_t)m->mode : 0755) < 0 ||
		    chown(tmp, m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0) < 0 ||
		    (rename(tmp, data) < 0 && errno != EEXIST && errno != ENOTEMPTY)) {
			int e = errno;
			strata_rm_rf(tmp, NULL);
			return strata_error_make(err, e, "create cache directory '%s'", data);
		}
		strata_rm_rf(tmp, NULL); /* lost a race: someone else's is there (else: gone by the rename) */
	}
	pm->host_dir = STRATA_STEAL(data);
	pm->lock_fd = STRATA_STEAL_FD(fd);
	return 0;
}

int exec_mounts_prepare(struct exec_ctx *ctx, struct strata_error **err)
{
	const struct exec_spec *spec = ctx->spec;
	ctx->pm = xcalloc(spec->n_mounts ? spec->n_mounts : 1, sizeof(*ctx->pm));
	for (size_t i = 0; i < spec->n_mounts; i++)
		ctx->pm[i].lock_fd = -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct exec_mount *m = &spec->mounts[i];
		struct exec_prepared_mount *pm = &ctx->pm[i];
		cleanup_free char *target = mount_target(m);
		const char *tn = type_name(m->type);
		if (m->type == EXEC_MOUNT_SSH)
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "RUN --mount=type=ssh is not supported");
		bool env_only = m->type == EXEC_MOUNT_SECRET && m->env && *m->env && !target;
		if (env_only)
			target = xasprintf("env %s", m->env); /* for messages only */
		else if (!target)
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "RUN --mount=type=%s: no target", tn);
		if (!env_only && (target[0] != '/' || strchr(target, '\n')))
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "RUN --mount=type=%s: target '%s' is not an absolute path", tn,
						  target);
		int r = 0;
		switch (m->type) {
		case EXEC_MOUNT_BIND: {
			struct stat st;
			if (!m->host_source)
				r = strata_error_make(err, 0, "no host source");
			else if (stat(m->host_source, &st) < 0)
				r = strata_error_make(err, errno, "source '%s'", m->host_source);
			else
				pm->source_is_dir = S_ISDIR(st.st_mode);
			break;
		}
		case EXEC_MOUNT_SECRET:
			if (!m->host_source) {
				if (m->required)
					r = strata_error_makec(err, STRATA_E_CONFIG, 0,
							       "secret '%s' is required but was not provided",
							       m->id ? m->id : target);
				pm->skip = true;
			} else if (access(m->host_source, R_OK) < 0) {
				r = strata_error_make(err, errno, "secret file '%s'", m->host_source);
			} else if (m->env && *m->env) {
				struct strata_buf b = STRATA_BUF_INIT;
				if (strchr(m->env, '='))
					r = strata_error_makec(err, STRATA_E_CONFIG, 0, "invalid env name '%s'",
							       m->env);
				else if (strata_buf_addf(&b, "%s=", m->env) < 0 ||
					 strata_read_file(m->host_source, &b, SECRET_MAX + strlen(m->env) + 1, err) < 0)
					r = -1;
				if (r == 0)
					pm->env_value = strata_buf_detach(&b, NULL);
				strata_buf_release(&b);
			}
			break;
		case EXEC_MOUNT_CACHE:
			r = prepare_cache(ctx, m, pm, target, err);
			break;
		case EXEC_MOUNT_TMPFS:
		case EXEC_MOUNT_SSH:
			break;
		}
		if (r < 0)
			return strata_error_wrap(err, "RUN --mount=type=%s,target=%s", tn, target);
	}
	return 0;
}

void exec_mounts_release(struct exec_ctx *ctx)
{
	if (!ctx->pm)
		return;
	for (size_t i = 0; i < ctx->spec->n_mounts; i++) {
		struct exec_prepared_mount *pm = &ctx->pm[i];
		if (pm->private_tmp)
			strata_rm_rf(pm->private_tmp, NULL);
		if (pm->lock_fd >= 0)
			close(pm->lock_fd);
		free(pm->private_tmp);
		free(pm->host_dir);
		free(pm->env_value);
	}
	free(ctx->pm);
	ctx->pm = NULL;
}

int exec_bind(const char *src, int target_fd, bool readonly, struct strata_error **err)
{
	cleanup_close int t = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (t < 0)
		return strata_error_make(err, errno, "bind '%s'", src);
	if (readonly) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
			return strata_error_make(err, errno, "make bind of '%s' read-only", src);
	}
	if (move_mount(t, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return strata_error_make(err, errno, "bind '%s'", src);
	return 0;
}

int exec_copy_file(const char *src, const char *dst, mode_t mode, uid_t uid, gid_t gid, size_t max,
		   struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(src, &b, max, err) < 0)
		return -1;
	cleanup_close int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", dst);
	if (strata_write_full(fd, b.data, b.len, dst, err) < 0)
		return -1;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		return strata_error_make(err, errno, "set owner and mode of '%s'", dst);
	return 0;
}

static int apply_one(struct exec_ctx *ctx, size_t i, int rootfd, int upperfd, const char *target,
		     struct strata_error **err)
{
	const struct exec_mount *m = &ctx->spec->mounts[i];
	struct exec_prepared_mount *pm = &ctx->pm[i];
	char fdp[32];
	bool is_dir = m->type != EXEC_MOUNT_SECRET && (m->type != EXEC_MOUNT_BIND || pm->source_is_dir);
	cleanup_close int tfd = exec_path_ensure(rootfd, upperfd, ctx->state_fd, target,
						 is_dir ? EXEC_TARGET_DIR : EXEC_TARGET_FILE, err);
	if (tfd < 0)
		return -1;
	switch (m->type) {
	case EXEC_MOUNT_CACHE:
		return exec_bind(pm->host_dir, tfd, m->readonly, err);
	case EXEC_MOUNT_BIND:
		if (m->readonly && !(m->hide_dir && pm->source_is_dir))
			return exec_bind(m->host_source, tfd, true, err);
		if (pm->source_is_dir) {
			/* writable: the writes go to a tmpfs upper and vanish; hide_dir's
			 * whiteouts above the source hide what .dockerignore excludes */
			const char *lowers[] = { m->hide_dir ? m->hide_dir : m->host_source, m->host_source };
			size_t nl = m->hide_dir ? 2 : 1;
			cleanup_free char *u = NULL, *w = NULL;
			/* the copy snapshotter copies the source: on disk in the run's dir, not in the small tmpfs */
			bool copy = sandbox_overlay_driver(NULL) == SANDBOX_OVERLAY_COPY;
			cleanup_free char *where = copy ? xasprintf("%s/copies", ctx->run_path) : xstrdup(ctx->stage);
			if (copy && mkdir(where, 0700) < 0 && errno != EEXIST)
				return strata_error_make(err, errno, "mkdir '%s'", where);
			if (!m->readonly || copy) {
				w = xasprintf("%s/bind-%zu-work", where, i);
				if (mkdir(w, 0700) < 0)
					return strata_error_make(err, errno, "mkdir '%s'", w);
			}
			if (!m->readonly) {
				u = xasprintf("%s/bind-%zu-upper", where, i);
				if (mkdir(u, 0755) < 0)
					return strata_error_make(err, errno, "mkdir '%s'", u);
			}
			if (sandbox_overlay_mount(lowers, nl, u, w, exec_fd_path(fdp, tfd), err) < 0)
				return strata_error_wrap(err, "%s bind of '%s'", m->readonly ? "read-only" : "writable",
							 m->host_source);
			return 0;
		} else {
			struct stat st;
			if (stat(m->host_source, &st) < 0)
				return strata_error_make(err, errno, "stat '%s'", m->host_source);
			cleanup_free char *copy = xasprintf("%s/bind-%zu", ctx->stage, i);
			if (exec_copy_file(m->host_source, copy, st.st_mode & 07777, st.st_uid, st.st_gid,
					   (size_t)64 << 20, err) < 0)
				return -1;
			return exec_bind(copy, tfd, false, err);
		}
	case EXEC_MOUNT_TMPFS: {
		cleanup_free char *opts = m->size ? xasprintf("mode=%o,size=%llu", m->mode >= 0 ? m->mode : 01777,
							       (unsigned long long)m->size)
						  : xasprintf("mode=%o", m->mode >= 0 ? m->mode : 01777);
		if (mount("tmpfs", exec_fd_path(fdp, tfd), "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
			return strata_error_make(err, errno, "mount tmpfs");
		return 0;
	}
	case EXEC_MOUNT_SECRET: {
		cleanup_free char *copy = xasprintf("%s/secret-%zu", ctx->stage, i);
		if (exec_copy_file(m->host_source, copy, m->mode >= 0 ? (mode_t)m->mode : 0400,
				   m->uid >= 0 ? (uid_t)m->uid : 0, m->gid >= 0 ? (gid_t)m->gid : 0, SECRET_MAX,
				   err) < 0)
			return -1;
		return exec_bind(copy, tfd, true, err);
	}
	case EXEC_MOUNT_SSH:
		break;
	}
	return strata_error_make(err, 0, "unsupported mount type");
}

int exec_mounts_apply(struct exec_ctx *ctx, int rootfd, int upperfd, struct strata_error **err)
{
	for (size_t i = 0; i < ctx->spec->n_mounts; i++) {
		if (ctx->pm[i].skip)
			continue;
		const struct exec_mount *m = &ctx->spec->mounts[i];
		cleanup_free char *target = mount_target(m);
		if (!target)
			continue; /* a secret as an environment variable only */
		if (apply_one(ctx, i, rootfd, upperfd, target, err) < 0)
			return strata_error_wrap(err, "RUN --mount=type=%s,target=%s", type_name(m->type), target);
	}
	return 0;
}
