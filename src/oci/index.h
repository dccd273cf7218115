/*
 * index.h — image indexes (OCI image-spec image-index.md) and Docker
 * manifest lists. Same model as manifest.h: the jansson object is the
 * backing store, typed fields are validated views into it, unknown fields
 * survive a round trip.
 */
#ifndef STRATA_OCI_INDEX_H
#define STRATA_OCI_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/descriptor.h"

struct oci_index {
	json_t *json;              /* owned reference */
	bool docker;               /* a Docker manifest list */
	const char *media_type;    /* NULL when absent */
	const char *artifact_type; /* NULL when absent */
	struct oci_descriptor *manifests;
	size_t n_manifests;
	bool has_subject;
	struct oci_descriptor subject;
	json_t *annotations;
};

int oci_index_decode(const char *data, size_t len, const char *what, struct oci_index *out,
		     struct strata_error **err);
/* Takes a new reference to j. */
int oci_index_from_json(json_t *j, const char *what, struct oci_index *out, struct strata_error **err);
char *oci_index_encode(const struct oci_index *x, size_t *len);
void oci_index_release(struct oci_index *x);

/*
 * The first manifest whose platform matches `want` (oci_platform_matches);
 * entries without a platform match only when no entry has one.
 * @return its index, or -1 when none matches.
 */
ssize_t oci_index_select(const struct oci_index *x, const struct oci_platform *want);

static inline void oci_index_releasep(struct oci_index *x) { oci_index_release(x); }
#define cleanup_index __attribute__((cleanup(oci_index_releasep)))

#endif
