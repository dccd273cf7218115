/*
 * digest.h — OCI content digests, "algorithm:encoded" (image-spec
 * descriptor.md). Grammar:
 *   digest                ::= algorithm ":" encoded
 *   algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
 *   algorithm-component   ::= [a-z0-9]+
 *   algorithm-separator   ::= [+._-]
 *   encoded               ::= [a-zA-Z0-9=_-]+
 * Registered algorithms are enforced: sha256 ([a-f0-9]{64}) and sha512
 * ([a-f0-9]{128}). Grammatically valid digests of other algorithms are
 * rejected as unsupported.
 */
#ifndef STRATA_OCI_DIGEST_H
#define STRATA_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* "sha512:" + 128 hex + NUL */
#define OCI_DIGEST_MAX 136

/* A plain value: copying with `=` is safe (no internal pointers). */
struct oci_digest {
	enum strata_hash_alg alg;
	char str[OCI_DIGEST_MAX];      /* the full "alg:hex" text */
	char hex[STRATA_HASH_HEX_MAX]; /* the encoded part alone */
};

/*
 * Parse and validate s. @return 0, or -1 with an error naming the digest and
 * what is wrong (code STRATA_E_INVALID).
 */
int oci_digest_parse(const char *s, struct oci_digest *out, struct strata_error **err);
/* true when s is a valid, supported digest. */
bool oci_digest_valid(const char *s);
/* true when s is exactly 64 lower-case hex digits (the encoded part of a sha256 digest). */
bool oci_sha256_hex_valid(const char *s);
/* Build from an algorithm and a hex string (trusted input, e.g. a hash result). */
void oci_digest_from_hex(struct oci_digest *out, enum strata_hash_alg alg, const char *hex);
/* Copy a digest (same as assignment; kept for readability at call sites). */
void oci_digest_copy(struct oci_digest *dst, const struct oci_digest *src);
/* sha256 digest of a buffer. */
void oci_digest_of(struct oci_digest *out, const void *p, size_t n);

/*
 * A verifier: hash a stream and compare to an expected digest at the end.
 */
struct oci_verifier {
	struct strata_hash h;
	struct oci_digest want;
};
void oci_verifier_init(struct oci_verifier *v, const struct oci_digest *want);
void oci_verifier_update(struct oci_verifier *v, const void *p, size_t n);
/* Finish; @return 0 when the content matches, -1 with a "digest mismatch" error. */
int oci_verifier_final(struct oci_verifier *v, struct strata_error **err);
void oci_verifier_release(struct oci_verifier *v);

#endif
