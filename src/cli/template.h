/*
 * template.h — the part of Go's text/template that docker's --format uses,
 * over a JSON object (the fields `strata images` and `strata inspect` show):
 *
 *   {{.Field}}  {{.Config.Env}}  {{ .Tag }}   a field (a path into the object)
 *   {{json .Config}}                          the value as JSON
 *   {{index .RepoTags 0}}  {{index .Config.Labels "k"}}   an element
 *   {{len .RootFS.Layers}} {{join .RepoTags ","}} {{upper .Tag}} {{lower .Tag}}
 *   \t \n                                     a tab, a newline (as docker)
 *
 * A string prints as itself, a number as a number, true/false, null as
 * "<no value>", an array as [a b], an object as map[k:v] (Go's %v).
 * Anything else is an error naming the action and the column.
 */
#ifndef STRATA_CLI_TEMPLATE_H
#define STRATA_CLI_TEMPLATE_H

#include <jansson.h>

#include "util/util.h"

/* Check tmpl against the fields of sample (unknown fields are errors). */
int cli_template_check(const char *tmpl, const json_t *sample, struct strata_error **err);
/* Render tmpl with data into out. @return 0, or -1 (STRATA_E_USAGE naming the action). */
int cli_template_render(const char *tmpl, const json_t *data, struct strata_buf *out, struct strata_error **err);

#endif
