/*
 * retention_policy.c — read, check and apply a retention policy file
 * (see retention_policy.h).
 */
#include "cli/retention_policy.h"
#include "compose/compose.h"

#include <string.h>

#define POLICY_MAX (1u << 20)

int cli_retention_policy_load(const char *file, struct registry_retention_policy **out,
			      struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	cleanup_json json_t *doc = NULL;
	cleanup_json json_t *lines = NULL;
	*out = NULL;
	if (strata_read_file(file, &b, POLICY_MAX, err) < 0)
		return strata_error_wrap(err, "retention policy");
	if (compose_yaml_to_json(b.data, b.len, file, &doc, &lines, err) < 0)
		return -1;
	return registry_retention_policy_parse(doc, lines, file, out, err);
}

struct apply_ctx {
	cli_retention_report_fn report;
	void *ud;
	size_t rule;
};

static void one_tag(void *ud, const char *repo, const char *tag, const char *digest, int64_t updated, bool removed)
{
	struct apply_ctx *a = ud;
	(void)updated;
	if (a->report)
		a->report(a->ud, a->rule, repo, tag, digest, removed);
}

int cli_retention_policy_apply(const struct registry_retention_policy *p, const struct registry_retention_options *where,
			       cli_retention_report_fn report, void *ud, uint64_t *removed, struct strata_error **err)
{
	*removed = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct registry_retention_rule *r = &p->rules[i];
		struct registry_retention_options o = *where;
		o.repository = r->repository;
		o.match = r->match;
		o.keep_last = r->keep_last;
		o.older_than = r->older_than;
		struct apply_ctx a = { report, ud, i };
		uint64_t n = 0;
		if (registry_retention(&o, one_tag, &a, &n, err) < 0)
			return strata_error_wrap(err, "%s:%d: rule %zu", p->file, r->line, i + 1);
		*removed += n;
	}
	return 0;
}
