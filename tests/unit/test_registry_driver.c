/*
 * test_registry_driver — drives registry/client from the end-to-end tests
 * and the benchmark (tests/e2e/t6*.sh, bench/client/run):
 *
 *   test_registry_driver ping HOST
 *   test_registry_driver push-blob HOST REPO FILE [MOUNT_FROM]
 *   test_registry_driver exists HOST REPO DIGEST
 *   test_registry_driver get-blob HOST REPO DIGEST SIZE OUT
 *   test_registry_driver get-manifest HOST REPO REF OUT       (prints "DIGEST MEDIATYPE")
 *   test_registry_driver head-manifest HOST REPO REF
 *   test_registry_driver put-manifest HOST REPO REF MEDIATYPE FILE
 *   test_registry_driver tags HOST REPO
 *   test_registry_driver pull-layout REF DIR [PLATFORM]
 *   test_registry_driver push-layout DIR SRCTAG DESTREF
 *
 * Environment: STRATA_CHUNK_SIZE, STRATA_PARALLEL, STRATA_TLS_CA,
 * STRATA_RETRY_BASE_MS, STRATA_MAX_RETRIES, STRATA_DRIVER_PROGRESS=1, STRATA_LOG,
 * STRATA_SEEN_FILE (record of where blobs live, for cross-repo mounts).
 * Without arguments it runs its own offline checks as TAP.
 */
#include "tap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "oci/oci.h"
#include "registry/client.h"
#include "registry/layout.h"
#include "store/store.h"
#include "registry/transfer.h"

static void progress(void *ctx, const char *digest, uint64_t done, uint64_t total, const char *state)
{
	(void)ctx;
	if (strcmp(state, "downloading") && strcmp(state, "uploading"))
		fprintf(stderr, "%.19s %s %" PRIu64 "/%" PRIu64 "\n", digest, state, done, total);
}

static int fail(struct strata_error *e)
{
	char *s = strata_error_string(e);
	fprintf(stderr, "driver: error: %s\n", s);
	free(s);
	strata_error_free(e);
	return 1;
}

static long envl(const char *name, long def)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 10) : def;
}

static int file_digest(int fd, char out[OCI_DIGEST_MAX], uint64_t *size)
{
	struct strata_hash h;
	strata_hash_init(&h, STRATA_HASH_SHA256);
	char buf[1 << 16];
	ssize_t n;
	*size = 0;
	while ((n = pread(fd, buf, sizeof(buf), (off_t)*size)) > 0) {
		strata_hash_update(&h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&h, hex);
	snprintf(out, OCI_DIGEST_MAX, "sha256:%s", hex);
	return n < 0 ? -1 : 0;
}

static int drive(int argc, char **argv)
{
	struct strata_error *err = NULL;
	struct regclient_opts o = { 0 };
	if (getenv("STRATA_LOG") && strata_log_parse_level(getenv("STRATA_LOG")) >= 0)
		strata_log_set_level((enum strata_log_level)strata_log_parse_level(getenv("STRATA_LOG")));
	if (regclient_opts_load_env(&o, &err) < 0)
		return fail(err);
	o.chunk_size = (size_t)envl("STRATA_CHUNK_SIZE", 0);
	o.parallel = (int)envl("STRATA_PARALLEL", 0);
	o.retry_base_ms = envl("STRATA_RETRY_BASE_MS", 0);
	o.max_retries = (int)envl("STRATA_MAX_RETRIES", 0);
	o.stall_timeout = envl("STRATA_STALL_TIMEOUT", 0);
	if (getenv("STRATA_TLS_CA"))
		o.ca_file = xstrdup(getenv("STRATA_TLS_CA"));
	struct regclient *c = NULL;
	int rc = regclient_new(&o, &c, &err);
	regclient_opts_release(&o);
	if (rc < 0)
		return fail(err);
	struct regclient_progress prog = { progress, NULL };
	const struct regclient_progress *pg = getenv("STRATA_DRIVER_PROGRESS") ? &prog : NULL;
	const char *cmd = argv[1];
	int ret = 2;
#define NEED(n)                                                                                  \
	do {                                                                                     \
		if (argc < (n)) {                                                                \
			fprintf(stderr, "driver: %s: missing arguments\n", cmd);                 \
			goto out;                                                                \
		}                                                                                \
	} while (0)
	if (!strcmp(cmd, "ping")) {
		NEED(3);
		ret = regclient_ping(c, argv[2], &err) < 0 ? fail(err) : 0;
	} else if (!strcmp(cmd, "push-blob")) {
		NEED(5);
		int fd = open(argv[4], O_RDONLY | O_CLOEXEC);
		char dg[OCI_DIGEST_MAX];
		uint64_t size;
		if (fd < 0 || file_digest(fd, dg, &size) < 0) {
			perror(argv[4]);
			ret = 1;
			goto out;
		}
		int r = regclient_blob_put(c, argv[2], argv[3], dg, fd, size, argc > 5 ? argv[5] : NULL, pg, &err);
		close(fd);
		if (r < 0) {
			ret = fail(err);
		} else {
			printf("%s %s\n", dg, r == 1 ? "mounted" : "uploaded");
			ret = 0;
		}
	} else if (!strcmp(cmd, "exists")) {
		NEED(5);
		uint64_t size = 0;
		int r = regclient_blob_exists(c, argv[2], argv[3], argv[4], &size, &err);
		if (r < 0)
			ret = fail(err);
		else {
			printf(r ? "yes %" PRIu64 "\n" : "no\n", size);
			ret = 0;
		}
	} else if (!strcmp(cmd, "get-blob")) {
		NEED(7);
		/* written to OUT.part, renamed to OUT only when verified */
		char *part = xasprintf("%s.part", argv[6]);
		int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		struct strata_fd_sink fs = { fd, part };
		struct strata_sink sink = STRATA_FD_SINK(&fs);
		if (regclient_blob_get(c, argv[2], argv[3], argv[4], strtoull(argv[5], NULL, 10), &sink, pg,
				       &err) < 0) {
			close(fd);
			unlink(part);
			ret = fail(err);
		} else {
			close(fd);
			rename(part, argv[6]);
			ret = 0;
		}
		free(part);
	} else if (!strcmp(cmd, "get-manifest") || !strcmp(cmd, "head-manifest")) {
		bool head = !strcmp(cmd, "head-manifest");
		NEED(head ? 5 : 6);
		struct regclient_manifest m;
		if (regclient_manifest_get(c, argv[2], argv[3], argv[4], head, &m, &err) < 0) {
			ret = fail(err);
		} else {
			if (!head) {
				struct strata_error *e2 = NULL;
				if (strata_atomic_write(argv[5], m.data, m.len, 0644, &e2) < 0)
					fail(e2);
			}
			printf("%s %s\n", m.digest ? m.digest : "-", m.media_type ? m.media_type : "-");
			regclient_manifest_release(&m);
			ret = 0;
		}
	} else if (!strcmp(cmd, "put-manifest")) {
		NEED(7);
		struct strata_buf b = STRATA_BUF_INIT;
		char *dg = NULL;
		if (strata_read_file(argv[6], &b, REGCLIENT_MANIFEST_MAX + 1, &err) < 0 ||
		    regclient_manifest_put(c, argv[2], argv[3], argv[4], argv[5], b.data, b.len, &dg, &err) < 0) {
			ret = fail(err);
		} else {
			printf("%s\n", dg);
			ret = 0;
		}
		free(dg);
		strata_buf_release(&b);
	} else if (!strcmp(cmd, "tags")) {
		NEED(4);
		char **tags = NULL;
		size_t n = 0;
		if (regclient_tags_list(c, argv[2], argv[3], &tags, &n, &err) < 0) {
			ret = fail(err);
		} else {
			for (size_t i = 0; i < n; i++)
				printf("%s\n", tags[i]);
			regclient_strv_free(tags);
			ret = 0;
		}
	} else if (!strcmp(cmd, "pull-layout") || !strcmp(cmd, "push-layout")) {
		bool pull = !strcmp(cmd, "pull-layout");
		NEED(pull ? 4 : 5);
		struct regxfer_local l;
		struct regxfer_result res = { 0 };
		if (regxfer_layout_open(pull ? argv[3] : argv[2], pull, &l, &err) < 0) {
			ret = fail(err);
			goto out;
		}
		struct store_blobloc *seen = NULL;
		if (getenv("STRATA_SEEN_FILE")) {
			if (store_blobloc_open_path(getenv("STRATA_SEEN_FILE"), &seen, &err) < 0) {
				regxfer_layout_close(&l);
				ret = fail(err);
				goto out;
			}
			regxfer_layout_use_seen(&l, seen);
		}
		int r = pull ? regclient_pull_image(c, argv[2], argc > 4 ? argv[4] : NULL, &l, pg, &res, &err)
			     : regclient_push_image(c, argv[3], argv[4], &l, pg, &res, &err);
		regxfer_layout_close(&l);
		if (r == 0 && seen && store_blobloc_save(seen, &err) < 0)
			r = -1;
		store_blobloc_free(seen);
		if (r < 0) {
			ret = fail(err);
		} else {
			printf("%s moved=%zu skipped=%zu mounted=%zu bytes=%" PRIu64 "\n", res.digest,
			       res.blobs_moved, res.blobs_skipped, res.blobs_mounted, res.bytes);
			ret = 0;
		}
		regxfer_result_release(&res);
	} else {
		fprintf(stderr, "driver: unknown command '%s'\n", cmd);
	}
out:
	regclient_free(c);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return drive(argc, argv);

	/* offline checks: a closed port gives one clear line, quickly */
	struct regclient_opts o = { .max_retries = -1 };
	struct regclient *c = NULL;
	struct strata_error *err = NULL;
	ok(regclient_new(&o, &c, &err) == 0, "client");
	ok(regclient_ping(c, "127.0.0.1:1", &err) < 0, "ping of a closed port fails");
	char *m = strata_error_string(err);
	ok(strstr(m, "registry 127.0.0.1:1: ") && strstr(m, "onnect"), "names the host and the failure: %s", m);
	is_int(strata_error_code(err), STRATA_E_REGISTRY, "registry error");
	free(m);
	strata_error_clear(&err);
	ok(regclient_blob_put(c, "127.0.0.1:1", "a", "sha256:nope", 0, 0, NULL, NULL, &err) < 0,
	   "bad digest refused");
	strata_error_clear(&err);
	regclient_free(c);

	setenv("STRATA_REGISTRIES_CONF", "/nonexistent/registries.conf", 1);
	setenv("STRATA_INSECURE_REGISTRIES", "a.example, b.example:5000", 1);
	ok(regclient_opts_load_env(&o, &err) == 0, "env list");
	is_int(o.n_insecure, 2, "two insecure hosts");
	is_str(o.insecure[1], "b.example:5000", "second host");
	regclient_opts_release(&o);
	char tmpl[] = "/tmp/strata-regconf-XXXXXX";
	int fd = mkstemp(tmpl);
	const char *bad = "# comment\ninsecure c.example\nsecure d.example\n";
	ok(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad), "write conf");
	close(fd);
	setenv("STRATA_REGISTRIES_CONF", tmpl, 1);
	unsetenv("STRATA_INSECURE_REGISTRIES");
	ok(regclient_opts_load_env(&o, &err) < 0, "bad line rejected");
	m = strata_error_string(err);
	ok(strstr(m, ":3: expected 'insecure HOST'") != NULL, "error names file and line: %s", m);
	free(m);
	strata_error_clear(&err);
	regclient_opts_release(&o);
	unlink(tmpl);
	return done_testing();
}
