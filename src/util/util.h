/*
 * util.h — the util module's boundary: include this one header.
 * util knows nothing of the rest of strata.
 */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include "util/xalloc.h"
#include "util/error.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/utf8.h"
#include "util/log.h"
#include "util/sink.h"
#include "util/banned.h"

#endif
