/*
 * oci.h — the oci module's boundary: digests, media types, references,
 * descriptors, platforms and the manifest / index / config models. Knows
 * nothing of storage or the network.
 *
 * The models keep the parsed jansson object as their backing store and
 * expose validated, typed, borrowed views of the fields strata uses; unknown
 * fields are kept in the object and survive decode -> encode unchanged.
 */
#ifndef STRATA_OCI_H
#define STRATA_OCI_H

#include "oci/digest.h"
#include "oci/mediatype.h"
#include "oci/reference.h"
#include "oci/platform.h"
#include "oci/descriptor.h"
#include "oci/manifest.h"
#include "oci/index.h"
#include "oci/config.h"

#endif
