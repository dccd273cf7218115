#include "oci/config.h"
#include "oci/internal.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "oci/descriptor.h"

void oci_config_release(struct oci_config *c)
{
	free(c->diff_ids);
	free(c->history);
	if (c->json)
		json_decref(c->json);
	memset(c, 0, sizeof(*c));
}

static int check_exec(json_t *e, const char *what, struct strata_error **err)
{
	static const char *strings[] = { "User", "WorkingDir", "StopSignal" };
	static const char *arrays[] = { "Env", "Entrypoint", "Cmd", "Shell", "OnBuild" };
	static const char *objects[] = { "ExposedPorts", "Volumes", "Healthcheck" };
	const char *s;
	bool b;
	json_t *o;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(strings); i++)
		if (strata_json_get_string(e, strings[i], false, what, &s, err) < 0)
			return -1;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(objects); i++)
		if (strata_json_get_object(e, objects[i], false, what, &o, err) < 0)
			return -1;
	if (strata_json_get_bool(e, "ArgsEscaped", false, what, &b, err) < 0)
		return -1;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(arrays); i++) {
		cleanup_free char *w = xasprintf("%s.%s", what, arrays[i]);
		if (oci_json_check_string_array(json_object_get(e, arrays[i]), w, err) < 0)
			return -1;
	}
	cleanup_free char *w = xasprintf("%s.Labels", what);
	return oci_json_check_string_map(json_object_get(e, "Labels"), w, err);
}

static int decode(struct oci_config *c, const char *what, struct strata_error **err)
{
	json_t *j = c->json, *rootfs = NULL, *ids = NULL, *hist = NULL;
	if (!json_is_object(j))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be a JSON object", what);
	if (strata_json_get_string(j, "architecture", true, what, &c->architecture, err) < 0 ||
	    strata_json_get_string(j, "os", true, what, &c->os, err) < 0 ||
	    strata_json_get_string(j, "os.version", false, what, &c->os_version, err) < 0 ||
	    strata_json_get_string(j, "variant", false, what, &c->variant, err) < 0 ||
	    strata_json_get_string(j, "created", false, what, &c->created, err) < 0 ||
	    strata_json_get_string(j, "author", false, what, &c->author, err) < 0 ||
	    strata_json_get_object(j, "config", false, what, &c->exec, err) < 0 ||
	    strata_json_get_object(j, "rootfs", true, what, &rootfs, err) < 0 ||
	    strata_json_get_array(j, "history", false, what, &hist, err) < 0)
		return -1;
	time_t t;
	if (c->created && oci_time_parse(c->created, &t) < 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: created: invalid RFC 3339 time '%s'",
					  what, c->created);
	if (c->exec) {
		cleanup_free char *w = xasprintf("%s: config", what);
		if (check_exec(c->exec, w, err) < 0)
			return -1;
	}
	cleanup_free char *rw = xasprintf("%s: rootfs", what);
	const char *type = NULL;
	if (strata_json_get_string(rootfs, "type", true, rw, &type, err) < 0 ||
	    strata_json_get_array(rootfs, "diff_ids", true, rw, &ids, err) < 0)
		return -1;
	if (strcmp(type, "layers"))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s.type: must be 'layers', not '%s'", rw,
					  type);
	size_t n = json_array_size(ids);
	c->diff_ids = xcalloc(n ? n : 1, sizeof(*c->diff_ids));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		if (!s)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s.diff_ids[%zu]: must be a string",
						  rw, i);
		if (oci_digest_parse(s, &c->diff_ids[i], err) < 0)
			return strata_error_wrap(err, "%s.diff_ids[%zu]", rw, i);
		c->n_diff_ids = i + 1;
	}
	n = hist ? json_array_size(hist) : 0;
	c->history = xcalloc(n ? n : 1, sizeof(*c->history));
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(hist, i);
		struct oci_history *o = &c->history[i];
		cleanup_free char *w = xasprintf("%s: history[%zu]", what, i);
		if (!json_is_object(h))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: must be an object", w);
		if (strata_json_get_string(h, "created", false, w, &o->created, err) < 0 ||
		    strata_json_get_string(h, "created_by", false, w, &o->created_by, err) < 0 ||
		    strata_json_get_string(h, "author", false, w, &o->author, err) < 0 ||
		    strata_json_get_string(h, "comment", false, w, &o->comment, err) < 0 ||
		    strata_json_get_bool(h, "empty_layer", false, w, &o->empty_layer, err) < 0)
			return -1;
		c->n_history = i + 1;
	}
	if (c->n_history > 0 && oci_config_nonempty_history(c) != c->n_diff_ids)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "%s: history has %zu non-empty entries but rootfs.diff_ids has %zu",
					  what, oci_config_nonempty_history(c), c->n_diff_ids);
	return 0;
}

size_t oci_config_nonempty_history(const struct oci_config *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_history; i++)
		n += !c->history[i].empty_layer;
	return n;
}

OCI_MODEL_JSON_FUNCS(config, struct oci_config)

int oci_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		off = sign * (((p[1] - '0') * 10 + (p[2] - '0')) * 3600L + ((p[4] - '0') * 10 + (p[5] - '0')) * 60L);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

void oci_time_format(time_t t, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
