/*
 * parse.c — the Dockerfile lexer and parser (layer 1 of dockerfile.h).
 *
 * Follows BuildKit's parser: parser directives at the top only, logical
 * lines joined at the escape character (comment and blank lines inside a
 * continuation are dropped), `--flags` extracted before the arguments, the
 * arguments split per instruction, heredoc bodies read after the logical
 * line, and the JSON form tried first with a fallback to the shell form.
 */
#include "dockerfile/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[DF_KIND_COUNT] = {
	[DF_FROM] = "FROM",         [DF_RUN] = "RUN",         [DF_CMD] = "CMD",
	[DF_LABEL] = "LABEL",       [DF_MAINTAINER] = "MAINTAINER",
	[DF_EXPOSE] = "EXPOSE",     [DF_ENV] = "ENV",         [DF_ADD] = "ADD",
	[DF_COPY] = "COPY",         [DF_ENTRYPOINT] = "ENTRYPOINT",
	[DF_VOLUME] = "VOLUME",     [DF_USER] = "USER",       [DF_WORKDIR] = "WORKDIR",
	[DF_ARG] = "ARG",           [DF_ONBUILD] = "ONBUILD", [DF_STOPSIGNAL] = "STOPSIGNAL",
	[DF_HEALTHCHECK] = "HEALTHCHECK", [DF_SHELL] = "SHELL",
};

const char *dockerfile_kind_name(enum dockerfile_kind kind)
{
	return (unsigned)kind < DF_KIND_COUNT ? kind_names[kind] : "?";
}

int dockerfile_kind_lookup(const char *word)
{
	for (int i = 0; i < DF_KIND_COUNT; i++)
		if (!strcasecmp(word, kind_names[i]))
			return i;
	return -1;
}

/* ---- small helpers ------------------------------------------------------ */

void df_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void df_strv_free0(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void df_heredoc_release(struct dockerfile_heredoc *h)
{
	free(h->name);
	free(h->content);
}

void df_heredoc_copy(struct dockerfile_heredoc *dst, const struct dockerfile_heredoc *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->content = xstrdup(src->content);
}

void df_insn_release(struct dockerfile_insn *in)
{
	free(in->keyword);
	free(in->original);
	for (size_t i = 0; i < in->nflags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	df_strv_free(in->args, in->nargs);
	for (size_t i = 0; i < in->nheredocs; i++)
		df_heredoc_release(&in->heredocs[i]);
	free(in->heredocs);
	if (in->onbuild) {
		df_insn_release(in->onbuild);
		free(in->onbuild);
	}
}

void dockerfile_free(struct dockerfile *df)
{
	if (!df)
		return;
	free(df->name);
	free(df->syntax);
	free(df->check);
	for (size_t i = 0; i < df->ninsns; i++)
		df_insn_release(&df->insns[i]);
	free(df->insns);
	df_strv_free(df->warnings, df->nwarnings);
	free(df);
}

int df_insn_error(struct strata_error **err, const struct dockerfile *df, const struct dockerfile_insn *in,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	char *cause = NULL;
	if (err && *err) {
		cause = strata_error_string(*err);
		strata_error_clear(err);
	}
	int r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: %s: %s%s%s", df->name, in->line,
				   dockerfile_kind_name(in->kind), m, cause ? ": " : "", cause ? cause : "");
	free(m);
	free(cause);
	return r;
}

const struct dockerfile_flag *df_insn_flag(const struct dockerfile_insn *in, const char *name)
{
	const struct dockerfile_flag *f = NULL;
	for (size_t i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, name))
			f = &in->flags[i];
	return f;
}

/* Levenshtein distance, for the did-you-mean of unknown instructions. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32)
		return 99;
	size_t prev[33], cur[33];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v;
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

static const char *suggest_kind(const char *word)
{
	const char *best = NULL;
	size_t bestd = 3; /* accept distances 1 and 2 */
	for (int i = 0; i < DF_KIND_COUNT; i++) {
		size_t d = edit_distance(word, kind_names[i]);
		if (d < bestd) {
			bestd = d;
			best = kind_names[i];
		}
	}
	return best;
}

/* ---- the line reader ---------------------------------------------------- */

struct lexer {
	const char *data;
	size_t len, pos;
	int lineno;          /* number of the last line returned */
	char escape;
	const char *name;
};

/* Next physical line (without "\n" and a trailing "\r"). @return false at EOF. */
static bool next_line(struct lexer *lx, const char **line, size_t *n)
{
	if (lx->pos >= lx->len)
		return false;
	const char *s = lx->data + lx->pos;
	const char *nl = memchr(s, '\n', lx->len - lx->pos);
	size_t l = nl ? (size_t)(nl - s) : lx->len - lx->pos;
	lx->pos += l + (nl ? 1 : 0);
	if (l && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	lx->lineno++;
	return true;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && df_isspace((unsigned char)s[i]))
		i++;
	return i;
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = skip_ws(s, n, 0);
	return i < n && s[i] == '#';
}

static bool is_blank(const char *s, size_t n)
{
	return skip_ws(s, n, 0) == n;
}

/*
 * Strip a trailing escape char (+ spaces/tabs). @return true when the line
 * continues. BuildKit's rule (lineContinuationRegex): the escape char is a
 * continuation when it is alone on the line or follows a character other
 * than the escape char, so `ENV C=trailing\\` ends the instruction.
 */
static bool trim_continuation(const char *s, size_t *n, char escape)
{
	size_t l = *n;
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	if (l && s[l - 1] == escape && (l == 1 || s[l - 2] != escape)) {
		*n = l - 1;
		return true;
	}
	return false;
}

/*
 * Parser directive: `# key = value`. @return 1 when the line is a known
 * directive (key/value set), 0 otherwise.
 */
static int parse_directive(const char *s, size_t n, char *key, size_t keysz, const char **val,
			   size_t *vallen)
{
	size_t i = skip_ws(s, n, 0);
	if (i >= n || s[i] != '#')
		return 0;
	i = skip_ws(s, n, i + 1);
	size_t k0 = i;
	if (i >= n || !isalpha((unsigned char)s[i]))
		return 0;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	size_t kl = i - k0;
	i = skip_ws(s, n, i);
	if (i >= n || s[i] != '=')
		return 0;
	i = skip_ws(s, n, i + 1);
	size_t e = n;
	while (e > i && df_isspace((unsigned char)s[e - 1]))
		e--;
	if (e == i || kl >= keysz)
		return 0;
	for (size_t j = 0; j < kl; j++)
		key[j] = (char)tolower((unsigned char)s[k0 + j]);
	key[kl] = 0;
	if (strcmp(key, "escape") && strcmp(key, "syntax") && strcmp(key, "check"))
		return 0;
	*val = s + i;
	*vallen = e - i;
	return 1;
}

/* ---- errors -------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int lex_error(struct strata_error **err, const char *name,
							    int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	int r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: %s", name, line, m);
	free(m);
	return r;
}

/* ---- word splitting ------------------------------------------------------ */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_push(struct strv *sv, char *s)
{
	DF_PUSH(sv->v, sv->n, sv->cap, s);
}

/* Split on whitespace (reWhitespace), no quote handling. */
static void split_ws(const char *s, struct strv *out)
{
	size_t n = strlen(s), i = 0;
	for (;;) {
		i = skip_ws(s, n, i);
		if (i >= n)
			break;
		size_t b = i;
		while (i < n && !df_isspace((unsigned char)s[i]))
			i++;
		strv_push(out, xstrndup(s + b, i - b));
	}
}

/*
 * The word scanner of BuildKit's parseWords and extractBuilderFlags: split s
 * on whitespace outside quotes into out. Without flags, quotes and escapes
 * are kept in the words (expansion removes them later). With flags, quotes
 * and escapes are removed (an escape works inside single quotes too), the
 * scan stops before the first word not starting with "--", and a "--" word
 * ends it (and is dropped).
 * @return where the scan stopped (pointer into s).
 */
static const char *scan_words(const char *s, char escape, bool flags, struct strv *out)
{
	size_t n = strlen(s);
	cleanup_buf struct strata_buf w = STRATA_BUF_INIT;
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	char quote = 0;
	bool blank_ok = false;
	for (size_t pos = 0; pos <= n; pos++) {
		char ch = pos < n ? s[pos] : 0;
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (df_isspace((unsigned char)ch))
				continue;
			if (flags && (ch != '-' || pos + 1 == n || s[pos + 1] != '-'))
				return s + pos;
			phase = WORD;
		}
		bool end_of_flags = flags && !strcmp(w.data, "--");
		if (pos == n) {
			if (!end_of_flags && (blank_ok || w.len))
				strv_push(out, strata_buf_detach(&w, NULL));
			break;
		}
		if (phase == WORD) {
			if (df_isspace((unsigned char)ch)) {
				if (end_of_flags)
					return s + pos;
				phase = SPACES;
				if (blank_ok || w.len)
					strv_push(out, strata_buf_detach(&w, NULL));
				strata_buf_reset(&w);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				if (flags)
					continue;
			}
			if (ch == escape) {
				if (pos + 1 == n)
					continue;
				if (!flags)
					strata_buf_addch(&w, ch);
				ch = s[++pos];
			}
			strata_buf_addch(&w, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote) {
			phase = WORD;
			if (flags)
				continue;
		}
		if (ch == escape && (flags || quote != '\'')) {
			if (pos + 1 == n) {
				phase = WORD;
				continue;
			}
			if (!flags)
				strata_buf_addch(&w, ch);
			ch = s[++pos];
		}
		strata_buf_addch(&w, ch);
	}
	return s + n;
}

/* BuildKit's parseWords: quotes and escapes stay in the words. */
static void parse_words(const char *s, char escape, struct strv *out)
{
	scan_words(s, escape, false, out);
}

/*
 * Try the JSON form: an array of strings. @return 1 with the elements in
 * out; 0 (out untouched) when `s` is not a JSON array, in which case docker
 * falls back to the shell form; -1 when it is a JSON array with an element
 * that is not a string, which BuildKit refuses (parseJSON's
 * errDockerfileNotStringArray).
 */
static int parse_json_array(const char *s, struct strv *out)
{
	if (*s != '[')
		return 0;
	json_error_t jerr;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &jerr);
	if (!j)
		return 0;
	if (!json_is_array(j)) {
		json_decref(j);
		return 0;
	}
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e)) {
			json_decref(j);
			return -1;
		}
	}
	json_array_foreach(j, i, e)
		strv_push(out, xstrdup(json_string_value(e)));
	json_decref(j);
	return 1;
}

#define NOT_STRING_ARRAY "when using JSON array syntax, arrays must be comprised of strings only"

/* ---- flags --------------------------------------------------------------- */

/*
 * BuildKit's extractBuilderFlags: leading words starting with "--" are
 * flags (quotes removed, escape with '\'); "--" alone ends them.
 * @return the rest of the line (pointer into s).
 */
static const char *extract_flags(const char *s, struct strv *words)
{
	return scan_words(s, '\\', true, words);
}

enum flag_type { FT_STRING, FT_BOOL, FT_LIST };
struct flag_spec {
	const char *name;
	enum flag_type type;
};

static const struct flag_spec from_flags[] = { { "platform", FT_STRING }, { NULL, 0 } };
static const struct flag_spec run_flags[] = {
	{ "mount", FT_LIST }, { "network", FT_STRING }, { "security", FT_STRING }, { NULL, 0 } };
static const struct flag_spec copy_flags[] = {
	{ "from", FT_STRING }, { "chown", FT_STRING }, { "chmod", FT_STRING }, { "link", FT_BOOL },
	{ "parents", FT_BOOL }, { "exclude", FT_LIST }, { NULL, 0 } };
static const struct flag_spec add_flags[] = {
	{ "chown", FT_STRING }, { "chmod", FT_STRING }, { "checksum", FT_STRING },
	{ "keep-git-dir", FT_BOOL }, { "link", FT_BOOL }, { "exclude", FT_LIST }, { "unpack", FT_BOOL },
	{ NULL, 0 } };
static const struct flag_spec hc_flags[] = {
	{ "interval", FT_STRING }, { "timeout", FT_STRING }, { "start-period", FT_STRING },
	{ "start-interval", FT_STRING }, { "retries", FT_STRING }, { NULL, 0 } };
static const struct flag_spec no_flags[] = { { NULL, 0 } };

static const struct flag_spec *flags_for(enum dockerfile_kind k)
{
	switch (k) {
	case DF_FROM: return from_flags;
	case DF_RUN: return run_flags;
	case DF_COPY: return copy_flags;
	case DF_ADD: return add_flags;
	case DF_HEALTHCHECK: return hc_flags;
	default: return no_flags;
	}
}

static int check_flags(struct dockerfile_insn *in, struct strv *fw, const char *name,
		       struct strata_error **err)
{
	const struct flag_spec *specs = flags_for(in->kind);
	const char *kw = dockerfile_kind_name(in->kind);
	for (size_t i = 0; i < fw->n; i++) {
		const char *w = fw->v[i];
		if (strncmp(w, "--", 2))
			return lex_error(err, name, in->line, "%s: arguments must come after the flags: '%s'",
					 kw, w);
		const char *fname = w + 2;
		const char *eq = strchr(fname, '=');
		size_t fl = eq ? (size_t)(eq - fname) : strlen(fname);
		const struct flag_spec *sp = NULL;
		for (const struct flag_spec *p = specs; p->name; p++)
			if (strlen(p->name) == fl && !strncasecmp(p->name, fname, fl))
				sp = p;
		if (!sp) {
			/* did-you-mean, as for instructions: "--form" -> "--from" */
			cleanup_free char *given = xstrndup(fname, fl);
			const char *best = NULL;
			size_t bestd = 3;
			for (const struct flag_spec *p = specs; p->name; p++) {
				size_t d = edit_distance(given, p->name);
				if (d < bestd) {
					bestd = d;
					best = p->name;
				}
			}
			if (best)
				return lex_error(err, name, in->line, "%s: unknown flag: --%s (did you mean --%s?)", kw,
						 given, best);
			return lex_error(err, name, in->line, "%s: unknown flag: --%s", kw, given);
		}
		struct dockerfile_flag f = { xstrdup(sp->name), eq ? xstrdup(eq + 1) : NULL };
		if (sp->type == FT_BOOL && f.value) {
			if (!strcasecmp(f.value, "true") || !strcasecmp(f.value, "false")) {
				for (char *c = f.value; *c; c++)
					*c = (char)tolower((unsigned char)*c);
			} else {
				int r = lex_error(err, name, in->line,
						  "%s: expecting boolean value for flag --%s, not: '%s'", kw,
						  sp->name, f.value);
				free(f.name);
				free(f.value);
				return r;
			}
		}
		if (sp->type != FT_BOOL && !f.value) {
			free(f.name);
			return lex_error(err, name, in->line, "%s: missing a value on flag: --%s", kw,
					 sp->name);
		}
		if (sp->type == FT_STRING && df_insn_flag(in, sp->name)) {
			free(f.name);
			free(f.value);
			return lex_error(err, name, in->line, "%s: duplicate flag specified: --%s", kw,
					 sp->name);
		}
		size_t cap = in->nflags;
		DF_PUSH(in->flags, in->nflags, cap, f);
	}
	return 0;
}

/* ---- heredocs ------------------------------------------------------------ */

/*
 * Is `w` (a raw word, quotes kept) a heredoc marker: [digits]<<[-]word ?
 * Fills h (name unquoted) and @return true.
 */
static bool heredoc_marker(const char *w, char escape, struct dockerfile_heredoc *h)
{
	const char *p = w;
	int fd = 0;
	while (isdigit((unsigned char)*p)) {
		if (fd < 100000)
			fd = fd * 10 + (*p - '0');
		p++;
	}
	if (p[0] != '<' || p[1] != '<')
		return false;
	p += 2;
	bool strip = false;
	if (*p == '-') {
		strip = true;
		p++;
	}
	if (!*p || strchr(p, '<'))
		return false;
	/* Unquote: remove quotes and escapes; quoted if any was present. */
	struct strata_buf b = STRATA_BUF_INIT;
	bool quoted = false;
	char q = 0;
	for (const char *c = p; *c; c++) {
		if (q) {
			if (*c == q) {
				q = 0;
				continue;
			}
			if (q == '"' && *c == escape && c[1]) {
				c++;
			}
			strata_buf_addch(&b, *c);
			continue;
		}
		if (*c == '\'' || *c == '"') {
			q = *c;
			quoted = true;
			continue;
		}
		if (*c == escape) {
			quoted = true;
			if (c[1])
				c++;
			else
				continue;
		}
		strata_buf_addch(&b, *c);
	}
	if (q || !b.len) {
		strata_buf_release(&b);
		return false;
	}
	h->name = strata_buf_detach(&b, NULL);
	h->expand = !quoted;
	h->strip_tabs = strip;
	h->fd = fd;
	h->content = NULL;
	return true;
}

/*
 * Is the word so far a heredoc operator waiting for its delimiter
 * (`[n]<<` or `[n]<<-`)? Whitespace after it does not end the word:
 * `cat << EOF` is `<<EOF` (BuildKit >= 0.22's lexer joins `<< EOF`; bash also
 * takes `<<- EOF`, which BuildKit does not yet: strata follows bash there).
 */
static bool heredoc_operator(const char *w, size_t n)
{
	size_t i = 0;
	while (i < n && isdigit((unsigned char)w[i]))
		i++;
	if (n - i == 3 && w[n - 1] == '-')
		n--;
	return n - i == 2 && w[i] == '<' && w[i + 1] == '<';
}

/* split_ws, but `<<` (or `<<-`) and the next word are one word (COPY/ADD). */
static void split_ws_heredoc(const char *s, struct strv *out)
{
	size_t n = strlen(s), i = 0;
	cleanup_buf struct strata_buf w = STRATA_BUF_INIT;
	for (;;) {
		i = skip_ws(s, n, i);
		if (i >= n)
			break;
		size_t b = i;
		while (i < n && !df_isspace((unsigned char)s[i]))
			i++;
		strata_buf_add(&w, s + b, i - b);
		if (heredoc_operator(w.data, w.len) && skip_ws(s, n, i) < n)
			continue;
		strv_push(out, strata_buf_detach(&w, NULL));
		strata_buf_reset(&w);
	}
	if (w.len)
		strv_push(out, strata_buf_detach(&w, NULL));
}

/* Split raw words (quotes kept) as the shell would, for heredoc detection. */
static void raw_shell_words(const char *s, char escape, struct strv *out)
{
	cleanup_buf struct strata_buf w = STRATA_BUF_INIT;
	bool inword = false;
	char q = 0;
	for (const char *c = s;; c++) {
		if (!*c) {
			if (inword)
				strv_push(out, strata_buf_detach(&w, NULL));
			break;
		}
		if (q) {
			strata_buf_addch(&w, *c);
			if (*c == q)
				q = 0;
			else if (q == '"' && *c == escape && c[1])
				strata_buf_addch(&w, *++c);
			continue;
		}
		if (df_isspace((unsigned char)*c)) {
			if (inword && heredoc_operator(w.data, w.len))
				continue;
			if (inword)
				strv_push(out, strata_buf_detach(&w, NULL));
			strata_buf_reset(&w);
			inword = false;
			continue;
		}
		inword = true;
		if (*c == '\'' || *c == '"')
			q = *c;
		strata_buf_addch(&w, *c);
		if (*c == escape && c[1])
			strata_buf_addch(&w, *++c);
	}
}

static int read_heredoc_bodies(struct lexer *lx, struct dockerfile_insn *in, struct strata_error **err)
{
	for (size_t i = 0; i < in->nheredocs; i++) {
		struct dockerfile_heredoc *h = &in->heredocs[i];
		struct strata_buf body = STRATA_BUF_INIT;
		const char *line;
		size_t n;
		bool done = false;
		h->line = lx->lineno + 1;
		while (next_line(lx, &line, &n)) {
			if (h->strip_tabs)
				while (n && *line == '\t') {
					line++;
					n--;
				}
			if (n == strlen(h->name) && !memcmp(line, h->name, n)) {
				done = true;
				break;
			}
			strata_buf_add(&body, line, n);
			strata_buf_addch(&body, '\n');
		}
		if (!done) {
			strata_buf_release(&body);
			return lex_error(err, lx->name, in->line, "unterminated heredoc '%s'", h->name);
		}
		h->content = strata_buf_detach(&body, NULL);
	}
	in->end_line = lx->lineno;
	return 0;
}

/* ---- per-instruction argument parsing ------------------------------------ */

static void args_take(struct dockerfile_insn *in, struct strv *sv)
{
	in->args = sv->v;
	in->nargs = sv->n;
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* ENV / LABEL: `k=v ...` or legacy `k v`. */
static int parse_name_val(struct dockerfile_insn *in, const char *rest, char escape, const char *name,
			  struct strata_error **err)
{
	const char *kw = dockerfile_kind_name(in->kind);
	struct strv words = { 0 }, kv = { 0 };
	int r = 0;
	parse_words(rest, escape, &words);
	if (!words.n) {
		r = lex_error(err, name, in->line, "%s requires at least one argument", kw);
		goto out;
	}
	if (!strchr(words.v[0], '=')) {
		size_t n = strlen(rest), i = 0;
		while (i < n && !df_isspace((unsigned char)rest[i]))
			i++;
		size_t j = skip_ws(rest, n, i);
		if (j >= n) {
			r = lex_error(err, name, in->line, "%s must have two arguments", kw);
			goto out;
		}
		strv_push(&kv, xstrndup(rest, i));
		strv_push(&kv, xstrdup(rest + j));
		in->legacy_kv = true;
	} else {
		for (size_t i = 0; i < words.n; i++) {
			char *eq = strchr(words.v[i], '=');
			if (!eq) {
				r = lex_error(err, name, in->line,
					      "%s: syntax error - can't find = in '%s', must be of the form: name=value",
					      kw, words.v[i]);
				goto out;
			}
			strv_push(&kv, xstrndup(words.v[i], (size_t)(eq - words.v[i])));
			strv_push(&kv, xstrdup(eq + 1));
		}
	}
	for (size_t i = 0; i < kv.n; i += 2)
		if (!*kv.v[i]) {
			r = lex_error(err, name, in->line, "%s names can not be blank", kw);
			goto out;
		}
	args_take(in, &kv);
out:
	df_strv_free(words.v, words.n);
	df_strv_free(kv.v, kv.n);
	return r;
}

static int parse_arg_words(struct dockerfile_insn *in, const char *rest, char escape, const char *name,
			   struct strata_error **err)
{
	struct strv words = { 0 }, kv = { 0 };
	int r = 0;
	parse_words(rest, escape, &words);
	if (!words.n) {
		r = lex_error(err, name, in->line, "ARG requires at least one argument");
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');
		strv_push(&kv, eq ? xstrndup(words.v[i], (size_t)(eq - words.v[i])) : xstrdup(words.v[i]));
		strv_push(&kv, eq ? xstrdup(eq + 1) : NULL);
		if (!*kv.v[kv.n - 2]) {
			r = lex_error(err, name, in->line, "ARG names can not be blank");
			goto out;
		}
	}
	args_take(in, &kv);
out:
	df_strv_free(words.v, words.n);
	df_strv_free(kv.v, kv.n);
	return r;
}

/* RUN/CMD/ENTRYPOINT/SHELL and HEALTHCHECK CMD: JSON or the whole text. */
static int parse_maybe_json(struct dockerfile_insn *in, const char *rest, const char *name, struct strv *out,
			    struct strata_error **err)
{
	int j = parse_json_array(rest, out);
	if (j < 0)
		return lex_error(err, name, in->line, "%s: " NOT_STRING_ARRAY, dockerfile_kind_name(in->kind));
	if (j > 0) {
		in->json_form = true;
		return 0;
	}
	if (*rest)
		strv_push(out, xstrdup(rest));
	return 0;
}

static int parse_healthcheck(struct dockerfile_insn *in, const char *rest, const char *name,
			     struct strata_error **err)
{
	size_t n = strlen(rest), i = 0;
	while (i < n && !df_isspace((unsigned char)rest[i]))
		i++;
	if (!n)
		return lex_error(err, name, in->line, "HEALTHCHECK requires at least one argument");
	struct strv sv = { 0 };
	char *type = xstrndup(rest, i);
	const char *cmd = rest + skip_ws(rest, n, i);
	int r = 0;
	if (!strcasecmp(type, "NONE")) {
		if (*cmd)
			r = lex_error(err, name, in->line, "HEALTHCHECK NONE takes no arguments");
		else if (in->nflags)
			r = lex_error(err, name, in->line, "HEALTHCHECK NONE takes no options");
		strv_push(&sv, xstrdup("NONE"));
	} else if (!strcasecmp(type, "CMD")) {
		strv_push(&sv, xstrdup("CMD"));
		r = parse_maybe_json(in, cmd, name, &sv, err);
		if (r == 0 && sv.n < 2 && !in->json_form)
			r = lex_error(err, name, in->line, "HEALTHCHECK CMD requires a command");
	} else {
		r = lex_error(err, name, in->line, "unknown type '%s' in HEALTHCHECK (try CMD)", type);
	}
	free(type);
	if (r == 0) {
		for (size_t f = 0; f < in->nflags && r == 0; f++) {
			const struct dockerfile_flag *fl = &in->flags[f];
			if (!strcmp(fl->name, "retries")) {
				char *end;
				errno = 0;
				long long v = strtoll(fl->value, &end, 10);
				if (errno || end == fl->value || *end || v < 0)
					r = lex_error(err, name, in->line,
						      "HEALTHCHECK: --retries must be a non-negative integer, not '%s'",
						      fl->value);
			} else {
				int64_t ns;
				if (df_parse_duration(fl->value, &ns) < 0)
					r = lex_error(err, name, in->line,
						      "HEALTHCHECK: --%s: invalid duration '%s'", fl->name,
						      fl->value);
				else if (ns != 0 && ns < 1000000)
					r = lex_error(err, name, in->line,
						      "HEALTHCHECK: --%s cannot be less than 1ms", fl->name);
			}
		}
	}
	if (r == 0)
		args_take(in, &sv);
	df_strv_free(sv.v, sv.n);
	return r;
}

static int parse_args(struct dockerfile_insn *in, const char *rest, char escape, const char *name,
		      struct strata_error **err);

/* Parse one logical line into `in` (keyword, flags, args; no heredoc bodies). */
static int parse_line(struct dockerfile_insn *in, const char *text, char escape, const char *name,
		      bool allow_heredoc, struct strata_error **err)
{
	size_t n = strlen(text), i = skip_ws(text, n, 0);
	size_t b = i;
	while (i < n && !df_isspace((unsigned char)text[i]))
		i++;
	in->keyword = xstrndup(text + b, i - b);
	int k = dockerfile_kind_lookup(in->keyword);
	if (k < 0) {
		const char *s = suggest_kind(in->keyword);
		if (s)
			return lex_error(err, name, in->line, "unknown instruction: %s (did you mean %s?)",
					 in->keyword, s);
		return lex_error(err, name, in->line, "unknown instruction: %s", in->keyword);
	}
	in->kind = (enum dockerfile_kind)k;
	/* The rest, trimmed at both ends (BuildKit trims the whole line). */
	size_t e = n;
	while (e > i && df_isspace((unsigned char)text[e - 1]))
		e--;
	cleanup_free char *rest_all = xstrndup(text + i, e - i);
	struct strv fw = { 0 };
	const char *rest = extract_flags(rest_all, &fw);
	rest += skip_ws(rest, strlen(rest), 0);
	int r = check_flags(in, &fw, name, err);
	df_strv_free(fw.v, fw.n);
	if (r < 0)
		return r;
	if (parse_args(in, rest, escape, name, err) < 0)
		return -1;
	/* BuildKit's canContainHeredoc: RUN, COPY, ADD, also as an ONBUILD trigger */
	const struct dockerfile_insn *h = in->kind == DF_ONBUILD ? in->onbuild : in;
	if (allow_heredoc && h && !h->json_form && (h->kind == DF_RUN || h->kind == DF_COPY || h->kind == DF_ADD)) {
		struct strv words = { 0 };
		size_t cap = 0;
		raw_shell_words(in->kind == DF_ONBUILD ? h->original : rest, escape, &words);
		for (size_t w = 0; w < words.n; w++) {
			struct dockerfile_heredoc hd;
			if (heredoc_marker(words.v[w], escape, &hd))
				DF_PUSH(in->heredocs, in->nheredocs, cap, hd);
		}
		df_strv_free(words.v, words.n);
		struct dockerfile_heredoc hd;
		if (in->nheredocs && (h->kind == DF_COPY || h->kind == DF_ADD) && h->nargs &&
		    heredoc_marker(h->args[h->nargs - 1], escape, &hd)) {
			df_heredoc_release(&hd);
			return lex_error(err, name, in->line, "%s: dest path cannot be a heredoc",
					 dockerfile_kind_name(h->kind));
		}
	}
	return 0;
}

static int parse_args(struct dockerfile_insn *in, const char *rest, char escape, const char *name,
		      struct strata_error **err)
{
	const char *kw = dockerfile_kind_name(in->kind);
	struct strv sv = { 0 };
	int r = 0;
	switch (in->kind) {
	case DF_FROM:
		split_ws(rest, &sv);
		if (sv.n != 1 && !(sv.n == 3 && !strcasecmp(sv.v[1], "as")))
			r = lex_error(err, name, in->line, "FROM requires either one or three arguments");
		break;
	case DF_EXPOSE:
		split_ws(rest, &sv);
		if (!sv.n)
			r = lex_error(err, name, in->line, "EXPOSE requires at least one argument");
		break;
	case DF_RUN:
	case DF_CMD:
	case DF_ENTRYPOINT:
		r = parse_maybe_json(in, rest, name, &sv, err);
		if (r == 0 && !sv.n && !in->json_form)
			r = lex_error(err, name, in->line, "%s requires at least one argument", kw);
		break;
	case DF_SHELL: {
		int j = parse_json_array(rest, &sv);
		if (j < 0)
			r = lex_error(err, name, in->line, "SHELL: " NOT_STRING_ARRAY);
		else if (!j)
			r = lex_error(err, name, in->line, "SHELL requires the arguments to be in JSON form");
		else if (!sv.n)
			r = lex_error(err, name, in->line, "SHELL requires at least one argument");
		in->json_form = true;
		break;
	}
	case DF_COPY:
	case DF_ADD:
	case DF_VOLUME: {
		int j = parse_json_array(rest, &sv);
		if (j < 0) {
			r = lex_error(err, name, in->line, "%s: " NOT_STRING_ARRAY, kw);
			break;
		}
		if (j > 0)
			in->json_form = true;
		else if (in->kind == DF_VOLUME)
			split_ws(rest, &sv);
		else
			split_ws_heredoc(rest, &sv);
		if (in->kind == DF_VOLUME) {
			if (!sv.n)
				r = lex_error(err, name, in->line, "VOLUME requires at least one argument");
		} else if (sv.n == 1) {
			r = lex_error(err, name, in->line,
				      "%s requires at least two arguments, but only one was provided, destination could not be determined",
				      kw);
		} else if (!sv.n) {
			r = lex_error(err, name, in->line, "%s requires at least two arguments", kw);
		}
		break;
	}
	case DF_ENV:
	case DF_LABEL:
		return parse_name_val(in, rest, escape, name, err);
	case DF_ARG:
		return parse_arg_words(in, rest, escape, name, err);
	case DF_USER:
	case DF_WORKDIR:
	case DF_STOPSIGNAL:
	case DF_MAINTAINER:
		if (!*rest)
			r = lex_error(err, name, in->line, "%s requires exactly one argument", kw);
		else
			strv_push(&sv, xstrdup(rest));
		break;
	case DF_HEALTHCHECK:
		return parse_healthcheck(in, rest, name, err);
	case DF_ONBUILD: {
		if (!*rest) {
			r = lex_error(err, name, in->line, "ONBUILD requires at least one argument");
			break;
		}
		struct dockerfile_insn *t = xcalloc(1, sizeof(*t));
		t->line = in->line;
		t->end_line = in->line;
		t->original = xstrdup(rest);
		in->onbuild = t;
		if (parse_line(t, rest, escape, name, false, err) < 0)
			return -1;
		if (t->kind == DF_ONBUILD)
			return lex_error(err, name, in->line,
					 "chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed");
		if (t->kind == DF_FROM || t->kind == DF_MAINTAINER)
			return lex_error(err, name, in->line, "%s isn't allowed as an ONBUILD trigger",
					 dockerfile_kind_name(t->kind));
		strv_push(&sv, xstrdup(rest));
		break;
	}
	default:
		break;
	}
	if (r == 0 && in->kind == DF_RUN) {
		/* Validate --mount syntax now (values are checked again once expanded). */
		for (size_t i = 0; i < in->nflags && r == 0; i++) {
			if (strcmp(in->flags[i].name, "mount"))
				continue;
			struct dockerfile_mount m;
			struct strata_error *merr = NULL;
			if (df_mount_parse(in->flags[i].value, NULL, NULL, true, &m, &merr) < 0) {
				char *s = strata_error_string(merr);
				strata_error_free(merr);
				r = lex_error(err, name, in->line, "RUN --mount=%s: %s", in->flags[i].value, s);
				free(s);
			} else {
				df_mount_release(&m);
			}
		}
		const struct dockerfile_flag *f = df_insn_flag(in, "network");
		if (r == 0 && f && strcmp(f->value, "default") && strcmp(f->value, "none") &&
		    strcmp(f->value, "host"))
			r = lex_error(err, name, in->line, "RUN: unsupported network mode '%s'", f->value);
		f = df_insn_flag(in, "security");
		if (r == 0 && f && strcmp(f->value, "sandbox") && strcmp(f->value, "insecure"))
			r = lex_error(err, name, in->line, "RUN: unsupported security mode '%s'", f->value);
	}
	if (r == 0)
		args_take(in, &sv);
	df_strv_free(sv.v, sv.n);
	return r;
}

int dockerfile_parse_instruction(const char *text, char escape, const char *name, int line,
				 struct dockerfile_insn **out, struct strata_error **err)
{
	if (!name)
		name = "Dockerfile";
	if (escape != '\\' && escape != '`')
		escape = '\\';
	struct dockerfile_insn *in = xcalloc(1, sizeof(*in));
	in->line = in->end_line = line;
	in->original = xstrdup(text);
	size_t ol = strlen(in->original);
	while (ol && df_isspace((unsigned char)in->original[ol - 1]))
		in->original[--ol] = 0;
	if (parse_line(in, text, escape, name, false, err) < 0) {
		dockerfile_insn_free(in);
		return -1;
	}
	*out = in;
	return 0;
}

void dockerfile_insn_free(struct dockerfile_insn *in)
{
	if (!in)
		return;
	df_insn_release(in);
	free(in);
}

/* ---- the main loop ------------------------------------------------------- */

int dockerfile_parse(const char *data, size_t len, const char *name, struct dockerfile **out,
		     struct strata_error **err)
{
	if (!name)
		name = "Dockerfile";
	if (len > DOCKERFILE_MAX_SIZE)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: file too large (%zu bytes)", name,
					  len);
	if (memchr(data, '\0', len))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: file contains a NUL byte", name);
	struct dockerfile *df = xcalloc(1, sizeof(*df));
	df->name = xstrdup(name);
	df->escape = '\\';
	struct lexer lx = { data, len, 0, 0, '\\', df->name };
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		lx.pos = 3;
	size_t cap = 0, wcap = 0;
	bool directives = true, seen_escape = false;
	const char *line;
	size_t n;
	struct strata_buf logical = STRATA_BUF_INIT;
	int r = 0;
	while (next_line(&lx, &line, &n)) {
		if (directives) {
			char key[16];
			const char *val;
			size_t vl;
			if (parse_directive(line, n, key, sizeof(key), &val, &vl)) {
				char **slot = !strcmp(key, "syntax") ? &df->syntax
					      : !strcmp(key, "check") ? &df->check : NULL;
				if (slot) {
					if (*slot) {
						r = lex_error(err, name, lx.lineno,
							      "only one %s parser directive can be used", key);
						goto fail;
					}
					*slot = xstrndup(val, vl);
				} else {
					if (seen_escape) {
						r = lex_error(err, name, lx.lineno,
							      "only one escape parser directive can be used");
						goto fail;
					}
					if (vl != 1 || (val[0] != '\\' && val[0] != '`')) {
						r = lex_error(err, name, lx.lineno,
							      "invalid escape token '%.*s' does not match ` or \\",
							      (int)vl, val);
						goto fail;
					}
					df->escape = val[0];
					seen_escape = true;
				}
				continue;
			}
			directives = false;
			lx.escape = df->escape;
		}
		if (is_blank(line, n) || is_comment(line, n))
			continue;
		struct dockerfile_insn in = { 0 };
		in.line = lx.lineno;
		size_t s0 = skip_ws(line, n, 0);
		line += s0;
		n -= s0;
		strata_buf_reset(&logical);
		bool more = trim_continuation(line, &n, lx.escape);
		strata_buf_add(&logical, line, n);
		while (more && next_line(&lx, &line, &n)) {
			if (is_comment(line, n))
				continue;
			if (is_blank(line, n)) {
				DF_PUSH(df->warnings, df->nwarnings, wcap,
					xasprintf("%s:%d: empty continuation line", name, lx.lineno));
				continue;
			}
			more = trim_continuation(line, &n, lx.escape);
			strata_buf_add(&logical, line, n);
		}
		in.end_line = lx.lineno;
		in.original = xstrndup(logical.data, logical.len);
		/* trim trailing whitespace of the original */
		size_t ol = strlen(in.original);
		while (ol && df_isspace((unsigned char)in.original[ol - 1]))
			in.original[--ol] = 0;
		r = parse_line(&in, logical.data, lx.escape, name, true, err);
		if (r == 0 && in.nheredocs)
			r = read_heredoc_bodies(&lx, &in, err);
		if (r == 0 && in.nheredocs && in.kind == DF_ONBUILD) {
			/* the trigger kept in the image config carries its bodies (BuildKit's parseOnBuild) */
			struct strata_buf t = STRATA_BUF_INIT;
			strata_buf_adds(&t, in.args[0]);
			for (size_t h = 0; h < in.nheredocs; h++)
				strata_buf_addf(&t, "\n%s%s", in.heredocs[h].content, in.heredocs[h].name);
			free(in.args[0]);
			in.args[0] = strata_buf_detach(&t, NULL);
		}
		if (r < 0) {
			df_insn_release(&in);
			goto fail;
		}
		DF_PUSH(df->insns, df->ninsns, cap, in);
	}
	if (!df->ninsns) {
		r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: file with no instructions", name);
		goto fail;
	}
	bool has_from = false;
	for (size_t i = 0; i < df->ninsns; i++) {
		if (df->insns[i].kind == DF_FROM) {
			has_from = true;
			break;
		}
		if (df->insns[i].kind != DF_ARG) {
			r = lex_error(err, name, df->insns[i].line,
				      "%s: no build stage in current context (only ARG may come before the first FROM)",
				      dockerfile_kind_name(df->insns[i].kind));
			goto fail;
		}
	}
	if (!has_from) {
		r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s: no FROM instruction", name);
		goto fail;
	}
	strata_buf_release(&logical);
	*out = df;
	return 0;
fail:
	strata_buf_release(&logical);
	dockerfile_free(df);
	return r < 0 ? r : -1;
}

int dockerfile_parse_file(const char *path, const char *name, struct dockerfile **out,
			  struct strata_error **err)
{
	cleanup_close int fd = -1;
	bool is_stdin = !strcmp(path, "-");
	if (!is_stdin) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return strata_error_makec(err, errno == ENOENT ? STRATA_E_NOTFOUND : STRATA_E_CONFIG,
						  errno, "open '%s'", path);
	}
	int rfd = is_stdin ? 0 : fd;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_init(&b, DOCKERFILE_MAX_SIZE);
	char tmp[65536];
	for (;;) {
		ssize_t k = read(rfd, tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return strata_error_makec(err, STRATA_E_CONFIG, errno, "read '%s'", path);
		if (k == 0)
			break;
		if (strata_buf_add(&b, tmp, (size_t)k) < 0)
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "%s: file too large (more than %u bytes)", path,
						  DOCKERFILE_MAX_SIZE);
	}
	return dockerfile_parse(b.data, b.len, name ? name : (is_stdin ? "Dockerfile" : path), out, err);
}
