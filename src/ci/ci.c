#include "ci/ci.h"
#include "oci/oci.h"

#include <ctype.h>
#include <string.h>

static const char *first(const char *(*get)(const char *), const char *flag, const char *const *names,
			 const char **from)
{
	if (flag && *flag) {
		*from = "flag";
		return flag;
	}
	for (; *names; names++) {
		const char *v = get(*names);
		if (v && *v) {
			*from = *names;
			return v;
		}
	}
	*from = NULL;
	return NULL;
}

/* "https://reg.example.com:5000/" -> "reg.example.com:5000" */
static char *clean_registry(const char *url, const char *port)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/");
	char *host = xstrndup(p, n);
	const char *colon = strrchr(host, ':');
	bool has_port = colon && !strchr(colon, ']');
	if (port && *port && !has_port) {
		char *r = xasprintf("%s:%s", host, port);
		free(host);
		return r;
	}
	return host;
}

int ci_cache_tag(const char *flag, const char *(*get)(const char *), const char **tag, struct strata_error **err)
{
	static const char *const vars[] = { "STRATA_CACHE_TAG", NULL };
	const char *from = NULL;
	const char *t = first(get, flag, vars, &from);
	*tag = NULL;
	if (!t)
		t = CI_CACHE_TAG_DEFAULT;
	if (!strcmp(t, "none"))
		return 0;
	if (!oci_tag_valid(t) || !strcmp(t, "latest"))
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "cache tag '%s' (from %s): %s", t, from ? from : "default",
					  strcmp(t, "latest") ? "not a valid tag" : "'latest' is the image's tag");
	*tag = t;
	return 0;
}

int ci_plan_resolve(const struct ci_flags *flags, const char *(*get)(const char *name),
		    struct ci_plan *out, struct strata_error **err)
{
	static const char *const image_vars[] = { "DOCKER_IMAGE_NAME", NULL };
	static const char *const registry_vars[] = { "REGISTRY_URL", NULL };
	static const char *const rev_vars[] = { "SEMAPHORE_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA", "REVISION", NULL };
	static const char *const build_vars[] = { "SEMAPHORE_BUILD_NUMBER", "GITHUB_RUN_NUMBER", "CI_PIPELINE_IID",
						  "BUILD_NUMBER", NULL };
	memset(out, 0, sizeof(*out));
	const char *image = first(get, flags->image, image_vars, &out->image_from);
	const char *registry = first(get, flags->registry, registry_vars, &out->registry_from);
	const char *rev = first(get, flags->revision, rev_vars, &out->revision_from);
	const char *build = first(get, flags->build_number, build_vars, &out->build_from);
	if (!image)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "no image name: set DOCKER_IMAGE_NAME or pass --image");
	/* one rule for every form (docs/ci.md): <revision>_<build number>, the
	 * revision exactly as given (a 40-character git SHA whole), both needed */
	if (!rev && !build)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "no revision or build number: pass --revision/--build-number or set one of "
					  "SEMAPHORE_GIT_SHA, GITHUB_SHA, CI_COMMIT_SHA, REVISION, SEMAPHORE_BUILD_NUMBER, "
					  "GITHUB_RUN_NUMBER, CI_PIPELINE_IID, BUILD_NUMBER");
	if (!build)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "a revision (from %s) but no build number: the tag is REVISION_BUILD; pass "
					  "--build-number or set one of SEMAPHORE_BUILD_NUMBER, GITHUB_RUN_NUMBER, "
					  "CI_PIPELINE_IID, BUILD_NUMBER",
					  out->revision_from);
	if (!rev)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "a build number (from %s) but no revision: the tag is REVISION_BUILD; pass "
					  "--revision or set one of SEMAPHORE_GIT_SHA, GITHUB_SHA, CI_COMMIT_SHA, REVISION",
					  out->build_from);
	cleanup_free char *tag = xasprintf("%s_%s", rev, build);
	if (!oci_tag_valid(tag))
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "tag '%s' (from %s%s%s) is not a valid tag", tag,
					  out->revision_from ? out->revision_from : "",
					  out->revision_from && out->build_from ? " and " : "",
					  out->build_from ? out->build_from : "");
	cleanup_free char *reg = registry ? clean_registry(registry, get("REGISTRY_PORT")) : NULL;
	cleanup_free char *name = reg ? xasprintf("%s/%s", reg, image) : xstrdup(image);
	struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse_name(name, &r, err) < 0) {
		strata_error_set_code(err, STRATA_E_CONFIG);
		return strata_error_wrap(err, "image '%s'", name);
	}
	if (r.tag || r.digest) {
		oci_ref_release(&r);
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "image '%s' must be a repository without a tag or digest", name);
	}
	out->repository = oci_ref_repository(&r);
	oci_ref_release(&r);
	out->registry = reg ? xstrdup(reg) : NULL;
	out->tag = STRATA_STEAL(tag);
	out->ref_tag = xasprintf("%s:%s", out->repository, out->tag);
	out->ref_latest = xasprintf("%s:latest", out->repository);
	const char *ct = NULL;
	if (ci_cache_tag(flags->cache_tag, get, &ct, err) < 0)
		return -1;
	if (ct && !strcmp(ct, out->tag))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "cache tag '%s' is the image's tag", ct);
	if (ct) {
		out->cache_tag = xstrdup(ct);
		out->ref_cache = xasprintf("%s:%s", out->repository, ct);
		out->cache_to = xasprintf("%s,mode=max", out->ref_cache);
	}
	return 0;
}

void ci_plan_release(struct ci_plan *p)
{
	free(p->repository);
	free(p->tag);
	free(p->ref_tag);
	free(p->ref_latest);
	free(p->registry);
	free(p->cache_tag);
	free(p->ref_cache);
	free(p->cache_to);
	memset(p, 0, sizeof(*p));
}

int ci_exit_code(const struct strata_error *e)
{
	switch (strata_error_code(e)) {
	case STRATA_E_USAGE: return CI_EXIT_USAGE;
	case STRATA_E_BUILD: return CI_EXIT_BUILD;
	case STRATA_E_AUTH: return CI_EXIT_AUTH;
	case STRATA_E_REGISTRY: return CI_EXIT_REGISTRY;
	case STRATA_E_CONFIG:
	case STRATA_E_NOTFOUND: /* a base image the registry does not have */
	case STRATA_E_INVALID: return CI_EXIT_CONFIG;
	case STRATA_E_INTERRUPTED: return CI_EXIT_INTERRUPTED;
	default: return CI_EXIT_FAIL;
	}
}
