#include "oci/descriptor.h"
#include "oci/internal.h"

#include <string.h>

int oci_json_check_string_map(const json_t *v, const char *what, struct strata_error **err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be an object", what);
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		if (!json_is_string(x))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s.%s: must be a string", what, k);
	}
	return 0;
}

int oci_json_check_string_array(const json_t *v, const char *what, struct strata_error **err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be an array", what);
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s[%zu]: must be a string", what, i);
	}
	return 0;
}

void oci_descriptor_release(struct oci_descriptor *d)
{
	if (d->has_platform)
		oci_platform_release(&d->platform);
	memset(d, 0, sizeof(*d));
}

int oci_descriptor_decode(json_t *j, const char *what, struct oci_descriptor *out,
			  struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be an object", what);
	const char *dg = NULL;
	if (strata_json_get_string(j, "mediaType", true, what, &out->media_type, err) < 0 ||
	    strata_json_get_string(j, "digest", true, what, &dg, err) < 0 ||
	    strata_json_get_int(j, "size", true, what, &out->size, err) < 0 ||
	    strata_json_get_string(j, "artifactType", false, what, &out->artifact_type, err) < 0 ||
	    strata_json_get_string(j, "data", false, what, &out->data, err) < 0)
		return -1;
	if (oci_digest_parse(dg, &out->digest, err) < 0)
		return strata_error_wrap(err, "%s.digest", what);
	if (out->size < 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s.size: must not be negative", what);
	cleanup_free char *w = NULL;
	out->urls = json_object_get(j, "urls");
	w = xasprintf("%s.urls", what);
	if (oci_json_check_string_array(out->urls, w, err) < 0)
		return -1;
	free(w);
	w = NULL;
	out->annotations = json_object_get(j, "annotations");
	w = xasprintf("%s.annotations", what);
	if (oci_json_check_string_map(out->annotations, w, err) < 0)
		return -1;
	free(w);
	w = NULL;
	out->platform_json = json_object_get(j, "platform");
	if (out->platform_json && !json_is_null(out->platform_json)) {
		w = xasprintf("%s.platform", what);
		if (oci_platform_decode(out->platform_json, w, &out->platform, err) < 0)
			return -1;
		out->has_platform = true;
	} else {
		out->platform_json = NULL;
	}
	out->json = j;
	return 0;
}

json_t *oci_descriptor_new(const char *media_type, const char *digest, int64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
			 (json_int_t)size);
}

const char *oci_descriptor_annotation(const struct oci_descriptor *d, const char *key)
{
	if (!d->annotations)
		return NULL;
	return json_string_value(json_object_get(d->annotations, key));
}

int oci_model_check_schema(const json_t *j, const char *what, struct strata_error **err)
{
	int64_t sv = 0;
	if (!json_is_object(j))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be a JSON object", what);
	if (strata_json_get_int(j, "schemaVersion", true, what, &sv, err) < 0)
		return -1;
	if (sv != 2)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "%s: schemaVersion: unsupported value %lld (want 2)", what, (long long)sv);
	return 0;
}

int oci_model_decode_tail(json_t *j, json_t *subj, const char *what, bool *has_subject,
			  struct oci_descriptor *subject, json_t **annotations, struct strata_error **err)
{
	if (subj) {
		cleanup_free char *w = xasprintf("%s: subject", what);
		if (oci_descriptor_decode(subj, w, subject, err) < 0)
			return -1;
		*has_subject = true;
	}
	*annotations = json_object_get(j, "annotations");
	cleanup_free char *w = xasprintf("%s: annotations", what);
	return oci_json_check_string_map(*annotations, w, err);
}
