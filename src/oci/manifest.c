#include "oci/manifest.h"
#include "oci/internal.h"
#include "oci/mediatype.h"

#include <string.h>

void oci_manifest_release(struct oci_manifest *m)
{
	oci_descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		oci_descriptor_release(&m->layers[i]);
	free(m->layers);
	if (m->has_subject)
		oci_descriptor_release(&m->subject);
	if (m->json)
		json_decref(m->json);
	memset(m, 0, sizeof(*m));
}


static int decode(struct oci_manifest *m, const char *what, struct strata_error **err)
{
	json_t *j = m->json;
	json_t *cfg = NULL, *layers = NULL, *subj = NULL;
	if (oci_model_check_schema(j, what, err) < 0 ||
	    strata_json_get_string(j, "mediaType", false, what, &m->media_type, err) < 0 ||
	    strata_json_get_string(j, "artifactType", false, what, &m->artifact_type, err) < 0)
		return -1;
	if (m->media_type) {
		if (!strcmp(m->media_type, DOCKER_MT_MANIFEST))
			m->docker = true;
		else if (strcmp(m->media_type, OCI_MT_MANIFEST))
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "%s: mediaType: '%s' is not an image manifest", what, m->media_type);
	}
	if (json_object_get(j, "manifests"))
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "%s: has 'manifests': this is an index, not a manifest", what);
	if (strata_json_get_object(j, "config", true, what, &cfg, err) < 0 ||
	    strata_json_get_array(j, "layers", !m->artifact_type, what, &layers, err) < 0)
		return -1;
	cleanup_free char *w = xasprintf("%s: config", what);
	if (oci_descriptor_decode(cfg, w, &m->config, err) < 0)
		return -1;
	size_t n = layers ? json_array_size(layers) : 0;
	m->layers = xcalloc(n ? n : 1, sizeof(*m->layers));
	for (size_t i = 0; i < n; i++) {
		free(w);
		w = xasprintf("%s: layers[%zu]", what, i);
		if (oci_descriptor_decode(json_array_get(layers, i), w, &m->layers[i], err) < 0)
			return -1;
		m->n_layers = i + 1;
	}
	if (strata_json_get_object(j, "subject", false, what, &subj, err) < 0)
		return -1;
	return oci_model_decode_tail(j, subj, what, &m->has_subject, &m->subject, &m->annotations, err);
}

OCI_MODEL_JSON_FUNCS(manifest, struct oci_manifest)

int64_t oci_manifest_content_size(const struct oci_manifest *m)
{
	int64_t s = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		s += m->layers[i].size;
	return s;
}

json_t *oci_manifest_new(json_t *config_desc, json_t *layers)
{
	return json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
			 "config", config_desc, "layers", layers);
}
