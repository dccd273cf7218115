/*
 * fetch.c — ADD <url>: download into <root>/build/downloads/<sha256>, named
 * by content, so a URL with a known --checksum is fetched once and a changed
 * download changes the step's key.
 */
#include "build/build_internal.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_MAX ((curl_off_t)16 << 30)

struct sink_ctx {
	int fd;
	struct strata_hash h;
	int err;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct sink_ctx *c = ud;
	size_t len = size * n;
	strata_hash_update(&c->h, p, len);
	if (strata_write_full(c->fd, p, len, "download", NULL) < 0) {
		c->err = errno ? errno : EIO;
		return 0;
	}
	return len;
}

static int checksum_hex(const char *checksum, char hex[65], struct strata_error **err)
{
	if (strncmp(checksum, "sha256:", 7) || strlen(checksum) != 71)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "--checksum=%s: only sha256:<64 hex digits> is supported", checksum);
	memcpy(hex, checksum + 7, 65);
	for (int i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", hex[i]))
			return strata_error_makec(err, STRATA_E_CONFIG, 0, "--checksum=%s: not a hex digest", checksum);
	return 0;
}

int fetch_url(const char *root, const char *url, const char *checksum, char **path, char **digest,
	      struct strata_error **err)
{
	char want[65] = "";
	if (checksum && checksum_hex(checksum, want, err) < 0)
		return -1;
	cleanup_free char *dir = xasprintf("%s/build/downloads", root);
	if (strata_mkdir_p(dir, 0700, err) < 0)
		return -1;
	if (want[0]) {
		char *p = xasprintf("%s/%s", dir, want);
		if (strata_path_exists(p)) {
			*path = p;
			*digest = xasprintf("sha256:%s", want);
			return 0;
		}
		free(p);
	}
	cleanup_free char *tmp = xasprintf("%s/.tmp-XXXXXX", dir);
	struct sink_ctx c = { .fd = mkostemp(tmp, O_CLOEXEC) };
	if (c.fd < 0)
		return strata_error_make(err, errno, "create '%s'", tmp);
	strata_hash_init(&c.h, STRATA_HASH_SHA256);
	CURL *curl = curl_easy_init();
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, FETCH_MAX);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
	CURLcode cc = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	char got[STRATA_HASH_HEX_MAX];
	strata_hash_final(&c.h, got);
	int rc = 0;
	if (cc != CURLE_OK)
		rc = strata_error_makec(err, STRATA_E_NOTFOUND, c.err, "download '%s': %s", url,
					ebuf[0] ? ebuf : curl_easy_strerror(cc));
	else if (want[0] && strcmp(want, got))
		rc = strata_error_makec(err, STRATA_E_INVALID, 0, "download '%s': checksum mismatch: expected sha256:%s, got sha256:%s",
					url, want, got);
	else if (fsync(c.fd) < 0)
		rc = strata_error_make(err, errno, "fsync '%s'", tmp);
	close(c.fd);
	cleanup_free char *final = xasprintf("%s/%s", dir, got);
	if (rc == 0 && rename(tmp, final) < 0)
		rc = strata_error_make(err, errno, "rename '%s'", final);
	if (rc < 0) {
		unlink(tmp);
		return -1;
	}
	*path = STRATA_STEAL(final);
	*digest = xasprintf("sha256:%s", got);
	return 0;
}

int build_fetch_url(const char *root, const char *url, char **path, struct strata_error **err)
{
	cleanup_free char *digest = NULL;
	return fetch_url(root, url, NULL, path, &digest, err);
}
