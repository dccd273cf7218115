/*
 * url.c — the --storage s3:// URL and the credentials.
 *
 *   s3://BUCKET?endpoint=URL&region=R[&prefix=P]
 *
 * BUCKET: 3 to 63 of [a-z0-9.-], starting and ending with a letter or
 * digit; endpoint: http:// or https:// host[:port] (no path, no query);
 * region: [a-z0-9-]+; prefix: object key prefix, '/' at either end
 * trimmed, no "." or ".." segment. Unknown or repeated parameters are
 * errors: a typo must not silently change where the blobs go.
 */
#include "s3/s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool s3_is_url(const char *s)
{
	return s && !strncmp(s, "s3://", 5);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* percent-decode [p, p + n). @return the string, or NULL when malformed */
static char *pct_decode(const char *p, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int h = hexval((unsigned char)p[i + 1]), l = hexval((unsigned char)p[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	return out;
}

static bool bucket_valid(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' || b[i] == '-'))
			return false;
	return true;
}

static int bad(struct strata_error **err, const char *url, const char *fmt, const char *what)
{
	return strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': %s%s", url, fmt, what ? what : "");
}

static int check_endpoint(const char *url, const char *e, struct strata_error **err)
{
	const char *host = !strncmp(e, "http://", 7) ? e + 7 : !strncmp(e, "https://", 8) ? e + 8 : NULL;
	if (!host)
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "--storage '%s': endpoint '%s' must start with http:// or https://", url, e);
	if (!*host || *host == '/' || *host == ':')
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': endpoint '%s' has no host", url, e);
	for (const char *p = host; *p; p++) {
		if (*p == '/' && !p[1])
			break; /* one trailing slash is trimmed */
		if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || isspace((unsigned char)*p))
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "--storage '%s': endpoint '%s' must be scheme://host[:port] only "
						  "(no path, query or user)", url, e);
	}
	const char *colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		char *end = NULL;
		long port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && strcmp(end, "/")) || port < 1 || port > 65535)
			return strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': endpoint '%s' has a bad port",
						  url, e);
	}
	return 0;
}

static int check_prefix(const char *url, char **prefix, struct strata_error **err)
{
	char *p = *prefix;
	while (*p == '/')
		memmove(p, p + 1, strlen(p));
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		p[--n] = '\0';
	const char *seg = p;
	while (*seg) {
		const char *slash = strchr(seg, '/');
		size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "--storage '%s': prefix '%s' has an empty, '.' or '..' segment", url, p);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f || seg[i] == '\\')
				return strata_error_makec(err, STRATA_E_USAGE, 0,
							  "--storage '%s': prefix has a control character or '\\'", url);
		seg += len + (slash ? 1 : 0);
	}
	return 0;
}

int s3_url_parse(const char *url, struct s3_config *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!s3_is_url(url))
		return bad(err, url, "expected s3://BUCKET?endpoint=URL&region=R[&prefix=P]", NULL);
	const char *b = url + 5;
	const char *q = strchr(b, '?');
	size_t blen = q ? (size_t)(q - b) : strlen(b);
	if (blen && b[blen - 1] == '/')
		blen--;
	out->bucket = xstrndup(b, blen);
	if (!*out->bucket) {
		bad(err, url, "the bucket is missing (s3://BUCKET?...)", NULL);
		goto fail;
	}
	if (!bucket_valid(out->bucket)) {
		strata_error_makec(err, STRATA_E_USAGE, 0,
				   "--storage '%s': bucket '%s' is not a valid bucket name "
				   "(3-63 of a-z, 0-9, '.', '-')", url, out->bucket);
		goto fail;
	}
	const char *p = q ? q + 1 : "";
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		cleanup_free char *name = xstrndup(p, eq ? (size_t)(eq - p) : len);
		char *value = eq ? pct_decode(eq + 1, len - (size_t)(eq + 1 - p)) : NULL;
		char **slot = !strcmp(name, "endpoint") ? &out->endpoint
			    : !strcmp(name, "region") ? &out->region
			    : !strcmp(name, "prefix") ? &out->prefix : NULL;
		if (!slot) {
			free(value);
			strata_error_makec(err, STRATA_E_USAGE, 0,
					   "--storage '%s': unknown parameter '%s' (endpoint, region, prefix)", url, name);
			goto fail;
		}
		if (!eq || !value) {
			free(value);
			strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': parameter '%s' needs a %svalue",
					   url, name, eq ? "well-encoded " : "");
			goto fail;
		}
		if (*slot) {
			free(value);
			strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': parameter '%s' given twice", url,
					   name);
			goto fail;
		}
		*slot = value;
		p += len + (amp ? 1 : 0);
	}
	if (!out->endpoint || !*out->endpoint) {
		bad(err, url, "endpoint is required (endpoint=http://HOST:PORT)", NULL);
		goto fail;
	}
	if (check_endpoint(url, out->endpoint, err) < 0)
		goto fail;
	size_t el = strlen(out->endpoint);
	if (out->endpoint[el - 1] == '/')
		out->endpoint[el - 1] = '\0';
	if (!out->region || !*out->region) {
		bad(err, url, "region is required (region=us-east-1, or the region your endpoint expects)", NULL);
		goto fail;
	}
	for (const char *r = out->region; *r; r++)
		if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-')) {
			strata_error_makec(err, STRATA_E_USAGE, 0, "--storage '%s': region '%s' may hold a-z, 0-9 and '-' only",
					   url, out->region);
			goto fail;
		}
	if (!out->prefix)
		out->prefix = xstrdup("");
	if (check_prefix(url, &out->prefix, err) < 0)
		goto fail;
	return 0;
fail:
	s3_config_release(out);
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int s3_credentials_parse(const char *text, const char *path, const char *profile, struct s3_config *c,
			 struct strata_error **err)
{
	cleanup_free char *copy = xstrdup(text);
	bool in = false, found = false;
	unsigned lineno = 0;
	char *save = NULL, *ak = NULL, *sk = NULL, *tok = NULL;
	for (char *line = copy; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *close = strchr(l, ']');
			if (!close) {
				strata_error_makec(err, STRATA_E_INVALID, 0, "%s:%u: section header without ']'", path,
						   lineno);
				goto fail;
			}
			*close = '\0';
			char *name = trim(l + 1);
			if (!strncmp(name, "profile ", 8))
				name = trim(name + 8);
			in = !strcmp(name, profile);
			found |= in;
			continue;
		}
		if (!in)
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			strata_error_makec(err, STRATA_E_INVALID, 0, "%s:%u: expected KEY = VALUE", path, lineno);
			goto fail;
		}
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		char **slot = !strcmp(k, "aws_access_key_id") ? &ak
			    : !strcmp(k, "aws_secret_access_key") ? &sk
			    : !strcmp(k, "aws_session_token") ? &tok : NULL;
		if (slot) {
			free(*slot);
			*slot = xstrdup(v);
		}
	}
	if (!found) {
		free(ak), free(sk), free(tok);
		return 0;
	}
	if (!ak || !*ak || !sk || !*sk) {
		strata_error_makec(err, STRATA_E_INVALID, 0, "%s: profile '%s' lacks %s", path, profile,
				   !ak || !*ak ? "aws_access_key_id" : "aws_secret_access_key");
		goto fail;
	}
	free(c->access_key), free(c->secret_key), free(c->session_token);
	c->access_key = ak;
	c->secret_key = sk;
	c->session_token = tok;
	return 1;
fail:
	free(ak), free(sk), free(tok);
	return -1;
}

int s3_credentials_load(struct s3_config *c, struct strata_error **err)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (ak && *ak && sk && *sk) {
		c->access_key = xstrdup(ak);
		c->secret_key = xstrdup(sk);
		const char *tok = getenv("AWS_SESSION_TOKEN");
		c->session_token = tok && *tok ? xstrdup(tok) : NULL;
		return 0;
	}
	if ((ak && *ak) != (sk && *sk))
		return strata_error_makec(err, STRATA_E_USAGE, 0, "%s is set but %s is not",
					  ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
					  ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	cleanup_free char *path = NULL;
	if (file && *file) {
		path = xstrdup(file);
	} else {
		const char *home = getenv("HOME");
		path = xasprintf("%s/.aws/credentials", home && *home ? home : "/");
	}
	const char *profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	struct strata_buf buf = STRATA_BUF_INIT;
	struct strata_error *e = NULL;
	if (strata_read_file(path, &buf, 1 << 20, &e) < 0) {
		int no = strata_error_errnum(e);
		strata_error_free(e);
		if (no == ENOENT)
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
						  "or write profile '%s' in %s", profile, path);
		return strata_error_make(err, no, "read S3 credentials '%s'", path);
	}
	size_t len = 0;
	cleanup_free char *text = strata_buf_detach(&buf, &len);
	if (memchr(text, '\0', len))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: not a text file", path);
	int r = s3_credentials_parse(text, path, profile, c, err);
	if (r < 0)
		return -1;
	if (!r)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "%s: no profile '%s' (AWS_PROFILE)", path, profile);
	return 0;
}

void s3_config_release(struct s3_config *c)
{
	free(c->bucket);
	free(c->endpoint);
	free(c->region);
	free(c->prefix);
	free(c->access_key);
	if (c->secret_key)
		memset(c->secret_key, 0, strlen(c->secret_key));
	free(c->secret_key);
	free(c->session_token);
	memset(c, 0, sizeof(*c));
}
