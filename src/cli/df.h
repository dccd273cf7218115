/*
 * df.h — what the store's disk holds, by kind, and what pruning frees:
 * `strata system df` and the "kept" lines of `strata prune`.
 */
#ifndef STRATA_CLI_DF_H
#define STRATA_CLI_DF_H

#include <stdint.h>

#include "store/store.h"

struct cli_df_row {
	size_t count;
	int64_t size;        /* bytes on this disk */
	int64_t reclaimable; /* what `strata prune -a` would free of it */
};

struct cli_df {
	struct cli_df_row images;      /* tagged images: their blobs (shared ones once) */
	struct cli_df_row untagged;    /* untagged images: blobs no tag shares */
	struct cli_df_row cache;       /* build cache entries: layer blobs only they keep, and stray blobs */
	struct cli_df_row snapshots;   /* extracted layers */
	struct cli_df_row mounts;      /* RUN --mount=type=cache directories */
	struct cli_df_row other;       /* ADD downloads, stat caches, work dirs, temp files */
	struct cli_df_row remote;      /* layers of local images kept only in a registry (size: theirs) */
	int64_t prune_frees;           /* what a plain `strata prune` would free now */
};

/* Measure (dry runs of build_prune: waits for running builds). @return 0 or -1. */
int cli_df_measure(struct store *s, struct cli_df *d, struct strata_error **err);

#endif
