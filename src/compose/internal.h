/*
 * internal.h — the compose module's private pieces: the YAML tree every
 * stage works on (scalars, mappings, sequences with file:line marks), the
 * loader, interpolation of a tree, merging, and the model builder.
 */
#ifndef STRATA_COMPOSE_INTERNAL_H
#define STRATA_COMPOSE_INTERNAL_H

#include "compose/compose.h"
#include "util/util.h"

enum cnode_type { CN_SCALAR, CN_MAP, CN_SEQ };

struct cnode;

struct cpair {
	char *key;
	int line;               /* the key's line */
	struct cnode *val;
};

/*
 * A YAML node. `file` is borrowed (the project's file list owns it).
 * Scalars keep whether they were plain (unquoted), so `null`, `true`, `12`
 * can be told from the strings "null", "true", "12".
 */
struct cnode {
	enum cnode_type type;
	const char *file;
	int line;               /* 1-based */
	bool plain;             /* scalar written without quotes */
	bool reset;             /* tagged !reset */
	bool override;          /* tagged !override */
	char *value;            /* CN_SCALAR */
	struct cpair *pairs;    /* CN_MAP, in order */
	size_t npairs;
	struct cnode **items;   /* CN_SEQ */
	size_t nitems;
};

void cnode_free(struct cnode *n);
struct cnode *cnode_new(enum cnode_type t, const char *file, int line);
struct cnode *cnode_scalar(const char *value, const char *file, int line);
struct cnode *cnode_clone(const struct cnode *n);
/* Mapping lookup; NULL when absent. */
struct cnode *cnode_get(const struct cnode *map, const char *key);
const struct cpair *cnode_pair(const struct cnode *map, const char *key);
/* Append a pair / an item (ownership of val taken). */
void cnode_map_add(struct cnode *map, const char *key, int line, struct cnode *val);
void cnode_seq_add(struct cnode *seq, struct cnode *item);
/* Remove a key from a mapping (freeing its value). */
void cnode_map_del(struct cnode *map, const char *key);
/* A plain null (`~`, `null`, empty) scalar. */
bool cnode_is_null(const struct cnode *n);
/* The scalar as JSON (plain null/bool/int/float typed, else a string), or a tree. */
json_t *cnode_to_json(const struct cnode *n);
const char *cnode_type_name(const struct cnode *n);

/*
 * Parse YAML text into a tree. `file` (borrowed, must outlive the tree)
 * names errors. An empty document gives *out = NULL.
 */
int compose_yaml_parse(const char *data, size_t len, const char *file, struct cnode **out,
		       struct strata_error **err);

/* Interpolate every scalar value of the tree in place (keys are left as is). */
int compose_tree_interpolate(struct cnode *root, compose_lookup_fn lookup, void *ctx,
			     struct compose_project *p, struct strata_error **err);

/* Normalise what the merge needs (build: "." -> {context: .}). */
void compose_tree_normalise(struct cnode *root);
/*
 * A "K=V" list as a mapping node ("K" alone: null; with hosts, "K:V" too);
 * consumes n and returns the mapping, or n itself when it is a mapping or
 * not a list of scalars.
 */
struct cnode *compose_tree_kv_map(struct cnode *n, bool hosts);
/* Merge `over` into *base (consumes over). */
void compose_tree_merge(struct cnode **base, struct cnode *over);

/* Build the model from the merged tree. */
int compose_model_build(struct compose_project *p, struct cnode *root, struct strata_error **err);

/* Add a warning to the project (printf-style). */
void compose_project_warn(struct compose_project *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "file:line: path: msg" as a STRATA_E_CONFIG error. */
int compose_node_error(struct strata_error **err, const struct cnode *n, const char *path,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void compose_strv_free(char **v, size_t n);



/* model.c */
void compose_model_free_services(struct compose_project *p);
bool compose_project_name_valid(const char *s);
/* project.c: a project from one text (fuzzing, tests); merge_twice merges the
 * text onto itself. The environment is SET=value, EMPTY="". */
int compose_project_from_text(const char *data, size_t len, const char *name, const char *workdir,
			      bool merge_twice, struct compose_project **out, struct strata_error **err);
#endif
