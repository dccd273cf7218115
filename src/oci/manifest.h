/*
 * manifest.h — image manifests: OCI (image-spec manifest.md) and Docker
 * image manifest v2 schema 2.
 *
 * Model: the parsed jansson object is the backing store (`json`); the typed
 * fields below are validated views into it (strings borrowed). Encoding
 * dumps `json` compactly with keys in their original order, so a compact
 * document decodes and encodes back byte for byte, unknown fields included.
 * To build a new manifest, build the JSON (oci_manifest_new) and decode it.
 */
#ifndef STRATA_OCI_MANIFEST_H
#define STRATA_OCI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/descriptor.h"

struct oci_manifest {
	json_t *json;               /* owned reference */
	bool docker;                /* Docker schema 2 (by mediaType) */
	const char *media_type;     /* the document's mediaType, NULL if absent (OCI allows it) */
	const char *artifact_type;  /* NULL when absent */
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
	bool has_subject;
	struct oci_descriptor subject;
	json_t *annotations;        /* NULL when absent */
};

/*
 * Parse and validate. `what` names the document in errors ("manifest").
 * Rejects schemaVersion != 2, an index media type, Docker schema 1, bad
 * descriptors (naming the field: "manifest: layers[2].digest: ...").
 */
int oci_manifest_decode(const char *data, size_t len, const char *what, struct oci_manifest *out,
			struct strata_error **err);
/* As decode, from an already parsed object; takes a new reference to j. */
int oci_manifest_from_json(json_t *j, const char *what, struct oci_manifest *out,
			   struct strata_error **err);
/* Canonical compact JSON (newly allocated, length in *len). */
char *oci_manifest_encode(const struct oci_manifest *m, size_t *len);
void oci_manifest_release(struct oci_manifest *m);
/* Sum of config and layer sizes. */
int64_t oci_manifest_content_size(const struct oci_manifest *m);

/*
 * A new OCI manifest object: schemaVersion 2, mediaType OCI_MT_MANIFEST,
 * config, layers (array of descriptors; the reference is stolen). New ref.
 */
json_t *oci_manifest_new(json_t *config_desc, json_t *layers);

static inline void oci_manifest_releasep(struct oci_manifest *m) { oci_manifest_release(m); }
#define cleanup_manifest __attribute__((cleanup(oci_manifest_releasep)))

#endif
