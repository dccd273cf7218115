/*
 * fuzz_compose.c — the compose loader on untrusted text: YAML (anchors,
 * aliases, merge keys), interpolation, merging (the text onto itself), the
 * model, the job planner, the JSON and YAML printers; plus the same bytes
 * as a `.env` file and as one interpolated string.
 */
#include "compose/internal.h"
#include "util/util.h"

#include <stdint.h>
#include <string.h>

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "SET") ? "value" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	struct strata_error *err = NULL;
	struct compose_project *p = NULL;
	if (compose_project_from_text(buf, size, "compose.yaml", "/nonexistent/fuzz", size & 1, &p, &err) == 0) {
		json_t *j = compose_project_to_json(p);
		char *y = NULL;
		if (compose_json_to_yaml(j, &y, &err) == 0)
			free(y);
		json_decref(j);
		struct compose_jobs jobs;
		struct compose_plan_options po = { 0 };
		if (compose_jobs_plan(p, &po, &jobs, &err) == 0) {
			for (size_t i = 0; i < jobs.n; i++)
				json_decref(compose_job_to_json(&jobs, i));
			compose_jobs_release(&jobs);
		}
		compose_project_free(p);
	}
	strata_error_clear(&err);

	struct compose_env e = { 0 };
	compose_dotenv_parse(buf, size, ".env", lookup, NULL, &e, &err);
	compose_env_release(&e);
	strata_error_clear(&err);

	char *out = NULL;
	if (compose_interpolate(buf, lookup, NULL, NULL, NULL, &out, &err) == 0)
		free(out);
	strata_error_clear(&err);
	free(buf);
	return 0;
}
