/*
 * ignore.c — .dockerignore matching with docker's semantics (see ignore.h).
 *
 * Patterns are compiled to a token list and matched with a dynamic program
 * over (token, position), so no pattern can make matching exponential.
 * The semantics are those of moby's patternmatcher regexp translation:
 * '*' = [^/]*, '?' = [^/], "**" followed by more = (.* /)?, a final "**" =
 * .*, "[...]" a regexp class, '\' escapes the next character.
 */
#include "dockerfile/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

enum tok_type { T_LIT, T_ANY, T_STAR, T_DSTAR_DIR, T_DSTAR_ALL, T_CLASS };

struct tok {
	enum tok_type type;
	char c;            /* T_LIT */
	uint8_t set[32];   /* T_CLASS: bitmap of bytes */
};

struct pattern {
	char *text;        /* cleaned, without '!' */
	bool exception;
	struct tok *toks;
	size_t ntoks;
	int line;
};

struct dockerfile_ignore {
	struct pattern *p;
	size_t n;
	bool has_exceptions;
};

/* ---- path cleaning (Go's path.Clean) -------------------------------------- */

static char *clean_path(const char *s)
{
	size_t n = strlen(s);
	if (!n)
		return xstrdup(".");
	bool rooted = s[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (s[r] == '/') {
			r++;
		} else if (s[r] == '.' && (r + 1 == n || s[r + 1] == '/')) {
			r++;
		} else if (s[r] == '.' && s[r + 1] == '.' && (r + 2 == n || s[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && s[r] != '/')
				out[w++] = s[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

/* ---- compiling ------------------------------------------------------------ */

static void set_bit(uint8_t *set, unsigned char c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool has_bit(const uint8_t *set, unsigned char c)
{
	return set[c >> 3] & (1u << (c & 7));
}

/* Parse a class at p (after '['). @return pointer after ']' or NULL when malformed. */
static const char *compile_class(const char *p, struct tok *t)
{
	bool neg = false;
	memset(t->set, 0, sizeof(t->set));
	if (*p == '^') {
		neg = true;
		p++;
	}
	bool first = true;
	while (*p && (*p != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)*p;
		if (lo == '\\') {
			if (!p[1])
				return NULL;
			lo = (unsigned char)*++p;
		}
		p++;
		unsigned char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p;
			if (hi == '\\') {
				if (!p[1])
					return NULL;
				hi = (unsigned char)*++p;
			}
			p++;
			if (hi < lo)
				return NULL;
		}
		for (unsigned c = lo; c <= hi; c++)
			set_bit(t->set, (unsigned char)c);
	}
	if (*p != ']')
		return NULL;
	if (neg)
		for (size_t i = 0; i < sizeof(t->set); i++)
			t->set[i] = (uint8_t)~t->set[i];
	t->type = T_CLASS;
	return p + 1;
}

static int compile(struct pattern *pt)
{
	const char *p = pt->text;
	size_t cap = 0;
	while (*p) {
		struct tok t = { 0 };
		if (*p == '*') {
			if (p[1] == '*') {
				p += 2;
				if (*p == '/')
					p++;
				t.type = *p ? T_DSTAR_DIR : T_DSTAR_ALL;
			} else {
				p++;
				t.type = T_STAR;
			}
		} else if (*p == '?') {
			p++;
			t.type = T_ANY;
		} else if (*p == '[') {
			p = compile_class(p + 1, &t);
			if (!p)
				return -1;
		} else if (*p == '\\') {
			t.type = T_LIT;
			if (p[1]) {
				t.c = p[1];
				p += 2;
			} else {
				t.c = '\\';
				p++;
			}
		} else {
			t.type = T_LIT;
			t.c = *p++;
		}
		DF_PUSH(pt->toks, pt->ntoks, cap, t);
	}
	return 0;
}

/* ---- matching ------------------------------------------------------------- */

static bool match_toks(const struct tok *toks, size_t nt, const char *s, size_t n)
{
	/* reach[j]: the tokens so far can consume exactly s[0..j) */
	uint8_t stackbuf[1024];
	uint8_t *reach = n + 1 <= sizeof(stackbuf) ? stackbuf : xmalloc(n + 1);
	uint8_t stackbuf2[1024];
	uint8_t *next = n + 1 <= sizeof(stackbuf2) ? stackbuf2 : xmalloc(n + 1);
	memset(reach, 0, n + 1);
	reach[0] = 1;
	bool any = true;
	for (size_t ti = 0; ti < nt && any; ti++) {
		const struct tok *t = &toks[ti];
		memset(next, 0, n + 1);
		any = false;
		bool run = false; /* for stars: a reachable start so far in this run */
		for (size_t j = 0; j <= n; j++) {
			switch (t->type) {
			case T_LIT:
				if (j < n && reach[j] && s[j] == t->c)
					next[j + 1] = 1;
				break;
			case T_ANY:
				if (j < n && reach[j] && s[j] != '/')
					next[j + 1] = 1;
				break;
			case T_CLASS:
				if (j < n && reach[j] && has_bit(t->set, (unsigned char)s[j]))
					next[j + 1] = 1;
				break;
			case T_STAR:
				/* [^/]*: reachable from any earlier reach in the same '/'-free run */
				if (reach[j])
					run = true;
				if (run)
					next[j] = 1;
				if (j < n && s[j] == '/')
					run = false;
				break;
			case T_DSTAR_ALL:
				if (reach[j])
					run = true;
				if (run)
					next[j] = 1;
				break;
			case T_DSTAR_DIR:
				/* (.* /)?: empty, or up to and including any later '/' */
				if (reach[j]) {
					run = true;
					next[j] = 1;
				}
				if (run && j > 0 && s[j - 1] == '/')
					next[j] = 1;
				break;
			}
		}
		for (size_t j = 0; j <= n; j++)
			any |= next[j];
		uint8_t *tmp = reach;
		reach = next;
		next = tmp;
	}
	bool m = any && reach[n];
	if (reach != stackbuf && reach != stackbuf2)
		free(reach);
	if (next != stackbuf && next != stackbuf2)
		free(next);
	return m;
}

bool dockerfile_glob_match(const char *pattern, const char *path)
{
	struct pattern pt = { .text = (char *)pattern };
	bool m = false;
	if (compile(&pt) == 0)
		m = match_toks(pt.toks, pt.ntoks, path, strlen(path));
	free(pt.toks);
	return m;
}

/* ---- the matcher ---------------------------------------------------------- */

void dockerfile_ignore_free(struct dockerfile_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->p[i].text);
		free(ig->p[i].toks);
	}
	free(ig->p);
	free(ig);
}

size_t dockerfile_ignore_count(const struct dockerfile_ignore *ig)
{
	return ig ? ig->n : 0;
}

int dockerfile_ignore_parse(const char *text, size_t len, const char *name,
			    struct dockerfile_ignore **out, struct strata_error **err)
{
	struct dockerfile_ignore *ig = xcalloc(1, sizeof(*ig));
	size_t cap = 0, pos = 0;
	int lineno = 0;
	if (!name)
		name = ".dockerignore";
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l && s[0] == '#')
			continue;
		while (l && df_isspace((unsigned char)*s)) {
			s++;
			l--;
		}
		while (l && df_isspace((unsigned char)s[l - 1]))
			l--;
		if (!l)
			continue;
		bool exc = false;
		if (*s == '!') {
			exc = true;
			s++;
			l--;
			while (l && df_isspace((unsigned char)*s)) {
				s++;
				l--;
			}
			if (!l) {
				dockerfile_ignore_free(ig);
				return strata_error_makec(err, STRATA_E_CONFIG, 0,
							  "%s:%d: illegal exclusion pattern: '!'", name, lineno);
			}
		}
		if (memchr(s, '\0', l)) {
			dockerfile_ignore_free(ig);
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: pattern contains a NUL byte",
						  name, lineno);
		}
		char *raw = xstrndup(s, l);
		char *c = clean_path(raw);
		free(raw);
		if (strlen(c) > 1 && c[0] == '/')
			memmove(c, c + 1, strlen(c));
		struct pattern pt = { .text = c, .exception = exc, .line = lineno };
		if (compile(&pt) < 0) {
			int r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: bad pattern '%s'", name,
						   lineno, c);
			free(pt.toks);
			free(c);
			dockerfile_ignore_free(ig);
			return r;
		}
		ig->has_exceptions |= exc;
		DF_PUSH(ig->p, ig->n, cap, pt);
	}
	*out = ig;
	return 0;
}

static int read_small_file(const char *path, struct strata_buf *b, struct strata_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", path);
	strata_buf_init(b, DOCKERFILE_MAX_SIZE);
	char tmp[16384];
	for (;;) {
		ssize_t k = read(fd, tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return strata_error_make(err, errno, "read '%s'", path);
		if (!k)
			break;
		if (strata_buf_add(b, tmp, (size_t)k) < 0)
			return strata_error_make(err, E2BIG, "read '%s'", path);
	}
	return 1;
}

int dockerfile_ignore_load(const char *context_dir, const char *dockerfile_path,
			   struct dockerfile_ignore **out, char **used_path, struct strata_error **err)
{
	if (used_path)
		*used_path = NULL;
	char *cands[2] = { NULL, NULL };
	if (dockerfile_path && strcmp(dockerfile_path, "-"))
		cands[0] = xasprintf("%s.dockerignore", dockerfile_path);
	cands[1] = xasprintf("%s/.dockerignore", context_dir);
	int r = 0;
	for (size_t i = 0; i < 2; i++) {
		if (!cands[i])
			continue;
		struct strata_buf b = STRATA_BUF_INIT;
		int got = read_small_file(cands[i], &b, err);
		if (got < 0) {
			strata_buf_release(&b);
			r = -1;
			break;
		}
		if (got == 0)
			continue;
		r = dockerfile_ignore_parse(b.data, b.len, cands[i], out, err);
		strata_buf_release(&b);
		if (r == 0 && used_path)
			*used_path = STRATA_STEAL(cands[i]);
		free(cands[0]);
		free(cands[1]);
		return r;
	}
	free(cands[0]);
	free(cands[1]);
	if (r < 0)
		return r;
	return dockerfile_ignore_parse("", 0, NULL, out, err);
}

static bool pattern_match(const struct pattern *p, const char *s, size_t n)
{
	return match_toks(p->toks, p->ntoks, s, n);
}

bool dockerfile_ignore_match(const struct dockerfile_ignore *ig, const char *path)
{
	if (!ig || !ig->n)
		return false;
	char *c = clean_path(path);
	char *s = c;
	while (s[0] == '/' && s[1])
		s++;
	size_t n = strlen(s);
	bool matched = false;
	for (size_t i = 0; i < ig->n; i++) {
		const struct pattern *p = &ig->p[i];
		if (p->exception != matched)
			continue;
		bool m = pattern_match(p, s, n);
		/* the parent rule: a pattern matching a parent directory matches */
		for (size_t j = 0; !m && j < n; j++)
			if (s[j] == '/')
				m = pattern_match(p, s, j);
		if (m)
			matched = !p->exception;
	}
	free(c);
	return matched;
}

/* Match pattern component-wise against the first components of dir. */
static bool pattern_may_match_below(const struct pattern *p, const char *dir)
{
	const char *pp = p->text, *dp = dir;
	for (;;) {
		const char *pe = strchr(pp, '/');
		size_t pl = pe ? (size_t)(pe - pp) : strlen(pp);
		if (memmem(pp, pl, "**", 2))
			return true;
		if (!pe)
			return false; /* the pattern has no more components than dir */
		const char *de = strchr(dp, '/');
		size_t dl = de ? (size_t)(de - dp) : strlen(dp);
		char *pc = xstrndup(pp, pl), *dc = xstrndup(dp, dl);
		bool m = dockerfile_glob_match(pc, dc);
		free(pc);
		free(dc);
		if (!m)
			return false;
		if (!de)
			return true; /* dir exhausted, pattern continues below it */
		pp = pe + 1;
		dp = de + 1;
	}
}

bool dockerfile_ignore_may_include_below(const struct dockerfile_ignore *ig, const char *dir)
{
	if (!ig || !ig->has_exceptions)
		return false;
	char *c = clean_path(dir);
	char *s = c;
	while (s[0] == '/' && s[1])
		s++;
	bool r = false;
	for (size_t i = 0; i < ig->n && !r; i++)
		if (ig->p[i].exception)
			r = !strcmp(s, ".") || pattern_may_match_below(&ig->p[i], s);
	free(c);
	return r;
}
