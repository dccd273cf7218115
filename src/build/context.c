#include "build/context.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATCACHE_MAGIC "strata-statcache 1"
#define STATCACHE_MAX (256u << 20)

struct cache_rec {
	char *path;
	off_t size;
	struct timespec mtime, ctime;
	ino_t ino;
	dev_t dev;
	char digest[72];
};

struct build_context {
	char *root;
	int rootfd;
	struct build_ctx_entry *v;
	size_t n, cap;
	char **hidden;          /* paths the ignore rules excluded, sorted */
	size_t nhidden, caphidden;
	const struct build_ignore *ign;

	char *statcache;
	struct cache_rec *cache; /* sorted by path */
	size_t ncache;
	bool dirty;
	struct build_context_stats st;
	/* build_context_digest from several threads: lock guards the entries'
	 * digests and stat data, the counters and busy; busy[i] marks entry i
	 * being hashed by one thread (the others wait on done), the file is
	 * read without the lock */
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned char *busy;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct build_ctx_entry *)a)->path, ((const struct build_ctx_entry *)b)->path);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cache_rec *)a)->path, ((const struct cache_rec *)b)->path);
}

static struct build_ctx_entry *push_entry(struct build_context *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	struct build_ctx_entry *e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static int scan_dir(struct build_context *c, int dfd, const char *rel, bool parent_excluded,
		    struct strata_error **err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return strata_error_make(err, e, "open context directory '%s'", *rel ? rel : ".");
	}
	struct dirent *de;
	int r = 0;
	/* errno is reset before each readdir: only readdir's own failure may count */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = strata_error_make(err, errno, "read context directory '%s'", *rel ? rel : ".");
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *path = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* vanished while scanning */
			r = strata_error_make(err, errno, "stat '%s' in the build context", path);
			break;
		}
		bool is_dir = S_ISDIR(st.st_mode);
		bool excluded = c->ign && c->ign->excluded(c->ign->ctx, path, is_dir);
		(void)parent_excluded;
		if (excluded) {
			if (c->nhidden == c->caphidden) {
				c->caphidden = c->caphidden ? c->caphidden * 2 : 16;
				c->hidden = xreallocarray(c->hidden, c->caphidden, sizeof(*c->hidden));
			}
			c->hidden[c->nhidden++] = xstrdup(path);
		} else {
			struct build_ctx_entry *e = push_entry(c);
			e->path = xstrdup(path);
			e->mode = st.st_mode;
			e->uid = st.st_uid;
			e->gid = st.st_gid;
			e->size = S_ISREG(st.st_mode) ? st.st_size : 0;
			e->mtime = st.st_mtim;
			e->ctime = st.st_ctim;
			e->ino = st.st_ino;
			e->dev = st.st_dev;
			if (S_ISLNK(st.st_mode)) {
				char buf[PATH_MAX];
				ssize_t l = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
				if (l < 0) {
					r = strata_error_make(err, errno, "readlink '%s' in the build context", path);
					break;
				}
				e->link = xstrndup(buf, (size_t)l);
			}
		}
		if (is_dir && (!excluded || (c->ign->may_reinclude && c->ign->may_reinclude(c->ign->ctx, path)))) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = strata_error_make(err, errno, "open context directory '%s'", path);
				break;
			}
			if (scan_dir(c, sub, path, excluded, err) < 0) {
				r = -1;
				break;
			}
		}
	}
	closedir(d);
	return r;
}

/* Paths in the cache file escape '\\' and '\n'. */
static char *unescape_path(const char *s)
{
	struct strata_buf b = STRATA_BUF_INIT;
	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			strata_buf_addch(&b, '\n');
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			strata_buf_addch(&b, '\\');
			s++;
		} else {
			strata_buf_addch(&b, *s);
		}
	}
	return strata_buf_detach(&b, NULL);
}

static void escape_path(struct strata_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			strata_buf_adds(b, "\\n");
		else if (*s == '\\')
			strata_buf_adds(b, "\\\\");
		else
			strata_buf_addch(b, *s);
	}
}

static bool ts_before(struct timespec a, long long sec, long nsec)
{
	return a.tv_sec < sec || (a.tv_sec == sec && a.tv_nsec < nsec);
}

/* Load the stat cache; any problem just means an empty cache. */
static void load_cache(struct build_context *c)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(c->statcache, &b, STATCACHE_MAX, NULL) < 0)
		return;
	/* the cache file's own mtime comes from the same clock as the files' */
	struct stat cst;
	if (stat(c->statcache, &cst) < 0)
		return;
	long long saved_sec = (long long)cst.st_mtim.tv_sec;
	long saved_nsec = cst.st_mtim.tv_nsec;
	char *save = NULL;
	char *line = strtok_r(b.data, "\n", &save);
	if (!line || strncmp(line, STATCACHE_MAGIC, strlen(STATCACHE_MAGIC)) != 0)
		return;
	size_t cap = 0;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		struct cache_rec r;
		long long size, ms, cs, ino, dev;
		long mn, cn;
		int off = 0;
		char digest[72];
		if (sscanf(line, "%71s %lld %lld.%ld %lld.%ld %lld %lld %n", digest, &size, &ms, &mn, &cs, &cn, &ino,
			   &dev, &off) != 8 || off == 0 || !line[off])
			continue;
		if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
			continue;
		r.size = (off_t)size;
		r.mtime.tv_sec = (time_t)ms;
		r.mtime.tv_nsec = mn;
		r.ctime.tv_sec = (time_t)cs;
		r.ctime.tv_nsec = cn;
		r.ino = (ino_t)ino;
		r.dev = (dev_t)dev;
		/* racy: changed in the same tick the cache was written */
		if (!ts_before(r.mtime, saved_sec, saved_nsec) || !ts_before(r.ctime, saved_sec, saved_nsec))
			continue;
		memcpy(r.digest, digest, sizeof(digest));
		r.path = unescape_path(line + off);
		if (c->ncache == cap) {
			cap = cap ? cap * 2 : 256;
			c->cache = xreallocarray(c->cache, cap, sizeof(*c->cache));
		}
		c->cache[c->ncache++] = r;
	}
	if (c->ncache)
		qsort(c->cache, c->ncache, sizeof(*c->cache), rec_cmp);
}

int build_context_open(const char *root, const struct build_ignore *ign, const char *statcache,
		       struct build_context **out, struct strata_error **err)
{
	struct build_context *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	c->root = xstrdup(root);
	c->ign = ign;
	c->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		int e = errno;
		build_context_free(c);
		return strata_error_makec(err, STRATA_E_NOTFOUND, e, "open build context '%s'", root);
	}
	int dfd = dup(c->rootfd);
	if (dfd < 0 || fcntl(dfd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		build_context_free(c);
		return strata_error_make(err, e, "open build context '%s'", root);
	}
	if (scan_dir(c, dfd, "", false, err) < 0) {
		build_context_free(c);
		return strata_error_wrap(err, "scan build context '%s'", root);
	}
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), entry_cmp);
	if (c->nhidden)
		qsort(c->hidden, c->nhidden, sizeof(*c->hidden), str_cmp);
	c->st.entries = c->n;
	c->busy = xcalloc(c->n + 1, 1);
	if (statcache) {
		c->statcache = xstrdup(statcache);
		load_cache(c);
	}
	*out = c;
	return 0;
}

void build_context_free(struct build_context *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].link);
	}
	for (size_t i = 0; i < c->ncache; i++)
		free(c->cache[i].path);
	for (size_t i = 0; i < c->nhidden; i++)
		free(c->hidden[i]);
	free(c->hidden);
	free(c->cache);
	free(c->v);
	free(c->busy);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->done);
	if (c->rootfd >= 0)
		close(c->rootfd);
	free(c->root);
	free(c->statcache);
	free(c);
}

const char *build_context_root(const struct build_context *c)
{
	return c->root;
}

size_t build_context_count(const struct build_context *c)
{
	return c->n;
}

struct build_ctx_entry *build_context_entry(struct build_context *c, size_t i)
{
	return i < c->n ? &c->v[i] : NULL;
}

ssize_t build_context_find(const struct build_context *c, const char *path)
{
	struct build_ctx_entry key = { .path = (char *)path };
	const struct build_ctx_entry *e = c->n ? bsearch(&key, c->v, c->n, sizeof(*c->v), entry_cmp) : NULL;
	return e ? e - c->v : -1;
}

size_t build_context_hidden_count(const struct build_context *c)
{
	return c->nhidden;
}

const char *build_context_hidden(const struct build_context *c, size_t i)
{
	return c->hidden[i];
}

bool build_context_has_below(const struct build_context *c, const char *dir)
{
	size_t dl = strlen(dir), lo = 0, hi = c->n;
	cleanup_free char *prefix = xasprintf("%s/", dir);
	while (lo < hi) { /* first entry >= "dir/" */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->v[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && !strncmp(c->v[lo].path, prefix, dl + 1);
}

static bool same_stat(const struct cache_rec *r, const struct build_ctx_entry *e)
{
	return r->size == e->size && r->ino == e->ino && r->dev == e->dev && r->mtime.tv_sec == e->mtime.tv_sec &&
	       r->mtime.tv_nsec == e->mtime.tv_nsec && r->ctime.tv_sec == e->ctime.tv_sec &&
	       r->ctime.tv_nsec == e->ctime.tv_nsec;
}

/* read and hash the file of e (no lock held: e's stat data is only read by
 * the caller, which owns busy[e]) */
static int hash_file(struct build_context *c, const struct build_ctx_entry *e, char hex[STRATA_HASH_HEX_MAX],
		     struct stat *st, unsigned long long *total, struct strata_error **err)
{
	cleanup_close int fd = openat(c->rootfd, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s' in the build context", e->path);
	if (fstat(fd, st) < 0)
		return strata_error_make(err, errno, "stat '%s' in the build context", e->path);
	struct strata_hash h;
	strata_hash_init(&h, STRATA_HASH_SHA256);
	static const size_t bufsz = 256 * 1024;
	cleanup_free char *buf = xmalloc(bufsz);
	*total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e2 = errno;
			strata_hash_release(&h);
			return strata_error_make(err, e2, "read '%s' in the build context", e->path);
		}
		if (n == 0)
			break;
		strata_hash_update(&h, buf, (size_t)n);
		*total += (unsigned long long)n;
	}
	strata_hash_final(&h, hex);
	return 0;
}

int build_context_digest(struct build_context *c, struct build_ctx_entry *e, struct strata_error **err)
{
	if (!S_ISREG(e->mode))
		return strata_error_make(err, 0, "'%s' is not a regular file", e->path);
	size_t i = (size_t)(e - c->v);
	pthread_mutex_lock(&c->lock);
	while (c->busy[i])
		pthread_cond_wait(&c->done, &c->lock);
	if (e->digest[0]) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	struct cache_rec key = { .path = e->path };
	struct cache_rec *r = c->ncache ? bsearch(&key, c->cache, c->ncache, sizeof(*c->cache), rec_cmp) : NULL;
	if (r && same_stat(r, e)) {
		memcpy(e->digest, r->digest, sizeof(e->digest));
		c->st.cache_hits++;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	c->busy[i] = 1;
	pthread_mutex_unlock(&c->lock);

	char hex[STRATA_HASH_HEX_MAX];
	struct stat st;
	unsigned long long total = 0;
	int rc = hash_file(c, e, hex, &st, &total, err);

	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		memcpy(e->digest, "sha256:", 7);
		memcpy(e->digest + 7, hex, 65);
		/* what we hashed is what is there now: record the stat data we read with */
		e->size = st.st_size;
		e->mtime = st.st_mtim;
		e->ctime = st.st_ctim;
		e->ino = st.st_ino;
		e->dev = st.st_dev;
		c->st.hashed++;
		c->st.bytes_hashed += total;
		c->dirty = true;
	}
	c->busy[i] = 0;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void build_context_stats(const struct build_context *c, struct build_context_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*st = c->st;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}

/* One line of the cache file: "digest size mtime ctime ino dev path". */
static void add_record(struct strata_buf *b, const struct cache_rec *r, const char *digest)
{
	strata_buf_addf(b, "%s %lld %lld.%09ld %lld.%09ld %llu %llu ", digest, (long long)r->size,
			(long long)r->mtime.tv_sec, r->mtime.tv_nsec, (long long)r->ctime.tv_sec, r->ctime.tv_nsec,
			(unsigned long long)r->ino, (unsigned long long)r->dev);
	escape_path(b, r->path);
	strata_buf_addch(b, '\n');
}

int build_context_save(struct build_context *c, struct strata_error **err)
{
	if (!c->statcache || !c->dirty)
		return 0;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_adds(&b, STATCACHE_MAGIC "\n");
	/* merge: current digests win; cached records of files not looked at this run are kept */
	size_t i = 0, j = 0;
	while (i < c->n || j < c->ncache) {
		const struct build_ctx_entry *e = i < c->n ? &c->v[i] : NULL;
		const struct cache_rec *r = j < c->ncache ? &c->cache[j] : NULL;
		int cmp = !e ? 1 : !r ? -1 : strcmp(e->path, r->path);
		if (cmp <= 0) {
			if (e->digest[0]) {
				add_record(&b, &(struct cache_rec){ .path = e->path, .size = e->size,
								    .mtime = e->mtime, .ctime = e->ctime,
								    .ino = e->ino, .dev = e->dev },
					   e->digest);
			} else if (cmp == 0 && r && same_stat(r, e)) {
				add_record(&b, r, r->digest);
			}
			i++;
			if (cmp == 0)
				j++;
		} else {
			/* the file is gone or excluded now: drop its record */
			j++;
		}
	}
	cleanup_free char *dir = xstrdup(c->statcache);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (strata_mkdir_p(dir, 0700, err) < 0)
			return -1;
	}
	if (strata_atomic_write(c->statcache, b.data, b.len, 0600, err) < 0)
		return strata_error_wrap(err, "save stat cache");
	c->dirty = false;
	return 0;
}
