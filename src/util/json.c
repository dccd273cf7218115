#include "util/json.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/utf8.h"
#include "util/hash.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

int strata_json_parse(const char *data, size_t len, const char *what, json_t **out,
		      struct strata_error **err)
{
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s:%d:%d: invalid JSON: %s", what,
					  je.line, je.column, je.text);
	*out = j;
	return 0;
}

json_t *strata_json_digest_values(const json_t *obj)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (!json_is_string(v)) {
			json_object_set(o, k, v);
			continue;
		}
		char hex[65];
		strata_sha256_hex(json_string_value(v), json_string_length(v), hex);
		json_object_set_new(o, k, json_sprintf("sha256:%s", hex));
	}
	return o;
}

int strata_json_load_file(const char *path, size_t max, json_t **out, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, max, err) < 0)
		return -1;
	return strata_json_parse(b.data, b.len, path, out, err);
}

int strata_json_load_object(const char *path, size_t max, json_t **out, struct strata_error **err)
{
	if (!strata_path_exists(path)) {
		*out = json_object();
		return 0;
	}
	if (strata_json_load_file(path, max, out, err) < 0)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': not a JSON object", path);
	}
	return 0;
}

char *strata_json_dump(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (!s)
		strata_oom();
	if (len)
		*len = strlen(s);
	return s;
}

char *strata_json_dump_pretty(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (!s)
		strata_oom();
	char *r = xasprintf("%s\n", s);
	free(s);
	return r;
}

static int get_field(const json_t *obj, const char *key, bool required, const char *what,
		     json_t **out, struct strata_error **err)
{
	if (!json_is_object(obj))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: expected a JSON object", what);
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: missing field '%s'", what, key);
		return 0;
	}
	*out = v;
	return 1;
}

static int type_error(const char *what, const char *key, const char *type, struct strata_error **err)
{
	return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: field '%s' must be %s", what, key, type);
}

int strata_json_get_string(const json_t *obj, const char *key, bool required, const char *what,
			   const char **out, struct strata_error **err)
{
	json_t *v = NULL;
	int r = get_field(obj, key, required, what, &v, err);
	if (r <= 0)
		return r;
	if (!json_is_string(v))
		return type_error(what, key, "a string", err);
	*out = json_string_value(v);
	return 1;
}

int strata_json_get_int(const json_t *obj, const char *key, bool required, const char *what,
			int64_t *out, struct strata_error **err)
{
	json_t *v = NULL;
	int r = get_field(obj, key, required, what, &v, err);
	if (r <= 0)
		return r;
	if (!json_is_integer(v))
		return type_error(what, key, "an integer", err);
	*out = (int64_t)json_integer_value(v);
	return 1;
}

int strata_json_get_bool(const json_t *obj, const char *key, bool required, const char *what,
			 bool *out, struct strata_error **err)
{
	json_t *v = NULL;
	int r = get_field(obj, key, required, what, &v, err);
	if (r <= 0)
		return r;
	if (!json_is_boolean(v))
		return type_error(what, key, "a boolean", err);
	*out = json_is_true(v);
	return 1;
}

int strata_json_get_object(const json_t *obj, const char *key, bool required, const char *what,
			   json_t **out, struct strata_error **err)
{
	json_t *v = NULL;
	int r = get_field(obj, key, required, what, &v, err);
	if (r <= 0)
		return r;
	if (!json_is_object(v))
		return type_error(what, key, "an object", err);
	*out = v;
	return 1;
}

int strata_json_get_array(const json_t *obj, const char *key, bool required, const char *what,
			  json_t **out, struct strata_error **err)
{
	json_t *v = NULL;
	int r = get_field(obj, key, required, what, &v, err);
	if (r <= 0)
		return r;
	if (!json_is_array(v))
		return type_error(what, key, "an array", err);
	*out = v;
	return 1;
}

json_t *strata_json_text(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	cleanup_free char *m = strata_utf8_lossy(s);
	return json_string(m);
}

json_t *strata_json_exact(const char *s)
{
	if (!s)
		return json_null();
	cleanup_free char *m = strata_utf8_exact(s);
	return json_string(m);
}

int strata_json_set_text(json_t *obj, const char *key, json_t *value)
{
	cleanup_free char *k = strata_utf8_lossy(key);
	return json_object_set_new(obj, k, value);
}

int strata_json_set_exact(json_t *obj, const char *key, json_t *value)
{
	cleanup_free char *k = strata_utf8_exact(key);
	return json_object_set_new(obj, k, value);
}
