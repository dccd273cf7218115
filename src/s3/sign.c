/*
 * sign.c — the parts of AWS Signature Version 4 that are done here:
 *
 *   URI encoding (RFC 3986 unreserved characters kept, the rest %XX with
 *   upper-case hex; '/' kept in paths) and the canonical query string
 *   (encoded names and values, sorted, "name=" for an empty value): libcurl
 *   7.88's CURLOPT_AWS_SIGV4 signs the query as it is in the URL, so the URL
 *   carries the canonical form;
 *
 *   query-string presigning (curl cannot presign): the canonical request
 *   GET, path, query, "host:HOST", "host", UNSIGNED-PAYLOAD; the string to
 *   sign; the key derivation AWS4+secret -> date -> region -> s3 ->
 *   aws4_request, each step HMAC-SHA256 (libcrypto).
 */
#include "s3/s3.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

char *s3_uri_encode(const char *s, bool keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hx[*p >> 4];
			*o++ = hx[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

struct enc_param {
	char *name, *value;
};

static int cmp_param(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

char *s3_canonical_query(const struct s3_param *p, size_t n)
{
	struct enc_param *e = xcalloc(n ? n : 1, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		e[i].name = s3_uri_encode(p[i].name, false);
		e[i].value = s3_uri_encode(p[i].value ? p[i].value : "", false);
	}
	qsort(e, n, sizeof(*e), cmp_param);
	struct strata_buf b = STRATA_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		strata_buf_addf(&b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
		free(e[i].name);
		free(e[i].value);
	}
	free(e);
	return strata_buf_detach(&b, NULL);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int len = 32;
	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
	hex(md, 32, out);
}

char *s3_presign(const char *method, const char *scheme, const char *host, const char *path,
		 const char *region, const char *access_key, const char *secret_key,
		 const char *session_token, time_t t, unsigned expires)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	char amz_date[32], date[16], exp[16];
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	snprintf(exp, sizeof(exp), "%u", expires);
	cleanup_free char *scope = xasprintf("%s/%s/s3/aws4_request", date, region);
	cleanup_free char *cred = xasprintf("%s/%s", access_key, scope);
	struct s3_param p[6] = {
		{ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
		{ "X-Amz-Credential", cred },
		{ "X-Amz-Date", amz_date },
		{ "X-Amz-Expires", exp },
		{ "X-Amz-SignedHeaders", "host" },
		{ "X-Amz-Security-Token", session_token },
	};
	cleanup_free char *query = s3_canonical_query(p, session_token ? 6 : 5);
	cleanup_free char *creq = xasprintf("%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", method, path, query,
					    host);
	char creq_hash[65];
	sha256_hex(creq, creq_hash);
	cleanup_free char *sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
	cleanup_free char *k0 = xasprintf("AWS4%s", secret_key);
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	hmac(k0, strlen(k0), date, k1);
	hmac(k1, 32, region, k2);
	hmac(k2, 32, "s3", k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts, sig);
	memset(k0, 0, strlen(k0));
	char sighex[65];
	hex(sig, 32, sighex);
	return xasprintf("%s://%s%s?%s&X-Amz-Signature=%s", scheme, host, path, query, sighex);
}
