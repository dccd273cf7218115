/*
 * hash.h — streaming sha256 / sha512 through OpenSSL EVP (SHA-NI where the
 * CPU has it). The digest algorithms of OCI.
 */
#ifndef STRATA_UTIL_HASH_H
#define STRATA_UTIL_HASH_H

#include <stddef.h>

enum strata_hash_alg {
	STRATA_HASH_SHA256 = 0,
	STRATA_HASH_SHA512 = 1,
};

/* Longest hex digest (sha512) plus NUL. */
#define STRATA_HASH_HEX_MAX 129

struct strata_hash {
	void *ctx;  /* EVP_MD_CTX */
	enum strata_hash_alg alg;
};

/* Start a hash. Aborts only if OpenSSL cannot allocate. */
void strata_hash_init(struct strata_hash *h, enum strata_hash_alg alg);
void strata_hash_update(struct strata_hash *h, const void *p, size_t n);
/*
 * Finish: writes the lower-case hex digest (64 or 128 chars + NUL) into hex,
 * which must hold STRATA_HASH_HEX_MAX bytes, and releases the context.
 */
void strata_hash_final(struct strata_hash *h, char hex[STRATA_HASH_HEX_MAX]);
/* Release without finishing (error paths). Safe after final. */
void strata_hash_release(struct strata_hash *h);
/* "sha256" / "sha512" */
const char *strata_hash_alg_name(enum strata_hash_alg alg);
/* hex length of the algorithm's digest (64 / 128) */
size_t strata_hash_hex_len(enum strata_hash_alg alg);

/* One-shot sha256 of a buffer into hex (65 bytes). */
void strata_sha256_hex(const void *p, size_t n, char hex[65]);

#endif
