#include "tap.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "registry/client/internal.h"

static void test_challenges(void)
{
	struct rc_challenge ch[4];
	struct strata_error *err = NULL;
	int n = rc_challenges_parse(
		"Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\","
		"scope=\"repository:app:pull,push\"",
		ch, 4, &err);
	is_int(n, 1, "one bearer challenge");
	is_str(ch[0].scheme, "bearer", "scheme lower-cased");
	is_str(rc_challenge_param(&ch[0], "realm"), "https://auth.example.com/token", "realm");
	is_str(rc_challenge_param(&ch[0], "service"), "registry.example.com", "service");
	is_str(rc_challenge_param(&ch[0], "scope"), "repository:app:pull,push", "scope with comma inside quotes");
	rc_challenge_release(&ch[0]);

	n = rc_challenges_parse("Basic realm=\"Registry Realm\", Bearer realm=\"http://127.0.0.1:1/t\" , "
				"error=\"invalid_token\"",
				ch, 4, &err);
	is_int(n, 2, "two challenges");
	is_str(ch[0].scheme, "basic", "first basic");
	is_str(rc_challenge_param(&ch[0], "realm"), "Registry Realm", "basic realm with a space");
	is_str(ch[1].scheme, "bearer", "second bearer");
	is_str(rc_challenge_param(&ch[1], "error"), "invalid_token", "param after bearer realm");
	for (int i = 0; i < n; i++)
		rc_challenge_release(&ch[i]);

	n = rc_challenges_parse("Bearer realm=\"a\\\"b\",Service=unquoted", ch, 4, &err);
	is_int(n, 1, "escaped quote");
	is_str(rc_challenge_param(&ch[0], "realm"), "a\"b", "backslash escape");
	is_str(rc_challenge_param(&ch[0], "service"), "unquoted", "unquoted token value, key lower-cased");
	rc_challenge_release(&ch[0]);

	n = rc_challenges_parse("Negotiate abc123==, Basic realm=x", ch, 4, &err);
	is_int(n, 2, "token68 challenge skipped over");
	is_str(ch[1].scheme, "basic", "basic after token68");
	for (int i = 0; i < n; i++)
		rc_challenge_release(&ch[i]);

	n = rc_challenges_parse("Bearer realm=\"unterminated", ch, 4, &err);
	is_int(n, -1, "unterminated quote rejected");
	char *m = strata_error_string(err);
	ok(strstr(m, "malformed WWW-Authenticate") != NULL, "error names the header: %s", m);
	free(m);
	strata_error_clear(&err);
}

static void test_link(void)
{
	char *u = rc_link_next("</v2/app/tags/list?n=2&last=b>; rel=\"next\"");
	is_str(u, "/v2/app/tags/list?n=2&last=b", "next link");
	free(u);
	u = rc_link_next("<https://x/prev>; rel=\"prev\", <https://x/v2/a/tags/list?last=z>; rel=next");
	is_str(u, "https://x/v2/a/tags/list?last=z", "second link, unquoted rel");
	free(u);
	u = rc_link_next("<https://x/prev>; rel=\"prev\"");
	ok(u == NULL, "no next");
	u = rc_link_next("garbage");
	ok(u == NULL, "garbage has no next");
}

static void test_errors(void)
{
	struct strata_error *err = NULL;
	const char *b = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\","
			"\"detail\":null}]}";
	rc_error_from_response(401, b, strlen(b), NULL, &err);
	is_str(err->msg, "UNAUTHORIZED: authentication required", "401 body");
	is_int(strata_error_code(err), STRATA_E_AUTH, "401 is an auth error");
	strata_error_clear(&err);

	b = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":{\"Tag\":\"x\"}}]}";
	rc_error_from_response(404, b, strlen(b), NULL, &err);
	is_str(err->msg, "MANIFEST_UNKNOWN: manifest unknown", "404 body");
	is_int(strata_error_code(err), STRATA_E_NOTFOUND, "unknown manifest is not-found");
	strata_error_clear(&err);

	b = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known to registry\"}]}";
	rc_error_from_response(404, b, strlen(b), NULL, &err);
	is_int(strata_error_code(err), STRATA_E_NOTFOUND, "unknown name is not-found");
	strata_error_clear(&err);

	b = "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\"}]}";
	rc_error_from_response(400, b, strlen(b), NULL, &err);
	is_int(strata_error_code(err), STRATA_E_AUTH, "DENIED is an auth error");
	strata_error_clear(&err);

	rc_error_from_response(404, "", 0, "MANIFEST_UNKNOWN", &err);
	is_str(err->msg, "MANIFEST_UNKNOWN: manifest unknown", "HEAD 404 synthesised");
	strata_error_clear(&err);

	/* a hostile or sloppy registry cannot split the one-line error or reach the terminal */
	b = "{\"errors\":[{\"code\":\"DENIED\\n\",\"message\":\"no\\nstrata: error: forged\\u001b[31m\"}]}";
	rc_error_from_response(403, b, strlen(b), NULL, &err);
	is_str(err->msg, "DENIED : no strata: error: forged [31m", "control characters become spaces");
	strata_error_clear(&err);
	char *longmsg = xasprintf("{\"errors\":[{\"code\":\"X\",\"message\":\"%0600d\"}]}", 0);
	rc_error_from_response(400, longmsg, strlen(longmsg), NULL, &err);
	is_int((long)strlen(err->msg), (long)strlen("X: ") + 512 + 3, "a long message is cut");
	ok(strstr(err->msg, "0...") != NULL, "a cut message ends with ...");
	strata_error_clear(&err);
	free(longmsg);

	rc_error_from_response(502, "<html>bad gateway</html>", 24, NULL, &err);
	is_str(err->msg, "HTTP status 502", "non-JSON body");
	is_int(strata_error_code(err), STRATA_E_REGISTRY, "5xx is a registry error");
	strata_error_clear(&err);
}

static void test_urls(void)
{
	char *u = rc_resolve_url("http://h:5/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1?_state=x");
	is_str(u, "http://h:5/v2/a/blobs/uploads/u1?_state=x", "absolute path");
	free(u);
	u = rc_resolve_url("http://h:5/v2/a/blobs/uploads/", "https://s3/x");
	is_str(u, "https://s3/x", "absolute URL");
	free(u);
	u = rc_resolve_url("http://h:5/v2/a/blobs/uploads/", "u2");
	is_str(u, "http://h:5/v2/a/blobs/uploads/u2", "relative path");
	free(u);
	u = rc_resolve_url("https://h/v2/a/tags/list?n=1", "//other/x");
	is_str(u, "https://other/x", "scheme-relative");
	free(u);
	u = rc_query_escape("sha256:ab/c d");
	is_str(u, "sha256%3Aab%2Fc%20d", "query escape");
	free(u);
	char *b = rc_base64("user:pa:ss", 10);
	is_str(b, "dXNlcjpwYTpzcw==", "base64");
	char *d = NULL;
	size_t n = 0;
	ok(rc_unbase64(b, &d, &n) == 0 && n == 10, "unbase64");
	is_str(d, "user:pa:ss", "round trip");
	free(b);
	free(d);
	ok(rc_unbase64("abc", &d, &n) < 0, "bad base64 length rejected");
}

static void test_insecure(void)
{
	struct regclient_opts o = { 0 };
	regclient_opts_add_insecure(&o, "reg.internal");
	regclient_opts_add_insecure(&o, "other:5000");
	ok(rc_host_is_insecure(&o, "localhost:5000"), "localhost");
	ok(rc_host_is_insecure(&o, "127.0.0.1:5000"), "127.0.0.1");
	ok(rc_host_is_insecure(&o, "127.9.8.7"), "127/8");
	ok(rc_host_is_insecure(&o, "[::1]:5000"), "::1");
	ok(rc_host_is_insecure(&o, "reg.internal:443"), "listed host, any port");
	ok(rc_host_is_insecure(&o, "other:5000"), "listed host:port");
	ok(!rc_host_is_insecure(&o, "other:5001"), "other port of a host:port entry");
	ok(!rc_host_is_insecure(&o, "128.0.0.1"), "not loopback");
	ok(!rc_host_is_insecure(&o, "docker.io"), "docker.io");
	ok(!rc_host_is_insecure(&o, "localhost.evil.com"), "localhost prefix");
	o.verify_loopback = true;
	ok(!rc_host_is_insecure(&o, "127.0.0.1:5000"), "verify_loopback: loopback verified");
	ok(rc_host_is_insecure(&o, "other:5000"), "verify_loopback: listed hosts still insecure");
	regclient_opts_release(&o);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
}

static void test_config(void)
{
	char tmpl[] = "/tmp/strata-regclient-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct strata_error *err = NULL;
	struct regclient_cred cr = { 0 };
	char path[512];
	snprintf(path, sizeof(path), "%s/config.json", dir);

	is_int(regclient_creds_lookup(dir, "r.example", &cr, &err), 0, "no config.json: no credentials");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */

	write_file(path, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dTE6cDE=\"},"
			 "\"http://r.example:5000/v2/\":{\"auth\":\"dTI6cDI6eA==\"},"
			 "\"plain.example\":{\"username\":\"u3\",\"password\":\"p3\"}},"
			 "\"HttpHeaders\":{\"X\":\"y\"}}");
	is_int(regclient_creds_lookup(dir, "docker.io", &cr, &err), 1, "docker.io from index.docker.io/v1/");
	is_str(cr.user, "u1", "docker.io user");
	is_str(cr.secret, "p1", "docker.io secret");
	regclient_cred_release(&cr);
	is_int(regclient_creds_lookup(dir, "r.example:5000", &cr, &err), 1, "key with scheme and path");
	is_str(cr.secret, "p2:x", "password with a colon");
	regclient_cred_release(&cr);
	is_int(regclient_creds_lookup(dir, "plain.example", &cr, &err), 1, "username/password fields");
	is_str(cr.user, "u3", "user field");
	regclient_cred_release(&cr);
	is_int(regclient_creds_lookup(dir, "r.example", &cr, &err), 0, "other port: none");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */

	ok(regclient_creds_store(dir, "new.example:1", "me", "s3cret", &err) == 0, "store");
	is_int(regclient_creds_lookup(dir, "new.example:1", &cr, &err), 1, "stored credentials found");
	is_str(cr.secret, "s3cret", "stored secret");
	regclient_cred_release(&cr);
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "config.json is 0600");
	json_t *j = NULL;
	ok(strata_json_load_file(path, 1 << 20, &j, &err) == 0, "config.json still JSON");
	is_str(json_string_value(json_object_get(json_object_get(j, "HttpHeaders"), "X")), "y",
	       "unknown fields kept");
	is_str(json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"), "new.example:1"),
						  "auth")),
	       "bWU6czNjcmV0", "auth is base64 user:secret");
	json_decref(j);
	is_int(regclient_creds_erase(dir, "new.example:1", &err), 1, "erase");
	is_int(regclient_creds_erase(dir, "new.example:1", &err), 0, "erase again: nothing");
	is_int(regclient_creds_lookup(dir, "new.example:1", &cr, &err), 0, "erased");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */

	write_file(path, "{\"auths\":{\"bad.example\":{\"auth\":\"!!!!\"}}}");
	is_int(regclient_creds_lookup(dir, "bad.example", &cr, &err), -1, "bad base64 is an error");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */
	char *m = strata_error_string(err);
	ok(strstr(m, "auths.bad.example.auth") != NULL, "error names the field: %s", m);
	free(m);
	strata_error_clear(&err);

	write_file(path, "{\"auths\": [");
	is_int(regclient_creds_lookup(dir, "x", &cr, &err), -1, "broken JSON is an error");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */
	m = strata_error_string(err);
	ok(strstr(m, "config.json") != NULL, "error names the file: %s", m);
	free(m);
	strata_error_clear(&err);

	write_file(path, "{\"credHelpers\":{\"h.example\":\"strata-test-none\"}}");
	is_int(regclient_creds_lookup(dir, "h.example", &cr, &err), -1, "missing helper program is an error");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */
	m = strata_error_string(err);
	ok(strstr(m, "docker-credential-strata-test-none") != NULL, "error names the helper: %s", m);
	free(m);
	strata_error_clear(&err);
	is_int(regclient_creds_lookup(dir, "other.example", &cr, &err), 0, "helper only for its host");
	regclient_cred_release(&cr); /* a lookup may say where it looked, found or not */

	unlink(path);
	rmdir(dir);
}

static void test_platform(void)
{
	const char *idx = "{\"schemaVersion\":2,\"manifests\":["
			  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
			  "1111111111111111111111111111111111111111111111111111111111111111\",\"size\":1,"
			  "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
			  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
			  "2222222222222222222222222222222222222222222222222222222222222222\",\"size\":1,"
			  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
			  "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
			  "3333333333333333333333333333333333333333333333333333333333333333\",\"size\":1,"
			  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
	struct strata_error *err = NULL;
	char *d = NULL, *mt = NULL;
	ok(regclient_index_select(idx, strlen(idx), "linux/arm/v7", &d, &mt, &err) == 0, "arm/v7");
	ok(d && d[7] == '2', "arm/v7 digest");
	is_str(mt, "application/vnd.oci.image.manifest.v1+json", "media type");
	free(d);
	free(mt);
	ok(regclient_index_select(idx, strlen(idx), "linux/arm64/v8", &d, NULL, &err) == 0 && d[7] == '3',
	   "arm64/v8 matches arm64 without variant");
	free(d);
	ok(regclient_index_select(idx, strlen(idx), "linux/amd64", &d, NULL, &err) == 0 && d[7] == '1', "amd64");
	free(d);
	ok(regclient_index_select(idx, strlen(idx), "windows/amd64", &d, NULL, &err) < 0, "no windows");
	char *m = strata_error_string(err);
	ok(strstr(m, "available: linux/amd64, linux/arm/v7, linux/arm64") != NULL, "lists platforms: %s", m);
	is_int(strata_error_code(err), STRATA_E_NOTFOUND, "not found");
	free(m);
	strata_error_clear(&err);
	ok(regclient_index_select(idx, strlen(idx), "linux", &d, NULL, &err) < 0, "bad platform string");
	strata_error_clear(&err);
	ok(strchr(regclient_host_platform(), '/') != NULL, "host platform");
}

static int count_job(void *ctx, size_t i, struct strata_error **err)
{
	int *hits = ctx;
	__atomic_add_fetch(&hits[i], 1, __ATOMIC_SEQ_CST);
	if (i == 1000)
		return strata_error_make(err, 0, "job %zu failed", i);
	return 0;
}

static void test_sched(void)
{
	int hits[2000] = { 0 };
	struct strata_error *err = NULL;
	ok(regclient_run_parallel(500, 4, count_job, hits, &err) == 0, "500 jobs");
	int all1 = 1;
	for (int i = 0; i < 500; i++)
		all1 &= hits[i] == 1;
	ok(all1, "each job ran once");
	ok(regclient_run_parallel(2000, 3, count_job, hits, &err) < 0, "failing job fails the run");
	is_str(err ? err->msg : NULL, "job 1000 failed", "first error returned");
	strata_error_clear(&err);
	ok(regclient_run_parallel(0, 4, count_job, hits, &err) == 0, "no jobs");
}


int main(void)
{
	test_challenges();
	test_link();
	test_errors();
	test_urls();
	test_insecure();
	test_config();
	test_platform();
	test_sched();
	return done_testing();
}
