/*
 * platform.h — an image's platform (os / architecture / variant /
 * os.version / os.features) and matching it against a wanted platform, for
 * choosing a manifest out of an index.
 */
#ifndef STRATA_OCI_PLATFORM_H
#define STRATA_OCI_PLATFORM_H

#include <stdbool.h>

#include "util/util.h"

/* Owned strings; os and architecture never NULL after decode/parse/host. */
struct oci_platform {
	char *os;
	char *architecture;
	char *variant;    /* NULL when absent */
	char *os_version; /* NULL when absent */
};
#define OCI_PLATFORM_INIT { NULL, NULL, NULL, NULL }

/*
 * Decode a "platform" JSON object. `what` names it in errors
 * ("index: manifests[1].platform: missing field 'os'").
 */
int oci_platform_decode(const json_t *j, const char *what, struct oci_platform *out,
			struct strata_error **err);
/* Parse "os/arch[/variant]" (e.g. "linux/arm64/v8"). */
int oci_platform_parse(const char *s, struct oci_platform *out, struct strata_error **err);
/* The platform this binary runs on (linux + GOARCH-style architecture name). */
void oci_platform_host(struct oci_platform *out);
/* GOARCH name of the host ("amd64", "arm64", ...). Static string. */
const char *oci_platform_host_arch(void);
/*
 * Does `have` satisfy `want`? os and architecture must be equal; a wanted
 * variant must equal the candidate's (arm64's absent variant counts as "v8",
 * arm's as "v7"); os_version is compared only when both have one.
 */
bool oci_platform_matches(const struct oci_platform *want, const struct oci_platform *have);
/* "linux/arm64/v8" (newly allocated) */
char *oci_platform_string(const struct oci_platform *p);
void oci_platform_release(struct oci_platform *p);

#endif
