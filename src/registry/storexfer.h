/*
 * registry/storexfer.h — the local store (store/store.h) as the local side
 * of a registry transfer (registry/transfer.h), for `strata pull/push` and
 * for the build engine (FROM pulls, build --push).
 *
 *     struct store *s; store_open(root, &s, err);
 *     struct regxfer_store x; regxfer_store_open(s, &x);
 *     r = regclient_pull_image(client, "reg/app:1", NULL, &x.local, prog, &res, err);
 *     regxfer_store_close(&x, r == 0);
 *
 * Blobs are written through store blob writers and published only after
 * the client verified them; pulled images are tagged with their full
 * reference (an untagged entry keeps a pull by digest alive).
 */
#ifndef STRATA_REGISTRY_STOREXFER_H
#define STRATA_REGISTRY_STOREXFER_H

#include "registry/transfer.h"
#include "store/store.h"

struct store;

/* Fill *out with callbacks over s (and its blob locations, which may be NULL). Neither is owned. */
void regxfer_store_local(struct store *s, struct store_blobloc *seen, struct regxfer_local *out);
/* Release what regxfer_store_local allocated. */
void regxfer_store_local_release(struct regxfer_local *l);

/*
 * The store as the local side together with its record of where blobs are
 * in registries (store_blobloc_open). An all-zero value is a closed one.
 */
struct regxfer_store {
	struct regxfer_local local;
	struct store_blobloc *seen; /* NULL when the record is unreadable: it only costs mounts */
};
/* Load the record of s and fill x->local over s. Never fails. */
void regxfer_store_open(struct store *s, struct regxfer_store *x);
/* Save the record when ok (a failure to save is ignored), then release x. A closed x is a no-op. */
void regxfer_store_close(struct regxfer_store *x, bool ok);

#endif
