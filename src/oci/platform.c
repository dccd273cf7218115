#include "oci/platform.h"

#include <string.h>

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void oci_platform_release(struct oci_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	free(p->os_version);
	*p = (struct oci_platform)OCI_PLATFORM_INIT;
}

int oci_platform_decode(const json_t *j, const char *what, struct oci_platform *out,
			struct strata_error **err)
{
	const char *os = NULL, *arch = NULL, *variant = NULL, *osv = NULL;
	json_t *feat = NULL;
	*out = (struct oci_platform)OCI_PLATFORM_INIT;
	if (strata_json_get_string(j, "os", true, what, &os, err) < 0 ||
	    strata_json_get_string(j, "architecture", true, what, &arch, err) < 0 ||
	    strata_json_get_string(j, "variant", false, what, &variant, err) < 0 ||
	    strata_json_get_string(j, "os.version", false, what, &osv, err) < 0 ||
	    strata_json_get_array(j, "os.features", false, what, &feat, err) < 0)
		return -1;
	if (!*os || !*arch)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: os and architecture must not be empty",
					  what);
	out->os = xstrdup(os);
	out->architecture = xstrdup(arch);
	out->variant = dup_or_null(variant);
	out->os_version = dup_or_null(osv);
	return 0;
}

int oci_platform_parse(const char *s, struct oci_platform *out, struct strata_error **err)
{
	*out = (struct oci_platform)OCI_PLATFORM_INIT;
	const char *a = strchr(s, '/');
	if (!a || a == s || !a[1] || a[1] == '/')
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "invalid platform '%s': expected os/arch[/variant]", s);
	const char *v = strchr(a + 1, '/');
	if (v && (!v[1] || strchr(v + 1, '/')))
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "invalid platform '%s': expected os/arch[/variant]", s);
	out->os = xstrndup(s, (size_t)(a - s));
	out->architecture = v ? xstrndup(a + 1, (size_t)(v - a - 1)) : xstrdup(a + 1);
	out->variant = v ? xstrdup(v + 1) : NULL;
	return 0;
}

const char *oci_platform_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

void oci_platform_host(struct oci_platform *out)
{
	*out = (struct oci_platform)OCI_PLATFORM_INIT;
	out->os = xstrdup("linux");
	out->architecture = xstrdup(oci_platform_host_arch());
#if defined(__aarch64__)
	out->variant = xstrdup("v8");
#endif
}

static const char *norm_variant(const struct oci_platform *p)
{
	if (p->variant)
		return p->variant;
	if (!strcmp(p->architecture, "arm64"))
		return "v8";
	if (!strcmp(p->architecture, "arm"))
		return "v7";
	return NULL;
}

bool oci_platform_matches(const struct oci_platform *want, const struct oci_platform *have)
{
	if (!want->os || !have->os || strcmp(want->os, have->os))
		return false;
	if (!want->architecture || !have->architecture || strcmp(want->architecture, have->architecture))
		return false;
	const char *wv = norm_variant(want), *hv = norm_variant(have);
	if (wv && (!hv || strcmp(wv, hv)))
		return false;
	if (want->os_version && have->os_version && strcmp(want->os_version, have->os_version))
		return false;
	return true;
}

char *oci_platform_string(const struct oci_platform *p)
{
	if (p->variant)
		return xasprintf("%s/%s/%s", p->os, p->architecture, p->variant);
	return xasprintf("%s/%s", p->os, p->architecture);
}
