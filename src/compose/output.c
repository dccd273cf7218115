/*
 * output.c — the resolved model as `docker compose config` prints it: JSON
 * (jansson) and YAML (libyaml's emitter over the same JSON tree).
 */
#include "compose/internal.h"

#include <string.h>
#include <strings.h>
#include <yaml.h>

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *kv_json(const struct compose_kv *kv, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, kv[i].key, kv[i].value ? json_string(kv[i].value) : json_null());
	return o;
}

static json_t *build_json(const struct compose_build *b)
{
	json_t *o = json_object();
	json_object_set_new(o, "context", json_string(b->context));
	if (b->dockerfile)
		json_object_set_new(o, "dockerfile", json_string(b->dockerfile));
	if (b->dockerfile_inline)
		json_object_set_new(o, "dockerfile_inline", json_string(b->dockerfile_inline));
	if (b->nargs)
		json_object_set_new(o, "args", kv_json(b->args, b->nargs));
	if (b->target)
		json_object_set_new(o, "target", json_string(b->target));
	if (b->ncache_from)
		json_object_set_new(o, "cache_from", strv_json(b->cache_from, b->ncache_from));
	if (b->ncache_to)
		json_object_set_new(o, "cache_to", strv_json(b->cache_to, b->ncache_to));
	if (b->nlabels)
		json_object_set_new(o, "labels", kv_json(b->labels, b->nlabels));
	if (b->ntags)
		json_object_set_new(o, "tags", strv_json(b->tags, b->ntags));
	if (b->network)
		json_object_set_new(o, "network", json_string(b->network));
	if (b->nsecrets) {
		json_t *a = json_array();
		for (size_t i = 0; i < b->nsecrets; i++)
			json_array_append_new(a, json_pack("{s:s, s:s}", "source", b->secrets[i].source,
							   "target", b->secrets[i].id));
		json_object_set_new(o, "secrets", a);
	}
	if (b->nadditional_contexts)
		json_object_set_new(o, "additional_contexts",
				    kv_json(b->additional_contexts, b->nadditional_contexts));
	if (b->no_cache)
		json_object_set_new(o, "no_cache", json_true());
	if (b->pull)
		json_object_set_new(o, "pull", json_true());
	if (b->nplatforms)
		json_object_set_new(o, "platforms", strv_json(b->platforms, b->nplatforms));
	if (b->nextra_hosts)
		json_object_set_new(o, "extra_hosts", strv_json(b->extra_hosts, b->nextra_hosts));
	if (b->shm_size)
		json_object_set_new(o, "shm_size", json_string(b->shm_size));
	if (b->nssh)
		json_object_set_new(o, "ssh", strv_json(b->ssh, b->nssh));
	return o;
}

json_t *compose_project_to_json(const struct compose_project *p)
{
	json_t *root = json_object();
	json_object_set_new(root, "name", json_string(p->name));
	json_t *svcs = json_object();
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];
		if (!compose_service_active(p, s))
			continue; /* as `docker compose config`: disabled profiles are left out */
		json_t *o = json_deep_copy(s->extra);
		if (s->image)
			json_object_set_new(o, "image", json_string(s->image));
		if (s->build)
			json_object_set_new(o, "build", build_json(s->build));
		json_object_set_new(svcs, s->name, o);
	}
	json_object_set_new(root, "services", svcs);
	if (p->nsecrets) {
		json_t *sec = json_object();
		for (size_t i = 0; i < p->nsecrets; i++)
			json_object_set(sec, p->secrets[i].name, p->secrets[i].extra);
		json_object_set_new(root, "secrets", sec);
	}
	json_object_update(root, p->extra);
	return root;
}

/* ------------------------------------------------------------------------- */

struct emit {
	yaml_emitter_t e;
	struct strata_buf *out;
};

static int write_cb(void *data, unsigned char *buf, size_t size)
{
	struct strata_buf *b = data;
	strata_buf_add(b, buf, size);
	return 1;
}

static int emit_ev(struct emit *em, yaml_event_t *ev, struct strata_error **err)
{
	if (!yaml_emitter_emit(&em->e, ev))
		return strata_error_make(err, 0, "yaml emitter: %s",
					 em->e.problem ? em->e.problem : "error");
	return 0;
}

static bool looks_typed(const char *s)
{
	static const char *const words[] = { "", "~", "null", "Null", "NULL", "true", "True", "TRUE",
					     "false", "False", "FALSE", "yes", "no", "on", "off",
					     "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF", "y", "n",
					     "Y", "N", NULL };
	for (const char *const *w = words; *w; w++)
		if (!strcmp(s, *w))
			return true;
	/* "5000:5000", "07:30": base-60 numbers in YAML 1.1 */
	if (strchr(s, ':') && strspn(s, "0123456789:") == strlen(s))
		return true;
	/* numbers: [-+]?(digits[.digits*]|.digits)([eE][-+]?digits)?, 0x.., 0o.., .inf, .nan */
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!strcasecmp(p, ".inf") || !strcasecmp(s, ".nan"))
		return true;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && p[2])
		return true;
	size_t d = strspn(p, "0123456789");
	p += d;
	if (*p == '.') {
		size_t f = strspn(p + 1, "0123456789");
		if (!d && !f)
			return false;
		p += 1 + f;
	} else if (!d) {
		return false;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		size_t e = strspn(p, "0123456789");
		if (!e)
			return false;
		p += e;
	}
	return !*p;
}

static int emit_scalar(struct emit *em, const char *s, bool plain_ok, struct strata_error **err)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (!plain_ok)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1, style);
	return emit_ev(em, &ev, err);
}

static int emit_json(struct emit *em, const json_t *j, struct strata_error **err)
{
	yaml_event_t ev;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (emit_ev(em, &ev, err) < 0)
			return -1;
		/* keys sorted, as compose prints them */
		size_t n = json_object_size(j), k = 0;
		const char **keys = xcalloc(n + 1, sizeof(*keys));
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)j, key, v)
			keys[k++] = key;
		for (size_t a = 1; a < n; a++)
			for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
				const char *t = keys[b];
				keys[b] = keys[b - 1];
				keys[b - 1] = t;
			}
		for (size_t i = 0; i < n; i++) {
			if (emit_scalar(em, keys[i], !looks_typed(keys[i]), err) < 0 ||
			    emit_json(em, json_object_get(j, keys[i]), err) < 0) {
				free(keys);
				return -1;
			}
		}
		free(keys);
		yaml_mapping_end_event_initialize(&ev);
		return emit_ev(em, &ev, err);
	}
	case JSON_ARRAY: {
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (emit_ev(em, &ev, err) < 0)
			return -1;
		for (size_t i = 0; i < json_array_size(j); i++)
			if (emit_json(em, json_array_get(j, i), err) < 0)
				return -1;
		yaml_sequence_end_event_initialize(&ev);
		return emit_ev(em, &ev, err);
	}
	case JSON_STRING:
		return emit_scalar(em, json_string_value(j), !looks_typed(json_string_value(j)), err);
	case JSON_INTEGER: {
		char b[32];
		snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return emit_scalar(em, b, true, err);
	}
	case JSON_REAL: {
		char b[64];
		snprintf(b, sizeof(b), "%.17g", json_real_value(j));
		return emit_scalar(em, b, true, err);
	}
	case JSON_TRUE:
		return emit_scalar(em, "true", true, err);
	case JSON_FALSE:
		return emit_scalar(em, "false", true, err);
	default:
		return emit_scalar(em, "null", true, err);
	}
}

int compose_json_to_yaml(const json_t *j, char **out, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	struct emit em = { .out = &b };
	yaml_event_t ev;
	int rc = -1;
	if (!yaml_emitter_initialize(&em.e))
		strata_oom();
	yaml_emitter_set_output(&em.e, write_cb, &b);
	yaml_emitter_set_unicode(&em.e, 1);
	yaml_emitter_set_width(&em.e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (emit_ev(&em, &ev, err) < 0)
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (emit_ev(&em, &ev, err) < 0 || emit_json(&em, j, err) < 0)
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (emit_ev(&em, &ev, err) < 0)
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (emit_ev(&em, &ev, err) < 0)
		goto out;
	*out = strata_buf_detach(&b, NULL);
	rc = 0;
out:
	yaml_emitter_delete(&em.e);
	return rc;
}
