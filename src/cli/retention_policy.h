/*
 * retention_policy.h — the retention policy file of `strata registry serve
 * --retention-policy FILE` and `strata registry retention --policy FILE`:
 * read (YAML or JSON, through compose_yaml_to_json), checked
 * (registry_retention_policy_parse) and applied rule by rule
 * (registry_retention).
 */
#ifndef STRATA_CLI_RETENTION_POLICY_H
#define STRATA_CLI_RETENTION_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "registry/server/server.h"

/*
 * Read and check FILE (at most 1 MiB). Errors name FILE:LINE and the field.
 * @return 0 with a new policy in *out, or -1.
 */
int cli_retention_policy_load(const char *file, struct registry_retention_policy **out,
			      struct strata_error **err);

/*
 * Apply every rule of p in order to the registry that `where` names (its
 * root, storage, metadata and dry_run are used; the rule fields are the
 * policy's). report gets every matching tag (rule is 0-based). Stops at the
 * first rule that fails. @return 0 with *removed (tags deleted, or that
 * would be with dry_run), or -1.
 */
typedef void (*cli_retention_report_fn)(void *ud, size_t rule, const char *repo, const char *tag,
					const char *digest, bool removed);
int cli_retention_policy_apply(const struct registry_retention_policy *p, const struct registry_retention_options *where,
			       cli_retention_report_fn report, void *ud, uint64_t *removed, struct strata_error **err);

#endif
