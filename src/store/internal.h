/* internal.h — shared between the store's files; not part of the boundary. */
#ifndef STRATA_STORE_INTERNAL_H
#define STRATA_STORE_INTERNAL_H

#include "store/store.h"

struct store {
	char *root;
	char *blobs;      /* ROOT/blobs/sha256 */
	char *index_path; /* ROOT/index.json */
	char *meta;       /* ROOT/.strata */
	char *tmp;        /* ROOT/.strata/tmp */
	int gc_fd;        /* gc.lock, held shared (exclusive during prune) */
};

/* Load and validate index.json (new reference in *out). */
int store_index_load(struct store *s, json_t **out, struct strata_error **err);
/* Atomically replace index.json (caller holds index.lock). */
int store_index_save(struct store *s, json_t *index, struct strata_error **err);
/* Take index.lock exclusively. @return fd or -1. */
int store_index_lock(struct store *s, struct strata_error **err);

#endif
