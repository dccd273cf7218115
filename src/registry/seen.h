/*
 * registry/seen.h — a small record of which repositories of which
 * registries hold a blob, learnt from pulls and pushes, so that a push can
 * ask the registry for a cross-repo mount instead of uploading.
 *
 * Kept as one JSON file {"HOST": {"DIGEST": ["repo", ...]}} (e.g.
 * <store>/registry-blobs.json), merged with the file's current content
 * under an flock and replaced atomically on save. Bounded: at most
 * REGSEEN_MAX_REPOS repositories per blob and REGSEEN_MAX_BLOBS blobs per
 * registry (later ones are not recorded). Thread-safe.
 */
#ifndef STRATA_REGISTRY_SEEN_H
#define STRATA_REGISTRY_SEEN_H

#include "util/util.h"

#define REGSEEN_MAX_REPOS 8
#define REGSEEN_MAX_BLOBS 100000

struct regseen;

/* Load path (a missing file is an empty record). @return 0 or -1 (unreadable / bad JSON). */
int regseen_open(const char *path, struct regseen **out, struct strata_error **err);
void regseen_free(struct regseen *s);
/* Record that host/repo holds digest. */
void regseen_add(struct regseen *s, const char *host, const char *repo, const char *digest);
/* Another repository of host (not not_repo) known to hold digest. @return 1 (*repo newly allocated) or 0. */
int regseen_where(struct regseen *s, const char *host, const char *digest, const char *not_repo, char **repo);
/* Merge into the file and write it atomically. No-op when nothing was added. */
int regseen_save(struct regseen *s, struct strata_error **err);

#endif
