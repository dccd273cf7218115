/* platform.c: native platforms, qemu names, cache key strings, configs' platforms, errors that say why. */
#include "tap.h"
#include "build/build.h"

#include <string.h>

static struct dockerfile_platform P(const char *s)
{
	struct dockerfile_platform p;
	if (dockerfile_platform_parse(s, &p, NULL) < 0)
		memset(&p, 0, sizeof(p));
	return p;
}

static const char *key(const char *s)
{
	static char buf[128];
	struct dockerfile_platform p = P(s);
	return build_platform_key(&p, buf, sizeof(buf));
}

static const char *of_config(const char *json)
{
	static char buf[128];
	json_t *j = json_loads(json, 0, NULL);
	struct dockerfile_platform p;
	const char *r = build_platform_of_config(j, &p) < 0 ? "ERR" : dockerfile_platform_format(&p, buf, sizeof(buf));
	json_decref(j);
	return r;
}

int main(void)
{
	/* the default platform keys as before platforms were keyed whole (t5400's golden keys) */
	is_str(key("linux/amd64"), "amd64", "linux/amd64 keys as its arch");
	is_str(key("linux/arm64/v8"), "arm64", "arm64/v8 is arm64");
	is_str(key("linux/arm/v6"), "linux/arm/v6", "a variant keys the whole platform");
	is_str(key("freebsd/amd64"), "freebsd/amd64", "another OS keys the whole platform");

	is_str(build_platform_qemu_name("arm64"), "aarch64", "arm64 is qemu's aarch64");
	is_str(build_platform_qemu_name("mips64le"), "mips64el", "mips64le is qemu's mips64el");
	is_str(build_platform_qemu_name("386"), "i386", "386 is qemu's i386");
	ok(build_platform_qemu_name("foo64") == NULL, "no qemu for a made-up arch");

	struct dockerfile_platform host;
	dockerfile_platform_host(&host);
	ok(build_platform_native(&host), "the host's platform is native");
	struct dockerfile_platform win = P("windows/amd64");
	ok(!build_platform_native(&win), "another OS is never native");
	if (!strcmp(host.arch, "amd64")) {
		struct dockerfile_platform x = P("linux/386"), a = P("linux/arm64");
		ok(build_platform_native(&x), "386 is native on amd64");
		ok(!build_platform_native(&a), "arm64 is foreign on amd64");
	}

	is_str(of_config("{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}"), "linux/arm64",
	       "a config's arm64/v8 is linux/arm64");
	is_str(of_config("{\"architecture\":\"arm\",\"variant\":\"v7\"}"), "linux/arm/v7", "no os: linux");
	is_str(of_config("{\"os\":\"linux\"}"), "ERR", "no architecture: unknown");

	struct dockerfile_platform a = P("linux/arm64"), b = P("linux/arm64/v8"), c = P("linux/arm/v7");
	ok(build_platform_equal(&a, &b), "arm64 equals arm64/v8");
	ok(!build_platform_equal(&a, &c), "arm64 is not arm/v7");
	struct dockerfile_platform v3 = P("linux/amd64/v3"), plain = P("linux/amd64");
	ok(build_platform_satisfies(&v3, &plain), "an amd64/v3 image does for linux/amd64");
	ok(!build_platform_satisfies(&plain, &v3), "a plain amd64 image does not for linux/amd64/v3");
	ok(!build_platform_satisfies(&c, &a), "arm/v7 does not for arm64");

	/* errors that need no binfmt_misc */
	struct strata_error *err = NULL;
	struct dockerfile_platform made = P("linux/foo64");
	ok(build_platform_ensure(&made, NULL, &err) < 0, "a made-up arch cannot run");
	char *m = strata_error_string(err);
	ok(strstr(m, "platform linux/foo64 cannot run here: no emulator is known for architecture 'foo64'") != NULL,
	   "the error names the arch: %s", m);
	is_int(strata_error_code(err), STRATA_E_CONFIG, "a configuration error");
	free(m);
	strata_error_free(err);
	err = NULL;
	ok(build_platform_ensure(&win, NULL, &err) < 0, "windows cannot run");
	m = strata_error_string(err);
	is_str(m, "platform windows/amd64 cannot run here: only linux images run on this host", "the error says why");
	free(m);
	strata_error_free(err);
	bool emu = true;
	ok(build_platform_ensure(&host, &emu, NULL) == 0 && !emu, "the host's platform runs natively");
	return done_testing();
}
