/* COPY/ADD source resolution against a context (docker/BuildKit rules). */
#include "tap.h"
#include "build/build.h"

#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

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

/* resolve the first step of "FROM scratch\n<line>" and print the plan */
static char *plan_of(struct build_context *c, const char *line, const char *workdir, struct strata_error **err)
{
	char *text = xasprintf("FROM scratch\n%s\n", line);
	struct dockerfile *df = NULL;
	struct dockerfile_build *b = NULL;
	struct dockerfile_scope *sc = NULL;
	struct dockerfile_step *st = NULL;
	struct build_copy_plan *p = NULL;
	char *out = NULL;
	struct dockerfile_options o = { 0 };
	if (dockerfile_parse(text, strlen(text), "Dockerfile", &df, err) < 0 || dockerfile_resolve(df, &o, &b, err) < 0 ||
	    dockerfile_scope_new(b, 0, NULL, &sc, err) < 0 || dockerfile_scope_step(sc, &st, err) != 1)
		goto done;
	if (build_copy_resolve(c, st, workdir, st->kind == DF_ADD, &p, err) < 0)
		goto done;
	struct strata_buf s = STRATA_BUF_INIT;
	for (size_t i = 0; i < p->nitems; i++) {
		const struct build_copy_item *it = &p->items[i];
		strata_buf_addf(&s, "%s%s>%s%s%s%s%s", i ? " " : "", it->src, it->dest, it->contents ? "[c]" : "",
				it->into_dir ? "[d]" : "", it->url ? "[u]" : "", it->archive ? "[a]" : "");
	}
	strata_buf_addf(&s, " files=%zu", p->nfiles);
	out = strata_buf_detach(&s, NULL);
done:
	build_copy_plan_free(p);
	dockerfile_step_free(st);
	dockerfile_scope_free(sc);
	dockerfile_build_free(b);
	dockerfile_free(df);
	free(text);
	return out;
}

static void check(struct build_context *c, const char *line, const char *workdir, const char *want)
{
	struct strata_error *err = NULL;
	char *got = plan_of(c, line, workdir, &err);
	char *e = err ? strata_error_string(err) : NULL;
	is_str(got ? got : e, want, "%s", line);
	free(got);
	free(e);
	strata_error_free(err);
}

static void check_err(struct build_context *c, const char *line, const char *want, int code)
{
	struct strata_error *err = NULL;
	char *got = plan_of(c, line, "/", &err);
	char *e = err ? strata_error_string(err) : NULL;
	ok(!got && e && strstr(e, want), "%s fails: %s", line, e ? e : "(succeeded)");
	if (code)
		is_int(strata_error_code(err), code, "  error code");
	free(got);
	free(e);
	strata_error_free(err);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-test-copy.XXXXXX";
	root = mkdtemp(tmpl);
	put("a.txt", "a");
	put("b.txt", "b");
	put("a-b", "x");
	put("app.tar.gz", "not really a tar");
	put("dir/c.txt", "c");
	put("dir/d.log", "d");
	put("dir/sub/e.txt", "e");
	put("dir2/f", "f");
	struct build_context *c = NULL;
	struct strata_error *err = NULL;
	if (build_context_open(root, NULL, NULL, &c, &err) < 0)
		return 1;

	check(c, "COPY a.txt /dst", "/", "a.txt>/dst files=1");
	check(c, "COPY a.txt /dst/", "/", "a.txt>/dst[d] files=1");
	check(c, "COPY ./a.txt /dst/.", "/", "a.txt>/dst[d] files=1");
	check(c, "COPY /a.txt /", "/", "a.txt>/[d] files=1");
	check(c, "COPY a.txt rel", "/w", "a.txt>/w/rel files=1");
	check(c, "COPY a.txt .", "/w", "a.txt>/w[d] files=1");
	check(c, "COPY a.txt ../up/x", "/w/v", "a.txt>/w/up/x files=1");
	check(c, "COPY dir /d", "/", "dir>/d[c] files=5");
	check(c, "COPY dir/ /d/", "/", "dir>/d[c] files=5");
	check(c, "COPY dir dir2 /d", "/", "dir>/d[c] dir2>/d[c] files=7");
	check(c, "COPY . /", "/", ">/[c] files=11");
	check(c, "COPY *.txt /d/", "/", "a.txt>/d[d] b.txt>/d[d] files=2");
	check(c, "COPY a* /d/", "/", "a-b>/d[d] a.txt>/d[d] app.tar.gz>/d[d] files=3");
	check(c, "COPY dir/*.txt /d/", "/", "dir/c.txt>/d[d] files=1");
	check(c, "COPY */c.txt /d", "/", "dir/c.txt>/d files=1");
	check(c, "COPY a?txt [ab].txt /d/", "/", "a.txt>/d[d] a.txt>/d[d] b.txt>/d[d] files=2");
	check(c, "COPY --exclude=*.log dir /d", "/", "dir>/d[c] files=4");
	check(c, "COPY --exclude=sub --exclude=*.log dir /d", "/", "dir>/d[c] files=2");
	check(c, "COPY --parents dir/sub/e.txt a.txt /p/", "/", "dir/sub/e.txt>/p/dir/sub/e.txt a.txt>/p/a.txt files=2");
	check(c, "COPY --parents dir/./sub/e.txt /p/", "/", "dir/sub/e.txt>/p/sub/e.txt files=1");
	check(c, "COPY --parents dir2 /p", "/", "dir2>/p/dir2[c] files=2");
	check(c, "ADD app.tar.gz /x/", "/", "app.tar.gz>/x[d][a] files=1");
	check(c, "COPY app.tar.gz /x/", "/", "app.tar.gz>/x[d] files=1");
	check(c, "ADD http://127.0.0.1/f /x/", "/", "http://127.0.0.1/f>/x[d][u] files=0");
	/* "a" sorts before "a-b" and "a.txt": a prefix match never leaks siblings */
	put("ab/x", "x");
	build_context_free(c);
	c = NULL;
	build_context_open(root, NULL, NULL, &c, NULL);
	check(c, "COPY ab /d", "/", "ab>/d[c] files=2");

	check_err(c, "COPY missing.txt /", "\"missing.txt\": not found", STRATA_E_NOTFOUND);
	check_err(c, "COPY nomatch* /d/", "no source files were specified", STRATA_E_NOTFOUND);
	check_err(c, "COPY ../etc/passwd /", "forbidden path outside the build context: ../etc/passwd", STRATA_E_CONFIG);
	check_err(c, "COPY dir/../../x /", "forbidden path outside the build context", STRATA_E_CONFIG);
	check_err(c, "COPY a.txt b.txt /d", "destination must be a directory and end with a /", STRATA_E_CONFIG);
	check_err(c, "COPY *.txt /d", "destination must be a directory and end with a /", STRATA_E_CONFIG);
	check_err(c, "COPY http://127.0.0.1/f /x", "COPY does not support URLs", STRATA_E_CONFIG);

	/* the digest: content, mode and paths count; mtime does not */
	{
		char *text = xstrdup("FROM scratch\nCOPY dir /d\n");
		struct dockerfile *df = NULL;
		struct dockerfile_build *b = NULL;
		struct dockerfile_scope *sc = NULL;
		struct dockerfile_step *st = NULL;
		struct dockerfile_options o = { 0 };
		dockerfile_parse(text, strlen(text), "Dockerfile", &df, NULL);
		dockerfile_resolve(df, &o, &b, NULL);
		dockerfile_scope_new(b, 0, NULL, &sc, NULL);
		dockerfile_scope_step(sc, &st, NULL);
		char h1[65], h2[65], h3[65], h4[65];
		struct build_copy_plan *p = NULL;
		json_t *files = json_object();
		build_copy_resolve(c, st, "/", false, &p, NULL);
		ok(build_copy_digest(c, p, h1, files, NULL) == 0, "digest");
		ok(json_object_size(files) == 5 && json_object_get(files, "dir/sub/e.txt"), "per-file digests");
		build_copy_plan_free(p);
		build_context_free(c);

		char *f = strata_path_join(root, "dir/c.txt");
		struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
		utimensat(AT_FDCWD, f, ts, 0);
		build_context_open(root, NULL, NULL, &c, NULL);
		build_copy_resolve(c, st, "/", false, &p, NULL);
		build_copy_digest(c, p, h2, NULL, NULL);
		is_str(h2, h1, "mtime does not change the digest");
		build_copy_plan_free(p);
		build_context_free(c);

		chmod(f, 0600);
		build_context_open(root, NULL, NULL, &c, NULL);
		build_copy_resolve(c, st, "/", false, &p, NULL);
		build_copy_digest(c, p, h3, NULL, NULL);
		ok(strcmp(h3, h1) != 0, "mode changes the digest");
		build_copy_plan_free(p);
		build_context_free(c);

		chmod(f, 0644);
		put("dir/c.txt", "C");
		build_context_open(root, NULL, NULL, &c, NULL);
		build_copy_resolve(c, st, "/", false, &p, NULL);
		json_t *files2 = json_object();
		build_copy_digest(c, p, h4, files2, NULL);
		ok(strcmp(h4, h1) != 0, "content changes the digest");
		json_t *prev = json_pack("{s:s,s:s,s:s,s:O}", "parent", "p", "insn", "i", "sources", h1, "files", files);
		json_t *now = json_pack("{s:s,s:s,s:s,s:O}", "parent", "p", "insn", "i", "sources", h4, "files", files2);
		char *why = build_cache_explain(prev, now, false);
		is_str(why, "dir/c.txt changed", "the miss names the file");
		free(why);
		json_decref(prev);
		json_decref(now);
		json_decref(files);
		json_decref(files2);
		build_copy_plan_free(p);
		free(f);
		dockerfile_step_free(st);
		dockerfile_scope_free(sc);
		dockerfile_build_free(b);
		dockerfile_free(df);
		free(text);
	}
	build_context_free(c);
	strata_rm_rf(root, NULL);
	return done_testing();
}
