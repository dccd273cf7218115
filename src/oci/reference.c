#include "oci/reference.h"
#include "oci/digest.h"

#include <ctype.h>
#include <string.h>

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* one path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* over [s, s+n) */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		/* separator */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !lower_alnum(s[i]))
			return false;
	}
	return true;
}

bool oci_repo_path_valid(const char *path)
{
	const char *p = path;
	if (!*p)
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!path_component_valid(p, n))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

bool oci_tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > OCI_TAG_MAX || !word_char(tag[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!word_char(tag[i]) && tag[i] != '.' && tag[i] != '-')
			return false;
	return true;
}

/* domain-component: [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* host [':' port] where host is a domain name, IPv4 (a domain name too) or [IPv6] */
static bool domain_valid(const char *d)
{
	const char *end = d + strlen(d);
	const char *host_end;
	if (*d == '[') {
		const char *close = strchr(d, ']');
		if (!close || close == d + 1)
			return false;
		for (const char *c = d + 1; c < close; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':')
				return false;
		host_end = close + 1;
	} else {
		host_end = strchr(d, ':');
		if (!host_end)
			host_end = end;
		const char *c = d;
		for (;;) {
			const char *dot = memchr(c, '.', (size_t)(host_end - c));
			const char *ce = dot ? dot : host_end;
			if (!domain_component_valid(c, (size_t)(ce - c)))
				return false;
			if (!dot)
				break;
			c = dot + 1;
		}
	}
	if (host_end == end)
		return true;
	if (*host_end != ':' || host_end + 1 == end)
		return false;
	for (const char *c = host_end + 1; c < end; c++)
		if (!isdigit((unsigned char)*c))
			return false;
	return true;
}

void oci_ref_release(struct oci_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	r->domain = r->path = r->tag = r->digest = NULL;
}

static int ref_bad(struct strata_error **err, const char *s, const char *why)
{
	return strata_error_makec(err, STRATA_E_INVALID, 0, "invalid reference '%s': %s", s, why);
}

static int parse(const char *s, bool default_tag, struct oci_ref *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!*s)
		return ref_bad(err, s, "repository name must have at least one component");
	if (oci_sha256_hex_valid(s))
		return ref_bad(err, s, "cannot specify 64-byte hexadecimal strings");

	cleanup_free char *work = xstrdup(s);
	char *digest = NULL;
	char *at = strchr(work, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (oci_digest_parse(digest, NULL, err) < 0)
			return strata_error_wrap(err, "invalid reference '%s'", s);
	}

	/* split domain (docker's splitDockerDomain) */
	const char *domain = OCI_DEFAULT_DOMAIN;
	char *remainder = work;
	char *slash = strchr(work, '/');
	if (slash) {
		size_t n = (size_t)(slash - work);
		bool looks_like_host = memchr(work, '.', n) || memchr(work, ':', n) ||
				       (n == 9 && !memcmp(work, "localhost", 9));
		for (size_t i = 0; i < n && !looks_like_host; i++)
			if (isupper((unsigned char)work[i]))
				looks_like_host = true;
		if (looks_like_host) {
			*slash = '\0';
			domain = work;
			remainder = slash + 1;
		}
	}
	if (!strcmp(domain, "index.docker.io"))
		domain = OCI_DEFAULT_DOMAIN;

	/* tag: after the last ':' of the remainder (no '/' can follow it) */
	char *tag = NULL;
	char *colon = strrchr(remainder, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
	}
	if (*remainder == '\0')
		return ref_bad(err, s, "repository name must have at least one component");
	for (char *c = remainder; *c; c++)
		if (isupper((unsigned char)*c))
			return ref_bad(err, s, "repository name must be lowercase");
	if (!domain_valid(domain))
		return ref_bad(err, s, "invalid registry host");
	if (!oci_repo_path_valid(remainder))
		return ref_bad(err, s, "invalid repository name");
	if (tag && !oci_tag_valid(tag))
		return ref_bad(err, s, "invalid tag");

	bool library = !strcmp(domain, OCI_DEFAULT_DOMAIN) && !strchr(remainder, '/');
	out->domain = xstrdup(domain);
	out->path = library ? xasprintf("library/%s", remainder) : xstrdup(remainder);
	if (strlen(out->domain) + 1 + strlen(out->path) > OCI_NAME_MAX) {
		oci_ref_release(out);
		return ref_bad(err, s, "repository name must not be more than 255 characters");
	}
	out->tag = tag ? xstrdup(tag) : NULL;
	out->digest = digest ? xstrdup(digest) : NULL;
	if (default_tag && !out->tag && !out->digest)
		out->tag = xstrdup("latest");
	return 0;
}

int oci_ref_parse(const char *s, struct oci_ref *out, struct strata_error **err)
{
	return parse(s, true, out, err);
}

int oci_ref_parse_name(const char *s, struct oci_ref *out, struct strata_error **err)
{
	return parse(s, false, out, err);
}

void oci_ref_copy(struct oci_ref *dst, const struct oci_ref *src)
{
	dst->domain = xstrdup_or_null(src->domain);
	dst->path = xstrdup_or_null(src->path);
	dst->tag = xstrdup_or_null(src->tag);
	dst->digest = xstrdup_or_null(src->digest);
}

void oci_ref_set_tag(struct oci_ref *r, const char *tag)
{
	free(r->tag);
	r->tag = xstrdup_or_null(tag);
}

char *oci_ref_string(const struct oci_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
			 r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *oci_ref_familiar(const struct oci_ref *r)
{
	const char *path = r->path;
	bool hub = !strcmp(r->domain, OCI_DEFAULT_DOMAIN);
	if (hub && !strncmp(path, "library/", 8) && !strchr(path + 8, '/'))
		path += 8;
	return xasprintf("%s%s%s%s%s%s%s", hub ? "" : r->domain, hub ? "" : "/", path, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *oci_ref_repository(const struct oci_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

const char *oci_ref_api_host(const char *domain)
{
	if (!strcmp(domain, OCI_DEFAULT_DOMAIN))
		return "registry-1.docker.io";
	return domain;
}
