/* Unit tests of the registry's manifest validation (manifest_parse.c). */
#include "tap.h"
#include "registry/server/internal.h"

#define OCIM "application/vnd.oci.image.manifest.v1+json"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse(const char *json, const char *ct, struct reg_manifest *m, char **why)
{
	free(*why);
	*why = NULL;
	return reg_manifest_parse(json, strlen(json), ct, m, why);
}

int main(void)
{
	struct reg_manifest m;
	char *why = NULL;
	const char *img = "{\"schemaVersion\":2,\"mediaType\":\"" OCIM "\","
			  "\"config\":{\"mediaType\":\"application/x-cfg\",\"digest\":\"" D1 "\",\"size\":2},"
			  "\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":5},"
			  "{\"mediaType\":\"x\",\"digest\":\"" D3 "\",\"size\":5,\"urls\":[\"http://x\"]}],"
			  "\"subject\":{\"mediaType\":\"" OCIM "\",\"digest\":\"" D3 "\",\"size\":9},"
			  "\"annotations\":{\"a\":\"b\"}}";
	ok(parse(img, OCIM "; charset=utf-8", &m, &why) == 0, "image manifest accepted");
	is_str(m.media_type, OCIM, "media type");
	is_int(json_array_size(m.blobs), 2, "config and one layer referenced (foreign layer skipped)");
	is_str(json_string_value(json_array_get(m.blobs, 1)), D2, "layer digest");
	is_str(m.subject, D3, "subject");
	is_str(m.artifact_type, "application/x-cfg", "artifactType falls back to config.mediaType");
	is_str(m.annotations, "{\"a\":\"b\"}", "annotations kept");
	reg_manifest_release(&m);

	ok(parse(img, NULL, &m, &why) == 0, "media type from the mediaType field");
	reg_manifest_release(&m);
	ok(parse(img, "application/json", &m, &why) == 0, "application/json Content-Type ignored");
	reg_manifest_release(&m);

	const char *idx = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"artifactType\":\"t\","
			  "\"manifests\":[{\"mediaType\":\"" OCIM "\",\"digest\":\"" D1 "\",\"size\":3}]}";
	ok(parse(idx, NULL, &m, &why) == 0, "index accepted");
	is_int(json_array_size(m.children), 1, "one child");
	is_int(json_array_size(m.blobs), 0, "no blobs");
	is_str(m.artifact_type, "t", "index artifactType");
	reg_manifest_release(&m);

	struct {
		const char *json, *ct, *why;
		int code;
	} bad[] = {
		{ "{", OCIM, "manifest:1:", REG_MANIFEST_INVALID },
		{ "[]", OCIM, "not a JSON object", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":3}", OCIM, "schemaVersion must be 2", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":1}", NULL, "schema 1", REG_MANIFEST_UNSUPPORTED },
		{ "{}", DOCKER_MT_MANIFEST_V1_SIGNED, "schema 1", REG_MANIFEST_UNSUPPORTED },
		{ "{\"schemaVersion\":2}", NULL, "no media type", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"mediaType\":5}", NULL, "mediaType must be a string", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}", OCIM,
		  "does not match", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2}", "text/plain", "unsupported manifest media type 'text/plain'",
		  REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"layers\":[]}", OCIM, "config must be an object", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}", OCIM,
		  "config has no valid digest", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", OCIM,
		  "config has no valid size", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", OCIM,
		  "layers must be an array", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[1]}", OCIM,
		  "layers[0] must be an object", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"manifests\":{}}", OCI_MT_INDEX, "manifests must be an array",
		  REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[],"
		  "\"subject\":{\"digest\":\"x\",\"size\":1}}",
		  OCIM, "subject has no valid digest", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[],"
		  "\"annotations\":[]}",
		  OCIM, "annotations must be an object", REG_MANIFEST_INVALID },
		{ "{\"schemaVersion\":2,\"schemaVersion\":2}", OCIM, "duplicate", REG_MANIFEST_INVALID },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i].json, bad[i].ct, &m, &why);
		is_int(r, bad[i].code, "bad[%zu] refused with the right code", i);
		ok(why && strstr(why, bad[i].why), "bad[%zu] says '%s': %s", i, bad[i].why, why ? why : "(null)");
		ok(m.media_type == NULL && m.blobs == NULL, "bad[%zu] leaves nothing allocated", i);
	}
	free(why);
	return done_testing();
}
