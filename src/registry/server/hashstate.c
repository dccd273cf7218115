/*
 * hashstate.c — the sha256 of an upload session, whose state between
 * chunks is saved with the session's metadata (so any instance continues
 * the hash where another left it) instead of in one process's memory.
 *
 * OpenSSL's EVP contexts cannot be exported; the low-level SHA256_CTX is a
 * plain structure (deprecated API in OpenSSL 3, still the same code and
 * SHA-NI). The exported form is a tag naming the layout plus the structure;
 * a state of another layout (another build) is refused and the caller
 * re-hashes the bytes from the blob store instead.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "registry/server/internal.h"

#include <openssl/sha.h>
#include <string.h>

#define TAG "sha256-ctx-v1:"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct reg_sha256 *)0)->ctx), "SHA256_CTX fits");

void reg_sha256_init(struct reg_sha256 *h)
{
	memset(h, 0, sizeof(*h));
	SHA256_Init((SHA256_CTX *)(void *)h->ctx);
}

void reg_sha256_update(struct reg_sha256 *h, const void *p, size_t n)
{
	SHA256_Update((SHA256_CTX *)(void *)h->ctx, p, n);
}

void reg_sha256_final(struct reg_sha256 *h, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_Final(md, (SHA256_CTX *)(void *)h->ctx);
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		hex[2 * i] = hx[md[i] >> 4];
		hex[2 * i + 1] = hx[md[i] & 15];
	}
	hex[64] = '\0';
}

size_t reg_sha256_export(const struct reg_sha256 *h, unsigned char out[REG_SHA256_STATE_MAX])
{
	size_t t = strlen(TAG);
	memcpy(out, TAG, t);
	out[t] = (unsigned char)sizeof(SHA256_CTX);
	memcpy(out + t + 1, h->ctx, sizeof(SHA256_CTX));
	return t + 1 + sizeof(SHA256_CTX);
}

int reg_sha256_import(struct reg_sha256 *h, const void *p, size_t n)
{
	size_t t = strlen(TAG);
	const unsigned char *b = p;
	if (!p || n != t + 1 + sizeof(SHA256_CTX) || memcmp(b, TAG, t) || b[t] != sizeof(SHA256_CTX))
		return -1;
	memset(h, 0, sizeof(*h));
	memcpy(h->ctx, b + t + 1, sizeof(SHA256_CTX));
	return 0;
}
