#include "tap.h"
#include "ci/ci.h"

static const char *const *env_table;

static const char *fake_getenv(const char *name)
{
	for (const char *const *e = env_table; e && *e; e += 2)
		if (!strcmp(e[0], name))
			return e[1];
	return NULL;
}

static void check(const char *what, const char *const *env, struct ci_flags flags, const char *want_tag,
		  const char *want_latest, const char *want_err)
{
	struct strata_error *err = NULL;
	struct ci_plan p;
	env_table = env;
	int r = ci_plan_resolve(&flags, fake_getenv, &p, &err);
	if (want_err) {
		char *m = strata_error_string(err);
		ok(r == -1 && strstr(m, want_err) && strata_error_code(err) == STRATA_E_CONFIG, "%s: error '%s'",
		   what, m);
		is_int(ci_exit_code(err), CI_EXIT_CONFIG, "%s: exit code for bad configuration", what);
		free(m);
		strata_error_free(err);
		return;
	}
	if (r < 0) {
		char *m = strata_error_string(err);
		ok(0, "%s: %s", what, m);
		free(m);
		strata_error_free(err);
		return;
	}
	is_str(p.ref_tag, want_tag, "%s: tag ref", what);
	is_str(p.ref_latest, want_latest, "%s: latest ref", what);
	ci_plan_release(&p);
}

int main(void)
{
	static const char *const semaphore[] = { "DOCKER_IMAGE_NAME", "app", "REGISTRY_URL", "127.0.0.1",
						 "REGISTRY_PORT", "5000", "SEMAPHORE_GIT_SHA",
						 "0123456789abcdef0123456789abcdef01234567",
						 "SEMAPHORE_BUILD_NUMBER", "42", NULL };
	check("semaphore: the revision whole, as the explicit form", semaphore, (struct ci_flags){ 0 },
	      "127.0.0.1:5000/app:0123456789abcdef0123456789abcdef01234567_42",
	      "127.0.0.1:5000/app:latest", NULL);

	static const char *const github[] = { "DOCKER_IMAGE_NAME", "team/web", "REGISTRY_URL",
					      "https://registry.example.com:443/", "GITHUB_SHA", "deadbeef",
					      "GITHUB_RUN_NUMBER", "7", NULL };
	check("github", github, (struct ci_flags){ 0 }, "registry.example.com:443/team/web:deadbeef_7",
	      "registry.example.com:443/team/web:latest", NULL);

	static const char *const gitlab[] = { "DOCKER_IMAGE_NAME", "svc", "REGISTRY_URL", "localhost",
					      "REGISTRY_PORT", "5001", "CI_COMMIT_SHA", "abc", "CI_PIPELINE_IID", "9",
					      "REVISION", "ignored", NULL };
	check("gitlab wins over generic", gitlab, (struct ci_flags){ 0 }, "localhost:5001/svc:abc_9",
	      "localhost:5001/svc:latest", NULL);

	static const char *const generic[] = { "DOCKER_IMAGE_NAME", "x", "REVISION", "r1", "BUILD_NUMBER", "5", NULL };
	check("no registry", generic, (struct ci_flags){ 0 }, "docker.io/library/x:r1_5", "docker.io/library/x:latest",
	      NULL);
	static const char *const revonly[] = { "DOCKER_IMAGE_NAME", "x", "REVISION", "r1", NULL };
	check("a revision only is refused", revonly, (struct ci_flags){ 0 }, NULL, NULL,
	      "a revision (from REVISION) but no build number");

	check("flags beat the environment", semaphore,
	      (struct ci_flags){ .image = "other", .registry = "reg.local:6000", .revision = "v1", .build_number = "2" },
	      "reg.local:6000/other:v1_2", "reg.local:6000/other:latest", NULL);

	static const char *const port_in_url[] = { "DOCKER_IMAGE_NAME", "a", "REGISTRY_URL", "127.0.0.1:5000",
						   "REGISTRY_PORT", "6000", "BUILD_NUMBER", "3", "REVISION", "r", NULL };
	check("a port in REGISTRY_URL is kept", port_in_url, (struct ci_flags){ 0 }, "127.0.0.1:5000/a:r_3",
	      "127.0.0.1:5000/a:latest", NULL);
	static const char *const buildonly[] = { "DOCKER_IMAGE_NAME", "a", "GITHUB_RUN_NUMBER", "3", NULL };
	check("a build number only is refused", buildonly, (struct ci_flags){ 0 }, NULL, NULL,
	      "a build number (from GITHUB_RUN_NUMBER) but no revision");

	static const char *const none[] = { NULL };
	check("no image", none, (struct ci_flags){ 0 }, NULL, NULL, "no image name");
	static const char *const norev[] = { "DOCKER_IMAGE_NAME", "a", NULL };
	check("no revision", norev, (struct ci_flags){ 0 }, NULL, NULL, "no revision or build number");
	static const char *const badname[] = { "DOCKER_IMAGE_NAME", "My_App", "REVISION", "1", "BUILD_NUMBER", "1", NULL };
	check("upper-case image", badname, (struct ci_flags){ 0 }, NULL, NULL, "must be lowercase");
	static const char *const badtag[] = { "DOCKER_IMAGE_NAME", "a", "REVISION", "feature/x", "BUILD_NUMBER", "1", NULL };
	check("bad tag", badtag, (struct ci_flags){ 0 }, NULL, NULL, "is not a valid tag");
	static const char *const tagged[] = { "DOCKER_IMAGE_NAME", "a:v1", "REVISION", "1", "BUILD_NUMBER", "1", NULL };
	check("tagged image name", tagged, (struct ci_flags){ 0 }, NULL, NULL, "without a tag");

	/* the cache artifact beside the image: default, flag over env, off, refused */
	struct ci_plan p;
	struct strata_error *ce = NULL;
	env_table = semaphore;
	ok(ci_plan_resolve(&(struct ci_flags){ 0 }, fake_getenv, &p, &ce) == 0, "cache: default plan");
	is_str(p.ref_cache, "127.0.0.1:5000/app:buildcache", "cache: default ref");
	is_str(p.cache_to, "127.0.0.1:5000/app:buildcache,mode=max", "cache: every stage exported");
	ci_plan_release(&p);
	static const char *const envtag[] = { "DOCKER_IMAGE_NAME", "app", "REVISION", "1", "BUILD_NUMBER", "2", "STRATA_CACHE_TAG", "c1", NULL };
	env_table = envtag;
	ok(ci_plan_resolve(&(struct ci_flags){ 0 }, fake_getenv, &p, &ce) == 0, "cache: env plan");
	is_str(p.ref_cache, "docker.io/library/app:c1", "cache: STRATA_CACHE_TAG");
	ci_plan_release(&p);
	ok(ci_plan_resolve(&(struct ci_flags){ .cache_tag = "c2" }, fake_getenv, &p, &ce) == 0, "cache: flag plan");
	is_str(p.ref_cache, "docker.io/library/app:c2", "cache: the flag wins over the environment");
	ci_plan_release(&p);
	ok(ci_plan_resolve(&(struct ci_flags){ .cache_tag = "none" }, fake_getenv, &p, &ce) == 0 && !p.ref_cache &&
		   !p.cache_to && !p.cache_tag,
	   "cache: none turns it off");
	ci_plan_release(&p);
	check("cache tag latest", envtag, (struct ci_flags){ .cache_tag = "latest" }, NULL, NULL, "is the image's tag");
	check("cache tag = the build's tag", envtag, (struct ci_flags){ .cache_tag = "1_2" }, NULL, NULL,
	      "is the image's tag");
	check("bad cache tag", envtag, (struct ci_flags){ .cache_tag = "a/b" }, NULL, NULL, "not a valid tag");

	struct strata_error *e = NULL;
	strata_error_makec(&e, STRATA_E_BUILD, 0, "step failed");
	is_int(ci_exit_code(e), CI_EXIT_BUILD, "build failure exit code");
	strata_error_free(e);
	e = NULL;
	strata_error_makec(&e, STRATA_E_AUTH, 0, "denied");
	strata_error_wrap(&e, "push");
	is_int(ci_exit_code(e), CI_EXIT_AUTH, "auth failure exit code through a wrap");
	strata_error_free(e);
	e = NULL;
	strata_error_makec(&e, STRATA_E_REGISTRY, 0, "503");
	is_int(ci_exit_code(e), CI_EXIT_REGISTRY, "registry failure exit code");
	strata_error_free(e);
	e = NULL;
	strata_error_makec(&e, STRATA_E_INTERRUPTED, 0, "interrupted by signal 2");
	strata_error_wrap(&e, "Dockerfile:2: RUN sleep 20");
	is_int(ci_exit_code(e), 130, "an interrupted job exits 130, as strata build (it was 1)");
	strata_error_free(e);
	return done_testing();
}
