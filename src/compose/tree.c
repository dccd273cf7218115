/*
 * tree.c — the YAML tree: construction, lookup, cloning, conversion to JSON.
 */
#include "compose/internal.h"

#include <stdlib.h>
#include <string.h>

struct cnode *cnode_new(enum cnode_type t, const char *file, int line)
{
	struct cnode *n = xcalloc(1, sizeof(*n));
	n->type = t;
	n->file = file;
	n->line = line;
	return n;
}

struct cnode *cnode_scalar(const char *value, const char *file, int line)
{
	struct cnode *n = cnode_new(CN_SCALAR, file, line);
	n->value = xstrdup(value);
	return n;
}

void cnode_free(struct cnode *n)
{
	if (!n)
		return;
	free(n->value);
	for (size_t i = 0; i < n->npairs; i++) {
		free(n->pairs[i].key);
		cnode_free(n->pairs[i].val);
	}
	free(n->pairs);
	for (size_t i = 0; i < n->nitems; i++)
		cnode_free(n->items[i]);
	free(n->items);
	free(n);
}

struct cnode *cnode_clone(const struct cnode *n)
{
	struct cnode *c = cnode_new(n->type, n->file, n->line);
	c->plain = n->plain;
	c->reset = n->reset;
	c->override = n->override;
	c->value = xstrdup_or_null(n->value);
	for (size_t i = 0; i < n->npairs; i++)
		cnode_map_add(c, n->pairs[i].key, n->pairs[i].line, cnode_clone(n->pairs[i].val));
	for (size_t i = 0; i < n->nitems; i++)
		cnode_seq_add(c, cnode_clone(n->items[i]));
	return c;
}

const struct cpair *cnode_pair(const struct cnode *map, const char *key)
{
	if (!map || map->type != CN_MAP)
		return NULL;
	for (size_t i = 0; i < map->npairs; i++)
		if (!strcmp(map->pairs[i].key, key))
			return &map->pairs[i];
	return NULL;
}

struct cnode *cnode_get(const struct cnode *map, const char *key)
{
	const struct cpair *p = cnode_pair(map, key);
	return p ? p->val : NULL;
}

void cnode_map_add(struct cnode *map, const char *key, int line, struct cnode *val)
{
	map->pairs = xreallocarray(map->pairs, map->npairs + 1, sizeof(*map->pairs));
	map->pairs[map->npairs++] = (struct cpair){ xstrdup(key), line, val };
}

void cnode_seq_add(struct cnode *seq, struct cnode *item)
{
	seq->items = xreallocarray(seq->items, seq->nitems + 1, sizeof(*seq->items));
	seq->items[seq->nitems++] = item;
}

void cnode_map_del(struct cnode *map, const char *key)
{
	for (size_t i = 0; i < map->npairs; i++) {
		if (strcmp(map->pairs[i].key, key))
			continue;
		free(map->pairs[i].key);
		cnode_free(map->pairs[i].val);
		memmove(&map->pairs[i], &map->pairs[i + 1], (map->npairs - i - 1) * sizeof(*map->pairs));
		map->npairs--;
		return;
	}
}

bool cnode_is_null(const struct cnode *n)
{
	if (!n)
		return true;
	if (n->type != CN_SCALAR || !n->plain)
		return false;
	const char *v = n->value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

const char *cnode_type_name(const struct cnode *n)
{
	if (cnode_is_null(n))
		return "null";
	switch (n->type) {
	case CN_MAP:
		return "a mapping";
	case CN_SEQ:
		return "a list";
	default:
		return "a string";
	}
}

static bool is_bool(const char *v, bool *b)
{
	static const char *const t[] = { "true", "True", "TRUE" }, *const f[] = { "false", "False", "FALSE" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(v, t[i]))
			return *b = true, true;
		if (!strcmp(v, f[i]))
			return *b = false, true;
	}
	return false;
}

static bool is_int(const char *v, long long *out)
{
	const char *p = v;
	if (*p == '-' || *p == '+')
		p++;
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
		return false;
	*out = strtoll(v, NULL, 10);
	return true;
}

json_t *cnode_to_json(const struct cnode *n)
{
	if (!n || cnode_is_null(n))
		return json_null();
	if (n->type == CN_MAP) {
		json_t *o = json_object();
		for (size_t i = 0; i < n->npairs; i++)
			json_object_set_new(o, n->pairs[i].key, cnode_to_json(n->pairs[i].val));
		return o;
	}
	if (n->type == CN_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->nitems; i++)
			json_array_append_new(a, cnode_to_json(n->items[i]));
		return a;
	}
	bool b;
	long long ll;
	if (n->plain && is_bool(n->value, &b))
		return json_boolean(b);
	if (n->plain && is_int(n->value, &ll))
		return json_integer(ll);
	return json_string(n->value);
}

int compose_node_error(struct strata_error **err, const struct cnode *n, const char *path,
		       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	int r;
	if (n && n->file)
		r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: %s%s%s", n->file, n->line,
				       path ? path : "", path && *path ? ": " : "", msg);
	else
		r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s%s%s", path ? path : "",
				       path && *path ? ": " : "", msg);
	free(msg);
	return r;
}

void compose_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
