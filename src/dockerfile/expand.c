/*
 * expand.c — Dockerfile variable expansion (BuildKit's shell lexer).
 *
 * One pass over the word with a cursor; results are built in a buffer and,
 * for ProcessWords, split on unquoted whitespace that came from the text or
 * from an expanded value (quoted text never splits).
 */
#include "dockerfile/internal.h"

#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

/* Words being collected for ProcessWords. */
struct words {
	struct strata_buf cur;
	bool inword;
	char **v;
	size_t n, cap;
	bool enabled;
};

static void words_flush(struct words *w)
{
	if (w->inword)
		DF_PUSH(w->v, w->n, w->cap, strata_buf_detach(&w->cur, NULL));
	strata_buf_reset(&w->cur);
	w->inword = false;
}

static void words_char(struct words *w, char c)
{
	if (!w->enabled)
		return;
	if (df_isspace((unsigned char)c)) {
		words_flush(w);
		return;
	}
	strata_buf_addch(&w->cur, c);
	w->inword = true;
}

static void words_raw_char(struct words *w, char c)
{
	if (!w->enabled)
		return;
	strata_buf_addch(&w->cur, c);
	w->inword = true;
}

static void words_string(struct words *w, const char *s)
{
	for (; *s; s++)
		words_char(w, *s);
}

static void words_raw_string(struct words *w, const char *s)
{
	if (!w->enabled)
		return;
	strata_buf_adds(&w->cur, s);
	w->inword = true;
}

struct lex {
	const char *s;
	size_t pos, len;
	char escape;
	dockerfile_lookup_fn lookup;
	void *ctx;
	bool raw_quotes;        /* keep quote characters (heredoc content) */
	bool raw_escapes;       /* keep escape characters */
	bool skip_quotes;       /* quotes are plain characters (heredoc content) */
	int depth;
};

#define EOFCH (-1)

static int peek(struct lex *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : EOFCH;
}

static int next(struct lex *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos++] : EOFCH;
}

static int process_stop_on(struct lex *lx, int stop, bool raw_escapes, struct strata_buf *out,
			   struct words *w, struct strata_error **err);

static int process_single_quote(struct lex *lx, struct strata_buf *out, struct strata_error **err)
{
	next(lx); /* ' */
	if (lx->raw_quotes)
		strata_buf_addch(out, '\'');
	for (;;) {
		int c = next(lx);
		if (c == EOFCH)
			return strata_error_make(err, 0,
						 "unexpected end of statement while looking for matching single-quote");
		if (c == '\'') {
			if (lx->raw_quotes)
				strata_buf_addch(out, '\'');
			return 0;
		}
		strata_buf_addch(out, (char)c);
	}
}

/*
 * Shell patterns of ${v#p} ${v%p} ${v/p/r}, as BuildKit's
 * convertShellPatternToRegex: `*` any string, `?` one character, `\*` `\?`
 * `\\` literal, `\}` and `\/` the character (the escape only protected
 * it from the ${} parser), any other escape an error; everything else,
 * brackets included, is literal (no bracket expressions).
 */
enum { PAT_STAR = 256, PAT_ANY = 257 };

static int compile_pattern(const char *pat, int **out, size_t *n, struct strata_error **err)
{
	size_t len = strlen(pat), k = 0;
	int *t = xcalloc(len + 1, sizeof(int));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pat[i];
		if (c == '*') {
			if (!k || t[k - 1] != PAT_STAR) /* ** is * */
				t[k++] = PAT_STAR;
			continue;
		}
		if (c == '?') {
			t[k++] = PAT_ANY;
			continue;
		}
		if (c == '\\') {
			unsigned char d = (unsigned char)pat[i + 1];
			if (d == '}' || d == '/')
				continue;
			if (d != '*' && d != '?' && d != '\\') {
				free(t);
				if (!d)
					return strata_error_make(err, 0, "invalid pattern (%s) in substitution: trailing escape", pat);
				return strata_error_make(err, 0, "invalid pattern (%s) in substitution: invalid escape '\\%c'",
							 pat, d);
			}
			c = d;
			i++;
		}
		t[k++] = c;
	}
	*out = t;
	*n = k;
	return 0;
}

/* Does the whole of s[0..n) match the tokens? (greedy star with one backtrack point: O(n*k)) */
static bool pattern_match(const int *t, size_t k, const char *s, size_t n)
{
	size_t i = 0, j = 0, star = (size_t)-1, mark = 0;
	while (i < n) {
		if (j < k && (t[j] == PAT_ANY || t[j] == (unsigned char)s[i])) {
			i++;
			j++;
		} else if (j < k && t[j] == PAT_STAR) {
			star = j++;
			mark = i;
		} else if (star != (size_t)-1) {
			j = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (j < k && t[j] == PAT_STAR)
		j++;
	return j == k;
}

/* The leftmost match starting at or after @from, longest at that start. */
static bool find_pattern(const int *t, size_t k, const char *value, size_t n, size_t from, size_t *mb, size_t *me)
{
	for (size_t b = from; b <= n; b++)
		for (size_t e = n + 1; e-- > b;)
			if (pattern_match(t, k, value + b, e - b)) {
				*mb = b;
				*me = e;
				return true;
			}
	return false;
}

/* ${v/p/r} ${v//p/r}: the first (or every) leftmost-longest match of the
 * pattern replaced with r, as BuildKit (regexp ReplaceAllString: an empty
 * match right after a match is skipped, so "A//STAR/x" gives x); an empty
 * pattern leaves the value unchanged, as bash does. */
static int replace_pattern(struct strata_buf *out, const char *value, const char *pat, const char *repl,
			   bool all, struct strata_error **err)
{
	size_t n = strlen(value), k;
	int *t;
	if (!*pat) {
		strata_buf_adds(out, value);
		return 0;
	}
	if (compile_pattern(pat, &t, &k, err) < 0)
		return -1;
	size_t pos = 0, mb, me, prev_end = 0;
	bool prev = false;
	while (pos <= n && find_pattern(t, k, value, n, pos, &mb, &me)) {
		if (me == mb && prev && mb == prev_end) {
			if (mb >= n)
				break;
			strata_buf_addch(out, value[mb]);
			pos = mb + 1;
			continue;
		}
		strata_buf_add(out, value + pos, mb - pos);
		strata_buf_adds(out, repl);
		prev = true;
		prev_end = me;
		if (me == mb) { /* an empty match: keep one character and go on */
			if (mb < n)
				strata_buf_addch(out, value[mb]);
			me = mb + 1;
		}
		pos = me;
		if (!all)
			break;
	}
	if (pos < n)
		strata_buf_adds(out, value + pos);
	free(t);
	return 0;
}

static int process_dollar(struct lex *lx, struct strata_buf *out, struct strata_error **err);

static int process_double_quote(struct lex *lx, struct strata_buf *out, struct strata_error **err)
{
	next(lx); /* " */
	if (lx->raw_quotes)
		strata_buf_addch(out, '"');
	for (;;) {
		int c = peek(lx);
		if (c == EOFCH)
			return strata_error_make(err, 0,
						 "unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			next(lx);
			if (lx->raw_quotes)
				strata_buf_addch(out, '"');
			return 0;
		}
		if (c == '$') {
			if (process_dollar(lx, out, err) < 0)
				return -1;
			continue;
		}
		c = next(lx);
		if (c == lx->escape) {
			if (lx->raw_escapes)
				strata_buf_addch(out, (char)c);
			int p = peek(lx);
			if (p == EOFCH)
				continue;
			if (p == '"' || p == '$' || p == lx->escape) {
				c = next(lx);
			} else if (lx->raw_escapes) {
				continue;
			}
		}
		strata_buf_addch(out, (char)c);
	}
}

static bool is_special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/*
 * The length of the UTF-8 character at s when it is a letter (BuildKit's
 * processName takes unicode.IsLetter), else 0: a name stops at `’` or any
 * other non-letter, and at bytes that are not UTF-8. Without a C.UTF-8
 * locale no non-ASCII character is a letter.
 */
static size_t utf8_letter_len(const char *s, size_t n)
{
	pthread_once(&utf8_once, utf8_locale_init);
	if (!utf8_locale)
		return 0;
	unsigned char c = (unsigned char)s[0];
	size_t l = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
	if (!l || l > n || c >= 0xf5)
		return 0;
	uint32_t cp = c & (0x7f >> l);
	for (size_t i = 1; i < l; i++) {
		unsigned char d = (unsigned char)s[i];
		if ((d & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (d & 0x3f);
	}
	if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return iswalpha_l((wint_t)cp, utf8_locale) ? l : 0;
}

/* Read a variable name: digits, one special char, or letters (Unicode), digits and _. */
static void process_name(struct lex *lx, size_t *b, size_t *e)
{
	*b = lx->pos;
	int c = peek(lx);
	if (c != EOFCH && isdigit(c)) {
		while (peek(lx) != EOFCH && isdigit(peek(lx)))
			next(lx);
		*e = lx->pos;
		return;
	}
	if (c != EOFCH && is_special_param(c)) {
		next(lx);
		*e = lx->pos;
		return;
	}
	for (;;) {
		c = peek(lx);
		if (c != EOFCH && (isalnum(c) || c == '_')) {
			next(lx);
			continue;
		}
		size_t l = c != EOFCH && c >= 0x80 ? utf8_letter_len(lx->s + lx->pos, lx->len - lx->pos) : 0;
		if (!l)
			break;
		lx->pos += l;
	}
	*e = lx->pos;
}

static bool lookup(struct lex *lx, size_t b, size_t e, const char **val)
{
	*val = NULL;
	if (e == b)
		return false;
	return lx->lookup && lx->lookup(lx->ctx, lx->s + b, e - b, val) && *val;
}

/* ${v#p} ${v##p} ${v%p} ${v%%p}: the shortest/longest prefix or suffix matching the pattern removed. */
static int trim_pattern(struct strata_buf *out, const char *value, const char *pat, bool suffix, bool longest,
			struct strata_error **err)
{
	size_t n = strlen(value), k;
	int *t;
	if (compile_pattern(pat, &t, &k, err) < 0)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		size_t l = longest ? n - i : i; /* length of the part removed */
		if (pattern_match(t, k, suffix ? value + n - l : value, l)) {
			strata_buf_add(out, suffix ? value : value + l, n - l);
			free(t);
			return 0;
		}
	}
	strata_buf_adds(out, value);
	free(t);
	return 0;
}

static int process_dollar(struct lex *lx, struct strata_buf *out, struct strata_error **err)
{
	next(lx); /* $ */
	if (peek(lx) != '{') {
		size_t b, e;
		process_name(lx, &b, &e);
		if (b == e) {
			strata_buf_addch(out, '$');
			return 0;
		}
		const char *v;
		if (lookup(lx, b, e, &v))
			strata_buf_adds(out, v);
		return 0;
	}
	next(lx); /* { */
	int c = peek(lx);
	if (c == EOFCH)
		return strata_error_make(err, 0, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return strata_error_make(err, 0, "syntax error: bad substitution");
	size_t b, e;
	process_name(lx, &b, &e);
	c = next(lx);
	if (c == EOFCH)
		return strata_error_make(err, 0, "syntax error: missing '}'");
	if (b == e)
		return strata_error_make(err, 0, "syntax error: bad substitution");
	const char *v;
	bool set = lookup(lx, b, e, &v);
	if (c == '}') {
		if (set)
			strata_buf_adds(out, v);
		return 0;
	}
	bool null_unset = false;
	char mod[3] = { (char)c, 0, 0 };
	if (c == ':') {
		null_unset = true;
		c = next(lx);
		if (c == EOFCH)
			return strata_error_make(err, 0, "syntax error: missing '}'");
		mod[1] = (char)c;
	}
	bool doubled = false;
	if ((c == '#' || c == '%') && !null_unset && peek(lx) == c) {
		next(lx);
		doubled = true;
	}
	if (c == '/' && !null_unset && peek(lx) == '/') {
		next(lx);
		doubled = true;
	}
	if (c != '-' && c != '+' && c != '?' && ((c != '#' && c != '%' && c != '/') || null_unset))
		return strata_error_make(err, 0, "unsupported modifier (%s) in substitution", mod);
	if (++lx->depth > 64)
		return strata_error_make(err, 0, "substitution nested too deeply");
	cleanup_buf struct strata_buf word = STRATA_BUF_INIT;
	cleanup_buf struct strata_buf repl = STRATA_BUF_INIT;
	struct words nw = { STRATA_BUF_INIT, false, NULL, 0, 0, false };
	bool raw = c == '#' || c == '%' || c == '/';
	size_t mark = lx->pos;
	int r = process_stop_on(lx, c == '/' ? '/' : '}', raw, &word, &nw, err);
	if (r == 0 && c == '/')
		r = process_stop_on(lx, '}', raw, &repl, &nw, err);
	if (r < 0 && c == '/') {
		/* not BuildKit's ${v/p/r} (the pattern may hold a '}'): bash's ${v/p}, deleting the match */
		strata_error_clear(err);
		lx->pos = mark;
		strata_buf_reset(&word);
		strata_buf_reset(&repl);
		r = process_stop_on(lx, '}', raw, &word, &nw, err);
	}
	if (r < 0) {
		lx->depth--;
		if (peek(lx) == EOFCH)
			return strata_error_wrap(err, "syntax error: missing '}'");
		return -1;
	}
	lx->depth--;
	bool empty = set && !*v;
	switch (c) {
	case '-':
		strata_buf_adds(out, (!set || (null_unset && empty)) ? word.data : v);
		return 0;
	case '+':
		if (set && !(null_unset && empty))
			strata_buf_adds(out, word.data);
		return 0;
	case '?':
		if (!set)
			return strata_error_make(err, 0, "%.*s: %s", (int)(e - b), lx->s + b,
						 word.len ? word.data : "is not allowed to be unset");
		if (null_unset && empty)
			return strata_error_make(err, 0, "%.*s: %s", (int)(e - b), lx->s + b,
						 word.len ? word.data : "is not allowed to be empty");
		strata_buf_adds(out, v);
		return 0;
	case '/':
		if (set && replace_pattern(out, v, word.data ? word.data : "", repl.data ? repl.data : "", doubled,
					   err) < 0)
			return -1;
		return 0;
	default: /* # % */
		if (set && trim_pattern(out, v, word.data ? word.data : "", c == '%', doubled, err) < 0)
			return -1;
		return 0;
	}
}

static int process_stop_on(struct lex *lx, int stop, bool raw_escapes, struct strata_buf *out,
			   struct words *w, struct strata_error **err)
{
	bool saved = lx->raw_escapes;
	if (raw_escapes)
		lx->raw_escapes = true;
	int r = 0;
	for (;;) {
		int c = peek(lx);
		if (c == EOFCH)
			break;
		if (stop != EOFCH && c == stop) {
			next(lx);
			lx->raw_escapes = saved;
			return 0;
		}
		if (c == '$' || (!lx->skip_quotes && (c == '\'' || c == '"'))) {
			size_t mark = out->len;
			if (c == '$')
				r = process_dollar(lx, out, err);
			else if (c == '\'')
				r = process_single_quote(lx, out, err);
			else
				r = process_double_quote(lx, out, err);
			if (r < 0)
				goto done;
			if (c == '$')
				words_string(w, out->data + mark);
			else
				words_raw_string(w, out->data + mark);
			continue;
		}
		c = next(lx);
		if (c == lx->escape) {
			if (lx->raw_escapes) {
				words_raw_char(w, (char)c);
				strata_buf_addch(out, (char)c);
			}
			c = next(lx);
			if (c == EOFCH)
				break;
			words_raw_char(w, (char)c);
		} else {
			words_char(w, (char)c);
		}
		strata_buf_addch(out, (char)c);
	}
	if (stop != EOFCH)
		r = strata_error_make(err, 0, "unexpected end of statement while looking for matching %c",
				      (char)stop);
done:
	lx->raw_escapes = saved;
	return r;
}

/*
 * A heredoc body (COPY/ADD) is expanded as BuildKit's ExpandRaw does: a lexer
 * with `\` as its escape whatever the `# escape=` directive, quotes plain
 * characters, escapes removed (`\$x` gives `$x`, `\\` gives `\`).
 */
static int run(const char *word, char escape, dockerfile_lookup_fn lookup_fn, void *ctx,
	       bool heredoc, struct strata_buf *out, struct words *w, struct strata_error **err)
{
	struct lex lx = { word, 0, strlen(word), heredoc ? '\\' : escape, lookup_fn, ctx, heredoc, false, heredoc, 0 };
	return process_stop_on(&lx, EOFCH, false, out, w, err);
}

/* Expand word (a heredoc body when heredoc) into one string. */
static int expand_string(const char *word, char escape, dockerfile_lookup_fn lookup_fn, void *ctx, bool heredoc,
			 char **out, struct strata_error **err)
{
	struct strata_buf b = STRATA_BUF_INIT;
	struct words w = { STRATA_BUF_INIT, false, NULL, 0, 0, false };
	if (run(word, escape, lookup_fn, ctx, heredoc, &b, &w, err) < 0) {
		strata_buf_release(&b);
		return -1;
	}
	*out = strata_buf_detach(&b, NULL);
	return 0;
}

int dockerfile_expand_word(const char *word, char escape, dockerfile_lookup_fn lookup_fn, void *ctx,
			   char **out, struct strata_error **err)
{
	return expand_string(word, escape, lookup_fn, ctx, false, out, err);
}

int dockerfile_expand_heredoc(const char *text, char escape, dockerfile_lookup_fn lookup_fn, void *ctx,
			      char **out, struct strata_error **err)
{
	return expand_string(text, escape, lookup_fn, ctx, true, out, err);
}

int dockerfile_expand_words(const char *word, char escape, dockerfile_lookup_fn lookup_fn, void *ctx,
			    char ***out, size_t *n, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	struct words w = { STRATA_BUF_INIT, false, NULL, 0, 0, true };
	if (run(word, escape, lookup_fn, ctx, false, &b, &w, err) < 0) {
		strata_buf_release(&w.cur);
		df_strv_free(w.v, w.n);
		return -1;
	}
	words_flush(&w);
	strata_buf_release(&w.cur);
	DF_PUSH(w.v, w.n, w.cap, NULL);
	*out = w.v;
	*n = w.n - 1;
	return 0;
}
