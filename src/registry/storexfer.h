/*
 * registry/storexfer.h — the local store (store/store.h) as the local side
 * of a registry transfer (registry/transfer.h), for `strata pull/push` and
 * for the build engine (FROM pulls, build --push).
 *
 *     struct store *s; store_open(root, &s, err);
 *     struct regseen *seen; regseen_open(path = regxfer_store_seen_path(s), &seen, err);
 *     struct regxfer_local l; regxfer_store_local(s, seen, &l);
 *     regclient_pull_image(client, "reg/app:1", NULL, &l, prog, &res, err);
 *     regseen_save(seen, err);
 *
 * Blobs are written through store blob writers and published only after
 * the client verified them; pulled images are tagged with their full
 * reference (an untagged entry keeps a pull by digest alive).
 */
#ifndef STRATA_REGISTRY_STOREXFER_H
#define STRATA_REGISTRY_STOREXFER_H

#include "registry/seen.h"
#include "registry/transfer.h"

struct store;

/* Fill *out with callbacks over s (and seen, which may be NULL). Neither is owned. */
void regxfer_store_local(struct store *s, struct regseen *seen, struct regxfer_local *out);
/* Where the store keeps its record of blobs seen in registries (newly allocated). */
char *regxfer_store_seen_path(struct store *s);
/* Release what regxfer_store_local allocated. */
void regxfer_store_local_release(struct regxfer_local *l);

#endif
