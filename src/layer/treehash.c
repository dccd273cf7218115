/*
 * treehash.c — a deterministic content digest of a tree (COPY cache keys).
 *
 * The digest is sha256 over one record per entry, in layer_create's order
 * (depth-first, children sorted bytewise):
 *
 *     <type> <perm octal> <uid> <gid> <payload> <pathlen>:<path>\n
 *
 * type is one of f d l c b p s; payload is the sha256 hex of a file's
 * content, the hex of a symlink's target, "major,minor" for devices, "-"
 * otherwise. The path is relative to the hashed root ("." for the root of a
 * listed directory is left out). mtime, inode numbers and link counts never
 * enter it, so copies of a tree hash the same.
 */
#include "layer/internal.h"
#include "layer/layer.h"

#include <fcntl.h>
#include <sys/sysmacros.h>

struct th {
	struct strata_hash h;
	struct strata_buf path;
	unsigned char *buf;
};

static int hash_file(struct th *t, int dirfd, const char *name, char hex[65], struct strata_error **err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", t->path.data);
	struct strata_hash h;
	strata_hash_init(&h, STRATA_HASH_SHA256);
	ssize_t n;
	while ((n = strata_read_full(fd, t->buf, 1 << 18, t->path.data, err)) > 0)
		strata_hash_update(&h, t->buf, (size_t)n);
	char full[STRATA_HASH_HEX_MAX];
	strata_hash_final(&h, full);
	if (n < 0)
		return -1;
	memcpy(hex, full, 65);
	return 0;
}

static int entry(struct th *t, int dirfd, const char *name, bool top, struct strata_error **err);

static int child(void *ctx, int dirfd, const char *name, struct strata_error **err)
{
	return entry(ctx, dirfd, name, false, err);
}

static int walk(struct th *t, int dirfd, struct strata_error **err)
{
	return layer_walk_names(dirfd, &t->path, child, t, err);
}

static int entry(struct th *t, int dirfd, const char *name, bool top, struct strata_error **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "stat '%s'", t->path.len ? t->path.data : name);
	char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l'
		  : S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p' : 's';
	struct strata_buf rec = STRATA_BUF_INIT;
	strata_buf_addf(&rec, "%c %o %u %u ", type, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			(unsigned)st.st_gid);
	if (type == 'f') {
		char hex[65];
		if (hash_file(t, dirfd, name, hex, err) < 0) {
			strata_buf_release(&rec);
			return -1;
		}
		strata_buf_adds(&rec, hex);
	} else if (type == 'l') {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);
		if (n < 0) {
			strata_buf_release(&rec);
			return strata_error_make(err, errno, "readlink '%s'", t->path.data);
		}
		for (ssize_t i = 0; i < n; i++)
			strata_buf_addf(&rec, "%02x", (unsigned char)target[i]);
		if (n == 0)
			strata_buf_addch(&rec, '-');
	} else if (type == 'c' || type == 'b') {
		strata_buf_addf(&rec, "%u,%u", major(st.st_rdev), minor(st.st_rdev));
	} else {
		strata_buf_addch(&rec, '-');
	}
	if (!(top && type == 'd' && t->path.len == 0))
		strata_buf_addf(&rec, " %zu:%s\n", t->path.len, t->path.data);
	else
		strata_buf_adds(&rec, " 0:\n");
	strata_hash_update(&t->h, rec.data, rec.len);
	strata_buf_release(&rec);
	if (type == 'd') {
		cleanup_close int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return strata_error_make(err, errno, "open directory '%s'", t->path.data);
		return walk(t, sub, err);
	}
	return 0;
}

static int run(const char *dir, const char *const *paths, size_t n, char out[LAYER_DIGEST_MAX],
	       struct strata_error **err)
{
	cleanup_close int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return strata_error_make(err, errno, "open directory '%s'", dir);
	struct th t = { .path = STRATA_BUF_INIT };
	t.buf = xmalloc(1 << 18);
	strata_hash_init(&t.h, STRATA_HASH_SHA256);
	int rc = 0;
	if (!paths) {
		rc = walk(&t, root, err);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++) {
			const char *p = paths[i];
			while (*p == '/')
				p++;
			if (!*p || strstr(p, "..")) {
				/* ".." anywhere is refused rather than interpreted */
				if (*p && (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 || strstr(p, "/../") ||
					   (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))) {
					rc = strata_error_makec(err, STRATA_E_USAGE, 0, "path '%s' leaves '%s'", paths[i], dir);
					break;
				}
			}
			strata_buf_reset(&t.path);
			strata_buf_adds(&t.path, *p ? p : ".");
			rc = entry(&t, root, *p ? p : ".", true, err);
		}
	}
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&t.h, hex);
	if (rc == 0)
		snprintf(out, LAYER_DIGEST_MAX, "sha256:%.64s", hex);
	else
		strata_error_wrap(err, "hash tree '%s'", dir);
	strata_buf_release(&t.path);
	free(t.buf);
	return rc;
}

int layer_treehash(const char *dir, char out[LAYER_DIGEST_MAX], struct strata_error **err)
{
	return run(dir, NULL, 0, out, err);
}

int layer_treehash_paths(const char *dir, const char *const *paths, size_t n, char out[LAYER_DIGEST_MAX],
			 struct strata_error **err)
{
	return run(dir, paths, n, out, err);
}
