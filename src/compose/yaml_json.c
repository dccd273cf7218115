/*
 * yaml_json.c — compose_yaml_to_json: a standalone YAML (or JSON) document
 * as a jansson tree plus the line of every node, for the configuration
 * files of other modules (the registry's retention policy), so their errors
 * can name FILE:LINE like compose's own.
 */
#include "compose/internal.h"

#include <string.h>

/* RFC 6901: '~' is "~0", '/' is "~1" */
static char *pointer_add(const char *base, const char *token)
{
	struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_adds(&b, base);
	strata_buf_addch(&b, '/');
	for (const char *p = token; *p; p++) {
		if (*p == '~')
			strata_buf_adds(&b, "~0");
		else if (*p == '/')
			strata_buf_adds(&b, "~1");
		else
			strata_buf_addch(&b, *p);
	}
	return strata_buf_detach(&b, NULL);
}

static void mark_lines(const struct cnode *n, const char *ptr, int line, json_t *lines)
{
	json_object_set_new(lines, ptr, json_integer(line));
	if (!n)
		return;
	for (size_t i = 0; i < n->npairs; i++) {
		cleanup_free char *p = pointer_add(ptr, n->pairs[i].key);
		mark_lines(n->pairs[i].val, p, n->pairs[i].line, lines);
	}
	for (size_t i = 0; i < n->nitems; i++) {
		char idx[24];
		snprintf(idx, sizeof(idx), "%zu", i);
		cleanup_free char *p = pointer_add(ptr, idx);
		mark_lines(n->items[i], p, n->items[i]->line, lines);
	}
}

int compose_yaml_to_json(const char *data, size_t len, const char *file, json_t **out, json_t **lines,
			 struct strata_error **err)
{
	struct cnode *root = NULL;
	*out = NULL;
	*lines = NULL;
	if (compose_yaml_parse(data, len, file, &root, err) < 0)
		return -1;
	*out = cnode_to_json(root);
	*lines = json_object();
	mark_lines(root, "", root ? root->line : 1, *lines);
	cnode_free(root);
	return 0;
}
