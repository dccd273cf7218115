/*
 * interp.c — compose's variable interpolation: $VAR, ${VAR}, ${VAR:-d},
 * ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}, $$; nested ${...} in
 * the operands. Applied to every scalar value of a tree (never to keys).
 */
#include "compose/internal.h"

#include <ctype.h>
#include <string.h>

struct interp {
	compose_lookup_fn lookup;
	void *ctx;
	void (*warn)(void *wctx, const char *msg);
	void *wctx;
	const char *src;        /* the whole input, for error messages */
};

static bool name_start(char c) { return c == '_' || isalpha((unsigned char)c); }
static bool name_char(char c) { return c == '_' || isalnum((unsigned char)c); }

static int invalid(const struct interp *in, struct strata_error **err)
{
	return strata_error_makec(err, STRATA_E_CONFIG, 0, "invalid interpolation format '%s'", in->src);
}

static int expand(const struct interp *in, const char *s, size_t len, unsigned depth,
		  struct strata_buf *out, struct strata_error **err);

static int too_long(struct strata_error **err)
{
	return strata_error_makec(err, STRATA_E_CONFIG, 0, "interpolated value longer than %u bytes",
				  COMPOSE_FILE_MAX);
}
#define ADD(x)                                  \
	do {                                    \
		if ((x) < 0)                    \
			return too_long(err);   \
	} while (0)

/*
 * The end of a braced expression starting after "${": the index of its
 * closing '}' (nested ${...} skipped), or -1.
 */
static ssize_t find_close(const char *s, size_t len)
{
	unsigned nest = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '$') {
			i++;
			continue;
		}
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
			nest++;
			i++;
			continue;
		}
		if (s[i] == '}') {
			if (!nest)
				return (ssize_t)i;
			nest--;
		}
	}
	return -1;
}

static void warn_unset(const struct interp *in, const char *name)
{
	if (!in->warn)
		return;
	char *m = xasprintf("the \"%s\" variable is not set, defaulting to a blank string", name);
	in->warn(in->wctx, m);
	free(m);
}

/* s/len: the text between "${" and "}". */
static int braced(const struct interp *in, const char *s, size_t len, unsigned depth,
		  struct strata_buf *out, struct strata_error **err)
{
	size_t n = 0;
	if (!len || !name_start(s[0]))
		return invalid(in, err);
	while (n < len && name_char(s[n]))
		n++;
	cleanup_free char *name = xstrndup(s, n);
	const char *val = in->lookup(in->ctx, name);
	if (n == len) {
		if (!val)
			warn_unset(in, name);
		ADD(strata_buf_adds(out, val ? val : ""));
		return 0;
	}
	bool colon = s[n] == ':';
	size_t op = n + colon;
	if (op >= len || !strchr("-?+", s[op]))
		return invalid(in, err);
	const char *arg = s + op + 1;
	size_t alen = len - op - 1;
	bool unset = !val || (colon && !*val);
	switch (s[op]) {
	case '-':
		if (unset)
			return expand(in, arg, alen, depth + 1, out, err);
		ADD(strata_buf_adds(out, val));
		return 0;
	case '+':
		if (!unset)
			return expand(in, arg, alen, depth + 1, out, err);
		return 0;
	default: /* '?' */
		if (!unset) {
			ADD(strata_buf_adds(out, val));
			return 0;
		}
		cleanup_buf struct strata_buf msg = STRATA_BUF_INIT;
		strata_buf_init(&msg, COMPOSE_FILE_MAX);
		if (expand(in, arg, alen, depth + 1, &msg, err) < 0)
			return -1;
		if (msg.len)
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "required variable %s is missing a value: %s", name,
						  msg.data);
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "required variable %s is missing a value",
					  name);
	}
}

static int expand(const struct interp *in, const char *s, size_t len, unsigned depth,
		  struct strata_buf *out, struct strata_error **err)
{
	if (depth > 32)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "interpolation nested too deeply in '%s'",
					  in->src);
	for (size_t i = 0; i < len;) {
		const char *d = memchr(s + i, '$', len - i);
		if (!d) {
			ADD(strata_buf_add(out, s + i, len - i));
			break;
		}
		size_t k = (size_t)(d - s);
		ADD(strata_buf_add(out, s + i, k - i));
		if (k + 1 >= len)
			return invalid(in, err);
		char c = s[k + 1];
		if (c == '$') {
			ADD(strata_buf_addch(out, '$'));
			i = k + 2;
		} else if (c == '{') {
			ssize_t e = find_close(s + k + 2, len - k - 2);
			if (e < 0)
				return invalid(in, err);
			if (braced(in, s + k + 2, (size_t)e, depth, out, err) < 0)
				return -1;
			i = k + 2 + (size_t)e + 1;
		} else if (name_start(c)) {
			size_t j = k + 1;
			while (j < len && name_char(s[j]))
				j++;
			cleanup_free char *name = xstrndup(s + k + 1, j - k - 1);
			const char *val = in->lookup(in->ctx, name);
			if (!val)
				warn_unset(in, name);
			ADD(strata_buf_adds(out, val ? val : ""));
			i = j;
		} else {
			return invalid(in, err);
		}
	}
	return 0;
}

int compose_interpolate(const char *s, compose_lookup_fn lookup, void *ctx,
			void (*warn)(void *wctx, const char *msg), void *wctx, char **out,
			struct strata_error **err)
{
	struct interp in = { lookup, ctx, warn, wctx, s };
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_init(&b, COMPOSE_FILE_MAX);
	if (expand(&in, s, strlen(s), 0, &b, err) < 0)
		return -1;
	*out = strata_buf_detach(&b, NULL);
	return 0;
}

/* ------------------------------------------------------------------------- */

struct walk {
	compose_lookup_fn lookup;
	void *ctx;
	struct compose_project *p;
	size_t total;           /* bytes produced so far */
};

/* All interpolated values of one file together. */
#define COMPOSE_INTERP_TOTAL_MAX (64u << 20)

static void warn_project(void *wctx, const char *msg)
{
	struct compose_project *p = wctx;
	for (size_t i = 0; i < p->nwarnings; i++)
		if (!strcmp(p->warnings[i], msg))
			return;
	compose_project_warn(p, "%s", msg);
}

static int walk(struct walk *w, struct cnode *n, struct strata_buf *path, struct strata_error **err)
{
	size_t keep = path->len;
	if (n->type == CN_SCALAR) {
		if (!strchr(n->value, '$'))
			return 0;
		char *v = NULL;
		struct strata_error *inner = NULL;
		if (compose_interpolate(n->value, w->lookup, w->ctx, warn_project, w->p, &v, &inner) < 0) {
			char *m = strata_error_string(inner);
			strata_error_free(inner);
			compose_node_error(err, n, path->data, "%s", m);
			free(m);
			return -1;
		}
		w->total += strlen(v);
		if (w->total > COMPOSE_INTERP_TOTAL_MAX) {
			free(v);
			return compose_node_error(err, n, path->data,
						  "interpolated values longer than %u bytes in all",
						  COMPOSE_INTERP_TOTAL_MAX);
		}
		free(n->value);
		n->value = v;
		if (!*v)
			n->plain = false; /* an empty result is "", not null */
		return 0;
	}
	for (size_t i = 0; i < n->npairs; i++) {
		strata_buf_addf(path, "%s%s", keep ? "." : "", n->pairs[i].key);
		int r = walk(w, n->pairs[i].val, path, err);
		strata_buf_truncate(path, keep);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < n->nitems; i++) {
		strata_buf_addf(path, "[%zu]", i);
		int r = walk(w, n->items[i], path, err);
		strata_buf_truncate(path, keep);
		if (r < 0)
			return -1;
	}
	return 0;
}

int compose_tree_interpolate(struct cnode *root, compose_lookup_fn lookup, void *ctx,
			     struct compose_project *p, struct strata_error **err)
{
	struct walk w = { lookup, ctx, p };
	cleanup_buf struct strata_buf path = STRATA_BUF_INIT;
	return walk(&w, root, &path, err);
}
