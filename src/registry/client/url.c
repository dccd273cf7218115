/*
 * url.c — GET of an arbitrary http(s) URL (the build's ADD <url>, reached
 * through its fetch_url hook) over the client's transport: the shared
 * connections, --tls-ca, the insecure-host rules, retries on 429/5xx and
 * connection errors with the client's backoff, and a broken transfer
 * resumed (Range) like a blob download. No registry credentials are sent.
 */
#include "registry/client/internal.h"

#include <inttypes.h>
#include <string.h>

#include "util/log.h"

struct capped {
	const struct strata_sink *sink;
	const char *url;
	uint64_t max, got;
};

static int capped_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	struct capped *c = ctx;
	if (c->max && c->got + n > c->max)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "download '%s': larger than %" PRIu64 " bytes",
					  c->url, c->max);
	c->got += n;
	return strata_sink_write(c->sink, p, n, err);
}

/* "host[:port]" of an http(s) URL (userinfo refused), newly allocated */
static char *url_authority(const char *url, struct strata_error **err)
{
	const char *p = NULL;
	if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	if (!p) {
		strata_error_makec(err, STRATA_E_CONFIG, 0, "download '%s': only http and https URLs are supported", url);
		return NULL;
	}
	size_t n = strcspn(p, "/?#");
	if (!n || memchr(p, '@', n)) {
		strata_error_makec(err, STRATA_E_CONFIG, 0, "download '%s': bad host", url);
		return NULL;
	}
	return xstrndup(p, n);
}

int regclient_url_get(struct regclient *c, const char *url, uint64_t max, const struct strata_sink *sink,
		      struct strata_error **err)
{
	cleanup_free char *host = url_authority(url, err);
	if (!host)
		return -1;
	struct rc_host *h = rc_host_get(c, host);
	struct capped cap = { .sink = sink, .url = url, .max = max };
	struct strata_sink cs = { capped_write, &cap };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	struct rc_dl d = { .sink = &cs, .resp = &resp, .wbuf = xmalloc(RC_DL_WBUF) };
	int r = -1, resumes = 0;
	for (int attempt = 0;; attempt++) {
		char range[64];
		struct rc_req req = { .method = "GET", .url = url, .body_fd = -1, .follow = true,
				      .on_data = rc_dl_data, .data_ctx = &d };
		if (d.got) {
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", d.got);
			req.range = range;
		}
		uint64_t before = d.got;
		d.first = true;
		int pr = rc_perform(c, h, &req, NULL, &resp, err);
		if (pr == 0 && resp.status >= 200 && resp.status < 300)
			break;
		if (pr == 0 && resp.status == 416 && d.got)
			break; /* asked for the bytes after the end: we have it all */
		if (pr == 0) {
			if (rc_status_transient(resp.status) && attempt < c->o.max_retries) {
				LOG_DEBUG("GET %s: HTTP %ld; retrying", url, resp.status);
				rc_backoff(c, attempt, resp.retry_after);
				continue;
			}
			strata_error_makec(err, resp.status == 404 || resp.status == 410 ? STRATA_E_NOTFOUND
											 : STRATA_E_REGISTRY,
					   0, "download '%s': HTTP status %ld", url, resp.status);
			goto out;
		}
		/* a transport error: retry (resuming what arrived) unless the sink
		 * failed or the attempts are spent */
		if (resp.cerr == CURLE_WRITE_ERROR || !rc_curl_transient(resp.cerr) ||
		    (d.got ? resumes++ >= c->o.resume_attempts : attempt >= c->o.max_retries)) {
			strata_error_wrap(err, "download '%s'", url);
			goto out;
		}
		LOG_INFO("GET %s: broken after %" PRIu64 " bytes; retrying", url, d.got);
		strata_error_clear(err);
		if (d.got == before)
			rc_backoff(c, attempt, NULL);
	}
	if (rc_dl_flush(&d, err) < 0)
		goto out;
	r = 0;
out:
	free(d.wbuf);
	rc_resp_release(&resp);
	return r;
}
