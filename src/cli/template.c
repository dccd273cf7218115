/*
 * template.c — docker's --format templates over a JSON object (template.h).
 */
#include "cli/template.h"
#include "cli/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %v of a JSON value */
static void print_value(struct strata_buf *b, const json_t *v)
{
	if (!v || json_is_null(v)) {
		strata_buf_adds(b, "<no value>");
	} else if (json_is_string(v)) {
		strata_buf_add(b, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		strata_buf_addf(b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		strata_buf_addf(b, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		strata_buf_adds(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_array(v)) {
		strata_buf_addch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				strata_buf_addch(b, ' ');
			print_value(b, json_array_get(v, i));
		}
		strata_buf_addch(b, ']');
	} else {
		/* Go prints a map's keys sorted */
		size_t n = json_object_size(v), i = 0;
		const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		strata_buf_adds(b, "map[");
		for (i = 0; i < n; i++) {
			strata_buf_addf(b, "%s%s:", i ? " " : "", keys[i]);
			print_value(b, json_object_get(v, keys[i]));
		}
		strata_buf_addch(b, ']');
		free(keys);
	}
}

struct tok {
	char **v;
	size_t n;
};

static void tok_free(struct tok *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
}

/* split an action into words; "quoted strings" keep their quotes */
static int tokenize(const char *s, size_t len, struct tok *t)
{
	memset(t, 0, sizeof(*t));
	size_t i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i >= len)
			break;
		size_t j = i;
		if (s[i] == '"') {
			j++;
			while (j < len && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= len)
				return -1;
			j++;
		} else {
			while (j < len && !isspace((unsigned char)s[j]))
				j++;
		}
		t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
		t->v[t->n++] = xstrndup(s + i, j - i);
		i = j;
	}
	return 0;
}

/* ".A.B" in data; "." is data itself. NULL when a member is missing. */
static const json_t *lookup(const json_t *data, const char *path, bool *missing)
{
	*missing = false;
	if (!strcmp(path, "."))
		return data;
	const json_t *v = data;
	const char *p = path + 1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!json_is_object(v)) {
			*missing = true;
			return NULL;
		}
		cleanup_free char *k = xstrndup(p, n);
		bool top = v == data;
		v = json_object_get(v, k);
		if (!v) {
			/* a field of the top object is a struct field in docker (unknown:
			 * an error); below, a map's missing key is <no value> as in Go */
			*missing = top;
			return NULL;
		}
		p += n + (dot ? 1 : 0);
	}
	return v;
}

static int bad(struct strata_error **err, size_t col, const char *action, const char *why)
{
	return strata_error_makec(err, STRATA_E_USAGE, 0, "--format: column %zu: {{%s}}: %s", col, action, why);
}

static int arg_value(const json_t *data, const char *word, const json_t **out, bool *missing)
{
	if (word[0] != '.')
		return -1;
	*out = lookup(data, word, missing);
	return 0;
}

static char *unquote(const char *w)
{
	size_t n = strlen(w);
	if (n < 2 || w[0] != '"' || w[n - 1] != '"')
		return NULL;
	struct strata_buf b = STRATA_BUF_INIT;
	for (size_t i = 1; i + 1 < n; i++) {
		if (w[i] == '\\' && i + 2 < n) {
			i++;
			strata_buf_addch(&b, w[i] == 'n' ? '\n' : w[i] == 't' ? '\t' : w[i]);
		} else {
			strata_buf_addch(&b, w[i]);
		}
	}
	return strata_buf_detach(&b, NULL);
}

static int action(const char *act, size_t len, size_t col, const json_t *data, struct strata_buf *out,
		  struct strata_error **err)
{
	cleanup_free char *text = xstrndup(act, len);
	struct tok t;
	if (tokenize(act, len, &t) < 0)
		return bad(err, col, text, "unterminated string");
	int rc = 0;
	const json_t *v = NULL;
	bool missing = false;
	if (t.n == 1 && t.v[0][0] == '.') {
		arg_value(data, t.v[0], &v, &missing);
		if (missing)
			rc = bad(err, col, text, "no such field");
		else
			print_value(out, v);
	} else if (t.n == 2 && !strcmp(t.v[0], "json") && t.v[1][0] == '.') {
		arg_value(data, t.v[1], &v, &missing);
		if (missing) {
			rc = bad(err, col, text, "no such field");
		} else {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			strata_buf_adds(out, s ? s : "null");
			free(s);
		}
	} else if (t.n == 2 && (!strcmp(t.v[0], "upper") || !strcmp(t.v[0], "lower")) && t.v[1][0] == '.') {
		arg_value(data, t.v[1], &v, &missing);
		if (missing || !json_is_string(v)) {
			rc = bad(err, col, text, missing ? "no such field" : "not a string");
		} else {
			for (const char *c = json_string_value(v); *c; c++)
				strata_buf_addch(out, (char)(t.v[0][0] == 'u' ? toupper((unsigned char)*c)
									 : tolower((unsigned char)*c)));
		}
	} else if (t.n == 2 && !strcmp(t.v[0], "len") && t.v[1][0] == '.') {
		arg_value(data, t.v[1], &v, &missing);
		if (missing || !(json_is_array(v) || json_is_object(v) || json_is_string(v)))
			rc = bad(err, col, text, missing ? "no such field" : "len needs a list, a map or a string");
		else
			strata_buf_addf(out, "%zu", json_is_array(v)    ? json_array_size(v)
						    : json_is_object(v) ? json_object_size(v)
									: json_string_length(v));
	} else if (t.n == 3 && !strcmp(t.v[0], "join") && t.v[1][0] == '.') {
		arg_value(data, t.v[1], &v, &missing);
		cleanup_free char *sep = unquote(t.v[2]);
		if (missing || !json_is_array(v) || !sep) {
			rc = bad(err, col, text, missing ? "no such field" : !sep ? "the separator must be a \"string\"" : "not a list");
		} else {
			for (size_t i = 0; i < json_array_size(v); i++) {
				if (i)
					strata_buf_adds(out, sep);
				print_value(out, json_array_get(v, i));
			}
		}
	} else if (t.n == 3 && !strcmp(t.v[0], "index") && t.v[1][0] == '.') {
		arg_value(data, t.v[1], &v, &missing);
		cleanup_free char *key = unquote(t.v[2]);
		unsigned long idx = 0;
		if (missing) {
			rc = bad(err, col, text, "no such field");
		} else if (json_is_array(v) && !key && cli_parse_number(t.v[2], 0, 1000000, &idx) == 0) {
			if (idx >= json_array_size(v))
				rc = bad(err, col, text, "index out of range");
			else
				print_value(out, json_array_get(v, idx));
		} else if (json_is_object(v) && key) {
			print_value(out, json_object_get(v, key));
		} else {
			rc = bad(err, col, text, "index needs a list and a number, or a map and a \"key\"");
		}
	} else {
		rc = bad(err, col, text,
			 "not understood (known: .Field, json .Field, index .Field N|\"key\", len .Field, "
			 "join .Field \"sep\", upper .Field, lower .Field)");
	}
	tok_free(&t);
	return rc;
}

int cli_template_render(const char *tmpl, const json_t *data, struct strata_buf *out, struct strata_error **err)
{
	const char *p = tmpl;
	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p + 2, "}}");
			if (!end)
				return strata_error_makec(err, STRATA_E_USAGE, 0, "--format: column %zu: unclosed {{",
							  (size_t)(p - tmpl) + 1);
			const char *a = p + 2, *z = end;
			if (*a == '-')
				a++; /* {{- trims in Go; here only accepted */
			if (z > a && z[-1] == '-')
				z--;
			if (action(a, (size_t)(z - a), (size_t)(p - tmpl) + 1, data, out, err) < 0)
				return -1;
			p = end + 2;
		} else if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
			strata_buf_addch(out, p[1] == 't' ? '\t' : '\n');
			p += 2;
		} else {
			strata_buf_addch(out, *p++);
		}
	}
	return 0;
}

int cli_template_check(const char *tmpl, const json_t *sample, struct strata_error **err)
{
	struct strata_buf b = STRATA_BUF_INIT;
	int rc = cli_template_render(tmpl, sample, &b, err);
	strata_buf_release(&b);
	return rc;
}
