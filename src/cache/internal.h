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
};

#endif
