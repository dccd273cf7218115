/* engine_path_in_root: mount sources resolve inside their tree, never onto the host. */
#include "tap.h"
#include "build/build_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *root;

static char *under(const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

/* resolve rel; "ERR:<code>" or the path relative to root ("" for root) */
static char *res(const char *rel)
{
	struct strata_error *err = NULL;
	char *out = NULL;
	if (engine_path_in_root(root, rel, &out, &err) < 0) {
		char *s = xasprintf("ERR:%d", strata_error_code(err));
		strata_error_free(err);
		return s;
	}
	char *real = realpath(root, NULL);
	size_t n = strlen(real);
	char *r = xstrdup(strncmp(out, real, n) ? out : out[n] == '/' ? out + n + 1 : out + n);
	free(real);
	free(out);
	return r;
}

static void check(const char *rel, const char *want, const char *what)
{
	char *got = res(rel);
	is_str(got, want, "%s", what);
	free(got);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-inroot-XXXXXX";
	root = mkdtemp(tmpl);
	char *p;
	p = under("x");
	mkdir(p, 0755);
	free(p);
	p = under("etc");
	mkdir(p, 0755);
	free(p);
	p = under("x/file");
	strata_atomic_write(p, "x", 1, 0644, NULL);
	free(p);
	p = under("x/abs");
	if (symlink("/etc", p) < 0)
		return 1;
	free(p);
	p = under("x/up");
	if (symlink("../../../../../../../../etc", p) < 0)
		return 1;
	free(p);
	p = under("x/hostonly");
	if (symlink("/proc/self/status", p) < 0)
		return 1;
	free(p);

	check("/x/file", "x/file", "an absolute path inside the tree");
	check("x/file", "x/file", "a relative path is taken from the root");
	check("", "", "empty: the root");
	check("/", "", "/: the root");
	check("/x/abs", "etc", "an absolute symlink resolves inside the tree");
	check("/x/up", "etc", "a symlink climbing out stops at the root");
	check("/x/../../x/file", "x/file", ".. stops at the root");
	char *code = xasprintf("ERR:%d", STRATA_E_NOTFOUND);
	check("/x/hostonly", code, "a symlink to a host-only file is not found");
	check("/nope", code, "a missing path is not found");
	free(code);
	struct strata_error *err = NULL;
	char *out = NULL;
	ok(engine_path_in_root("/nonexistent-strata-dir", "/x", &out, &err) < 0 && !out, "a missing root fails");
	strata_error_free(err);
	strata_rm_rf(root, NULL);
	return done_testing();
}
