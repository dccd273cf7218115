#include "tap.h"
#include "oci/oci.h"

#define D64 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct {
	const char *in;
	const char *full;     /* normalised, NULL = invalid */
	const char *familiar;
} cases[] = {
	/* docker's normalisation */
	{ "busybox", "docker.io/library/busybox:latest", "busybox:latest" },
	{ "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36" },
	{ "library/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
	{ "docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
	{ "index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest" },
	{ "user/app", "docker.io/user/app:latest", "user/app:latest" },
	{ "user/app/sub:v1", "docker.io/user/app/sub:v1", "user/app/sub:v1" },
	{ "localhost/app", "localhost/app:latest", "localhost/app:latest" },
	{ "localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest" },
	{ "127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest" },
	{ "127.0.0.1:5000/x:REV_12", "127.0.0.1:5000/x:REV_12", "127.0.0.1:5000/x:REV_12" },
	{ "[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest" },
	{ "registry.example.com/team/app:1.0", "registry.example.com/team/app:1.0", "registry.example.com/team/app:1.0" },
	{ "Registry.Example.com/app", "Registry.Example.com/app:latest", "Registry.Example.com/app:latest" },
	{ "example.com/app@" D64, "example.com/app@" D64, "example.com/app@" D64 },
	{ "example.com/app:v1@" D64, "example.com/app:v1@" D64, "example.com/app:v1@" D64 },
	{ "busybox@" D64, "docker.io/library/busybox@" D64, "busybox@" D64 },
	{ "a.b-c__d---e/x", NULL, NULL }, /* "_" is not allowed in a host */
	{ "my-reg.local:5000/x--y", "my-reg.local:5000/x--y:latest", "my-reg.local:5000/x--y:latest" },
	{ "docker.io/a_b.c-d__e/f", "docker.io/a_b.c-d__e/f:latest", "a_b.c-d__e/f:latest" },
	{ "example.com:443/app:_tag.-x", "example.com:443/app:_tag.-x", "example.com:443/app:_tag.-x" },
	/* invalid */
	{ "", NULL, NULL },
	{ ":tag", NULL, NULL },
	{ "Busybox", NULL, NULL },
	{ "user/App", NULL, NULL },
	{ "example.com/App:1", NULL, NULL },
	{ "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL, NULL },
	{ "app:", NULL, NULL },
	{ "app:-tag", NULL, NULL },
	{ "app:.tag", NULL, NULL },
	{ "app:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, NULL },
	{ "app@sha256:abc", NULL, NULL },
	{ "app@", NULL, NULL },
	{ "-app", NULL, NULL },
	{ "app-", NULL, NULL },
	{ "a..b", NULL, NULL },
	{ "a___b", NULL, NULL },
	{ "a//b", NULL, NULL },
	{ "a/", NULL, NULL },
	{ "/a", NULL, NULL },
	{ "example.com:port/app", NULL, NULL },
	{ "example.com:/app", NULL, NULL },
	{ "-example.com/app", NULL, NULL },
	{ "example.com/../app", NULL, NULL },
	{ "app name", NULL, NULL },
	{ "localhost:5000/a/b:tag/x", NULL, NULL },
};

int main(void)
{
	struct strata_error *err = NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oci_ref r = OCI_REF_INIT;
		int rc = oci_ref_parse(cases[i].in, &r, &err);
		if (!cases[i].full) {
			char *m = strata_error_string(err);
			ok(rc == -1 && strstr(m, "invalid reference"), "reject '%s': %s", cases[i].in, m);
			free(m);
			strata_error_clear(&err);
			continue;
		}
		if (rc < 0) {
			char *m = strata_error_string(err);
			ok(0, "parse '%s': %s", cases[i].in, m);
			free(m);
			strata_error_clear(&err);
			continue;
		}
		char *full = oci_ref_string(&r), *fam = oci_ref_familiar(&r);
		is_str(full, cases[i].full, "normalise '%s'", cases[i].in);
		is_str(fam, cases[i].familiar, "familiar '%s'", cases[i].in);
		free(full);
		free(fam);
		oci_ref_release(&r);
	}

	/* 255-character name limit: domain + '/' + path */
	char name[300];
	memset(name, 'a', sizeof(name));
	memcpy(name, "example.com/", 12);
	name[255] = '\0';
	struct oci_ref r = OCI_REF_INIT;
	ok(oci_ref_parse(name, &r, &err) == 0, "255-character name accepted");
	oci_ref_release(&r);
	name[255] = 'a';
	name[256] = '\0';
	ok(oci_ref_parse(name, &r, &err) == -1, "256-character name rejected");
	strata_error_clear(&err);

	ok(oci_ref_parse_name("localhost:5000/app", &r, &err) == 0 && r.tag == NULL,
	   "parse_name adds no default tag");
	char *repo = oci_ref_repository(&r);
	is_str(repo, "localhost:5000/app", "repository");
	free(repo);
	oci_ref_release(&r);
	is_str(oci_ref_api_host("docker.io"), "registry-1.docker.io", "docker hub API host");

	ok(oci_repo_path_valid("a/b-c/d.e/f__g"), "path grammar accepts separators");
	ok(!oci_repo_path_valid("a/B"), "path grammar rejects upper case");
	ok(oci_tag_valid("v1.0_rc-1"), "tag grammar");
	ok(!oci_tag_valid("v1/0"), "tag rejects '/'");
	return done_testing();
}
