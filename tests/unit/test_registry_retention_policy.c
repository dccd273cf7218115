/* test_registry_retention_policy.c — the retention policy file: YAML or JSON
 * through compose_yaml_to_json, checked by registry_retention_policy_parse
 * (every error names FILE:LINE: rule N: FIELD), and registry_age_parse. */
#include "tap.h"
#include "compose/compose.h"
#include "registry/server/server.h"
#include "util/util.h"

#include <string.h>

static char *show(const char *text)
{
	struct strata_error *err = NULL;
	json_t *doc = NULL, *lines = NULL;
	struct registry_retention_policy *p = NULL;
	if (compose_yaml_to_json(text, strlen(text), "p.yaml", &doc, &lines, &err) < 0 ||
	    registry_retention_policy_parse(doc, lines, "p.yaml", &p, &err) < 0) {
		char *m = strata_error_string(err);
		strata_error_free(err);
		char *r = xasprintf("error: %s", m);
		free(m);
		json_decref(doc);
		json_decref(lines);
		return r;
	}
	struct strata_buf b = STRATA_BUF_INIT;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct registry_retention_rule *r = &p->rules[i];
		strata_buf_addf(&b, "%s[%d %s %s %u %lld]", i ? " " : "", r->line, r->repository, r->match, r->keep_last,
				(long long)r->older_than);
	}
	registry_retention_policy_free(p);
	json_decref(doc);
	json_decref(lines);
	return strata_buf_detach(&b, NULL);
}

#define CHECK(text, want, name)                                                                  \
	do {                                                                                     \
		char *s_ = show(text);                                                           \
		is_str(s_, want, name);                                                          \
		free(s_);                                                                        \
	} while (0)

static const char *age(const char *s)
{
	static char out[32];
	int64_t v = 0;
	if (registry_age_parse(s, &v) < 0)
		return "bad";
	snprintf(out, sizeof(out), "%lld", (long long)v);
	return out;
}

int main(void)
{
	CHECK("# none\n[]\n", "", "an empty list: no rules");
	CHECK("- repository: \"ci/*\"\n  match: ^pr-\n  keep-last: 3\n- repository: x\n  match: y\n  keep-last: 0\n"
	      "  older-than: 12h\n",
	      "[1 ci/* ^pr- 3 0] [4 x y 0 43200]", "two YAML rules with their lines; older-than with a unit");
	CHECK("[{\"repository\": \"a\", \"match\": \"b\", \"keep-last\": 1, \"older-than\": 90},\n"
	      "\t{\"repository\": \"c\", \"match\": \"d\", \"keep-last\": 2, \"older-than\": null}]\n",
	      "[1 a b 1 90] [2 c d 2 0]", "JSON with tabs; older-than in seconds or null");
	CHECK("rules: []\n", "error: p.yaml:1: expected a list of rules (repository, match, keep-last, older-than), got a mapping",
	      "not a list");
	CHECK("", "error: p.yaml:1: expected a list of rules (repository, match, keep-last, older-than), got null",
	      "an empty file");
	CHECK("- repository: a\n  match: b\n  keep-last: 1\n- just a string\n",
	      "error: p.yaml:4: rule 2: expected a mapping (repository, match, keep-last, older-than), got a string",
	      "a rule that is not a mapping");
	CHECK("- repository: a\n  match: b\n  keep_last: 1\n",
	      "error: p.yaml:3: rule 1: keep_last: unknown key (expected repository, match, keep-last, older-than)",
	      "an unknown key (a typo)");
	CHECK("- match: b\n  keep-last: 1\n", "error: p.yaml:1: rule 1: repository is required", "no repository");
	CHECK("- repository: a\n  match: b\n", "error: p.yaml:1: rule 1: keep-last is required", "no keep-last");
	CHECK("- repository: [a]\n  match: b\n  keep-last: 1\n",
	      "error: p.yaml:1: rule 1: repository: expected a non-empty string, got a list", "repository is a list");
	CHECK("- repository: a\n  match: \"\"\n  keep-last: 1\n",
	      "error: p.yaml:2: rule 1: match: expected a non-empty string, got a string", "an empty match");
	CHECK("- repository: a\n  match: \"(\"\n  keep-last: 1\n",
	      "error: p.yaml:2: rule 1: match: '(': Unmatched ( or \\(", "a bad regex");
	CHECK("- repository: a\n  match: b\n  keep-last: \"3\"\n",
	      "error: p.yaml:3: rule 1: keep-last: expected a whole number from 0 to 1000000, got a string",
	      "keep-last quoted");
	CHECK("- repository: a\n  match: b\n  keep-last: -1\n",
	      "error: p.yaml:3: rule 1: keep-last: expected a whole number from 0 to 1000000, got a number out of range",
	      "keep-last negative");
	CHECK("- repository: a\n  match: b\n  keep-last: 1\n  older-than: 2w\n",
	      "error: p.yaml:4: rule 1: older-than: expected SECONDS or a number with s, m, h or d (90m, 12h, 30d), got '2w'",
	      "older-than with an unknown unit");
	CHECK("- repository: a\n  match: b\n  keep-last: 1\n  older-than: true\n",
	      "error: p.yaml:4: rule 1: older-than: expected SECONDS or a number with s, m, h or d (90m, 12h, 30d), got a boolean",
	      "older-than a boolean");
	CHECK("- repository: a\n  repository: b\n", "error: p.yaml:2: mapping key 'repository' already defined at line 1", "a key twice");
	CHECK("- repository: a\n  match: [\n", "error: p.yaml:3: invalid YAML: did not find expected node content while parsing a flow node",
	      "invalid YAML");

	is_str(age("90"), "90", "age: seconds");
	is_str(age("90s"), "90", "age: s");
	is_str(age("15m"), "900", "age: m");
	is_str(age("2h"), "7200", "age: h");
	is_str(age("30d"), "2592000", "age: d");
	is_str(age(""), "bad", "age: empty");
	is_str(age("-5"), "bad", "age: negative");
	is_str(age("5w"), "bad", "age: unknown unit");
	is_str(age("h"), "bad", "age: no number");
	is_str(age("99999999999999999d"), "bad", "age: overflow");
	return done_testing();
}
