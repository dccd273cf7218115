#include "cli/report.h"

#include <stdio.h>
#include <string.h>

int cli_report_open(struct cli_report *r, const char *path, struct strata_error **err)
{
	memset(r, 0, sizeof(*r));
	if (!path || !*path)
		return 0;
	if (!build_report_path_ok(path))
		return strata_error_makec(err, STRATA_E_USAGE, 0,
					  "--report '%s': the file name must end in .html or .json", path);
	r->path = path;
	build_recorder_init(&r->rec);
	r->listener = build_recorder_listener(&r->rec);
	return 0;
}

const struct build_listener *cli_report_listener(struct cli_report *r)
{
	return r->path ? &r->listener : NULL;
}

void cli_report_close(struct cli_report *r, const char *title)
{
	if (!r->path)
		return;
	struct strata_error *err = NULL;
	if (build_report_write(&r->rec, r->path, title, &err) < 0) {
		char *m = strata_error_string(err);
		fprintf(stderr, "strata: warning: %s\n", m);
		free(m);
		strata_error_free(err);
	} else {
		fprintf(stderr, "strata: build report written to %s\n", r->path);
	}
	build_recorder_release(&r->rec);
	r->path = NULL;
}
