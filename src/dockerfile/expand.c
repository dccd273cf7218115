/*
 * expand.c — Dockerfile variable expansion (BuildKit's shell lexer).
 *
 * One pass over the word with a cursor; results are built in a buffer and,
 * for ProcessWords, split on unquoted whitespace that came from the text or
 * from an expanded value (quoted text never splits).
 */
#include "dockerfile/internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <string.h>

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
	int alt_stop;           /* a second stop character for the next process_stop_on only */
	int stopped_by;         /* the stop character process_stop_on last ended on */
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

/* Longest match of the shell pattern @pat in @value starting at @from: the
 * match's start in *mb and end in *me; false when nothing matches. */
static bool find_pattern(const char *value, size_t n, size_t from, const char *pat, char *tmp,
			 size_t *mb, size_t *me)
{
	for (size_t b = from; b <= n; b++) {
		for (size_t e = n + 1; e-- > b;) {
			memcpy(tmp, value + b, e - b);
			tmp[e - b] = 0;
			if (fnmatch(pat, tmp, 0) == 0) {
				*mb = b;
				*me = e;
				return true;
			}
		}
	}
	return false;
}

/* ${v/p/r} ${v//p/r}: the first (or every) longest match of the shell pattern
 * replaced with r, as bash and BuildKit (dockerfile 1.7+) do; an empty
 * pattern leaves the value unchanged. */
static void replace_pattern(struct strata_buf *out, const char *value, const char *pat,
			    const char *repl, bool all)
{
	size_t n = strlen(value);
	if (!*pat) {
		strata_buf_adds(out, value);
		return;
	}
	char *tmp = xmalloc(n + 1);
	size_t pos = 0, mb, me;
	while (pos <= n && find_pattern(value, n, pos, pat, tmp, &mb, &me)) {
		strata_buf_add(out, value + pos, mb - pos);
		strata_buf_adds(out, repl);
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
	free(tmp);
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

/* Read a variable name: digits, one special char, or [A-Za-z0-9_]+. */
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
	while ((c = peek(lx)) != EOFCH && (isalnum(c) || c == '_' || c >= 0x80))
		next(lx);
	*e = lx->pos;
}

static bool lookup(struct lex *lx, size_t b, size_t e, const char **val)
{
	*val = NULL;
	if (e == b)
		return false;
	return lx->lookup && lx->lookup(lx->ctx, lx->s + b, e - b, val) && *val;
}

/* ${v#p} ${v##p} ${v%p} ${v%%p}: shell pattern trimming (fnmatch). */
static char *trim_pattern(const char *value, const char *pat, bool suffix, bool longest)
{
	size_t n = strlen(value);
	char *tmp = xmalloc(n + 1);
	if (!suffix) {
		for (size_t k = 0; k <= n; k++) {
			size_t l = longest ? n - k : k;
			memcpy(tmp, value, l);
			tmp[l] = 0;
			if (fnmatch(pat, tmp, 0) == 0) {
				free(tmp);
				return xstrdup(value + l);
			}
		}
	} else {
		for (size_t k = 0; k <= n; k++) {
			size_t start = longest ? k : n - k;
			if (fnmatch(pat, value + start, 0) == 0) {
				free(tmp);
				return xstrndup(value, start);
			}
		}
	}
	free(tmp);
	return xstrdup(value);
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
	if (c == '/')
		lx->alt_stop = '}'; /* ${v/p} deletes the match */
	int r = process_stop_on(lx, c == '/' ? '/' : '}', raw, &word, &nw, err);
	if (r == 0 && c == '/' && lx->stopped_by == '/')
		r = process_stop_on(lx, '}', raw, &repl, &nw, err);
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
		if (set)
			replace_pattern(out, v, word.data ? word.data : "", repl.data ? repl.data : "",
					doubled);
		return 0;
	default: { /* # % */
		if (!set)
			return 0;
		char *t = trim_pattern(v, word.data, c == '%', doubled);
		strata_buf_adds(out, t);
		free(t);
		return 0;
	}
	}
}

static int process_stop_on(struct lex *lx, int stop, bool raw_escapes, struct strata_buf *out,
			   struct words *w, struct strata_error **err)
{
	bool saved = lx->raw_escapes;
	int alt = lx->alt_stop;
	lx->alt_stop = 0;
	if (raw_escapes)
		lx->raw_escapes = true;
	int r = 0;
	for (;;) {
		int c = peek(lx);
		if (c == EOFCH)
			break;
		if (stop != EOFCH && (c == stop || (alt && c == alt))) {
			next(lx);
			lx->raw_escapes = saved;
			lx->stopped_by = c;
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

static int run(const char *word, char escape, dockerfile_lookup_fn lookup_fn, void *ctx,
	       bool heredoc, struct strata_buf *out, struct words *w, struct strata_error **err)
{
	struct lex lx = { word, 0, strlen(word), escape, lookup_fn, ctx, heredoc, heredoc, heredoc, 0 };
	return process_stop_on(&lx, EOFCH, heredoc, out, w, err);
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
