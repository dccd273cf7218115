/*
 * platform.c — choosing a manifest from an image index / manifest list.
 */
#include "registry/client/internal.h"

#include <string.h>
#include <sys/utsname.h>

#include "oci/oci.h"

const char *regclient_host_platform(void)
{
#if defined(__x86_64__)
	return "linux/amd64";
#elif defined(__aarch64__)
	return "linux/arm64/v8";
#elif defined(__arm__)
	return "linux/arm/v7";
#elif defined(__i386__)
	return "linux/386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "linux/ppc64le";
#elif defined(__s390x__)
	return "linux/s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "linux/riscv64";
#else
	return "linux/unknown";
#endif
}

static bool variant_matches(const char *arch, const char *want, const char *have)
{
	if (!want || !*want)
		return true;
	if (have && !strcmp(want, have))
		return true;
	/* arm64 images usually omit the v8 variant */
	return !strcmp(arch, "arm64") && !strcmp(want, "v8") && (!have || !*have);
}

int regclient_index_select(const char *data, size_t len, const char *platform, char **digest_out,
			   char **media_type_out, struct strata_error **err)
{
	if (!platform)
		platform = regclient_host_platform();
	cleanup_free char *p = xstrdup(platform);
	char *os = p, *arch = strchr(p, '/'), *variant = NULL;
	if (!arch || !arch[1])
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid platform '%s': expected os/arch[/variant]",
					  platform);
	*arch++ = 0;
	variant = strchr(arch, '/');
	if (variant)
		*variant++ = 0;
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(data, len, "index", &j, err) < 0)
		return -1;
	json_t *ms = json_object_get(j, "manifests");
	if (!json_is_array(ms))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "index: field 'manifests' must be an array");
	cleanup_buf struct strata_buf avail = STRATA_BUF_INIT;
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m)
	{
		json_t *pl = json_object_get(m, "platform");
		const char *mos = json_string_value(json_object_get(pl, "os"));
		const char *march = json_string_value(json_object_get(pl, "architecture"));
		const char *mvar = json_string_value(json_object_get(pl, "variant"));
		const char *dg = json_string_value(json_object_get(m, "digest"));
		if (!mos || !march || !dg)
			continue;
		strata_buf_addf(&avail, "%s%s/%s%s%s", avail.len ? ", " : "", mos, march, mvar ? "/" : "",
				mvar ? mvar : "");
		if (strcmp(mos, os) || strcmp(march, arch) || !variant_matches(arch, variant, mvar))
			continue;
		if (!oci_digest_valid(dg))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "index: invalid digest '%s'", dg);
		*digest_out = xstrdup(dg);
		if (media_type_out)
			*media_type_out = xstrdup_or_null(json_string_value(json_object_get(m, "mediaType")));
		return 0;
	}
	return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no manifest for platform '%s' (available: %s)",
				  platform, avail.len ? avail.data : "none");
}
