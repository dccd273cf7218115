#include "oci/index.h"
#include "oci/internal.h"
#include "oci/mediatype.h"

#include <string.h>

void oci_index_release(struct oci_index *x)
{
	for (size_t i = 0; i < x->n_manifests; i++)
		oci_descriptor_release(&x->manifests[i]);
	free(x->manifests);
	if (x->has_subject)
		oci_descriptor_release(&x->subject);
	if (x->json)
		json_decref(x->json);
	memset(x, 0, sizeof(*x));
}

static int decode(struct oci_index *x, const char *what, struct strata_error **err)
{
	json_t *j = x->json, *list = NULL, *subj = NULL;
	if (oci_model_check_schema(j, what, err) < 0 ||
	    strata_json_get_string(j, "mediaType", false, what, &x->media_type, err) < 0 ||
	    strata_json_get_string(j, "artifactType", false, what, &x->artifact_type, err) < 0 ||
	    strata_json_get_array(j, "manifests", true, what, &list, err) < 0 ||
	    strata_json_get_object(j, "subject", false, what, &subj, err) < 0)
		return -1;
	if (x->media_type) {
		if (!strcmp(x->media_type, DOCKER_MT_LIST))
			x->docker = true;
		else if (strcmp(x->media_type, OCI_MT_INDEX))
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "%s: mediaType: '%s' is not an index", what, x->media_type);
	}
	size_t n = json_array_size(list);
	x->manifests = xcalloc(n ? n : 1, sizeof(*x->manifests));
	cleanup_free char *w = NULL;
	for (size_t i = 0; i < n; i++) {
		free(w);
		w = xasprintf("%s: manifests[%zu]", what, i);
		if (oci_descriptor_decode(json_array_get(list, i), w, &x->manifests[i], err) < 0)
			return -1;
		x->n_manifests = i + 1;
	}
	return oci_model_decode_tail(j, subj, what, &x->has_subject, &x->subject, &x->annotations, err);
}

OCI_MODEL_JSON_FUNCS(index, struct oci_index)

ssize_t oci_index_select(const struct oci_index *x, const struct oci_platform *want)
{
	bool any_platform = false;
	for (size_t i = 0; i < x->n_manifests; i++) {
		if (!x->manifests[i].has_platform)
			continue;
		any_platform = true;
		if (oci_platform_matches(want, &x->manifests[i].platform))
			return (ssize_t)i;
	}
	if (!any_platform && x->n_manifests > 0)
		return 0;
	return -1;
}
