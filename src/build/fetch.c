/*
 * fetch.c — ADD <url>: download into <root>/build/downloads/<sha256>, named
 * by content, so a URL with a known --checksum is fetched once and a changed
 * download changes the step's key. The bytes come through the fetch_url
 * hook (cli/buildremote.c: the registry client's transport), so the build
 * module has no HTTP of its own (docs/internals/build-hooks.md).
 */
#include "build/build_internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fetch_sink {
	int fd;
	const char *tmp;
	struct strata_hash h;
};

static int fetch_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	struct fetch_sink *c = ctx;
	strata_hash_update(&c->h, p, n);
	return strata_write_full(c->fd, p, n, c->tmp, err);
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

int fetch_url(const char *root, const struct build_hooks *hooks, const char *url, const char *checksum, char **path,
	      struct oci_digest *digest, struct strata_error **err)
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
			oci_digest_from_hex(digest, STRATA_HASH_SHA256, want);
			return 0;
		}
		free(p);
	}
	if (!hooks || !hooks->fetch_url)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "download '%s': no HTTP transport in this build", url);
	cleanup_free char *tmp = xasprintf("%s/.tmp-XXXXXX", dir);
	struct fetch_sink c = { .fd = mkostemp(tmp, O_CLOEXEC), .tmp = tmp };
	if (c.fd < 0)
		return strata_error_make(err, errno, "create '%s'", tmp);
	strata_hash_init(&c.h, STRATA_HASH_SHA256);
	struct strata_sink sink = { fetch_write, &c };
	int rc = hooks->fetch_url(hooks->ctx, url, &sink, err);
	char got[STRATA_HASH_HEX_MAX];
	strata_hash_final(&c.h, got);
	if (rc < 0)
		; /* the hook's error names the URL */
	else if (want[0] && strcmp(want, got))
		rc = strata_error_makec(err, STRATA_E_INVALID, 0,
					"download '%s': checksum mismatch: expected sha256:%s, got sha256:%s", url, want, got);
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
	oci_digest_from_hex(digest, STRATA_HASH_SHA256, got);
	return 0;
}

int build_fetch_url(const char *root, const struct build_hooks *hooks, const char *url, char **path,
		    struct strata_error **err)
{
	struct oci_digest digest;
	return fetch_url(root, hooks, url, NULL, path, &digest, err);
}
