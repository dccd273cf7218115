/*
 * buildout.h — `strata build`'s outputs besides the local store: buildx's
 * -o/--output exporters and --metadata-file.
 */
#ifndef STRATA_CLI_BUILDOUT_H
#define STRATA_CLI_BUILDOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "build/build.h"
#include "util/util.h"

enum cli_output_type {
	CLI_OUT_NONE = 0,
	CLI_OUT_IMAGE,   /* type=image|registry: the store (name= tags it, push=true / registry pushes) */
	CLI_OUT_OCI,     /* an OCI archive at dest ("-": stdout) */
	CLI_OUT_DOCKER,  /* a docker archive at dest; without dest the store (docker's "load") */
	CLI_OUT_TAR,     /* the image's filesystem as a tar at dest ("-": stdout) */
	CLI_OUT_LOCAL,   /* the image's filesystem into the directory dest */
};

struct cli_build_output {
	enum cli_output_type type;
	char *dest;
	char **names;    /* name=REF values: extra tags */
	size_t nnames;
	bool push;       /* push=true, or type=registry */
};

/*
 * Parse "-o" as buildx does: type=oci|docker|tar|local|image|registry with
 * dest=PATH, name=REF (repeatable), push=true; "DIR" alone is type=local
 * and "-" a tar on stdout. buildx's exporter tuning keys (compression,
 * oci-mediatypes, ...) are accepted and ignored.
 * @return 0, or -1 (STRATA_E_USAGE naming the bad part).
 */
int cli_build_output_parse(const char *spec, struct cli_build_output *o, struct strata_error **err);
void cli_build_output_release(struct cli_build_output *o);
/* Export the built image ref (in the local store) as o says. */
int cli_build_output_write(const struct cli_build_output *o, const char *ref, struct strata_error **err);

/*
 * --metadata-file: buildx's keys (containerimage.digest,
 * containerimage.config.digest, containerimage.descriptor, image.name) and
 * strata's (strata.steps.cached, strata.steps.run, strata.bytes.down,
 * strata.bytes.up), as JSON written atomically.
 */
int cli_build_metadata_write(const char *path, const struct build_result *res, const char *const *tags, size_t ntags,
			     uint64_t bytes_down, uint64_t bytes_up, struct strata_error **err);

#endif
