/*
 * oci/internal.h — what the document models (manifest.c, index.c, config.c)
 * share; not part of the module's boundary.
 */
#ifndef STRATA_OCI_INTERNAL_H
#define STRATA_OCI_INTERNAL_H

#include <string.h>

#include "oci/descriptor.h"

/*
 * Define oci_NAME_from_json, oci_NAME_decode and oci_NAME_encode (declared
 * and documented in NAME.h) for the model TYPE, over the file's
 * `static int decode(TYPE *, const char *what, struct strata_error **)` and
 * oci_NAME_release. The model holds a new reference to the JSON; when
 * decode fails the model is released (left all zero).
 */
#define OCI_MODEL_JSON_FUNCS(name, type)                                                                 \
	int oci_##name##_from_json(json_t *j, const char *what, type *out, struct strata_error **err)    \
	{                                                                                                \
		memset(out, 0, sizeof(*out));                                                            \
		out->json = json_incref(j);                                                              \
		if (decode(out, what, err) < 0) {                                                        \
			oci_##name##_release(out);                                                       \
			return -1;                                                                       \
		}                                                                                        \
		return 0;                                                                                \
	}                                                                                                \
	int oci_##name##_decode(const char *data, size_t len, const char *what, type *out,               \
				struct strata_error **err)                                               \
	{                                                                                                \
		cleanup_json json_t *j = NULL;                                                           \
		memset(out, 0, sizeof(*out));                                                            \
		if (strata_json_parse(data, len, what, &j, err) < 0)                                     \
			return -1;                                                                       \
		return oci_##name##_from_json(j, what, out, err);                                        \
	}                                                                                                \
	char *oci_##name##_encode(const type *x, size_t *len)                                            \
	{                                                                                                \
		return strata_json_dump(x->json, len);                                                   \
	}

/* An image manifest or index: j is an object with "schemaVersion": 2. @return 0 or -1. */
int oci_model_check_schema(const json_t *j, const char *what, struct strata_error **err);

/*
 * The fields image manifests and indexes end with: decode subj (j's
 * "subject" object, NULL when absent) into *subject, setting *has_subject,
 * and point *annotations at j's "annotations" after checking it is a map of
 * strings. @return 0 or -1.
 */
int oci_model_decode_tail(json_t *j, json_t *subj, const char *what, bool *has_subject,
			  struct oci_descriptor *subject, json_t **annotations, struct strata_error **err);

#endif
