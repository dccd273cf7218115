/*
 * manifest_parse.c — validation of a pushed manifest, independent of HTTP
 * and storage (unit-tested and fuzzed): what it is, what it references.
 */
#include "registry/server/internal.h"

#include <stdarg.h>
#include <string.h>

void reg_manifest_release(struct reg_manifest *m)
{
	free(m->media_type);
	free(m->artifact_type);
	free(m->subject);
	free(m->annotations);
	if (m->blobs)
		json_decref(m->blobs);
	if (m->children)
		json_decref(m->children);
	memset(m, 0, sizeof(*m));
}

static int fail(struct reg_manifest *m, char **why, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct reg_manifest *m, char **why, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*why = xvasprintf(fmt, ap);
	va_end(ap);
	reg_manifest_release(m);
	return code;
}

/* @return the digest, or NULL with *why set */
static const char *descriptor(json_t *d, const char *what, char **why)
{
	if (!json_is_object(d)) {
		*why = xasprintf("%s must be an object", what);
		return NULL;
	}
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *size = json_object_get(d, "size");
	json_t *mt = json_object_get(d, "mediaType");
	if (!dg || !oci_digest_valid(dg)) {
		*why = xasprintf("%s has no valid digest", what);
		return NULL;
	}
	if (!json_is_integer(size) || json_integer_value(size) < 0) {
		*why = xasprintf("%s has no valid size", what);
		return NULL;
	}
	if (mt && !json_is_string(mt)) {
		*why = xasprintf("%s has an invalid mediaType", what);
		return NULL;
	}
	return dg;
}

static bool is_schema1(const char *mt)
{
	return !strcmp(mt, DOCKER_MT_MANIFEST_V1) || !strcmp(mt, DOCKER_MT_MANIFEST_V1_SIGNED);
}

int reg_manifest_parse(const char *data, size_t len, const char *content_type, struct reg_manifest *out,
		       char **why)
{
	struct reg_manifest *m = out;
	memset(m, 0, sizeof(*m));
	*why = NULL;
	cleanup_free char *ct = NULL;
	if (content_type) {
		ct = xstrndup(content_type, strcspn(content_type, "; "));
		if (!*ct || !strcmp(ct, "application/json")) {
			free(ct);
			ct = NULL;
		}
	}
	if (ct && is_schema1(ct))
		return fail(m, why, REG_MANIFEST_UNSUPPORTED, "schema 1 manifests are not supported");
	struct strata_error *err = NULL;
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(data, len, "manifest", &j, &err) < 0) {
		char *s = strata_error_string(err);
		strata_error_free(err);
		int r = fail(m, why, REG_MANIFEST_INVALID, "%s", s);
		free(s);
		return r;
	}
	if (!json_is_object(j))
		return fail(m, why, REG_MANIFEST_INVALID, "not a JSON object");
	json_t *sv = json_object_get(j, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) == 1)
		return fail(m, why, REG_MANIFEST_UNSUPPORTED, "schema 1 manifests are not supported");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return fail(m, why, REG_MANIFEST_INVALID, "schemaVersion must be 2");
	json_t *fmt = json_object_get(j, "mediaType");
	const char *field_mt = json_string_value(fmt);
	if (fmt && !field_mt)
		return fail(m, why, REG_MANIFEST_INVALID, "mediaType must be a string");
	if (ct && field_mt && strcmp(ct, field_mt))
		return fail(m, why, REG_MANIFEST_INVALID, "mediaType '%s' does not match the Content-Type '%s'",
			    field_mt, ct);
	const char *mt = ct ? ct : field_mt;
	if (!mt)
		return fail(m, why, REG_MANIFEST_INVALID, "no media type (Content-Type header or mediaType field)");
	m->media_type = xstrdup(mt);
	m->blobs = json_array();
	m->children = json_array();
	const char *d;
	char *msg = NULL;
	if (oci_mt_is_manifest(mt)) {
		json_t *config = json_object_get(j, "config");
		if (!(d = descriptor(config, "config", &msg)))
			goto bad;
		json_array_append_new(m->blobs, json_string(d));
		json_t *layers = json_object_get(j, "layers");
		if (!json_is_array(layers))
			return fail(m, why, REG_MANIFEST_INVALID, "layers must be an array");
		size_t i;
		json_t *l;
		json_array_foreach(layers, i, l) {
			char what[40];
			snprintf(what, sizeof(what), "layers[%zu]", i);
			if (!(d = descriptor(l, what, &msg)))
				goto bad;
			if (json_array_size(json_object_get(l, "urls")) > 0)
				continue; /* foreign layer: not stored here */
			json_array_append_new(m->blobs, json_string(d));
		}
		const char *at = json_string_value(json_object_get(j, "artifactType"));
		if (!at)
			at = json_string_value(json_object_get(config, "mediaType"));
		m->artifact_type = at ? xstrdup(at) : NULL;
	} else if (oci_mt_is_index(mt)) {
		json_t *ms = json_object_get(j, "manifests");
		if (!json_is_array(ms))
			return fail(m, why, REG_MANIFEST_INVALID, "manifests must be an array");
		size_t i;
		json_t *c;
		json_array_foreach(ms, i, c) {
			char what[40];
			snprintf(what, sizeof(what), "manifests[%zu]", i);
			if (!(d = descriptor(c, what, &msg)))
				goto bad;
			json_array_append_new(m->children, json_string(d));
		}
		const char *at = json_string_value(json_object_get(j, "artifactType"));
		m->artifact_type = at ? xstrdup(at) : NULL;
	} else if (is_schema1(mt)) {
		return fail(m, why, REG_MANIFEST_UNSUPPORTED, "schema 1 manifests are not supported");
	} else {
		return fail(m, why, REG_MANIFEST_INVALID, "unsupported manifest media type '%s'", mt);
	}
	json_t *subject = json_object_get(j, "subject");
	if (subject) {
		if (!(d = descriptor(subject, "subject", &msg)))
			goto bad;
		m->subject = xstrdup(d);
	}
	json_t *ann = json_object_get(j, "annotations");
	if (ann && !json_is_object(ann))
		return fail(m, why, REG_MANIFEST_INVALID, "annotations must be an object");
	if (ann)
		m->annotations = strata_json_dump(ann, NULL);
	return 0;
bad:
	reg_manifest_release(m);
	*why = msg;
	return REG_MANIFEST_INVALID;
}
