/*
 * utf8.h — names are bytes; JSON strings are UTF-8. The bridges between them.
 *
 * File names, link targets and Dockerfile text may hold any byte but NUL;
 * jansson refuses strings that are not UTF-8 (json_string returns NULL). So
 * every string that may come from a name or a Dockerfile goes into JSON
 * through one of two mappings, both the identity on valid UTF-8 (existing
 * documents and cache keys do not change):
 *
 * - lossy (image configs, reports, messages): each byte that does not start a
 *   valid sequence becomes U+FFFD, as Go's encoding/json writes it, so the
 *   config of an image is what docker/BuildKit would write;
 * - exact (cache-key inputs): injective, so two different byte strings never
 *   give the same key. A byte b that does not start a valid sequence becomes
 *   U+10FF00+b (U+10FF80..U+10FFFF, private use of plane 16), and a code
 *   point in U+10FF00..U+10FFFF already in the input is written as U+10FF00
 *   followed by U+10FF00+(c & 0xFF).
 *
 * Valid means strict UTF-8: shortest form, no surrogates, at most U+10FFFF.
 */
#ifndef STRATA_UTIL_UTF8_H
#define STRATA_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the n bytes at s are strict UTF-8. */
bool strata_utf8_valid(const char *s, size_t n);
/* @return a new string: s with invalid bytes as U+FFFD (a copy of s if valid). */
char *strata_utf8_lossy(const char *s);
/* @return a new string: the exact (injective) mapping of s described above. */
char *strata_utf8_exact(const char *s);

#endif
