/*
 * cli_store.h — helpers shared by the verbs that work on the local store.
 */
#ifndef STRATA_CLI_STORE_H
#define STRATA_CLI_STORE_H

#include <stdint.h>
#include <time.h>

#include "cli/cli.h"
#include "store/store.h"

/* Open the store at cli_store_root(). */
int cli_store_open(struct store **out, struct strata_error **err);
/* "4.26MB", "512B" (decimal units, as docker prints). Writes into buf. */
void cli_human_size(int64_t bytes, char *buf, size_t n);
/* "3 minutes ago", "About an hour ago"; "N/A" for 0. Writes into buf. */
void cli_human_age(time_t t, time_t now, char *buf, size_t n);
/* Split a stored full name into the familiar repository and tag (newly allocated). */
void cli_name_split(const char *full, char **repo, char **tag);

/*
 * Store a rootfs tar stream (plain or gzip, detected) read from fd as an OCI
 * layer compressed with comp, in one pass (decompress, hash the tar,
 * compress, hash the blob, write to the store). Fills the diff_id, the
 * blob's digest, size and media type.
 */
int cli_import_layer(struct store *s, int fd, const char *what, enum oci_compression comp,
		     struct oci_digest *diff_id,
		     struct oci_digest *digest, int64_t *size, const char **media_type,
		     struct strata_error **err);

/*
 * --build-context NAME=oci-layout://SPEC (SPEC: PATH[:TAG|@DIGEST]): copy the
 * chosen image of the OCI layout directory PATH into the store, verified and
 * untagged (an index: its manifest for platform). *manifest: its manifest
 * digest. @return 0 or -1 (STRATA_E_USAGE for a bad SPEC, STRATA_E_NOTFOUND).
 */
int cli_load_layout(const char *spec, const struct oci_platform *platform, struct oci_digest *manifest,
		    struct strata_error **err);

#endif
