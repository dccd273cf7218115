/*
 * oci.h — the oci module's boundary: digests, media types, references,
 * descriptors and the manifest / index / config models. Knows nothing of
 * storage or the network.
 */
#ifndef STRATA_OCI_H
#define STRATA_OCI_H

#include "oci/digest.h"
#include "oci/mediatype.h"
#include "oci/reference.h"

#endif
