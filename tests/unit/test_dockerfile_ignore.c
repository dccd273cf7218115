/* .dockerignore matching: a table of pattern files and paths. */
#include "tap.h"
#include "dockerfile/dockerfile.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct row {
	const char *patterns;
	const char *path;
	bool excluded;
};

static const struct row rows[] = {
	/* plain names and the parent rule */
	{ "foo", "foo", true },
	{ "foo", "foo/bar", true },
	{ "foo", "foo/bar/baz", true },
	{ "foo", "foobar", false },
	{ "foo", "x/foo", false },
	{ "foo/bar", "foo/bar", true },
	{ "foo/bar", "foo", false },
	/* leading slash, ./, trailing slash, path cleaning */
	{ "/foo", "foo", true },
	{ "./foo", "foo", true },
	{ "foo/", "foo/x", true },
	{ "a//b/../c", "a/c", true },
	{ "foo", "./foo", true },
	{ "foo", "/foo", true },
	{ "foo", "x/../foo", true },
	/* comments and whitespace */
	{ "# foo", "# foo", false },
	{ "#foo\nbar", "bar", true },
	{ "  foo  ", "foo", true },
	{ " # notcomment", "# notcomment", true },
	{ "\n\n\nfoo\n", "foo", true },
	/* * and ? */
	{ "*", "anything", true },
	{ "*", "a/b", true },               /* via the parent "a" */
	{ "*.md", "README.md", true },
	{ "*.md", "doc/README.md", false },
	{ "*/temp*", "somedir/temporary.txt", true },
	{ "*/temp*", "somedir/temp", true },
	{ "*/temp*", "temp", false },
	{ "*/*/temp*", "somedir/subdir/temporary.txt", true },
	{ "temp?", "tempa", true },
	{ "temp?", "temp", false },
	{ "temp?", "tempab", false },
	{ "a?b", "a/b", false },            /* ? never matches / */
	{ "a*b", "a/b", false },
	/* classes */
	{ "[abc].txt", "b.txt", true },
	{ "[abc].txt", "d.txt", false },
	{ "[a-c].txt", "c.txt", true },
	{ "[^a-c].txt", "d.txt", true },
	{ "[^a-c].txt", "a.txt", false },
	{ "[!a].txt", "!.txt", true },       /* ! is a member, not a negation */
	{ "\\*.txt", "*.txt", true },
	{ "\\*.txt", "a.txt", false },
	/* ** */
	{ "**/*.go", "main.go", true },
	{ "**/*.go", "a/b/c/main.go", true },
	{ "**/*.go", "a/b/c/main.goo", false },
	{ "**", "anything/at/all", true },
	{ "a/**", "a/b/c", true },
	{ "a/**", "a", false },
	{ "a/**/b", "a/b", true },
	{ "a/**/b", "a/x/y/b", true },
	{ "a/**/b", "a/x/y/c", false },
	{ "**/node_modules", "x/y/node_modules/z.js", true },
	{ "**foo", "x/foo", true },
	/* exceptions, in order */
	{ "*.md\n!README.md", "README.md", false },
	{ "*.md\n!README.md", "CHANGES.md", true },
	{ "*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true },
	{ "*.md\n!README*.md\nREADME-secret.md", "README-x.md", false },
	{ "*.md\nREADME-secret.md\n!README*.md", "README-secret.md", false },
	{ "*\n!src", "src/main.c", false },
	{ "*\n!src", "docs/x", true },
	{ "*\n!src\nsrc/gen", "src/gen/x.c", true },
	{ "node_modules\n!node_modules/keep", "node_modules/keep/x", false },
	{ "node_modules\n!node_modules/keep", "node_modules/other/x", true },
	{ "! foo\nfoo", "foo", true },
	{ "", "foo", false },
};

struct below_row {
	const char *patterns;
	const char *dir;
	bool may;
};

static const struct below_row below[] = {
	{ "node_modules", "node_modules", false },                       /* no exceptions */
	{ "node_modules\n!node_modules/keep", "node_modules", true },
	{ "node_modules\n!node_modules/keep", "node_modules/keep2", false },
	{ "node_modules\n!node_modules/keep/x", "node_modules/keep", true },
	{ "*\n!src/*.c", "docs", false },
	{ "*\n!src/*.c", "src", true },
	{ "*\n!**/*.c", "anything", true },                               /* ** could be anywhere */
	{ "*\n!s*/x", "src", true },
	{ "*\n!s*/x", "docs", false },
	{ "*\n!a", "a/b", false },   /* "!a" would re-include a itself: not "below" */
};

static struct dockerfile_ignore *parse(const char *text)
{
	struct dockerfile_ignore *ig = NULL;
	struct strata_error *err = NULL;
	if (dockerfile_ignore_parse(text, strlen(text), ".dockerignore", &ig, &err) < 0) {
		char *s = strata_error_string(err);
		diag("parse error: %s", s);
		free(s);
		strata_error_free(err);
	}
	return ig;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct dockerfile_ignore *ig = parse(rows[i].patterns);
		ok(ig && dockerfile_ignore_match(ig, rows[i].path) == rows[i].excluded,
		   "row %zu: '%s' %s by pattern(s) %zu bytes", i, rows[i].path,
		   rows[i].excluded ? "excluded" : "kept", strlen(rows[i].patterns));
		dockerfile_ignore_free(ig);
	}
	for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
		struct dockerfile_ignore *ig = parse(below[i].patterns);
		ok(ig && dockerfile_ignore_may_include_below(ig, below[i].dir) == below[i].may,
		   "below row %zu: under '%s' %s", i, below[i].dir, below[i].may ? "may be re-included" : "prunable");
		dockerfile_ignore_free(ig);
	}
	/* errors */
	struct dockerfile_ignore *ig = NULL;
	struct strata_error *err = NULL;
	ok(dockerfile_ignore_parse("a\n!\n", 4, ".dockerignore", &ig, &err) < 0, "bare ! rejected");
	char *s = strata_error_string(err);
	is_str(s, ".dockerignore:2: illegal exclusion pattern: '!'", "bare ! message");
	free(s);
	strata_error_clear(&err);
	ok(dockerfile_ignore_parse("a\n[abc\n", 7, ".dockerignore", &ig, &err) < 0, "unterminated class");
	s = strata_error_string(err);
	is_str(s, ".dockerignore:2: bad pattern '[abc'", "bad class message");
	free(s);
	strata_error_clear(&err);
	ok(dockerfile_ignore_parse("[z-a]\n", 6, NULL, &ig, &err) < 0, "backwards range");
	strata_error_clear(&err);
	ig = parse("a\n# c\n\n!b\n");
	is_int(dockerfile_ignore_count(ig), 2, "comments and blanks not counted");
	dockerfile_ignore_free(ig);

	/* loading: <Dockerfile>.dockerignore beats <context>/.dockerignore */
	char dir[] = "/tmp/strata-ignore-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	char *p1 = xasprintf("%s/.dockerignore", dir), *df = xasprintf("%s/app.Dockerfile", dir);
	char *p2 = xasprintf("%s.dockerignore", df);
	char *used = NULL;
	ok(dockerfile_ignore_load(dir, df, &ig, &used, NULL) == 0 && used == NULL, "no file: empty matcher");
	ok(!dockerfile_ignore_match(ig, "x"), "empty matcher excludes nothing");
	dockerfile_ignore_free(ig);
	write_file(p1, "ctx\n");
	ok(dockerfile_ignore_load(dir, df, &ig, &used, NULL) == 0, "context .dockerignore");
	is_str(used, p1, "context file used");
	ok(dockerfile_ignore_match(ig, "ctx"), "its pattern applies");
	dockerfile_ignore_free(ig);
	free(used);
	write_file(p2, "own\n");
	ok(dockerfile_ignore_load(dir, df, &ig, &used, NULL) == 0, "Dockerfile-specific ignore file");
	is_str(used, p2, "<Dockerfile>.dockerignore wins");
	ok(dockerfile_ignore_match(ig, "own") && !dockerfile_ignore_match(ig, "ctx"), "only its patterns");
	dockerfile_ignore_free(ig);
	free(used);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	free(p1);
	free(p2);
	free(df);

	ok(dockerfile_glob_match("a*c", "abbbc"), "glob helper");
	ok(!dockerfile_glob_match("a*c", "abbbd"), "glob helper mismatch");
	/* a pathological pattern stays fast */
	ok(!dockerfile_glob_match("*a*a*a*a*a*a*a*a*a*a*a*b",
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	   "no exponential backtracking");
	return done_testing();
}
