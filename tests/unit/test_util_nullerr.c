/* The error contract of util/error.h: `err` may be NULL (the error is then
 * discarded). Each case here fails on a path that used to dereference it
 * (layer/create.c, layer/apply.c, build/image.c, dockerfile/resolve.c) and
 * must return -1 without crashing or leaking (LeakSanitizer in SAN builds). */
#include "tap.h"
#include "build/build.h"
#include "dockerfile/dockerfile.h"
#include "layer/layer.h"
#include "util/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failing_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)ctx, (void)p, (void)n;
	return strata_error_make(err, ENOSPC, "sink");
}

static ssize_t failing_source(void *ctx, void *buf, size_t cap, struct strata_error **err)
{
	(void)ctx, (void)buf, (void)cap;
	return strata_error_make(err, EIO, "source");
}

int main(void)
{
	/* strata_error_pass */
	struct strata_error *e = NULL;
	strata_error_make(&e, 0, "inner");
	is_int(strata_error_pass(NULL, e), -1, "pass to a NULL err frees the error (no leak)");
	struct strata_error *err = NULL, *mine = NULL;
	strata_error_make(&err, 0, "earlier");
	strata_error_make(&mine, 0, "cause");
	strata_error_wrap(&mine, "outer");
	strata_error_pass(&err, mine);
	char *m = strata_error_string(err);
	is_str(m, "outer: cause: earlier", "an error already in *err becomes the innermost cause");
	free(m);
	strata_error_clear(&err);
	is_int(strata_error_pass(&err, NULL), -1, "passing nothing is -1");
	ok(err == NULL, "and sets nothing");

	char tmpl[] = "/tmp/strata-nullerr.XXXXXX";
	char *dir = mkdtemp(tmpl);
	ok(dir != NULL, "temp dir");
	char *tree = strata_path_join(dir, "tree");
	mkdir(tree, 0755);
	/* 1 MiB of incompressible bytes: the archive writes reach the sink */
	char *f = strata_path_join(tree, "big");
	int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	unsigned char buf[4096];
	uint32_t x = 12345;
	for (int i = 0; i < 256; i++) {
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
	}
	close(fd);

	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_NONE };
	struct strata_sink bad = { failing_write, NULL };
	struct layer_result res;
	is_int(layer_create_blob(tree, &co, &wo, &bad, &res, NULL), -1,
	       "layer_create_blob: a failing sink with err NULL is -1 (layer/create.c)");
	ok(layer_create_blob(tree, &co, &wo, &bad, &res, &err) < 0 && strstr((m = strata_error_string(err)), "sink"),
	   "with err: the sink's error is the cause");
	free(m);
	strata_error_clear(&err);

	char *out = strata_path_join(dir, "out");
	struct layer_apply_opts ao = { .media_type = "application/vnd.oci.image.layer.v1.tar" };
	is_int(layer_apply_source(failing_source, NULL, out, &ao, NULL, NULL), -1,
	       "layer_apply_source: a failing source with err NULL is -1 (layer/apply.c)");

	struct build_image *img = NULL;
	char *root = strata_path_join(dir, "root");
	is_int(build_image_lookup(root, "nope:latest", &img, NULL), -1,
	       "build_image_lookup of a missing image with err NULL is -1 (build/image.c)");

	const char *text = "FROM scratch\nWORKDIR ${NEEDED:?must be set}\n";
	struct dockerfile *df = NULL;
	struct dockerfile_build *b = NULL;
	struct dockerfile_options dopts = { 0 };
	ok(dockerfile_parse(text, strlen(text), "Dockerfile", &df, NULL) == 0, "parse");
	is_int(dockerfile_resolve(df, &dopts, &b, NULL), -1,
	       "dockerfile_resolve: a failed needed stage with err NULL is -1 (dockerfile/resolve.c)");
	dockerfile_build_free(b);
	dockerfile_free(df);

	strata_rm_rf(dir, NULL);
	free(tree);
	free(f);
	free(out);
	free(root);
	return done_testing();
}
