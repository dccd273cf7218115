/*
 * merge.c — several compose files merged into one tree, with compose's
 * override rules (compose-spec "Merge and override", compose-go's
 * override package):
 *  - mappings merge key by key; a scalar replaces a scalar;
 *  - sequences append, dropping scalar items already present (cache_from,
 *    tags, platforms, dns, depends_on ... are unique lists);
 *  - key/value fields merge by key whatever form (map or "K=V" list) each
 *    file uses: services.*.environment, services.*.labels,
 *    services.*.build.args, .labels, .additional_contexts, .extra_hosts;
 *  - services.*.command, entrypoint and healthcheck.test are replaced;
 *  - services.*.secrets, configs, build.secrets, volumes: an item with the
 *    same target (or source) replaces the earlier one;
 *  - `x-*` keys are replaced; `!reset` removes, `!override` replaces.
 */
#include "compose/internal.h"

#include <fnmatch.h>
#include <string.h>

static bool path_is(const char *path, const char *const *patterns)
{
	for (; *patterns; patterns++)
		if (!fnmatch(*patterns, path, FNM_PATHNAME))
			return true;
	return false;
}

static const char *const kv_fields[] = {
	"services/*/environment",  "services/*/labels",        "services/*/build/args",
	"services/*/build/labels", "services/*/build/additional_contexts",
	"services/*/build/extra_hosts", "services/*/extra_hosts", "services/*/annotations",
	"services/*/sysctls", NULL,
};
static const char *const replaced_fields[] = {
	"services/*/command", "services/*/entrypoint", "services/*/healthcheck/test", NULL,
};
static const char *const keyed_lists[] = {
	"services/*/secrets", "services/*/configs", "services/*/build/secrets", "services/*/volumes", NULL,
};

struct cnode *compose_tree_kv_map(struct cnode *n, bool hosts)
{
	if (n->type == CN_MAP)
		return n;
	struct cnode *m = cnode_new(CN_MAP, n->file, n->line);
	m->plain = n->plain;
	for (size_t i = 0; n->type == CN_SEQ && i < n->nitems; i++) {
		struct cnode *it = n->items[i];
		if (it->type != CN_SCALAR) {
			cnode_free(m);
			return n; /* left for the model to report */
		}
		const char *v = it->value;
		const char *eq = strchr(v, '=');
		if (!eq && hosts)
			eq = strchr(v, ':');
		cleanup_free char *k = eq ? xstrndup(v, (size_t)(eq - v)) : xstrdup(v);
		cnode_map_del(m, k);
		struct cnode *val = eq ? cnode_scalar(eq + 1, it->file, it->line)
				       : cnode_scalar("", it->file, it->line);
		if (!eq)
			val->plain = true; /* null: no value */
		cnode_map_add(m, k, it->line, val);
	}
	if (n->type != CN_SEQ) {
		cnode_free(m);
		return n;
	}
	cnode_free(n);
	return m;
}

static const char *item_key(const struct cnode *it)
{
	if (it->type == CN_SCALAR)
		return it->value;
	const struct cnode *k = cnode_get(it, "target");
	if (!k || k->type != CN_SCALAR)
		k = cnode_get(it, "source");
	return k && k->type == CN_SCALAR ? k->value : NULL;
}

static bool scalar_in(const struct cnode *seq, const struct cnode *it)
{
	if (it->type != CN_SCALAR)
		return false;
	for (size_t i = 0; i < seq->nitems; i++)
		if (seq->items[i]->type == CN_SCALAR && !strcmp(seq->items[i]->value, it->value))
			return true;
	return false;
}

static void merge_at(struct cnode **base, struct cnode *over, const char *path);

static void merge_map(struct cnode *base, struct cnode *over, const char *path, size_t plen)
{
	for (size_t i = 0; i < over->npairs; i++) {
		struct cpair *op = &over->pairs[i];
		struct cnode *ov = STRATA_STEAL(op->val);
		if (ov->reset) {
			cnode_map_del(base, op->key);
			cnode_free(ov);
			continue;
		}
		struct cpair *bp = NULL;
		for (size_t j = 0; j < base->npairs; j++)
			if (!strcmp(base->pairs[j].key, op->key))
				bp = &base->pairs[j];
		if (!bp) {
			cnode_map_add(base, op->key, op->line, ov);
			continue;
		}
		if (!strncmp(op->key, "x-", 2) || ov->override) {
			cnode_free(bp->val);
			bp->val = ov;
			bp->line = op->line;
			continue;
		}
		cleanup_free char *sub = plen ? xasprintf("%.*s/%s", (int)plen, path, op->key)
					      : xstrdup(op->key);
		merge_at(&bp->val, ov, sub);
	}
	cnode_free(over);
}

static void merge_at(struct cnode **base, struct cnode *over, const char *path)
{
	if (path_is(path, kv_fields)) {
		bool hosts = strstr(path, "extra_hosts") != NULL;
		*base = compose_tree_kv_map(*base, hosts);
		over = compose_tree_kv_map(over, hosts);
	}
	struct cnode *b = *base;
	if (path_is(path, replaced_fields) || b->type != over->type || b->type == CN_SCALAR ||
	    cnode_is_null(b)) {
		cnode_free(b);
		*base = over;
		return;
	}
	if (b->type == CN_MAP) {
		merge_map(b, over, path, strlen(path));
		return;
	}
	/* sequences */
	bool keyed = path_is(path, keyed_lists);
	for (size_t i = 0; i < over->nitems; i++) {
		struct cnode *it = STRATA_STEAL(over->items[i]);
		const char *k = keyed ? item_key(it) : NULL;
		bool done = false;
		for (size_t j = 0; k && j < b->nitems; j++) {
			const char *bk = item_key(b->items[j]);
			if (bk && !strcmp(bk, k)) {
				cnode_free(b->items[j]);
				b->items[j] = it;
				done = true;
				break;
			}
		}
		if (done)
			continue;
		if (scalar_in(b, it)) {
			cnode_free(it);
			continue;
		}
		cnode_seq_add(b, it);
	}
	cnode_free(over);
}

void compose_tree_normalise(struct cnode *root)
{
	struct cnode *svcs = cnode_get(root, "services");
	if (!svcs || svcs->type != CN_MAP)
		return;
	for (size_t i = 0; i < svcs->npairs; i++) {
		struct cnode *s = svcs->pairs[i].val;
		if (s->type != CN_MAP)
			continue;
		for (size_t j = 0; j < s->npairs; j++) {
			struct cnode *b = s->pairs[j].val;
			if (strcmp(s->pairs[j].key, "build") || b->type != CN_SCALAR || cnode_is_null(b))
				continue;
			struct cnode *m = cnode_new(CN_MAP, b->file, b->line);
			m->reset = b->reset;
			m->override = b->override;
			cnode_map_add(m, "context", b->line, b);
			s->pairs[j].val = m;
		}
	}
}

void compose_tree_merge(struct cnode **base, struct cnode *over)
{
	if (!*base) {
		*base = over;
		return;
	}
	if (!over)
		return;
	merge_at(base, over, "");
}
