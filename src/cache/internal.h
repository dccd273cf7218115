/*
 * cache/internal.h — shared between the files of the cache module (not a
 * boundary).
 */
#ifndef STRATA_CACHE_INTERNAL_H
#define STRATA_CACHE_INTERNAL_H

#include <time.h>

#include "cache/cache.h"

/* One imported --cache-from source. */
struct rcache_source {
	char *ref;        /* as given */
	char *host, *repo;
	time_t created;   /* the config's "created" (0 when absent) */
	size_t order;     /* import order */
};

struct rcache_table {
	struct rcache_record all;   /* every entry, source by source */
	json_t *index;              /* key -> index in all (the first source holding it) */
	json_t *copies;             /* sources_id -> index in all (the first usable one) */
	struct rcache_source **src;
	size_t n_src;
	struct rcache_mount *mounts; /* cache mounts, the first source holding an id wins */
	size_t n_mounts;
};

/*
 * Entries held in a directory cache (an OCI image layout, layout.c) carry
 * this host and the directory (absolute) as their repository, in the table
 * and in the remote-blob record, so a hit is fetched from there lazily.
 */
#define RCACHE_LAYOUT_HOST "oci-layout"

/*
 * Add the cache metadata of a source's manifest and config (parsed) to t as
 * the source ref (as given) at host/repo; res filled (OK or EMPTY).
 * @return 0, or -1 (malformed metadata, *err set).
 */
int rcache_table_take(struct rcache_table *t, const char *ref, const char *host, const char *repo, const json_t *man,
		      const json_t *cfg, struct rcache_import_result *res, struct strata_error **err);
/* res: FAILED with the warning line for e (consumed); first_get: e came from reading ref itself. */
void rcache_import_fail(struct rcache_import_result *res, const char *ref, struct strata_error *e, bool first_get);

/*
 * record.c: the layer of the artifact's layers with digest dg (NULL if none;
 * *at its index when at is not NULL).
 */
json_t *rcache_layer_find(json_t *layers, const char *dg, size_t *at);
/*
 * record.c: the index in layers of the blob dg, appended (descriptor
 * mt/dg/size, its diff_id to diff_ids, annotated org.strata.cache.mount =
 * mount_id when that is not NULL) unless listed already.
 */
int rcache_layer_add(json_t *layers, json_t *diff_ids, const char *mt, const char *dg, json_int_t size,
		     const char *diff_id, const char *mount_id);

/*
 * mount_record.c: the "mounts" array of an artifact config; the parts'
 * blobs are appended to layers / diff_ids unless listed already.
 */
int rcache_mounts_json(const struct rcache_mount *m, size_t nm, json_t *layers, json_t *diff_ids, json_t **out,
		       struct strata_error **err);
/* mount_record.c: size words ("64MiB", "1g") for max-mount-size */
int rcache_parse_size(const char *s, uint64_t *out);

/* layout.c: a directory cache */
int rcache_layout_import(struct rcache_table *t, const char *dir, const char *ref, struct rcache_import_result *res);
int rcache_layout_fetch(struct store *s, const char *dir, const struct oci_digest *d, int64_t size,
			struct strata_error **err);

#endif
