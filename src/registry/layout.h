/*
 * registry/layout.h — an OCI image layout directory (oci-layout, index.json,
 * blobs/ALG/HEX) as the local side of a transfer (registry/transfer.h).
 * Used by tests, benchmarks and for exchanging images with skopeo/umoci;
 * the store provides the same interface for `strata pull/push`.
 *
 * Tags are the "org.opencontainers.image.ref.name" annotation of index.json
 * entries; a full reference "host/repo:tag" is recorded by its tag. Blobs are
 * written to a temporary file and renamed into place only on commit.
 */
#ifndef STRATA_REGISTRY_LAYOUT_H
#define STRATA_REGISTRY_LAYOUT_H

#include <stdbool.h>

#include "registry/transfer.h"

/* Open (create=true: create if missing) the layout at dir. @return 0 or -1. */
int regxfer_layout_open(const char *dir, bool create, struct regxfer_local *out, struct strata_error **err);
void regxfer_layout_close(struct regxfer_local *l);

struct store_blobloc;
/* Record (and consult, for cross-repo mounts) where blobs live in s (not owned). */
void regxfer_layout_use_seen(struct regxfer_local *l, struct store_blobloc *s);

#endif
