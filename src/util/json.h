/*
 * json.h — helpers over jansson: parsing with file:line:column errors, typed
 * field access with errors that name the field, and stable serialisation.
 *
 * jansson objects keep insertion order, so a document decoded and encoded
 * again keeps its field order and every unknown field.
 */
#ifndef STRATA_UTIL_JSON_H
#define STRATA_UTIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

static inline void strata_json_decrefp(json_t **j) { if (*j) json_decref(*j); }
#define cleanup_json __attribute__((cleanup(strata_json_decrefp)))

/*
 * Parse len bytes of JSON. `what` names the source in errors
 * ("index.json:3:14: ..."). Rejects duplicate keys and trailing data.
 * @return 0 with a new reference in *out, or -1.
 */
int strata_json_parse(const char *data, size_t len, const char *what, json_t **out,
		      struct strata_error **err);
/* Read and parse a file of at most max bytes. */
int strata_json_load_file(const char *path, size_t max, json_t **out, struct strata_error **err);
/*
 * As strata_json_load_file for a file holding a JSON object; a missing file
 * is an empty object. @return 0 with *out (new reference), or -1.
 */
int strata_json_load_object(const char *path, size_t max, json_t **out, struct strata_error **err);

/*
 * Serialise compactly, keys in insertion order, no trailing newline.
 * @return newly allocated string (aborts on OOM).
 */
char *strata_json_dump(const json_t *j, size_t *len);
/* A new object: obj's members, each string value replaced by "sha256:<hex>" of its bytes. */
json_t *strata_json_digest_values(const json_t *obj);
/* Indented (2 spaces) form for humans; trailing newline. */
char *strata_json_dump_pretty(const json_t *j);

/*
 * Typed getters. `what` names the containing document in errors
 * ("manifest: field 'schemaVersion' must be an integer").
 * If the key is absent: required -> error; optional -> *out untouched, return 0.
 * @return 1 when found, 0 when absent and optional, -1 on error.
 */
int strata_json_get_string(const json_t *obj, const char *key, bool required, const char *what,
			   const char **out, struct strata_error **err);
int strata_json_get_int(const json_t *obj, const char *key, bool required, const char *what,
			int64_t *out, struct strata_error **err);
int strata_json_get_bool(const json_t *obj, const char *key, bool required, const char *what,
			 bool *out, struct strata_error **err);
int strata_json_get_object(const json_t *obj, const char *key, bool required, const char *what,
			   json_t **out, struct strata_error **err);
int strata_json_get_array(const json_t *obj, const char *key, bool required, const char *what,
			  json_t **out, struct strata_error **err);

/*
 * JSON strings from bytes (util/utf8.h): strata_json_text maps invalid UTF-8
 * to U+FFFD (configs, reports), strata_json_exact injectively (cache-key
 * inputs). Never NULL: a NULL s gives JSON null. The _set variants use the
 * same mapping for an object's key (the value is stolen, as with _set_new).
 */
json_t *strata_json_text(const char *s);
json_t *strata_json_exact(const char *s);
int strata_json_set_text(json_t *obj, const char *key, json_t *value);
int strata_json_set_exact(json_t *obj, const char *key, json_t *value);

#endif
