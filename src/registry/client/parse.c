/*
 * parse.c — small parsers of what registries send: WWW-Authenticate
 * challenges, Link headers, JSON error bodies; URL helpers; base64.
 */
#include "registry/client/internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>

#include "util/json.h"

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool is_token_char(char ch)
{
	return ch && (isalnum((unsigned char)ch) || strchr("!#$%&'*+-.^_`|~/:=", ch)) && ch != '=';
}

void rc_challenge_release(struct rc_challenge *c)
{
	free(c->scheme);
	for (size_t i = 0; i < c->n; i++) {
		free(c->keys[i]);
		free(c->vals[i]);
	}
	memset(c, 0, sizeof(*c));
}

const char *rc_challenge_param(const struct rc_challenge *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->keys[i], key))
			return c->vals[i];
	return NULL;
}

static char *lower_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/*
 * Grammar (RFC 7235): challenge = scheme [ 1*SP ( token68 / #auth-param ) ],
 * auth-param = token BWS "=" BWS ( token / quoted-string ), challenges and
 * params both separated by commas. A token followed by "=" is a parameter of
 * the current challenge; a token followed by space or comma or end starts a
 * new challenge.
 */
int rc_challenges_parse(const char *s, struct rc_challenge *out, size_t max, struct strata_error **err)
{
	size_t n = 0;
	const char *p = s;
	struct rc_challenge *cur = NULL;

	memset(out, 0, sizeof(*out) * max);
	for (;;) {
		p = skip_ws(p);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *t = p;
		while (is_token_char(*p))
			p++;
		if (p == t)
			goto bad;
		size_t tl = (size_t)(p - t);
		const char *q = skip_ws(p);
		if (*q == '=' && cur && q[1] != '=') {
			/* a parameter */
			q = skip_ws(q + 1);
			struct strata_buf v = STRATA_BUF_INIT;
			if (*q == '"') {
				q++;
				while (*q && *q != '"') {
					if (*q == '\\' && q[1])
						q++;
					strata_buf_addch(&v, *q++);
				}
				if (*q != '"') {
					strata_buf_release(&v);
					goto bad;
				}
				q++;
			} else {
				while (*q && *q != ',' && *q != ' ' && *q != '\t')
					strata_buf_addch(&v, *q++);
			}
			if (cur->n < RC_CHALLENGE_PARAMS) {
				cur->keys[cur->n] = lower_dup(t, tl);
				cur->vals[cur->n] = strata_buf_detach(&v, NULL);
				cur->n++;
			} else {
				strata_buf_release(&v);
			}
			p = q;
			continue;
		}
		/* a new challenge (scheme); skip a token68 if one follows */
		if (n == max)
			break;
		cur = &out[n++];
		cur->scheme = lower_dup(t, tl);
		p = skip_ws(p);
		const char *u = p;
		while (is_token_char(*u))
			u++;
		const char *w = u;
		while (*w == '=')
			w++;
		if (u != p && w != u && (*skip_ws(w) == ',' || !*skip_ws(w)))
			p = w; /* token68 */
	}
	return (int)n;
bad:
	for (size_t i = 0; i < n; i++)
		rc_challenge_release(&out[i]);
	return strata_error_makec(err, STRATA_E_REGISTRY, 0, "malformed WWW-Authenticate header '%s'", s);
}

char *rc_link_next(const char *link)
{
	const char *p = link;
	while (p && *p) {
		const char *lt = strchr(p, '<');
		if (!lt)
			return NULL;
		const char *gt = strchr(lt, '>');
		if (!gt)
			return NULL;
		const char *end = strchr(gt, ',');
		/* a comma may only appear in a quoted param; good enough for rel lists */
		size_t plen = end ? (size_t)(end - gt) : strlen(gt);
		cleanup_free char *params = xstrndup(gt + 1, plen - 1);
		for (char *q = params; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		char *rel = strstr(params, "rel=");
		if (rel) {
			rel += 4;
			if (*rel == '"')
				rel++;
			if (!strncmp(rel, "next", 4) && (rel[4] == '"' || rel[4] == ';' || rel[4] == ' ' ||
							 !rel[4]))
				return xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * The registry's code or message as one line of at most max bytes: control
 * characters (newlines, ESC) would split the user's one-line error or reach
 * the terminal, so they become spaces; a longer text is cut with "...".
 */
static char *one_line(const char *s, size_t max)
{
	size_t n = strlen(s);
	bool cut = n > max;
	if (cut) {
		n = max;
		/* do not cut a UTF-8 sequence in two */
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	char *out = xmalloc(n + 4);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	memcpy(out + n, cut ? "..." : "", cut ? 4 : 1);
	return out;
}

int rc_resp_error(const struct rc_resp *resp, const char *fallback_code, struct strata_error **err)
{
	rc_error_from_response(resp->status, resp->body.data, resp->body.len, fallback_code, err);
	if (resp->auth_note && err && *err) {
		/* "registry X refused ...: UNAUTHORIZED: ...; run 'strata login X'" */
		cleanup_free char *m = strata_error_string(*err);
		int code = strata_error_code(*err);
		strata_error_clear(err);
		const char *semi = strstr(resp->auth_note, "; ");
		int head = semi ? (int)(semi - resp->auth_note) : (int)strlen(resp->auth_note);
		strata_error_makec(err, code, 0, "%.*s: %s%s", head, resp->auth_note, m, semi ? semi : "");
	}
	return -1;
}

int rc_error_from_response(long status, const char *body, size_t len, const char *fallback_code,
			   struct strata_error **err)
{
	int cat = STRATA_E_REGISTRY;
	if (status == 401 || status == 403)
		cat = STRATA_E_AUTH;
	else if (status == 404)
		cat = STRATA_E_NOTFOUND;

	cleanup_json json_t *j = NULL;
	if (body && len && strata_json_parse(body, len, "error body", &j, NULL) == 0 && json_is_object(j)) {
		json_t *errs = json_object_get(j, "errors");
		json_t *e0 = json_is_array(errs) ? json_array_get(errs, 0) : NULL;
		const char *code = json_string_value(json_object_get(e0, "code"));
		const char *msg = json_string_value(json_object_get(e0, "message"));
		if (code) {
			if (!strcmp(code, "UNAUTHORIZED") || !strcmp(code, "DENIED"))
				cat = STRATA_E_AUTH;
			else if (!strcmp(code, "NAME_UNKNOWN") || !strcmp(code, "MANIFEST_UNKNOWN") ||
				 !strcmp(code, "BLOB_UNKNOWN") || !strcmp(code, "BLOB_UPLOAD_UNKNOWN"))
				cat = STRATA_E_NOTFOUND;
			cleanup_free char *c1 = one_line(code, 64);
			if (msg && *msg) {
				cleanup_free char *m1 = one_line(msg, 512);
				return strata_error_makec(err, cat, 0, "%s: %s", c1, m1);
			}
			return strata_error_makec(err, cat, 0, "%s", c1);
		}
	}
	if (status == 401)
		return strata_error_makec(err, cat, 0, "UNAUTHORIZED: authentication required");
	if (status == 403)
		return strata_error_makec(err, cat, 0, "DENIED: requested access to the resource is denied");
	if (status == 404 && fallback_code) {
		cleanup_free char *lc = lower_dup(fallback_code, strlen(fallback_code));
		for (char *q = lc; *q; q++)
			if (*q == '_')
				*q = ' ';
		return strata_error_makec(err, cat, 0, "%s: %s", fallback_code, lc);
	}
	return strata_error_makec(err, cat, 0, "HTTP status %ld", status);
}

char *rc_base64(const void *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

int rc_unbase64(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s);
	if (n % 4 || n > (1u << 20))
		return -1;
	unsigned char *buf = xmalloc(n / 4 * 3 + 1);
	int r = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
	if (r < 0) {
		free(buf);
		return -1;
	}
	size_t l = (size_t)r;
	if (n >= 1 && s[n - 1] == '=')
		l--;
	if (n >= 2 && s[n - 2] == '=')
		l--;
	buf[l] = 0;
	*out = (char *)buf;
	if (len)
		*len = l;
	return 0;
}

char *rc_resolve_url(const char *base, const char *loc)
{
	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		return xstrdup(loc);
	/* origin of base: scheme://authority */
	const char *a = strstr(base, "://");
	const char *slash = a ? strchr(a + 3, '/') : NULL;
	size_t olen = slash ? (size_t)(slash - base) : strlen(base);
	if (loc[0] == '/' && loc[1] == '/') {
		size_t sl = a ? (size_t)(a - base) + 1 : 0;
		return xasprintf("%.*s%s", (int)sl, base, loc);
	}
	if (loc[0] == '/')
		return xasprintf("%.*s%s", (int)olen, base, loc);
	/* relative path: against the directory of base */
	const char *q = strchr(base, '?');
	size_t blen = q ? (size_t)(q - base) : strlen(base);
	const char *lastslash = base + blen;
	while (lastslash > base + olen && *(lastslash - 1) != '/')
		lastslash--;
	if (lastslash == base + olen)
		return xasprintf("%.*s/%s", (int)olen, base, loc);
	return xasprintf("%.*s%s", (int)(lastslash - base), base, loc);
}

char *rc_query_escape(const char *s)
{
	struct strata_buf b = STRATA_BUF_INIT;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isalnum(ch) || strchr("-._~", ch))
			strata_buf_addch(&b, (char)ch);
		else
			strata_buf_addf(&b, "%%%02X", ch);
	}
	return strata_buf_detach(&b, NULL);
}
