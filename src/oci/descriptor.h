/*
 * descriptor.h — OCI content descriptors (image-spec descriptor.md).
 *
 * A decoded descriptor *borrows* from the JSON object it was decoded from:
 * its strings and json_t pointers live as long as that object (held by the
 * manifest / index that owns it). The object itself stays the backing store,
 * so every field strata does not model (and every unknown one) survives a
 * decode -> encode round trip.
 */
#ifndef STRATA_OCI_DESCRIPTOR_H
#define STRATA_OCI_DESCRIPTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/platform.h"
#include "util/util.h"

struct oci_descriptor {
	json_t *json;              /* the object itself (borrowed) */
	const char *media_type;    /* required */
	struct oci_digest digest;  /* required, validated */
	int64_t size;              /* required, >= 0 */
	const char *artifact_type; /* NULL when absent */
	json_t *urls;              /* array of strings or NULL */
	json_t *annotations;       /* object of strings or NULL */
	json_t *platform_json;     /* object or NULL */
	bool has_platform;
	struct oci_platform platform; /* owned copy, valid when has_platform */
	const char *data;          /* base64 "data" or NULL */
};

/*
 * Validate j as a descriptor. `what` is the path used in errors, e.g.
 * "manifest: layers[2]" gives "manifest: layers[2].digest: invalid digest ...".
 * On success *out borrows from j (release with oci_descriptor_release).
 */
int oci_descriptor_decode(json_t *j, const char *what, struct oci_descriptor *out,
			  struct strata_error **err);
void oci_descriptor_release(struct oci_descriptor *d);

/* A new {"mediaType","digest","size"} object (new reference). */
json_t *oci_descriptor_new(const char *media_type, const char *digest, int64_t size);
/* Annotation value or NULL. */
const char *oci_descriptor_annotation(const struct oci_descriptor *d, const char *key);

/* Shared by the models: validate that v (may be NULL) is an object of strings. */
int oci_json_check_string_map(const json_t *v, const char *what, struct strata_error **err);
/* Validate that v (may be NULL) is an array of strings. */
int oci_json_check_string_array(const json_t *v, const char *what, struct strata_error **err);

#endif
