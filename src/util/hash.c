#include "util/hash.h"
#include "util/xalloc.h"

#include <openssl/evp.h>
#include <stdio.h>

static const EVP_MD *md_of(enum strata_hash_alg alg)
{
	return alg == STRATA_HASH_SHA512 ? EVP_sha512() : EVP_sha256();
}

void strata_hash_init(struct strata_hash *h, enum strata_hash_alg alg)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, md_of(alg), NULL) != 1)
		strata_oom();
	h->ctx = ctx;
	h->alg = alg;
}

void strata_hash_update(struct strata_hash *h, const void *p, size_t n)
{
	if (n)
		EVP_DigestUpdate(h->ctx, p, n);
}

void strata_hash_final(struct strata_hash *h, char hex[STRATA_HASH_HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const char digits[] = "0123456789abcdef";
	EVP_DigestFinal_ex(h->ctx, md, &len);
	for (unsigned int i = 0; i < len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * len] = '\0';
	strata_hash_release(h);
}

void strata_hash_release(struct strata_hash *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

const char *strata_hash_alg_name(enum strata_hash_alg alg)
{
	return alg == STRATA_HASH_SHA512 ? "sha512" : "sha256";
}

size_t strata_hash_hex_len(enum strata_hash_alg alg)
{
	return alg == STRATA_HASH_SHA512 ? 128 : 64;
}

void strata_sha256_hex(const void *p, size_t n, char hex[65])
{
	struct strata_hash h;
	char out[STRATA_HASH_HEX_MAX];
	strata_hash_init(&h, STRATA_HASH_SHA256);
	strata_hash_update(&h, p, n);
	strata_hash_final(&h, out);
	for (int i = 0; i < 65; i++)
		hex[i] = out[i];
}
