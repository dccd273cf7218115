/*
 * retention_policy.c — the retention policy file of `strata registry serve
 * --retention-policy` (and `strata registry retention --policy`): a list of
 * rules {repository, match, keep-last, older-than}, each applied as
 * registry_retention. This file checks a document already read into JSON
 * (with the line of every node) and names FILE:LINE: rule N: FIELD in
 * every error; reading the YAML is the caller's (compose_yaml_to_json).
 */
#include "registry/server/internal.h"

#include <regex.h>
#include <string.h>

int registry_age_parse(const char *s, int64_t *out)
{
	char *end = NULL;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0)
		return -1;
	long long mul = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
		      : !strcmp(end, "d") ? 86400 : 0;
	if (!mul || v > INT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

struct where {
	const char *file;
	const json_t *lines;
	size_t rule;            /* 0-based; printed 1-based */
};

static int line_of(const struct where *w, const char *field)
{
	char ptr[64];
	if (field)
		snprintf(ptr, sizeof(ptr), "/%zu/%s", w->rule, field);
	else
		snprintf(ptr, sizeof(ptr), "/%zu", w->rule);
	json_t *l = json_object_get(w->lines, ptr);
	return l ? (int)json_integer_value(l) : 1;
}

static int rule_error(struct strata_error **err, const struct where *w, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int rule_error(struct strata_error **err, const struct where *w, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	int r = strata_error_makec(err, STRATA_E_CONFIG, 0, "%s:%d: rule %zu%s%s: %s", w->file, line_of(w, field),
				   w->rule + 1, field ? ": " : "", field ? field : "", msg);
	free(msg);
	return r;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int get_text(const json_t *rule, const char *field, const struct where *w, char **out,
		    struct strata_error **err)
{
	const json_t *v = json_object_get(rule, field);
	if (!v)
		return rule_error(err, w, NULL, "%s is required", field);
	if (!json_is_string(v) || !*json_string_value(v))
		return rule_error(err, w, field, "expected a non-empty string, got %s", type_name(v));
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int parse_rule(const json_t *rule, const struct where *w, struct registry_retention_rule *r,
		      struct strata_error **err)
{
	static const char *const known[] = { "repository", "match", "keep-last", "older-than", NULL };
	r->line = line_of(w, NULL);
	if (!json_is_object(rule))
		return rule_error(err, w, NULL, "expected a mapping (repository, match, keep-last, older-than), got %s",
				  type_name(rule));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)rule, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(key, *k);
		if (!ok)
			return rule_error(err, w, key, "unknown key (expected repository, match, keep-last, older-than)");
	}
	if (get_text(rule, "repository", w, &r->repository, err) < 0 || get_text(rule, "match", w, &r->match, err) < 0)
		return -1;
	regex_t re;
	int rc = regcomp(&re, r->match, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[256];
		regerror(rc, &re, why, sizeof(why));
		return rule_error(err, w, "match", "'%s': %s", r->match, why);
	}
	regfree(&re);
	v = json_object_get(rule, "keep-last");
	if (!v)
		return rule_error(err, w, NULL, "keep-last is required");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
		return rule_error(err, w, "keep-last", "expected a whole number from 0 to 1000000, got %s",
				  json_is_integer(v) ? "a number out of range" : type_name(v));
	r->keep_last = (unsigned)json_integer_value(v);
	v = json_object_get(rule, "older-than");
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		r->older_than = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || registry_age_parse(json_string_value(v), &r->older_than) < 0)
		return rule_error(err, w, "older-than", "expected SECONDS or a number with s, m, h or d (90m, 12h, 30d), got %s%s%s",
				  json_is_string(v) ? "'" : type_name(v), json_is_string(v) ? json_string_value(v) : "",
				  json_is_string(v) ? "'" : "");
	return 0;
}

int registry_retention_policy_parse(const json_t *doc, const json_t *lines, const char *file,
				    struct registry_retention_policy **out, struct strata_error **err)
{
	*out = NULL;
	if (!json_is_array(doc)) {
		json_t *l = json_object_get(lines, "");
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "%s:%d: expected a list of rules (repository, match, keep-last, older-than), got %s",
					  file, l ? (int)json_integer_value(l) : 1, type_name(doc));
	}
	struct registry_retention_policy *p = xcalloc(1, sizeof(*p));
	p->file = xstrdup(file);
	p->rules = xcalloc(json_array_size(doc) + 1, sizeof(*p->rules));
	size_t i;
	json_t *rule;
	json_array_foreach(doc, i, rule) {
		struct where w = { file, lines, i };
		p->nrules++;
		if (parse_rule(rule, &w, &p->rules[i], err) < 0) {
			registry_retention_policy_free(p);
			return -1;
		}
	}
	*out = p;
	return 0;
}

void registry_retention_policy_free(struct registry_retention_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].repository);
		free(p->rules[i].match);
	}
	free(p->rules);
	free(p->file);
	free(p);
}
