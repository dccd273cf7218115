#include "oci/digest.h"

#include <string.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_encoded_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '=' || c == '_' || c == '-';
}

static bool is_lower_hex(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

static int bad(struct strata_error **err, const char *s, const char *why)
{
	return strata_error_makec(err, STRATA_E_INVALID, 0, "invalid digest '%s': %s", s, why);
}

int oci_digest_parse(const char *s, struct oci_digest *out, struct strata_error **err)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		return bad(err, s, "missing ':' between algorithm and encoded part");
	size_t alen = (size_t)(colon - s);
	if (alen == 0)
		return bad(err, s, "empty algorithm");
	/* algorithm grammar: components of [a-z0-9]+ separated by one of [+._-] */
	bool prev_sep = true;
	for (size_t i = 0; i < alen; i++) {
		char c = s[i];
		if (is_lower_alnum(c)) {
			prev_sep = false;
		} else if (c == '+' || c == '.' || c == '_' || c == '-') {
			if (prev_sep)
				return bad(err, s, "malformed algorithm");
			prev_sep = true;
		} else {
			return bad(err, s, "malformed algorithm");
		}
	}
	if (prev_sep)
		return bad(err, s, "malformed algorithm");
	const char *enc = colon + 1;
	size_t elen = strlen(enc);
	if (elen == 0)
		return bad(err, s, "empty encoded part");
	for (size_t i = 0; i < elen; i++)
		if (!is_encoded_char(enc[i]))
			return bad(err, s, "invalid character in encoded part");

	enum strata_hash_alg alg;
	if (alen == 6 && !memcmp(s, "sha256", 6))
		alg = STRATA_HASH_SHA256;
	else if (alen == 6 && !memcmp(s, "sha512", 6))
		alg = STRATA_HASH_SHA512;
	else
		return bad(err, s, "unsupported digest algorithm");
	size_t want = strata_hash_hex_len(alg);
	if (elen != want)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "invalid digest '%s': %s needs %zu hex characters, got %zu", s,
					  strata_hash_alg_name(alg), want, elen);
	for (size_t i = 0; i < elen; i++)
		if (!is_lower_hex(enc[i]))
			return bad(err, s, "encoded part must be lower-case hex");
	if (out) {
		memcpy(out->str, s, alen + 1 + elen + 1);
		out->alg = alg;
		memcpy(out->hex, enc, elen + 1);
	}
	return 0;
}

bool oci_digest_valid(const char *s)
{
	return oci_digest_parse(s, NULL, NULL) == 0;
}

bool oci_sha256_hex_valid(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

void oci_digest_from_hex(struct oci_digest *out, enum strata_hash_alg alg, const char *hex)
{
	const char *name = strata_hash_alg_name(alg);
	size_t nl = strlen(name), hl = strlen(hex);
	if (hl > strata_hash_hex_len(alg))
		hl = strata_hash_hex_len(alg);
	memcpy(out->str, name, nl);
	out->str[nl] = ':';
	memcpy(out->str + nl + 1, hex, hl);
	out->str[nl + 1 + hl] = '\0';
	out->alg = alg;
	memcpy(out->hex, hex, hl);
	out->hex[hl] = '\0';
}

void oci_digest_of(struct oci_digest *out, const void *p, size_t n)
{
	char hex[65];
	strata_sha256_hex(p, n, hex);
	oci_digest_from_hex(out, STRATA_HASH_SHA256, hex);
}

void oci_verifier_init(struct oci_verifier *v, const struct oci_digest *want)
{
	v->want = *want;
	strata_hash_init(&v->h, want->alg);
}

void oci_verifier_update(struct oci_verifier *v, const void *p, size_t n)
{
	strata_hash_update(&v->h, p, n);
}

int oci_verifier_final(struct oci_verifier *v, struct strata_error **err)
{
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&v->h, hex);
	if (strcmp(hex, v->want.hex) != 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "digest mismatch: expected %s, content has %s:%s", v->want.str,
					  strata_hash_alg_name(v->want.alg), hex);
	return 0;
}

void oci_verifier_release(struct oci_verifier *v)
{
	strata_hash_release(&v->h);
}

void oci_digest_copy(struct oci_digest *dst, const struct oci_digest *src)
{
	if (dst == src)
		return;
	*dst = *src;
}
