/* fuzz_oci_models.c — the manifest / index / config decoders on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error *err = NULL;
	struct oci_manifest m;
	struct oci_index x;
	struct oci_config c;
	size_t len;
	if (oci_manifest_decode((const char *)data, size, "manifest", &m, &err) == 0) {
		free(oci_manifest_encode(&m, &len));
		oci_manifest_release(&m);
	}
	strata_error_clear(&err);
	if (oci_index_decode((const char *)data, size, "index", &x, &err) == 0) {
		struct oci_platform p;
		oci_platform_host(&p);
		(void)oci_index_select(&x, &p);
		oci_platform_release(&p);
		oci_index_release(&x);
	}
	strata_error_clear(&err);
	if (oci_config_decode((const char *)data, size, "config", &c, &err) == 0)
		oci_config_release(&c);
	strata_error_clear(&err);
	return 0;
}
