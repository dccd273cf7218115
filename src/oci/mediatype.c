#include "oci/mediatype.h"

#include <string.h>

bool oci_mt_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, OCI_MT_MANIFEST) || !strcmp(mt, DOCKER_MT_MANIFEST));
}

bool oci_mt_is_index(const char *mt)
{
	return mt && (!strcmp(mt, OCI_MT_INDEX) || !strcmp(mt, DOCKER_MT_LIST));
}

bool oci_mt_is_config(const char *mt)
{
	return mt && (!strcmp(mt, OCI_MT_CONFIG) || !strcmp(mt, DOCKER_MT_CONFIG));
}

enum oci_compression oci_mt_layer_compression(const char *mt)
{
	if (!mt)
		return OCI_COMPRESSION_UNKNOWN;
	if (!strcmp(mt, OCI_MT_LAYER) || !strcmp(mt, OCI_MT_LAYER_ND))
		return OCI_COMPRESSION_NONE;
	if (!strcmp(mt, OCI_MT_LAYER_GZIP) || !strcmp(mt, OCI_MT_LAYER_ND_GZIP) ||
	    !strcmp(mt, DOCKER_MT_LAYER) || !strcmp(mt, DOCKER_MT_LAYER_FOREIGN))
		return OCI_COMPRESSION_GZIP;
	if (!strcmp(mt, OCI_MT_LAYER_ZSTD) || !strcmp(mt, OCI_MT_LAYER_ND_ZSTD))
		return OCI_COMPRESSION_ZSTD;
	return OCI_COMPRESSION_UNKNOWN;
}

bool oci_mt_is_layer(const char *mt)
{
	return oci_mt_layer_compression(mt) != OCI_COMPRESSION_UNKNOWN;
}

const char *oci_compression_name(enum oci_compression c)
{
	switch (c) {
	case OCI_COMPRESSION_NONE: return "none";
	case OCI_COMPRESSION_GZIP: return "gzip";
	case OCI_COMPRESSION_ZSTD: return "zstd";
	default: return "unknown";
	}
}
