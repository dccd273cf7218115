/*
 * reference.h — image references "[host[:port]/]path[:tag][@digest]",
 * parsed and normalised as docker does (distribution/reference):
 *
 *   busybox                 -> docker.io/library/busybox:latest
 *   user/app:1              -> docker.io/user/app:1
 *   localhost:5000/a/b      -> localhost:5000/a/b:latest
 *   127.0.0.1:5000/x@sha256:... (digest only: no tag is added)
 *
 * The first path component is a registry host when it contains '.' or ':',
 * is "localhost", or has upper-case letters; otherwise the host is docker.io.
 * "index.docker.io" is normalised to "docker.io"; single-component docker.io
 * names get "library/". The repository path follows the distribution spec
 * grammar  [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 * the tag  [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, and "host/path" is at most 255
 * characters.
 */
#ifndef STRATA_OCI_REFERENCE_H
#define STRATA_OCI_REFERENCE_H

#include <stdbool.h>

#include "util/util.h"

#define OCI_DEFAULT_DOMAIN "docker.io"
#define OCI_NAME_MAX 255
#define OCI_TAG_MAX 128

struct oci_ref {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" — never NULL after parse */
	char *path;   /* "library/busybox" — never NULL after parse */
	char *tag;    /* NULL when absent (only possible with a digest) */
	char *digest; /* "sha256:..." or NULL */
};

#define OCI_REF_INIT { NULL, NULL, NULL, NULL }

/*
 * Parse and normalise s. When neither tag nor digest is given, the tag is
 * "latest". @return 0, or -1 with an error quoting s and saying what is wrong
 * (code STRATA_E_INVALID). *out is left released on failure.
 */
int oci_ref_parse(const char *s, struct oci_ref *out, struct strata_error **err);
/* As oci_ref_parse, but no default tag is added (for "repository only" uses). */
int oci_ref_parse_name(const char *s, struct oci_ref *out, struct strata_error **err);

void oci_ref_release(struct oci_ref *r);
void oci_ref_copy(struct oci_ref *dst, const struct oci_ref *src);
/* Replace the tag (NULL removes it). */
void oci_ref_set_tag(struct oci_ref *r, const char *tag);

/* "docker.io/library/busybox:latest@sha256:..." (newly allocated) */
char *oci_ref_string(const struct oci_ref *r);
/* "busybox:latest" — docker's short form (newly allocated) */
char *oci_ref_familiar(const struct oci_ref *r);
/* "docker.io/library/busybox" (newly allocated) */
char *oci_ref_repository(const struct oci_ref *r);
/* The host to talk to for domain: docker.io -> "registry-1.docker.io". Static or domain itself. */
const char *oci_ref_api_host(const char *domain);

bool oci_repo_path_valid(const char *path);
bool oci_tag_valid(const char *tag);

static inline void oci_ref_releasep(struct oci_ref *r) { oci_ref_release(r); }
#define cleanup_ref __attribute__((cleanup(oci_ref_releasep)))

#endif
