/*
 * buildctx.h — `strata build`'s CONTEXT argument as buildx takes it: a
 * directory; `-`, a tar (plain, gzip or zstd) on standard input, or a
 * Dockerfile alone (then the context is empty); a git repository
 * (`URL#ref:subdir`, cloned with git: git://, git@, ssh://, github.com/,
 * or an http(s)/file URL ending in .git); an http(s) URL of a tarball (or of
 * a Dockerfile alone). Archives are extracted with the layer extractor's
 * containment (nothing lands outside the context directory).
 */
#ifndef STRATA_CLI_BUILDCTX_H
#define STRATA_CLI_BUILDCTX_H

#include <stdbool.h>

#include "build/build.h"
#include "util/util.h"

struct cli_build_context {
	char *dir;         /* the context directory to build */
	char *dockerfile;  /* the Dockerfile when the source was one (not an archive), else NULL */
	char *tmp;         /* a temporary directory under ROOT/tmp removed by release, or NULL */
};

/*
 * Resolve arg into c (root: the store root, for temporary files and
 * downloads). dockerfile_from_stdin: -f - was given (then arg may not be -).
 * @return 0, or -1 (STRATA_E_USAGE for an impossible combination).
 */
int cli_build_context_prepare(const char *arg, const char *root, const struct build_hooks *hooks,
			      bool dockerfile_from_stdin, struct cli_build_context *c, struct strata_error **err);
/* Remove the temporary directory and free c. */
void cli_build_context_release(struct cli_build_context *c);

#endif
