/* Dockerfile variable expansion: a table of words, environments and results. */
#include "tap.h"
#include "dockerfile/dockerfile.h"

#include <string.h>

/* env: A=a, B="b c", E="", P=/usr/local/bin.tar.gz, X unset */
static bool lookup(void *ctx, const char *name, size_t len, const char **value)
{
	static const char *const env[][2] = {
		{ "A", "a" }, { "B", "b c" }, { "E", "" }, { "P", "/usr/local/bin.tar.gz" },
		{ "_u1", "u" }, { "1", "one" }, { "K", "a{2}[.l]" }, { "N", "n" },
	};
	(void)ctx;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (strlen(env[i][0]) == len && !memcmp(env[i][0], name, len)) {
			*value = env[i][1];
			return true;
		}
	return false;
}

struct row {
	const char *word;
	const char *want;   /* NULL: an error is expected */
	const char *err;    /* expected error text */
};

static const struct row rows[] = {
	{ "plain", "plain", NULL },
	{ "$A", "a", NULL },
	{ "${A}", "a", NULL },
	{ "x$A-y", "xa-y", NULL },
	{ "$Ab", "", NULL },                      /* the name is Ab, unset */
	{ "${A}b", "ab", NULL },
	{ "$_u1", "u", NULL },
	{ "$1x", "onex", NULL },                  /* digits form the name */
	{ "$X", "", NULL },
	{ "$", "$", NULL },
	{ "a$ b", "a$ b", NULL },
	{ "$/x", "$/x", NULL },
	{ "${X:-def}", "def", NULL },
	{ "${E:-def}", "def", NULL },
	{ "${A:-def}", "a", NULL },
	{ "${X-def}", "def", NULL },
	{ "${E-def}", "", NULL },
	{ "${X:+alt}", "", NULL },
	{ "${E:+alt}", "", NULL },
	{ "${A:+alt}", "alt", NULL },
	{ "${X+alt}", "", NULL },
	{ "${E+alt}", "alt", NULL },
	{ "${A?nope}", "a", NULL },
	{ "${E?nope}", "", NULL },
	{ "${X?}", NULL, "X: is not allowed to be unset" },
	{ "${X?must set X}", NULL, "X: must set X" },
	{ "${X:?}", NULL, "X: is not allowed to be unset" },
	{ "${E:?}", NULL, "E: is not allowed to be empty" },
	{ "${E:?give E}", NULL, "E: give E" },
	{ "${X:-${A}}", "a", NULL },              /* nested */
	{ "${X:-$B}", "b c", NULL },
	{ "${X:-\"q }\"}", "q }", NULL },         /* quotes in the word */
	{ "${P#*/}", "usr/local/bin.tar.gz", NULL },
	{ "${P##*/}", "bin.tar.gz", NULL },
	{ "${P%.*}", "/usr/local/bin.tar", NULL },
	{ "${P%%.*}", "/usr/local/bin", NULL },
	{ "${X#a}", "", NULL },
	{ "'$A'", "$A", NULL },                   /* single quotes: literal */
	{ "\"$A\"", "a", NULL },                  /* double quotes: expanded */
	{ "\"'$A'\"", "'a'", NULL },
	{ "'\"$A\"'", "\"$A\"", NULL },
	{ "\\$A", "$A", NULL },                   /* escaped dollar */
	{ "\\\\$A", "\\a", NULL },
	{ "a\\ b", "a b", NULL },
	{ "\\n", "n", NULL },                     /* escape outside quotes: next char literal */
	{ "\"\\$A\"", "$A", NULL },               /* in double quotes: \$ */
	{ "\"\\\"\"", "\"", NULL },               /* \" */
	{ "\"\\\\\"", "\\", NULL },               /* \\ */
	{ "\"\\n\"", "\\n", NULL },               /* other escapes stay */
	{ "trailing\\", "trailing", NULL },
	{ "${}", NULL, "syntax error: bad substitution" },
	{ "${:a}", NULL, "syntax error: bad substitution" },
	{ "${A", NULL, "syntax error: missing '}'" },
	{ "${A:-x", NULL, "syntax error: missing '}': unexpected end of statement while looking for matching }" },
	{ "${A:x}", NULL, "unsupported modifier (:x) in substitution" },
	{ "${P/local/opt}", "/usr/opt/bin.tar.gz", NULL },   /* first match */
	{ "${P//l/_}", "/usr/_oca_/bin.tar.gz", NULL },       /* every match */
	{ "${P//[.l]/_}", "/usr/local/bin.tar.gz", NULL },     /* brackets are literal (BuildKit) */
	{ "${K//[.l]/_}", "a{2}_", NULL },
	{ "${K/a{2}/X}", "X[.l]", NULL },                     /* a } in the pattern */
	{ "${K#??2}", "}[.l]", NULL },
	{ "${K%[*}", "a{2}", NULL },
	{ "$N\xe2\x80\x99s", "n\xe2\x80\x99s", NULL },           /* a name stops at a non-letter (U+2019) */
	{ "${N}\xc3\xa9", "n\xc3\xa9", NULL },
	{ "$N\xc3\xa9", "", NULL },                            /* but a letter (U+00E9) is part of it */
	{ "${P//*/x}", "x", NULL },                           /* no second, empty match at the end */
	{ "${P/l?c/X}", "/usr/Xal/bin.tar.gz", NULL },
	{ "${P/r\\/l/X}", "/usXocal/bin.tar.gz", NULL },       /* escaped / in the pattern */
	{ "${P%.\\*}", "/usr/local/bin.tar.gz", NULL },        /* escaped * is literal */
	{ "${P#\\$}", NULL, "invalid pattern (\\$) in substitution: invalid escape '\\$'" },
	{ "${P/.*/}", "/usr/local/bin", NULL },            /* longest match */
	{ "${P/local}", "/usr//bin.tar.gz", NULL },          /* no replacement: deleted */
	{ "${P/nomatch/x}", "/usr/local/bin.tar.gz", NULL },
	{ "${P//}", "/usr/local/bin.tar.gz", NULL },         /* empty pattern */
	{ "${X/a/b}", "", NULL },                            /* unset */
	{ "${P/bin/$A}", "/usr/local/a.tar.gz", NULL },      /* replacement expanded */
	{ "${P/$A/x}", "/usr/locxl/bin.tar.gz", NULL },        /* pattern expanded */
	{ "${B// /-}", "b-c", NULL },
	{ "${A:/x/y}", NULL, "unsupported modifier (:/) in substitution" },
	{ "${A/x/y", NULL, "syntax error: missing '}': unexpected end of statement while looking for matching }" },
	{ "'open", NULL, "unexpected end of statement while looking for matching single-quote" },
	{ "\"open", NULL, "unexpected end of statement while looking for matching double-quote" },
};

struct wrow {
	const char *word;
	const char *want; /* words joined with '|' */
};

static const struct wrow wrows[] = {
	{ "a b", "a|b" },
	{ "$B", "b|c" },                 /* expanded values split */
	{ "\"$B\"", "b c" },             /* quoted do not */
	{ "x\"\"y", "xy" },
	{ "\"\"", "" },                  /* one empty word */
	{ "  80  $A  ", "80|a" },
	{ "a\\ b c", "a b|c" },
	{ "$X", "" },                    /* no words at all */
};

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char *out = NULL;
		struct strata_error *err = NULL;
		int rc = dockerfile_expand_word(r->word, '\\', lookup, NULL, &out, &err);
		if (r->want) {
			ok(rc == 0, "expand '%s'", r->word);
			is_str(out, r->want, "expanded %s", r->word);
		} else {
			ok(rc < 0, "'%s' fails", r->word);
			char *s = strata_error_string(err);
			is_str(s, r->err, "'%s' error", r->word);
			free(s);
		}
		free(out);
		strata_error_free(err);
	}
	/* the backtick escape */
	char *out = NULL;
	ok(dockerfile_expand_word("`$A c:\\x", '`', lookup, NULL, &out, NULL) == 0, "backtick escape");
	is_str(out, "$A c:\\x", "backtick escapes, backslash literal");
	free(out);
	/* heredoc content (BuildKit's ExpandRaw): variables, quotes kept, escapes removed */
	ok(dockerfile_expand_heredoc("'$A' \"$B\" \\$A \\\\ \\n\n", '\\', lookup, NULL, &out, NULL) == 0,
	   "heredoc expansion");
	is_str(out, "'a' \"b c\" $A \\ n\n", "heredoc keeps quotes, removes escapes");
	free(out);
	/* under # escape=` the body still escapes with a backslash */
	ok(dockerfile_expand_heredoc("\\$A `$A\n", '`', lookup, NULL, &out, NULL) == 0, "heredoc, backtick escape");
	is_str(out, "$A `a\n", "heredoc escapes with \\ whatever the directive");
	free(out);

	for (size_t i = 0; i < sizeof(wrows) / sizeof(wrows[0]); i++) {
		char **w = NULL;
		size_t n = 0;
		ok(dockerfile_expand_words(wrows[i].word, '\\', lookup, NULL, &w, &n, NULL) == 0,
		   "words '%s'", wrows[i].word);
		struct strata_buf b = STRATA_BUF_INIT;
		for (size_t k = 0; k < n; k++)
			strata_buf_addf(&b, "%s%s", k ? "|" : "", w[k]);
		is_str(b.data, wrows[i].want, "split words of %s", wrows[i].word);
		if (!strcmp(wrows[i].word, "\"\""))
			is_int(n, 1, "empty quotes make one word");
		if (!strcmp(wrows[i].word, "$X"))
			is_int(n, 0, "unset makes no word");
		strata_buf_release(&b);
		for (size_t k = 0; k < n; k++)
			free(w[k]);
		free(w);
	}
	return done_testing();
}
