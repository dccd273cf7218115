/* prune_tree.c: disk usage and removal of build state trees (hard links
 * counted once, symlinks never followed, read-only directories emptied,
 * nesting bounded at 512 levels below the top). */
#include "tap.h"

/* the last 20 characters of m, for test names */
static const char *tail20(const char *m)
{
	return !m ? "" : strlen(m) > 20 ? m + strlen(m) - 20 : m;
}
#include "build/build_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *root;

static char *at(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

static void write_file(const char *rel, size_t size)
{
	cleanup_free char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	for (size_t done = 0; fd >= 0 && done < size; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) < 0)
			break;
	if (fd >= 0)
		close(fd);
}

/* rel/d/d/... n levels deep */
static void nest(const char *rel, int n)
{
	cleanup_free char *p = at(rel);
	mkdir(p, 0755);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; fd >= 0 && i < n; i++) {
		mkdirat(fd, "d", 0755);
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd >= 0)
		close(fd);
}

static void usage_is(const char *rel, int want_ok, const char *want_msg, int64_t *bytes)
{
	cleanup_free char *p = at(rel);
	struct strata_error *err = NULL;
	int r = prune_tree_usage(p, bytes, &err);
	char *m = err ? strata_error_string(err) : NULL;
	if (want_ok)
		ok(r == 0, "usage of %s (%lld bytes) %s", rel, (long long)*bytes, m ? m : "");
	else
		ok(r < 0 && m && strstr(m, want_msg), "usage of %s refused: ...%s", rel, tail20(m));
	free(m);
	strata_error_free(err);
}

static void remove_is(const char *rel, int want_ok, const char *want_msg)
{
	cleanup_free char *p = at(rel);
	struct strata_error *err = NULL;
	int r = prune_tree_remove(p, &err);
	char *m = err ? strata_error_string(err) : NULL;
	if (want_ok)
		ok(r == 0 && access(p, F_OK) < 0, "%s removed %s", rel, m ? m : "");
	else
		ok(r < 0 && m && strstr(m, want_msg), "removal of %s refused: ...%s", rel, tail20(m));
	free(m);
	strata_error_free(err);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-unit-prune-tree-XXXXXX";
	root = mkdtemp(tmpl);
	if (!root)
		return 1;

	int64_t b0 = -1, b1 = -1, b2 = -1;
	usage_is("absent", 1, NULL, &b0);
	ok(b0 == 0, "an absent tree uses nothing");
	remove_is("absent", 1, NULL);

	cleanup_free char *t = at("t"), *sub = at("t/sub"), *ro = at("t/ro");
	mkdir(t, 0755);
	mkdir(sub, 0755);
	write_file("t/sub/data", 64 << 10);
	write_file("outside", 64 << 10);
	cleanup_free char *out = at("outside"), *ln = at("t/link"), *h1 = at("t/sub/data"), *h2 = at("t/hard");
	ok(symlink(out, ln) == 0, "symlink out of the tree");
	usage_is("t", 1, NULL, &b1);
	ok(b1 >= 64 << 10 && b1 < 2 * (64 << 10), "the file counts, the symlink's target does not");
	ok(link(h1, h2) == 0, "hard link");
	usage_is("t", 1, NULL, &b2);
	ok(b2 == b1, "a hard link counts once (%lld, %lld)", (long long)b1, (long long)b2);
	mkdir(ro, 0755);
	write_file("t/ro/f", 1);
	chmod(ro, 0555);
	remove_is("t", 1, NULL);
	ok(access(out, F_OK) == 0, "the symlink's target survives");

	nest("deep512", 512);
	usage_is("deep512", 1, NULL, &b0);
	remove_is("deep512", 1, NULL);
	nest("deep513", 513);
	usage_is("deep513", 0, "nested too deep", &b0);
	remove_is("deep513", 0, "nested too deep");

	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	return done_testing();
}
