/*
 * auth.c — authentication and retries around one request: the Bearer token
 * flow of docker's token spec (GET realm?service=&scope= with Basic
 * credentials when known, anonymous otherwise; "token" or "access_token";
 * tokens cached per scope until expires_in, refreshed on a 401) and Basic.
 */
#include "registry/client/internal.h"

#include <string.h>

#define TOKEN_DEFAULT_TTL 60
#define TOKEN_MARGIN 10

static char *current_authz(struct regclient *c, struct rc_host *h, const char *scope)
{
	const char *key = scope ? scope : "";
	char *out = NULL;
	time_t now = time(NULL);
	pthread_mutex_lock(&c->lock);
	for (struct rc_token *t = h->tokens; t; t = t->next) {
		if (!strcmp(t->scope, key) && t->expires > now) {
			out = xasprintf("Bearer %s", t->token);
			break;
		}
	}
	if (!out && h->basic && h->cred.user) {
		cleanup_free char *up = xasprintf("%s:%s", h->cred.user, h->cred.secret ? h->cred.secret : "");
		cleanup_free char *b = rc_base64(up, strlen(up));
		out = xasprintf("Basic %s", b);
	}
	pthread_mutex_unlock(&c->lock);
	return out;
}

/*
 * Who refused and what was sent, for a final 401/403 (rc_resp_error puts
 * the registry's own words in the middle): "registry HOST refused the
 * credentials of user 'alice' (from /root/.docker/config.json); run
 * 'strata login HOST' to replace them".
 */
static char *auth_note(struct regclient *c, struct rc_host *h, long status, bool sent)
{
	pthread_mutex_lock(&c->lock);
	cleanup_free char *user = h->cred.user ? xstrdup(h->cred.user) : NULL;
	cleanup_free char *src = h->cred.source ? xstrdup(h->cred.source) : NULL;
	pthread_mutex_unlock(&c->lock);
	if (!src) {
		cleanup_free char *d = rc_docker_config_dir(c->o.docker_config);
		src = xasprintf("%s/config.json", d);
	}
	if (sent && user && status == 403)
		return xasprintf("registry %s denied user '%s' (credentials from %s); ask for access, or run "
				 "'strata login %s' as another user",
				 h->host, user, src, h->host);
	if (sent && user && !strncmp(src, "given", 5))
		return xasprintf("registry %s refused the credentials of user '%s' (%s); check the user name and "
				 "password",
				 h->host, user, src);
	if (sent && user)
		return xasprintf("registry %s refused the credentials of user '%s' (from %s); run 'strata login %s' "
				 "to replace them",
				 h->host, user, src, h->host);
	return xasprintf("registry %s refused anonymous access: no credentials were sent (none for %s in %s); run "
			 "'strata login %s'",
			 h->host, h->host, src, h->host);
}

static int load_creds(struct regclient *c, struct rc_host *h, struct strata_error **err)
{
	pthread_mutex_lock(&c->lock);
	bool loaded = h->creds_loaded;
	pthread_mutex_unlock(&c->lock);
	if (loaded)
		return 0;
	struct regclient_cred cred = { 0 };
	if (regclient_creds_lookup(c->o.docker_config, h->host, &cred, err) < 0)
		return strata_error_wrap(err, "credentials for '%s'", h->host);
	pthread_mutex_lock(&c->lock);
	if (!h->creds_loaded) {
		h->cred = cred;
		memset(&cred, 0, sizeof(cred));
		h->creds_loaded = true;
	}
	pthread_mutex_unlock(&c->lock);
	regclient_cred_release(&cred);
	return 0;
}

static void add_scopes(struct strata_buf *q, const char *scopes)
{
	if (!scopes)
		return;
	cleanup_free char *copy = xstrdup(scopes);
	char *save = NULL;
	for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		cleanup_free char *e = rc_query_escape(s);
		strata_buf_addf(q, "&scope=%s", e);
	}
}

/* true when scopes already name the resource of chscope ("repository:NAME:") */
static bool scope_covered(const char *scopes, const char *chscope)
{
	if (!scopes)
		return false;
	const char *last = strrchr(chscope, ':');
	if (!last)
		return strstr(scopes, chscope) != NULL;
	cleanup_free char *prefix = xstrndup(chscope, (size_t)(last - chscope) + 1);
	for (const char *p = strstr(scopes, prefix); p; p = strstr(p + 1, prefix))
		if (p == scopes || p[-1] == ' ')
			return true;
	return false;
}

static int fetch_token(struct regclient *c, struct rc_host *h, const struct rc_challenge *ch,
		       const char *scope, struct strata_error **err)
{
	const char *realm = rc_challenge_param(ch, "realm");
	const char *service = rc_challenge_param(ch, "service");
	const char *chscope = rc_challenge_param(ch, "scope");
	if (!realm || (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)))
		return strata_error_makec(err, STRATA_E_AUTH, 0, "bearer challenge without a usable realm");

	cleanup_buf struct strata_buf url = STRATA_BUF_INIT;
	strata_buf_adds(&url, realm);
	strata_buf_adds(&url, strchr(realm, '?') ? "&" : "?");
	if (service) {
		cleanup_free char *e = rc_query_escape(service);
		strata_buf_addf(&url, "service=%s", e);
	}
	add_scopes(&url, scope);
	if (chscope && !scope_covered(scope, chscope))
		add_scopes(&url, chscope);

	/* the realm's host gets its own TLS policy */
	const char *auth = strstr(realm, "://") + 3;
	size_t al = strcspn(auth, "/?#");
	cleanup_free char *rhost = xstrndup(auth, al);
	struct rc_host *th = rc_host_get(c, rhost);

	cleanup_free char *basic = NULL;
	pthread_mutex_lock(&c->lock);
	if (h->cred.user) {
		cleanup_free char *up = xasprintf("%s:%s", h->cred.user, h->cred.secret ? h->cred.secret : "");
		cleanup_free char *b = rc_base64(up, strlen(up));
		basic = xasprintf("Basic %s", b);
	}
	pthread_mutex_unlock(&c->lock);

	struct rc_req req = { .method = "GET", .url = url.data, .body_fd = -1 };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	cleanup_json json_t *j = NULL;
	int r = -1;
	for (int attempt = 0;; attempt++) {
		if (rc_perform(c, th, &req, basic, &resp, err) < 0) {
			if (rc_curl_transient(resp.cerr) && attempt < c->o.max_retries) {
				strata_error_clear(err);
				rc_backoff(c, attempt, NULL);
				continue;
			}
			strata_error_wrap(err, "token");
			goto out;
		}
		if (rc_status_transient(resp.status) && attempt < c->o.max_retries) {
			rc_backoff(c, attempt, resp.retry_after);
			continue;
		}
		break;
	}
	if (resp.status != 200) {
		if (resp.status == 401 || resp.status == 403)
			resp.auth_note = auth_note(c, h, resp.status, basic != NULL);
		rc_resp_error(&resp, NULL, err);
		goto out;
	}
	if (strata_json_parse(resp.body.data, resp.body.len, "token response", &j, err) < 0)
		goto out;
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok) {
		strata_error_makec(err, STRATA_E_AUTH, 0, "token response without a token");
		goto out;
	}
	json_int_t ttl = json_integer_value(json_object_get(j, "expires_in"));
	if (ttl <= 0)
		ttl = TOKEN_DEFAULT_TTL;
	if (ttl > TOKEN_MARGIN * 2)
		ttl -= TOKEN_MARGIN;
	struct rc_token *t = xcalloc(1, sizeof(*t));
	t->scope = xstrdup(scope ? scope : "");
	t->token = xstrdup(tok);
	t->expires = time(NULL) + (time_t)ttl;
	pthread_mutex_lock(&c->lock);
	/* replace an older token of the same scope */
	for (struct rc_token **pp = &h->tokens; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->scope, t->scope)) {
			struct rc_token *old = *pp;
			*pp = old->next;
			free(old->scope);
			free(old->token);
			free(old);
			break;
		}
	}
	t->next = h->tokens;
	h->tokens = t;
	pthread_mutex_unlock(&c->lock);
	r = 0;
out:
	rc_resp_release(&resp);
	return r;
}

/* @return 1 when the request should be tried again with new credentials, 0 when not, -1 error. */
static int answer_challenge(struct regclient *c, struct rc_host *h, const char *scope, const char *www,
			    const char *sent, struct strata_error **err)
{
	if (!www)
		return 0;
	struct rc_challenge ch[4];
	int n = rc_challenges_parse(www, ch, STRATA_ARRAY_SIZE(ch), err);
	if (n < 0)
		return -1;
	int r = 0;
	const struct rc_challenge *bearer = NULL, *basic = NULL;
	for (int i = 0; i < n; i++) {
		if (!strcmp(ch[i].scheme, "bearer") && !bearer)
			bearer = &ch[i];
		else if (!strcmp(ch[i].scheme, "basic") && !basic)
			basic = &ch[i];
	}
	if ((bearer || basic) && load_creds(c, h, err) < 0) {
		r = -1;
	} else if (bearer) {
		/* one fetch at a time: requests that failed together share the new token */
		pthread_mutex_lock(&c->token_lock);
		cleanup_free char *cur = current_authz(c, h, scope);
		if (cur && (!sent || strcmp(cur, sent)))
			r = 1;
		else
			r = fetch_token(c, h, bearer, scope, err) < 0 ? -1 : 1;
		pthread_mutex_unlock(&c->token_lock);
	} else if (basic) {
		/* try again only if this request went without the credentials */
		pthread_mutex_lock(&c->lock);
		h->basic = h->cred.user != NULL;
		r = h->basic && (!sent || strncmp(sent, "Basic ", 6));
		pthread_mutex_unlock(&c->lock);
	}
	for (int i = 0; i < n; i++)
		rc_challenge_release(&ch[i]);
	return r;
}

int rc_do(struct regclient *c, struct rc_host *h, const struct rc_req *req, struct rc_resp *resp,
	  struct strata_error **err)
{
	bool challenged = false;
	for (;;) {
		cleanup_free char *authz = current_authz(c, h, req->scope);
		for (int attempt = 0;; attempt++) {
			if (rc_perform(c, h, req, authz, resp, err) < 0) {
				if (!req->no_retry && !req->on_data && resp->cerr != CURLE_OK && rc_curl_transient(resp->cerr) &&
				    attempt < c->o.max_retries) {
					LOG_DEBUG("%s %s: %s; retrying", req->method, req->url,
						  curl_easy_strerror(resp->cerr));
					strata_error_clear(err);
					rc_backoff(c, attempt, NULL);
					continue;
				}
				return -1;
			}
			long st = resp->status;
			if (!req->no_retry && rc_status_transient(st) &&
			    attempt < c->o.max_retries) {
				LOG_DEBUG("%s %s: HTTP %ld; retrying", req->method, req->url, st);
				rc_backoff(c, attempt, resp->retry_after);
				continue;
			}
			break;
		}
		if (resp->status == 403 || (resp->status == 401 && challenged)) {
			resp->auth_note = auth_note(c, h, resp->status, authz != NULL);
			return 0;
		}
		if (resp->status != 401)
			return 0;
		challenged = true;
		int a = answer_challenge(c, h, req->scope, resp->www_auth, authz, err);
		if (a < 0)
			return -1;
		if (a == 0) {
			resp->auth_note = auth_note(c, h, resp->status, authz != NULL);
			return 0;
		}
	}
}
