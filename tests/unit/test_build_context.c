#include "tap.h"
#include "build/context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *root;

static void put(const char *rel, const char *content)
{
	char *p = strata_path_join(root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	strata_mkdir_p(dir, 0755, NULL);
	strata_atomic_write(p, content, strlen(content), 0644, NULL);
	free(dir);
	free(p);
}

static bool ign_excluded(void *ctx, const char *path, bool is_dir)
{
	(void)ctx;
	(void)is_dir;
	return !strcmp(path, "node_modules") || !strncmp(path, "node_modules/", 13) || strstr(path, ".log");
}

static bool ign_reinclude(void *ctx, const char *dir)
{
	(void)ctx;
	(void)dir;
	return false;
}

/* Deletes the other file of v/ when it sees one: that one then vanishes mid-scan. */
static bool ign_vanish(void *ctx, const char *path, bool is_dir)
{
	(void)is_dir;
	const char *other = !strcmp(path, "v/a") ? "v/b" : !strcmp(path, "v/b") ? "v/a" : NULL;
	if (other) {
		char *p = strata_path_join(ctx, other);
		unlink(p);
		free(p);
	}
	return false;
}

static const char *digest_of(struct build_context *c, const char *path)
{
	ssize_t i = build_context_find(c, path);
	if (i < 0)
		return NULL;
	struct build_ctx_entry *e = build_context_entry(c, (size_t)i);
	if (build_context_digest(c, e, NULL) < 0)
		return NULL;
	return e->digest;
}

int main(void)
{
	struct strata_error *err = NULL;
	strata_mkdtemp("/tmp", "strata-ctx-", &root, NULL);
	char *ctxdir = strata_path_join(root, "ctx");
	char *cache = strata_path_join(root, "cache/stat");
	char *saved_root = root;
	root = ctxdir;
	put("b.txt", "bee");
	put("a/z.c", "int z;");
	put("a/y.c", "int y;");
	put("node_modules/x/index.js", "x");
	put("debug.log", "noise");
	char *lnk = strata_path_join(root, "link");
	symlink("a/y.c", lnk);
	free(lnk);

	struct build_ignore ign = { ign_excluded, ign_reinclude, NULL };
	struct build_context *c = NULL;
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "scan");
	is_int(build_context_count(c), 5, "a, a/y.c, a/z.c, b.txt, link (ignored paths left out)");
	is_str(build_context_entry(c, 0)->path, "a", "sorted: a");
	is_str(build_context_entry(c, 1)->path, "a/y.c", "sorted: a/y.c");
	is_str(build_context_entry(c, 4)->path, "link", "sorted: link");
	is_str(build_context_entry(c, 4)->link, "a/y.c", "symlink target recorded");
	ok(build_context_find(c, "node_modules/x/index.js") < 0, "excluded dir not descended");
	ok(build_context_find(c, "debug.log") < 0, "excluded file absent");
	char hex[65];
	strata_sha256_hex("bee", 3, hex);
	char want[80];
	snprintf(want, sizeof(want), "sha256:%s", hex);
	is_str(digest_of(c, "b.txt"), want, "digest is sha256 of the content");
	ok(digest_of(c, "a/z.c") != NULL, "second file hashed");
	struct build_context_stats st;
	build_context_stats(c, &st);
	is_int(st.hashed, 2, "two files hashed");
	ok(build_context_save(c, &err) == 0, "stat cache saved");
	build_context_free(c);

	/* let the racy window pass, then rescan: cache hits, no rehash */
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "rescan");
	is_str(digest_of(c, "b.txt"), want, "same digest from the cache");
	digest_of(c, "a/z.c");
	build_context_stats(c, &st);
	is_int(st.hashed, 0, "nothing rehashed");
	is_int(st.cache_hits, 2, "two cache hits");
	build_context_save(c, &err);
	build_context_free(c);

	/* modify one file: only it is rehashed, and its digest changes */
	nanosleep(&ts, NULL);
	put("b.txt", "bees");
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "rescan after edit");
	const char *d = digest_of(c, "b.txt");
	ok(d && strcmp(d, want) != 0, "edited file gets a new digest");
	digest_of(c, "a/z.c");
	build_context_stats(c, &st);
	is_int(st.hashed, 1, "only the edited file is rehashed");
	is_int(st.cache_hits, 1, "the other comes from the cache");
	build_context_save(c, &err);
	build_context_free(c);

	/* an entry whose mtime is not older than the cache file is racy: rehashed */
	{
		char *p = strata_path_join(root, "a/z.c");
		struct timespec times[2] = { { 0, UTIME_OMIT }, { time(NULL) + 3600, 0 } };
		utimensat(AT_FDCWD, p, times, 0);
		free(p);
	}
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "scan");
	digest_of(c, "a/z.c");
	build_context_save(c, &err);
	build_context_free(c);
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "scan again");
	digest_of(c, "a/z.c");
	build_context_stats(c, &st);
	is_int(st.hashed, 1, "racy entry (mtime not older than the cache) is rehashed");
	build_context_free(c);

	/* a corrupt cache is an empty cache, not an error */
	strata_atomic_write(cache, "garbage\n", 8, 0644, NULL);
	ok(build_context_open(root, &ign, cache, &c, &err) == 0, "corrupt stat cache ignored");
	ok(digest_of(c, "a/z.c") != NULL, "digest still computed");
	build_context_free(c);

	/* no ignore rules, no cache */
	ok(build_context_open(root, NULL, NULL, &c, &err) == 0, "scan without rules");
	ok(build_context_find(c, "node_modules/x/index.js") >= 0, "everything present without rules");
	build_context_free(c);

	/* a file removed while the scan runs is skipped, not an error */
	put("v/a", "a");
	put("v/b", "b");
	struct build_ignore vanish = { ign_vanish, NULL, root };
	c = NULL;
	ok(build_context_open(root, &vanish, NULL, &c, &err) == 0, "a file vanishing mid-scan is skipped");
	if (err) {
		char *vm = strata_error_string(err);
		diag("%s", vm);
		free(vm);
		strata_error_clear(&err);
	}
	ok(c && (build_context_find(c, "v/a") >= 0) != (build_context_find(c, "v/b") >= 0),
	   "the survivor is listed, the vanished one is not");
	build_context_free(c);
	c = NULL;

	ok(build_context_open("/nonexistent/ctx", NULL, NULL, &c, &err) == -1, "missing context fails");
	char *m = strata_error_string(err);
	ok(strstr(m, "/nonexistent/ctx") != NULL, "error names the context: %s", m);
	free(m);
	strata_error_clear(&err);

	strata_rm_rf(saved_root, NULL);
	free(saved_root);
	free(ctxdir);
	free(cache);
	return done_testing();
}
