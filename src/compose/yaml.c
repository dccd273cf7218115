/*
 * yaml.c — YAML text to a tree with file:line marks (libyaml's event API).
 *
 * Anchors and aliases are supported by copying the anchored tree at each
 * alias (later stages rewrite scalars in place, so nodes are never shared);
 * the copies count against COMPOSE_NODES_MAX, which stops "billion laughs"
 * documents. `<<` merge keys (a mapping or a list of mappings) add the keys
 * the mapping does not define itself. A key defined twice is an error, as
 * in compose.
 */
#include "compose/internal.h"

#include <string.h>
#include <yaml.h>

struct anchor {
	char *name;
	struct cnode *node;     /* owned copy, taken when the node is complete */
};

struct loader {
	yaml_parser_t parser;
	const char *file;
	size_t nodes;
	struct anchor *anchors;
	size_t nanchors;
};

static int parse_error(struct loader *l, struct strata_error **err)
{
	yaml_parser_t *p = &l->parser;
	size_t line = (p->problem_mark.line ? p->problem_mark.line : p->context_mark.line) + 1;
	if (p->context)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%zu: invalid YAML: %s %s", l->file,
					  line, p->problem ? p->problem : "error", p->context);
	return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%zu: invalid YAML: %s", l->file, line,
				  p->problem ? p->problem : "error");
}

static int next_event(struct loader *l, yaml_event_t *ev, struct strata_error **err)
{
	if (!yaml_parser_parse(&l->parser, ev))
		return parse_error(l, err);
	return 0;
}

static size_t count_nodes(const struct cnode *n)
{
	size_t c = 1;
	for (size_t i = 0; i < n->npairs; i++)
		c += count_nodes(n->pairs[i].val);
	for (size_t i = 0; i < n->nitems; i++)
		c += count_nodes(n->items[i]);
	return c;
}

static int budget(struct loader *l, size_t add, int line, struct strata_error **err)
{
	l->nodes += add;
	if (l->nodes > COMPOSE_NODES_MAX)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "%s:%d: document too large (more than %u nodes after alias expansion)",
					  l->file, line, COMPOSE_NODES_MAX);
	return 0;
}

static void set_anchor(struct loader *l, const unsigned char *name, const struct cnode *n)
{
	if (!name)
		return;
	for (size_t i = 0; i < l->nanchors; i++) {
		if (!strcmp(l->anchors[i].name, (const char *)name)) {
			cnode_free(l->anchors[i].node);
			l->anchors[i].node = cnode_clone(n);
			return;
		}
	}
	l->anchors = xreallocarray(l->anchors, l->nanchors + 1, sizeof(*l->anchors));
	l->anchors[l->nanchors++] = (struct anchor){ xstrdup((const char *)name), cnode_clone(n) };
}

static void apply_tag(struct cnode *n, const unsigned char *tag)
{
	if (!tag)
		return;
	if (!strcmp((const char *)tag, "!reset"))
		n->reset = true;
	else if (!strcmp((const char *)tag, "!override"))
		n->override = true;
}

static int parse_node(struct loader *l, yaml_event_t *ev, unsigned depth, struct cnode **out,
		      struct strata_error **err);

/* Add the keys of a `<<` source the mapping lacks. */
static int merge_key(struct loader *l, struct cnode *map, const struct cnode *src, int line,
		     struct strata_error **err)
{
	if (src->type == CN_SEQ) {
		for (size_t i = 0; i < src->nitems; i++)
			if (merge_key(l, map, src->items[i], line, err) < 0)
				return -1;
		return 0;
	}
	if (src->type != CN_MAP)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "%s:%d: merge key '<<' expects a mapping or a list of mappings",
					  l->file, line);
	for (size_t i = 0; i < src->npairs; i++) {
		if (cnode_pair(map, src->pairs[i].key))
			continue;
		if (budget(l, count_nodes(src->pairs[i].val), line, err) < 0)
			return -1;
		cnode_map_add(map, src->pairs[i].key, src->pairs[i].line, cnode_clone(src->pairs[i].val));
	}
	return 0;
}

static int parse_mapping(struct loader *l, struct cnode *map, unsigned depth, struct strata_error **err)
{
	struct cnode *merges = cnode_new(CN_SEQ, l->file, map->line);
	int rc = -1;
	for (;;) {
		yaml_event_t ev;
		if (next_event(l, &ev, err) < 0)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		int kline = (int)ev.start_mark.line + 1;
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_event_delete(&ev);
			strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: mapping keys must be strings",
					   l->file, kline);
			goto out;
		}
		bool is_merge = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
				!strcmp((const char *)ev.data.scalar.value, "<<");
		char *key = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);
		struct cnode *val = NULL;
		if (next_event(l, &ev, err) < 0) {
			free(key);
			goto out;
		}
		if (parse_node(l, &ev, depth + 1, &val, err) < 0) {
			free(key);
			goto out;
		}
		if (is_merge) {
			cnode_seq_add(merges, val);
		} else if (cnode_pair(map, key)) {
			strata_error_makec(err, STRATA_E_CONFIG, 0,
					   "%s:%d: mapping key '%s' already defined at line %d", l->file,
					   kline, key, cnode_pair(map, key)->line);
			cnode_free(val);
			free(key);
			goto out;
		} else {
			cnode_map_add(map, key, kline, val);
		}
		free(key);
	}
	for (size_t i = 0; i < merges->nitems; i++)
		if (merge_key(l, map, merges->items[i], merges->items[i]->line, err) < 0)
			goto out;
	rc = 0;
out:
	cnode_free(merges);
	return rc;
}

static int parse_node(struct loader *l, yaml_event_t *ev, unsigned depth, struct cnode **out,
		      struct strata_error **err)
{
	int line = (int)ev->start_mark.line + 1;
	struct cnode *n = NULL;
	int rc = -1;
	if (depth > COMPOSE_DEPTH_MAX) {
		strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: nesting deeper than %u levels",
				   l->file, line, COMPOSE_DEPTH_MAX);
		goto out;
	}
	if (budget(l, 1, line, err) < 0)
		goto out;
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = l->nanchors; i-- > 0;) {
			if (!strcmp(l->anchors[i].name, name)) {
				if (budget(l, count_nodes(l->anchors[i].node), line, err) < 0)
					goto out;
				n = cnode_clone(l->anchors[i].node);
				break;
			}
		}
		if (!n) {
			strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: unknown anchor '%s'", l->file,
					   line, name);
			goto out;
		}
		break;
	}
	case YAML_SCALAR_EVENT:
		n = cnode_new(CN_SCALAR, l->file, line);
		n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (strlen(n->value) != ev->data.scalar.length) {
			strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: NUL character in a string",
					   l->file, line);
			goto out;
		}
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		apply_tag(n, ev->data.scalar.tag);
		set_anchor(l, ev->data.scalar.anchor, n);
		break;
	case YAML_SEQUENCE_START_EVENT:
		n = cnode_new(CN_SEQ, l->file, line);
		apply_tag(n, ev->data.sequence_start.tag);
		for (;;) {
			yaml_event_t iev;
			if (next_event(l, &iev, err) < 0)
				goto out;
			if (iev.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&iev);
				break;
			}
			struct cnode *item = NULL;
			if (parse_node(l, &iev, depth + 1, &item, err) < 0)
				goto out;
			cnode_seq_add(n, item);
		}
		set_anchor(l, ev->data.sequence_start.anchor, n);
		break;
	case YAML_MAPPING_START_EVENT:
		n = cnode_new(CN_MAP, l->file, line);
		apply_tag(n, ev->data.mapping_start.tag);
		if (parse_mapping(l, n, depth, err) < 0)
			goto out;
		set_anchor(l, ev->data.mapping_start.anchor, n);
		break;
	default:
		strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: unexpected YAML event", l->file, line);
		goto out;
	}
	*out = n;
	n = NULL;
	rc = 0;
out:
	yaml_event_delete(ev);
	cnode_free(n);
	return rc;
}

int compose_yaml_parse(const char *data, size_t len, const char *file, struct cnode **out,
		       struct strata_error **err)
{
	struct loader l = { .file = file };
	struct cnode *root = NULL;
	int rc = -1;
	*out = NULL;
	if (!yaml_parser_initialize(&l.parser))
		strata_oom();
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)data, len);
	bool seen_doc = false;
	for (;;) {
		yaml_event_t ev;
		if (next_event(&l, &ev, err) < 0)
			goto out;
		yaml_event_type_t t = ev.type;
		int line = (int)ev.start_mark.line + 1;
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			if (seen_doc) {
				strata_error_makec(err, STRATA_E_CONFIG, 0,
						   "%s:%d: more than one YAML document", file, line);
				goto out;
			}
			seen_doc = true;
			continue;
		}
		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (parse_node(&l, &ev, 0, &root, err) < 0)
			goto out;
	}
	*out = root;
	root = NULL;
	rc = 0;
out:
	cnode_free(root);
	for (size_t i = 0; i < l.nanchors; i++) {
		free(l.anchors[i].name);
		cnode_free(l.anchors[i].node);
	}
	free(l.anchors);
	yaml_parser_delete(&l.parser);
	return rc;
}
