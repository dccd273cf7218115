/*
 * mediatype.h — the media types of the OCI image spec and of Docker's
 * image manifest v2 schema 2, and questions about them.
 */
#ifndef STRATA_OCI_MEDIATYPE_H
#define STRATA_OCI_MEDIATYPE_H

#include <stdbool.h>

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"
#define OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MT_LAYER_ND "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define OCI_MT_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define OCI_MT_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define DOCKER_MT_PLUGIN_CONFIG "application/vnd.docker.plugin.v1+json"
/* schema 1 (legacy, recognised only to reject with a clear message) */
#define DOCKER_MT_MANIFEST_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_MT_MANIFEST_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

enum oci_compression {
	OCI_COMPRESSION_NONE = 0,
	OCI_COMPRESSION_GZIP,
	OCI_COMPRESSION_ZSTD,
	OCI_COMPRESSION_UNKNOWN,
};

/* An image manifest (OCI or Docker schema 2). */
bool oci_mt_is_manifest(const char *mt);
/* An index / manifest list. */
bool oci_mt_is_index(const char *mt);
/* Any layer media type strata can apply. */
bool oci_mt_is_layer(const char *mt);
/* An image config (OCI or Docker). */
bool oci_mt_is_config(const char *mt);
/* Compression of a layer media type (NONE for plain tar; UNKNOWN for non-layers). */
enum oci_compression oci_mt_layer_compression(const char *mt);
/* "gzip", "zstd", "none" */
const char *oci_compression_name(enum oci_compression c);

#endif
