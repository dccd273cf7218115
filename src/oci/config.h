/*
 * config.h — image configuration (OCI image-spec config.md; the Docker
 * image config is the same JSON with extra fields). Same model as
 * manifest.h: the jansson object is the backing store, the fields below are
 * validated views into it, unknown fields survive a round trip.
 */
#ifndef STRATA_OCI_CONFIG_H
#define STRATA_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "oci/digest.h"
#include "util/util.h"

struct oci_history {
	const char *created;    /* RFC 3339 or NULL */
	const char *created_by; /* NULL when absent */
	const char *author;
	const char *comment;
	bool empty_layer;
};

struct oci_config {
	json_t *json;             /* owned reference */
	const char *architecture; /* required */
	const char *os;           /* required */
	const char *os_version;   /* "os.version", NULL when absent */
	const char *variant;
	const char *created;      /* RFC 3339 or NULL */
	const char *author;
	/*
	 * The execution parameters ("config"), validated: User, WorkingDir,
	 * StopSignal strings; Env, Entrypoint, Cmd, Shell, OnBuild arrays of
	 * strings (Entrypoint/Cmd may be null); Labels object of strings;
	 * ExposedPorts, Volumes, Healthcheck objects; ArgsEscaped boolean.
	 * NULL when absent.
	 */
	json_t *exec;
	struct oci_digest *diff_ids; /* rootfs.diff_ids */
	size_t n_diff_ids;
	struct oci_history *history;
	size_t n_history;
};

int oci_config_decode(const char *data, size_t len, const char *what, struct oci_config *out,
		      struct strata_error **err);
/* Takes a new reference to j. */
int oci_config_from_json(json_t *j, const char *what, struct oci_config *out, struct strata_error **err);
char *oci_config_encode(const struct oci_config *c, size_t *len);
void oci_config_release(struct oci_config *c);
/* Number of history entries that are not empty_layer. */
size_t oci_config_nonempty_history(const struct oci_config *c);

/* Parse an RFC 3339 time ("2024-01-02T03:04:05.123Z", "+02:00" offsets). @return 0 or -1. */
int oci_time_parse(const char *s, time_t *out);
/* Format t as "2024-01-02T03:04:05Z" into buf (>= 32 bytes). */
void oci_time_format(time_t t, char *buf, size_t n);

static inline void oci_config_releasep(struct oci_config *c) { oci_config_release(c); }
#define cleanup_config __attribute__((cleanup(oci_config_releasep)))

#endif
