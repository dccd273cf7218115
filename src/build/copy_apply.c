/*
 * copy_apply.c — COPY/ADD into a rootfs: every destination path is resolved
 * with openat2(RESOLVE_IN_ROOT), so an image's symlinks (/bin -> usr/bin, or
 * a hostile /x -> /etc) resolve inside the rootfs, never onto the host.
 */
#include "build/build_internal.h"
#include "build/exec_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_fd(int dfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)flags | O_CLOEXEC, .resolve = resolve };
	int fd;
	do
		fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* open (creating as needed, owned uid:gid, 0755) the directory abs in the rootfs;
 * every prefix is resolved from the rootfs root, so symlinks resolve in it */
static int mkdirs(int rootfd, const char *abs, uid_t uid, gid_t gid, struct strata_error **err)
{
	int fd = openat2_fd(rootfd, "/", O_DIRECTORY | O_RDONLY, RESOLVE_IN_ROOT);
	if (fd < 0)
		return strata_error_make(err, errno, "open rootfs");
	struct strata_buf prefix = STRATA_BUF_INIT;
	const char *rest = abs;
	size_t len;
	for (const char *p; (p = strata_path_next(&rest, &len));) {
		strata_buf_addch(&prefix, '/');
		strata_buf_add(&prefix, p, len);
		int next = openat2_fd(rootfd, prefix.data, O_DIRECTORY | O_RDONLY, RESOLVE_IN_ROOT);
		if (next < 0 && errno == ENOENT) {
			cleanup_free char *c = xstrndup(p, len);
			bool made = mkdirat(fd, c, 0755) == 0;
			int en = errno;
			if (made || en == EEXIST)
				next = openat2_fd(rootfd, prefix.data, O_DIRECTORY | O_RDONLY, RESOLVE_IN_ROOT);
			/* only a directory made here gets owner and mode (0755 whatever the
			 * umask, docker's mode for created parents), through its own fd: the
			 * name may be a symlink (EEXIST) that must never be followed */
			if ((!made && en != EEXIST) ||
			    (made && next >= 0 && (fchown(next, uid, gid) < 0 || fchmod(next, 0755) < 0))) {
				en = made ? errno : en;
				if (next >= 0)
					close(next);
				close(fd);
				strata_error_make(err, en, "mkdir '%s'", prefix.data);
				strata_buf_release(&prefix);
				return -1;
			}
		}
		if (next < 0) {
			int en = errno;
			close(fd);
			strata_error_make(err, en, "open directory '%s'", prefix.data);
			strata_buf_release(&prefix);
			return -1;
		}
		close(fd);
		fd = next;
	}
	strata_buf_release(&prefix);
	return fd;
}

/* split abs into parent dir (opened, created) and the last name */
static int open_parent(int rootfd, const char *abs, uid_t uid, gid_t gid, char **name, struct strata_error **err)
{
	const char *s = strrchr(abs, '/');
	cleanup_free char *parent = s && s != abs ? xstrndup(abs, (size_t)(s - abs)) : xstrdup("/");
	*name = xstrdup(s ? s + 1 : abs);
	int fd = mkdirs(rootfd, parent, uid, gid, err);
	if (fd < 0) {
		free(*name);
		*name = NULL;
	}
	return fd;
}

static bool is_dir_at(int rootfd, const char *abs)
{
	int fd = openat2_fd(rootfd, abs, O_DIRECTORY | O_RDONLY, RESOLVE_IN_ROOT);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* remove a non-directory at parentfd/name so it can be replaced */
static int clear_name(int parentfd, const char *name, bool want_dir, struct strata_error **err)
{
	struct stat st;
	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", name);
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		return strata_error_make(err, EISDIR, "cannot overwrite directory '%s' with a non-directory", name);
	}
	if (unlinkat(parentfd, name, 0) < 0)
		return strata_error_make(err, errno, "remove '%s'", name);
	return 0;
}

static int write_fd_from_fd(int out, int in, const char *what, struct strata_error **err)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
				break;
			return strata_error_make(err, errno, "copy '%s'", what);
		}
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strata_error_make(err, errno, "read '%s'", what);
		if (n == 0)
			return 0;
		if (strata_write_full(out, buf, (size_t)n, what, err) < 0)
			return -1;
	}
}

static int create_file(int parentfd, const char *name, mode_t mode, uid_t uid, gid_t gid, int *out,
		       struct strata_error **err)
{
	if (clear_name(parentfd, name, false, err) < 0)
		return -1;
	int fd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", name);
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0) {
		int e = errno;
		close(fd);
		return strata_error_make(err, e, "set owner/mode of '%s'", name);
	}
	*out = fd;
	return 0;
}

/* Directories copied, whose times are set once their content is in place. */
struct dir_times {
	char **abs;
	struct timespec *mtime;
	size_t n, cap;
};

static void dir_times_add(struct dir_times *d, const char *abs, struct timespec mtime)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->abs = xreallocarray(d->abs, d->cap, sizeof(*d->abs));
		d->mtime = xreallocarray(d->mtime, d->cap, sizeof(*d->mtime));
	}
	d->abs[d->n] = xstrdup(abs);
	d->mtime[d->n++] = mtime;
}

/* the mtime (and atime) of abs, a directory or symlink, in the rootfs */
static int set_times(int rootfd, const char *abs, struct timespec mtime, struct strata_error **err);

/* Set the directories' times, last copied first (rootfd < 0: none); frees the list. */
static int dir_times_apply(int rootfd, struct dir_times *d, struct strata_error **err)
{
	int rc = 0;
	for (size_t i = d->n; i-- > 0;) {
		if (rc == 0 && rootfd >= 0)
			rc = set_times(rootfd, d->abs[i], d->mtime[i], err);
		free(d->abs[i]);
	}
	free(d->abs);
	free(d->mtime);
	*d = (struct dir_times){ 0 };
	return rc;
}

/*
 * copy one source entry to abs in the rootfs; it keeps the source's mtime,
 * as docker does (a directory's is set by dir_times_apply after its content)
 */
static int copy_entry(int rootfd, int srcfd, const struct build_ctx_entry *e, const char *abs,
		      const struct copy_attrs *a, struct dir_times *dt, struct strata_error **err)
{
	const struct timespec times[2] = { e->mtime, e->mtime };
	cleanup_free char *name = NULL;
	cleanup_close int pfd = open_parent(rootfd, abs, a->uid, a->gid, &name, err);
	if (pfd < 0)
		return -1;
	if (!*name)
		return 0; /* the root itself */
	mode_t perm = a->chmod >= 0 ? (mode_t)a->chmod : (e->mode & 07777);
	if (S_ISDIR(e->mode)) {
		int r = clear_name(pfd, name, true, err);
		if (r < 0)
			return -1;
		if (r == 0 && mkdirat(pfd, name, 0700) < 0)
			return strata_error_make(err, errno, "mkdir '%s'", abs);
		if (fchownat(pfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(pfd, name, perm, 0) < 0)
			return strata_error_make(err, errno, "set owner/mode of '%s'", abs);
		dir_times_add(dt, abs, e->mtime);
		return 0;
	}
	if (S_ISLNK(e->mode)) {
		if (clear_name(pfd, name, false, err) < 0)
			return -1;
		if (symlinkat(e->link ? e->link : "", pfd, name) < 0)
			return strata_error_make(err, errno, "symlink '%s'", abs);
		if (fchownat(pfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "chown '%s'", abs);
		if (utimensat(pfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "set times of '%s'", abs);
		return 0;
	}
	if (!S_ISREG(e->mode))
		return 0; /* sockets, fifos, devices are not copied */
	cleanup_close int in = openat2_fd(srcfd, e->path, O_RDONLY | O_NOFOLLOW,
					  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (in < 0)
		return strata_error_make(err, errno, "open '%s'", e->path);
	cleanup_close int out = -1;
	if (create_file(pfd, name, perm, a->uid, a->gid, &out, err) < 0 || write_fd_from_fd(out, in, e->path, err) < 0)
		return -1;
	if (futimens(out, times) < 0)
		return strata_error_make(err, errno, "set times of '%s'", abs);
	return 0;
}

static int set_times(int rootfd, const char *abs, struct timespec mtime, struct strata_error **err)
{
	const struct timespec times[2] = { mtime, mtime };
	cleanup_free char *name = NULL;
	cleanup_close int pfd = open_parent(rootfd, abs, 0, 0, &name, err);
	if (pfd < 0)
		return -1;
	if (utimensat(pfd, *name ? name : ".", times, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "set times of '%s'", abs);
	return 0;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static char *join_abs(const char *dir, const char *rel)
{
	if (!*rel)
		return xstrdup(dir);
	return xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", rel);
}

/* Does the file start like a (possibly compressed) tar? (ADD --unpack of a URL
 * unpacks archives and copies anything else as it is, as BuildKit's AttemptUnpack.) */
static bool looks_like_archive(const char *path)
{
	unsigned char h[512] = { 0 };
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, h, sizeof(h), 0) < 6)
		return false;
	return (h[0] == 0x1f && h[1] == 0x8b) || !memcmp(h, "BZh", 3) || !memcmp(h, "\xfd" "7zXZ\0", 6) ||
	       !memcmp(h, "\x28\xb5\x2f\xfd", 4) || !memcmp(h + 257, "ustar", 5);
}

/*
 * ADD of a local archive: extract into the directory dest, open at destfd.
 * Every entry is resolved inside dest (RESOLVE_IN_ROOT from destfd), as
 * BuildKit does: "../x", "/x" and symlinks in the archive (absolute or not)
 * cannot reach outside dest; they used to reach the rest of the image.
 */
static int extract_archive(int destfd, const char *path, const char *dest, const struct copy_attrs *a,
			   struct strata_error **err)
{
	int rootfd = destfd; /* the root every path below is resolved in */
	struct archive *ar = archive_read_new();
	archive_read_support_filter_all(ar);
	archive_read_support_format_all(ar);
	int rc = 0;
	if (archive_read_open_filename(ar, path, 65536) != ARCHIVE_OK) {
		rc = strata_error_make(err, 0, "open archive '%s': %s", path, archive_error_string(ar));
		goto out;
	}
	struct archive_entry *ae;
	for (;;) {
		int r = archive_read_next_header(ar, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = strata_error_make(err, 0, "read archive '%s': %s", path, archive_error_string(ar));
			goto out;
		}
		cleanup_free char *abs = join_abs("/", archive_entry_pathname(ae));
		cleanup_free char *shown = join_abs(dest, archive_entry_pathname(ae)); /* for messages */
		mode_t mode = archive_entry_mode(ae);
		uid_t uid = (uid_t)archive_entry_uid(ae);
		gid_t gid = (gid_t)archive_entry_gid(ae);
		cleanup_free char *name = NULL;
		cleanup_close int pfd = open_parent(rootfd, abs, a->uid, a->gid, &name, err);
		if (pfd < 0) {
			rc = -1;
			goto out;
		}
		if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		const char *hl = archive_entry_hardlink(ae);
		if (hl) {
			cleanup_free char *target = join_abs("/", hl);
			cleanup_free char *tname = NULL;
			cleanup_close int tfd = open_parent(rootfd, target, a->uid, a->gid, &tname, err);
			if (tfd < 0 || clear_name(pfd, name, false, err) < 0) {
				rc = -1;
				goto out;
			}
			if (linkat(tfd, tname, pfd, name, 0) < 0) {
				rc = strata_error_make(err, errno, "link '%s'", shown);
				goto out;
			}
			continue;
		}
		if (S_ISDIR(mode)) {
			int c = clear_name(pfd, name, true, err);
			if (c < 0 || (c == 0 && mkdirat(pfd, name, 0700) < 0) ||
			    fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(pfd, name, mode & 07777, 0) < 0) {
				rc = c < 0 ? -1 : strata_error_make(err, errno, "mkdir '%s'", shown);
				goto out;
			}
		} else if (S_ISLNK(mode)) {
			if (clear_name(pfd, name, false, err) < 0) {
				rc = -1;
				goto out;
			}
			if (symlinkat(archive_entry_symlink(ae), pfd, name) < 0 ||
			    fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
				rc = strata_error_make(err, errno, "symlink '%s'", shown);
				goto out;
			}
		} else if (S_ISREG(mode)) {
			cleanup_close int fd = -1;
			if (create_file(pfd, name, mode, uid, gid, &fd, err) < 0) {
				rc = -1;
				goto out;
			}
			const void *buf;
			size_t len;
			la_int64_t off;
			while ((r = archive_read_data_block(ar, &buf, &len, &off)) == ARCHIVE_OK) {
				if (pwrite(fd, buf, len, off) != (ssize_t)len) {
					rc = strata_error_make(err, errno, "write '%s'", shown);
					goto out;
				}
			}
			if (r != ARCHIVE_EOF) {
				rc = strata_error_make(err, 0, "read archive '%s': %s", path, archive_error_string(ar));
				goto out;
			}
			if (ftruncate(fd, archive_entry_size(ae)) < 0) {
				rc = strata_error_make(err, errno, "truncate '%s'", shown);
				goto out;
			}
		}
	}
out:
	archive_read_free(ar);
	return rc;
}

static int copy_items(int rootfd, const char *src_root, struct build_context *src, const struct build_copy_plan *p,
		      const struct dockerfile_step *st, const struct copy_attrs *a, struct dir_times *dt,
		      struct strata_error **err)
{
	cleanup_close int srcfd = open(src_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (srcfd < 0)
		return strata_error_make(err, errno, "open '%s'", src_root);
	for (size_t i = 0; i < p->nitems; i++) {
		const struct build_copy_item *it = &p->items[i];
		if (it->url) {
			if (!it->fetched)
				return strata_error_makec(err, STRATA_E_CONFIG, 0, "ADD %s: not downloaded", it->src);
			if (it->archive && looks_like_archive(it->fetched)) { /* ADD --unpack: extract into dest */
				cleanup_close int dfd = mkdirs(rootfd, it->dest, a->uid, a->gid, err);
				if (dfd < 0 || extract_archive(dfd, it->fetched, it->dest, a, err) < 0)
					return strata_error_wrap(err, "ADD --unpack %s", it->src);
				continue;
			}
			/* the name is the URL path's last component (docker's rule) */
			cleanup_free char *u = xstrdup(it->src);
			u[strcspn(u, "?#")] = '\0';
			const char *slash = strrchr(u + 8, '/');
			const char *bn = slash && slash[1] ? slash + 1 : "index.html";
			cleanup_free char *abs = it->into_dir || is_dir_at(rootfd, it->dest) ? join_abs(it->dest, bn)
											     : xstrdup(it->dest);
			cleanup_free char *name = NULL;
			cleanup_close int pfd = open_parent(rootfd, abs, a->uid, a->gid, &name, err);
			cleanup_close int fd = -1;
			cleanup_close int in = open(it->fetched, O_RDONLY | O_CLOEXEC);
			if (in < 0)
				return strata_error_make(err, errno, "open '%s'", it->fetched);
			if (pfd < 0 || create_file(pfd, name, a->chmod >= 0 ? (mode_t)a->chmod : 0600, a->uid, a->gid, &fd,
						   err) < 0)
				return -1;
			if (write_fd_from_fd(fd, in, it->src, err) < 0)
				return -1;
			continue;
		}
		if (it->heredoc) {
			const char *content = "";
			for (size_t h = 0; h < st->nheredocs; h++)
				if (!strcmp(st->heredocs[h].name, it->src))
					content = st->heredocs[h].content;
			cleanup_free char *abs = it->into_dir || is_dir_at(rootfd, it->dest)
							 ? join_abs(it->dest, it->src)
							 : xstrdup(it->dest);
			cleanup_free char *name = NULL;
			cleanup_close int pfd = open_parent(rootfd, abs, a->uid, a->gid, &name, err);
			cleanup_close int fd = -1;
			if (pfd < 0 || create_file(pfd, name, a->chmod >= 0 ? (mode_t)a->chmod : 0644, a->uid, a->gid, &fd,
						   err) < 0)
				return -1;
			if (strata_write_full(fd, content, strlen(content), abs, err) < 0)
				return -1;
			continue;
		}
		if (it->contents) {
			/* a directory made by the copy takes the source directory's mtime */
			ssize_t di = *it->src && !is_dir_at(rootfd, it->dest) ? build_context_find(src, it->src) : -1;
			if (di >= 0)
				dir_times_add(dt, it->dest, build_context_entry(src, (size_t)di)->mtime);
			cleanup_close int dfd = mkdirs(rootfd, it->dest, a->uid, a->gid, err);
			if (dfd < 0)
				return -1;
			size_t sl = strlen(it->src);
			for (size_t f = 0; f < p->nfiles; f++) {
				struct build_ctx_entry *e = build_context_entry(src, p->files[f]);
				const char *rel;
				if (sl == 0)
					rel = e->path;
				else if (!strncmp(e->path, it->src, sl) && e->path[sl] == '/')
					rel = e->path + sl + 1;
				else
					continue;
				cleanup_free char *abs = join_abs(it->dest, rel);
				if (copy_entry(rootfd, srcfd, e, abs, a, dt, err) < 0)
					return -1;
			}
			continue;
		}
		ssize_t idx = build_context_find(src, it->src);
		if (idx < 0)
			return strata_error_makec(err, STRATA_E_NOTFOUND, ENOENT, "\"%s\": not found", it->src);
		struct build_ctx_entry *e = build_context_entry(src, (size_t)idx);
		if (it->archive && S_ISREG(e->mode)) {
			cleanup_free char *path = strata_path_join(src_root, e->path);
			cleanup_close int dfd = mkdirs(rootfd, it->dest, a->uid, a->gid, err);
			if (dfd < 0 || extract_archive(dfd, path, it->dest, a, err) < 0)
				return -1;
			continue;
		}
		cleanup_free char *abs = it->into_dir || is_dir_at(rootfd, it->dest) ? join_abs(it->dest, base_of(e->path))
										       : xstrdup(it->dest);
		if (copy_entry(rootfd, srcfd, e, abs, a, dt, err) < 0)
			return -1;
	}
	return 0;
}

int copy_apply(int rootfd, const char *src_root, struct build_context *src, const struct build_copy_plan *p,
	       const struct dockerfile_step *st, const struct copy_attrs *a, struct strata_error **err)
{
	struct dir_times dt = { 0 };
	int rc = copy_items(rootfd, src_root, src, p, st, a, &dt, err);
	if (rc < 0) {
		dir_times_apply(-1, &dt, NULL); /* only frees */
		return rc;
	}
	return dir_times_apply(rootfd, &dt, err);
}

int copy_chown_resolve(int rootfd, const char *spec, uid_t *uid, gid_t *gid, struct strata_error **err)
{
	struct strata_buf pw = STRATA_BUF_INIT, gr = STRATA_BUF_INIT;
	bool have_pw = false, have_gr = false;
	static const char *const files[] = { "/etc/passwd", "/etc/group" };
	struct strata_buf *bufs[] = { &pw, &gr };
	bool *have[] = { &have_pw, &have_gr };
	for (int i = 0; i < 2; i++) {
		int fd = openat2_fd(rootfd, files[i], O_RDONLY, RESOLVE_IN_ROOT);
		if (fd < 0)
			continue;
		char buf[8192];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0 && bufs[i]->len < (4u << 20))
			strata_buf_add(bufs[i], buf, (size_t)n);
		close(fd);
		*have[i] = true;
	}
	struct exec_user u;
	int rc = exec_user_resolve(spec, have_pw ? pw.data : NULL, have_gr ? gr.data : NULL, &u, err);
	strata_buf_release(&pw);
	strata_buf_release(&gr);
	if (rc < 0)
		return strata_error_wrap(err, "--chown=%s", spec);
	*uid = u.uid;
	*gid = u.gid;
	exec_user_release(&u);
	/* --chown=UID (numeric, no group): the GID is the same number, as docker
	 * and BuildKit do (USER semantics gave gid 0 for a uid not in passwd) */
	if (*spec && !strchr(spec, ':') && strspn(spec, "0123456789") == strlen(spec))
		*gid = (gid_t)*uid;
	return 0;
}
