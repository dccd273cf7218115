/*
 * layerlist.h — the build's typed layer state: one layer as a struct (its
 * blob's descriptor and its diff_id), and a growable array of them, bottom
 * layer first.
 *
 * The engine keeps a stage's layers, an image's layers and the table of
 * layers only in a registry as these arrays; JSON is made only at the
 * boundaries (the manifest's "layers", the config's rootfs.diff_ids, cache
 * records, the hooks). A stage's snapshots are its layers' diff_ids: the
 * snapshot of a layer is build/snapshots/<diff_id's encoded part>, so the
 * chain to mount is the array itself.
 *
 * Digests are struct oci_digest, whole: a sha512 diff_id (128 hex digits)
 * goes through as it came, never cut to a char[72].
 */
#ifndef STRATA_BUILD_LAYERLIST_H
#define STRATA_BUILD_LAYERLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "oci/digest.h"
#include "util/util.h"

struct build_layer {
	char *media_type;          /* owned, never NULL in a list */
	struct oci_digest digest;  /* the blob's (compressed) digest */
	int64_t size;              /* the blob's size, >= 0 */
	struct oci_digest diff_id; /* the uncompressed digest (sha256 or sha512) */
	json_t *extra;             /* the descriptor's other members (annotations, urls...)
				    * as they came, or NULL; a reference owned */
};

/* Free what l owns and zero it (NULL allowed). */
void build_layer_release(struct build_layer *l);
/* A deep copy of src into dst (dst is overwritten, not released). */
void build_layer_copy(struct build_layer *dst, const struct build_layer *src);

/*
 * Decode an OCI descriptor object (mediaType, digest, size required; every
 * other member kept in extra) with its diff_id. what: how errors name it
 * ("cache entry sha256:...", "layers[2]"). @return 0 with *out filled
 * (release it), or -1 (STRATA_E_INVALID naming what and the field).
 */
int build_layer_from_desc(const json_t *desc, const struct oci_digest *diff_id, const char *what,
			  struct build_layer *out, struct strata_error **err);
/* The layer's descriptor {mediaType, digest, size, extra...}: a new reference. */
json_t *build_layer_desc(const struct build_layer *l);
/* The snapshot id of the layer: the encoded part of its diff_id (borrowed). */
static inline const char *build_layer_snapshot_id(const struct build_layer *l)
{
	return l->diff_id.hex;
}

/*
 * A growable array, bottom first. BUILD_LAYERS_INIT (or zeroing) makes an
 * empty one; v may be NULL while n is 0.
 */
struct build_layers {
	struct build_layer *v;
	size_t n, cap;
};
#define BUILD_LAYERS_INIT { NULL, 0, 0 }

void build_layers_release(struct build_layers *ls);
/* Append a deep copy of l. @return the new element (valid until the next change). */
struct build_layer *build_layers_add(struct build_layers *ls, const struct build_layer *l);
/* Append a layer built from its fields (media_type copied). */
struct build_layer *build_layers_push(struct build_layers *ls, const char *media_type, const struct oci_digest *digest,
				      int64_t size, const struct oci_digest *diff_id);
/* dst (released first) becomes a deep copy of src. */
void build_layers_copy(struct build_layers *dst, const struct build_layers *src);
/* Index of the first layer whose diff_id has the encoded part hex, or -1. */
ssize_t build_layers_find(const struct build_layers *ls, const char *hex);
/* Remove element i (the ones above move down). */
void build_layers_remove(struct build_layers *ls, size_t i);

/* The manifest's "layers": an array of descriptors (new reference). */
json_t *build_layers_descs(const struct build_layers *ls);
/* rootfs.diff_ids: an array of "alg:hex" strings (new reference). */
json_t *build_layers_diff_ids(const struct build_layers *ls);
/*
 * Set config's rootfs to {"type": "layers", "diff_ids": <ls's>}, keeping
 * any other member of rootfs: the config always says what the layers are.
 */
void build_layers_set_rootfs(const struct build_layers *ls, json_t *config);
/*
 * Decode parallel arrays of descriptors and diff_id strings (a manifest's
 * layers and its config's rootfs.diff_ids) into ls (appended).
 * @return 0, or -1 naming what and the index that is wrong.
 */
int build_layers_from_json(struct build_layers *ls, const json_t *descs, const json_t *diff_ids, const char *what,
			   struct strata_error **err);

#endif
