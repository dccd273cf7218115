#include "tap.h"
#include "oci/oci.h"

#define D1 "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
#define D2 "sha256:8d3ac3489996423f53d6087c81180006263b79f206d3fdec9e66f0e27ceb8759"
#define D3 "sha256:b49b96595fd4bd6de7cb7253fe5e89d242d0eb4f993b2b8280c0581c3a62ddc2"
#define D4 "sha256:3f53bb00af943dfdf815650be70c0fa7b426e56a66f5e3362b47a129d57d5991"

static const char *OCI_MANIFEST =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":1470},"
	"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":2814446,"
	"\"annotations\":{\"org.opencontainers.image.title\":\"base\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3 "\",\"size\":1024,"
	"\"urls\":[\"https://example.com/l\"],\"x-layer-extra\":[1,2,{\"a\":null}]}],"
	"\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D4 "\",\"size\":527},"
	"\"annotations\":{\"org.opencontainers.image.created\":\"2024-03-01T10:00:00Z\",\"com.example.ünïcode\":\"✓\"},"
	"\"x-unknown-top\":{\"nested\":[true,false,1.5]}}";

static const char *DOCKER_MANIFEST =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":7023,\"digest\":\"" D1 "\"},"
	"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":32654,\"digest\":\"" D2 "\"},"
	"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":16724,\"digest\":\"" D3 "\"},"
	"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":73109,\"digest\":\"" D4 "\"}]}";

static const char *LIST =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
	"\"manifests\":["
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":528,\"digest\":\"" D1 "\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":528,\"digest\":\"" D2 "\","
	"\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":528,\"digest\":\"" D3 "\","
	"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":1125,\"digest\":\"" D4 "\","
	"\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\","
	"\"os.features\":[\"win32k\"]}}]}";

static const char *OCI_INDEX =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":100,"
	"\"annotations\":{\"org.opencontainers.image.ref.name\":\"docker.io/library/busybox:latest\"}}],"
	"\"annotations\":{\"a\":\"b\"},\"x-extra\":1}";

static const char *CONFIG =
	"{\"created\":\"2024-02-28T18:43:25.391463451Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
	"\"config\":{\"User\":\"app\",\"ExposedPorts\":{\"8080/tcp\":{}},"
	"\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"APP=1\"],"
	"\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"Cmd\":[\"serve\",\"--port\",\"8080\"],"
	"\"Volumes\":{\"/data\":{}},\"WorkingDir\":\"/srv\",\"Labels\":{\"org.opencontainers.image.source\":\"x\"},"
	"\"StopSignal\":\"SIGQUIT\",\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":30000000000},"
	"\"Shell\":[\"/bin/sh\",\"-c\"],\"OnBuild\":null,\"ArgsEscaped\":true},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D2 "\",\"" D3 "\"]},"
	"\"history\":[{\"created\":\"2024-01-27T00:30:56.150825642Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:... in / \"},"
	"{\"created\":\"2024-01-27T00:30:56.394358223Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD [\\\"sh\\\"]\",\"empty_layer\":true},"
	"{\"created\":\"2024-02-28T18:43:25Z\",\"created_by\":\"RUN apk add curl\",\"comment\":\"buildkit.dockerfile.v0\"}],"
	"\"os.version\":\"\",\"variant\":\"v1\",\"author\":\"someone\",\"container\":\"abc\",\"docker_version\":\"24.0.7\"}";

static void expect_err(int r, struct strata_error **err, const char *want, const char *name)
{
	char *m = strata_error_string(*err);
	ok(r < 0 && m && strstr(m, want), "%s: rejected with '%s' (%s)", name, want, m);
	free(m);
	strata_error_clear(err);
}

static char *sub(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	if (!p)
		return xstrdup(s);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

int main(void)
{
	struct strata_error *err = NULL;
	size_t len;

	/* OCI manifest */
	struct oci_manifest m;
	ok(oci_manifest_decode(OCI_MANIFEST, strlen(OCI_MANIFEST), "manifest", &m, &err) == 0, "decode OCI manifest");
	ok(!m.docker, "OCI manifest is not docker");
	is_int(m.n_layers, 2, "two layers");
	is_str(m.config.digest.str, D1, "config digest");
	is_int(m.layers[0].size, 2814446, "layer size");
	is_str(oci_descriptor_annotation(&m.layers[0], "org.opencontainers.image.title"), "base", "layer annotation");
	ok(m.has_subject && !strcmp(m.subject.digest.str, D4), "subject");
	is_int(oci_manifest_content_size(&m), 1470 + 2814446 + 1024, "content size");
	char *enc = oci_manifest_encode(&m, &len);
	is_str(enc, OCI_MANIFEST, "OCI manifest round trip is byte-equal (unknown fields kept)");
	free(enc);
	oci_manifest_release(&m);

	/* Docker schema 2 */
	ok(oci_manifest_decode(DOCKER_MANIFEST, strlen(DOCKER_MANIFEST), "manifest", &m, &err) == 0, "decode docker manifest");
	ok(m.docker, "docker manifest detected");
	is_int(m.n_layers, 3, "three layers");
	enc = oci_manifest_encode(&m, &len);
	is_str(enc, DOCKER_MANIFEST, "docker manifest round trip is byte-equal (key order kept)");
	free(enc);
	oci_manifest_release(&m);

	/* manifest list + platform selection */
	struct oci_index x;
	ok(oci_index_decode(LIST, strlen(LIST), "index", &x, &err) == 0, "decode manifest list");
	ok(x.docker, "manifest list is docker");
	is_int(x.n_manifests, 4, "four manifests");
	is_str(x.manifests[3].platform.os_version, "10.0.17763.5576", "os.version");
	enc = oci_index_encode(&x, &len);
	is_str(enc, LIST, "manifest list round trip is byte-equal");
	free(enc);
	struct oci_platform want;
	oci_platform_parse("linux/arm64", &want, &err);
	is_int(oci_index_select(&x, &want), 2, "linux/arm64 selects the arm64 v8 entry");
	oci_platform_release(&want);
	oci_platform_parse("linux/arm/v7", &want, &err);
	is_int(oci_index_select(&x, &want), -1, "linux/arm/v7 does not match arm v6");
	oci_platform_release(&want);
	oci_platform_parse("linux/amd64", &want, &err);
	is_int(oci_index_select(&x, &want), 0, "linux/amd64 selects the first entry");
	oci_platform_release(&want);
	oci_platform_parse("windows/amd64", &want, &err);
	is_int(oci_index_select(&x, &want), 3, "windows/amd64");
	oci_platform_release(&want);
	oci_platform_host(&want);
	is_str(want.os, "linux", "host os");
	is_str(want.architecture, oci_platform_host_arch(), "host arch");
	oci_platform_release(&want);
	ok(oci_platform_parse("linux", &want, &err) < 0, "platform without arch rejected");
	strata_error_clear(&err);
	oci_index_release(&x);

	ok(oci_index_decode(OCI_INDEX, strlen(OCI_INDEX), "index", &x, &err) == 0, "decode OCI index");
	is_str(oci_descriptor_annotation(&x.manifests[0], "org.opencontainers.image.ref.name"),
	       "docker.io/library/busybox:latest", "ref.name annotation");
	enc = oci_index_encode(&x, &len);
	is_str(enc, OCI_INDEX, "OCI index round trip is byte-equal");
	free(enc);
	oci_index_release(&x);

	/* config */
	struct oci_config c;
	ok(oci_config_decode(CONFIG, strlen(CONFIG), "config", &c, &err) == 0, "decode config");
	is_str(c.architecture, "amd64", "architecture");
	is_str(c.os_version, "", "os.version");
	is_str(c.variant, "v1", "variant");
	is_int(c.n_diff_ids, 2, "diff ids");
	is_int(c.n_history, 3, "history");
	ok(c.history[1].empty_layer && !c.history[0].empty_layer, "empty_layer");
	is_str(c.history[2].comment, "buildkit.dockerfile.v0", "history comment");
	is_str(json_string_value(json_object_get(c.exec, "WorkingDir")), "/srv", "WorkingDir");
	enc = oci_config_encode(&c, &len);
	is_str(enc, CONFIG, "config round trip is byte-equal (unknown fields kept)");
	free(enc);
	oci_config_release(&c);

	time_t t;
	ok(oci_time_parse("2024-02-28T18:43:25.391463451Z", &t) == 0 && t == 1709145805, "RFC 3339 with fraction");
	ok(oci_time_parse("2024-02-28T20:43:25+02:00", &t) == 0 && t == 1709145805, "RFC 3339 with offset");
	ok(oci_time_parse("2024-02-28 18:43:25", &t) < 0, "not RFC 3339");
	char tb[32];
	oci_time_format(1709145805, tb, sizeof(tb));
	is_str(tb, "2024-02-28T18:43:25Z", "time format");

	/* invalid documents, each naming the field */
	static const struct {
		const char *doc; /* 0 manifest, 1 docker manifest, 2 index, 3 config */
		int kind;
		const char *from, *to, *want;
	} bad[] = {
		{ NULL, 1, D4 "\"}]", "sha256:xyz\"}]", "manifest: layers[2].digest: invalid digest 'sha256:xyz'" },
		{ NULL, 0, "\"size\":1024", "\"size\":-1", "manifest: layers[1].size: must not be negative" },
		{ NULL, 0, "\"size\":1470", "\"size\":\"1470\"", "manifest: config: field 'size' must be an integer" },
		{ NULL, 0, "\"schemaVersion\":2", "\"schemaVersion\":1", "schemaVersion: unsupported value 1" },
		{ NULL, 0, "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\"",
		  "\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\",\"config\"",
		  "is not an image manifest" },
		{ NULL, 0, "\"config\":{", "\"konfig\":{", "manifest: missing field 'config'" },
		{ NULL, 0, "image.title\":\"base\"", "image.title\":7", "layers[0].annotations.org.opencontainers.image.title: must be a string" },
		{ NULL, 0, "\"urls\":[\"https://example.com/l\"]", "\"urls\":[1]", "layers[1].urls[0]: must be a string" },
		{ NULL, 0, "{\"schemaVersion\"", "{\"schemaVersion\":2,\"schemaVersion\"", "duplicate" },
		{ NULL, 0, ",\"x-unknown-top\"", ",,\"x-unknown-top\"", "manifest:1:" },
		{ NULL, 2, "\"os\":\"windows\"", "\"oss\":\"windows\"", "index: manifests[3].platform: missing field 'os'" },
		{ NULL, 2, "\"manifests\":[", "\"manifestz\":[", "index: missing field 'manifests'" },
		{ NULL, 3, "\"APP=1\"", "1", "config: config.Env[1]: must be a string" },
		{ NULL, 3, "\"ArgsEscaped\":true", "\"ArgsEscaped\":\"yes\"", "config: config: field 'ArgsEscaped' must be a boolean" },
		{ NULL, 3, "\"layers\",\"diff_ids\":[\"" D2, "\"layers\",\"diff_ids\":[\"sha256:00", "config: rootfs.diff_ids[0]: invalid digest" },
		{ NULL, 3, ",\"empty_layer\":true", "", "history has 3 non-empty entries but rootfs.diff_ids has 2" },
		{ NULL, 3, "\"architecture\":\"amd64\",", "", "config: missing field 'architecture'" },
		{ NULL, 3, "\"created\":\"2024-02-28T18:43:25.391463451Z\"", "\"created\":\"yesterday\"", "config: created: invalid RFC 3339 time 'yesterday'" },
		{ NULL, 3, "\"type\":\"layers\"", "\"type\":\"files\"", "config: rootfs.type: must be 'layers'" },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(bad); i++) {
		const char *base = bad[i].kind == 0 ? OCI_MANIFEST : bad[i].kind == 1 ? DOCKER_MANIFEST
				 : bad[i].kind == 2 ? LIST : CONFIG;
		char *doc = sub(base, bad[i].from, bad[i].to);
		ok(strcmp(doc, base) != 0, "case %zu: substitution applied", i);
		int r;
		if (bad[i].kind <= 1) {
			r = oci_manifest_decode(doc, strlen(doc), "manifest", &m, &err);
		} else if (bad[i].kind == 2) {
			r = oci_index_decode(doc, strlen(doc), "index", &x, &err);
		} else {
			r = oci_config_decode(doc, strlen(doc), "config", &c, &err);
		}
		expect_err(r, &err, bad[i].want, bad[i].want);
		free(doc);
	}

	/* an index is not a manifest and vice versa */
	expect_err(oci_manifest_decode(OCI_INDEX, strlen(OCI_INDEX), "manifest", &m, &err), &err,
		   "is not an image manifest", "index given as manifest");
	expect_err(oci_index_decode(OCI_MANIFEST, strlen(OCI_MANIFEST), "index", &x, &err), &err,
		   "index: missing field 'manifests'", "manifest given as index");

	/* building */
	json_t *layers = json_array();
	json_array_append_new(layers, oci_descriptor_new(OCI_MT_LAYER, D2, 10));
	json_t *mj = oci_manifest_new(oci_descriptor_new(OCI_MT_CONFIG, D1, 5), layers);
	ok(oci_manifest_from_json(mj, "new manifest", &m, &err) == 0, "a built manifest decodes");
	json_decref(mj);
	enc = oci_manifest_encode(&m, &len);
	is_str(enc, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":5},"
		    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2 "\",\"size\":10}]}",
	       "built manifest encodes canonically");
	free(enc);
	oci_manifest_release(&m);
	return done_testing();
}
