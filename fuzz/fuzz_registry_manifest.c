/* libFuzzer harness: the registry's validation of pushed manifests. */
#include "registry/server/internal.h"

#include <stddef.h>
#include <stdint.h>

static const char *const types[] = {
	NULL,
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
	"application/json",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct reg_manifest m;
	char *why = NULL;
	const char *ct = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (reg_manifest_parse((const char *)data + 1, size - 1, ct, &m, &why) == 0)
		reg_manifest_release(&m);
	free(why);
	return 0;
}
