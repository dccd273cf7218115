/*
 * fs.h — file system helpers: full reads/writes with EINTR retried, atomic
 * replacement of files (temp file, fsync, rename, fsync of the directory),
 * directory creation and removal, advisory locks. Every fd is O_CLOEXEC.
 */
#ifndef STRATA_UTIL_FS_H
#define STRATA_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/error.h"

/* write(2) until all n bytes are written; EINTR retried. @return 0 or -1 (err set). */
int strata_write_full(int fd, const void *p, size_t n, const char *what, struct strata_error **err);
/*
 * read(2) until n bytes or EOF; EINTR retried.
 * @return bytes read (< n only at EOF), or -1 (err set).
 */
ssize_t strata_read_full(int fd, void *p, size_t n, const char *what, struct strata_error **err);

/*
 * Read a whole file into out (appended), failing when it is longer than max
 * bytes. @return 0 or -1; the error names the path.
 */
int strata_read_file(const char *path, struct strata_buf *out, size_t max, struct strata_error **err);

/* fsync the directory at path. */
int strata_fsync_dir(const char *path, struct strata_error **err);

/*
 * Atomic replacement of a file, streaming form:
 *   strata_atomic_open(&a, path, 0644, err);   // creates "<dir>/.<name>.tmp-XXXXXX"
 *   write(a.fd, ...)...
 *   strata_atomic_commit(&a, err);   // fsync, rename over path, fsync dir
 * or strata_atomic_abort(&a) to discard. Commit and abort both release `a`;
 * abort is safe to call after commit (no-op), so it can be a cleanup.
 */
struct strata_atomic {
	int fd;
	char *tmp;
	char *path;
};
#define STRATA_ATOMIC_INIT { -1, NULL, NULL }
int strata_atomic_open(struct strata_atomic *a, const char *path, mode_t mode, struct strata_error **err);
int strata_atomic_commit(struct strata_atomic *a, struct strata_error **err);
void strata_atomic_abort(struct strata_atomic *a);
#define cleanup_atomic __attribute__((cleanup(strata_atomic_abort)))

/* Whole-buffer form of the above. */
int strata_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
			struct strata_error **err);

/* mkdir -p. Existing directories are fine. */
int strata_mkdir_p(const char *path, mode_t mode, struct strata_error **err);
/*
 * Make an existing directory private: mode 0700 when it is owned by the
 * effective uid and open to group or others (a store made by an older
 * strata). Best effort: a missing path, a foreign owner or a read-only file
 * system leave it as it is. @return 1 when it was tightened, else 0.
 */
int strata_dir_make_private(const char *path);
/* rm -rf; a missing path is fine. Does not cross into other mounts' content
 * beyond what unlinkat allows (it does not follow symlinks). */
int strata_rm_rf(const char *path, struct strata_error **err);
bool strata_path_exists(const char *path);
/* "a" + "/" + "b" without doubled slashes. Newly allocated. */
char *strata_path_join(const char *a, const char *b);
/*
 * Iterate over the components of a slash-separated path, skipping empty
 * ones: `for (const char *c; (c = strata_path_next(&p, &len));)`.
 * @return the next component (len bytes, not terminated; p moves past it),
 * or NULL at the end.
 */
const char *strata_path_next(const char **p, size_t *len);

/*
 * Advisory whole-file lock (flock) on path, created if missing. A shared
 * lock on a read-only file system (EROFS/EACCES) uses the existing file.
 * @return an fd >= 0 holding the lock (close it to release), or -1.
 */
int strata_lock_file(const char *path, bool exclusive, struct strata_error **err);

/* Create a unique temporary directory "<parent>/<prefix>XXXXXX". Newly allocated path in *out. */
int strata_mkdtemp(const char *parent, const char *prefix, char **out, struct strata_error **err);

#endif
